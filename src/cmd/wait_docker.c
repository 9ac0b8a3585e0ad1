/* wait_docker.c: `deskrun wait-docker` (placeholder until it lands). */
#include "lib/common.h"
#include "cmd/cmd.h"

static int
run_wait_docker(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_wait_docker, cli, argc, argv);
	int id = 0;
	const char *v = NULL;
	int k = dr_optparse_next(&p, &id, &v, err);
	if (k < 0)
		return -1;
	if (k == DR_OPT_HELP) {
		dr_cmd_print_help(&dr_cmd_wait_docker, stdout);
		return 0;
	}
	return dr_fail(err, DR_EXIT_FAIL, "deskrun wait-docker is not built yet");
}

const dr_cmd dr_cmd_wait_docker = {
	.name = "wait-docker",
	.summary = "wait until a Docker daemon answers",
	.synopsis = "",
	.description = "Not built yet.",
	.opts = NULL,
	.run = run_wait_docker,
};
