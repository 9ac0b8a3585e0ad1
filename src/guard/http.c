/* http.c: strict head validation, http-parser based body framing, and URL/query helpers for
 * the guard (see http.h). Everything ambiguous is an error: the guard and the daemon must
 * never disagree about where a request ends. */
#include "lib/common.h"
#include "guard/http.h"

#include <ctype.h>
#include <limits.h>
#include <strings.h>

static const char zeros[65536];

void
gd_head_clear(gd_head *h)
{
	free(h->arena);
	free(h->hdrs);
	memset(h, 0, sizeof(*h));
}

const char *
gd_head_get(const gd_head *h, const char *name)
{
	for (size_t i = 0; i < h->nhdrs; i++)
		if (strcasecmp(h->hdrs[i].name, name) == 0)
			return h->hdrs[i].value;
	return NULL;
}

size_t
gd_head_count(const gd_head *h, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < h->nhdrs; i++)
		if (strcasecmp(h->hdrs[i].name, name) == 0)
			n++;
	return n;
}

/* Byte classes for the head scanner. */
enum {
	C_TCHAR = 1,   /* token character (header names) */
	C_BADVAL = 2,  /* control character other than HTAB, or DEL (header values) */
	C_BADLINE = 4, /* control character or space other than SP itself (start line) */
	C_STOP = 8,    /* NUL or CR: looked at one by one */
};

static const unsigned char *
byte_classes(void)
{
	static unsigned char cls[256];
	static bool ready;
	if (ready)
		return cls;
	for (int c = 0; c < 256; c++) {
		unsigned char k = 0;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c && strchr("!#$%&'*+-.^_`|~", c)))
			k |= C_TCHAR;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			k |= C_BADVAL;
		if (c <= 0x20 && c != ' ')
			k |= C_BADLINE;
		if (c == 0 || c == '\r')
			k |= C_STOP;
		cls[c] = k;
	}
	ready = true;
	return cls;
}

/* Line by line (memchr for the LF), each byte classified by a table; the checks, their order
 * and their messages are those of a byte-at-a-time scan: in each line, a NUL or a bare CR is
 * reported at its position, then the line itself is judged at its LF. */
ssize_t
gd_head_scan(const char *data, size_t len, const char **why)
{
	const unsigned char *cls = byte_classes();
	const unsigned char *d = (const unsigned char *)data;
	size_t lim = len < GD_HEAD_MAX ? len : GD_HEAD_MAX;
	size_t line_start = 0;
	bool first = true;
	while (line_start < lim) {
		const unsigned char *nl = memchr(d + line_start, '\n', lim - line_start);
		size_t end = nl ? (size_t)(nl - d) : lim;
		if (nl && end > line_start + 1 && d[end - 1] == '\r') {
			/* One pass for a well-formed line (no NUL or CR inside it either: neither is
			 * a token character nor allowed in a value or the start line); anything else
			 * takes the exact checks below for their message. */
			const unsigned char *l = d + line_start;
			size_t ll = end - 1 - line_start, k = 0;
			bool good = true;
			if (first) {
				for (; k < ll && good; k++)
					good = !(cls[l[k]] & C_BADLINE);
			} else {
				while (k < ll && (cls[l[k]] & C_TCHAR))
					k++;
				good = k > 0 && k < ll && l[k] == ':';
				for (k++; k < ll && good; k++)
					good = !(cls[l[k]] & C_BADVAL);
			}
			if (good) {
				first = false;
				line_start = end + 1;
				continue;
			}
		}
		for (size_t i = line_start; i < end; i++) {
			if (!(cls[d[i]] & C_STOP))
				continue;
			if (d[i] == 0) {
				*why = "NUL in the message head";
				return -1;
			}
			if (i + 1 < len && d[i + 1] != '\n') {
				*why = "bare CR in the message head";
				return -1;
			}
		}
		if (!nl)
			break;
		size_t i = end;
		if (i == 0 || d[i - 1] != '\r') {
			*why = "bare LF in the message head";
			return -1;
		}
		size_t ll = i - 1 - line_start; /* line length without CRLF */
		if (ll == 0) {
			if (first) {
				*why = "empty line before the message";
				return -1;
			}
			return (ssize_t)(i + 1);
		}
		const unsigned char *l = d + line_start;
		if (!first) {
			if (l[0] == ' ' || l[0] == '\t') {
				*why = "obsolete line folding in a header";
				return -1;
			}
			size_t k = 0;
			while (k < ll && (cls[l[k]] & C_TCHAR))
				k++;
			if (k == 0 || k >= ll || l[k] != ':') {
				*why = "malformed header line";
				return -1;
			}
			for (size_t j = k + 1; j < ll; j++) {
				if (cls[l[j]] & C_BADVAL) {
					*why = "control character in a header value";
					return -1;
				}
			}
		} else {
			for (size_t j = 0; j < ll; j++) {
				if (cls[l[j]] & C_BADLINE) {
					*why = "control character in the start line";
					return -1;
				}
			}
		}
		first = false;
		line_start = i + 1;
	}
	if (len >= GD_HEAD_MAX) {
		*why = "request head too large";
		return -1;
	}
	return 0;
}

