/* spawn.c: children from an argv vector with a deadline, always reaped (see spawn.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "sys/spawn.h"
#include "sys/fsutil.h"
#include "sys/progress.h"

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define DEFAULT_MAX_OUTPUT (64u << 20)
#define KILL_GRACE_MS 2000

/* Variables a child may inherit. Everything else (tokens in the user's shell included) is
 * dropped. */
static const char *const env_allow[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM",
	"TMPDIR", "TZ", "KUBECONFIG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
	"XDG_RUNTIME_DIR", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "KIND_EXPERIMENTAL_PROVIDER",
	"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME", "HELM_REGISTRY_CONFIG",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "NO_COLOR", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF",
	"CONTAINERS_REGISTRIES_CONF", "CONTAINER_HOST", NULL,
};

static char **
child_env(void)
{
	char **env = NULL;
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		size_t n = (size_t)(eq - *e);
		for (size_t i = 0; env_allow[i]; i++)
			if (strlen(env_allow[i]) == n && strncmp(*e, env_allow[i], n) == 0) {
				dr_strv_push(&env, *e);
				break;
			}
	}
	if (!env)
		env = dr_xcalloc(1, sizeof(char *));
	return env;
}

char *
dr_which(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? dr_xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	_cleanup_free_ char *copy = dr_xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *full = dr_xasprintf("%s/%s", *dir ? dir : ".", name);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return TAKE_PTR(full);
	}
	return NULL;
}

static bool
needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("-_./:=,@+%", *p)))
			return true;
	return false;
}

char *
dr_argv_text(char *const *argv)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			dr_buf_puts(&b, " ");
		if (!needs_quotes(argv[i])) {
			dr_buf_puts(&b, argv[i]);
			continue;
		}
		dr_buf_puts(&b, "'");
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				dr_buf_puts(&b, "'\\''");
			else
				dr_buf_append(&b, p, 1);
		}
		dr_buf_puts(&b, "'");
	}
	return dr_buf_steal(&b);
}

void
dr_spawn_result_clear(dr_spawn_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Child side after fork: wire up stdio, drop every other fd, exec. Reports an exec failure's
 * errno through errpipe (close-on-exec, so success closes it silently). */
static void __attribute__((noreturn))
child(const char *path, char *const *argv, char **env, int in, int out, int err, int errpipe)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Its own process group, so a deadline stops the program and everything it started. */
	setpgid(0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
#ifdef SYS_close_range
	syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
#endif
	execve(path, argv, env);
fail:;
	int e = errno;
	ssize_t w = write(errpipe, &e, sizeof(e));
	(void)w;
	_exit(127); /* forked child */
}

int
dr_spawn(const dr_spawn_opts *o, dr_spawn_result *res, dr_err **err)
{
	memset(res, 0, sizeof(*res));
	const char *name = o->argv[0];
	_cleanup_free_ char *path = dr_which(name);
	if (!path)
		return dr_fail(err, DR_EXIT_NOT_FOUND, "%s is not installed (not found on PATH)%s%s",
		               name, o->install_hint ? ": " : "", o->install_hint ? o->install_hint : "");
	_cleanup_strv_ char **env = child_env();
	int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	int exec_pipe[2] = { -1, -1 };
	int devnull = -1;
	int rc = -1;
	if (o->stdin_data) {
		if (pipe2(in_pipe, O_CLOEXEC) < 0)
			goto syserr;
	} else {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0)
			goto syserr;
	}
	if ((!o->passthrough &&
	     (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)) ||
	    pipe2(exec_pipe, O_CLOEXEC) < 0)
		goto syserr;
	fflush(stdout);
	fflush(stderr);
	long start = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		goto syserr;
	if (pid > 0)
		setpgid(pid, pid); /* also here: no race with an early deadline */
	if (pid == 0)
		child(path, o->argv, env, o->stdin_data ? in_pipe[0] : devnull,
		      o->passthrough ? STDOUT_FILENO : out_pipe[1],
		      o->passthrough ? STDERR_FILENO : err_pipe[1], exec_pipe[1]);
	close_fd(&in_pipe[0]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[1]);
	close_fd(&exec_pipe[1]);
	close_fd(&devnull);

	int exec_errno = 0;
	ssize_t got;
	do
		got = read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
	while (got < 0 && errno == EINTR);
	close_fd(&exec_pipe[0]);

	size_t max = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT;
	dr_buf bout = DR_BUF_INIT(max), berr = DR_BUF_INIT(max);
	size_t written = 0;
	if (o->stdin_data && o->stdin_len == 0)
		close_fd(&in_pipe[1]);
	if (in_pipe[1] >= 0)
		fcntl(in_pipe[1], F_SETFL, fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	long deadline = o->timeout_ms > 0 ? start + o->timeout_ms : 0;
	long kill_at = 0;
	int status = 0;
	bool reaped = false;
	while (!reaped) {
		struct pollfd fds[3];
		int nfds = 0;
		if (out_pipe[0] >= 0)
			fds[nfds++] = (struct pollfd){ out_pipe[0], POLLIN, 0 };
		if (err_pipe[0] >= 0)
			fds[nfds++] = (struct pollfd){ err_pipe[0], POLLIN, 0 };
		if (in_pipe[1] >= 0)
			fds[nfds++] = (struct pollfd){ in_pipe[1], POLLOUT, 0 };
		int wait_ms = 50;
		long t = now_ms();
		if (deadline && !res->timed_out && t >= deadline) {
			res->timed_out = true;
			kill(-pid, SIGTERM);
			kill_at = t + KILL_GRACE_MS;
		}
		if (kill_at && t >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
		if (res->timed_out && t >= deadline + KILL_GRACE_MS + 5000) {
			/* Something outside the group holds the pipes: stop reading them. */
			close_fd(&out_pipe[0]);
			close_fd(&err_pipe[0]);
		}
		if (!o->passthrough) /* a child writing to our terminal keeps it to itself */
			dr_progress_tick();
		if (nfds > 0 && poll(fds, (nfds_t)nfds, wait_ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nfds; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == in_pipe[1]) {
				ssize_t w = write(in_pipe[1], o->stdin_data + written,
				                  o->stdin_len - written);
				if (w > 0)
					written += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
				    written == o->stdin_len)
					close_fd(&in_pipe[1]);
				continue;
			}
			char chunk[65536];
			ssize_t r = read(fds[i].fd, chunk, sizeof(chunk));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			bool is_out = fds[i].fd == out_pipe[0];
			if (r <= 0) {
				close_fd(is_out ? &out_pipe[0] : &err_pipe[0]);
				continue;
			}
			/* Over the cap: keep reading so the child never blocks, drop the rest. */
			(void)dr_buf_append(is_out ? &bout : &berr, chunk, (size_t)r);
		}
		if (out_pipe[0] < 0 && err_pipe[0] < 0) {
			close_fd(&in_pipe[1]);
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				reaped = true;
			else if (nfds == 0) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
	}
	dr_progress_tick_end();
	signal(SIGPIPE, old_pipe);
	close_fd(&in_pipe[1]);
	close_fd(&out_pipe[0]);
	close_fd(&err_pipe[0]);
	if (!reaped)
		waitpid(pid, &status, 0);
	res->elapsed_ms = now_ms() - start;
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	res->out_len = bout.len; /* binary output may hold NUL bytes */
	res->out = dr_buf_steal(&bout);
	res->err_len = berr.len;
	res->err = dr_buf_steal(&berr);
	if (got == (ssize_t)sizeof(exec_errno) && exec_errno) {
		dr_spawn_result_clear(res);
		return dr_fail_errno(err, exec_errno == ENOENT ? DR_EXIT_NOT_FOUND : DR_EXIT_CANNOT_RUN,
		                     exec_errno, "cannot run %s", path);
	}
	return 0;

syserr:
	rc = dr_fail_errno(err, DR_EXIT_FAIL, errno, "run %s", name);
	close_fd(&in_pipe[0]);
	close_fd(&in_pipe[1]);
	close_fd(&out_pipe[0]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[0]);
	close_fd(&err_pipe[1]);
	close_fd(&exec_pipe[0]);
	close_fd(&exec_pipe[1]);
	close_fd(&devnull);
	return rc;
}

/* The last `n` non-empty lines of text, joined with " | " (owned). */
static char *
tail_lines(const char *text, int n)
{
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	size_t start = len;
	int lines = 0;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++lines == n)
			break;
		start--;
	}
	_cleanup_free_ char *t = dr_xstrndup(text + start, len - start);
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	char *save = NULL;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!*l)
			continue;
		if (b.len)
			dr_buf_puts(&b, " | ");
		dr_buf_puts(&b, l);
	}
	return dr_buf_steal(&b);
}

