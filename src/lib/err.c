/* err.c: the error type (see err.h). */
#include "lib/common.h"

static int
set_err(dr_err **err, int code, int errnum, const char *fmt, va_list ap)
{
	if (!err || *err)
		return -1;
	dr_err *e = dr_xcalloc(1, sizeof(*e));
	e->code = code;
	e->errnum = errnum;
	char *msg = dr_xvasprintf(fmt, ap);
	if (errnum) {
		e->msg = dr_xasprintf("%s: %s", msg, strerror(errnum));
		free(msg);
	} else {
		e->msg = msg;
	}
	*err = e;
	return -1;
}

int
dr_fail(dr_err **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_err(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
dr_fail_errno(dr_err **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_err(err, code, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int
dr_err_prefix(dr_err **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = dr_xvasprintf(fmt, ap);
	va_end(ap);
	char *msg = dr_xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return -1;
}

void
dr_err_free(dr_err *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}