/* ---- http-parser callbacks ---- */

static gd_framer *
framer_of(http_parser *p)
{
	return (gd_framer *)p->data;
}

/* The head's strings go to one arena sized for the whole head when the framer starts, so
 * the pointers never move; a string that arrives in pieces grows at the arena's end. */
static char *
arena_add(gd_head *h, char *cur, const char *at, size_t n)
{
	size_t old = cur ? strlen(cur) : 0;
	if (cur && cur + old + 1 != h->arena + h->arena_len)
		return NULL; /* only the last string can grow */
	size_t need = (cur ? 0 : 1) + n;
	if (h->arena_cap - h->arena_len < need)
		return NULL;
	char *p = cur ? cur : h->arena + h->arena_len;
	memcpy(p + old, at, n);
	p[old + n] = '\0';
	h->arena_len += need;
	return p;
}

static int
cb_url(http_parser *p, const char *at, size_t n)
{
	gd_head *h = &framer_of(p)->head;
	char *t = arena_add(h, h->target, at, n);
	if (!t)
		return 1;
	h->target = t;
	return 0;
}

static int
cb_field(http_parser *p, const char *at, size_t n)
{
	gd_framer *f = framer_of(p);
	gd_head *h = &f->head;
	if (f->headers_done)
		return 0; /* trailers: framed by the parser, never kept */
	if (h->nhdrs == 0 || h->hdrs[h->nhdrs - 1].value) {
		if (h->nhdrs >= GD_MAX_HEADERS)
			return 1;
		if (h->nhdrs == h->caphdrs) {
			h->caphdrs = h->caphdrs ? h->caphdrs * 2 : 16;
			h->hdrs = dr_xrealloc(h->hdrs, h->caphdrs * sizeof(*h->hdrs));
		}
		h->hdrs[h->nhdrs].name = NULL;
		h->hdrs[h->nhdrs].value = NULL;
		h->nhdrs++;
	}
	char *v = arena_add(h, h->hdrs[h->nhdrs - 1].name, at, n);
	if (!v)
		return 1;
	h->hdrs[h->nhdrs - 1].name = v;
	return 0;
}

static int
cb_value(http_parser *p, const char *at, size_t n)
{
	gd_framer *f = framer_of(p);
	gd_head *h = &f->head;
	if (f->headers_done)
		return 0;
	if (h->nhdrs == 0)
		return 1;
	char *v = arena_add(h, h->hdrs[h->nhdrs - 1].value, at, n);
	if (!v)
		return 1;
	h->hdrs[h->nhdrs - 1].value = v;
	return 0;
}

static int
cb_headers_complete(http_parser *p)
{
	gd_framer *f = framer_of(p);
	f->headers_done = true;
	for (size_t i = 0; i < f->head.nhdrs; i++)
		if (!f->head.hdrs[i].value)
			f->head.hdrs[i].value = arena_add(&f->head, NULL, "", 0);
	return f->skip_body ? 1 : 0;
}

static int
cb_body(http_parser *p, const char *at, size_t n)
{
	gd_framer *f = framer_of(p);
	if (f->capture && !f->capture_overflow && dr_buf_append(f->capture, at, n) < 0)
		f->capture_overflow = true;
	return 0;
}

static int
cb_chunk_header(http_parser *p)
{
	gd_framer *f = framer_of(p);
	f->in_payload = p->content_length > 0;
	http_parser_pause(p, 1);
	return 0;
}

