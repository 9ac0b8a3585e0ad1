/* common.h: what every deskrun source file needs: cleanup attributes, ownership helpers,
 * never-failing allocators and the error type. Included first by every .c file. */
#ifndef DESKRUN_COMMON_H
#define DESKRUN_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/err.h"

#define DR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DR_UNUSED __attribute__((unused))
#define DR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DR_LIKELY(x) __builtin_expect(!!(x), 1)
#define DR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Broken invariant: a bug in deskrun, never a user error. */
#define DR_BUG(msg) dr_bug(__FILE__, __LINE__, (msg))
void dr_bug(const char *file, int line, const char *msg) __attribute__((noreturn));

/* Allocation never fails: out of memory aborts (crun/git habit). */
void *dr_xmalloc(size_t n);
void *dr_xcalloc(size_t n, size_t size);
void *dr_xrealloc(void *p, size_t n);
char *dr_xstrdup(const char *s);
char *dr_xstrndup(const char *s, size_t n);
char *dr_xasprintf(const char *fmt, ...) DR_PRINTF(1, 2);
char *dr_xvasprintf(const char *fmt, va_list ap) DR_PRINTF(1, 0);

/* Cleanup attributes: a variable declared with one of these is released when it goes out of
 * scope. Initialise every such variable where it is declared. */
static inline void dr_freep(void *p) { free(*(void **)p); }
static inline void dr_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void dr_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void dr_json_decrefp(json_t **j) { json_decref(*j); }
static inline void dr_errp(dr_err **e) { dr_err_free(*e); }
static inline void dr_strvp(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_free_ __attribute__((cleanup(dr_freep)))
#define _cleanup_close_ __attribute__((cleanup(dr_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(dr_fclosep)))
#define _cleanup_json_ __attribute__((cleanup(dr_json_decrefp)))
#define _cleanup_err_ __attribute__((cleanup(dr_errp)))
#define _cleanup_strv_ __attribute__((cleanup(dr_strvp)))

/* Ownership moves only through these: the variable is emptied so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                          \
	({                                                                                   \
		__typeof__(p) _tp = (p);                                                     \
		(p) = NULL;                                                                  \
		_tp;                                                                         \
	})
#define TAKE_FD(fd)                                                                          \
	({                                                                                   \
		int _tfd = (fd);                                                             \
		(fd) = -1;                                                                   \
		_tfd;                                                                        \
	})

static inline bool dr_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static inline bool dr_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool dr_endswith(const char *s, const char *suffix);

/* The value of a hex digit, or -1. */
static inline int dr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* NULL-terminated string vectors. */
size_t dr_strv_len(char *const *v);
void dr_strv_push(char ***v, const char *s);   /* copies s */
void dr_strv_free(char **v);
char **dr_strv_copy(char *const *v);
bool dr_strv_contains(char *const *v, const char *s);

#endif
