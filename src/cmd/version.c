/* version.c: `deskrun version`. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "buildinfo.h"
#include "lib/render.h"

static int
run_version(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_version, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_version, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG)
			return dr_usage_extra_arg(&dr_cmd_version, v, err);
	}
	printf("deskrun %s\n", DESKRUN_VERSION);
	printf("actions-runner-controller %s (gha-runner-scale-set)\n", DR_ARC_VERSION);
	return 0;
}

const dr_cmd dr_cmd_version = {
	.name = "version",
	.summary = "show deskrun's version and the ARC version it renders for",
	.synopsis = "",
	.description = "Print deskrun's version and the Actions Runner Controller version whose "
	               "objects it renders.",
	.opts = NULL,
	.run = run_version,
};
