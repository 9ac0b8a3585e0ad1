/* sstool: drives deskrun's scale set client (src/sys/scaleset.c) one call at a time, for
 * tests/local/test_scaleset_client.sh. Each STEP runs on the same client and prints one JSON
 * line: {"step":..., "ok":true|false, ...}; a failure carries "errnum" (a name such as EBUSY)
 * and "error" and the next step still runs.
 *
 *   sstool --url CONFIG_URL [--app-id ID --installation-id N --key PEMFILE] [--proxy URL]
 *          [--backoff-ms N] STEP...
 *
 * The PAT comes from $SSTOOL_PAT (never argv). A JIT blob goes to the file $SSTOOL_JIT (0600).
 * Steps: admin, group:NAME, find:NAME, create:NAME[:LABEL,...], get, update:NAME, delete-set,
 * session[:OWNER], refresh, close, poll[:TIMEOUT_MS], ack, acquire, jit:NAME, runner:NAME,
 * remove[:ID], sleep:SECONDS, cancel-after:MS (the next step gives up after MS). */
#include "lib/common.h"
#include "lib/err.h"
#include "sys/scaleset.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int cancelled;

static const char *
errname(int e)
{
	switch (e) {
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EAGAIN: return "EAGAIN";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ECANCELED: return "ECANCELED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNRESET: return "ECONNRESET";
	case EPROTO: return "EPROTO";
	case 0: return "";
	default: return strerror(e);
	}
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = dr_xmalloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
on_alarm(int sig)
{
	(void)sig;
	atomic_store_explicit(&cancelled, 1, memory_order_relaxed);
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *proxy = NULL;
	dr_auth auth = { .type = DR_AUTH_PAT };
	long backoff = -1;
	int i = 1;
	for (; i < argc && dr_startswith(argv[i], "--"); i += 2) {
		if (i + 1 >= argc)
			break;
		if (dr_streq(argv[i], "--url"))
			url = argv[i + 1];
		else if (dr_streq(argv[i], "--proxy"))
			proxy = argv[i + 1];
		else if (dr_streq(argv[i], "--backoff-ms"))
			backoff = atol(argv[i + 1]);
		else if (dr_streq(argv[i], "--app-id"))
			auth.type = DR_AUTH_APP, auth.app_id = argv[i + 1];
		else if (dr_streq(argv[i], "--installation-id"))
			auth.installation_id = argv[i + 1];
		else if (dr_streq(argv[i], "--key"))
			auth.private_key = slurp(argv[i + 1]);
		else {
			fprintf(stderr, "sstool: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!url) {
		fprintf(stderr, "sstool: give --url\n");
		return 2;
	}
	auth.token = getenv("SSTOOL_PAT");
	dr_err *err = NULL;
	dr_scaleset *c = dr_scaleset_new(url, &auth, proxy, &err);
	if (!c) {
		json_t *o = json_pack("{s:s, s:b, s:s}", "step", "new", "ok", 0, "error", err->msg);
		char *line = json_dumps(o, JSON_COMPACT);
		puts(line);
		free(line);
		json_decref(o);
		dr_err_free(err);
		free(auth.private_key);
		return 0;
	}
	if (backoff >= 0)
		c->backoff_ms = backoff;
	c->cancel = &cancelled;
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: wakes the wait */
	sigaction(SIGALRM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	int64_t set_id = 0, runner_id = 0, last_msg = 0;
	json_t *last = NULL;
	for (; i < argc; i++) {
		_cleanup_free_ char *step = dr_xstrdup(argv[i]);
		char *arg = strchr(step, ':');
		if (arg)
			*arg++ = '\0';
		json_t *out = json_pack("{s:s}", "step", step);
		unsigned long before = c->requests;
		int rc = 0;
		atomic_store_explicit(&cancelled, 0, memory_order_relaxed);
		if (dr_streq(step, "admin")) {
			rc = dr_scaleset_refresh_admin(c, &err);
			if (rc == 0) {
				json_object_set_new(out, "service", json_string(c->service_url));
				json_object_set_new(out, "exp", json_integer(c->admin_exp));
			}
		} else if (dr_streq(step, "group")) {
			int64_t id = 0;
			rc = dr_scaleset_group_id(c, arg, &id, &err);
			json_object_set_new(out, "id", json_integer(id));
		} else if (dr_streq(step, "find")) {
			_cleanup_json_ json_t *s = NULL;
			rc = dr_scaleset_find(c, 1, arg, &s, &err);
			if (s)
				set_id = dr_json_iget_int(s, "id");
			json_object_set_new(out, "id", json_integer(s ? set_id : 0));
		} else if (dr_streq(step, "create")) {
			char *labels = arg ? strchr(arg, ':') : NULL;
			if (labels)
				*labels++ = '\0';
			_cleanup_strv_ char **lv = NULL;
			for (char *t; labels && (t = strsep(&labels, ","));)
				dr_strv_push(&lv, t);
			_cleanup_json_ json_t *s = NULL;
			rc = dr_scaleset_create(c, 1, arg, lv, &s, &err);
			if (s) {
				set_id = dr_json_iget_int(s, "id");
				json_object_set_new(out, "id", json_integer(set_id));
				json_object_set(out, "set", s);
			}
		} else if (dr_streq(step, "get")) {
			_cleanup_json_ json_t *s = NULL;
			rc = dr_scaleset_get(c, set_id, &s, &err);
			if (s)
				json_object_set(out, "set", s);
		} else if (dr_streq(step, "update")) {
			_cleanup_json_ json_t *patch = json_pack("{s:s}", "name", arg ? arg : "");
			_cleanup_json_ json_t *s = NULL;
			rc = dr_scaleset_update(c, set_id, patch, &s, &err);
			if (s)
				json_object_set(out, "set", s);
		} else if (dr_streq(step, "delete-set")) {
			rc = dr_scaleset_delete(c, set_id, &err);
		} else if (dr_streq(step, "session")) {
			_cleanup_json_ json_t *s = NULL;
			rc = dr_scaleset_session_open(c, set_id, arg ? arg : "sstool", &s, &err);
			if (s)
				json_object_set_new(out, "sessionId", json_string(c->session_id));
		} else if (dr_streq(step, "refresh")) {
			rc = dr_scaleset_session_refresh(c, NULL, &err);
		} else if (dr_streq(step, "close")) {
			rc = dr_scaleset_session_close(c, &err);
		} else if (dr_streq(step, "poll")) {
			json_decref(last);
			last = NULL;
			rc = dr_scaleset_get_message(c, last_msg, 10, arg ? atol(arg) : 60000, &last, &err);
			if (rc == 0 && last) {
				last_msg = dr_json_iget_int(last, "messageId");
				json_object_set_new(out, "messageId", json_integer(last_msg));
				json_t *types = json_array(), *jm;
				size_t k;
				json_array_foreach(dr_json_iget(last, "body"), k, jm)
					json_array_append_new(types, json_string(dr_json_iget_str(jm, "messageType")));
				json_object_set_new(out, "types", types);
				json_object_set_new(out, "assigned",
				                    json_integer(dr_json_iget_int(dr_json_iget(last, "statistics"),
				                                                  "totalAssignedJobs")));
			} else if (rc == 0) {
				json_object_set_new(out, "empty", json_true());
			}
		} else if (dr_streq(step, "ack")) {
			rc = dr_scaleset_ack(c, last_msg, &err);
		} else if (dr_streq(step, "acquire")) {
			_cleanup_json_ json_t *ids = json_array();
			json_t *jm;
			size_t k;
			json_array_foreach(dr_json_iget(last, "body"), k, jm)
				if (dr_streq(dr_json_iget_str(jm, "messageType"), "JobAvailable"))
					json_array_append_new(ids, json_integer(dr_json_iget_int(jm, "runnerRequestId")));
			_cleanup_json_ json_t *got = NULL;
			rc = dr_scaleset_acquire(c, ids, &got, &err);
			if (got)
				json_object_set(out, "acquired", got);
		} else if (dr_streq(step, "jit")) {
			_cleanup_free_ char *blob = NULL;
			rc = dr_scaleset_jit(c, set_id, arg ? arg : "r", &blob, &runner_id, &err);
			if (rc == 0) {
				json_object_set_new(out, "runnerId", json_integer(runner_id));
				const char *path = getenv("SSTOOL_JIT");
				if (path) {
					FILE *f = fopen(path, "w");
					if (f) {
						fchmod(fileno(f), 0600);
						fputs(blob, f);
						fclose(f);
					}
				}
				explicit_bzero(blob, strlen(blob));
			}
		} else if (dr_streq(step, "runner")) {
			int64_t id = 0;
			rc = dr_scaleset_runner_by_name(c, arg, &id, &err);
			json_object_set_new(out, "id", json_integer(id));
		} else if (dr_streq(step, "remove")) {
			rc = dr_scaleset_remove_runner(c, arg ? atoll(arg) : runner_id, &err);
		} else if (dr_streq(step, "sleep")) {
			sleep((unsigned)atoi(arg ? arg : "1"));
		} else if (dr_streq(step, "cancel-after")) {
			long ms = atol(arg ? arg : "0");
			struct itimerval it = { .it_value = { .tv_sec = ms / 1000,
			                                      .tv_usec = (ms % 1000) * 1000 } };
			setitimer(ITIMER_REAL, &it, NULL);
		} else {
			fprintf(stderr, "sstool: unknown step %s\n", step);
			return 2;
		}
		json_object_set_new(out, "ok", json_boolean(rc == 0));
		json_object_set_new(out, "requests", json_integer((json_int_t)(c->requests - before)));
		if (rc < 0) {
			json_object_set_new(out, "errnum", json_string(errname(err->errnum)));
			json_object_set_new(out, "error", json_string(err->msg));
			dr_err_free(err);
			err = NULL;
		}
		char *line = json_dumps(out, JSON_COMPACT);
		puts(line);
		free(line);
		json_decref(out);
	}
	json_decref(last);
	dr_scaleset_free(c);
	free(auth.private_key);
	return 0;
}
