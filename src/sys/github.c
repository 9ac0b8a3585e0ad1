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

static void
ssl_ctx_freep(SSL_CTX **c)
{
	SSL_CTX_free(*c);
}
static void
sslp(SSL **s)
{
	if (*s)
		SSL_free(*s);
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

int
dr_https_get(const char *url, const char *authorization, const dr_proxy *proxy,
             long timeout_ms, dr_http_response *r, dr_err **err)
{
	memset(r, 0, sizeof(*r));
	if (!dr_startswith(url, "https://"))
		return dr_fail(err, DR_EXIT_USAGE, "%s: only https:// URLs are supported", url);
	const char *h = url + 8;
	size_t hl = strcspn(h, "/");
	_cleanup_free_ char *hostport = dr_xstrndup(h, hl);
	const char *path = h[hl] ? h + hl : "/";
	_cleanup_free_ char *host = NULL;
	const char *port = "443";
	if (hostport[0] == '[') {
		char *e = strchr(hostport, ']');
		if (!e)
			return dr_fail(err, DR_EXIT_USAGE, "%s: bad host", url);
		host = dr_xstrndup(hostport + 1, (size_t)(e - hostport - 1));
		if (e[1] == ':')
			port = e + 2;
	} else {
		char *c = strchr(hostport, ':');
		if (c) {
			*c = '\0';
			port = c + 1;
		}
		host = dr_xstrdup(hostport);
	}
	_cleanup_close_ int fd = -1;
	if (proxy) {
		fd = tcp_connect(proxy->host, proxy->port, timeout_ms, err);
		if (fd < 0)
			return dr_err_prefix(err, "the proxy %s", proxy->shown);
		bool v6 = strchr(host, ':') != NULL;
		_cleanup_free_ char *target =
			dr_xasprintf("%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
		if (proxy_connect(fd, proxy, target, timeout_ms, err) < 0)
			return -1;
	} else {
		fd = tcp_connect(host, port, timeout_ms, err);
		if (fd < 0)
			return -1;
	}
	__attribute__((cleanup(ssl_ctx_freep))) SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return dr_fail(err, DR_EXIT_FAIL, "TLS setup: %s", ssl_reason());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_default_verify_paths(ctx); /* honours SSL_CERT_FILE / SSL_CERT_DIR */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	__attribute__((cleanup(sslp))) SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return dr_fail(err, DR_EXIT_FAIL, "TLS setup: %s", ssl_reason());
	unsigned char ipbuf[16];
	bool is_ip = inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1;
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	}
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK)
			return dr_fail(err, DR_EXIT_FAIL,
			               "TLS with %s: certificate not trusted (%s): for a private CA set "
			               "SSL_CERT_FILE",
			               host, X509_verify_cert_error_string(v));
		return dr_fail(err, DR_EXIT_FAIL, "TLS with %s failed: %s", host, ssl_reason());
	}
	_cleanup_free_ char *req = dr_xasprintf(
		"GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: deskrun-doctor\r\n"
		"Accept: application/vnd.github+json\r\nX-GitHub-Api-Version: 2022-11-28\r\n%s%s%s"
		"Connection: close\r\n\r\n",
		path, hostport, authorization ? "Authorization: " : "",
		authorization ? authorization : "", authorization ? "\r\n" : "");
	int wrote = SSL_write(ssl, req, (int)strlen(req));
	explicit_bzero(req, strlen(req)); /* it held the credential */
	if (wrote <= 0)
		return dr_fail(err, DR_EXIT_FAIL, "send the request to %s: %s", host, ssl_reason());
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(MAX_RESPONSE);
	char chunk[16384];
	for (;;) {
		int n = SSL_read(ssl, chunk, sizeof(chunk));
		if (n > 0) {
			if (dr_buf_append(&b, chunk, (size_t)n) < 0)
				return dr_fail(err, DR_EXIT_FAIL, "%s: response over %u bytes", host,
				               MAX_RESPONSE);
			continue;
		}
		int e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN || b.len > 0)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return dr_fail(err, DR_EXIT_TIMEOUT, "%s did not answer within %ld ms", host,
			               timeout_ms);
		return dr_fail(err, DR_EXIT_FAIL, "read the response from %s: %s", host, ssl_reason());
	}
	SSL_shutdown(ssl);
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
