/* http.c: the in-pod HTTP/1.1 client and its response parser (see http.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "pod/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/un.h>
#include <time.h>

#define MAX_HEADER_BYTES (64u << 10)
#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_TIMEOUT_MS 30000L

/* ---- endpoints ---- */

void
dr_pod_endpoint_clear(dr_pod_endpoint *ep)
{
	free(ep->url);
	free(ep->path);
	memset(ep, 0, sizeof(*ep));
}

static int
bad_host(const char *flag, const char *url, const char *why, dr_err **err)
{
	return dr_fail(err, DR_EXIT_USAGE,
	               "%s \"%s\": %s: use unix:///PATH or tcp://HOST:PORT (e.g. %s)", flag, url,
	               why, DR_POD_DEFAULT_DOCKER_HOST);
}

int
dr_pod_endpoint_parse(const char *flag, const char *url, dr_pod_endpoint *ep, dr_err **err)
{
	memset(ep, 0, sizeof(*ep));
	if (dr_startswith(url, "unix://")) {
		const char *path = url + 7;
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;
		if (path[0] != '/')
			return bad_host(flag, url, "the socket path must be absolute", err);
		if (strlen(path) >= sizeof(sun->sun_path))
			return bad_host(flag, url, "the socket path is longer than 107 bytes", err);
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, strlen(path) + 1);
		ep->addr_len = (socklen_t)sizeof(*sun);
		ep->path = dr_xstrdup(path);
		ep->url = dr_xstrdup(url);
		return 0;
	}
	if (!dr_startswith(url, "tcp://"))
		return bad_host(flag, url, "unsupported scheme", err);
	const char *h = url + 6;
	_cleanup_free_ char *host = NULL;
	const char *port_s = NULL;
	if (h[0] == '[') {
		const char *close = strchr(h, ']');
		if (!close)
			return bad_host(flag, url, "unclosed [", err);
		host = dr_xstrndup(h + 1, (size_t)(close - h - 1));
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] && close[1] != '/')
			return bad_host(flag, url, "junk after ]", err);
	} else {
		const char *colon = strrchr(h, ':');
		const char *slash = strchr(h, '/');
		size_t hl = colon ? (size_t)(colon - h) : slash ? (size_t)(slash - h) : strlen(h);
		host = dr_xstrndup(h, hl);
		if (colon)
			port_s = colon + 1;
	}
	long port = 2375;
	if (port_s) {
		char *end = NULL;
		errno = 0;
		port = strtol(port_s, &end, 10);
		if (end == port_s || (*end && *end != '/') || errno || port < 1 || port > 65535)
			return bad_host(flag, url, "bad port", err);
	}
	if (!*host || strcmp(host, "localhost") == 0) {
		free(host);
		host = dr_xstrdup("127.0.0.1");
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ep->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ep->addr;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		ep->addr_len = (socklen_t)sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ep->addr_len = (socklen_t)sizeof(*in6);
	} else {
		return bad_host(flag, url, "give the host as an IP address or localhost", err);
	}
	ep->url = dr_xstrdup(url);
	return 0;
}

/* ---- the response parser ---- */

void
dr_pod_http_response_clear(dr_pod_http_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int
malformed(dr_err **err, const char *what)
{
	return dr_fail_errno(err, DR_EXIT_FAIL, EPROTO, "not an HTTP response (%s)", what);
}

/* The end of the line starting at p (the '\n'), or NULL if there is none before end. */
static const char *
line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* The header block of the response at p: its end (after the blank line), or NULL if the blank
 * line has not arrived. */
static const char *
header_end(const char *p, const char *end)
{
	while (p < end) {
		const char *nl = line_end(p, end);
		if (!nl)
			return NULL;
		size_t n = (size_t)(nl - p);
		if (n == 0 || (n == 1 && p[0] == '\r'))
			return nl + 1;
		p = nl + 1;
	}
	return NULL;
}

static bool
parse_size(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t start = i;
	for (; i < n; i++) {
		int d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (i == start)
		return false;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i < n && !(base == 16 && s[i] == ';')) /* chunk extensions are allowed */
		return false;
	*out = v;
	return true;
}

/* Case-insensitive "does the comma-separated header value list contain `token`". */
static bool
has_token(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == '\r'))
			e--;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return true;
	}
	return false;
}

