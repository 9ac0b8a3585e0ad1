/* test_pod_http.c: the in-pod HTTP/1.1 client: response parsing (lengths, chunks, interim
 * answers, caps, truncation, garbage), DOCKER_HOST-style endpoints, and whole exchanges with a
 * real server on a unix socket (a forked child): status codes, chunked bodies, a server that
 * never answers (deadline), a cancel descriptor, and no socket at all. */
#include "tests/unit/test.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "pod/http.h"

/* Parse a whole string; returns the parser's result. */
static int
parse(const char *s, bool eof, size_t max, dr_pod_http_response *r, dr_err **err)
{
	return dr_pod_http_parse(s, strlen(s), eof, max, r, err);
}

static void
content_length(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	const char *full = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\ncontent-length: 2\r\n\r\nOK";
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	assert_int_equal(parse(full, false, 0, &r, &err_), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "OK");
	assert_int_equal(r.body_len, 2);
	/* Every proper prefix needs more bytes (and is an error once the peer has closed). */
	for (size_t n = 0; n < strlen(full); n++) {
		dr_pod_http_response p = { 0 };
		assert_int_equal(dr_pod_http_parse(full, n, false, 0, &p, &err_), 0);
		assert_null(err_);
		dr_err *e = NULL;
		assert_int_equal(dr_pod_http_parse(full, n, true, 0, &p, &e), -1);
		assert_int_equal(e->errnum, EPROTO);
		dr_err_free(e);
	}
	/* Bare LF line ends are accepted too. */
	_cleanup_http_response_ dr_pod_http_response lf = { 0 };
	assert_int_equal(parse("HTTP/1.0 404 Not Found\nContent-Length: 3\n\nno!", false, 0, &lf,
	                       &err_),
	                 1);
	assert_int_equal(lf.status, 404);
	assert_string_equal(lf.body, "no!");
}

static void
chunked(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	const char *full = "HTTP/1.1 500 Internal Server Error\r\n"
	                   "Transfer-Encoding: gzip, Chunked\r\n\r\n"
	                   "5;ext=1\r\nhello\r\n"
	                   "B\r\n, big world\r\n"
	                   "0\r\nX-Trailer: 1\r\n\r\n";
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	assert_int_equal(parse(full, false, 0, &r, &err_), 1);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body, "hello, big world");
	for (size_t n = 0; n < strlen(full); n++) {
		dr_pod_http_response p = { 0 };
		assert_int_equal(dr_pod_http_parse(full, n, false, 0, &p, &err_), 0);
	}
	/* A chunk larger than the cap is refused before it arrives. */
	dr_pod_http_response big = { 0 };
	assert_fails(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFF\r\nab", false,
	                   100, &big, &err_),
	             DR_EXIT_FAIL, "the response body is larger than 100 bytes: Argument list too long");
	assert_fails(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 0,
	                   &big, &err_),
	             DR_EXIT_FAIL, "not an HTTP response (bad chunk size): Protocol error");
	assert_fails(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX", false, 0,
	                   &big, &err_),
	             DR_EXIT_FAIL, "not an HTTP response (no line break after a chunk): Protocol error");
}

static void
interim_and_bodiless(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
	                       "Content-Length: 4\r\n\r\n{\"a\"",
	                       false, 0, &r, &err_),
	                 1);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "{\"a\"");
	/* 204 has no body whatever it says. */
	_cleanup_http_response_ dr_pod_http_response n = { 0 };
	assert_int_equal(parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, 0, &n,
	                       &err_),
	                 1);
	assert_int_equal(n.status, 204);
	assert_int_equal(n.body_len, 0);
	/* Without a length the body runs to the end of the connection. */
	dr_pod_http_response u = { 0 };
	const char *open_ended = "HTTP/1.1 200 OK\r\n\r\nall of it";
	assert_int_equal(parse(open_ended, false, 0, &u, &err_), 0);
	assert_int_equal(parse(open_ended, true, 0, &u, &err_), 1);
	assert_string_equal(u.body, "all of it");
	dr_pod_http_response_clear(&u);
	assert_fails(parse(open_ended, false, 4, &u, &err_), DR_EXIT_FAIL,
	             "the response body is larger than 4 bytes: Argument list too long");
}

