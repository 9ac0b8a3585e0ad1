/* progress.c: step lines with elapsed time (see progress.h). */
#include "lib/common.h"
#include "sys/progress.h"

#include <time.h>

long
dr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dr_progress_init(dr_progress *p)
{
	p->start_ms = dr_now_ms();
	p->quiet = false;
}

void
dr_progress_step(dr_progress *p, const char *fmt, ...)
{
	if (p->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = dr_xvasprintf(fmt, ap);
	va_end(ap);
	long ms = dr_now_ms() - p->start_ms;
	fprintf(stderr, "deskrun: [%3ld.%01lds] %s\n", ms / 1000, (ms % 1000) / 100, msg);
}
