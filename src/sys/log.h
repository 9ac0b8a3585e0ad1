/* log.h: messages on stderr. Data goes to stdout; everything for the human goes here, with a
 * "deskrun: " prefix, lowercase, no trailing period. */
#ifndef DESKRUN_LOG_H
#define DESKRUN_LOG_H

#include "lib/common.h"

void dr_warn(const char *fmt, ...) DR_PRINTF(1, 2);
void dr_note(const char *fmt, ...) DR_PRINTF(1, 2);
void dr_print_error(const dr_err *e);

#endif
