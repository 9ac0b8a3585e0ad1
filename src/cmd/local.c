/* local.c: the local provider (`cluster create --provider local`): no Kubernetes, `deskrun
 * agent` on this host's Docker or podman engine. `up` (re)starts the agent as a daemon serving
 * the runners it names (all by default), `down` stops serving some or all of them (the agent
 * drains, then restarts with the rest), `status` reads what the agent reports. The agent's
 * folder (the cluster's state_dir) holds:
 *   agent.pid    the running agent (written by `up`)
 *   agent.log    its log, one line per event
 *   served       the runners it serves, one name a line (written by `up`/`down`)
 *   status.json  what it reports every second (written by the agent, atomically) */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "sys/spawn.h"
#include "cmd/cmd.h"
#include "cmd/local.h"
#include "buildinfo.h"
#include "lib/buf.h"
#include "lib/mode.h"
#include "pod/http.h"
#include "sys/config_store.h"
#include "sys/fsutil.h"
#include "sys/kube.h"
#include "sys/log.h"
#include "sys/progress.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int
dr_local_check(const dr_runner *d, bool unix_engine, dr_err **err)
{
	const dr_mode *m = d->mode;
	if (m != &dr_mode_docker_socket && m != &dr_mode_dind && m != &dr_mode_dind_daemonset)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: mode %s needs Kubernetes (%s): locally use --mode docker-socket, "
		               "dind or dind-daemonset, or a Kubernetes cluster",
		               d->name, m->name,
		               m->kube_mode ? "it runs each job as a pod through ARC's container hooks"
		                            : "it hands jobs the node's containerd socket, which a "
		                              "Docker or podman engine does not serve");
	if (dr_runner_docker_storage(d) == DR_STORAGE_PVC)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: --docker-storage pvc needs Kubernetes: locally use hostpath (or "
		               "--cache /var/lib/docker, or --cache-pool N)",
		               d->name);
	if (m == &dr_mode_dind_daemonset && d->cache_pool)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: --cache-pool with dind-daemonset is not served locally: the local "
		               "shared daemon keeps <cache-root>/daemonset/docker; drop --cache-pool",
		               d->name);
	if (d->instances > 1)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: --instances %d has no meaning locally: one agent serves the set "
		               "(use --max-runners)",
		               d->name, d->instances);
	if (d->no_guard && !unix_engine)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: --no-guard needs the engine on a unix socket to mount", d->name);
	return 0;
}

static const char *
state_dir(const dr_cluster *cl)
{
	return cl->state_dir ? cl->state_dir : DR_LOCAL_STATE_DIR;
}

int
dr_local_create(const char *engine, const char *dir, const char *network, dr_cluster **out,
                dr_err **err)
{
	const char *flag = "--engine";
	if (!engine) {
		engine = getenv("DOCKER_HOST");
		flag = "DOCKER_HOST";
		if (!engine || !*engine)
			engine = DR_POD_DEFAULT_DOCKER_HOST, flag = "the default engine";
	}
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	if (dr_pod_endpoint_parse(flag, engine, &ep, err) < 0)
		return -1;
	if (dir && *dir != '/')
		return dr_fail(err, DR_EXIT_USAGE, "--state-dir \"%s\": give an absolute path", dir);
	dr_pod_http_request req = { .method = "GET", .target = "/_ping", .max_body = 4096,
		                    .timeout_ms = 5000 };
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	if (dr_pod_http_do(&ep, &req, &r, err) < 0)
		return dr_err_prefix(err, "the engine at %s does not answer (start dockerd, or "
		                     "'podman system service'; or give --engine unix:///PATH)",
		                     ep.url);
	if (r.status != 200)
		return dr_fail(err, DR_EXIT_FAIL, "the engine at %s answered /_ping with HTTP %d",
		               ep.url, r.status);
	dr_cluster *cl = dr_cluster_new(DR_PROVIDER_LOCAL, "local", "local");
	cl->engine = dr_xstrdup(ep.url);
	if (dir)
		cl->state_dir = dr_xstrdup(dir);
	if (network)
		cl->network = dr_xstrdup(network);
	*out = cl;
	return 0;
}

