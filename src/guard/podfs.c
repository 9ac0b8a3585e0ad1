/* podfs.c: the runner pod's folders as the daemon sees them; bind sources mapped and pinned
 * (see podfs.h for the layout and why pins close the symlink race). */
#include "lib/common.h"
#include "guard/podfs.h"
#include "pod/fsops.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#define PIN_PENDING_MAX_MS (10 * 60 * 1000LL)
/* A free .lock not touched for this long: its guard is gone. A live guard touches it every
 * GD_PODFS_BEAT_S, so a guard restarting in its pod (a crash-looping sidecar waits at most 5
 * minutes) keeps its folder. */
#define DEAD_LOCK_AGE_S 600

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
		           RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

bool
gd_path_clean(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const char *p = path; *p;) {
		const char *s = p + 1;
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if ((n == 0 && e) || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!e)
			break;
		p = e;
	}
	return true;
}

/* mkdir DIR-relative folder with an exact mode (umask aside); fine if it is there already as
 * a folder (not a symlink). */
static int
ensure_dir(int dirfd, const char *name, mode_t mode, const char *shown, dr_err **err)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create %s/%s", shown, name);
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s/%s (it must be a folder)", shown,
		                     name);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "stat %s/%s", shown, name);
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "chmod %s/%s", shown, name);
	return 0;
}