/* Decode a chunked body starting at p. 1 complete, 0 incomplete, -1 malformed. */
static int
dechunk(const char *p, const char *end, size_t max_body, dr_buf *out, dr_err **err)
{
	for (;;) {
		const char *nl = line_end(p, end);
		if (!nl)
			return 0;
		uint64_t size;
		if (!parse_size(p, (size_t)(nl - p), 16, &size))
			return malformed(err, "bad chunk size");
		p = nl + 1;
		if (size == 0) {
			/* Trailers, then the blank line. */
			for (;;) {
				const char *tl = line_end(p, end);
				if (!tl)
					return 0;
				size_t n = (size_t)(tl - p);
				p = tl + 1;
				if (n == 0 || (n == 1 && p[-2] == '\r'))
					return 1;
			}
		}
		if (size > max_body || out->len + size > max_body)
			return dr_fail_errno(err, DR_EXIT_FAIL, E2BIG,
			                     "the response body is larger than %zu bytes", max_body);
		if ((uint64_t)(end - p) < size)
			return 0;
		dr_buf_append(out, p, (size_t)size);
		p += size;
		if (p < end && *p == '\r')
			p++;
		if (p >= end)
			return 0;
		if (*p != '\n')
			return malformed(err, "no line break after a chunk");
		p++;
	}
}

int
dr_pod_http_parse(const char *data, size_t len, bool eof, size_t max_body,
                  dr_pod_http_response *r, dr_err **err)
{
	const char *p = data, *end = data + len;
	if (max_body == 0)
		max_body = DEFAULT_MAX_BODY;
	for (;;) {
		/* The status line: HTTP/1.x SSS[ reason] */
		const char *nl = line_end(p, end);
		if ((size_t)(end - p) >= 7 && memcmp(p, "HTTP/1.", 7) != 0)
			return malformed(err, "no status line");
		const char *hend = header_end(p, end);
		if (!hend) {
			if ((size_t)(end - p) > MAX_HEADER_BYTES)
				return malformed(err, "headers larger than 64 KiB");
			if (eof)
				return malformed(err, len ? "closed in the headers" : "closed without answering");
			return 0;
		}
		if ((size_t)(nl - p) < 12 || p[7] < '0' || p[7] > '9' ||
		    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
		    p[11] < '0' || p[11] > '9' || (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
			return malformed(err, "bad status line");
		int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		bool chunked = false, have_length = false;
		uint64_t length = 0;
		for (const char *h = nl + 1; h < hend;) {
			const char *hl = line_end(h, hend);
			size_t n = (size_t)(hl - h);
			if (n && h[n - 1] == '\r')
				n--;
			if (n == 0)
				break;
			const char *colon = memchr(h, ':', n);
			if (!colon || colon == h)
				return malformed(err, "bad header line");
			size_t nlen = (size_t)(colon - h);
			const char *v = colon + 1;
			size_t vlen = n - nlen - 1;
			if (nlen == 14 && strncasecmp(h, "Content-Length", 14) == 0) {
				uint64_t l;
				if (!parse_size(v, vlen, 10, &l) || (have_length && l != length))
					return malformed(err, "bad Content-Length");
				length = l;
				have_length = true;
			} else if (nlen == 17 && strncasecmp(h, "Transfer-Encoding", 17) == 0) {
				chunked = has_token(v, vlen, "chunked");
			}
			h = hl + 1;
		}
		if (status >= 100 && status < 200) {
			p = hend; /* an interim answer (100 Continue): the real one follows */
			continue;
		}
		_cleanup_buf_ dr_buf body = DR_BUF_INIT(0);
		if (status == 204 || status == 304) {
			/* no body */
		} else if (chunked) {
			int k = dechunk(hend, end, max_body, &body, err);
			if (k < 0)
				return -1;
			if (k == 0)
				return eof ? malformed(err, "closed in a chunked body") : 0;
		} else if (have_length) {
			if (length > max_body)
				return dr_fail_errno(err, DR_EXIT_FAIL, E2BIG,
				                     "the response body is larger than %zu bytes",
				                     max_body);
			if ((uint64_t)(end - hend) < length) {
				if (eof)
					return dr_fail_errno(err, DR_EXIT_FAIL, EPROTO,
					                     "the connection closed after %zu of %llu "
					                     "body bytes",
					                     (size_t)(end - hend), (unsigned long long)length);
				return 0;
			}
			dr_buf_append(&body, hend, (size_t)length);
		} else {
			if ((size_t)(end - hend) > max_body)
				return dr_fail_errno(err, DR_EXIT_FAIL, E2BIG,
				                     "the response body is larger than %zu bytes",
				                     max_body);
			if (!eof)
				return 0;
			dr_buf_append(&body, hend, (size_t)(end - hend));
		}
		r->status = status;
		r->body_len = body.len;
		r->body = dr_buf_steal(&body);
		return 1;
	}
}

/* ---- the client ---- */

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
dr_pod_cancelled(const dr_pod_cancel *c)
{
	if (!c || c->fd < 0)
		return false;
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return c->check ? c->check(c->ctx) : true;
}

/* Wait until fd is ready for `events`, the deadline passes (ETIMEDOUT) or the cancel says so
 * (ECANCELED). 0 or -1 with errno. */
static int
wait_fd(int fd, short events, long deadline, const dr_pod_cancel *c)
{
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd[2] = { { fd, events, 0 }, { c ? c->fd : -1, POLLIN, 0 } };
		int k = poll(pfd, c && c->fd >= 0 ? 2 : 1, (int)(left > 60000 ? 60000 : left));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (c && c->fd >= 0 && (pfd[1].revents & POLLIN)) {
			if (!c->check || c->check(c->ctx)) {
				errno = ECANCELED;
				return -1;
			}
		}
		if (pfd[0].revents)
			return 0;
	}
}

int
dr_pod_http_do(const dr_pod_endpoint *ep, const dr_pod_http_request *req,
               dr_pod_http_response *r, dr_err **err)
{
	memset(r, 0, sizeof(*r));
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	long deadline = now_ms() + timeout;
	size_t max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	const char *where = ep->path ? ep->path : ep->url;
	if (dr_pod_cancelled(req->cancel))
		return dr_fail_errno(err, DR_EXIT_FAIL, ECANCELED, "%s %s on %s", req->method,
		                     req->target, where);
	int family = ((const struct sockaddr *)&ep->addr)->sa_family;
	_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "socket for %s", where);
	if (connect(fd, (const struct sockaddr *)&ep->addr, ep->addr_len) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "connect to %s", where);
		if (wait_fd(fd, POLLOUT, deadline, req->cancel) < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "connect to %s", where);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr)
			return dr_fail_errno(err, DR_EXIT_FAIL, soerr, "connect to %s", where);
	}

	_cleanup_buf_ dr_buf out = DR_BUF_INIT(0);
	dr_buf_printf(&out,
	              "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: deskrun\r\nAccept: "
	              "application/json\r\nConnection: close\r\n",
	              req->method, req->target, ep->path ? "docker" : ep->url + 6);
	if (req->body)
		dr_buf_printf(&out, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		              req->body_len);
	else if (strcmp(req->method, "POST") == 0)
		dr_buf_puts(&out, "Content-Length: 0\r\n");
	dr_buf_puts(&out, "\r\n");
	if (req->body)
		dr_buf_append(&out, req->body, req->body_len);
	size_t sent = 0;
	while (sent < out.len) {
		ssize_t w = send(fd, out.data + sent, out.len - sent, MSG_NOSIGNAL);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "send to %s", where);
		if (wait_fd(fd, POLLOUT, deadline, req->cancel) < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "%s %s on %s", req->method,
			                     req->target, where);
	}

	_cleanup_buf_ dr_buf in = DR_BUF_INIT(max_body + MAX_HEADER_BYTES + 4096);
	for (;;) {
		char chunk[16384];
		ssize_t got = recv(fd, chunk, sizeof(chunk), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline, req->cancel) < 0) {
				int e = errno;
				return dr_fail_errno(err, DR_EXIT_FAIL, e, "%s %s on %s", req->method,
				                     req->target, where);
			}
			continue;
		}
		if (got < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "read from %s", where);
		if (got > 0 && dr_buf_append(&in, chunk, (size_t)got) < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, E2BIG,
			                     "%s %s on %s: the answer is larger than %zu bytes",
			                     req->method, req->target, where, max_body);
		int k = dr_pod_http_parse(in.data ? in.data : "", in.len, got == 0, max_body, r, err);
		if (k < 0)
			return dr_err_prefix(err, "%s %s on %s", req->method, req->target, where);
		if (k == 1)
			return 0;
	}
}

