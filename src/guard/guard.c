/* guard.c: the per-tenant Docker API guard (placeholder until it lands). */
#include "lib/common.h"
#include "guard/guard.h"

int
dr_guard_run(int argc, char **argv, dr_err **err)
{
	(void)argc;
	(void)argv;
	return dr_fail(err, DR_EXIT_FAIL, "deskrun guard is not built yet");
}