static int
cb_message_complete(http_parser *p)
{
	gd_framer *f = framer_of(p);
	f->complete = true;
	f->in_payload = false;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_url = cb_url,
	.on_header_field = cb_field,
	.on_header_value = cb_value,
	.on_headers_complete = cb_headers_complete,
	.on_body = cb_body,
	.on_message_complete = cb_message_complete,
	.on_chunk_header = cb_chunk_header,
};

static ssize_t
execute(gd_framer *f, const char *data, size_t len, const char **why)
{
	size_t n = http_parser_execute(&f->p, &settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&f->p);
	if (e == HPE_PAUSED) {
		http_parser_pause(&f->p, 0);
	} else if (e != HPE_OK) {
		*why = http_errno_description(e);
		return -1;
	}
	if (f->headers_done && !f->complete && !f->head.chunked && !f->eof_body)
		f->in_payload = f->p.content_length > 0 && f->p.content_length != ULLONG_MAX;
	if (f->head.chunked && f->in_payload && f->p.content_length == 0)
		f->in_payload = false;
	return (ssize_t)n;
}

static bool
all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int
gd_framer_begin(gd_framer *f, bool response, bool head_request, const char *data,
                size_t head_len, const char **why)
{
	memset(f, 0, sizeof(*f));
	f->response = response;
	f->skip_body = response && head_request;
	http_parser_init(&f->p, response ? HTTP_RESPONSE : HTTP_REQUEST);
	f->p.data = f;
	/* every string is a piece of the head plus its NUL; the method name is added below */
	f->head.arena_cap = head_len + 2 * GD_MAX_HEADERS + 2 + 16;
	f->head.arena = dr_xmalloc(f->head.arena_cap);
	ssize_t n = execute(f, data, head_len, why);
	if (n < 0)
		return -1;
	if (!f->headers_done || (size_t)n != head_len) {
		*why = "malformed message head";
		return -1;
	}
	gd_head *h = &f->head;
	h->head_len = head_len;
	h->http_major = f->p.http_major;
	h->http_minor = f->p.http_minor;
	if (h->http_major != 1 || h->http_minor > 1) {
		*why = "unsupported HTTP version";
		return -1;
	}
	if (!response) {
		const char *m = http_method_str((enum http_method)f->p.method);
		h->method = strlen(m) < 16 ? arena_add(h, NULL, m, strlen(m)) : NULL;
		if (!h->method) {
			*why = "method not allowed";
			return -1;
		}
		if (!h->target) {
			*why = "missing request target";
			return -1;
		}
	} else {
		h->status = f->p.status_code;
	}
	/* one pass over the headers for every name the checks below need */
	enum { H_CL, H_TE, H_HOST, H_CT, H_UPGRADE, H_EXPECT, H_AUTH, H_CONFIG, H_N };
	static const struct { const char *name; size_t len; } watched[H_N] = {
		[H_CL] = { "Content-Length", 14 },     [H_TE] = { "Transfer-Encoding", 17 },
		[H_HOST] = { "Host", 4 },              [H_CT] = { "Content-Type", 12 },
		[H_UPGRADE] = { "Upgrade", 7 },        [H_EXPECT] = { "Expect", 6 },
		[H_AUTH] = { "X-Registry-Auth", 15 },  [H_CONFIG] = { "X-Registry-Config", 17 },
	};
	size_t cnt[H_N] = { 0 };
	const char *first[H_N] = { NULL };
	for (size_t i = 0; i < h->nhdrs; i++) {
		size_t l = strlen(h->hdrs[i].name);
		for (size_t k = 0; k < H_N; k++) {
			if (watched[k].len != l || strcasecmp(h->hdrs[i].name, watched[k].name) != 0)
				continue;
			if (!cnt[k]++)
				first[k] = h->hdrs[i].value;
			break;
		}
	}
	size_t ncl = cnt[H_CL], nte = cnt[H_TE];
	if (ncl > 1 || nte > 1 || (ncl && nte)) {
		*why = "ambiguous message length (Content-Length and Transfer-Encoding)";
		return -1;
	}
	if (ncl) {
		const char *v = first[H_CL];
		if (!all_digits(v) || strlen(v) > 15) {
			*why = "invalid Content-Length";
			return -1;
		}
		h->has_length = true;
		h->length = strtoull(v, NULL, 10);
	}
	if (nte) {
		if (strcasecmp(first[H_TE], "chunked") != 0) {
			*why = "unsupported Transfer-Encoding (only chunked)";
			return -1;
		}
		h->chunked = true;
	}
	if (!response) {
		if (cnt[H_HOST] > 1 || (h->http_minor == 1 && !cnt[H_HOST])) {
			*why = "missing or repeated Host header";
			return -1;
		}
		if (cnt[H_CT] > 1 || cnt[H_UPGRADE] > 1 || cnt[H_EXPECT] > 1 || cnt[H_AUTH] > 1 ||
		    cnt[H_CONFIG] > 1) {
			*why = "repeated header";
			return -1;
		}
		const char *ex = first[H_EXPECT];
		if (ex) {
			if (strcasecmp(ex, "100-continue") != 0) {
				*why = "unsupported Expect header";
				return -1;
			}
			h->expect_continue = true;
		}
		static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE",
			                               "OPTIONS" };
		bool known = false;
		for (size_t i = 0; i < DR_ARRAY_LEN(methods); i++)
			known = known || strcmp(h->method, methods[i]) == 0;
		if (!known) {
			*why = "method not allowed";
			return -1;
		}
	}
	h->upgrade = f->p.upgrade;
	h->keep_alive = http_should_keep_alive(&f->p);
	if (response && !h->chunked && !h->has_length && !f->skip_body && !f->complete &&
	    h->status != 101 && h->status / 100 != 1 && h->status != 204 && h->status != 304)
		f->eof_body = true;
	return 0;
}

