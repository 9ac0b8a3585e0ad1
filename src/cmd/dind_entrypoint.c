/* dind_entrypoint.c: `deskrun dind-entrypoint` (placeholder until it lands). */
#include "lib/common.h"
#include "cmd/cmd.h"

static int
run_dind_entrypoint(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_dind_entrypoint, cli, argc, argv);
	int id = 0;
	const char *v = NULL;
	int k = dr_optparse_next(&p, &id, &v, err);
	if (k < 0)
		return -1;
	if (k == DR_OPT_HELP) {
		dr_cmd_print_help(&dr_cmd_dind_entrypoint, stdout);
		return 0;
	}
	return dr_fail(err, DR_EXIT_FAIL, "deskrun dind-entrypoint is not built yet");
}

const dr_cmd dr_cmd_dind_entrypoint = {
	.name = "dind-entrypoint",
	.summary = "lease a cache slot and supervise dockerd (in the dind container)",
	.synopsis = "",
	.description = "Not built yet.",
	.opts = NULL,
	.run = run_dind_entrypoint,
};
