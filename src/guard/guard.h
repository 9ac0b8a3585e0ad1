/* guard.h: entry point of the Docker API guard. */
#ifndef DESKRUN_GUARD_H
#define DESKRUN_GUARD_H

#include "lib/common.h"

int dr_guard_run(int argc, char **argv, dr_err **err);

#endif