ssize_t
gd_framer_feed(gd_framer *f, const char *data, size_t len, const char **why)
{
	if (f->complete || len == 0)
		return 0;
	return execute(f, data, len, why);
}

uint64_t
gd_framer_payload(const gd_framer *f)
{
	if (f->complete)
		return 0;
	if (f->eof_body)
		return UINT64_MAX;
	return f->in_payload ? f->p.content_length : 0;
}

int
gd_framer_skip(gd_framer *f, uint64_t n, const char **why)
{
	if (f->eof_body)
		return 0;
	while (n > 0) {
		size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;
		dr_buf *cap = f->capture;
		f->capture = NULL;
		ssize_t r = execute(f, zeros, k, why);
		f->capture = cap;
		if (r < 0)
			return -1;
		if ((size_t)r != k) {
			*why = "payload accounting error";
			return -1;
		}
		n -= k;
	}
	return 0;
}

void
gd_framer_eof(gd_framer *f)
{
	if (f->eof_body && !f->complete) {
		f->complete = true;
		f->in_payload = false;
	}
}

void
gd_framer_clear(gd_framer *f)
{
	gd_head_clear(&f->head);
	memset(f, 0, sizeof(*f));
}

/* ---- URL helpers ---- */

/* Decode %XX (and '+' as space when plus). NULL on a bad escape or a NUL byte. */
static char *
pct_decode(const char *s, size_t n, bool plus)
{
	char *out = dr_xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int a = dr_hexval(s[i + 1]), b = dr_hexval(s[i + 2]);
			if (a < 0 || b < 0) {
				free(out);
				return NULL;
			}
			c = (char)(a * 16 + b);
			i += 2;
		} else if (plus && c == '+') {
			c = ' ';
		}
		if (c == '\0') {
			free(out);
			return NULL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

void
gd_query_clear(gd_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].key);
		free(q->v[i].value);
	}
	free(q->v);
	q->v = NULL;
	q->n = 0;
}

static void
query_add(gd_query *q, char *k, char *v)
{
	q->v = dr_xrealloc(q->v, (q->n + 1) * sizeof(*q->v));
	q->v[q->n].key = k;
	q->v[q->n].value = v;
	q->n++;
}

