/* github.c: HTTPS GET and the GitHub App JWT on OpenSSL (see github.h). One request per
 * connection, HTTP/1.0 (no chunked bodies to decode), a capped response, one deadline for the
 * whole exchange. */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/doctor.h"
#include "sys/github.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_RESPONSE (4u << 20)

void
dr_http_response_clear(dr_http_response *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static const char *
ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : "unknown error";
}

/* Connect to host:port within the deadline; the socket is left blocking with send/receive
 * timeouts. */
static int
tcp_connect(const char *host, const char *port, long timeout_ms, dr_err **err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0)
		return dr_fail(err, DR_EXIT_FAIL, "cannot resolve %s: %s", host, gai_strerror(g));
	int last = ECONNREFUSED;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		_cleanup_close_ int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                                a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			if (errno != EINPROGRESS) {
				last = errno;
				continue;
			}
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int n = poll(&p, 1, (int)timeout_ms);
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (n == 0) {
				last = ETIMEDOUT;
				continue;
			}
			if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
				last = soerr ? soerr : errno;
				continue;
			}
		}
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		freeaddrinfo(ai);
		return TAKE_FD(fd);
	}
	freeaddrinfo(ai);
	return dr_fail_errno(err, last == ETIMEDOUT ? DR_EXIT_TIMEOUT : DR_EXIT_FAIL, last,
	                     "cannot connect to %s:%s", host, port);
}

/* Open a tunnel to target ("HOST:PORT") through the proxy on fd: CONNECT, then the proxy's
 * answer, read a byte at a time so nothing of the TLS stream that follows is consumed. */
static int
proxy_connect(int fd, const dr_proxy *px, const char *target, long timeout_ms, dr_err **err)
{
	_cleanup_free_ char *req = dr_xasprintf(
		"CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: deskrun-doctor\r\n%s%s%s\r\n", target,
		target, px->auth ? "Proxy-Authorization: " : "", px->auth ? px->auth : "",
		px->auth ? "\r\n" : "");
	size_t len = strlen(req), off = 0;
	while (off < len) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			explicit_bzero(req, len);
			return dr_fail_errno(err, DR_EXIT_FAIL, e, "send CONNECT %s to the proxy %s",
			                     target, px->shown);
		}
		off += (size_t)w;
	}
	explicit_bzero(req, len); /* it held the proxy's credentials */
	char head[8192];
	size_t n = 0;
	while (n < sizeof(head) - 1) {
		ssize_t got = recv(fd, head + n, 1, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "the proxy %s did not answer CONNECT %s within %ld ms", px->shown,
			               target, timeout_ms);
		if (got <= 0)
			return dr_fail(err, DR_EXIT_FAIL,
			               "the proxy %s closed the connection on CONNECT %s", px->shown,
			               target);
		n++;
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	head[n] = '\0';
	int status = 0;
	if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1 || !strstr(head, "\r\n\r\n"))
		return dr_fail(err, DR_EXIT_FAIL,
		               "the proxy %s answered CONNECT %s with something that is not HTTP",
		               px->shown, target);
	if (status == 407)
		return dr_fail(err, DR_EXIT_FAIL,
		               "the proxy %s wants credentials (HTTP 407)%s", px->shown,
		               px->auth ? ": it refused the USER:PASSWORD of the proxy URL"
		                        : ": give them as http://USER:PASSWORD@HOST:PORT");
	if (status < 200 || status > 299)
		return dr_fail(err, DR_EXIT_FAIL, "the proxy %s refused CONNECT %s (HTTP %d)",
		               px->shown, target, status);
	return 0;
}

/* One connection: the socket, and the TLS session over it for https://. */
typedef struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	const char *host;
	struct timespec deadline;
	atomic_int *cancel;
} conn;

static void
conn_close(conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL, c->ctx = NULL, c->fd = -1;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	          (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* Wait until fd is readable, the deadline passes (ETIMEDOUT) or *cancel is set (ECANCELED:
 * a signal without SA_RESTART wakes poll with EINTR). */
static int
conn_wait(conn *c, dr_err **err)
{
	for (;;) {
		if (c->cancel && atomic_load_explicit(c->cancel, memory_order_relaxed))
			return dr_fail_errno(err, DR_EXIT_FAIL, ECANCELED, "%s: request given up", c->host);
		if (c->ssl && SSL_pending(c->ssl) > 0)
			return 0;
		long left = ms_left(&c->deadline);
		if (left == 0)
			return dr_fail_errno(err, DR_EXIT_TIMEOUT, ETIMEDOUT, "%s did not answer in time",
			                     c->host);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "%s: poll", c->host);
	}
}

static int
conn_write(conn *c, const char *p, size_t len, dr_err **err)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w;
		if (c->ssl) {
			int n = SSL_write(c->ssl, p + off, (int)(len - off));
			if (n <= 0)
				return dr_fail(err, DR_EXIT_FAIL, "send the request to %s: %s", c->host,
				               ssl_reason());
			w = n;
		} else {
			w = send(c->fd, p + off, len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return dr_fail_errno(err, DR_EXIT_FAIL, errno, "send the request to %s",
				                     c->host);
		}
		off += (size_t)w;
	}
	return 0;
}

