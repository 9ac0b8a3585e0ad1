/* list.c: `deskrun list`: the definitions, never their secrets. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/mode.h"
#include "lib/render.h"

enum { OPT_OUTPUT = 1 };

static const dr_opt list_opts[] = {
	{ "output", 'o', "FORMAT", "table (default) or json", OPT_OUTPUT },
	{ NULL, 0, NULL, NULL, 0 },
};

static char *
caches_text(const dr_runner *r)
{
	if (r->n_caches == 0)
		return dr_xstrdup("-");
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	for (size_t i = 0; i < r->n_caches; i++) {
		if (i)
			dr_buf_puts(&b, ",");
		if (r->caches[i].source)
			dr_buf_printf(&b, "%s:", r->caches[i].source);
		dr_buf_puts(&b, r->caches[i].target);
	}
	return dr_buf_steal(&b);
}

static void
print_table(const dr_config *c)
{
	static const char *const head[] = { "NAME", "MODE", "REPOSITORY", "MIN",
		                            "MAX",  "INSTANCES", "CACHES" };
	enum { NCOL = 7 };
	size_t n = c->n_runners;
	char ***cells = dr_xcalloc(n, sizeof(*cells));
	size_t w[NCOL];
	for (size_t k = 0; k < NCOL; k++)
		w[k] = strlen(head[k]);
	for (size_t i = 0; i < n; i++) {
		const dr_runner *r = c->runners[i];
		cells[i] = dr_xcalloc(NCOL, sizeof(char *));
		cells[i][0] = dr_xstrdup(r->name);
		cells[i][1] = dr_xstrdup(r->mode->name);
		cells[i][2] = dr_xstrdup(r->repository);
		cells[i][3] = dr_xasprintf("%d", r->min_runners);
		cells[i][4] = dr_xasprintf("%d", r->max_runners);
		cells[i][5] = dr_xasprintf("%d", r->instances);
		cells[i][6] = caches_text(r);
		for (size_t k = 0; k < NCOL; k++)
			if (strlen(cells[i][k]) > w[k])
				w[k] = strlen(cells[i][k]);
	}
	for (size_t k = 0; k + 1 < NCOL; k++)
		printf("%-*s  ", (int)w[k], head[k]);
	printf("%s\n", head[NCOL - 1]);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < NCOL; k++) {
			if (k + 1 < NCOL)
				printf("%-*s  ", (int)w[k], cells[i][k]);
			else
				printf("%s\n", cells[i][k]);
			free(cells[i][k]);
		}
		free(cells[i]);
	}
	free(cells);
}

static void
print_json(const dr_config *c)
{
	_cleanup_json_ json_t *arr = json_array();
	for (size_t i = 0; i < c->n_runners; i++) {
		const dr_runner *r = c->runners[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(r->name));
		json_t *body = dr_runner_to_json(r, false);
		json_object_update(o, body);
		json_decref(body);
		size_t nss = 0;
		dr_scale_set *ss = dr_scale_sets(r, &c->settings, &nss);
		json_t *names = json_array();
		for (size_t k = 0; k < nss; k++)
			json_array_append_new(names, json_string(ss[k].name));
		dr_scale_sets_free(ss, nss);
		json_object_set_new(o, "scale_sets", names);
		json_array_append_new(arr, o);
	}
	_cleanup_free_ char *s = json_dumps(arr, JSON_INDENT(2));
	printf("%s\n", s);
}

static int
run_list(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *output = "table";
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_list, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_list, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG)
			return dr_usage_extra_arg(&dr_cmd_list, v, err);
		if (id == OPT_OUTPUT) {
			if (strcmp(v, "table") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use table or json", v);
			output = v;
		}
	}
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	if (strcmp(output, "json") == 0) {
		print_json(c);
		return 0;
	}
	if (c->n_runners == 0) {
		fprintf(stderr,
		        "deskrun: no runners in %s; add one with 'deskrun add NAME --repository URL'\n",
		        path);
		return 0;
	}
	print_table(c);
	return 0;
}

const dr_cmd dr_cmd_list = {
	.name = "list",
	.summary = "show the runner definitions (never their secrets)",
	.synopsis = "[--output table|json]",
	.description = "Show each runner definition: name, mode, repository, min/max runners, "
	               "instances and caches. Secrets are never shown; --output json gives the "
	               "whole definition without them, plus its scale set names.",
	.opts = list_opts,
	.run = run_list,
};
