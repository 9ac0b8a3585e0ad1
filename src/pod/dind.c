/* dind.c: the dind entrypoint: lease, clean, supervise, quota, record (see dind.h). */
#include "lib/common.h"
#include "lib/duration.h"
#include "lib/sha256.h"
#include "pod/dind.h"
#include "pod/dockerd.h"
#include "pod/fsops.h"
#include "pod/http.h"
#include "pod/proc.h"
#include "pod/prune.h"
#include "pod/slot.h"
#include "sys/fsutil.h"
#include "sys/log.h"
#include "sys/spawn.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#define PING_TIMEOUT_MS 2000
#define PING_FAST_MS 10       /* the readiness poll's interval for the first PING_FAST_FOR_MS */
#define PING_FAST_FOR_MS 10000
#define LEASE_POLL_MS 250
#define LEFTOVER_GRACE_MS 5000
#define LEFTOVER_MAX_MS 20000
#define END_MEASURE_MS 10000
/* dockerd's containerd puts its sockets in the exec root; unix socket paths have 107 bytes. */
#define CONTAINERD_SOCKET_SUFFIX "/containerd/containerd.sock.ttrpc"
#define SHORT_EXEC_ROOT_DIR "/run/deskrun-dind"
/* libnetwork's store of networks and endpoints, under the data root. */
#define NETWORK_STORE "network/files/local-kv.db"

typedef struct lease {
	char *dir;   /* owned: the slot (or ephemeral) directory */
	char *name;  /* owned: "slot-3", or "ephemeral e-XXXXXX" */
	int index;   /* -1 for an ephemeral data root */
	int fd;      /* the lock */
	dr_pod_slot_meta meta;
} lease;