/* Read until the peer closes (the requests are HTTP/1.0: the body ends with the connection). */
static int
conn_read_all(conn *c, dr_buf *b, dr_err **err)
{
	char chunk[16384];
	for (;;) {
		if (conn_wait(c, err) < 0)
			return -1;
		ssize_t n;
		if (c->ssl) {
			int got = SSL_read(c->ssl, chunk, sizeof(chunk));
			if (got <= 0) {
				int e = SSL_get_error(c->ssl, got);
				if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && b->len > 0))
					return 0;
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					continue; /* conn_wait again: the socket is non-blocking */
				if (b->len == 0 && e == SSL_ERROR_SYSCALL)
					return dr_fail_errno(err, DR_EXIT_FAIL, ECONNRESET,
					                     "%s closed the connection without an answer",
					                     c->host);
				return dr_fail(err, DR_EXIT_FAIL, "read the response from %s: %s", c->host,
				               ssl_reason());
			}
			n = got;
		} else {
			n = recv(c->fd, chunk, sizeof(chunk), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
				continue;
			if (n < 0)
				return dr_fail_errno(err, DR_EXIT_FAIL, errno, "read the response from %s",
				                     c->host);
			if (n == 0) {
				if (b->len == 0)
					return dr_fail_errno(err, DR_EXIT_FAIL, ECONNRESET,
					                     "%s closed the connection without an answer",
					                     c->host);
				return 0;
			}
		}
		if (dr_buf_append(b, chunk, (size_t)n) < 0)
			return dr_fail(err, DR_EXIT_FAIL, "%s: response over %u bytes", c->host,
			               MAX_RESPONSE);
	}
}

static int
tls_start(conn *c, const char *host, dr_err **err)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return dr_fail(err, DR_EXIT_FAIL, "TLS setup: %s", ssl_reason());
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_default_verify_paths(c->ctx); /* honours SSL_CERT_FILE / SSL_CERT_DIR */
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl)
		return dr_fail(err, DR_EXIT_FAIL, "TLS setup: %s", ssl_reason());
	unsigned char ipbuf[16];
	bool is_ip = inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1;
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, host);
		SSL_set1_host(c->ssl, host);
	}
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK)
			return dr_fail(err, DR_EXIT_FAIL,
			               "TLS with %s: certificate not trusted (%s): for a private CA set "
			               "SSL_CERT_FILE",
			               host, X509_verify_cert_error_string(v));
		return dr_fail(err, DR_EXIT_FAIL, "TLS with %s failed: %s", host, ssl_reason());
	}
	return 0;
}

