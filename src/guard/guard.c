/* guard.c: `deskrun guard` at run time: load the policy, open the state, bind the tenant's
 * socket, serve until SIGTERM/SIGINT, then (with --cleanup-on-exit) remove what the tenant or
 * session created. */
#include "lib/common.h"
#include "guard/guard.h"
#include "guard/proxy.h"
#include "guard/upstream.h"
#include "guard/podfs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

static int
listen_socket(const gd_config *cfg, dr_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(cfg->listen) >= sizeof(sa.sun_path))
		return dr_fail(err, DR_EXIT_USAGE, "--listen %s: path too long for a unix socket "
		               "(at most %zu bytes)",
		               cfg->listen, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, cfg->listen, strlen(cfg->listen) + 1);
	struct stat st;
	if (lstat(cfg->listen, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return dr_fail(err, DR_EXIT_FAIL, "--listen %s: exists and is not a socket",
			               cfg->listen);
		/* Refuse to steal a socket someone still serves. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return dr_fail(err, DR_EXIT_FAIL, "--listen %s: another process serves this socket",
			               cfg->listen);
		}
		if (probe >= 0)
			close(probe);
		unlink(cfg->listen);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "socket");
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		int e = errno;
		close(fd);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "--listen %s: bind", cfg->listen);
	}
	if ((cfg->socket_gid >= 0 && chown(cfg->listen, (uid_t)-1, (gid_t)cfg->socket_gid) < 0) ||
	    chmod(cfg->listen, (mode_t)cfg->socket_mode) < 0) {
		int e = errno;
		close(fd);
		unlink(cfg->listen);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "--listen %s: set owner and mode", cfg->listen);
	}
	if (listen(fd, 256) < 0) {
		int e = errno;
		close(fd);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "--listen %s: listen", cfg->listen);
	}
	return fd;
}

int
dr_guard_run(const gd_config *cfg_in, dr_err **err)
{
	gd_config cfg = *cfg_in;
	gd_policy pol;
	if (gd_policy_load(&pol, cfg.policy_file, err) < 0)
		return -1;
	for (size_t i = 0; cfg.allow_bind && cfg.allow_bind[i]; i++) {
		if (cfg.allow_bind[i][0] != '/') {
			gd_policy_clear(&pol);
			return dr_fail(err, DR_EXIT_USAGE, "--allow-bind %s: give an absolute host path",
			               cfg.allow_bind[i]);
		}
		if (!pol.allow_bind)
			pol.allow_bind = dr_xcalloc(1, sizeof(char *));
		dr_strv_push(&pol.allow_bind, cfg.allow_bind[i]);
	}
	pol.unrestricted = cfg.unrestricted;
	_cleanup_free_ char *default_state = NULL;
	if (!cfg.state_dir) {
		default_state = dr_xasprintf("/var/lib/deskrun/cache/guard/%s", cfg.tenant);
		struct stat st;
		if (stat("/var/lib/deskrun/cache/guard", &st) == 0)
			cfg.state_dir = default_state;
	}
	gd_up up;
	if (gd_up_init(&up, &cfg, err) < 0) {
		gd_up_clear(&up);
		gd_policy_clear(&pol);
		return -1;
	}
	gd_podfs pods;
	bool pods_open = false;
	gd_server s;
	memset(&s, 0, sizeof(s));
	gd_argstore args = { 0 };
	uint8_t rnd[8] = { 0 };
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		/* without randomness, at least no nonce another guard of this boot reuses */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid();
		memcpy(rnd, &v, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(args.nonce + 2 * i, 3, "%02x", rnd[i]);
	s.cfg = &cfg;
	s.up = &up;
	s.ctx = (gd_ctx){ .tenant = cfg.tenant, .session = cfg.session, .policy = &pol, .res = &up.res,
	                  .args = &args };
	s.ep = s.lfd = s.sigfd = -1;
	int rc = -1;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		dr_fail_errno(err, DR_EXIT_FAIL, errno, "signalfd");
		goto out;
	}
	if ((s.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		dr_fail_errno(err, DR_EXIT_FAIL, errno, "epoll_create1");
		goto out;
	}
	if (cfg.pod_dir) {
		pods_open = true; /* closed at out: also a half-made one */
		if (gd_podfs_open(&pods, cfg.pod_dir, cfg.daemon_pod_dir, cfg.pod_maps, cfg.listen,
		                  err) < 0)
			goto out;
		gd_up_use_pods(&up, &pods);
		/* Folders of pods that were killed (their guard never cleaned up). */
		_cleanup_free_ char *parent = dr_xstrdup(cfg.pod_dir);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			dr_err *serr = NULL;
			int swept = gd_podfs_sweep_dead(parent, slash + 1, &serr);
			if (swept > 0)
				gd_audit(&s, "sweep", "removed the folders of %d pods that are gone", swept);
			dr_err_free(serr);
		}
	}
	if ((s.lfd = listen_socket(&cfg, err)) < 0)
		goto out;
	if (pods_open) {
		if (!gd_podfs_check_socket(&pods, cfg.listen))
			gd_audit(&s, "warning", "%s/run/docker.sock is not the socket the guard serves: "
			         "containers cannot be given the guard's socket",
			         cfg.pod_dir);
		gd_audit(&s, "start", "runner folders in %s, which the daemon sees as %s",
		         cfg.pod_dir, cfg.daemon_pod_dir);
	}
	int probe = gd_unix_connect(cfg.upstream);
	if (probe < 0)
		gd_audit(&s, "warning", "upstream %s is not reachable yet: %s", cfg.upstream,
		         strerror(errno));
	else
		close(probe);
	if (pods_open) {
		/* `deskrun doctor` reads this line from the guard's log. */
		_cleanup_free_ char *why = probe >= 0 ? gd_up_check_pods(&up) : NULL;
		if (probe < 0)
			gd_audit(&s, "paths", "not checked: the daemon is not reachable yet");
		else if (why && *why)
			gd_audit(&s, "paths", "FAIL: %s", why);
		else
			gd_audit(&s, "paths", "ok: the daemon sees the pod's folder and the guard's pins");
	}
	gd_audit(&s, "start", "listening on %s for %s (session %s, state %s; BuildKit %s, its "
	         "sessions and builds named %s.%s.ID)", cfg.listen, cfg.upstream,
	         cfg.session ? cfg.session : "-", cfg.state_dir ? cfg.state_dir : "-",
	         pol.buildkit ? "on" : "off", cfg.tenant, args.nonce);
	rc = gd_serve(&s, err);
	close(s.lfd);
	s.lfd = -1;
	unlink(cfg.listen);
	if (rc == 0 && cfg.cleanup_on_exit) {
		int removed = 0;
		dr_err *cerr = NULL;
		up.timeout_ms = 20000;
		if (gd_up_cleanup(&up, cfg.keep_volumes, &removed, &cerr) < 0) {
			gd_audit(&s, "cleanup", "incomplete: %s", cerr && cerr->msg ? cerr->msg : "error");
			dr_err_free(cerr);
		}
		gd_audit(&s, "cleanup", "removed %d objects of %s %s", removed,
		         cfg.session ? "session" : "tenant", cfg.session ? cfg.session : cfg.tenant);
	}
	if (pods_open) {
		/* The containers are gone (or kept): their pins go, and with --cleanup-on-exit the
		 * pod's folders too. */
		gd_up_use_pods(&up, NULL);
		gd_podfs_close(&pods, rc == 0 && cfg.cleanup_on_exit);
		pods_open = false;
	}
	gd_audit(&s, "stop", "stopped by signal %d (%lu connections, %lu requests; daemon "
	         "connections: %lu opened, %lu reused; %lu heads read after their answer; %lu "
	         "event batches found by polling)",
	         s.stop_signal, s.stats.clients, s.stats.requests, s.stats.up_opened,
	         s.stats.up_reused, s.stats.heads_after, s.stats.polled);
out:
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.ep >= 0)
		close(s.ep);
	if (s.sigfd >= 0)
		close(s.sigfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	if (pods_open)
		gd_podfs_close(&pods, false);
	gd_up_clear(&up);
	gd_policy_clear(&pol);
	gd_args_clear(&args);
	return rc;
}
