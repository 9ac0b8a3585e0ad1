/* xalloc.c: allocators that never return NULL, and small string-vector helpers. */
#include "lib/common.h"

void
dr_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "deskrun: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}

static void
oom(void)
{
	static const char m[] = "deskrun: out of memory\n";
	ssize_t r = write(STDERR_FILENO, m, sizeof(m) - 1);
	(void)r;
	abort();
}

void *
dr_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *
dr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *
dr_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *
dr_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *
dr_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *
dr_xvasprintf(const char *fmt, va_list ap)
{
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *
dr_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = dr_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

bool
dr_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t
dr_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void
dr_strv_push(char ***v, const char *s)
{
	size_t n = dr_strv_len(*v);
	*v = dr_xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = dr_xstrdup(s);
	(*v)[n + 1] = NULL;
}

void
dr_strv_free(char **v)
{
	dr_strvp(&v);
}

char **
dr_strv_copy(char *const *v)
{
	char **out = NULL;
	for (size_t i = 0; v && v[i]; i++)
		dr_strv_push(&out, v[i]);
	return out;
}

bool
dr_strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}
