/* http.h: a tiny HTTP/1.1 client for the Docker Engine API, over a unix socket (or plain TCP):
 * one request per connection ("Connection: close"), a deadline for the whole exchange, the
 * answer read into a capped buffer, and an optional cancel descriptor so a supervisor can
 * handle signals while a request is in flight. The response parser is pure and separate, for
 * unit tests and fuzzing. No TLS: the in-pod helpers talk to a local daemon. */
#ifndef DESKRUN_POD_HTTP_H
#define DESKRUN_POD_HTTP_H

#include <sys/socket.h>

#include "lib/common.h"

#define DR_POD_DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"

/* Where a daemon listens: unix:///path or tcp://HOST:PORT (HOST numeric or localhost). */
typedef struct dr_pod_endpoint {
	char *url;  /* owned: as given */
	char *path; /* owned: the unix socket path; NULL for TCP */
	struct sockaddr_storage addr;
	socklen_t addr_len;
} dr_pod_endpoint;

/* Parse a DOCKER_HOST-style URL. A usage error (code 2) names `flag` and the accepted forms. */
int dr_pod_endpoint_parse(const char *flag, const char *url, dr_pod_endpoint *ep, dr_err **err);
void dr_pod_endpoint_clear(dr_pod_endpoint *ep);
static inline void dr_pod_endpointp(dr_pod_endpoint *ep) { dr_pod_endpoint_clear(ep); }
#define _cleanup_endpoint_ __attribute__((cleanup(dr_pod_endpointp)))

/* A way to give up early: when `fd` becomes readable, check(ctx) is called (it may, e.g., read
 * a signalfd and reap children); if it returns true the request fails with ECANCELED. */
typedef struct dr_pod_cancel {
	int fd;
	bool (*check)(void *ctx);
	void *ctx;
} dr_pod_cancel;

/* True (and check() called) if c's descriptor is readable now and check() says give up. */
bool dr_pod_cancelled(const dr_pod_cancel *c);

typedef struct dr_pod_http_response {
	int status;     /* 200, 404, ... */
	char *body;     /* owned, NUL-terminated, chunked encoding removed */
	size_t body_len;
} dr_pod_http_response;

void dr_pod_http_response_clear(dr_pod_http_response *r);
static inline void dr_pod_http_responsep(dr_pod_http_response *r) { dr_pod_http_response_clear(r); }
#define _cleanup_http_response_ __attribute__((cleanup(dr_pod_http_responsep)))

/* Parse the bytes received so far. Returns 1 when `data` holds a whole response (*r filled; a
 * leading 1xx interim response is skipped), 0 when more bytes are needed, -1 when the bytes
 * cannot be a valid response (or the body is larger than max_body): err code 1, errnum EPROTO
 * or E2BIG. `eof` says the peer has closed: a body without a length then ends there, and
 * anything still incomplete is an error. */
int dr_pod_http_parse(const char *data, size_t len, bool eof, size_t max_body,
                      dr_pod_http_response *r, dr_err **err);

typedef struct dr_pod_http_request {
	const char *method;          /* "GET" */
	const char *target;          /* "/_ping", with its query string */
	const char *body;            /* JSON, or NULL */
	size_t body_len;
	long timeout_ms;             /* the whole exchange; <= 0: 30 s */
	size_t max_body;             /* 0: 16 MiB */
	const dr_pod_cancel *cancel; /* or NULL */
} dr_pod_http_request;

/* Send one request and read the answer. Fails (-1, code 1) when no HTTP answer arrived, with
 * err->errnum saying why: the connect errno (ENOENT no socket, EACCES permission denied,
 * ECONNREFUSED nobody listens, ...), ETIMEDOUT (deadline), ECANCELED, EPROTO (not HTTP) or
 * E2BIG. Any HTTP status, 500 included, is a success: the caller reads r->status. */
int dr_pod_http_do(const dr_pod_endpoint *ep, const dr_pod_http_request *req,
                   dr_pod_http_response *r, dr_err **err);

/* GET/DELETE/POST helpers on dr_pod_http_do that also fail (code 1) on a status other than
 * 2xx, naming the request and the daemon's "message". *json may be NULL to ignore the body. */
int dr_pod_docker_call(const dr_pod_endpoint *ep, const char *method, const char *target,
                       long timeout_ms, const dr_pod_cancel *cancel, json_t **json,
                       dr_err **err);

/* Percent-encode s for a query string (owned). */
char *dr_pod_url_encode(const char *s);

#endif
