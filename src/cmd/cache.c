/* cache.c: `deskrun cache` (placeholder until it lands). */
#include "lib/common.h"
#include "cmd/cmd.h"

static int
run_cache(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_cache, cli, argc, argv);
	int id = 0;
	const char *v = NULL;
	int k = dr_optparse_next(&p, &id, &v, err);
	if (k < 0)
		return -1;
	if (k == DR_OPT_HELP) {
		dr_cmd_print_help(&dr_cmd_cache, stdout);
		return 0;
	}
	return dr_fail(err, DR_EXIT_FAIL, "deskrun cache is not built yet");
}

const dr_cmd dr_cmd_cache = {
	.name = "cache",
	.summary = "show the leased Docker cache slots of a node's pool",
	.synopsis = "",
	.description = "Not built yet.",
	.opts = NULL,
	.run = run_cache,
};
