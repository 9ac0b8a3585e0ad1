/* remove.c: `deskrun remove NAME`: delete a definition from the config file. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "lib/config.h"
#include "sys/config_store.h"
#include "sys/progress.h"

typedef struct remove_args {
	const char *name;
	const char *path;
} remove_args;

static int
drop(dr_config *c, void *arg, dr_err **err)
{
	remove_args *a = arg;
	if (dr_config_remove(c, a->name) < 0)
		return dr_fail(err, DR_EXIT_USAGE, "no runner named \"%s\" in %s (see 'deskrun list')",
		               a->name, a->path);
	return 0;
}

static int
run_remove(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *name = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_remove, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_remove, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (name)
				return dr_usage_extra_arg(&dr_cmd_remove, v, err);
			name = v;
		}
	}
	if (!name)
		return dr_fail(err, DR_EXIT_USAGE, "NAME is missing: deskrun remove NAME");
	_cleanup_free_ char *path = NULL;
	if (dr_config_path(cli->config_flag, &path, err) < 0)
		return -1;
	remove_args a = { name, path };
	if (dr_config_edit(path, drop, &a, err) < 0)
		return -1;
	if (!dr_quiet())
		printf("removed runner %s from %s\n", name, path);
	return 0;
}

const dr_cmd dr_cmd_remove = {
	.name = "remove",
	.summary = "delete a runner definition from the config file",
	.synopsis = "NAME",
	.description = "Delete the definition NAME from the config file. Objects already on a "
	               "cluster are left alone; cache directories on the nodes are kept.",
	.opts = NULL,
	.run = run_remove,
};