int
dr_spawn_check(const dr_spawn_opts *o, const dr_spawn_result *res, dr_err **err)
{
	if (!res->timed_out && res->status == 0)
		return 0;
	_cleanup_free_ char *cmd = dr_argv_text(o->argv);
	_cleanup_free_ char *last = tail_lines(res->err_len ? res->err : res->out, 3);
	if (res->timed_out)
		return dr_fail(err, DR_EXIT_TIMEOUT, "'%s' did not finish within %d s%s%s", cmd,
		               o->timeout_ms / 1000, *last ? "; it printed: " : "", last);
	return dr_fail(err, DR_EXIT_FAIL, "'%s' failed (exit %d)%s%s", cmd, res->status,
	               *last ? ": " : "", last);
}

int
dr_spawn_daemon(const char *exe, char *const *argv, char *const *envp, const char *logpath,
                bool new_session, pid_t *pid, dr_err **err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, (new_session ? POSIX_SPAWN_SETSID : 0) |
	                                      POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	fflush(NULL);
	int rc = posix_spawn(pid, exe, &fa, &at, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, rc, "start %s", exe);
	return 0;
}

char *
dr_self_exe(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return dr_xstrdup("deskrun");
	buf[n] = '\0';
	return dr_xstrdup(buf);
}

int
dr_elf_static(const char *data, size_t len)
{
	if (len < sizeof(Elf64_Ehdr) || memcmp(data, ELFMAG, SELFMAG) != 0 ||
	    data[EI_CLASS] != ELFCLASS64)
		return -1;
	Elf64_Ehdr eh;
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_phoff == 0 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phoff + (size_t)eh.e_phnum * sizeof(Elf64_Phdr) > len)
		return -1;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			return 0;
	}
	return 1;
}

/* The first 64 KiB of path (an ELF's headers are at its start) checked by dr_elf_static. */
static bool
file_is_static(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t cap = 64 * 1024;
	_cleanup_free_ char *head = dr_xmalloc(cap);
	ssize_t n = pread(fd, head, cap, 0);
	return n > 0 && dr_elf_static(head, (size_t)n) == 1;
}

char *
dr_static_exe(void)
{
	char *self = dr_self_exe();
	if (file_is_static(self))
		return self;
	_cleanup_free_ char *dir = dr_dirname(self);
	free(self);
	char *st = dr_xasprintf("%s/deskrun-static", dir);
	if (access(st, X_OK) == 0 && file_is_static(st))
		return st;
	free(st);
	return NULL;
}
