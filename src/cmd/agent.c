/* agent.c: `deskrun agent`: the local provider's listener. For each scale set of the config it
 * registers the set with GitHub's scale set service (src/sys/scaleset.c), opens a message
 * session, long-polls it, and scales as ARC's listener does (desired = min(minRunners +
 * totalAssignedJobs, maxRunners), scaleset-protocol.md §6): one runner container per JIT
 * config on the local Docker or podman engine (Engine API over its unix socket), labelled
 * deskrun.io/..., removed when it exits; a runner that exits before taking a job is
 * deregistered. In docker-socket mode each runner gets its own `deskrun guard` child in front of
 * the engine's socket; in dind mode its own privileged daemon container (labelled
 * deskrun.io/role=dind, removed with it, a --cache-pool slot leased by deskrun dind-entrypoint
 * bind-mounted from our static binary); in dind-daemonset mode a guard in front of one shared
 * daemon container started on demand. SIGTERM/SIGINT close the sessions (no new jobs), remove
 * idle runners, and wait up to --drain for busy ones; what is still running then is left for
 * the next agent, which adopts labelled containers and removes exited ones.
 *
 * Threads: one long-poll thread per set; the main thread takes the signals and, every second,
 * reaps exited runners and guard children and reconciles each set under its lock. */
#include "lib/common.h"
#include "lib/buf.h"
#include "cmd/cmd.h"
#include "cmd/local.h"
#include "lib/config.h"
#include "lib/docker.h"
#include "lib/duration.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"
#include "pod/http.h"
#include "pod/fsops.h"
#include "sys/config_store.h"
#include "sys/fsutil.h"
#include "sys/log.h"
#include "sys/scaleset.h"
#include "sys/spawn.h"

#include "buildinfo.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { OPT_SET = 1, OPT_HOST, OPT_NETWORK, OPT_STATE_DIR, OPT_DRAIN, OPT_OWNER, OPT_METRICS };

static const dr_opt agent_opts[] = {
	{ "set", 0, "NAME", "serve only this runner definition (repeatable; default: all)", OPT_SET },
	{ "host", 'H', "URL",
	  "the engine: unix:///PATH (default: $DOCKER_HOST, else unix:///var/run/docker.sock; "
	  "podman: unix:///run/podman/podman.sock)",
	  OPT_HOST },
	{ "network", 0, "NAME", "the runner containers' network (default: the engine's default)",
	  OPT_NETWORK },
	{ "state-dir", 0, "DIR",
	  "the runners' folders (guard sockets; dind: the daemon's socket and the work folder) "
	  "live here (default /var/lib/deskrun/agent)",
	  OPT_STATE_DIR },
	{ "drain", 0, "DURATION",
	  "on SIGTERM, wait this long for busy runners to finish (default 5m; they are adopted "
	  "by the next agent otherwise)",
	  OPT_DRAIN },
	{ "owner", 0, "NAME", "the sessions' owner name (default: the host name)", OPT_OWNER },
	{ "metrics-addr", 0, "127.0.0.1:PORT",
	  "serve Prometheus metrics at http://ADDR/metrics (loopback only; port 0 picks one and "
	  "logs it)",
	  OPT_METRICS },
	{ NULL, 0, NULL, NULL, 0 },
};

#define LABEL_AGENT "deskrun.io/agent"
#define LABEL_SET "deskrun.io/set"
#define LABEL_RUNNER "deskrun.io/runner-name"
#define LABEL_RUNNER_ID "deskrun.io/runner-id"
#define LABEL_ROLE "deskrun.io/role" /* the agent's other containers: dind, dind-daemonset */
#define ROLE_DIND "dind"
#define ROLE_DAEMONSET "dind-daemonset"
#define ROLE_EXTERNALS "externals" /* the short-lived copy of the runner's externals */
#define POLL_TIMEOUT_MS (2L * 60 * 1000)
#define ENGINE_TIMEOUT_MS 30000L
#define QUIET_TRIM_MS 10000L /* quiet this long: the start-up's pages leave the RSS */

/* Set by the signal handler, read by every thread: atomics (lock-free, so signal-safe). */
static atomic_int stopping;
static atomic_int handover; /* SIGUSR1: stop without waiting for busy runners */
#define STOPPING() atomic_load_explicit(&stopping, memory_order_relaxed)

typedef struct runner {
	char *name;
	char *cid;     /* container id */
	int64_t id;    /* the runner's id at GitHub */
	bool busy;     /* JobStarted seen */
	bool done;     /* JobCompleted seen */
	pid_t guard;   /* the guard, 0 if none */
	bool foreign_guard; /* started by an earlier agent: not our child */
	bool adopted;  /* its container was started by an earlier agent */
	char *dir;     /* its folder under the state dir (the guard's socket; dind: the
	                * daemon's socket folder, the work folder, daemon.json), or NULL */
	char *dind_cid; /* dind: its daemon's container, or NULL */
	long started_ms;
} runner;

typedef struct agent agent;

typedef struct set {
	agent *a;
	char *name;
	const dr_runner *def;
	dr_scaleset *client; /* the session and the queue: the listening thread's alone */
	dr_scaleset *ctl;    /* the set and its runners: used under mu */
	int64_t id;
	pthread_t thread;
	pthread_mutex_t mu;
	runner *runners;
	size_t n_runners;
	int assigned;      /* the last totalAssignedJobs */
	bool registered;   /* the set exists at GitHub and a session is open */
	long next_create_ms; /* backoff after a failed runner start */
	char *last_error;
	long last_error_ms; /* when it was logged */
	json_t *stats;      /* the last statistics the service sent (owned), or NULL */
	int desired;        /* the last target of reconcile */
	long started_jobs, completed_jobs;
} set;

struct agent {
	dr_pod_endpoint ep;
	const char *network;
	char *state_dir;
	char *owner;
	char *self_exe;
	long drain_ms;
	int metrics_fd;     /* the listening socket, or -1 */
	const dr_settings *settings; /* the cache root */
	char *dind_exe;     /* the static deskrun bind-mounted into dind containers, or NULL */
	pthread_mutex_t ds_mu; /* the shared daemon of dind-daemonset: */
	char *ds_cid;       /* its container, or NULL */
	char *ds_sock;      /* <cache-root>/daemonset/sock/docker.sock (constant) */
	set *sets;
	size_t n_sets;
};

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One log line per event: "2026-12-06T18:30:00Z deskrun agent: web: ..." on stderr. */
static void DR_PRINTF(2, 3)
alog(const set *s, const char *fmt, ...)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = dr_xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s deskrun agent: %s%s%s\n", ts, s ? s->name : "", s ? ": " : "", msg);
}

/* Record the set's last error and log it; the same error again within a minute is not logged
 * again (an engine that is down fails every second). */
static void
set_error(set *s, const dr_err *e)
{
	if (s->last_error && dr_streq(s->last_error, e->msg) && now_ms() - s->last_error_ms < 60000)
		return;
	free(s->last_error);
	s->last_error = dr_xstrdup(e->msg);
	s->last_error_ms = now_ms();
	alog(s, "error: %s", e->msg);
}

static void
set_error_locked(set *s, const dr_err *e)
{
	pthread_mutex_lock(&s->mu);
	set_error(s, e);
	pthread_mutex_unlock(&s->mu);
}

static void
nap_ms(long ms)
{
	long end = now_ms() + ms;
	while (!STOPPING() && now_ms() < end) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* ---- the engine ---- */

/* A request to the engine; *out the JSON answer (may be NULL). Any status is 0; *status set. */
static int
engine(const agent *a, const char *method, const char *target, json_t *body, int *status,
       json_t **out, dr_err **err)
{
	_cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	dr_pod_http_request req = { .method = method, .target = target, .body = text,
		                    .body_len = text ? strlen(text) : 0,
		                    .timeout_ms = ENGINE_TIMEOUT_MS };
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	if (dr_pod_http_do(&a->ep, &req, &r, err) < 0)
		return dr_err_prefix(err, "the engine at %s: %s %s", a->ep.url, method, target);
	*status = r.status;
	if (out)
		*out = r.body_len ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
	if (text)
		explicit_bzero(text, strlen(text)); /* a create body holds the JIT config */
	return 0;
}

static int
engine_expect(const agent *a, const char *method, const char *target, json_t *body, int ok1,
              int ok2, json_t **out, dr_err **err)
{
	int st = 0;
	_cleanup_json_ json_t *j = NULL;
	if (engine(a, method, target, body, &st, &j, err) < 0)
		return -1;
	if (st != ok1 && st != ok2) {
		const char *m = json_string_value(json_object_get(j, "message"));
		dr_fail(err, DR_EXIT_FAIL, "the engine answered %s %s with HTTP %d%s%s", method,
		        target, st, m ? ": " : "", m ? m : "");
		if (err && *err) /* callers that only want success pass NULL */
			(*err)->errnum = st == 404 ? ENOENT : EPROTO;
		return -1;
	}
	if (out)
		*out = TAKE_PTR(j);
	return 0;
}

/* The containers of set `name` (all states), as the engine lists them. */
static int
list_containers(const agent *a, const char *name, json_t **out, dr_err **err)
{
	_cleanup_free_ char *filter =
		dr_xasprintf("{\"label\":[\"" LABEL_SET "=%s\",\"" LABEL_AGENT "\"]}", name);
	_cleanup_free_ char *enc = dr_pod_url_encode(filter);
	_cleanup_free_ char *target = dr_xasprintf("/containers/json?all=1&filters=%s", enc);
	return engine_expect(a, "GET", target, NULL, 200, 200, out, err);
}

static int
remove_container(const agent *a, const char *cid, dr_err **err)
{
	_cleanup_free_ char *target = dr_xasprintf("/containers/%s?force=1&v=1", cid);
	return engine_expect(a, "DELETE", target, NULL, 204, 404, NULL, err);
}

/* ---- guard children ---- */

static void
stop_child(pid_t pid, long grace_ms)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	long end = now_ms() + grace_ms;
	while (now_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool
guard_alive(runner *r)
{
	if (r->guard <= 0)
		return false;
	if (r->foreign_guard)
		return kill(r->guard, 0) == 0 || errno == EPERM;
	return waitpid(r->guard, NULL, WNOHANG) != r->guard;
}

/* Stop the guard: SIGTERM (it removes the job's leftovers: --cleanup-on-exit), SIGKILL after
 * grace_ms; our child is reaped, an earlier agent's is watched until it is gone. */
static void
stop_guard(runner *r, long grace_ms)
{
	if (r->guard <= 0)
		return;
	if (!r->foreign_guard) {
		stop_child(r->guard, grace_ms);
	} else {
		kill(r->guard, SIGTERM);
		long end = now_ms() + grace_ms;
		while (kill(r->guard, 0) == 0 && now_ms() < end) {
			struct timespec ts = { 0, 20 * 1000000L };
			nanosleep(&ts, NULL);
		}
		kill(r->guard, SIGKILL);
	}
	r->guard = 0;
	r->foreign_guard = false;
}

/* The guard an earlier agent started for runner `name` in `dir`, if it still runs: its pid
 * file, checked against the process's argv. 0 if none. */
static pid_t
find_old_guard(const char *dir, const char *name)
{
	_cleanup_free_ char *pf = dr_xasprintf("%s/guard.pid", dir);
	_cleanup_fclose_ FILE *f = fopen(pf, "r");
	long pid = 0;
	if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1)
		return 0;
	_cleanup_free_ char *cp = dr_xasprintf("/proc/%ld/cmdline", pid);
	_cleanup_fclose_ FILE *c = fopen(cp, "r");
	if (!c)
		return 0;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, c);
	buf[n] = '\0';
	_cleanup_free_ char *want = dr_xasprintf("--session%c%s%c", 0, name, 0);
	size_t wl = strlen("--session") + strlen(name) + 2;
	for (size_t i = 0; i + wl <= n; i++)
		if (memcmp(buf + i, want, wl) == 0)
			return (pid_t)pid;
	return 0;
}

