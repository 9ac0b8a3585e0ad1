/* wait_docker.c: `deskrun wait-docker`: wait for a Docker daemon to answer /_ping, with
 * backoff and a deadline, and say what was wrong when it did not (no socket, permission
 * denied, nothing listening, a daemon error); optionally exec a command once it does. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "lib/duration.h"
#include "pod/http.h"
#include "sys/log.h"
#include "sys/progress.h"

#include <time.h>

enum { OPT_HOST = 1, OPT_TIMEOUT };

#define DEFAULT_TIMEOUT_MS (2L * 60 * 1000)
#define ATTEMPT_TIMEOUT_MS 5000L

static const dr_opt wait_opts[] = {
	{ "host", 'H', "URL",
	  "the daemon: unix:///PATH or tcp://HOST:PORT (default: $DOCKER_HOST, else "
	  "unix:///var/run/docker.sock)",
	  OPT_HOST },
	{ "timeout", 't', "DURATION", "give up after this long, with exit status 4 (default 2m)",
	  OPT_TIMEOUT },
	{ NULL, 0, NULL, NULL, 0 },
};

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What one attempt saw, as a phrase (owned). */
static char *
describe(const dr_pod_endpoint *ep, const dr_err *e, const dr_pod_http_response *r,
         long attempt_ms)
{
	const char *where = ep->path ? ep->path : ep->url;
	if (!e) {
		_cleanup_free_ char *body = dr_xstrndup(r->body ? r->body : "", 200);
		for (char *c = body; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		return dr_xasprintf("daemon error: it answered HTTP %d to /_ping%s%s", r->status,
		                    *body ? ": " : "", body);
	}
	switch (e->errnum) {
	case ENOENT:
		return dr_xasprintf("no socket at %s (is dockerd running, and is its socket shared "
		                    "with this container?)",
		                    where);
	case EACCES:
	case EPERM:
		return dr_xasprintf("permission denied on %s (uid %ld may not connect: run as root "
		                    "or as a member of the socket's group)",
		                    where, (long)geteuid());
	case ECONNREFUSED:
		return dr_xasprintf("nothing listens on %s (a stale socket, or the daemon is still "
		                    "starting)",
		                    where);
	case ETIMEDOUT:
		return dr_xasprintf("%s accepted the connection but did not answer /_ping within "
		                    "%.1f s",
		                    where, (double)attempt_ms / 1000);
	case EPROTO:
		return dr_xasprintf("%s is not a Docker daemon: %s", where, e->msg);
	default:
		return dr_xstrdup(e->msg);
	}
}

static int
run_wait_docker(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *host = NULL;
	long timeout = DEFAULT_TIMEOUT_MS;
	char **command = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_wait_docker, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_wait_docker, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (!p.options_done)
				return dr_usage_extra_arg(&dr_cmd_wait_docker, v, err);
			command = &p.argv[p.i - 1];
			break;
		}
		if (id == OPT_HOST)
			host = v;
		else if (id == OPT_TIMEOUT && dr_duration_parse("--timeout", v, &timeout, err) < 0)
			return -1;
	}
	const char *flag = "--host";
	if (!host) {
		host = getenv("DOCKER_HOST");
		flag = "DOCKER_HOST";
		if (!host || !*host) {
			host = DR_POD_DEFAULT_DOCKER_HOST;
			flag = "the default host";
		}
	}
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	if (dr_pod_endpoint_parse(flag, host, &ep, err) < 0)
		return -1;

	long start = now_ms(), deadline = start + timeout, backoff = 50;
	_cleanup_free_ char *last = NULL;
	for (;;) {
		long left = deadline - now_ms();
		long attempt = left < 1 ? 1 : left < ATTEMPT_TIMEOUT_MS ? left : ATTEMPT_TIMEOUT_MS;
		dr_pod_http_request req = { .method = "GET", .target = "/_ping", .max_body = 4096,
			                    .timeout_ms = attempt };
		_cleanup_http_response_ dr_pod_http_response r = { 0 };
		_cleanup_err_ dr_err *e = NULL;
		if (dr_pod_http_do(&ep, &req, &r, &e) == 0 && r.status == 200)
			break;
		/* A last attempt cut short by the deadline says less than the one before it. */
		if (!(last && e && e->errnum == ETIMEDOUT && attempt < ATTEMPT_TIMEOUT_MS)) {
			free(last);
			last = describe(&ep, e, &r, attempt);
		}
		left = deadline - now_ms();
		if (left <= 0) {
			_cleanup_free_ char *t = dr_duration_text(timeout);
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "the Docker daemon at %s did not answer within %s: %s", ep.url, t,
			               last);
		}
		long nap = backoff < left ? backoff : left;
		struct timespec ts = { nap / 1000, (nap % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
	}
	dr_info("the Docker daemon at %s is ready (after %.1f s)", ep.url,
	        (double)(now_ms() - start) / 1000);
	if (!command)
		return 0;
	fflush(stdout);
	execvp(command[0], command);
	return dr_fail_errno(err, errno == ENOENT ? DR_EXIT_NOT_FOUND : DR_EXIT_CANNOT_RUN, errno,
	                     "cannot run %s", command[0]);
}

const dr_cmd dr_cmd_wait_docker = {
	.name = "wait-docker",
	.summary = "wait until a Docker daemon answers",
	.synopsis = "[--host URL] [--timeout DURATION] [-- COMMAND [ARGS...]]",
	.description =
		"Replaces `while ! docker info; do sleep 1; done`: polls the daemon's /_ping with "
		"backoff until it answers 200, then exits 0, or runs COMMAND in its place when one "
		"is given after \"--\". When --timeout passes first it exits 4 and says what it saw "
		"last: no socket, permission denied, nothing listening, no answer, or the daemon's "
		"error.",
	.opts = wait_opts,
	.run = run_wait_docker,
};