static void
malformed(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	dr_pod_http_response r = { 0 };
	assert_fails(parse("SSH-2.0-OpenSSH_9.2\r\n", false, 0, &r, &err_), DR_EXIT_FAIL,
	             "not an HTTP response (no status line): Protocol error");
	assert_fails(parse("HTTP/1.1 2000 OK\r\n\r\n", false, 0, &r, &err_), DR_EXIT_FAIL,
	             "not an HTTP response (bad status line): Protocol error");
	assert_fails(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", false, 0, &r, &err_),
	             DR_EXIT_FAIL, "not an HTTP response (bad header line): Protocol error");
	assert_fails(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
	                   false, 0, &r, &err_),
	             DR_EXIT_FAIL, "not an HTTP response (bad Content-Length): Protocol error");
	assert_fails(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 0, &r, &err_),
	             DR_EXIT_FAIL, "not an HTTP response (bad Content-Length): Protocol error");
	assert_fails(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true, 0, &r, &err_),
	             DR_EXIT_FAIL,
	             "the connection closed after 2 of 5 body bytes: Protocol error");
	assert_fails(parse("", true, 0, &r, &err_), DR_EXIT_FAIL,
	             "not an HTTP response (closed without answering): Protocol error");
	assert_fails(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", false, 0, &r,
	                   &err_),
	             DR_EXIT_FAIL,
	             "the response body is larger than 16777216 bytes: Argument list too long");
	/* Endless headers are cut off at 64 KiB. */
	size_t n = 70000;
	_cleanup_free_ char *huge = dr_xmalloc(n + 1);
	memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(huge + 20, 'a', n - 20);
	huge[n] = '\0';
	assert_fails(parse(huge, false, 0, &r, &err_), DR_EXIT_FAIL,
	             "not an HTTP response (headers larger than 64 KiB): Protocol error");
}

static void
endpoints(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_endpoint_ dr_pod_endpoint u = { 0 };
	assert_succeeds(dr_pod_endpoint_parse("--host", "unix:///var/run/docker.sock", &u, &err_));
	assert_string_equal(u.path, "/var/run/docker.sock");
	assert_string_equal(u.url, "unix:///var/run/docker.sock");
	_cleanup_endpoint_ dr_pod_endpoint t = { 0 };
	assert_succeeds(dr_pod_endpoint_parse("--host", "tcp://localhost:2375", &t, &err_));
	assert_null(t.path);
	assert_int_equal(((struct sockaddr *)&t.addr)->sa_family, AF_INET);
	_cleanup_endpoint_ dr_pod_endpoint six = { 0 };
	assert_succeeds(dr_pod_endpoint_parse("--host", "tcp://[::1]:2375", &six, &err_));
	assert_int_equal(((struct sockaddr *)&six.addr)->sa_family, AF_INET6);
	_cleanup_endpoint_ dr_pod_endpoint dflt = { 0 };
	assert_succeeds(dr_pod_endpoint_parse("--host", "tcp://10.0.0.1", &dflt, &err_));
	dr_pod_endpoint bad = { 0 };
	assert_fails(dr_pod_endpoint_parse("--host", "ssh://me@host", &bad, &err_), DR_EXIT_USAGE,
	             "--host \"ssh://me@host\": unsupported scheme: use unix:///PATH or "
	             "tcp://HOST:PORT (e.g. unix:///var/run/docker.sock)");
	assert_fails(dr_pod_endpoint_parse("DOCKER_HOST", "unix://run/docker.sock", &bad, &err_),
	             DR_EXIT_USAGE,
	             "DOCKER_HOST \"unix://run/docker.sock\": the socket path must be absolute: use "
	             "unix:///PATH or tcp://HOST:PORT (e.g. unix:///var/run/docker.sock)");
	assert_fails(dr_pod_endpoint_parse("--host", "tcp://docker:2375", &bad, &err_),
	             DR_EXIT_USAGE,
	             "--host \"tcp://docker:2375\": give the host as an IP address or localhost: use "
	             "unix:///PATH or tcp://HOST:PORT (e.g. unix:///var/run/docker.sock)");
	assert_fails(dr_pod_endpoint_parse("--host", "tcp://1.2.3.4:99999", &bad, &err_),
	             DR_EXIT_USAGE,
	             "--host \"tcp://1.2.3.4:99999\": bad port: use unix:///PATH or tcp://HOST:PORT "
	             "(e.g. unix:///var/run/docker.sock)");
	char longpath[200] = "unix:///";
	memset(longpath + 8, 'x', 150);
	longpath[158] = '\0';
	dr_err *e = NULL;
	assert_int_equal(dr_pod_endpoint_parse("--host", longpath, &bad, &e), -1);
	assert_non_null(strstr(e->msg, "longer than 107 bytes"));
	dr_err_free(e);
	_cleanup_free_ char *enc = dr_pod_url_encode("{\"id\":[\"a b/c\"]}");
	assert_string_equal(enc, "%7B%22id%22%3A%5B%22a%20b%2Fc%22%5D%7D");
}

