/* log.c: stderr messages (see log.h). errno is preserved so callers can log and go on. */
#include "lib/common.h"
#include "sys/log.h"

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	int saved = errno;
	_cleanup_free_ char *msg = dr_xvasprintf(fmt, ap);
	fprintf(stderr, "deskrun: %s%s\n", level, msg);
	errno = saved;
}

void
dr_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
dr_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
dr_print_error(const dr_err *e)
{
	fprintf(stderr, "deskrun: error: %s\n", e && e->msg ? e->msg : "unknown error");
}