static int
record_default(dr_config *c, void *arg, dr_err **err)
{
	(void)err;
	if (!c->cluster) /* a cluster recorded meanwhile by another deskrun wins */
		c->cluster = dr_cluster_copy(arg);
	return 0;
}

int
dr_local_default(const char *path, dr_config *c, dr_err **err)
{
	(void)err;
	if (c->cluster)
		return 0;
	const char *engine = getenv("DOCKER_HOST");
	dr_cluster *cl = dr_cluster_new(DR_PROVIDER_LOCAL, "local", "local");
	cl->engine = dr_xstrdup(engine && *engine ? engine : DR_POD_DEFAULT_DOCKER_HOST);
	c->cluster = cl;
	if (!dr_quiet())
		dr_note("no cluster recorded in %s: the local provider (the default), 'deskrun agent' "
		        "on %s; 'deskrun cluster create' records a Kubernetes cluster instead",
		        path, cl->engine);
	return 0;
}

/* up on the default: the engine checked (as cluster create --provider local) and recorded. */
static int
record_default_cluster(const char *path, dr_err **err)
{
	_cleanup_cluster_ dr_cluster *cl = NULL;
	if (dr_local_create(NULL, NULL, NULL, &cl, err) < 0)
		return dr_err_prefix(err, "the local provider (the default; 'deskrun cluster create' "
		                     "for Kubernetes)");
	return dr_config_edit(path, record_default, cl, err);
}

/* ---- the agent's files ---- */

static char *
state_file(const dr_cluster *cl, const char *name)
{
	return dr_xasprintf("%s/%s", state_dir(cl), name);
}

/* The pid the agent reports in status.json (an agent under systemd has no agent.pid), or 0. */
static long
status_pid(const dr_cluster *cl)
{
	_cleanup_free_ char *p = state_file(cl, "status.json");
	_cleanup_json_ json_t *st = json_load_file(p, 0, NULL);
	return (long)json_integer_value(json_object_get(st, "pid"));
}

/* The running agent's pid, or 0: the pid file written by up (else the one in status.json),
 * checked against the process's argv. */
static pid_t
agent_pid(const dr_cluster *cl)
{
	_cleanup_free_ char *pf = state_file(cl, "agent.pid");
	_cleanup_fclose_ FILE *f = fopen(pf, "r");
	long pid = 0;
	if (!f || fscanf(f, "%ld", &pid) != 1)
		pid = status_pid(cl);
	if (pid <= 1)
		return 0;
	_cleanup_free_ char *cp = dr_xasprintf("/proc/%ld/cmdline", pid);
	_cleanup_fclose_ FILE *c = fopen(cp, "r");
	if (!c)
		return 0;
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, c);
	buf[n] = '\0';
	bool agent = false, dir = false;
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
		agent |= dr_streq(buf + i, "agent");
		dir |= dr_streq(buf + i, state_dir(cl));
	}
	return agent && dir ? (pid_t)pid : 0;
}

static char **
read_served(const dr_cluster *cl)
{
	_cleanup_free_ char *p = state_file(cl, "served");
	_cleanup_fclose_ FILE *f = fopen(p, "r");
	char **v = NULL;
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line && !dr_strv_contains(v, line))
			dr_strv_push(&v, line);
	}
	return v;
}

static int
write_served(const dr_cluster *cl, char **names, dr_err **err)
{
	_cleanup_free_ char *p = state_file(cl, "served");
	_cleanup_free_ char *tmp = dr_xasprintf("%s.tmp", p);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "write %s", tmp);
	for (char **n = names; n && *n; n++)
		fprintf(f, "%s\n", *n);
	if (fclose(f) != 0 || rename(tmp, p) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "write %s", p);
	return 0;
}

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stop the agent: SIGTERM drains busy runners (down), SIGUSR1 hands them to the next agent
 * (up). Waits for its exit up to timeout_ms. */
