/* duration.h: durations as Go and kubectl write them ("90s", "5m", "1h30m", "250ms"); a bare
 * number is seconds. */
#ifndef DESKRUN_DURATION_H
#define DESKRUN_DURATION_H

#include "lib/common.h"

/* Parse into milliseconds; usage error naming `flag` otherwise. */
int dr_duration_parse(const char *flag, const char *s, long *ms, dr_err **err);
/* "1m30s", "45s", "2h"; owned. */
char *dr_duration_text(long ms);

#endif