/* mkdir path with exactly mode (whatever the umask says); an existing one is chmodded. */
static int
mkdir_mode(const char *path, mode_t mode, dr_err **err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create %s", path);
	if (chmod(path, mode) < 0) /* whatever the umask said */
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "chmod %s", path);
	return 0;
}

static bool uses_shared_daemon(const set *s);
static int ensure_shared_daemon(set *s, dr_err **err);

/* Start `deskrun guard` for runner r of set s, in front of the engine (docker-socket) or the
 * shared daemon (dind-daemonset); wait for its socket. r->dir is the runner's pod folder as in
 * Kubernetes (docs/guard.md, src/guard/podfs.h), on this host, where the engine sees the same
 * paths: run/docker.sock the
 * guard's socket (bound read-only at /run/deskrun in the runner), work/ the runner's
 * /home/runner/_work (bound there), and externals/, pins/, .lock the guard's. With --pod-dir
 * (docker-socket) the guard maps the binds of a container job (/home/runner/_work,
 * /home/runner/externals, /var/run/docker.sock) to them. */
static int
start_guard(set *s, runner *r, dr_err **err)
{
	agent *a = s->a;
	if (uses_shared_daemon(s) && ensure_shared_daemon(s, err) < 0)
		return dr_err_prefix(err, "the guard of %s", r->name);
	_cleanup_free_ char *ds_url =
		uses_shared_daemon(s) ? dr_xasprintf("unix://%s", a->ds_sock) : NULL;
	const char *upstream = ds_url ? ds_url : a->ep.url;
	r->dir = dr_xasprintf("%s/%s", a->state_dir, r->name);
	/* 0755 root, never bound anywhere (the guard's pins below must not be reachable). */
	if (mkdir(r->dir, 0755) < 0 && errno != EEXIST)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create %s", r->dir);
	_cleanup_free_ char *sock = dr_xasprintf("%s/run/docker.sock", r->dir);
	_cleanup_free_ char *state = dr_xasprintf("%s/state", r->dir);
	_cleanup_free_ char *logp = dr_xasprintf("%s/guard.log", r->dir);
	unlink(sock); /* a stale one from a guard that died */
	const char *args[] = { a->self_exe, "guard", "--tenant", s->name, "--session", r->name,
		               "--upstream", upstream, "--listen", sock, "--state-dir", state,
		               "--socket-mode", "0666", "--cleanup-on-exit", NULL };
	_cleanup_strv_ char **argv = NULL;
	for (size_t i = 0; args[i]; i++)
		dr_strv_push(&argv, args[i]);
	/* The host's engine sees the pod folder at the same path; the shared daemon container
	 * does not (it would need the state dir bound with slave propagation, which Docker
	 * refuses on a private root): a container job there is not mapped yet, and the guard
	 * refuses its binds as before. */
	if (!uses_shared_daemon(s)) {
		dr_strv_push(&argv, "--pod-dir");
		dr_strv_push(&argv, r->dir);
	} else {
		/* What --pod-dir would lay out: the socket's folder, and the work folder the
		 * runner (not root in its image) writes, as the dind sidecar's. */
		_cleanup_free_ char *run = dr_xasprintf("%s/run", r->dir);
		_cleanup_free_ char *work = dr_xasprintf("%s/work", r->dir);
		if (mkdir_mode(run, 0755, err) < 0 || mkdir_mode(work, 0777, err) < 0)
			return -1;
	}
	_cleanup_strv_ char **envp = NULL; /* nothing of ours (no secret) reaches the guard */
	dr_strv_push(&envp, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	pid_t pid = 0;
	if (dr_spawn_daemon(a->self_exe, argv, envp, logp, false, &pid, err) < 0)
		return dr_err_prefix(err, "start the guard of %s", r->name);
	r->guard = pid;
	r->foreign_guard = false;
	_cleanup_free_ char *pf = dr_xasprintf("%s/guard.pid", r->dir);
	_cleanup_fclose_ FILE *pfh = fopen(pf, "we");
	if (pfh)
		fprintf(pfh, "%ld\n", (long)pid);
	for (int i = 0; i < 250; i++) {
		struct stat st;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		int ws;
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			r->guard = 0;
			return dr_fail(err, DR_EXIT_FAIL, "the guard of %s exited at start: see %s",
			               r->name, logp);
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return dr_fail(err, DR_EXIT_TIMEOUT, "the guard of %s did not listen within 5 s: see %s",
	               r->name, logp);
}

static void
runner_free(runner *r)
{
	free(r->name);
	free(r->cid);
	free(r->dir);
	free(r->dind_cid);
	memset(r, 0, sizeof(*r));
}

static void
rm_rf_dir(const char *dir)
{
	/* The guard's folder: the socket, its log and its state (files only, one level deep). */
	_cleanup_free_ char *st = dr_xasprintf("%s/state", dir);
	const char *files[] = { "docker.sock", "guard.log", "guard.pid" };
	for (size_t i = 0; i < DR_ARRAY_LEN(files); i++) {
		_cleanup_free_ char *p = dr_xasprintf("%s/%s", dir, files[i]);
		unlink(p);
	}
	DIR *d = opendir(st);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				_cleanup_free_ char *p = dr_xasprintf("%s/%s", st, e->d_name);
				unlink(p);
			}
		closedir(d);
		rmdir(st);
	}
	rmdir(dir);
}

/* ---- the job's Docker: dind (a daemon container per runner), dind-daemonset (one shared) ---- */

static bool
uses_dind(const set *s)
{
	return s->def->mode == &dr_mode_dind;
}

static bool
uses_shared_daemon(const set *s)
{
	return s->def->mode == &dr_mode_dind_daemonset;
}

/* A guard per runner: docker-socket (unless --no-guard) and dind-daemonset. */
static bool
uses_guard(const set *s)
{
	return (s->def->mode == &dr_mode_docker_socket && !s->def->no_guard) ||
	       uses_shared_daemon(s);
}

