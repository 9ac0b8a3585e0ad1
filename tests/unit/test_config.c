/* test_config.c: the config document and the runner definition's JSON form. */
#include "test.h"

#include "lib/config.h"
#include "lib/mode.h"

static json_t *
parse(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

static dr_runner *
full_runner(void)
{
	dr_runner *r = dr_runner_new("web");
	r->repository = dr_xstrdup("https://github.com/acme/web");
	r->mode = &dr_mode_privileged;
	r->min_runners = 0;
	r->max_runners = 1;
	dr_strv_push(&r->labels, "linux");
	dr_runner_add_cache(r, NULL, "/var/lib/docker");
	dr_runner_add_cache(r, "/srv/go", "/root/go");
	dr_runner_add_mount(r, "/run/x.sock", "/run/x.sock", DR_MOUNT_SOCKET);
	r->auth.token = dr_xstrdup("ghp_x");
	r->runner_image = dr_xstrdup("img:1");
	r->namespace = dr_xstrdup("ci");
	r->cpu = dr_xstrdup("1");
	r->memory = dr_xstrdup("1Gi");
	r->storage_class = dr_xstrdup("fast");
	r->work_volume_size = dr_xstrdup("2Gi");
	return r;
}

static void
runner_round_trip(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_runner_ dr_runner *r = full_runner();
	_cleanup_json_ json_t *j = dr_runner_to_json(r, true);
	_cleanup_runner_ dr_runner *back = dr_runner_from_json("web", j, &err_);
	if (!back)
		fail_msg("%s", err_->msg);
	_cleanup_json_ json_t *j2 = dr_runner_to_json(back, true);
	assert_true(json_equal(j, j2));
	assert_ptr_equal(back->mode, &dr_mode_privileged);
	assert_null(back->caches[0].source);
	assert_string_equal(back->caches[1].source, "/srv/go");
	assert_int_equal(back->mounts[0].type, DR_MOUNT_SOCKET);
	/* Without secrets the token is gone but the rest stays. */
	_cleanup_json_ json_t *pub = dr_runner_to_json(r, false);
	assert_null(json_object_get(json_object_get(pub, "auth"), "token"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(pub, "auth"), "type")),
	                    "pat");
	_cleanup_free_ char *text = json_dumps(pub, 0);
	assert_null(strstr(text, "ghp_x"));
}

static void
runner_json_errors(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{ "{\"repository\":\"https://github.com/a/b\",\"mode\":\"dind\",\"auth\":{\"type\":\"pat\"},"
		  "\"gpu\":1}",
		  "runner \"x\": unknown field \"gpu\" (written by a newer deskrun? upgrade deskrun or "
		  "remove the field)" },
		{ "{\"mode\":\"dind\",\"auth\":{\"type\":\"pat\"}}",
		  "runner \"x\": field \"repository\" is missing" },
		{ "{\"repository\":1,\"mode\":\"dind\"}", "runner \"x\": field \"repository\" must be a string" },
		{ "{\"repository\":\"r\",\"mode\":\"warp\",\"auth\":{\"type\":\"pat\"}}",
		  "runner \"x\": unknown mode \"warp\" (written by a newer deskrun?)" },
		{ "{\"repository\":\"r\",\"mode\":\"dind\",\"min_runners\":\"1\"}",
		  "runner \"x\": field \"min_runners\" must be an integer" },
		{ "{\"repository\":\"r\",\"mode\":\"dind\",\"labels\":{}}",
		  "runner \"x\": field \"labels\" must be a list" },
		{ "{\"repository\":\"r\",\"mode\":\"dind\",\"caches\":[{\"src\":\"/a\",\"target\":\"/b\"}]}",
		  "runner \"x\": caches[0]: unknown field \"src\" (written by a newer deskrun? upgrade "
		  "deskrun or remove the field)" },
		{ "{\"repository\":\"r\",\"mode\":\"dind\",\"mounts\":[{\"source\":\"/a\",\"target\":\"/b\","
		  "\"type\":\"File\"}]}",
		  "runner \"x\": mounts[0]: unknown type \"File\" (Directory, DirectoryOrCreate or Socket)" },
		{ "{\"repository\":\"r\",\"mode\":\"dind\"}", "runner \"x\": auth is missing" },
		{ "{\"repository\":\"r\",\"mode\":\"dind\",\"auth\":{\"type\":\"oauth\"}}",
		  "runner \"x\": auth: unknown type \"oauth\" (pat or github-app)" },
		{ "[]", "runner \"x\" must be an object" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(cases); i++) {
		_cleanup_json_ json_t *j = parse(cases[i].json);
		assert_null(dr_runner_from_json("x", j, &err_));
		if (!err_ || strcmp(err_->msg, cases[i].msg) != 0)
			fail_msg("case %zu: got \"%s\"", i, err_ ? err_->msg : "(no error)");
		assert_int_equal(err_->code, DR_EXIT_CONFIG);
		dr_err_free(err_);
		err_ = NULL;
	}
}

