/* err.h: deskrun's one error type and its exit-code categories.
 *
 * A fallible function returns 0 (or a pointer) on success and -1 (or NULL) on failure, after
 * filling `*err`. Callers add context in front with dr_err_prefix(). Only main() turns an error
 * into text and an exit status. The codes are the documented exit statuses (README, deskrun(1)). */
#ifndef DESKRUN_ERR_H
#define DESKRUN_ERR_H

#include <stdarg.h>

enum dr_exit {
	DR_EXIT_OK = 0,
	DR_EXIT_FAIL = 1,       /* the operation failed: cluster, tool or daemon said no */
	DR_EXIT_USAGE = 2,      /* usage error or invalid value; nothing written */
	DR_EXIT_CONFIG = 3,     /* config file unreadable, corrupt or from a newer deskrun */
	DR_EXIT_TIMEOUT = 4,    /* a deadline passed */
	DR_EXIT_CANNOT_RUN = 126,
	DR_EXIT_NOT_FOUND = 127,
};

typedef struct dr_err {
	int code;   /* enum dr_exit */
	int errnum; /* saved errno, 0 if none */
	char *msg;  /* owned; one line, no trailing newline */
} dr_err;

/* Set *err (if err is non-NULL and *err is still empty) and return -1. */
int dr_fail(dr_err **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like dr_fail, appending ": <strerror(errnum)>". */
int dr_fail_errno(dr_err **err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Put "<context>: " in front of the message of *err; returns -1. */
int dr_err_prefix(dr_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dr_err_free(dr_err *e);

#endif
