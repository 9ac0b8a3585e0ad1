/* config.c: the config document and its JSON form (see config.h). */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/validate.h"

dr_config *
dr_config_new(void)
{
	dr_config *c = dr_xcalloc(1, sizeof(*c));
	dr_settings_init(&c->settings);
	return c;
}

void
dr_config_free(dr_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_runners; i++)
		dr_runner_free(c->runners[i]);
	free(c->runners);
	dr_cluster_free(c->cluster);
	dr_settings_clear(&c->settings);
	free(c);
}

dr_runner *
dr_config_find(const dr_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_runners; i++)
		if (strcmp(c->runners[i]->name, name) == 0)
			return c->runners[i];
	return NULL;
}

void
dr_config_put(dr_config *c, dr_runner *r)
{
	for (size_t i = 0; i < c->n_runners; i++)
		if (strcmp(c->runners[i]->name, r->name) == 0) {
			dr_runner_free(c->runners[i]);
			c->runners[i] = r;
			return;
		}
	size_t pos = 0;
	while (pos < c->n_runners && strcmp(c->runners[pos]->name, r->name) < 0)
		pos++;
	c->runners = dr_xrealloc(c->runners, (c->n_runners + 1) * sizeof(*c->runners));
	memmove(c->runners + pos + 1, c->runners + pos, (c->n_runners - pos) * sizeof(*c->runners));
	c->runners[pos] = r;
	c->n_runners++;
}

int
dr_config_remove(dr_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_runners; i++)
		if (strcmp(c->runners[i]->name, name) == 0) {
			dr_runner_free(c->runners[i]);
			memmove(c->runners + i, c->runners + i + 1,
			        (c->n_runners - i - 1) * sizeof(*c->runners));
			c->n_runners--;
			return 0;
		}
	return -1;
}

dr_config *
dr_config_from_json(json_t *j, dr_err **err)
{
	if (!json_is_object(j)) {
		dr_fail(err, DR_EXIT_CONFIG, "the top level must be a JSON object");
		return NULL;
	}
	json_t *ver = json_object_get(j, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
		dr_fail(err, DR_EXIT_CONFIG, "\"version\" is missing or not a positive integer");
		return NULL;
	}
	if (json_integer_value(ver) > DR_CONFIG_VERSION) {
		dr_fail(err, DR_EXIT_CONFIG,
		        "written by a newer deskrun (format version %" JSON_INTEGER_FORMAT
		        "; this deskrun reads version %d): upgrade deskrun",
		        json_integer_value(ver), DR_CONFIG_VERSION);
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "version") && strcmp(key, "settings") && strcmp(key, "runners") &&
		    strcmp(key, "cluster")) {
			dr_fail(err, DR_EXIT_CONFIG,
			        "unknown field \"%s\" (written by a newer deskrun? upgrade deskrun)",
			        key);
			return NULL;
		}
	}
	_cleanup_config_ dr_config *c = dr_config_new();
	json_t *settings = json_object_get(j, "settings");
	if (settings && dr_settings_from_json(&c->settings, settings, err) < 0)
		return NULL;
	if (dr_validate_settings(&c->settings, err) < 0) {
		(*err)->code = DR_EXIT_CONFIG;
		dr_err_prefix(err, "settings");
		return NULL;
	}
	json_t *cluster = json_object_get(j, "cluster");
	if (cluster && !json_is_null(cluster)) {
		c->cluster = dr_cluster_from_json(cluster, err);
		if (!c->cluster)
			return NULL;
	}
	json_t *runners = json_object_get(j, "runners");
	if (runners && !json_is_object(runners)) {
		dr_fail(err, DR_EXIT_CONFIG, "\"runners\" must be an object");
		return NULL;
	}
	json_object_foreach(runners, key, v) {
		dr_runner *r = dr_runner_from_json(key, v, err);
		if (!r)
			return NULL;
		dr_config_put(c, r);
		if (dr_validate_runner(r, err) < 0) {
			(*err)->code = DR_EXIT_CONFIG;
			dr_err_prefix(err, "runner \"%s\"", key);
			return NULL;
		}
	}
	return TAKE_PTR(c);
}

json_t *
dr_config_to_json(const dr_config *c)
{
	json_t *j = json_object();
	json_object_set_new(j, "version", json_integer(DR_CONFIG_VERSION));
	json_object_set_new(j, "settings", dr_settings_to_json(&c->settings));
	if (c->cluster)
		json_object_set_new(j, "cluster", dr_cluster_to_json(c->cluster));
	json_t *runners = json_object();
	for (size_t i = 0; i < c->n_runners; i++)
		json_object_set_new(runners, c->runners[i]->name,
		                    dr_runner_to_json(c->runners[i], true));
	json_object_set_new(j, "runners", runners);
	return j;
}