static void
lease_release(lease *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->dir);
	free(l->name);
	dr_pod_slot_meta_clear(&l->meta);
	l->dir = l->name = NULL;
	l->fd = -1;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static long
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since this process was created (its start in /proc/self/stat, with the kernel's
 * tick resolution, 10 ms; in a container, the runtime's setup before the exec is in it); 0 if
 * unknown. */
static long
process_age_ms(void)
{
	_cleanup_free_ char *stat = NULL;
	if (dr_read_file("/proc/self/stat", 4096, &stat, NULL, NULL) < 0)
		return 0;
	const char *p = strrchr(stat, ')');
	long long start = 0;
	/* After "pid (comm)" come state (field 3) ... starttime (field 22), one space before
	 * each: p ends on the space before field f. */
	for (int f = 2; p && f < 22; f++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%lld", &start) != 1)
		return 0;
	long tck = sysconf(_SC_CLK_TCK);
	struct timespec ts;
	if (tck <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	long long age = ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) - start * 1000 / tck;
	return age > 0 ? (long)age : 0;
}

/* Where the start's time went, for the line that says the daemon answers. */
typedef struct start_times {
	long process; /* mono_ms() when the process was created */
	long main;    /* when the entrypoint's work began (after the exec and the options) */
	long leased;  /* the slot is locked (after any wait for one) and its lease recorded */
	long clean;   /* stale state removed, networks reset: dockerd is spawned next */
} start_times;

static char *
holder_text(void)
{
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
		snprintf(host, sizeof(host), "localhost");
	return dr_xasprintf("%s/%ld", host, (long)getpid());
}

/* Ephemeral data roots whose lease ended without cleanup (a killed pod): delete them. A root
 * is created as .new-XXXXXX, locked, then renamed to e-XXXXXX, so an e-* whose lock is free
 * is abandoned; a .new-* is judged only when old (its creator may be between mkdtemp and
 * flock). */
static void
sweep_ephemeral(const char *pool)
{
	_cleanup_free_ char *dir = dr_xasprintf("%s/" DR_POD_EPHEMERAL_DIR, pool);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		_cleanup_free_ char *e = dr_xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (dr_startswith(de->d_name, ".new-")) {
			if (stat(e, &st) < 0 || st.st_mtime > time(NULL) - 600)
				continue;
		} else if (!dr_startswith(de->d_name, "e-")) {
			continue;
		}
		int fd = -1;
		_cleanup_err_ dr_err *err = NULL;
		int k = dr_pod_slot_trylock(e, &fd, &err);
		if (k <= 0)
			continue; /* in use (or not ours to judge) */
		if (dr_pod_umount_under(e, false, &err) < 0 || dr_pod_rm_rf(e, &err) < 0)
			dr_warn("remove the abandoned ephemeral data root %s: %s", e, err->msg);
		else
			dr_note("removed the abandoned ephemeral data root %s", e);
		close(fd);
	}
	closedir(d);
}

/* 1 leased (l filled), 0 every slot busy until the deadline, 2 a stop signal came. */
static int
take_slot(const dr_pod_dind_opts *o, dr_pod_sup *sup, lease *l, dr_err **err)
{
	long deadline = mono_ms() + o->wait_slot_ms;
	bool announced = false, first = true;
	size_t n = (size_t)o->slots;
	for (;;) {
		dr_pod_slot_meta *metas = dr_xcalloc(n, sizeof(*metas));
		char **dirs = dr_xcalloc(n, sizeof(char *));
		size_t *order = dr_xcalloc(n, sizeof(*order));
		int rc = 0;
		for (size_t k = 0; k < n && rc == 0; k++) {
			dirs[k] = dr_pod_slot_dir(o->pool, (int)k);
			if (dr_mkdir_p(dirs[k], 0755, err) < 0) {
				rc = -1;
				break;
			}
			_cleanup_err_ dr_err *merr = NULL;
			if (dr_pod_slot_read_meta(dirs[k], &metas[k], &merr) < 0 && first)
				dr_warn("%s (it is rewritten by the next lease)", merr->msg);
		}
		first = false;
		if (rc == 0)
			dr_pod_slot_order(metas, n, o->owner, order);
		for (size_t i = 0; i < n && rc == 0; i++) {
			size_t k = order[i];
			int fd = -1;
			int got = dr_pod_slot_trylock(dirs[k], &fd, err);
			if (got < 0) {
				rc = -1;
			} else if (got == 1) {
				l->dir = TAKE_PTR(dirs[k]);
				l->name = dr_xasprintf(DR_POD_SLOT_PREFIX "%zu", k);
				l->index = (int)k;
				l->fd = fd;
				/* Re-read under the lock: the previous holder may have just ended. */
				dr_pod_slot_meta_clear(&metas[k]);
				_cleanup_err_ dr_err *merr = NULL;
				if (dr_pod_slot_read_meta(l->dir, &l->meta, &merr) < 0)
					dr_pod_slot_meta_clear(&l->meta);
				rc = 1;
			}
		}
		for (size_t k = 0; k < n; k++) {
			dr_pod_slot_meta_clear(&metas[k]);
			free(dirs[k]); /* not dr_strv_free: the leased one is NULL now */
		}
		free(metas);
		free(dirs);
		free(order);
		if (rc != 0)
			return rc;
		long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		if (!announced) {
			_cleanup_free_ char *w = dr_duration_text(o->wait_slot_ms);
			dr_note("all %d slots of %s are leased: waiting up to %s for one", o->slots,
			        o->pool, w);
			announced = true;
		}
		dr_pod_sup_wait(sup, left < LEASE_POLL_MS ? left : LEASE_POLL_MS);
		if (sup->stop_signal)
			return 2;
	}
}

static int
take_ephemeral(const char *pool, lease *l, dr_err **err)
{
	_cleanup_free_ char *base = dr_xasprintf("%s/" DR_POD_EPHEMERAL_DIR, pool);
	if (dr_mkdir_p(base, 0755, err) < 0)
		return -1;
	_cleanup_free_ char *tmp = dr_xasprintf("%s/.new-XXXXXX", base);
	if (!mkdtemp(tmp))
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create a directory in %s", base);
	chmod(tmp, 0755);
	int fd = -1;
	if (dr_pod_slot_trylock(tmp, &fd, err) != 1)
		return dr_fail(err, DR_EXIT_FAIL, "lock the new %s", tmp);
	/* Visible to sweepers only once locked. */
	_cleanup_free_ char *dir = dr_xasprintf("%s/e-%s", base, strrchr(tmp, '-') + 1);
	if (rename(tmp, dir) < 0) {
		int e = errno;
		close(fd);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "rename %s to %s", tmp, dir);
	}
	l->name = dr_xasprintf("ephemeral %s", strrchr(dir, '/') + 1);
	l->dir = TAKE_PTR(dir);
	l->index = -1;
	l->fd = fd;
	return 0;
}

/* <dir>/exec, or a short per-directory path under /run when containerd's sockets would not
 * fit in a unix socket address there. */
