/* proc.c: the one-child init of the dind entrypoint (see proc.h). */
#include "lib/common.h"
#include "pod/proc.h"
#include "sys/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static const int forwarded[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH };

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
dr_pod_sup_init(dr_pod_sup *s, dr_err **err)
{
	memset(s, 0, sizeof(*s));
	s->sfd = -1;
	s->pid1 = getpid() == 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "become a child subreaper");
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < DR_ARRAY_LEN(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &s->old_mask) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "block signals");
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sfd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "signalfd");
	return 0;
}

void
dr_pod_sup_close(dr_pod_sup *s)
{
	if (s->sfd >= 0)
		close(s->sfd);
	s->sfd = -1;
}

int
dr_pod_sup_spawn(dr_pod_sup *s, char *const *argv, int inherit_fd, dr_err **err)
{
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t def;
	sigemptyset(&def);
	for (size_t i = 0; i < DR_ARRAY_LEN(forwarded); i++)
		sigaddset(&def, forwarded[i]);
	sigaddset(&def, SIGCHLD);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &s->old_mask);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int flags = -1;
	if (inherit_fd >= 0) {
		flags = fcntl(inherit_fd, F_GETFD);
		if (flags >= 0)
			fcntl(inherit_fd, F_SETFD, flags & ~FD_CLOEXEC);
	}
	pid_t pid = 0;
	int rc = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
	if (inherit_fd >= 0 && flags >= 0)
		fcntl(inherit_fd, F_SETFD, flags);
	posix_spawnattr_destroy(&attr);
	if (rc == ENOENT)
		return dr_fail(err, DR_EXIT_NOT_FOUND, "%s is not installed (not found on PATH)",
		               argv[0]);
	if (rc == EACCES || rc == ENOEXEC || rc == EPERM)
		return dr_fail_errno(err, DR_EXIT_CANNOT_RUN, rc, "cannot run %s", argv[0]);
	if (rc != 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, rc, "start %s", argv[0]);
	s->main_pid = pid;
	s->main_running = true;
	return 0;
}

static int
decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static void
reap(dr_pod_sup *s)
{
	for (;;) {
		int st = 0;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p <= 0) {
			if (p < 0 && errno == EINTR)
				continue;
			return;
		}
		if (p != s->main_pid)
			s->reaped_others++;
		if (s->main_running && p == s->main_pid) {
			s->main_running = false;
			s->main_status = decode_status(st);
			s->main_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		}
	}
}

bool
dr_pod_sup_handle(dr_pod_sup *s)
{
	struct signalfd_siginfo si[16];
	for (;;) {
		ssize_t n = read(s->sfd, si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			int sig = (int)si[i].ssi_signo;
			if (sig == SIGCHLD)
				continue; /* reaped below, whoever it was */
			if ((sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) && !s->stop_signal)
				s->stop_signal = sig;
			if (s->main_running)
				kill(s->main_pid, sig);
		}
	}
	reap(s);
	return dr_pod_sup_stopping(s);
}

bool
dr_pod_sup_stopping(const dr_pod_sup *s)
{
	return s->stop_signal != 0 || (s->main_pid && !s->main_running);
}

void
dr_pod_sup_wait(dr_pod_sup *s, long timeout_ms)
{
	struct pollfd p = { s->sfd, POLLIN, 0 };
	int k;
	do
		k = poll(&p, 1, timeout_ms < 0 ? -1 : (int)(timeout_ms > 600000 ? 600000 : timeout_ms));
	while (k < 0 && errno == EINTR);
	dr_pod_sup_handle(s);
}

static bool
cancel_check(void *ctx)
{
	return dr_pod_sup_handle(ctx);
}

dr_pod_cancel
dr_pod_sup_cancel(dr_pod_sup *s)
{
	return (dr_pod_cancel){ s->sfd, cancel_check, s };
}

/* Our children, from /proc/<pid>/stat ("pid (comm) state ppid ..."); owned, count in *n. */
static pid_t *
children(size_t *n)
{
	*n = 0;
	pid_t self = getpid();
	DIR *d = opendir("/proc");
	if (!d)
		return NULL;
	pid_t *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		const char *rp = strrchr(buf, ')');
		char state = 0;
		long ppid = 0;
		if (!rp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2 || ppid != (long)self)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = dr_xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = (pid_t)strtol(de->d_name, NULL, 10);
	}
	closedir(d);
	return v;
}

static bool
any_child(void)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

int
dr_pod_sup_finish(dr_pod_sup *s, long grace_ms, long max_ms)
{
	long start = now_ms(), last_term = -100000;
	unsigned long reaped_before = s->reaped_others;
	for (;;) {
		dr_pod_sup_handle(s);
		long t = now_ms() - start;
		if (!any_child())
			break;
		if (t > max_ms) {
			dr_warn("processes left by dockerd did not stop within %ld s", max_ms / 1000);
			break;
		}
		int sig = t < grace_ms ? SIGTERM : SIGKILL;
		if (sig == SIGKILL || t - last_term >= 1000) {
			if (sig == SIGTERM)
				last_term = t;
			if (s->pid1) {
				kill(-1, sig);
			} else {
				size_t n = 0;
				_cleanup_free_ pid_t *kids = children(&n);
				for (size_t i = 0; i < n; i++)
					kill(kids[i], sig);
			}
		}
		dr_pod_sup_wait(s, 100);
	}
	return (int)(s->reaped_others - reaped_before);
}

char *
dr_pod_signal_text(int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	return abbrev ? dr_xasprintf("SIG%s", abbrev) : dr_xasprintf("signal %d", sig);
}

char *
dr_pod_status_text(const dr_pod_sup *s)
{
	if (s->main_signal) {
		_cleanup_free_ char *name = dr_pod_signal_text(s->main_signal);
		return dr_xasprintf("was killed by %s", name);
	}
	return dr_xasprintf("exited with status %d", s->main_status);
}
