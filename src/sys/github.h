/* github.h: the GitHub REST calls of `deskrun doctor`: an HTTPS GET (OpenSSL, certificate and
 * host name verified against the system store, or $SSL_CERT_FILE) and the RS256 JWT a GitHub
 * App authenticates with. Credentials travel only in the request's Authorization header: never
 * in argv, the environment of a child, a log line or an error message. The static helper
 * binary links github_none.c instead, which says it cannot. */
#ifndef DESKRUN_GITHUB_H
#define DESKRUN_GITHUB_H

#include "lib/common.h"
#include "lib/doctor.h"

#include <signal.h>
#include <stdatomic.h>

#define DR_GITHUB_TIMEOUT_MS 10000

typedef struct dr_http_response {
	int status;    /* 200, 401, ... */
	char *headers; /* owned: the header block, CRLF lines */
	char *body;    /* owned, NUL-terminated */
	size_t body_len;
} dr_http_response;

void dr_http_response_clear(dr_http_response *r);
static inline void dr_http_responsep(dr_http_response *r) { dr_http_response_clear(r); }
#define _cleanup_http_ __attribute__((cleanup(dr_http_responsep)))

/* GET an https:// URL with "Authorization: <authorization>" (NULL: none). With a proxy (NULL:
 * direct), the connection is an HTTP CONNECT tunnel through it (Proxy-Authorization from
 * proxy->auth) and TLS runs end to end inside, so the certificate checked is still the
 * server's. A response of any status is success (0); -1 when no response came (DNS, connect,
 * the proxy's refusal, TLS, deadline), the message naming the host (and the proxy) and why,
 * never a credential. */
int dr_https_get(const char *url, const char *authorization, const dr_proxy *proxy,
                 long timeout_ms, dr_http_response *r, dr_err **err);
/* One request of the scale set client: any method, a JSON body, https:// or http:// (the
 * protocol accepts plain http, scaleset-protocol.md §1.4), HTTP/1.0 with Connection: close, one
 * deadline for the whole exchange. With a proxy, https goes through a CONNECT tunnel and http
 * as an absolute-form request. When *cancel becomes non-zero (a signal handler without
 * SA_RESTART sets it and wakes the wait; it is checked at least every second), the request
 * fails with errnum ECANCELED. Same
 * results as dr_https_get: any status is 0; -1 when no answer came (errnum ETIMEDOUT,
 * ECONNRESET for a dropped connection, ECANCELED, ...). */
typedef struct dr_http_request {
	const char *method;        /* NULL: GET */
	const char *url;
	const char *authorization; /* NULL: none (a secret: never logged) */
	const char *headers;       /* more header lines, each ending in CRLF, or NULL */
	const char *body;          /* NULL: none */
	size_t body_len;
	const dr_proxy *proxy;     /* NULL: direct */
	long timeout_ms;           /* <= 0: DR_GITHUB_TIMEOUT_MS */
	atomic_int *cancel;        /* or NULL; lock-free, so a signal handler may set it */
} dr_http_request;
int dr_http_request_do(const dr_http_request *q, dr_http_response *r, dr_err **err);
/* The value of header `name` (case-insensitive), owned, or NULL. */
char *dr_http_header(const dr_http_response *r, const char *name);
/* A GitHub App JWT signed RS256 with the PEM private key (PKCS#1 or PKCS#8), owned. */
int dr_jwt_rs256(const char *app_id, const char *pem, int64_t now, char **jwt, dr_err **err);

#endif