static bool
same_file(int fd_a, int fd_b)
{
	struct stat a, b;
	return fstat(fd_a, &a) == 0 && fstat(fd_b, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int
gd_podfs_open(gd_podfs *p, const char *dir, const char *daemon_dir, char **roots,
              const char *listen, dr_err **err)
{
	memset(p, 0, sizeof(*p));
	p->dirfd = p->pinsfd = p->lockfd = -1;
	p->can_mount = true;
	p->next_group = 1;
	if (!gd_path_clean(dir) || !gd_path_clean(daemon_dir))
		return dr_fail(err, DR_EXIT_USAGE, "--pod-dir %s / --daemon-pod-dir %s: give clean "
		               "absolute paths",
		               dir, daemon_dir);
	p->dir = dr_xstrdup(dir);
	p->daemon_dir = dr_xstrdup(daemon_dir);
	p->pins_dir = dr_xasprintf("%s/pins", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create the pod folder %s", dir);
	p->dirfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (p->dirfd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open the pod folder %s", dir);
	/* Held while the guard lives: the sweep of other guards leaves the folder alone. */
	p->lockfd = openat(p->dirfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (p->lockfd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create %s/.lock", dir);
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) < 0)
		return dr_fail(err, DR_EXIT_FAIL, "pod folder %s: another guard holds its lock", dir);
	futimens(p->lockfd, NULL);
	/* The runner's folders: writable by the runner's user as an emptyDir is. The socket's
	 * folder and the pins are the guard's alone. */
	if (ensure_dir(p->dirfd, "run", 0755, dir, err) < 0 ||
	    ensure_dir(p->dirfd, "pins", 0700, dir, err) < 0)
		return -1;
	p->pinsfd = openat(p->dirfd, "pins", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (p->pinsfd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s", p->pins_dir);
	/* Pins a previous guard of this pod left (a restarted sidecar). */
	dr_err *uerr = NULL;
	if (dr_pod_umount_under(p->pins_dir, false, &uerr) < 0)
		dr_err_free(uerr);
	static const char *const defaults[] = { "/home/runner/_work=work",
		                                "/home/runner/externals=externals", NULL };
	const char *const *rv = roots && roots[0] ? (const char *const *)roots : defaults;
	for (size_t i = 0; rv[i]; i++) {
		const char *eq = strchr(rv[i], '=');
		if (p->nroots == DR_ARRAY_LEN(p->roots))
			return dr_fail(err, DR_EXIT_USAGE, "--pod-map: at most %zu folders",
			               DR_ARRAY_LEN(p->roots));
		_cleanup_free_ char *runner = eq ? dr_xstrndup(rv[i], (size_t)(eq - rv[i])) : NULL;
		const char *sub = eq ? eq + 1 : "";
		if (!runner || !gd_path_clean(runner) || strcmp(runner, "/") == 0 || !*sub ||
		    strchr(sub, '/') || strcmp(sub, ".") == 0 || strcmp(sub, "..") == 0 ||
		    strcmp(sub, "run") == 0 || strcmp(sub, "pins") == 0 || sub[0] == '.')
			return dr_fail(err, DR_EXIT_USAGE, "--pod-map %s: give RUNNER_PATH=FOLDER, e.g. "
			               "/home/runner/_work=work (FOLDER a plain name, not run or pins)",
			               rv[i]);
		if (ensure_dir(p->dirfd, sub, 0777, dir, err) < 0)
			return -1;
		gd_podroot *r = &p->roots[p->nroots++];
		r->runner = TAKE_PTR(runner);
		r->sub = dr_xstrdup(sub);
		r->fd = openat(p->dirfd, sub, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (r->fd < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s/%s", dir, sub);
	}
	/* The runner binds /var/run/docker.sock into every job container and action (its
	 * DOCKER_HOST aside): that, and the guard's own socket path, become the guard's socket in
	 * run/, so nested docker stays behind this guard. */
	p->sockets = dr_xcalloc(1, sizeof(char *));
	dr_strv_push(&p->sockets, "/var/run/docker.sock");
	dr_strv_push(&p->sockets, "/run/docker.sock");
	if (listen && !dr_strv_contains(p->sockets, listen))
		dr_strv_push(&p->sockets, listen);
	return 0;
}

bool
gd_podfs_check_socket(gd_podfs *p, const char *listen)
{
	_cleanup_close_ int a = open(listen, O_PATH | O_CLOEXEC);
	_cleanup_close_ int b = openat(p->dirfd, "run/docker.sock", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	p->socket_ok = a >= 0 && b >= 0 && same_file(a, b);
	return p->socket_ok;
}

static void
pin_drop(gd_podfs *p, size_t i)
{
	_cleanup_free_ char *target = dr_xasprintf("%s/%s", p->pins_dir, p->pins[i].name);
	if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		(void)0; /* still mounted: the folder stays, the next sweep retries */
	if (unlinkat(p->pinsfd, p->pins[i].name, AT_REMOVEDIR) < 0)
		unlinkat(p->pinsfd, p->pins[i].name, 0);
	p->pins[i] = p->pins[--p->npins];
}

void
gd_podfs_close(gd_podfs *p, bool remove)
{
	if (p->pins_dir) {
		dr_err *e = NULL;
		if (dr_pod_umount_under(p->pins_dir, false, &e) < 0)
			dr_err_free(e);
	}
	if (remove && p->dir) {
		dr_err *e = NULL;
		if (dr_pod_rm_rf(p->dir, &e) < 0)
			dr_err_free(e);
	}
	for (size_t i = 0; i < p->nroots; i++) {
		free(p->roots[i].runner);
		free(p->roots[i].sub);
		if (p->roots[i].fd >= 0)
			close(p->roots[i].fd);
	}
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->pinsfd >= 0)
		close(p->pinsfd);
	if (p->lockfd >= 0)
		close(p->lockfd);
	dr_strv_free(p->sockets);
	free(p->pins);
	free(p->dir);
	free(p->daemon_dir);
	free(p->pins_dir);
	memset(p, 0, sizeof(*p));
	p->dirfd = p->pinsfd = p->lockfd = -1;
}

/* Open rel below root without following any symlink; missing folders are made (root, 0755)
 * as the daemon makes a missing bind source. */
static int
open_below(int rootfd, const char *rel, int *err_out)
{
	int fd = openat2_beneath(rootfd, rel, O_PATH);
	if (fd >= 0 || errno != ENOENT) {
		*err_out = errno;
		return fd;
	}
	_cleanup_free_ char *copy = dr_xstrdup(rel);
	int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	for (char *s = copy, *e; s && *s; s = e ? e + 1 : NULL) {
		e = strchr(s, '/');
		if (e)
			*e = '\0';
		int next = openat2_beneath(cur, s, O_PATH);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, s, 0755) < 0 && errno != EEXIST) {
				*err_out = errno;
				close(cur);
				return -1;
			}
			next = openat2_beneath(cur, s, O_PATH | O_DIRECTORY);
		}
		if (next < 0) {
			*err_out = errno;
			close(cur);
			return -1;
		}
		close(cur);
		cur = next;
	}
	return cur;
}

gd_map_rc
gd_podfs_map(gd_podfs *p, const char *src_in, unsigned *group, char **out, char **why)
{
	*out = *why = NULL;
	if (src_in[0] != '/')
		return GD_MAP_NONE;
	_cleanup_free_ char *src = dr_xstrdup(src_in);
	size_t n = strlen(src);
	while (n > 1 && src[n - 1] == '/')
		src[--n] = '\0';
	if (!gd_path_clean(src)) {
		*why = dr_xasprintf("bind source \"%s\": give a clean absolute path (no empty, '.' or "
		                    "'..' components)",
		                    src_in);
		return GD_MAP_REFUSED;
	}
	if (dr_strv_contains(p->sockets, src)) {
		if (!p->socket_ok) {
			*why = dr_xasprintf("bind source \"%s\": the guard's socket is not in the pod's "
			                    "folder, so it cannot be given to containers",
			                    src_in);
			return GD_MAP_REFUSED;
		}
		*out = dr_xasprintf("%s/run/docker.sock", p->daemon_dir);
		return GD_MAP_OK;
	}
	const gd_podroot *r = NULL;
	size_t best = 0;
	for (size_t i = 0; i < p->nroots; i++) {
		size_t l = strlen(p->roots[i].runner);
		if (strncmp(src, p->roots[i].runner, l) == 0 && (src[l] == '\0' || src[l] == '/') &&
		    l > best) {
			r = &p->roots[i];
			best = l;
		}
	}
	if (!r)
		return GD_MAP_NONE;
	const char *rel = src + best;
	if (*rel == '/')
		rel++;
	if (!*rel) {
		*out = dr_xasprintf("%s/%s", p->daemon_dir, r->sub);
		return GD_MAP_OK;
	}
	if (!p->can_mount) {
		*why = dr_xasprintf("bind source \"%s\": folders below %s need the guard's pins, and "
		                    "the guard cannot mount (run it privileged with Bidirectional "
		                    "propagation on the pods folder)",
		                    src_in, r->runner);
		return GD_MAP_REFUSED;
	}
	int e = 0;
	_cleanup_close_ int fd = open_below(r->fd, rel, &e);
	if (fd < 0) {
		if (e == ELOOP)
			*why = dr_xasprintf("bind source \"%s\": the path goes through a symbolic link; "
			                    "bind the folder it points to",
			                    src_in);
		else if (e == EXDEV)
			*why = dr_xasprintf("bind source \"%s\": the path leaves %s", src_in, r->runner);
		else
			*why = dr_xasprintf("bind source \"%s\": %s", src_in, strerror(e));
		return GD_MAP_REFUSED;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
		*why = dr_xasprintf("bind source \"%s\": only folders and regular files can be bound",
		                    src_in);
		return GD_MAP_REFUSED;
	}
	if (*group == 0)
		*group = p->next_group++;
	if (p->npins == p->cappins) {
		p->cappins = p->cappins ? p->cappins * 2 : 16;
		p->pins = dr_xrealloc(p->pins, p->cappins * sizeof(*p->pins));
	}
	gd_pin *pin = &p->pins[p->npins];
	memset(pin, 0, sizeof(*pin));
	snprintf(pin->name, sizeof(pin->name), "%u-%u", *group, p->next_pin++);
	int mk = S_ISDIR(st.st_mode) ? mkdirat(p->pinsfd, pin->name, 0700)
	                             : mknodat(p->pinsfd, pin->name, S_IFREG | 0600, 0);
	if (mk < 0) {
		*why = dr_xasprintf("bind source \"%s\": make its pin: %s", src_in, strerror(errno));
		return GD_MAP_REFUSED;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	_cleanup_free_ char *target = dr_xasprintf("%s/%s", p->pins_dir, pin->name);
	if (mount(proc, target, NULL, MS_BIND, NULL) < 0) {
		int me = errno;
		unlinkat(p->pinsfd, pin->name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
		if (me == EPERM)
			p->can_mount = false;
		*why = dr_xasprintf("bind source \"%s\": pin it: %s%s", src_in, strerror(me),
		                    me == EPERM ? " (run the guard privileged, with Bidirectional "
		                                  "propagation on the pods folder)"
		                                : "");
		return GD_MAP_REFUSED;
	}
	/* The pin must be the object that was opened, nothing else. */
	_cleanup_close_ int check = openat(p->pinsfd, pin->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (check < 0 || !same_file(check, fd)) {
		umount2(target, MNT_DETACH);
		unlinkat(p->pinsfd, pin->name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
		*why = dr_xasprintf("bind source \"%s\": its pin does not show the opened folder",
		                    src_in);
		return GD_MAP_REFUSED;
	}
	pin->group = *group;
	pin->made_ms = now_ms();
	pin->pending = true;
	p->npins++;
	*out = dr_xasprintf("%s/pins/%s", p->daemon_dir, pin->name);
	return GD_MAP_OK;
}

void
gd_podfs_settle(gd_podfs *p, unsigned group, bool ok)
{
	if (!group)
		return;
	for (size_t i = p->npins; i-- > 0;) {
		if (p->pins[i].group != group)
			continue;
		if (ok)
			p->pins[i].pending = false;
		else
			pin_drop(p, i);
	}
}

bool
gd_podfs_is_pin(const gd_podfs *p, const char *daemon_path)
{
	size_t l = strlen(p->daemon_dir);
	return strncmp(daemon_path, p->daemon_dir, l) == 0 &&
	       strncmp(daemon_path + l, "/pins/", 6) == 0;
}

int
gd_podfs_sweep(gd_podfs *p, char *const *in_use, long long grace_ms)
{
	long long now = now_ms();
	int removed = 0;
	p->last_sweep_ms = now;
	for (size_t i = p->npins; i-- > 0;) {
		const gd_pin *pin = &p->pins[i];
		long long age = now - pin->made_ms;
		if (pin->pending ? age < PIN_PENDING_MAX_MS : age < grace_ms)
			continue;
		_cleanup_free_ char *dp = dr_xasprintf("%s/pins/%s", p->daemon_dir, pin->name);
		if (in_use && dr_strv_contains(in_use, dp))
			continue;
		pin_drop(p, i);
		removed++;
	}
	return removed;
}

int
gd_podfs_sweep_dead(const char *parent, const char *keep, dr_err **err)
{
	DIR *d = opendir(parent);
	if (!d)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s", parent);
	int removed = 0;
	struct dirent *de;
	time_t now = time(NULL);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (keep && strcmp(de->d_name, keep) == 0))
			continue;
		_cleanup_free_ char *sub = dr_xasprintf("%s/%s", parent, de->d_name);
		_cleanup_close_ int dfd = open(sub, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		/* No .lock: not a pod folder, or one being made. A .lock nobody holds, not touched
		 * for DEAD_LOCK_AGE_S: its guard is gone (killed with the pod). */
		_cleanup_close_ int lfd = openat(dfd, ".lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (lfd < 0 || fstat(lfd, &st) < 0 || now - st.st_mtime < DEAD_LOCK_AGE_S ||
		    flock(lfd, LOCK_EX | LOCK_NB) < 0)
			continue;
		dr_err *e = NULL;
		if (dr_pod_umount_under(sub, true, &e) < 0 || dr_pod_rm_rf(sub, &e) < 0) {
			dr_err_free(e);
			continue;
		}
		removed++;
	}
	closedir(d);
	return removed;
}

void
gd_podfs_beat(gd_podfs *p)
{
	if (p->lockfd >= 0)
		futimens(p->lockfd, NULL);
}
