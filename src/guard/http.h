/* http.h: strict HTTP/1.x framing for the guard. A message head is validated by hand (CRLF
 * only, no obs-fold, token header names, one Content-Length, Transfer-Encoding exactly
 * "chunked" and never with Content-Length) and then parsed by http-parser, which also frames
 * the body: a gd_framer tells how many payload bytes may pass without being looked at, so
 * they can be spliced, and stops at every chunk header and at the end of the message. */
#ifndef DESKRUN_GUARD_HTTP_H
#define DESKRUN_GUARD_HTTP_H

#include "lib/common.h"
#include "lib/buf.h"

#include <http_parser.h>

#define GD_HEAD_MAX (64 * 1024)
#define GD_MAX_HEADERS 100

typedef struct gd_header {
	char *name;  /* in the head's arena */
	char *value; /* in the head's arena */
} gd_header;

/* A parsed message head (request or response). Its strings live in one arena (freed by
 * gd_head_clear), so a head costs two allocations whatever its number of headers. */
typedef struct gd_head {
	char *method;  /* requests (arena) */
	char *target;  /* requests: the raw request-target (arena) */
	int status;    /* responses */
	int http_major, http_minor;
	gd_header *hdrs; /* owned */
	size_t nhdrs, caphdrs;
	char *arena;     /* owned */
	size_t arena_len, arena_cap;
	bool chunked;
	bool has_length;
	uint64_t length;
	bool upgrade;    /* Connection: upgrade + Upgrade: <x> */
	bool keep_alive; /* http_should_keep_alive() */
	bool expect_continue;
	size_t head_len; /* bytes of the head, including the blank line */
} gd_head;

void gd_head_clear(gd_head *h);
const char *gd_head_get(const gd_head *h, const char *name); /* first value or NULL */
size_t gd_head_count(const gd_head *h, const char *name);

/* Body framing state, fed by the bytes that follow a head. */
typedef struct gd_framer {
	http_parser p;
	bool response;
	bool headers_done;
	bool complete;
	bool in_payload; /* p.content_length bytes of payload come next */
	bool eof_body;   /* a response body that ends when the connection does */
	bool skip_body;  /* response to HEAD */
	bool upgrade;
	dr_buf *capture; /* when set, decoded payload is appended here (capped) */
	bool capture_overflow;
	gd_head head;
} gd_framer;

/* Find a complete head at the start of data. Returns its length (>0), 0 when more bytes are
 * needed, -1 when the bytes cannot be a valid head (*why set: static text). */
ssize_t gd_head_scan(const char *data, size_t len, const char **why);

/* Start a framer on a complete head (data[0..head_len)). For a response, `head_request`
 * says the request was HEAD. Returns 0, or -1 with *why. */
int gd_framer_begin(gd_framer *f, bool response, bool head_request, const char *data,
                    size_t head_len, const char **why);
/* Feed body-phase bytes; returns how many were consumed (stops early at a chunk header and at
 * the end of the message), or -1 on a framing error (*why). */
ssize_t gd_framer_feed(gd_framer *f, const char *data, size_t len, const char **why);
/* Payload bytes that may pass unseen now (UINT64_MAX for an EOF-delimited body). */
uint64_t gd_framer_payload(const gd_framer *f);
/* Account for n payload bytes that were moved without being seen (n <= payload). */
int gd_framer_skip(gd_framer *f, uint64_t n, const char **why);
/* The connection ended: completes an EOF-delimited body. */
void gd_framer_eof(gd_framer *f);
void gd_framer_clear(gd_framer *f);

/* ---- URL pieces ---- */
typedef struct gd_param {
	char *key;   /* owned, decoded */
	char *value; /* owned, decoded */
} gd_param;

typedef struct gd_query {
	gd_param *v; /* owned */
	size_t n;
} gd_query;

/* Split target into decoded path and query. Rejects NUL, CR, LF, backslash, bad escapes,
 * dot and empty segments. Returns 0 or -1 with *why. */
int gd_split_target(const char *target, char **path, gd_query *q, const char **why);
void gd_query_clear(gd_query *q);
const char *gd_query_get(const gd_query *q, const char *key);
size_t gd_query_count(const gd_query *q, const char *key);
void gd_query_set(gd_query *q, const char *key, const char *value); /* replace or append */
void gd_query_del(gd_query *q, const char *key);
/* "k=v&k2=v2" percent-encoded (owned; "" when empty). */
char *gd_query_encode(const gd_query *q);
/* Percent-encode a path component (keeps unreserved, '/' and ':' when keep_slash). */
char *gd_pct_encode(const char *s, bool keep_slash);

/* Case-insensitive media type check: "application/json; charset=x" matches "application/json". */
bool gd_media_is(const char *content_type, const char *type);

#endif
