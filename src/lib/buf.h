/* buf.h: a growable byte buffer with a hard size cap (curl's dynbuf habit). Input from outside
 * (files, child output, sockets) is read only into a capped buffer; going over the cap is an
 * error, never silent truncation. The data is always NUL-terminated. */
#ifndef DESKRUN_BUF_H
#define DESKRUN_BUF_H

#include <stddef.h>

typedef struct dr_buf {
	char *data; /* owned; NUL-terminated; NULL until first append */
	size_t len;
	size_t cap;
	size_t max; /* 0 = no cap */
} dr_buf;

#define DR_BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

/* Return -1 (errno = E2BIG) when the cap would be exceeded; the buffer is unchanged then. */
int dr_buf_append(dr_buf *b, const void *p, size_t n);
int dr_buf_puts(dr_buf *b, const char *s);
int dr_buf_printf(dr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dr_buf_reset(dr_buf *b);
/* Give the data to the caller (owned; never NULL) and empty the buffer. */
char *dr_buf_steal(dr_buf *b);
const char *dr_buf_str(const dr_buf *b); /* "" when empty */

static inline void dr_buf_freep(dr_buf *b) { dr_buf_reset(b); }
#define _cleanup_buf_ __attribute__((cleanup(dr_buf_freep)))

#endif