/* HTTP(S)_PROXY and NO_PROXY, both cases, of the definition into env. */
static void
proxy_env(const dr_runner *d, json_t *env)
{
	if (!d->proxy)
		return;
	const char *names[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" };
	for (size_t i = 0; i < DR_ARRAY_LEN(names); i++) {
		_cleanup_free_ char *v = dr_xasprintf("%s=%s", names[i], d->proxy);
		json_array_append_new(env, json_string(v));
	}
	if (d->no_proxy && *d->no_proxy) {
		_cleanup_buf_ dr_buf lb = DR_BUF_INIT(0);
		for (char *const *x = d->no_proxy; *x; x++)
			dr_buf_printf(&lb, "%s%s", x == d->no_proxy ? "" : ",", *x);
		_cleanup_free_ char *list = dr_buf_steal(&lb);
		_cleanup_free_ char *a = dr_xasprintf("NO_PROXY=%s", list);
		_cleanup_free_ char *b = dr_xasprintf("no_proxy=%s", list);
		json_array_append_new(env, json_string(a));
		json_array_append_new(env, json_string(b));
	}
}

static void
bind_add(json_t *binds, const char *src, const char *dst, bool ro)
{
	_cleanup_free_ char *b = dr_xasprintf("%s:%s%s", src, dst, ro ? ":ro" : "");
	json_array_append_new(binds, json_string(b));
}

/* A daemon container's HostConfig (owns binds): privileged, on the agent's --network but
 * never the host's (a dockerd on the host's network would make its bridge and rules there;
 * then the engine's default). */
static json_t *
daemon_hostconfig(const agent *a, json_t *binds)
{
	json_t *hc = json_pack("{s:o, s:b}", "Binds", binds, "Privileged", 1);
	if (a->network && !dr_streq(a->network, "host"))
		json_object_set_new(hc, "NetworkMode", json_string(a->network));
	return hc;
}

/* A daemon container's environment: no TLS (the socket is a unix one), the set's proxy. */
static json_t *
daemon_env(const dr_runner *d)
{
	json_t *env = json_array();
	json_array_append_new(env, json_string("DOCKER_TLS_CERTDIR="));
	proxy_env(d, env);
	return env;
}

/* The host paths of dind's volumes, as the pod's hostPaths are: --cache i
 * (dr_cache_host_path), the set's pool, and <cache-root>/<set>/docker, /var/lib/docker under
 * --docker-storage hostpath when neither the pool nor a --cache holds it (NULL otherwise). */
static char *
cache_path(const set *s, size_t i)
{
	dr_scale_set ss = { .runner = s->def, .settings = s->a->settings, .name = s->name };
	return dr_cache_host_path(&ss, i);
}

static char *
pool_dir(const set *s)
{
	return dr_xasprintf("%s/pool/%s", s->a->settings->cache_root, s->name);
}

static char *
hostpath_data_root(const set *s)
{
	const dr_runner *d = s->def;
	if (d->cache_pool || dr_runner_docker_cache(d) >= 0 ||
	    dr_runner_docker_storage(d) != DR_STORAGE_HOSTPATH)
		return NULL;
	return dr_xasprintf("%s/%s/docker", s->a->settings->cache_root, s->name);
}

/* The dind container of runner r, as mode dind's pod has it (src/lib/mode_dind.c): privileged,
 * /var/run (the socket) and /home/runner/_work shared with the runner, daemon.json at
 * DR_DOCKERD_CONFIG_DIR; /var/lib/docker from a --cache, the pool (deskrun dind-entrypoint,
 * bind-mounted from the agent's static binary), <cache-root>/<set>/docker (hostpath), or the
 * runner's folder (ephemeral). */
static json_t *
dind_spec(set *s, runner *r)
{
	agent *a = s->a;
	const dr_runner *d = s->def;
	json_t *env = daemon_env(d);
	json_t *binds = json_array();
	_cleanup_free_ char *run = dr_xasprintf("%s/run", r->dir);
	_cleanup_free_ char *work = dr_xasprintf("%s/work", r->dir);
	_cleanup_free_ char *conf = dr_xasprintf("%s/dockerd", r->dir);
	_cleanup_free_ char *ext = dr_xasprintf("%s/externals", r->dir);
	bind_add(binds, run, "/var/run", false);
	bind_add(binds, work, "/home/runner/_work", false);
	bind_add(binds, ext, "/home/runner/externals", false);
	bind_add(binds, conf, DR_DOCKERD_CONFIG_DIR, true);
	for (size_t i = 0; i < d->n_caches; i++) {
		_cleanup_free_ char *src = cache_path(s, i);
		bind_add(binds, src, d->caches[i].target, false);
	}
	json_t *entry = NULL;
	if (d->cache_pool) {
		_cleanup_free_ char *pool = pool_dir(s);
		bind_add(binds, pool, pool, false);
		bind_add(binds, a->dind_exe, DR_BIN_DIR "/deskrun", true);
		entry = dr_pool_entrypoint(d, DR_BIN_DIR "/deskrun", pool, s->name);
	} else if (dr_runner_docker_cache(d) < 0) {
		char *kept = hostpath_data_root(s);
		_cleanup_free_ char *data = kept ? kept : dr_xasprintf("%s/docker", r->dir);
		bind_add(binds, data, "/var/lib/docker", false);
	}
	json_t *cmd = dr_json_strs("dockerd", "--host=unix:///var/run/docker.sock", "--group=123",
	                           DR_DOCKERD_CONFIG_FLAG, NULL);
	_cleanup_free_ char *rid = dr_xasprintf("%lld", (long long)r->id);
	json_t *hc = daemon_hostconfig(a, binds);
	json_t *spec = json_pack("{s:s, s:o, s:o, s:{s:s, s:s, s:s, s:s, s:s}, s:o}", "Image",
	                         dr_runner_dind_image(d), "Cmd", cmd, "Env", env, "Labels",
	                         LABEL_AGENT, a->owner, LABEL_SET, s->name, LABEL_RUNNER, r->name,
	                         LABEL_RUNNER_ID, rid, LABEL_ROLE, ROLE_DIND, "HostConfig", hc);
	if (entry)
		json_object_set_new(spec, "Entrypoint", entry);
	return spec;
}

/* State of container cid ("running", "exited", ...) and its exit code; NULL state if gone. */
static char *
container_state(const agent *a, const char *cid, long *code)
{
	_cleanup_free_ char *target = dr_xasprintf("/containers/%s/json", cid);
	_cleanup_json_ json_t *j = NULL;
	if (engine_expect(a, "GET", target, NULL, 200, 200, &j, NULL) < 0)
		return NULL;
	json_t *st = json_object_get(j, "State");
	if (code)
		*code = (long)json_integer_value(json_object_get(st, "ExitCode"));
	const char *s = json_string_value(json_object_get(st, "Status"));
	return s ? dr_xstrdup(s) : NULL;
}

/* Create and start container `name` from spec; its id in *cid. */
static int
run_container(const agent *a, const char *name, json_t *spec, const char *what, char **cid,
              dr_err **err)
{
	_cleanup_free_ char *target = dr_xasprintf("/containers/create?name=%s", name);
	_cleanup_json_ json_t *made = NULL;
	int st = 0;
	if (engine(a, "POST", target, spec, &st, &made, err) < 0)
		return -1;
	const char *image = json_string_value(json_object_get(spec, "Image"));
	if (st == 404)
		return dr_fail(err, DR_EXIT_FAIL,
		               "the %s image %s is not on the engine: pull or build it (docker pull "
		               "%s)",
		               what, image, image);
	if (st != 201) {
		const char *m = json_string_value(json_object_get(made, "message"));
		return dr_fail(err, DR_EXIT_FAIL, "create the %s container %s: HTTP %d%s%s", what,
		               name, st, m ? ": " : "", m ? m : "");
	}
	*cid = dr_xstrdup(json_string_value(json_object_get(made, "Id")));
	_cleanup_free_ char *start = dr_xasprintf("/containers/%s/start", *cid);
	if (engine_expect(a, "POST", start, NULL, 204, 304, NULL, err) < 0) {
		remove_container(a, *cid, NULL);
		free(*cid);
		*cid = NULL;
		return dr_err_prefix(err, "start the %s container %s", what, name);
	}
	return 0;
}

/* Stop a daemon container (its dockerd stops its containers and lets go of its data root or
 * pool slot), then remove it with its anonymous volumes. */
static int
stop_daemon_container(const agent *a, const char *cid, dr_err **err)
{
	_cleanup_free_ char *stop = dr_xasprintf("/containers/%s/stop?t=20", cid);
	int st = 0;
	engine(a, "POST", stop, NULL, &st, NULL, NULL);
	return remove_container(a, cid, err);
}

/* Wait until the daemon at unix://sock answers /_ping (or, with ready_file, until that file
 * exists: the pool's entrypoint writes it once the quota is kept), while container cid runs;
 * up to timeout_ms. */
static int
wait_daemon(const agent *a, const char *what, const char *cid, const char *sock,
            const char *ready_file, long timeout_ms, dr_err **err)
{
	_cleanup_free_ char *url = dr_xasprintf("unix://%s", sock);
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	if (dr_pod_endpoint_parse("the daemon's socket", url, &ep, err) < 0)
		return -1;
	long end = now_ms() + timeout_ms, next_check = 0;
	while (now_ms() < end) {
		if (STOPPING())
			return dr_fail(err, DR_EXIT_FAIL, "%s: stopping", what);
		struct stat sb;
		if (ready_file ? stat(ready_file, &sb) == 0 : stat(sock, &sb) == 0) {
			dr_pod_http_request req = { .method = "GET", .target = "/_ping",
				                    .max_body = 4096, .timeout_ms = 2000 };
			_cleanup_http_response_ dr_pod_http_response r = { 0 };
			_cleanup_err_ dr_err *pe = NULL;
			if (dr_pod_http_do(&ep, &req, &r, &pe) == 0 && r.status == 200)
				return 0;
		}
		if (now_ms() >= next_check) {
			long code = 0;
			_cleanup_free_ char *state = container_state(a, cid, &code);
			if (!state || (!dr_streq(state, "running") && !dr_streq(state, "created")))
				return dr_fail(err, DR_EXIT_FAIL,
				               "%s exited before its daemon answered (%s, code %ld): see "
				               "docker logs %.12s",
				               what, state ? state : "gone", code, cid);
			next_check = now_ms() + 1000;
		}
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return dr_fail(err, DR_EXIT_TIMEOUT, "%s: its daemon did not answer within %ld s: see "
	               "docker logs %.12s", what, timeout_ms / 1000, cid);
}

/* The runner image's /home/runner/externals copied into the runner's folder (externals/), for
 * the daemon to mount at the same path (job containers bind it as /__e), as the pod's init
 * container does (init-dind-externals in dind; "externals" after the guard in docker-socket):
 * a short-lived container of the runner image running cp, removed when it exits. */
static int
copy_externals(set *s, runner *r, dr_err **err)
{
	agent *a = s->a;
	_cleanup_free_ char *ext = dr_xasprintf("%s/externals", r->dir);
	_cleanup_free_ char *rid = dr_xasprintf("%lld", (long long)r->id);
	json_t *binds = json_array();
	bind_add(binds, ext, "/home/runner/tmpDir", false);
	_cleanup_json_ json_t *spec = json_pack(
		"{s:s, s:[s], s:[s,s,s], s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:o, s:s}}", "Image",
		dr_runner_image(s->def), "Entrypoint", "cp", "Cmd", "-r", "/home/runner/externals/.",
		"/home/runner/tmpDir/", "User", "0", "Labels", LABEL_AGENT, a->owner, LABEL_SET,
		s->name, LABEL_RUNNER, r->name, LABEL_RUNNER_ID, rid, LABEL_ROLE, ROLE_EXTERNALS,
		"HostConfig", "Binds", binds, "NetworkMode", "none");
	_cleanup_free_ char *name = dr_xasprintf("%s-externals", r->name);
	_cleanup_free_ char *cid = NULL;
	if (run_container(a, name, spec, "runner", &cid, err) < 0)
		return dr_err_prefix(err, "copy the runner's externals for %s", r->name);
	_cleanup_free_ char *wait = dr_xasprintf("/containers/%s/wait", cid);
	_cleanup_json_ json_t *res = NULL;
	int rc = engine_expect(a, "POST", wait, NULL, 200, 200, &res, err);
	long code = (long)json_integer_value(json_object_get(res, "StatusCode"));
	remove_container(a, cid, NULL);
	if (rc < 0)
		return dr_err_prefix(err, "copy the runner's externals for %s", r->name);
	if (code != 0)
		return dr_fail(err, DR_EXIT_FAIL,
		               "copy the runner image's /home/runner/externals for %s: cp exited %ld "
		               "(does %s have it?)",
		               r->name, code, dr_runner_image(s->def));
	return 0;
}

/* dind: runner r's folder (run/ for the socket, work/ for the runner's work folder, which a
 * runner running as uid 1001 writes, dockerd/daemon.json) and its daemon container, started
 * and answering. */
static int
start_dind(set *s, runner *r, dr_err **err)
{
	agent *a = s->a;
	const dr_runner *d = s->def;
	if (d->cache_pool && !a->dind_exe)
		return dr_fail(err, DR_EXIT_FAIL,
		               "--cache-pool: the dind container runs 'deskrun dind-entrypoint' from "
		               "the agent's binary, which must be statically linked: put "
		               "deskrun-static (built next to deskrun) beside %s",
		               a->self_exe);
	r->dir = dr_xasprintf("%s/%s", a->state_dir, r->name);
	_cleanup_free_ char *run = dr_xasprintf("%s/run", r->dir);
	_cleanup_free_ char *work = dr_xasprintf("%s/work", r->dir);
	_cleanup_free_ char *conf = dr_xasprintf("%s/dockerd", r->dir);
	_cleanup_free_ char *ext = dr_xasprintf("%s/externals", r->dir);
	_cleanup_free_ char *dj = dr_xasprintf("%s/daemon.json", conf);
	_cleanup_free_ char *text = dr_daemon_json(d);
	if (mkdir_mode(r->dir, 0700, err) < 0 || mkdir_mode(run, 0755, err) < 0 ||
	    mkdir_mode(work, 0777, err) < 0 || mkdir_mode(conf, 0755, err) < 0 ||
	    mkdir_mode(ext, 0755, err) < 0 ||
	    dr_write_atomic(dj, text, strlen(text), 0644, err) < 0 || copy_externals(s, r, err) < 0)
		return -1;
	/* What dind_spec binds from the cache root (a --cache's own source is the user's). */
	for (size_t i = 0; i < d->n_caches; i++)
		if (!d->caches[i].source) {
			_cleanup_free_ char *c = cache_path(s, i);
			if (dr_mkdir_p(c, 0700, err) < 0)
				return -1;
		}
	_cleanup_free_ char *kept = d->cache_pool ? pool_dir(s) : hostpath_data_root(s);
	if (kept && dr_mkdir_p(kept, 0700, err) < 0)
		return -1;
	_cleanup_json_ json_t *spec = dind_spec(s, r);
	_cleanup_free_ char *name = dr_xasprintf("%s-dind", r->name);
	if (run_container(a, name, spec, "dind", &r->dind_cid, err) < 0)
		return -1;
	_cleanup_free_ char *sock = dr_xasprintf("%s/docker.sock", run);
	_cleanup_free_ char *ready = d->cache_pool ? dr_xasprintf("%s/run/%s", r->dir,
	                                                          DR_POOL_READY + strlen("/var/run/"))
	                                           : NULL;
	_cleanup_free_ char *what = dr_xasprintf("the dind container of %s", r->name);
	/* The pool's entrypoint may wait 60 s for a slot. */
	return wait_daemon(a, what, r->dind_cid, sock, ready, d->cache_pool ? 120000 : 60000, err);
}

/* The shared daemon an earlier agent started: adopted when it runs, removed when it does not.
 * Called with a->ds_mu held, or before the threads start. */
static int
adopt_shared_daemon(agent *a, dr_err **err)
{
	_cleanup_json_ json_t *j = NULL;
	if (engine_expect(a, "GET", "/containers/" DR_DAEMONSET_NAME "/json", NULL, 200, 404, &j,
	                  err) < 0)
		return -1;
	const char *id = json_string_value(json_object_get(j, "Id"));
	const char *role = json_string_value(
		json_object_get(dr_json_iget(json_object_get(j, "Config"), "Labels"), LABEL_ROLE));
	const char *state = json_string_value(json_object_get(json_object_get(j, "State"), "Status"));
	if (id && !dr_streq(role, ROLE_DAEMONSET))
		return dr_fail(err, DR_EXIT_FAIL,
		               "a container named %s that deskrun did not start is in the way of the "
		               "shared daemon: remove or rename it",
		               DR_DAEMONSET_NAME);
	if (id && dr_streq(state, "running")) {
		a->ds_cid = dr_xstrdup(id);
		alog(NULL, "the shared daemon (%s) adopted (container %.12s)", DR_DAEMONSET_NAME,
		     a->ds_cid);
	} else if (id) {
		remove_container(a, id, NULL);
	}
	return 0;
}

/* dind-daemonset: the shared daemon (started once for every set of the mode, its data root
 * <cache-root>/daemonset/docker, its socket in <cache-root>/daemonset/sock), running and
 * answering; an earlier agent's is adopted. Configured by the first set that starts it, as
 * the DaemonSet is by the first such definition. */
static int
ensure_shared_daemon(set *s, dr_err **err)
{
	agent *a = s->a;
	const char *root = a->settings->cache_root;
	_cleanup_free_ char *dir = dr_xasprintf("%s/daemonset", root);
	_cleanup_free_ char *data = dr_xasprintf("%s/docker", dir);
	_cleanup_free_ char *sockdir = dr_xasprintf("%s/sock", dir);
	_cleanup_free_ char *conf = dr_xasprintf("%s/dockerd", dir);
	const char *sock = a->ds_sock;
	pthread_mutex_lock(&a->ds_mu);
	int rc = -1;
	if (!a->ds_cid) {
		if (adopt_shared_daemon(a, err) < 0)
			goto out;
	} else {
		_cleanup_free_ char *state = container_state(a, a->ds_cid, NULL);
		if (!state || !dr_streq(state, "running")) {
			alog(NULL, "the shared daemon (%s) is %s: starting it again", DR_DAEMONSET_NAME,
			     state ? state : "gone");
			remove_container(a, a->ds_cid, NULL);
			free(a->ds_cid);
			a->ds_cid = NULL;
		}
	}
	if (!a->ds_cid) {
		_cleanup_free_ char *text = dr_daemon_json(s->def);
		_cleanup_free_ char *dj = dr_xasprintf("%s/daemon.json", conf);
		if (dr_mkdir_p(data, 0700, err) < 0 || dr_mkdir_p(sockdir, 0700, err) < 0 ||
		    dr_mkdir_p(conf, 0755, err) < 0 ||
		    dr_write_atomic(dj, text, strlen(text), 0644, err) < 0)
			goto out;
		unlink(sock);
		json_t *env = daemon_env(s->def);
		json_t *binds = json_array();
		bind_add(binds, data, "/var/lib/docker", false);
		bind_add(binds, sockdir, DR_DAEMONSET_SOCKET_DIR, false);
		bind_add(binds, conf, DR_DOCKERD_CONFIG_DIR, true);
		json_t *hc = daemon_hostconfig(a, binds);
		_cleanup_json_ json_t *spec = json_pack(
			"{s:s, s:[s,s,s], s:o, s:{s:s, s:s}, s:o}", "Image",
			dr_runner_dind_image(s->def), "Cmd", "dockerd",
			"--host=unix://" DR_DAEMONSET_SOCKET_DIR "/docker.sock", DR_DOCKERD_CONFIG_FLAG,
			"Env", env, "Labels", LABEL_AGENT, a->owner, LABEL_ROLE, ROLE_DAEMONSET,
			"HostConfig", hc);
		if (run_container(a, DR_DAEMONSET_NAME, spec, "shared daemon", &a->ds_cid, err) < 0)
			goto out;
		alog(s, "the shared daemon (%s) started (container %.12s, data root %s)",
		     DR_DAEMONSET_NAME, a->ds_cid, data);
	}
	rc = wait_daemon(a, "the shared daemon " DR_DAEMONSET_NAME, a->ds_cid, sock, NULL, 60000,
	                 err);
out:
	pthread_mutex_unlock(&a->ds_mu);
	return rc;
}

/* At the agent's stop: the shared daemon goes when no runner of any set is left on it (a
 * runner handed over to the next agent keeps it). */
static void
stop_shared_daemon(agent *a)
{
	if (!a->ds_cid)
		return;
	for (size_t i = 0; i < a->n_sets; i++)
		if (uses_shared_daemon(&a->sets[i]) && a->sets[i].n_runners)
			return;
	_cleanup_err_ dr_err *e = NULL;
	if (stop_daemon_container(a, a->ds_cid, &e) < 0)
		alog(NULL, "error: %s", e->msg);
	else
		alog(NULL, "the shared daemon (%s) stopped", DR_DAEMONSET_NAME);
}

/* What runner r has besides its container: the guard, the dind container, the folder. */
static void
discard_parts(set *s, runner *r)
{
	stop_guard(r, 5000);
	if (r->dind_cid) {
		_cleanup_err_ dr_err *e = NULL;
		if (stop_daemon_container(s->a, r->dind_cid, &e) < 0)
			set_error(s, e);
		free(r->dind_cid);
		r->dind_cid = NULL;
	}
	if (!r->dir)
		return;
	/* A folder the agent laid out itself (dind: the daemon's too; dind-daemonset: run/ and
	 * work/, with the job's files) goes whole; a guard with --pod-dir (docker-socket) removed
	 * its pod folder at exit, and rm_rf_dir takes the agent's files it left. */
	if (uses_dind(s) || uses_shared_daemon(s)) {
		_cleanup_err_ dr_err *e = NULL;
		if (dr_pod_rm_rf(r->dir, &e) < 0)
			set_error(s, e);
	} else {
		rm_rf_dir(r->dir);
	}
}

/* Forget runner i of s: its guard stopped, its daemon container removed (a pool slot goes back
 * with it), its folder removed, the slot compacted. */
static void
drop_runner(set *s, size_t i)
{
	runner *r = &s->runners[i];
	discard_parts(s, r);
	runner_free(r);
	s->runners[i] = s->runners[--s->n_runners];
}

/* ---- runners ---- */

static char *
random_suffix(void)
{
	unsigned char b[4] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
			b[0] = (unsigned char)getpid();
		close(fd);
	}
	return dr_xasprintf("%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

static json_t *
container_spec(set *s, runner *r, const char *jit)
{
	agent *a = s->a;
	const dr_runner *d = s->def;
	json_t *env = json_array();
	_cleanup_free_ char *jv = dr_xasprintf("ACTIONS_RUNNER_INPUT_JITCONFIG=%s", jit);
	json_array_append_new(env, json_string(jv));
	explicit_bzero(jv, strlen(jv));
	json_array_append_new(env, json_string("GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT=deskrun/" DESKRUN_VERSION));
	json_t *binds = json_array();
	if (d->mode == &dr_mode_docker_socket && d->no_guard && a->ep.path) {
		bind_add(binds, a->ep.path, "/var/run/docker.sock", false);
		json_array_append_new(env, json_string("DOCKER_HOST=unix:///var/run/docker.sock"));
	} else if ((uses_guard(s) || uses_dind(s)) && r->dir) {
		/* The work folder, and the folder of the socket: the guard's (read-only: job
		 * containers get it as docker.sock), or, as in the pod, the daemon's /var/run. */
		_cleanup_free_ char *run = dr_xasprintf("%s/run", r->dir);
		_cleanup_free_ char *work = dr_xasprintf("%s/work", r->dir);
		bool guard = uses_guard(s);
		bind_add(binds, run, guard ? "/run/deskrun" : "/var/run", guard);
		bind_add(binds, work, "/home/runner/_work", false);
		json_array_append_new(env, json_string(guard ? "DOCKER_HOST=" DR_GUARD_SOCKET
		                                             : "DOCKER_HOST=unix:///var/run/docker.sock"));
	}
	if (d->mode->docker_client) {
		json_array_append_new(env, json_string("RUNNER_WAIT_FOR_DOCKER_IN_SECONDS=120"));
		if (d->buildkit) {
			json_array_append_new(env, json_string("DOCKER_BUILDKIT=1"));
			json_array_append_new(env, json_string("BUILDKIT_PROGRESS=plain"));
		}
	}
	proxy_env(d, env);
	for (size_t i = 0; i < d->n_mounts; i++)
		bind_add(binds, d->mounts[i].source, d->mounts[i].target, false);
	_cleanup_free_ char *rid = dr_xasprintf("%lld", (long long)r->id);
	json_t *hc = json_pack("{s:o, s:b}", "Binds", binds, "Init", 1);
	if (r->dind_cid && !dr_streq(a->network, "host")) {
		/* The pod's network namespace: what the job's daemon publishes is on localhost. */
		_cleanup_free_ char *ns = dr_xasprintf("container:%s", r->dind_cid);
		json_object_set_new(hc, "NetworkMode", json_string(ns));
	} else if (a->network) {
		json_object_set_new(hc, "NetworkMode", json_string(a->network));
	}
	return json_pack("{s:s, s:[s], s:o, s:{s:s, s:s, s:s, s:s}, s:o}", "Image",
	                 dr_runner_image(d), "Cmd", "/home/runner/run.sh", "Env", env, "Labels",
	                 LABEL_AGENT, a->owner, LABEL_SET, s->name, LABEL_RUNNER, r->name,
	                 LABEL_RUNNER_ID, rid, "HostConfig", hc);
}

/* The guard (docker-socket, dind-daemonset) or the daemon (dind), then the container of
 * runner r. */
static int
launch(set *s, runner *r, const char *jit, dr_err **err)
{
	if (uses_guard(s) && start_guard(s, r, err) < 0)
		return -1;
	/* docker-socket: the guard made the pod folder's externals/ (0777, its own) and holds its
	 * .lock; the copy fills it, as the pod's init container after the guard sidecar. Not in
	 * front of the shared daemon, which does not see the folder (no --pod-dir there). */
	if (uses_guard(s) && !uses_shared_daemon(s) && copy_externals(s, r, err) < 0)
		return -1;
	if (uses_dind(s) && start_dind(s, r, err) < 0)
		return -1;
	_cleanup_json_ json_t *spec = container_spec(s, r, jit);
	return run_container(s->a, r->name, spec, "runner", &r->cid, err);
}

/* Start one runner for s: a JIT config, then launch(). Called with s->mu held. */
static int
start_runner(set *s, dr_err **err)
{
	_cleanup_free_ char *suffix = random_suffix();
	runner r = { .name = dr_xasprintf("%s-%s", s->name, suffix), .started_ms = now_ms() };
	_cleanup_free_ char *jit = NULL;
	if (dr_scaleset_jit(s->ctl, s->id, r.name, &jit, &r.id, err) < 0) {
		runner_free(&r);
		return -1;
	}
	int rc = launch(s, &r, jit, err);
	explicit_bzero(jit, strlen(jit));
	if (rc < 0) {
		discard_parts(s, &r); /* run_container, launch's last step, leaves no container */
		dr_scaleset_remove_runner(s->ctl, r.id, NULL);
		runner_free(&r);
		return -1;
	}
	s->runners = dr_xrealloc(s->runners, (s->n_runners + 1) * sizeof(*s->runners));
	s->runners[s->n_runners++] = r;
	_cleanup_free_ char *dind = r.dind_cid ? dr_xasprintf(", dind %.12s", r.dind_cid) : NULL;
	alog(s, "runner %s started (id %lld, container %.12s%s)", r.name, (long long)r.id, r.cid,
	     dind ? dind : "");
	return 0;
}

static runner *
find_runner(set *s, const char *name)
{
	for (size_t i = 0; name && i < s->n_runners; i++)
		if (dr_streq(s->runners[i].name, name))
			return &s->runners[i];
	return NULL;
}

/* Deregister and remove idle runner i (scale-down or shutdown). False if it is busy after all
 * (the service says JobStillRunning). */
static bool
remove_idle(set *s, size_t i)
{
	runner *r = &s->runners[i];
	_cleanup_err_ dr_err *e = NULL;
	if (dr_scaleset_remove_runner(s->ctl, r->id, &e) < 0) {
		if (e->errnum == DR_SS_STILL_RUNNING) {
			r->busy = true;
			return false;
		}
		set_error(s, e);
		return false;
	}
	_cleanup_err_ dr_err *e2 = NULL;
	if (remove_container(s->a, r->cid, &e2) < 0)
		set_error(s, e2);
	alog(s, "runner %s removed (idle)", r->name);
	drop_runner(s, i);
	return true;
}

static long
code_of(json_t *c)
{
	/* The list has no ExitCode: "Exited (N) 3 seconds ago" in Status. */
	const char *st = json_string_value(json_object_get(c, "Status"));
	long code = -1;
	if (st && sscanf(st, "Exited (%ld)", &code) == 1)
		return code;
	return -1;
}

/* A runner name from a container's label names a folder under the state dir that is removed
 * with the runner: only SET-<suffix>, one path component. */
static bool
runner_name_ok(const set *s, const char *rname)
{
	size_t n = strlen(s->name);
	return rname && strncmp(rname, s->name, n) == 0 && rname[n] == '-' && rname[n + 1] &&
	       !strchr(rname, '/');
}

static bool
container_running(json_t *list, const char *cid)
{
	size_t k;
	json_t *c;
	json_array_foreach(list, k, c)
		if (dr_streq(json_string_value(json_object_get(c, "Id")), cid))
			return dr_streq(json_string_value(json_object_get(c, "State")), "running");
	return false;
}

/* dind: each runner's daemon container found (adopted after a restart); a runner whose
 * daemon is not running is failed (its container removed, deregistered if idle); a daemon
 * container without its runner is removed, with the runner's folder. */
static void
reap_dind(set *s, json_t *list)
{
	size_t k;
	json_t *c;
	json_array_foreach(list, k, c) {
		const char *cid = json_string_value(json_object_get(c, "Id"));
		json_t *labels = json_object_get(c, "Labels");
		const char *rname = json_string_value(json_object_get(labels, LABEL_RUNNER));
		const char *role = json_string_value(json_object_get(labels, LABEL_ROLE));
		if (cid && dr_streq(role, ROLE_EXTERNALS)) {
			/* Never running between two reaps (made and removed under the lock): one
			 * a killed agent left. */
			remove_container(s->a, cid, NULL);
			continue;
		}
		if (!cid || !dr_streq(role, ROLE_DIND))
			continue;
		runner *r = find_runner(s, rname);
		if (r && !r->dind_cid && uses_dind(s)) {
			r->dind_cid = dr_xstrdup(cid);
			alog(s, "runner %s: its dind container %.12s adopted", r->name, cid);
		}
		if (r && dr_streq(r->dind_cid, cid))
			continue;
		_cleanup_free_ char *st = container_state(s->a, cid, NULL);
		if (!st)
			continue; /* removed with its runner in this round */
		_cleanup_err_ dr_err *e = NULL;
		if (stop_daemon_container(s->a, cid, &e) < 0) {
			set_error(s, e);
			continue;
		}
		if (runner_name_ok(s, rname) && !r) {
			_cleanup_free_ char *dir = dr_xasprintf("%s/%s", s->a->state_dir, rname);
			_cleanup_err_ dr_err *fe = NULL;
			if (dr_pod_rm_rf(dir, &fe) < 0)
				set_error(s, fe);
		}
		alog(s, "dind container %.12s of %s removed: its runner is gone", cid,
		     rname ? rname : "?");
	}
	for (size_t i = 0; uses_dind(s) && i < s->n_runners;) {
		runner *r = &s->runners[i];
		if (r->dind_cid && container_running(list, r->dind_cid)) {
			i++;
			continue;
		}
		alog(s, "runner %s: its Docker daemon (dind container) is not running: the runner "
		     "is removed%s",
		     r->name, r->busy || r->done ? ", its job fails" : "");
		_cleanup_err_ dr_err *e = NULL;
		if (r->cid && remove_container(s->a, r->cid, &e) < 0) {
			set_error(s, e);
			i++;
			continue;
		}
		if (!r->busy && !r->done)
			dr_scaleset_remove_runner(s->ctl, r->id, NULL);
		drop_runner(s, i);
	}
}

/* The engine's view of s: exited runners removed (deregistered when they never took a job),
 * running containers of an earlier agent adopted. Called with s->mu held. */
static void
reap(set *s)
{
	_cleanup_json_ json_t *list = NULL;
	_cleanup_err_ dr_err *e = NULL;
	if (list_containers(s->a, s->name, &list, &e) < 0) {
		set_error(s, e);
		return;
	}
	size_t k;
	json_t *c;
	/* Runners we track whose container vanished (removed by hand). */
	for (size_t i = 0; i < s->n_runners;) {
		bool seen = false;
		json_array_foreach(list, k, c)
			if (dr_streq(json_string_value(json_object_get(c, "Id")), s->runners[i].cid))
				seen = true;
		if (!seen) {
			alog(s, "runner %s: its container is gone", s->runners[i].name);
			if (!s->runners[i].busy)
				dr_scaleset_remove_runner(s->ctl, s->runners[i].id, NULL);
			drop_runner(s, i);
		} else {
			i++;
		}
	}
	json_array_foreach(list, k, c) {
		const char *cid = json_string_value(json_object_get(c, "Id"));
		const char *state = json_string_value(json_object_get(c, "State"));
		json_t *labels = json_object_get(c, "Labels");
		const char *rname = json_string_value(json_object_get(labels, LABEL_RUNNER));
		const char *rid = json_string_value(json_object_get(labels, LABEL_RUNNER_ID));
		if (!cid || !state || json_object_get(labels, LABEL_ROLE))
			continue; /* a daemon container: reap_dind */
		runner *r = NULL;
		for (size_t i = 0; i < s->n_runners; i++)
			if (dr_streq(s->runners[i].cid, cid))
				r = &s->runners[i];
		bool alive = dr_streq(state, "running") || dr_streq(state, "created") ||
		             dr_streq(state, "restarting");
		if (alive && !r && runner_name_ok(s, rname)) {
			runner n = { .name = dr_xstrdup(rname), .cid = dr_xstrdup(cid),
				     .id = rid ? strtoll(rid, NULL, 10) : 0, .started_ms = now_ms() };
			n.adopted = true;
			_cleanup_free_ char *dir = dr_xasprintf("%s/%s", s->a->state_dir, rname);
			if (access(dir, F_OK) == 0) {
				/* Its guard outlives the agent (the job's Docker); if it died, the main
				 * loop starts a new one in the same folder. */
				n.guard = find_old_guard(dir, rname);
				n.foreign_guard = n.guard > 0;
				n.dir = TAKE_PTR(dir);
			}
			s->runners = dr_xrealloc(s->runners, (s->n_runners + 1) * sizeof(*s->runners));
			s->runners[s->n_runners++] = n;
			alog(s, "runner %s adopted (container %.12s)", rname, cid);
			continue;
		}
		if (alive)
			continue;
		/* exited, dead, ... */
		bool took_job = r ? r->busy || r->done : false;
		if (r && r->adopted && !took_job && code_of(c) == 0) {
			/* Adopted after a restart: its job's messages went to the old session. Its
			 * registration is gone if it ran its job; DELETE is harmless either way. */
			dr_scaleset_remove_runner(s->ctl, r->id, NULL);
			_cleanup_err_ dr_err *re = NULL;
			if (remove_container(s->a, cid, &re) < 0) {
				set_error(s, re);
				continue;
			}
			alog(s, "runner %s (adopted) exited (code 0): container removed", r->name);
			drop_runner(s, (size_t)(r - s->runners));
			continue;
		}
		long code = code_of(c);
		_cleanup_err_ dr_err *re = NULL;
		if (remove_container(s->a, cid, &re) < 0) {
			set_error(s, re);
			continue;
		}
		if (!took_job) {
			int64_t id = r ? r->id : (rid ? strtoll(rid, NULL, 10) : 0);
			_cleanup_err_ dr_err *de = NULL;
			if (id && dr_scaleset_remove_runner(s->ctl, id, &de) < 0)
				set_error(s, de);
			alog(s, "runner %s exited before taking a job (%s): deregistered",
			     rname ? rname : cid, state);
		} else {
			alog(s, "runner %s exited (code %ld): container removed", rname ? rname : cid,
			     code);
		}
		if (r)
			drop_runner(s, (size_t)(r - s->runners));
	}
	reap_dind(s, list);
}

/* Scale s to the target (§6). Called with s->mu held. */
static void
reconcile(set *s)
{
	if (!s->registered || STOPPING())
		return;
	const dr_runner *d = s->def;
	int target = d->min_runners + s->assigned;
	if (target > d->max_runners)
		target = d->max_runners;
	s->desired = target;
	/* Runners whose job completed are on their way out: they count against --max-runners
	 * (their containers still run) but not as capacity, so an idle one is not removed and
	 * started again while they exit. */
	int alive = 0;
	for (size_t i = 0; i < s->n_runners; i++)
		alive += !s->runners[i].done;
	int total = (int)s->n_runners;
	while (alive < target && total < d->max_runners && now_ms() >= s->next_create_ms &&
	       !STOPPING()) {
		_cleanup_err_ dr_err *e = NULL;
		if (start_runner(s, &e) < 0) {
			set_error(s, e);
			s->next_create_ms = now_ms() + 5000;
			break;
		}
		alive++;
		total++;
	}
	/* Idle runners beyond minRunners go only when no job is assigned (ARC's forced patch). */
	if (s->assigned == 0 && alive > target) {
		for (size_t i = s->n_runners; i-- > 0 && alive > target;)
			if (!s->runners[i].busy && !s->runners[i].done && remove_idle(s, i))
				alive--;
	}
}

/* ---- the listener ---- */

static int
register_set(set *s, dr_err **err)
{
	_cleanup_json_ json_t *found = NULL;
	if (dr_scaleset_find(s->ctl, 1, s->name, &found, err) < 0)
		return -1;
	if (!found) {
		char *const *labels = s->def->labels;
		_cleanup_strv_ char **l = NULL;
		if (labels && *labels) {
			dr_strv_push(&l, s->name);
			for (char *const *x = labels; *x; x++)
				dr_strv_push(&l, *x);
		}
		if (dr_scaleset_create(s->ctl, 1, s->name, l, &found, err) < 0)
			return -1;
		alog(s, "scale set created (id %lld)", (long long)dr_json_iget_int(found, "id"));
	}
	s->id = dr_json_iget_int(found, "id");
	return 0;
}

static void
handle_message(set *s, json_t *msg)
{
	json_t *jobs = dr_json_iget(msg, "body");
	json_t *stats = dr_json_iget(msg, "statistics");
	size_t k;
	json_t *m;
	json_array_foreach(jobs, k, m) {
		const char *type = dr_json_iget_str(m, "messageType");
		const char *rname = dr_json_iget_str(m, "runnerName");
		int64_t req = dr_json_iget_int(m, "runnerRequestId");
		if (dr_streq(type, "JobAvailable")) {
			continue; /* acquired by the listening thread before this */
		} else if (dr_streq(type, "JobAssigned")) {
			alog(s, "job %lld assigned", (long long)req);
		} else if (dr_streq(type, "JobStarted")) {
			s->started_jobs++;
			runner *r = find_runner(s, rname);
			if (r)
				r->busy = true;
			alog(s, "job %lld started on %s", (long long)req, rname ? rname : "?");
		} else if (dr_streq(type, "JobCompleted")) {
			s->completed_jobs++;
			runner *r = find_runner(s, rname);
			if (r)
				r->done = true;
			alog(s, "job %lld completed on %s: %s", (long long)req, rname ? rname : "?",
			     dr_json_iget_str(m, "result") ? dr_json_iget_str(m, "result") : "?");
		}
	}
	s->assigned = (int)dr_json_iget_int(stats, "totalAssignedJobs");
	json_decref(s->stats);
	s->stats = json_incref(stats);
}

/* The listener's half of a message, on the session's own client and without the set's lock
 * (network calls with retries must not stall the reconciler): ack first, then acquire what
 * is offered (§6). */
static void
ack_and_acquire(set *s, json_t *msg, int64_t id)
{
	_cleanup_err_ dr_err *e = NULL;
	if (dr_scaleset_ack(s->client, id, &e) < 0)
		set_error_locked(s, e);
	_cleanup_json_ json_t *acquire = json_array();
	size_t k;
	json_t *m;
	json_array_foreach(dr_json_iget(msg, "body"), k, m)
		if (dr_streq(dr_json_iget_str(m, "messageType"), "JobAvailable"))
			json_array_append_new(acquire,
			                      json_integer(dr_json_iget_int(m, "runnerRequestId")));
	if (json_array_size(acquire) == 0)
		return;
	_cleanup_err_ dr_err *ae = NULL;
	if (dr_scaleset_acquire(s->client, acquire, NULL, &ae) < 0)
		set_error_locked(s, ae);
	else
		alog(s, "acquired %zu job(s)", json_array_size(acquire));
}

static void *
listen_set(void *arg)
{
	set *s = arg;
	long backoff = 1000;
	while (!STOPPING()) {
		/* Register (the set's client, under the lock) and open the session (this thread's
		 * client), again after an error. */
		_cleanup_err_ dr_err *e = NULL;
		_cleanup_json_ json_t *session = NULL;
		pthread_mutex_lock(&s->mu);
		int rc = s->id ? 0 : register_set(s, &e);
		int64_t id = s->id;
		pthread_mutex_unlock(&s->mu);
		if (rc == 0)
			rc = dr_scaleset_session_open(s->client, id, s->a->owner, &session, &e);
		pthread_mutex_lock(&s->mu);
		if (rc == 0) {
			json_t *st = dr_json_iget(session, "statistics");
			s->registered = true;
			s->assigned = (int)dr_json_iget_int(st, "totalAssignedJobs");
			json_decref(s->stats);
			s->stats = json_incref(st);
			alog(s, "session open (scale set %lld, %d job(s) assigned)", (long long)s->id,
			     s->assigned);
			reconcile(s);
		} else {
			set_error(s, e);
			if (e->errnum == DR_SS_NOT_FOUND)
				s->id = 0; /* the set was deleted server-side: register it again */
		}
		pthread_mutex_unlock(&s->mu);
		if (rc < 0) {
			/* 409: another listener holds the set, or our own killed predecessor's
			 * session, until the service expires it. */
			long wait = e->errnum == DR_SS_CONFLICT ? 10000 : backoff;
			backoff = backoff * 2 > 60000 ? 60000 : backoff * 2;
			nap_ms(wait);
			continue;
		}
		backoff = 1000;
		int64_t last = 0;
		while (!STOPPING()) {
			_cleanup_json_ json_t *msg = NULL;
			_cleanup_err_ dr_err *pe = NULL;
			if (dr_scaleset_get_message(s->client, last, s->def->max_runners, POLL_TIMEOUT_MS,
			                            &msg, &pe) < 0) {
				if (STOPPING())
					break;
				pthread_mutex_lock(&s->mu);
				set_error(s, pe);
				s->registered = false;
				pthread_mutex_unlock(&s->mu);
				_cleanup_err_ dr_err *ce = NULL;
				dr_scaleset_session_close(s->client, &ce);
				nap_ms(backoff);
				break;
			}
			if (msg) {
				last = dr_json_iget_int(msg, "messageId");
				ack_and_acquire(s, msg, last);
			}
			pthread_mutex_lock(&s->mu);
			if (msg)
				handle_message(s, msg);
			reconcile(s);
			pthread_mutex_unlock(&s->mu);
		}
	}
	return NULL;
}

/* ---- shutdown ---- */

static void
shutdown_sets(agent *a)
{
	for (size_t i = 0; i < a->n_sets; i++) {
		set *s = &a->sets[i];
		pthread_mutex_lock(&s->mu);
		_cleanup_err_ dr_err *e = NULL;
		atomic_int *c = s->client->cancel;
		s->client->cancel = NULL; /* these last calls must go out */
		s->ctl->cancel = NULL;
		if (s->client->session_id) {
			if (dr_scaleset_session_close(s->client, &e) < 0)
				set_error(s, e);
			else
				alog(s, "session deleted");
		}
		for (size_t k = s->n_runners; k-- > 0;)
			if (!s->runners[k].busy && !s->runners[k].done)
				remove_idle(s, k);
		s->client->cancel = c;
		s->ctl->cancel = c;
		pthread_mutex_unlock(&s->mu);
	}
	long end = now_ms() + a->drain_ms;
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < a->n_sets; i++) {
			set *s = &a->sets[i];
			pthread_mutex_lock(&s->mu);
			s->ctl->cancel = NULL;
			reap(s);
			left += s->n_runners;
			pthread_mutex_unlock(&s->mu);
		}
		if (left == 0 || now_ms() >= end) {
			if (left)
				alog(NULL, "%zu busy runner(s) still running: the next agent adopts them",
				     left);
			break;
		}
		struct timespec ts = { 0, 500 * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* Guards of runners left running stay: they are those jobs' Docker, and the next agent
	 * adopts them with their runners. */
}

/* ---- metrics ---- */

/* The Prometheus text of every set: the gauges and counters of ARC's listener that have a
 * meaning here, under the same names (gha_*), labelled name, namespace (empty), and the
 * runner URL's enterprise, organization and repository. */
static char *
metrics_text(agent *a)
{
	static const struct {
		const char *name, *help, *stat;
	} gauges[] = {
		{ "gha_available_jobs", "Jobs available to the scale set.", "totalAvailableJobs" },
		{ "gha_acquired_jobs", "Jobs acquired by the scale set.", "totalAcquiredJobs" },
		{ "gha_assigned_jobs", "Jobs assigned to the scale set.", "totalAssignedJobs" },
		{ "gha_running_jobs", "Jobs running.", "totalRunningJobs" },
		{ "gha_registered_runners", "Runners registered.", "totalRegisteredRunners" },
		{ "gha_busy_runners", "Runners busy.", "totalBusyRunners" },
		{ "gha_idle_runners", "Runners idle.", "totalIdleRunners" },
	};
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	_cleanup_strv_ char **labels = NULL;
	for (size_t i = 0; i < a->n_sets; i++) {
		set *s = &a->sets[i];
		const char *sc = s->ctl->scope;
		_cleanup_free_ char *ent = NULL, *org = NULL, *repo = NULL;
		if (dr_startswith(sc, "enterprises/"))
			ent = dr_xstrdup(sc + 12);
		else if (dr_startswith(sc, "orgs/"))
			org = dr_xstrdup(sc + 5);
		else if (dr_startswith(sc, "repos/")) {
			const char *slash = strchr(sc + 6, '/');
			org = dr_xstrndup(sc + 6, slash ? (size_t)(slash - sc - 6) : strlen(sc + 6));
			repo = dr_xstrdup(slash ? slash + 1 : "");
		}
		char *l = dr_xasprintf("name=\"%s\",namespace=\"\",enterprise=\"%s\",organization=\"%s\","
		                       "repository=\"%s\"",
		                       s->name, ent ? ent : "", org ? org : "", repo ? repo : "");
		dr_strv_push(&labels, l);
		free(l);
	}
	for (size_t g = 0; g < DR_ARRAY_LEN(gauges); g++) {
		dr_buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help,
		              gauges[g].name);
		for (size_t i = 0; i < a->n_sets; i++) {
			set *s = &a->sets[i];
			pthread_mutex_lock(&s->mu);
			long v = (long)dr_json_iget_int(s->stats, gauges[g].stat);
			pthread_mutex_unlock(&s->mu);
			dr_buf_printf(&b, "%s{%s} %ld\n", gauges[g].name, labels[i], v);
		}
	}
	static const char *const own[][2] = {
		{ "gha_min_runners", "--min-runners of the scale set." },
		{ "gha_max_runners", "--max-runners of the scale set." },
		{ "gha_desired_runners", "Runners the agent wants: min(min + assigned, max)." },
		{ "gha_started_jobs_total", "JobStarted messages." },
		{ "gha_completed_jobs_total", "JobCompleted messages." },
	};
	for (size_t g = 0; g < DR_ARRAY_LEN(own); g++) {
		bool counter = dr_endswith(own[g][0], "_total");
		dr_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", own[g][0], own[g][1], own[g][0],
		              counter ? "counter" : "gauge");
		for (size_t i = 0; i < a->n_sets; i++) {
			set *s = &a->sets[i];
			pthread_mutex_lock(&s->mu);
			long v = g == 0 ? s->def->min_runners
			         : g == 1 ? s->def->max_runners
			         : g == 2 ? s->desired
			         : g == 3 ? s->started_jobs
			                  : s->completed_jobs;
			pthread_mutex_unlock(&s->mu);
			dr_buf_printf(&b, "%s{%s} %ld\n", own[g][0], labels[i], v);
		}
	}
	return dr_buf_steal(&b);
}

/* One connection: read the request head (2 s), answer /metrics or 404, close. */
static void
serve_metrics_once(agent *a, int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[4096];
	size_t n = 0;
	while (n < sizeof(req) - 1) {
		ssize_t got = recv(fd, req + n, sizeof(req) - 1 - n, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	bool ok = dr_startswith(req, "GET /metrics ") || dr_startswith(req, "GET /metrics?");
	_cleanup_free_ char *body = ok ? metrics_text(a) : dr_xstrdup("not found: try /metrics\n");
	_cleanup_free_ char *head = dr_xasprintf(
		"HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: %zu\r\nConnection: close\r\n\r\n",
		ok ? "200 OK" : "404 Not Found", strlen(body));
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) > 0)
		send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void *
serve_metrics(void *arg)
{
	agent *a = arg;
	while (!STOPPING()) {
		struct pollfd p = { .fd = a->metrics_fd, .events = POLLIN };
		if (poll(&p, 1, 500) <= 0)
			continue;
		int fd = accept4(a->metrics_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_metrics_once(a, fd);
		close(fd);
	}
	return NULL;
}

/* Listen on ADDR:PORT, a loopback IPv4 address (metrics are not for the network). */
static int
listen_metrics(agent *a, const char *addr, dr_err **err)
{
	struct sockaddr_in sin;
	if (dr_local_metrics_addr(addr, false, &sin, err) < 0)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "--metrics-addr %s", addr);
	}
	socklen_t len = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	a->metrics_fd = fd;
	char host[INET_ADDRSTRLEN] = "127.0.0.1";
	inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host));
	alog(NULL, "metrics on http://%s:%d/metrics", host, ntohs(sin.sin_port));
	return 0;
}

