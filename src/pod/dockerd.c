/* dockerd.c: the dockerd command line of a lease and its stale-state cleanup (see dockerd.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "pod/dockerd.h"
#include "pod/fsops.h"
#include "pod/http.h"
#include "sys/fsutil.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>

void
dr_pod_dockerd_clear(dr_pod_dockerd *d)
{
	dr_strv_free(d->argv);
	dr_strv_free(d->added);
	dr_strv_free(d->unix_sockets);
	free(d->ping_url);
	free(d->exec_root);
	free(d->pidfile);
	memset(d, 0, sizeof(*d));
}

/* Is argv[i] the flag --lname (or -sname) in one of pflag's forms (--x=v, --x v, -s v, -s=v,
 * -sv)? Returns how many argv entries it spans (1 or 2) with *value set, 0 if it is not this
 * flag, -1 if its value is missing. */
static int
flag_value(char *const *argv, size_t i, const char *lname, char sname, const char **value)
{
	const char *a = argv[i];
	size_t ll = strlen(lname);
	if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, lname, ll) == 0) {
		const char *rest = a + 2 + ll;
		if (*rest == '=') {
			*value = rest + 1;
			return 1;
		}
		if (*rest)
			return 0;
	} else if (sname && a[0] == '-' && a[1] == sname) {
		if (a[2] == '=') {
			*value = a + 3;
			return 1;
		}
		if (a[2]) {
			*value = a + 2;
			return 1;
		}
	} else {
		return 0;
	}
	if (!argv[i + 1])
		return -1;
	*value = argv[i + 1];
	return 2;
}

/* A boolean flag given as --name or --name=true/1. */
static bool
flag_true(const char *a, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
		return false;
	const char *rest = a + 2 + n;
	return !*rest || strcmp(rest, "=true") == 0 || strcmp(rest, "=1") == 0;
}

int
dr_pod_dockerd_prepare(char *const *user, const char *data_root, const char *exec_root,
                       const char *pidfile, dr_pod_dockerd *d, dr_err **err)
{
	memset(d, 0, sizeof(*d));
	if (!user || !user[0] || !*user[0])
		return dr_fail(err, DR_EXIT_USAGE,
		               "give the daemon's command after \"--\", e.g. -- dockerd "
		               "--host=unix:///var/run/docker.sock");
	_cleanup_strv_ char **hosts = NULL;
	const char *caller_exec_root = NULL, *caller_pidfile = NULL;
	bool tls = false;
	for (size_t i = 1; user[i]; i++) {
		const char *a = user[i];
		const char *v = NULL;
		int k;
		if (strcmp(a, "--") == 0)
			break;
		if ((k = flag_value(user, i, "data-root", 0, &v)) != 0 ||
		    (k = flag_value(user, i, "graph", 'g', &v)) != 0)
			return dr_fail(err, DR_EXIT_USAGE,
			               "dockerd argument \"%s\": the entrypoint sets the data root to "
			               "the leased slot; remove it",
			               a);
		if ((k = flag_value(user, i, "host", 'H', &v)) != 0) {
			if (k < 0)
				return dr_fail(err, DR_EXIT_USAGE, "dockerd argument %s needs a value", a);
			dr_strv_push(&hosts, v);
		} else if ((k = flag_value(user, i, "exec-root", 0, &v)) != 0) {
			if (k < 0)
				return dr_fail(err, DR_EXIT_USAGE, "dockerd argument %s needs a value", a);
			caller_exec_root = v;
		} else if ((k = flag_value(user, i, "pidfile", 'p', &v)) != 0) {
			if (k < 0)
				return dr_fail(err, DR_EXIT_USAGE, "dockerd argument %s needs a value", a);
			caller_pidfile = v;
		} else if (flag_true(a, "tlsverify") || flag_true(a, "tls")) {
			tls = true;
		}
		if (k == 2)
			i++;
	}
	if (!hosts)
		dr_strv_push(&hosts, DR_POD_DEFAULT_DOCKER_HOST);
	/* dockerd accepts "unix://" alone for its default socket. */
	for (size_t i = 0; hosts[i]; i++) {
		if (strcmp(hosts[i], "unix://") == 0) {
			free(hosts[i]);
			hosts[i] = dr_xstrdup(DR_POD_DEFAULT_DOCKER_HOST);
		}
		if (dr_startswith(hosts[i], "unix://")) {
			dr_strv_push(&d->unix_sockets, hosts[i] + 7);
			if (!d->ping_url)
				d->ping_url = dr_xstrdup(hosts[i]);
		}
	}
	if (!d->ping_url && !tls)
		for (size_t i = 0; hosts[i] && !d->ping_url; i++)
			if (dr_startswith(hosts[i], "tcp://"))
				d->ping_url = dr_xstrdup(hosts[i]);
	if (!d->ping_url) {
		dr_pod_dockerd_clear(d);
		return dr_fail(err, DR_EXIT_USAGE,
		               "none of dockerd's hosts can be checked for readiness (unix:// or "
		               "tcp:// without TLS): add --host=unix:///var/run/docker.sock");
	}
	if (!d->unix_sockets)
		d->unix_sockets = dr_xcalloc(1, sizeof(char *));

	d->argv = dr_strv_copy(user);
	d->added = dr_xcalloc(1, sizeof(char *));
	dr_strv_push(&d->added, "--data-root");
	dr_strv_push(&d->added, data_root);
	if (caller_exec_root) {
		d->exec_root = dr_xstrdup(caller_exec_root);
	} else {
		d->exec_root = dr_xstrdup(exec_root);
		d->own_exec_root = true;
		dr_strv_push(&d->added, "--exec-root");
		dr_strv_push(&d->added, exec_root);
	}
	if (caller_pidfile) {
		d->pidfile = dr_xstrdup(caller_pidfile);
	} else {
		d->pidfile = dr_xstrdup(pidfile);
		d->own_pidfile = true;
		dr_strv_push(&d->added, "--pidfile");
		dr_strv_push(&d->added, pidfile);
	}
	for (size_t i = 0; d->added[i]; i++)
		dr_strv_push(&d->argv, d->added[i]);
	return 0;
}

