/* progress.h: one line per step of a long operation on stderr, with the elapsed time:
 *   deskrun: [  1.4s] installing the ARC controller 0.14.2 (helm)
 * Plain text (no colour, so NO_COLOR holds trivially) and no spinner: the lines read the same
 * on a terminal and in a CI log. */
#ifndef DESKRUN_PROGRESS_H
#define DESKRUN_PROGRESS_H

#include "lib/common.h"

typedef struct dr_progress {
	long start_ms;
	bool quiet;
} dr_progress;

void dr_progress_init(dr_progress *p);
void dr_progress_step(dr_progress *p, const char *fmt, ...) DR_PRINTF(2, 3);
long dr_now_ms(void);

#endif