static int
stop_agent(const dr_cluster *cl, int sig, long timeout_ms, dr_err **err)
{
	pid_t pid = agent_pid(cl);
	if (pid == 0)
		return 0;
	kill(pid, sig);
	long end = now_ms() + timeout_ms;
	while (kill(pid, 0) == 0) {
		if (now_ms() >= end)
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "the agent (pid %ld) did not stop within %ld s: see %s/agent.log",
			               (long)pid, timeout_ms / 1000, state_dir(cl));
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	_cleanup_free_ char *pf = state_file(cl, "agent.pid");
	unlink(pf);
	return 0;
}

/* Start the agent as a daemon (its own session, the log appended to agent.log) serving `names`;
 * *child is its pid (our child until we exit). */
static int
start_agent(const char *config_path, const dr_cluster *cl, char **names, pid_t *child,
            dr_err **err)
{
	const char *dir = state_dir(cl);
	_cleanup_free_ char *exe = dr_self_exe();
	_cleanup_free_ char *logp = state_file(cl, "agent.log");
	_cleanup_free_ char *status = state_file(cl, "status.json");
	unlink(status);
	_cleanup_strv_ char **argv = NULL;
	const char *head[] = { exe, "--config", config_path, "agent", "--state-dir", dir, "--host",
		               cl->engine ? cl->engine : DR_POD_DEFAULT_DOCKER_HOST, NULL };
	for (size_t i = 0; head[i]; i++)
		dr_strv_push(&argv, head[i]);
	if (cl->network) {
		dr_strv_push(&argv, "--network");
		dr_strv_push(&argv, cl->network);
	}
	if (cl->metrics_addr) {
		dr_strv_push(&argv, "--metrics-addr");
		dr_strv_push(&argv, cl->metrics_addr);
	}
	for (char **n = names; n && *n; n++) {
		dr_strv_push(&argv, "--set");
		dr_strv_push(&argv, *n);
	}
	/* Its own session: the agent outlives this command and its terminal. */
	pid_t pid = 0;
	if (dr_spawn_daemon(exe, argv, NULL, logp, true, &pid, err) < 0)
		return dr_err_prefix(err, "start the agent");
	*child = pid;
	_cleanup_free_ char *pf = state_file(cl, "agent.pid");
	FILE *f = fopen(pf, "we");
	if (f) {
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
	return 0;
}

static json_t *
read_status(const dr_cluster *cl)
{
	_cleanup_free_ char *p = state_file(cl, "status.json");
	return json_load_file(p, 0, NULL);
}

/* Wait until the agent (our child) reports every set with its session open, or fails early. */
static int
wait_sessions(const dr_cluster *cl, pid_t child, size_t n, long wait_ms, dr_err **err)
{
	long end = now_ms() + wait_ms;
	for (;;) {
		int ws;
		if (child > 0 && waitpid(child, &ws, WNOHANG) == child) {
			_cleanup_free_ char *pf = state_file(cl, "agent.pid");
			unlink(pf);
			return dr_fail(err, DR_EXIT_FAIL, "the agent exited at start: see %s/agent.log",
			               state_dir(cl));
		}
		_cleanup_json_ json_t *st = read_status(cl);
		size_t open = 0, k;
		json_t *s;
		const char *last = NULL, *which = NULL;
		json_array_foreach(json_object_get(st, "sets"), k, s) {
			if (dr_streq(json_string_value(json_object_get(s, "session")), "open"))
				open++;
			else if (json_string_value(json_object_get(s, "lastError")))
				last = json_string_value(json_object_get(s, "lastError")),
				which = json_string_value(json_object_get(s, "name"));
		}
		if (st && open == n)
			return 0;
		if (now_ms() >= end)
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "%zu of %zu scale sets have a session after %ld s%s%s%s%s", open,
			               n, wait_ms / 1000, last ? ": " : "", which ? which : "",
			               last ? ": " : "", last ? last : "");
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

int
dr_local_metrics_addr(const char *addr, bool off_ok, struct sockaddr_in *out, dr_err **err)
{
	const char *colon = strrchr(addr, ':');
	_cleanup_free_ char *host = colon ? dr_xstrndup(addr, (size_t)(colon - addr)) : NULL;
	char *end = NULL;
	long port = colon && colon[1] ? strtol(colon + 1, &end, 10) : -1;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	if (!host || !end || *end || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, dr_streq(host, "localhost") ? "127.0.0.1" : host, &sin.sin_addr) != 1)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--metrics-addr %s: give 127.0.0.1:PORT (a loopback address and a "
		               "port)%s",
		               addr, off_ok ? ", or off" : "");
	if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--metrics-addr %s: metrics are served on loopback only (127.0.0.0/8); "
		               "put a proxy in front to publish them",
		               addr);
	sin.sin_port = htons((uint16_t)port);
	if (out)
		*out = sin;
	return 0;
}