static char *
exec_root_for(const char *dir)
{
	char *p = dr_xasprintf("%s/" DR_POD_SLOT_EXEC, dir);
	if (strlen(p) + strlen(CONTAINERD_SOCKET_SUFFIX) < sizeof(((struct sockaddr_un *)0)->sun_path))
		return p;
	free(p);
	char hex[65];
	dr_sha256_hex(dir, strlen(dir), hex);
	return dr_xasprintf(SHORT_EXEC_ROOT_DIR "/%.16s", hex);
}

static int
write_ready(const char *path, const lease *l, const char *data_root, const char *host,
            pid_t pid, dr_err **err)
{
	_cleanup_free_ char *dir = dr_dirname(path);
	if (dr_mkdir_p(dir, 0755, err) < 0)
		return -1;
	_cleanup_json_ json_t *o = json_object();
	json_object_set_new(o, "slot", l->index >= 0 ? json_string(l->name) : json_null());
	json_object_set_new(o, "ephemeral", json_boolean(l->index < 0));
	json_object_set_new(o, "data_root", json_string(data_root));
	json_object_set_new(o, "host", json_string(host));
	json_object_set_new(o, "pid", json_integer(pid));
	_cleanup_free_ char *s = json_dumps(o, JSON_PRESERVE_ORDER);
	_cleanup_free_ char *text = dr_xasprintf("%s\n", s);
	return dr_write_atomic(path, text, strlen(text), 0644, err);
}

/* Record the end of a slot lease (its size measured with a time limit), or delete an
 * ephemeral data root. Problems are warnings: the lease ends anyway. */
static void
end_lease(lease *l, const char *data_root, int status)
{
	_cleanup_err_ dr_err *err = NULL;
	if (l->index < 0) {
		if (dr_pod_umount_under(l->dir, false, &err) < 0 || dr_pod_rm_rf(l->dir, &err) < 0)
			dr_warn("remove the ephemeral data root %s: %s", l->dir, err->msg);
		return;
	}
	l->meta.last_end = now_s();
	l->meta.last_exit = status;
	uint64_t size = 0;
	if (dr_pod_disk_usage(data_root, END_MEASURE_MS, NULL, &size, &err) == 0) {
		l->meta.size_bytes = (int64_t)size;
		l->meta.size_at = now_s();
	} else if (err->errnum != ENOENT) {
		dr_warn("%s (the recorded size is the previous one)", err->msg);
	}
	dr_err_free(TAKE_PTR(err));
	if (dr_pod_slot_write_meta(l->dir, &l->meta, &err) < 0)
		dr_warn("record the end of the lease: %s", err->msg);
}

/* A lease starts with dockerd's default networks only, as on a fresh data root. On a data root
 * with a network store, dockerd restores every network in it and then deletes and re-creates
 * the default bridge, its iptables rules twice over (0.1 to 0.2 s of every warm start); the
 * networks earlier leases' jobs left would also be there for the next job to see. Containers
 * left in the slot lose their network attachments; images, layers, build cache and volumes are
 * untouched. */
static void
reset_networks(const char *data_root)
{
	_cleanup_free_ char *store = dr_xasprintf("%s/" NETWORK_STORE, data_root);
	if (unlink(store) < 0 && errno != ENOENT)
		dr_warn("remove the network store %s: %s (dockerd restores the networks of earlier "
		        "leases)",
		        store, strerror(errno));
}

static int
ping(const dr_pod_endpoint *ep, const dr_pod_cancel *c, dr_err **err)
{
	dr_pod_http_request req = { .method = "GET", .target = "/_ping",
		                    .timeout_ms = PING_TIMEOUT_MS, .max_body = 4096, .cancel = c };
	_cleanup_http_response_ dr_pod_http_response r = { 0 };
	if (dr_pod_http_do(ep, &req, &r, err) < 0)
		return -1;
	if (r.status != 200)
		return dr_fail(err, DR_EXIT_FAIL, "/_ping answered %d", r.status);
	return 0;
}