/* 1 if something accepts connections on the unix socket at path, 0 if not (refused, or no
 * socket there), -1 if it cannot tell. */
static int
socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 1;
	return errno == ECONNREFUSED || errno == ENOENT ? 0 : -1;
}

static bool
pid_alive(const char *pidfile)
{
	_cleanup_free_ char *text = NULL;
	if (dr_read_file(pidfile, 64, &text, NULL, NULL) < 0)
		return false;
	char *end = NULL;
	long pid = strtol(text, &end, 10);
	if (pid <= 0 || (*end && *end != '\n'))
		return false;
	return pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int
dr_pod_dockerd_clean(const dr_pod_dockerd *d, const char *data_root, bool at_start,
                     char **removed, dr_err **err)
{
	_cleanup_buf_ dr_buf what = DR_BUF_INIT(0);
	struct stat st;
	/* Mounts: dockerd bind-mounts the data root onto itself (and says so with a marker in the
	 * exec root) when its propagation needs changing; containers leave overlay and shm mounts
	 * under it. */
	_cleanup_free_ char *marker = dr_xasprintf("%s/unmount-on-shutdown", d->exec_root);
	bool self_bind = stat(marker, &st) == 0;
	int n = dr_pod_umount_under(data_root, self_bind, err);
	if (n < 0)
		return -1;
	int m = 0;
	if (d->own_exec_root) {
		m = dr_pod_umount_under(d->exec_root, true, err);
		if (m < 0)
			return -1;
	}
	if (n + m > 0)
		dr_buf_printf(&what, "%s%d mounts", what.len ? ", " : "", n + m);
	if (d->own_exec_root && lstat(d->exec_root, &st) == 0) {
		if (dr_pod_rm_rf(d->exec_root, err) < 0)
			return -1;
		dr_buf_printf(&what, "%sthe exec root", what.len ? ", " : "");
	}
	if (lstat(d->pidfile, &st) == 0 && (d->own_pidfile || !pid_alive(d->pidfile))) {
		if (unlink(d->pidfile) < 0 && errno != ENOENT)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove %s", d->pidfile);
		dr_buf_printf(&what, "%sthe pidfile", what.len ? ", " : "");
	}
	for (size_t i = 0; at_start && d->unix_sockets[i]; i++) {
		const char *sock = d->unix_sockets[i];
		if (lstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		int alive = socket_alive(sock);
		if (alive > 0)
			return dr_fail(err, DR_EXIT_FAIL,
			               "another daemon already listens on %s: give each dind "
			               "container its own socket",
			               sock);
		if (alive == 0) {
			if (unlink(sock) < 0 && errno != ENOENT)
				return dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove %s", sock);
			dr_buf_printf(&what, "%sthe socket %s", what.len ? ", " : "", sock);
		}
	}
	if (removed)
		*removed = what.len ? dr_buf_steal(&what) : NULL;
	return 0;
}