/* ---- the command ---- */

static int
prepare_set(agent *a, set *s, const dr_runner *d, dr_err **err)
{
	if (dr_local_check(d, a->ep.path != NULL, err) < 0)
		return -1;
	s->a = a;
	s->def = d;
	s->name = dr_xstrdup(d->name);
	s->client = dr_scaleset_new(d->repository, &d->auth, d->proxy, err);
	s->ctl = s->client ? dr_scaleset_new(d->repository, &d->auth, d->proxy, err) : NULL;
	if (!s->ctl) {
		dr_scaleset_free(s->client);
		s->client = NULL;
		free(s->name);
		s->name = NULL;
		return dr_err_prefix(err, "%s", d->name);
	}
	s->client->cancel = &stopping;
	s->ctl->cancel = &stopping;
	pthread_mutex_init(&s->mu, NULL);
	return 0;
}

static void
on_stop(int sig)
{
	if (sig == SIGUSR1)
		atomic_store_explicit(&handover, 1, memory_order_relaxed);
	atomic_store_explicit(&stopping, 1, memory_order_relaxed);
}

/* status.json in the state dir, for `deskrun status`: written atomically when what it says
 * changed (*last holds what was written last; owned). True when it changed. */
static bool
write_status(agent *a, char **last)
{
	json_t *sets = json_array();
	for (size_t i = 0; i < a->n_sets; i++) {
		set *s = &a->sets[i];
		pthread_mutex_lock(&s->mu);
		int busy = 0;
		json_t *runners = json_array();
		for (size_t k = 0; k < s->n_runners; k++) {
			runner *r = &s->runners[k];
			busy += r->busy || r->done;
			json_array_append_new(runners,
			                      json_pack("{s:s, s:I, s:s}", "name", r->name, "id",
			                                (json_int_t)r->id, "state",
			                                r->busy || r->done ? "busy" : "idle"));
		}
		json_t *o = json_pack("{s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:o}", "name",
		                      s->name, "id", (json_int_t)s->id, "min", s->def->min_runners,
		                      "max", s->def->max_runners, "assigned", s->assigned, "idle",
		                      (int)s->n_runners - busy, "busy", busy, "session",
		                      s->registered ? "open" : "connecting", "runners", runners);
		if (s->last_error)
			json_object_set_new(o, "lastError", json_string(s->last_error));
		pthread_mutex_unlock(&s->mu);
		json_array_append_new(sets, o);
	}
	_cleanup_json_ json_t *st = json_pack("{s:I, s:s, s:o}", "pid", (json_int_t)getpid(),
	                                      "engine", a->ep.url, "sets", sets);
	char *text = json_dumps(st, JSON_INDENT(2));
	if (!text || (*last && strcmp(text, *last) == 0)) {
		free(text);
		return false;
	}
	_cleanup_free_ char *path = dr_xasprintf("%s/status.json", a->state_dir);
	_cleanup_free_ char *tmp = dr_xasprintf("%s/.status.json.tmp", a->state_dir);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && dr_write_all(fd, text, strlen(text)) == 0 && dr_write_all(fd, "\n", 1) == 0 &&
	    rename(tmp, path) == 0) {
		free(*last);
		*last = text;
		return true;
	}
	free(text); /* tried again next second */
	return true;
}

