/* progress.c: step lines with elapsed time (see progress.h). */
#include "lib/common.h"
#include "sys/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The spinner's state: process-wide, as stderr is. */
static struct {
	bool on;     /* a progress is active and stderr is a terminal */
	bool shown;  /* a spinner frame is on the screen */
	int frame;
	long last_ms;
} spin;

static bool quiet_flag;

void
dr_set_quiet(bool quiet)
{
	quiet_flag = quiet;
}

bool
dr_quiet(void)
{
	return quiet_flag;
}

/* "deskrun: [elapsed] MESSAGE" on stderr (no elapsed time when ms < 0). */
static void vfprintf_line(const char *fmt, va_list ap, long ms) DR_PRINTF(1, 0);

static void
vfprintf_line(const char *fmt, va_list ap, long ms)
{
	_cleanup_free_ char *msg = dr_xvasprintf(fmt, ap);
	if (ms < 0)
		fprintf(stderr, "deskrun: %s\n", msg);
	else
		fprintf(stderr, "deskrun: [%3ld.%01lds] %s\n", ms / 1000, (ms % 1000) / 100, msg);
}

void
dr_info(const char *fmt, ...)
{
	if (quiet_flag)
		return;
	dr_progress_tick_end();
	va_list ap;
	va_start(ap, fmt);
	vfprintf_line(fmt, ap, -1);
	va_end(ap);
}

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
	p->quiet = quiet_flag;
	const char *term = getenv("TERM");
	spin.on = !quiet_flag && isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

void
dr_progress_tick(void)
{
	static const char frames[] = "|/-\\";
	if (!spin.on)
		return;
	long now = dr_now_ms();
	if (spin.shown && now - spin.last_ms < 100)
		return;
	spin.last_ms = now;
	fprintf(stderr, "\r%c", frames[spin.frame++ % 4]);
	fflush(stderr);
	spin.shown = true;
}

void
dr_progress_tick_end(void)
{
	if (!spin.shown)
		return;
	fputs("\r \r", stderr);
	fflush(stderr);
	spin.shown = false;
}

void
dr_progress_step(dr_progress *p, const char *fmt, ...)
{
	if (p->quiet)
		return;
	dr_progress_tick_end();
	va_list ap;
	va_start(ap, fmt);
	vfprintf_line(fmt, ap, dr_now_ms() - p->start_ms);
	va_end(ap);
}