/* Supervise the running daemon until it ends: readiness, quota, ready file. */
static void
supervise(const dr_pod_dind_opts *o, dr_pod_sup *sup, lease *l, const dr_pod_endpoint *ep,
          const char *data_root, start_times *t)
{
	dr_pod_cancel cancel = dr_pod_sup_cancel(sup);
	enum { WAIT_PING, QUOTA, RUNNING } phase = WAIT_PING;
	long backoff = PING_FAST_MS, started = mono_ms();
	bool ready_written = false;
	for (;;) {
		if (!sup->main_running)
			break;
		long timeout = -1;
		if (!dr_pod_sup_stopping(sup) && phase == WAIT_PING) {
			_cleanup_err_ dr_err *err = NULL;
			if (ping(ep, &cancel, &err) == 0) {
				long now = mono_ms();
				dr_note("dockerd answers on %s after %.2f s; %.2f s since the entrypoint's "
				        "process started (exec %ld ms, lease %ld ms, cleanup %ld ms, "
				        "dockerd %.2f s)",
				        ep->url, (double)(now - started) / 1000,
				        (double)(now - t->process) / 1000, t->main - t->process,
				        t->leased - t->main, t->clean - t->leased,
				        (double)(now - t->clean) / 1000);
				phase = QUOTA;
			} else if (mono_ms() - started < PING_FAST_FOR_MS) {
				/* A refused or missing socket fails at once: poll often, so that
				 * readiness is seen within PING_FAST_MS of the daemon's. */
				timeout = PING_FAST_MS;
			} else {
				timeout = backoff;
				backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
			}
		}
		if (!dr_pod_sup_stopping(sup) && phase == QUOTA) {
			bool done = true;
			if (o->max_size && l->index >= 0) {
				_cleanup_err_ dr_err *err = NULL;
				dr_pod_quota_result res;
				if (dr_pod_quota_enforce(ep, data_root, o->max_size, &cancel, &res, &err) < 0) {
					if (err->errnum == ECANCELED)
						done = false;
					else
						dr_warn("enforce the quota: %s", err->msg);
				} else {
					l->meta.size_bytes = (int64_t)res.after;
					l->meta.size_at = now_s();
					_cleanup_err_ dr_err *werr = NULL;
					if (dr_pod_slot_write_meta(l->dir, &l->meta, &werr) < 0)
						dr_warn("record the slot's size: %s", werr->msg);
				}
			}
			if (done && !dr_pod_sup_stopping(sup)) {
				_cleanup_err_ dr_err *err = NULL;
				if (o->ready_file &&
				    write_ready(o->ready_file, l, data_root, ep->url, sup->main_pid, &err) < 0)
					dr_warn("write the ready file: %s", err->msg);
				ready_written = o->ready_file != NULL;
				phase = RUNNING;
			}
		}
		if (ready_written && dr_pod_sup_stopping(sup)) {
			unlink(o->ready_file);
			ready_written = false;
		}
		if (!sup->main_running)
			break;
		dr_pod_sup_wait(sup, dr_pod_sup_stopping(sup) ? -1 : timeout);
	}
	if (o->ready_file)
		unlink(o->ready_file);
}