/* This process's resident set in kB (/proc/self/statm), or -1. */
static long
rss_kb(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/statm", "re");
	long size = 0, res = 0;
	if (!f || fscanf(f, "%ld %ld", &size, &res) != 2)
		return -1;
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Start-up touches code and read-only data the idle agent never uses again (OpenSSL's
 * initialisation and CA loading, the config's parsing, the engine's first answers), and the
 * kernel maps neighbouring file pages around every fault: those pages stay in the agent's
 * resident set. Once every session is open, drop them from its page tables: read-only
 * file-backed mappings none of whose pages were copied (no anonymous page: no relocation or
 * RELRO write) read the same from the page cache when used again, so MADV_DONTNEED loses
 * nothing; then give free heap back. The working set of the idle loop faults back in. Done
 * each time the agent turns quiet (every session open, its report unchanged for 10 s). With
 * DESKRUN_AGENT_NO_TRIM=1 nothing is dropped (bench/local's baseline). */
static void
trim_resident(void)
{
	const char *no = getenv("DESKRUN_AGENT_NO_TRIM");
	if (no && dr_streq(no, "1"))
		return;
	long before = rss_kb();
	_cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return;
	uintptr_t ranges[256][2];
	size_t n = 0;
	uintptr_t lo = 0, hi = 0;
	bool candidate = false;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long a = 0, b = 0;
		char perms[8] = "", path[256] = "";
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &a, &b, perms, path) >= 3 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			lo = a, hi = b;
			candidate = perms[1] != 'w' && perms[0] == 'r' && path[0] == '/';
			continue;
		}
		long kb = 0;
		if (candidate && sscanf(line, "Anonymous: %ld kB", &kb) == 1 && kb == 0 &&
		    n < DR_ARRAY_LEN(ranges)) {
			ranges[n][0] = lo, ranges[n][1] = hi;
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		madvise((void *)ranges[i][0], ranges[i][1] - ranges[i][0], MADV_DONTNEED);
	malloc_trim(0);
	alog(NULL, "quiet: start-up pages released, RSS %ld -> %ld kB", before, rss_kb());
}

static int
run_agent(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *host = NULL, *network = NULL, *state_dir = "/var/lib/deskrun/agent",
		   *owner = NULL, *metrics = NULL;
	long drain = DR_AGENT_DRAIN_MS;
	_cleanup_strv_ char **only = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_agent, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_agent, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG)
			return dr_usage_extra_arg(&dr_cmd_agent, v, err);
		switch (id) {
		case OPT_SET: dr_strv_push(&only, v); break;
		case OPT_HOST: host = v; break;
		case OPT_NETWORK: network = v; break;
		case OPT_STATE_DIR: state_dir = v; break;
		case OPT_OWNER: owner = v; break;
		case OPT_METRICS: metrics = v; break;
		case OPT_DRAIN:
			if (dr_duration_parse("--drain", v, &drain, err) < 0)
				return -1;
			break;
		default: break;
		}
	}
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *cfg = NULL;
	if (dr_config_path(cli->config_flag, &path, err) < 0 || dr_config_load(path, &cfg, err) < 0)
		return -1;
	agent a = { .network = network, .drain_ms = drain, .metrics_fd = -1 };
	const char *flag = "--host";
	if (!host) {
		host = getenv("DOCKER_HOST");
		flag = "DOCKER_HOST";
		if (!host || !*host)
			host = DR_POD_DEFAULT_DOCKER_HOST, flag = "the default engine";
	}
	if (dr_pod_endpoint_parse(flag, host, &a.ep, err) < 0)
		return -1;
	if (metrics && listen_metrics(&a, metrics, err) < 0) {
		dr_pod_endpoint_clear(&a.ep);
		return -1;
	}
	char hn[256] = "deskrun";
	gethostname(hn, sizeof(hn) - 1);
	a.owner = dr_xstrdup(owner ? owner : hn);
	a.self_exe = dr_self_exe();
	a.dind_exe = dr_static_exe();
	a.settings = &cfg->settings;
	a.ds_sock = dr_xasprintf("%s/daemonset/sock/docker.sock", cfg->settings.cache_root);
	pthread_mutex_init(&a.ds_mu, NULL);
	a.state_dir = dr_xstrdup(state_dir);
	int rc = -1;
	for (char **o = only; o && *o; o++)
		if (!dr_config_find(cfg, *o)) {
			dr_fail(err, DR_EXIT_USAGE, "--set %s: no such runner definition (see deskrun list)",
			        *o);
			goto out;
		}
	a.sets = dr_xcalloc(cfg->n_runners ? cfg->n_runners : 1, sizeof(*a.sets));
	for (size_t i = 0; i < cfg->n_runners; i++) {
		const dr_runner *d = cfg->runners[i];
		if (only && !dr_strv_contains(only, d->name))
			continue;
		if (prepare_set(&a, &a.sets[a.n_sets], d, err) < 0)
			goto out;
		a.n_sets++;
	}
	if (a.n_sets == 0) {
		dr_fail(err, DR_EXIT_USAGE, "no runner definitions to serve: add one with deskrun add");
		goto out;
	}
	if (dr_mkdir_p(a.state_dir, 0700, err) < 0) {
		dr_err_prefix(err, "the state directory");
		goto out;
	}
	{
		int st = 0;
		_cleanup_json_ json_t *ver = NULL;
		if (engine(&a, "GET", "/version", NULL, &st, &ver, err) < 0 || st != 200) {
			if (st)
				dr_fail(err, DR_EXIT_FAIL, "the engine at %s answered /version with HTTP %d",
				        a.ep.url, st);
			dr_err_prefix(err, "is the engine running? (wait-docker --host %s)", a.ep.url);
			goto out;
		}
		const char *pname = json_string_value(
			json_object_get(json_object_get(ver, "Platform"), "Name"));
		const char *version = json_string_value(json_object_get(ver, "Version"));
		alog(NULL, "serving %zu scale set(s) on %s (%s %s), pid %ld", a.n_sets, a.ep.url,
		     pname && *pname ? pname : "engine", version ? version : "?", (long)getpid());
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Adopt what an earlier agent left, before any scaling: runners, and the shared daemon
	 * (stopped with this agent when no runner is left on it). */
	bool shared = false;
	for (size_t i = 0; i < a.n_sets; i++) {
		reap(&a.sets[i]);
		shared = shared || uses_shared_daemon(&a.sets[i]);
	}
	_cleanup_err_ dr_err *de = NULL;
	if (shared && adopt_shared_daemon(&a, &de) < 0) /* one lookup for every such set */
		for (size_t i = 0; i < a.n_sets; i++)
			if (uses_shared_daemon(&a.sets[i]))
				set_error(&a.sets[i], de);
	pthread_t metrics_thread;
	if (a.metrics_fd >= 0)
		pthread_create(&metrics_thread, NULL, serve_metrics, &a);
	for (size_t i = 0; i < a.n_sets; i++)
		pthread_create(&a.sets[i].thread, NULL, listen_set, &a.sets[i]);
	char *last_status = NULL;
	bool trimmed = false;
	long quiet_since = now_ms();
	while (!STOPPING()) {
		nap_ms(1000);
		if (STOPPING())
			break;
		bool all_open = true;
		for (size_t i = 0; i < a.n_sets; i++) {
			set *s = &a.sets[i];
			pthread_mutex_lock(&s->mu);
			reap(s);
			for (size_t k = 0; k < s->n_runners; k++) {
				runner *r = &s->runners[k];
				if (r->guard > 0 && !guard_alive(r)) {
					alog(s, "the guard of %s exited: restarting it", r->name);
					r->guard = 0;
					r->foreign_guard = false;
				}
				if (r->dir && r->guard == 0 && uses_guard(s)) {
					_cleanup_err_ dr_err *ge = NULL;
					free(r->dir);
					r->dir = NULL;
					if (start_guard(s, r, &ge) < 0)
						set_error(s, ge);
				}
			}
			reconcile(s);
			all_open &= s->registered;
			pthread_mutex_unlock(&s->mu);
		}
		if (write_status(&a, &last_status)) {
			quiet_since = now_ms();
			trimmed = false;
		}
		if (all_open && !trimmed && now_ms() - quiet_since >= QUIET_TRIM_MS) {
			trim_resident();
			trimmed = true;
		}
	}
	if (atomic_load_explicit(&handover, memory_order_relaxed))
		a.drain_ms = 0; /* busy runners go to the next agent, which adopts them */
	alog(NULL, "stopping%s: closing sessions, removing idle runners",
	     atomic_load_explicit(&handover, memory_order_relaxed)
	             ? " (handing busy runners over to the next agent)"
	             : "");
	for (size_t i = 0; i < a.n_sets; i++)
		pthread_join(a.sets[i].thread, NULL);
	if (a.metrics_fd >= 0)
		pthread_join(metrics_thread, NULL);
	free(last_status);
	shutdown_sets(&a);
	stop_shared_daemon(&a);
	{
		_cleanup_free_ char *st = dr_xasprintf("%s/status.json", a.state_dir);
		unlink(st);
	}
	alog(NULL, "stopped");
	rc = 0;
out:
	for (size_t i = 0; i < a.n_sets; i++) {
		set *s = &a.sets[i];
		for (size_t k = 0; k < s->n_runners; k++)
			runner_free(&s->runners[k]);
		free(s->runners);
		free(s->name);
		free(s->last_error);
		json_decref(s->stats);
		dr_scaleset_free(s->client);
		dr_scaleset_free(s->ctl);
		pthread_mutex_destroy(&s->mu);
	}
	free(a.sets);
	if (a.metrics_fd >= 0)
		close(a.metrics_fd);
	free(a.owner);
	free(a.self_exe);
	free(a.dind_exe);
	free(a.ds_cid);
	free(a.ds_sock);
	pthread_mutex_destroy(&a.ds_mu);
	free(a.state_dir);
	dr_pod_endpoint_clear(&a.ep);
	return rc;
}

