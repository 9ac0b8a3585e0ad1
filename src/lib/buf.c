/* buf.c: capped growable buffer (see buf.h). */
#include "lib/common.h"
#include "lib/buf.h"

int
dr_buf_append(dr_buf *b, const void *p, size_t n)
{
	if (b->max && (n > b->max || b->len > b->max - n)) {
		errno = E2BIG;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = dr_xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
dr_buf_puts(dr_buf *b, const char *s)
{
	return dr_buf_append(b, s, strlen(s));
}

int
dr_buf_printf(dr_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = dr_xvasprintf(fmt, ap);
	va_end(ap);
	return dr_buf_puts(b, s);
}

void
dr_buf_reset(dr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
dr_buf_steal(dr_buf *b)
{
	char *p = b->data ? b->data : dr_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
dr_buf_str(const dr_buf *b)
{
	return b->data ? b->data : "";
}