static void
document(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_config_ dr_config *c = dr_config_new();
	dr_config_put(c, full_runner());
	dr_runner *b = full_runner();
	free(b->name);
	b->name = dr_xstrdup("api");
	dr_config_put(c, b);
	assert_int_equal(c->n_runners, 2);
	assert_string_equal(c->runners[0]->name, "api"); /* kept sorted */
	_cleanup_json_ json_t *j = dr_config_to_json(c);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	_cleanup_config_ dr_config *back = dr_config_from_json(j, &err_);
	if (!back)
		fail_msg("%s", err_->msg);
	assert_int_equal(back->n_runners, 2);
	assert_non_null(dr_config_find(back, "web"));
	assert_int_equal(dr_config_remove(back, "web"), 0);
	assert_int_equal(dr_config_remove(back, "web"), -1);
	assert_null(dr_config_find(back, "web"));
	/* Replacing keeps one entry. */
	dr_runner *again = full_runner();
	again->max_runners = 9;
	dr_config_put(c, again);
	assert_int_equal(c->n_runners, 2);
	assert_int_equal(dr_config_find(c, "web")->max_runners, 9);
}

static void
document_errors(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{ "{\"version\":2,\"runners\":{}}",
		  "written by a newer deskrun (format version 2; this deskrun reads version 1): "
		  "upgrade deskrun" },
		{ "{\"runners\":{}}", "\"version\" is missing or not a positive integer" },
		{ "[1]", "the top level must be a JSON object" },
		{ "{\"version\":1,\"clusters\":{}}",
		  "unknown field \"clusters\" (written by a newer deskrun? upgrade deskrun)" },
		{ "{\"version\":1,\"settings\":{\"cache_root\":\"rel\"}}",
		  "settings: cache-root \"rel\": the node path \"rel\" must be an absolute path "
		  "(starting with /)" },
		{ "{\"version\":1,\"settings\":{\"colour\":\"red\"}}",
		  "settings: unknown field \"colour\" (written by a newer deskrun? upgrade deskrun or "
		  "remove the field)" },
		{ "{\"version\":1,\"runners\":[]}", "\"runners\" must be an object" },
		{ "{\"version\":1,\"runners\":{\"Bad\":{\"repository\":\"https://github.com/a/b\","
		  "\"mode\":\"dind\",\"auth\":{\"type\":\"pat\",\"token\":\"t\"}}}}",
		  "runner \"Bad\": NAME \"Bad\" is not a DNS-1123 label: use lowercase letters, digits "
		  "and '-', starting and ending with a letter or digit" },
		{ "{\"version\":1,\"runners\":{\"ok\":{\"repository\":\"https://github.com/a/b\","
		  "\"mode\":\"dind\",\"min_runners\":9,\"auth\":{\"type\":\"pat\",\"token\":\"t\"}}}}",
		  "runner \"ok\": --min-runners 9 is more than --max-runners 5: set --min-runners <= "
		  "--max-runners" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(cases); i++) {
		_cleanup_json_ json_t *j = parse(cases[i].json);
		assert_null(dr_config_from_json(j, &err_));
		if (!err_ || strcmp(err_->msg, cases[i].msg) != 0)
			fail_msg("case %zu: got \"%s\"", i, err_ ? err_->msg : "(no error)");
		assert_int_equal(err_->code, DR_EXIT_CONFIG);
		dr_err_free(err_);
		err_ = NULL;
	}
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runner_round_trip),
		cmocka_unit_test(runner_json_errors),
		cmocka_unit_test(document),
		cmocka_unit_test(document_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
