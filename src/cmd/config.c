/* config.c: `deskrun config show|get|set`: the cluster-wide settings in the config file. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/config.h"
#include "lib/validate.h"
#include "sys/config_store.h"
#include "sys/progress.h"

typedef struct set_args {
	size_t index;
	const char *value;
} set_args;

static int
apply_set(dr_config *c, void *arg, dr_err **err)
{
	set_args *a = arg;
	dr_settings_set(&c->settings, a->index, a->value);
	return dr_validate_settings(&c->settings, err);
}

static int
lookup(const char *key, size_t *index, dr_err **err)
{
	if (dr_settings_lookup(key, index) == 0)
		return 0;
	return dr_fail(err, DR_EXIT_USAGE, "no setting \"%s\": 'deskrun config show' lists them",
	               key);
}

static int
run_config(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	_cleanup_strv_ char **args = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_config, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_config, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG)
			dr_strv_push(&args, v);
	}
	size_t n = dr_strv_len(args);
	const char *verb = n ? args[0] : "show";
	_cleanup_free_ char *path = NULL;
	if (strcmp(verb, "set") == 0) {
		if (n != 3)
			return dr_fail(err, DR_EXIT_USAGE, "usage: deskrun config set KEY VALUE");
		set_args a = { 0, args[2] };
		if (lookup(args[1], &a.index, err) < 0 ||
		    dr_config_path(cli->config_flag, &path, err) < 0 ||
		    dr_config_edit(path, apply_set, &a, err) < 0)
			return -1;
		if (!dr_quiet())
			printf("%s = %s\n", args[1], args[2]);
		return 0;
	}
	_cleanup_config_ dr_config *c = NULL;
	if (strcmp(verb, "get") == 0) {
		size_t i;
		if (n != 2)
			return dr_fail(err, DR_EXIT_USAGE, "usage: deskrun config get KEY");
		if (lookup(args[1], &i, err) < 0 || dr_cli_load_config(cli, &path, &c, err) < 0)
			return -1;
		printf("%s\n", dr_settings_value(&c->settings, i));
		return 0;
	}
	if (strcmp(verb, "show") == 0) {
		if (n > 1)
			return dr_usage_extra_arg(&dr_cmd_config, args[1], err);
		if (dr_cli_load_config(cli, &path, &c, err) < 0)
			return -1;
		printf("# %s\n", path);
		for (size_t i = 0; i < dr_settings_count(); i++)
			printf("%-28s %-28s # %s\n", dr_settings_name(i),
			       dr_settings_value(&c->settings, i), dr_settings_help(i));
		return 0;
	}
	return dr_fail(err, DR_EXIT_USAGE, "config \"%s\": use show, get KEY or set KEY VALUE",
	               verb);
}

const dr_cmd dr_cmd_config = {
	.name = "config",
	.summary = "show or change cluster-wide settings (cache root, controller account)",
	.synopsis = "[show]\nget KEY\nset KEY VALUE",
	.description =
		"Settings that apply to every runner: cache-root (the node directory under which "
		"caches live, default /var/lib/deskrun/cache), controller-namespace (default "
		"arc-systems), controller-service-account (default arc-gha-rs-controller, the "
		"account of the ARC controller installed as Helm release 'arc'), daemon-cache-root "
		"and controller-chart (default empty: ghcr.io's chart; an absolute path to the "
		"chart's directory or .tgz archive, or an oci:// mirror, for clusters that cannot "
		"reach ghcr.io).",
	.opts = NULL,
	.run = run_config,
};