char *
dr_pod_url_encode(const char *s)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~')
			dr_buf_append(&b, p, 1);
		else
			dr_buf_printf(&b, "%%%02X", *p);
	}
	return dr_buf_steal(&b);
}

int
dr_pod_docker_call(const dr_pod_endpoint *ep, const char *method, const char *target,
                   long timeout_ms, const dr_pod_cancel *cancel, json_t **json, dr_err **err)
{
	dr_pod_http_request req = { .method = method, .target = target, .timeout_ms = timeout_ms,
		                    .cancel = cancel };
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	if (dr_pod_http_do(ep, &req, &r, err) < 0)
		return -1;
	json_error_t jerr;
	_cleanup_json_ json_t *j = r.body_len ? json_loadb(r.body, r.body_len, 0, &jerr) : NULL;
	if (r.status < 200 || r.status > 299) {
		const char *msg = json_string_value(json_object_get(j, "message"));
		_cleanup_free_ char *text = dr_xstrndup(msg ? msg : r.body, 300);
		for (char *c = text; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		return dr_fail(err, DR_EXIT_FAIL, "%s %s: the daemon answered %d%s%s", method,
		               target, r.status, *text ? ": " : "", text);
	}
	if (json) {
		if (!j)
			return dr_fail(err, DR_EXIT_FAIL, "%s %s: the answer is not JSON", method,
			               target);
		*json = TAKE_PTR(j);
	}
	return 0;
}