static int
record_metrics(dr_config *c, void *arg, dr_err **err)
{
	if (!c->cluster || c->cluster->provider != DR_PROVIDER_LOCAL)
		return dr_fail(err, DR_EXIT_FAIL, "the config no longer records the local provider");
	free(c->cluster->metrics_addr);
	c->cluster->metrics_addr = arg ? dr_xstrdup(arg) : NULL;
	return 0;
}

/* ---- the systemd unit ---- */

/* One ExecStart word: quoted when it holds what systemd would split or expand. */
static void
unit_word(dr_buf *b, const char *w)
{
	bool plain = *w != '\0';
	for (const char *p = w; *p; p++)
		plain &= !strchr(" \t\"'\\%$;", *p);
	if (b->len)
		dr_buf_puts(b, " ");
	if (plain) {
		dr_buf_puts(b, w);
		return;
	}
	dr_buf_puts(b, "\"");
	for (const char *p = w; *p; p++) {
		if (*p == '%')
			dr_buf_puts(b, "%%");
		else if (*p == '$')
			dr_buf_puts(b, "$$");
		else if (*p == '"' || *p == '\\')
			dr_buf_printf(b, "\\%c", *p);
		else
			dr_buf_printf(b, "%c", *p);
	}
	dr_buf_puts(b, "\"");
}

/* The unit: the agent serving every runner of the config, drained on stop. No secret: the
 * agent reads the runners' credentials from the config file (0600). */