int
dr_http_request_do(const dr_http_request *q, dr_http_response *r, dr_err **err)
{
	memset(r, 0, sizeof(*r));
	const char *url = q->url;
	bool tls = dr_startswith(url, "https://");
	if (!tls && !dr_startswith(url, "http://"))
		return dr_fail(err, DR_EXIT_USAGE, "%s: only https:// and http:// URLs are supported",
		               url);
	const char *h = url + (tls ? 8 : 7);
	size_t hl = strcspn(h, "/?");
	_cleanup_free_ char *hostport = dr_xstrndup(h, hl);
	_cleanup_free_ char *path =
		h[hl] == '/' ? dr_xstrdup(h + hl) : dr_xasprintf("/%s", h + hl);
	_cleanup_free_ char *host = NULL;
	const char *port = tls ? "443" : "80";
	if (hostport[0] == '[') {
		char *e = strchr(hostport, ']');
		if (!e)
			return dr_fail(err, DR_EXIT_USAGE, "%s: bad host", url);
		host = dr_xstrndup(hostport + 1, (size_t)(e - hostport - 1));
		if (e[1] == ':')
			port = e + 2;
	} else {
		char *c = strchr(hostport, ':');
		host = c ? dr_xstrndup(hostport, (size_t)(c - hostport)) : dr_xstrdup(hostport);
		if (c)
			port = c + 1;
	}
	long timeout_ms = q->timeout_ms > 0 ? q->timeout_ms : DR_GITHUB_TIMEOUT_MS;
	__attribute__((cleanup(conn_close))) conn c = { .fd = -1, .host = host, .cancel = q->cancel };
	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += timeout_ms / 1000;
	c.deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (c.deadline.tv_nsec >= 1000000000) {
		c.deadline.tv_sec++;
		c.deadline.tv_nsec -= 1000000000;
	}
	long connect_ms = timeout_ms < DR_GITHUB_TIMEOUT_MS ? timeout_ms : DR_GITHUB_TIMEOUT_MS;
	const dr_proxy *px = q->proxy;
	bool absolute = false; /* plain http through the proxy: absolute-form request */
	if (px) {
		c.fd = tcp_connect(px->host, px->port, connect_ms, err);
		if (c.fd < 0)
			return dr_err_prefix(err, "the proxy %s", px->shown);
		if (tls) {
			bool v6 = strchr(host, ':') != NULL;
			_cleanup_free_ char *target =
				dr_xasprintf("%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
			if (proxy_connect(c.fd, px, target, connect_ms, err) < 0)
				return -1;
		} else {
			absolute = true;
		}
	} else {
		c.fd = tcp_connect(host, port, connect_ms, err);
		if (c.fd < 0)
			return -1;
	}
	/* The read timeout of tcp_connect is a backstop; conn_wait keeps the real deadline. */
	struct timeval tv = { .tv_sec = timeout_ms / 1000 + 1 };
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (tls && tls_start(&c, host, err) < 0)
		return -1;
	_cleanup_buf_ dr_buf req = DR_BUF_INIT(0);
	dr_buf_printf(&req, "%s %s%s%s HTTP/1.0\r\nHost: %s\r\n", q->method ? q->method : "GET",
	              absolute ? "http://" : "", absolute ? hostport : "", path, hostport);
	if (absolute && px->auth)
		dr_buf_printf(&req, "Proxy-Authorization: %s\r\n", px->auth);
	if (q->authorization)
		dr_buf_printf(&req, "Authorization: %s\r\n", q->authorization);
	if (q->headers)
		dr_buf_puts(&req, q->headers);
	if (q->body || (q->method && !dr_streq(q->method, "GET")))
		dr_buf_printf(&req, "Content-Length: %zu\r\n", q->body ? q->body_len : 0);
	dr_buf_puts(&req, "Connection: close\r\n\r\n");
	if (q->body)
		dr_buf_append(&req, q->body, q->body_len);
	int wrote = conn_write(&c, req.data, req.len, err);
	explicit_bzero(req.data, req.len); /* it held the credentials */
	if (wrote < 0)
		return -1;
	/* Reads are non-blocking from here: a TLS record that is not data (a session ticket)
	 * must not leave SSL_read blocked past a cancel or the deadline; conn_wait waits. */
	int fl = fcntl(c.fd, F_GETFL);
	fcntl(c.fd, F_SETFL, fl | O_NONBLOCK);
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(MAX_RESPONSE);
	if (conn_read_all(&c, &b, err) < 0)
		return -1;
	if (c.ssl)
		SSL_shutdown(c.ssl);
	const char *text = dr_buf_str(&b);
	const char *end = strstr(text, "\r\n\r\n");
	int status = 0;
	if (!end || sscanf(text, "HTTP/%*d.%*d %d", &status) != 1)
		return dr_fail(err, DR_EXIT_FAIL, "%s answered something that is not HTTP", host);
	r->status = status;
	r->headers = dr_xstrndup(text, (size_t)(end - text) + 2);
	r->body_len = b.len - (size_t)(end + 4 - text);
	r->body = dr_xstrndup(end + 4, r->body_len);
	return 0;
}

int
dr_https_get(const char *url, const char *authorization, const dr_proxy *proxy,
             long timeout_ms, dr_http_response *r, dr_err **err)
{
	if (!dr_startswith(url, "https://")) {
		memset(r, 0, sizeof(*r));
		return dr_fail(err, DR_EXIT_USAGE, "%s: only https:// URLs are supported", url);
	}
	dr_http_request q = {
		.method = "GET",
		.url = url,
		.authorization = authorization,
		.headers = "User-Agent: deskrun-doctor\r\nAccept: application/vnd.github+json\r\n"
		           "X-GitHub-Api-Version: 2022-11-28\r\n",
		.proxy = proxy,
		.timeout_ms = timeout_ms,
	};
	return dr_http_request_do(&q, r, err);
}

char *
dr_http_header(const dr_http_response *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers ? strstr(r->headers, "\r\n") : NULL;
	while (p && p[2]) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t l = strcspn(v, "\r\n");
			while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				l--;
			return dr_xstrndup(v, l);
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

static void
pkeyp(EVP_PKEY **k)
{
	EVP_PKEY_free(*k);
}
static void
mdctxp(EVP_MD_CTX **c)
{
	EVP_MD_CTX_free(*c);
}

int
dr_jwt_rs256(const char *app_id, const char *pem, int64_t now, char **jwt, dr_err **err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return dr_fail(err, DR_EXIT_FAIL, "the App's private key: out of memory");
	__attribute__((cleanup(pkeyp))) EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key)
		return dr_fail(err, DR_EXIT_FAIL,
		               "the App's private key does not parse (%s): download a new one from the "
		               "App's settings",
		               ssl_reason());
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return dr_fail(err, DR_EXIT_FAIL,
		               "the App's private key is not RSA: GitHub Apps sign with RS256");
	_cleanup_free_ char *input = dr_jwt_signing_input(app_id, now);
	__attribute__((cleanup(mdctxp))) EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = 0;
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		return dr_fail(err, DR_EXIT_FAIL, "sign the App's JWT: %s", ssl_reason());
	_cleanup_free_ unsigned char *sig = dr_xmalloc(siglen);
	if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		return dr_fail(err, DR_EXIT_FAIL, "sign the App's JWT: %s", ssl_reason());
	_cleanup_free_ char *s = dr_base64url(sig, siglen);
	*jwt = dr_xasprintf("%s.%s", input, s);
	return 0;
}