/* ---- exchanges with a real server ---- */

typedef struct {
	char dir[40];
	char path[64];
	pid_t pid;
} server;

/* Serve one connection: read the request head, then write `answer` in two pieces (NULL: read,
 * then never answer). The request head goes to <dir>/request. */
static void
serve(server *s, const char *answer)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/deskrun-http-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/s.sock", s->dir);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	assert_int_equal(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(l, 4), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int c = accept(l, NULL, NULL);
		char req[4096];
		size_t got = 0;
		while (got < sizeof(req) - 1) {
			ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		char rp[64];
		snprintf(rp, sizeof(rp), "%s/request", s->dir);
		FILE *f = fopen(rp, "w");
		fwrite(req, 1, got, f);
		fclose(f);
		if (!answer) {
			pause();
			_exit(0);
		}
		size_t half = strlen(answer) / 2;
		ssize_t w = write(c, answer, half);
		usleep(50000);
		w = write(c, answer + half, strlen(answer) - half);
		(void)w;
		close(c);
		_exit(0);
	}
	close(l);
}

static void
server_done(server *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	char p[64];
	snprintf(p, sizeof(p), "%s/request", s->dir);
	unlink(p);
	unlink(s->path);
	rmdir(s->dir);
}

static char *
request_seen(server *s)
{
	waitpid(s->pid, NULL, 0);
	char p[64];
	snprintf(p, sizeof(p), "%s/request", s->dir);
	FILE *f = fopen(p, "r");
	char *buf = dr_xcalloc(1, 4096);
	if (f) {
		size_t n = fread(buf, 1, 4095, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void
exchange(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	server s;
	serve(&s, "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n"
	          "Content-Type: application/json\r\n\r\n"
	          "1a\r\n{\"message\":\"disk is full\"}\r\n0\r\n\r\n");
	_cleanup_free_ char *url = dr_xasprintf("unix://%s", s.path);
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	assert_succeeds(dr_pod_endpoint_parse("--host", url, &ep, &err_));
	dr_pod_http_request req = { .method = "POST", .target = "/build/prune?all=1",
		                    .timeout_ms = 5000 };
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	assert_succeeds(dr_pod_http_do(&ep, &req, &r, &err_));
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body, "{\"message\":\"disk is full\"}");
	_cleanup_free_ char *seen = request_seen(&s);
	assert_string_equal(seen, "POST /build/prune?all=1 HTTP/1.1\r\nHost: docker\r\n"
	                          "User-Agent: deskrun\r\nAccept: application/json\r\n"
	                          "Connection: close\r\nContent-Length: 0\r\n\r\n");
	server_done(&s);

	/* The same answer through the Docker helper is an error carrying the daemon's message. */
	serve(&s, "HTTP/1.1 409 Conflict\r\nContent-Length: 35\r\n\r\n"
	          "{\"message\":\"image is in use by c\"}\n");
	dr_pod_endpoint_clear(&ep);
	free(url);
	url = dr_xasprintf("unix://%s", s.path);
	assert_succeeds(dr_pod_endpoint_parse("--host", url, &ep, &err_));
	assert_fails(dr_pod_docker_call(&ep, "DELETE", "/images/x?force=1", 5000, NULL, NULL, &err_),
	             DR_EXIT_FAIL,
	             "DELETE /images/x?force=1: the daemon answered 409: image is in use by c");
	server_done(&s);

	serve(&s, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"Images\":[]}");
	dr_pod_endpoint_clear(&ep);
	free(url);
	url = dr_xasprintf("unix://%s", s.path);
	assert_succeeds(dr_pod_endpoint_parse("--host", url, &ep, &err_));
	_cleanup_json_ json_t *j = NULL;
	/* 12 bytes of a 13-byte document: not JSON. */
	assert_fails(dr_pod_docker_call(&ep, "GET", "/system/df", 5000, NULL, &j, &err_),
	             DR_EXIT_FAIL, "GET /system/df: the answer is not JSON");
	server_done(&s);
}

static void
deadline_and_cancel(void **state)
{
	(void)state;
	server s;
	serve(&s, NULL);
	_cleanup_free_ char *url = dr_xasprintf("unix://%s", s.path);
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	dr_err *err_ = NULL;
	assert_succeeds(dr_pod_endpoint_parse("--host", url, &ep, &err_));
	dr_pod_http_request req = { .method = "GET", .target = "/_ping", .timeout_ms = 300 };
	dr_pod_http_response r = { 0 };
	dr_err *e = NULL;
	assert_int_equal(dr_pod_http_do(&ep, &req, &r, &e), -1);
	assert_int_equal(e->errnum, ETIMEDOUT);
	dr_err_free(e);
	server_done(&s);

	/* A readable cancel descriptor ends the wait at once when check() says so. */
	serve(&s, NULL);
	free(url);
	url = dr_xasprintf("unix://%s", s.path);
	dr_pod_endpoint_clear(&ep);
	assert_succeeds(dr_pod_endpoint_parse("--host", url, &ep, &err_));
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	dr_pod_cancel c = { p[0], NULL, NULL };
	req.timeout_ms = 30000;
	req.cancel = &c;
	e = NULL;
	assert_int_equal(dr_pod_http_do(&ep, &req, &r, &e), -1);
	assert_int_equal(e->errnum, ECANCELED);
	dr_err_free(e);
	close(p[0]);
	close(p[1]);
	server_done(&s);
}

static void
no_socket(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	assert_succeeds(dr_pod_endpoint_parse("--host", "unix:///nonexistent/deskrun.sock", &ep,
	                                      &err_));
	dr_pod_http_request req = { .method = "GET", .target = "/_ping", .timeout_ms = 1000 };
	dr_pod_http_response r = { 0 };
	assert_fails(dr_pod_http_do(&ep, &req, &r, &err_), DR_EXIT_FAIL,
	             "connect to /nonexistent/deskrun.sock: No such file or directory");
}

int
main(void)
{
	test_init();
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(content_length),      cmocka_unit_test(chunked),
		cmocka_unit_test(interim_and_bodiless), cmocka_unit_test(malformed),
		cmocka_unit_test(endpoints),           cmocka_unit_test(exchange),
		cmocka_unit_test(deadline_and_cancel), cmocka_unit_test(no_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