static char *
unit_text(const char *exe, const char *config_path, const dr_cluster *cl)
{
	_cleanup_free_ char *drain = dr_xasprintf("%lds", DR_AGENT_DRAIN_MS / 1000);
	const char *words[] = { exe, "--config", config_path, "agent", "--state-dir", state_dir(cl),
		                "--host", cl->engine ? cl->engine : DR_POD_DEFAULT_DOCKER_HOST,
		                "--drain", drain, NULL };
	_cleanup_buf_ dr_buf cmd = { 0 };
	for (size_t i = 0; words[i]; i++)
		unit_word(&cmd, words[i]);
	if (cl->network)
		unit_word(&cmd, "--network"), unit_word(&cmd, cl->network);
	if (cl->metrics_addr)
		unit_word(&cmd, "--metrics-addr"), unit_word(&cmd, cl->metrics_addr);
	char *t = dr_xasprintf(
		"# " DR_AGENT_UNIT ": written by 'deskrun up --install-unit' (deskrun " DESKRUN_VERSION
		"),\n"
		"# and again by the next one. No secret here: the agent reads the runners' credentials\n"
		"# from the config file (mode 0600).\n"
		"[Unit]\n"
		"Description=deskrun agent: self-hosted GitHub Actions runners on this host's engine\n"
		"Documentation=man:deskrun-agent(1) man:deskrun-up(1)\n"
		"# Ordered after the network when something brings it up, but not pulling in\n"
		"# network-online.target: a wait-online that never ends would hold every 'up' (the\n"
		"# agent retries GitHub and the engine by itself).\n"
		"After=network-online.target docker.service podman.socket\n"
		"\n"
		"[Service]\n"
		"Type=simple\n"
		"ExecStart=%s\n"
		"Restart=on-failure\n"
		"RestartSec=5s\n"
		"# SIGTERM drains: the sessions are deleted, idle runners removed, busy ones waited for\n"
		"# up to --drain (%lds), then %ds to close. Only the agent is signalled (KillMode=process):\n"
		"# the guards of runners still busy keep serving them until the next agent adopts them.\n"
		"KillSignal=SIGTERM\n"
		"KillMode=process\n"
		"TimeoutStopSec=%ld\n"
		"UMask=0077\n"
		"# Hardening without a mount namespace of its own (no ProtectSystem=, ProtectHome=,\n"
		"# PrivateTmp=, ReadWritePaths=): the guards bind-mount job folders into their pins\n"
		"# and the engine must see those mounts, which a private namespace would hide.\n"
		"NoNewPrivileges=yes\n"
		"RestrictSUIDSGID=yes\n"
		"RestrictRealtime=yes\n"
		"RestrictNamespaces=yes\n"
		"LockPersonality=yes\n"
		"MemoryDenyWriteExecute=yes\n"
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n"
		"SystemCallArchitectures=native\n"
		"\n"
		"[Install]\n"
		"WantedBy=multi-user.target\n",
		dr_buf_str(&cmd), DR_AGENT_DRAIN_MS / 1000, 30, DR_AGENT_DRAIN_MS / 1000 + 30);
	return t;
}

char *
dr_local_unit_text(const char *config_path, const dr_cluster *cl, dr_err **err)
{
	char cfg[PATH_MAX];
	if (!realpath(config_path, cfg)) {
		dr_fail_errno(err, DR_EXIT_FAIL, errno, "the config %s", config_path);
		return NULL;
	}
	_cleanup_free_ char *exe = dr_self_exe();
	return unit_text(exe, cfg, cl);
}