static int
run(const dr_pod_dind_opts *o, dr_pod_sup *sup, int *status, dr_err **err)
{
	start_times t = { 0 };
	t.main = mono_ms();
	t.process = t.main - process_age_ms();
	/* Usage errors first, before anything is leased or written. */
	{
		_cleanup_dockerd_ dr_pod_dockerd probe = { 0 };
		if (dr_pod_dockerd_prepare(o->dockerd_argv, "/d", "/e", "/p", &probe, err) < 0)
			return -1;
		_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
		if (dr_pod_endpoint_parse("dockerd --host", probe.ping_url, &ep, err) < 0)
			return -1;
	}
	if (o->ready_file && unlink(o->ready_file) < 0 && errno != ENOENT)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove the old %s", o->ready_file);
	if (dr_mkdir_p(o->pool, 0755, err) < 0)
		return -1;
	sweep_ephemeral(o->pool);

	lease l = { .fd = -1, .meta = DR_POD_SLOT_META_INIT };
	int got = take_slot(o, sup, &l, err);
	if (got < 0)
		return -1;
	if (got == 2) {
		_cleanup_free_ char *sig = dr_pod_signal_text(sup->stop_signal);
		dr_note("stopped by %s while waiting for a slot", sig);
		*status = 128 + sup->stop_signal;
		return 0;
	}
	_cleanup_free_ char *waited = dr_duration_text(o->wait_slot_ms);
	if (got == 0) {
		if (o->fallback_fail)
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "all %d slots of %s are still leased after %s (--fallback fail)",
			               o->slots, o->pool, waited);
		if (take_ephemeral(o->pool, &l, err) < 0)
			return -1;
		dr_warn("all %d slots of %s are still leased after %s: running dockerd on the "
		        "ephemeral data root %s/" DR_POD_SLOT_DATA " (no cache; deleted when it stops)",
		        o->slots, o->pool, waited, l.dir);
	} else {
		int64_t prev_used = dr_pod_slot_last_used(&l.meta);
		_cleanup_free_ char *prev_owner = l.meta.owner ? dr_xstrdup(l.meta.owner) : NULL;
		_cleanup_free_ char *prev_time = dr_pod_time_text(prev_used);
		free(l.meta.owner);
		free(l.meta.holder);
		l.meta.owner = o->owner && *o->owner ? dr_xstrdup(o->owner) : NULL;
		l.meta.holder = holder_text();
		l.meta.leases++;
		l.meta.last_start = now_s();
		l.meta.last_end = 0;
		l.meta.last_exit = -1;
		if (dr_pod_slot_write_meta(l.dir, &l.meta, err) < 0) {
			lease_release(&l);
			return dr_err_prefix(err, "record the lease");
		}
		if (prev_time)
			dr_note("leased %s (lease %lld; last used %s by %s)", l.dir,
			        (long long)l.meta.leases, prev_time, prev_owner ? prev_owner : "-");
		else
			dr_note("leased %s (its first lease)", l.dir);
	}

	t.leased = mono_ms();
	_cleanup_free_ char *data_root = dr_xasprintf("%s/" DR_POD_SLOT_DATA, l.dir);
	_cleanup_free_ char *exec_root = exec_root_for(l.dir);
	_cleanup_free_ char *pidfile = dr_xasprintf("%s/" DR_POD_SLOT_PIDFILE, l.dir);
	_cleanup_dockerd_ dr_pod_dockerd d = { 0 };
	_cleanup_endpoint_ dr_pod_endpoint ep = { 0 };
	_cleanup_free_ char *removed = NULL;
	if (dr_pod_dockerd_prepare(o->dockerd_argv, data_root, exec_root, pidfile, &d, err) < 0 ||
	    dr_pod_endpoint_parse("dockerd --host", d.ping_url, &ep, err) < 0 ||
	    dr_pod_dockerd_clean(&d, data_root, true, &removed, err) < 0) {
		dr_err_prefix(err, "prepare %s", l.dir);
		end_lease(&l, data_root, -1);
		lease_release(&l);
		return -1;
	}
	if (l.index >= 0)
		reset_networks(data_root);
	t.clean = mono_ms();
	if (removed)
		dr_note("removed the stale state of a daemon that did not stop cleanly: %s", removed);
	{
		_cleanup_free_ char *added = dr_argv_text(d.added);
		dr_note("starting %s with %s", d.argv[0], added);
	}
	if (dr_pod_sup_spawn(sup, d.argv, l.fd, err) < 0) {
		end_lease(&l, data_root, -1);
		lease_release(&l);
		return -1;
	}

	supervise(o, sup, &l, &ep, data_root, &t);

	int n = dr_pod_sup_finish(sup, LEFTOVER_GRACE_MS, LEFTOVER_MAX_MS);
	if (n)
		dr_note("stopped %d process%s dockerd left behind", n, n == 1 ? "" : "es");
	_cleanup_err_ dr_err *cerr = NULL;
	if (dr_pod_dockerd_clean(&d, data_root, false, NULL, &cerr) < 0)
		dr_warn("clean up after dockerd: %s", cerr->msg);
	end_lease(&l, data_root, sup->main_status);
	_cleanup_free_ char *how = dr_pod_status_text(sup);
	dr_note("dockerd %s; %s released", how, l.name);
	lease_release(&l);
	*status = sup->main_status;
	return 0;
}

int
dr_pod_dind_run(const dr_pod_dind_opts *o, int *status, dr_err **err)
{
	/* dockerd gets paths under the pool: make them absolute. */
	dr_pod_dind_opts abs = *o;
	_cleanup_free_ char *pool = NULL;
	if (o->pool[0] != '/') {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd)))
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "resolve --pool %s", o->pool);
		pool = dr_xasprintf("%s/%s", cwd, o->pool);
		abs.pool = pool;
	}
	dr_pod_sup sup;
	if (dr_pod_sup_init(&sup, err) < 0) {
		dr_pod_sup_close(&sup);
		return -1;
	}
	int rc = run(&abs, &sup, status, err);
	dr_pod_sup_close(&sup);
	return rc;
}
