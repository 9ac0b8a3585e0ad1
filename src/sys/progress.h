/* progress.h: one line per step of a long operation on stderr, with the elapsed time:
 *   deskrun: [  1.4s] installing the ARC controller 0.14.2 (helm)
 * Plain text (no colour, so NO_COLOR holds trivially). On a terminal, while a child program
 * runs (kubectl, helm, kind), a spinner turns on the line below the last step and is erased
 * when the child ends; anywhere else (a pipe, a CI log, TERM=dumb) the lines are all there is. */
#ifndef DESKRUN_PROGRESS_H
#define DESKRUN_PROGRESS_H

#include "lib/common.h"

typedef struct dr_progress {
	long start_ms;
	bool quiet;
} dr_progress;

/* --quiet (process-wide, as stderr is): progress steps, the spinner and informational lines
 * (dr_info, dr_quiet() checks in the commands) are left out; errors, warnings and the data a
 * command prints are not. Set by the option parser before a command runs. */
void dr_set_quiet(bool quiet);
bool dr_quiet(void);
/* An informational line on stderr ("deskrun: MSG"), unless --quiet. */
void dr_info(const char *fmt, ...) DR_PRINTF(1, 2);

void dr_progress_init(dr_progress *p);
void dr_progress_step(dr_progress *p, const char *fmt, ...) DR_PRINTF(2, 3);
long dr_now_ms(void);
/* Called by dr_spawn while it waits for a child (about every 50 ms), and once when the child
 * is gone: turn the spinner, then erase it. No-ops unless a progress is active on a TTY. */
void dr_progress_tick(void);
void dr_progress_tick_end(void);

#endif