static bool
systemd_running(void)
{
	struct stat st;
	return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* Write the unit into dir (atomically, under a lock in the agent's folder); *changed says
 * whether its content changed. Refused, before anything is touched, when dir is not writable. */
static int
unit_dir_check(const char *dir, dr_err **err)
{
	bool given = dir != NULL;
	if (!dir)
		dir = DR_UNIT_DIR;
	if (!given && geteuid() != 0)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--install-unit writes %s/" DR_AGENT_UNIT ": run it as root (sudo "
		               "deskrun up --install-unit), or give --unit-dir DIR",
		               dir);
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return dr_fail(err, DR_EXIT_USAGE, "--unit-dir %s: no such directory (systemd reads "
		               "units from " DR_UNIT_DIR ")", dir);
	if (access(dir, W_OK) < 0)
		return dr_fail_errno(err, DR_EXIT_USAGE, errno,
		                     "--install-unit: %s is not writable (run as root, or give a "
		                     "writable --unit-dir)",
		                     dir);
	return 0;
}

static int
install_unit(const char *config_path, const dr_cluster *cl, const char *dir, bool *changed,
             dr_err **err)
{
	if (!dir)
		dir = DR_UNIT_DIR;
	_cleanup_free_ char *text = dr_local_unit_text(config_path, cl, err);
	if (!text)
		return -1;
	_cleanup_free_ char *path = dr_xasprintf("%s/" DR_AGENT_UNIT, dir);
	_cleanup_free_ char *lockp = state_file(cl, "unit.lock");
	_cleanup_close_ int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "lock %s", lockp);
	_cleanup_free_ char *old = NULL;
	size_t old_len = 0;
	_cleanup_err_ dr_err *rerr = NULL;
	*changed = dr_read_file(path, 1 << 20, &old, &old_len, &rerr) < 0 || !dr_streq(old, text);
	if (*changed && dr_write_atomic(path, text, strlen(text), 0644, err) < 0)
		return dr_err_prefix(err, "--install-unit");
	return 0;
}

/* systemctl ARGS... with a deadline; its output in the error. */
static int
systemctl(const char *a1, const char *a2, const char *a3, dr_err **err)
{
	_cleanup_strv_ char **argv = dr_argv("systemctl", a1, a2, a3, NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .timeout_ms = 120000 };
	return dr_run_tool(argv, "install systemd", &call, &res, err);
}

int
dr_local_up(const char *config_path, const dr_config *c, const dr_local_up_opts *o,
            dr_err **err)
{
	_cleanup_cluster_ dr_cluster *cl = dr_cluster_copy(c->cluster);
	char **names = o->names;
	bool unix_engine = !cl->engine || dr_startswith(cl->engine, "unix://");
	_cleanup_strv_ char **serve = NULL;
	for (size_t i = 0; i < c->n_runners; i++) {
		const dr_runner *d = c->runners[i];
		if (names && !dr_strv_contains(names, d->name))
			continue;
		if (dr_local_check(d, unix_engine, err) < 0)
			return -1;
		dr_strv_push(&serve, d->name);
	}
	for (char **n = names; n && *n; n++)
		if (!dr_config_find(c, *n))
			return dr_fail(err, DR_EXIT_USAGE, "no runner named \"%s\" in %s (see 'deskrun list')",
			               *n, config_path);
	/* o->metrics_addr was checked by up (dr_local_metrics_addr), before its dry run. */
	/* A unit installed earlier in systemd's folder, with systemd running: up goes through it
	 * (the unit rewritten if the recorded settings changed), not a second, daemon agent. */
	bool unit_here = !o->unit_dir && access(DR_UNIT_DIR "/" DR_AGENT_UNIT, F_OK) == 0 &&
	                 systemd_running();
	if ((o->install_unit || unit_here) && unit_dir_check(o->unit_dir, err) < 0)
		return -1;
	/* NAMEs add to what is served; without, everything. */
	_cleanup_strv_ char **old = read_served(cl);
	for (char **p = names ? old : NULL; p && *p; p++)
		if (dr_config_find(c, *p) && !dr_strv_contains(serve, *p))
			dr_strv_push(&serve, *p);
	if (!serve)
		return dr_fail(err, DR_EXIT_USAGE, "no runners to serve: add one with 'deskrun add'");
	if (o->record && record_default_cluster(config_path, err) < 0)
		return -1;
	if (o->metrics_addr) {
		const char *m = dr_streq(o->metrics_addr, "off") ? NULL : o->metrics_addr;
		if (dr_config_edit(config_path, record_metrics, (void *)m, err) < 0)
			return -1;
		free(cl->metrics_addr);
		cl->metrics_addr = m ? dr_xstrdup(m) : NULL;
	}
	if (dr_mkdir_p(state_dir(cl), 0700, err) < 0)
		return dr_err_prefix(err, "the agent's folder");
	bool under_systemd = false;
	if (o->install_unit || unit_here) {
		bool changed = false;
		const char *dir = o->unit_dir ? o->unit_dir : DR_UNIT_DIR;
		if (install_unit(config_path, cl, o->unit_dir, &changed, err) < 0)
			return -1;
		if (!dr_quiet())
			printf("unit %s/" DR_AGENT_UNIT " %s\n", dir, changed ? "written" : "unchanged");
		under_systemd = systemd_running() && !o->unit_dir;
		if (!under_systemd && !dr_quiet())
			dr_note("%s: the agent starts as a daemon now; where systemd runs, 'systemctl "
			        "daemon-reload && systemctl enable --now " DR_AGENT_UNIT "' starts it "
			        "at boot",
			        o->unit_dir ? "--unit-dir is not systemd's (" DR_UNIT_DIR ")"
			                    : "systemd is not running here (no /run/systemd/system)");
	}
	pid_t was = agent_pid(cl);
	if (stop_agent(cl, SIGUSR1, 60000, err) < 0)
		return -1;
	pid_t child = 0;
	if (under_systemd) {
		/* The unit's agent serves every runner of the config. */
		_cleanup_strv_ char **all = NULL;
		for (size_t i = 0; i < c->n_runners; i++)
			dr_strv_push(&all, c->runners[i]->name);
		if (write_served(cl, all, err) < 0 || systemctl("daemon-reload", NULL, NULL, err) < 0 ||
		    systemctl("enable", DR_AGENT_UNIT, NULL, err) < 0 ||
		    systemctl("restart", DR_AGENT_UNIT, NULL, err) < 0)
			return -1;
		dr_strv_free(serve);
		serve = TAKE_PTR(all);
		child = -1;
	} else if (write_served(cl, serve, err) < 0 ||
	           start_agent(config_path, cl, serve, &child, err) < 0) {
		return -1;
	}
	if (!dr_quiet())
		printf("agent %s%s: serving %zu runner(s) on %s (log: %s%s)\n",
		       was ? "restarted" : "started", under_systemd ? " by systemd" : "",
		       dr_strv_len(serve), cl->engine ? cl->engine : DR_POD_DEFAULT_DOCKER_HOST,
		       under_systemd ? "journalctl -u " DR_AGENT_UNIT : state_dir(cl),
		       under_systemd ? "" : "/agent.log");
	if (!dr_quiet() && cl->metrics_addr)
		printf("metrics: http://%s/metrics\n", cl->metrics_addr);
	fflush(stdout);
	if (wait_sessions(cl, child, dr_strv_len(serve), o->wait_ms > 0 ? o->wait_ms : 30000, err) < 0)
		return -1;
	if (!dr_quiet())
		printf("every scale set has a session: jobs are picked up\n");
	return 0;
}

int
dr_local_down(const char *config_path, const dr_config *c, char **names, long timeout_ms,
              dr_err **err)
{
	const dr_cluster *cl = c->cluster;
	_cleanup_strv_ char **old = read_served(cl);
	_cleanup_strv_ char **keep = NULL;
	for (char **n = names; n && *n; n++)
		if (!dr_strv_contains(old, *n) && !dr_config_find(c, *n))
			return dr_fail(err, DR_EXIT_USAGE,
			               "no runner named \"%s\" in %s or served (see 'deskrun list')", *n,
			               config_path);
	for (char **o = old; names && o && *o; o++)
		if (!dr_strv_contains(names, *o) && dr_config_find(c, *o))
			dr_strv_push(&keep, *o);
	if (agent_pid(cl) == 0 && !old) {
		if (!dr_quiet())
			printf("nothing to stop: the agent is not running\n");
		return 0;
	}
	if (stop_agent(cl, SIGTERM, timeout_ms, err) < 0)
		return -1;
	if (write_served(cl, keep, err) < 0)
		return -1;
	if (!keep) {
		_cleanup_free_ char *st = state_file(cl, "status.json");
		unlink(st);
		if (!dr_quiet())
			printf("agent stopped: sessions deleted, idle runners removed\n");
		return 0;
	}
	pid_t child = 0;
	if (start_agent(config_path, cl, keep, &child, err) < 0)
		return -1;
	if (!dr_quiet())
		printf("agent restarted, serving %zu runner(s)\n", dr_strv_len(keep));
	fflush(stdout);
	return wait_sessions(cl, child, dr_strv_len(keep), 30000, err);
}

int
dr_local_status(const dr_config *c, const char *name, bool json, dr_err **err)
{
	const dr_cluster *cl = c->cluster;
	pid_t pid = agent_pid(cl);
	_cleanup_json_ json_t *st = pid ? read_status(cl) : NULL;
	_cleanup_strv_ char **served = read_served(cl);
	json_t *sets = json_object_get(st, "sets");
	json_t *rows = json_array();
	for (size_t i = 0; i < c->n_runners; i++) {
		const dr_runner *d = c->runners[i];
		if (name && !dr_streq(name, d->name))
			continue;
		json_t *row = NULL, *s;
		size_t k;
		json_array_foreach(sets, k, s)
			if (dr_streq(json_string_value(json_object_get(s, "name")), d->name))
				row = json_deep_copy(s);
		if (!row)
			row = json_pack("{s:s, s:i, s:i, s:s}", "name", d->name, "min", d->min_runners,
			                "max", d->max_runners, "session",
			                dr_strv_contains(served, d->name) ? "agent not running"
			                                                  : "not up");
		json_array_append_new(rows, row);
	}
	_cleanup_json_ json_t *out = json_pack("{s:s, s:s, s:b, s:o}", "provider", "local",
	                                       "engine",
	                                       cl->engine ? cl->engine : DR_POD_DEFAULT_DOCKER_HOST,
	                                       "agentRunning", pid != 0, "sets", rows);
	if (pid)
		json_object_set_new(out, "agentPid", json_integer(pid));
	if (name && json_array_size(rows) == 0)
		return dr_fail(err, DR_EXIT_USAGE, "no runner named \"%s\" in the config", name);
	if (json) {
		_cleanup_free_ char *s = json_dumps(out, JSON_INDENT(2));
		printf("%s\n", s);
		return 0;
	}
	printf("agent: %s on %s\n", pid ? "running" : "not running ('deskrun up' starts it)",
	       cl->engine ? cl->engine : DR_POD_DEFAULT_DOCKER_HOST);
	printf("%-20s %3s %3s %8s %4s %4s %-18s %s\n", "NAME", "MIN", "MAX", "ASSIGNED", "IDLE",
	       "BUSY", "SESSION", "LAST ERROR");
	size_t k;
	json_t *r;
	json_array_foreach(rows, k, r) {
		const char *le = json_string_value(json_object_get(r, "lastError"));
		printf("%-20s %3d %3d %8d %4d %4d %-18s %s\n",
		       json_string_value(json_object_get(r, "name")),
		       (int)json_integer_value(json_object_get(r, "min")),
		       (int)json_integer_value(json_object_get(r, "max")),
		       (int)json_integer_value(json_object_get(r, "assigned")),
		       (int)json_integer_value(json_object_get(r, "idle")),
		       (int)json_integer_value(json_object_get(r, "busy")),
		       json_string_value(json_object_get(r, "session")), le ? le : "-");
	}
	return 0;
}

int
dr_local_cluster_status(const dr_config *c, dr_err **err)
{
	(void)err;
	const dr_cluster *cl = c->cluster;
	pid_t pid = agent_pid(cl);
	printf("cluster:     local (no Kubernetes; the agent's folder %s)\n", state_dir(cl));
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	_cleanup_err_ dr_err *e = NULL;
	const char *engine = cl->engine ? cl->engine : DR_POD_DEFAULT_DOCKER_HOST;
	dr_pod_http_request req = { .method = "GET", .target = "/version", .timeout_ms = 5000 };
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	if (dr_pod_endpoint_parse("engine", engine, &ep, &e) < 0 ||
	    dr_pod_http_do(&ep, &req, &r, &e) < 0 || r.status != 200) {
		printf("engine:      %s does not answer%s%s\n", engine, e ? ": " : "",
		       e ? e->msg : "");
		return dr_fail(err, DR_EXIT_FAIL, "the engine does not answer");
	}
	_cleanup_json_ json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
	printf("engine:      %s, version %s\n", engine,
	       json_string_value(json_object_get(v, "Version")) ?
	               json_string_value(json_object_get(v, "Version")) : "?");
	if (pid)
		printf("agent:       running (pid %ld)\n", (long)pid);
	else
		printf("agent:       not running ('deskrun up' starts it)\n");
	return 0;
}

int
dr_local_cluster_delete(const char *path, const dr_config *c, dr_err **err)
{
	if (agent_pid(c->cluster))
		return dr_fail(err, DR_EXIT_FAIL,
		               "the agent still serves runners: 'deskrun down' first");
	(void)path;
	return 0;
}