const dr_cmd dr_cmd_agent = {
	.name = "agent",
	.summary = "run the local provider's scale sets on this host's Docker or podman engine",
	.synopsis = "[--set NAME]... [--host URL] [--network NAME] [--state-dir DIR] "
	            "[--drain DURATION] [--owner NAME] [--metrics-addr 127.0.0.1:PORT]",
	.description =
		"Runs in the foreground until SIGTERM or SIGINT. For every runner definition (or each "
		"--set), registers the scale set with GitHub (PAT or GitHub App of the definition, "
		"its --proxy), opens a message session and long-polls it, and keeps min(--min-runners "
		"+ assigned jobs, --max-runners) ephemeral runners: each one a JIT-configured "
		"container of the runner image (run as /home/runner/run.sh, the config in "
		"ACTIONS_RUNNER_INPUT_JITCONFIG), labelled deskrun.io/agent, deskrun.io/set, "
		"deskrun.io/runner-name and deskrun.io/runner-id, removed when it exits. A runner "
		"that exits before taking a job is deregistered. Mode docker-socket gives each "
		"runner its own deskrun guard on the engine's socket (mounted at /run/deskrun); "
		"with --no-guard the raw socket. Mode dind gives each runner a privileged dind "
		"container (RUNNER-dind, labelled deskrun.io/role=dind) sharing /var/run and the "
		"work folder, whose network namespace the runner joins; with --cache-pool it runs "
		"'deskrun dind-entrypoint' on the pool under the cache root, from the agent's static "
		"binary; it is removed with its runner, and a runner whose daemon died is removed. "
		"Mode dind-daemonset runs one shared daemon container (deskrun-dind, data under "
		"<cache-root>/daemonset) and a guard per runner in front of it. kubernetes, "
		"cached-privileged-kubernetes and containerd-socket need Kubernetes and are refused "
		"with the reason.\n\n"
		"On SIGTERM the sessions are deleted (no new jobs), idle runners removed, and busy "
		"ones waited for up to --drain (SIGUSR1: not waited for, as 'up' restarts it); a "
		"later agent adopts runner containers still running and removes exited ones. Log "
		"lines go to stderr, one per event; status.json in --state-dir (rewritten when it "
		"changes) says what 'deskrun status' shows. With --metrics-addr, Prometheus metrics with the names of "
		"ARC's listener (gha_assigned_jobs, gha_idle_runners, gha_desired_runners, ...) on "
		"loopback.",
	.opts = agent_opts,
	.run = run_agent,
};
