/* help.c: `deskrun help [COMMAND]`. */
#include "lib/common.h"
#include "cmd/cmd.h"

static int
run_help(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *name = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_help, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_help, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (name)
				return dr_usage_extra_arg(&dr_cmd_help, v, err);
			name = v;
		}
	}
	if (!name) {
		dr_print_main_help(stdout);
		return 0;
	}
	const dr_cmd *cmd = dr_cmd_find(name);
	if (!cmd)
		return dr_fail(err, DR_EXIT_USAGE, "no command \"%s\" (see 'deskrun help')", name);
	dr_cmd_print_help(cmd, stdout);
	return 0;
}

const dr_cmd dr_cmd_help = {
	.name = "help",
	.summary = "show help for deskrun or one of its commands",
	.synopsis = "[COMMAND]",
	.description = "Without COMMAND, list the commands; with it, show its usage and options "
	               "(the same as 'deskrun COMMAND --help').",
	.opts = NULL,
	.run = run_help,
};