int
gd_split_target(const char *target, char **path, gd_query *q, const char **why)
{
	memset(q, 0, sizeof(*q));
	*path = NULL;
	if (target[0] != '/') {
		*why = "request target must be an absolute path";
		return -1;
	}
	const char *qm = strchr(target, '?');
	size_t plen = qm ? (size_t)(qm - target) : strlen(target);
	if (memchr(target, '#', strlen(target))) {
		*why = "fragment in request target";
		return -1;
	}
	char *p = pct_decode(target, plen, false);
	if (!p) {
		*why = "invalid percent-encoding in the path";
		return -1;
	}
	for (const char *c = p; *c; c++) {
		if (*c == '\r' || *c == '\n' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f) {
			free(p);
			*why = "forbidden character in the path";
			return -1;
		}
	}
	/* No empty, "." or ".." segments: the daemon's router would clean and redirect them. */
	for (const char *c = p + 1;;) {
		const char *e = strchr(c, '/');
		size_t sl = e ? (size_t)(e - c) : strlen(c);
		if ((sl == 0 && (e || c != p + 1)) || (sl == 1 && c[0] == '.') ||
		    (sl == 2 && c[0] == '.' && c[1] == '.')) {
			free(p);
			*why = "empty or dot segment in the path";
			return -1;
		}
		if (!e)
			break;
		c = e + 1;
	}
	if (qm) {
		const char *s = qm + 1;
		while (*s) {
			const char *amp = strchr(s, '&');
			size_t l = amp ? (size_t)(amp - s) : strlen(s);
			if (memchr(s, ';', l)) {
				gd_query_clear(q);
				free(p);
				*why = "';' in the query";
				return -1;
			}
			if (l > 0) {
				const char *eq = memchr(s, '=', l);
				size_t kl = eq ? (size_t)(eq - s) : l;
				char *k = pct_decode(s, kl, true);
				char *v = eq ? pct_decode(eq + 1, l - kl - 1, true) : dr_xstrdup("");
				if (!k || !v) {
					free(k);
					free(v);
					gd_query_clear(q);
					free(p);
					*why = "invalid percent-encoding in the query";
					return -1;
				}
				query_add(q, k, v);
			}
			s += l;
			if (*s == '&')
				s++;
		}
	}
	*path = p;
	return 0;
}

const char *
gd_query_get(const gd_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i].key, key) == 0)
			return q->v[i].value;
	return NULL;
}

size_t
gd_query_count(const gd_query *q, const char *key)
{
	size_t n = 0;
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i].key, key) == 0)
			n++;
	return n;
}

void
gd_query_del(gd_query *q, const char *key)
{
	size_t o = 0;
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->v[i].key, key) == 0) {
			free(q->v[i].key);
			free(q->v[i].value);
			continue;
		}
		q->v[o++] = q->v[i];
	}
	q->n = o;
}

void
gd_query_set(gd_query *q, const char *key, const char *value)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i].key, key) == 0) {
			free(q->v[i].value);
			q->v[i].value = dr_xstrdup(value);
			return;
		}
	query_add(q, dr_xstrdup(key), dr_xstrdup(value));
}

/* Append s percent-encoded (unreserved kept; '/', ':' and '@' kept when keep_slash). */
static void
pct_append(dr_buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char tmp[256];
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (n > sizeof(tmp) - 3) {
			dr_buf_append(b, tmp, n);
			n = 0;
		}
		if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~' ||
		    (keep_slash && (*c == '/' || *c == ':' || *c == '@'))) {
			tmp[n++] = (char)*c;
		} else {
			tmp[n++] = '%';
			tmp[n++] = hex[*c >> 4];
			tmp[n++] = hex[*c & 15];
		}
	}
	if (n)
		dr_buf_append(b, tmp, n);
}

char *
gd_pct_encode(const char *s, bool keep_slash)
{
	dr_buf b = DR_BUF_INIT(0);
	pct_append(&b, s, keep_slash);
	return dr_buf_steal(&b);
}

char *
gd_query_encode(const gd_query *q)
{
	dr_buf b = DR_BUF_INIT(0);
	for (size_t i = 0; i < q->n; i++) {
		if (i)
			dr_buf_append(&b, "&", 1);
		pct_append(&b, q->v[i].key, false);
		dr_buf_append(&b, "=", 1);
		pct_append(&b, q->v[i].value, false);
	}
	return dr_buf_steal(&b);
}

bool
gd_media_is(const char *ct, const char *type)
{
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen(type);
	if (strncasecmp(ct, type, n) != 0)
		return false;
	const char *r = ct + n;
	while (*r == ' ' || *r == '\t')
		r++;
	return *r == '\0' || *r == ';';
}
