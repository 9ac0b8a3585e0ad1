/* fsutil.c: careful file handling (see fsutil.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "sys/fsutil.h"

#include <fcntl.h>
#include <sys/stat.h>

int
dr_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
dr_read_fd(int fd, const char *what, size_t max, char **out, size_t *len, dr_err **err)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(max);
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "read %s", what);
		}
		if (r == 0)
			break;
		if (dr_buf_append(&b, chunk, (size_t)r) < 0)
			return dr_fail(err, DR_EXIT_FAIL, "%s is larger than %zu bytes", what, max);
	}
	if (len)
		*len = b.len;
	*out = dr_buf_steal(&b);
	return 0;
}

int
dr_read_file(const char *path, size_t max, char **out, size_t *len, dr_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s", path);
	return dr_read_fd(fd, path, max, out, len, err);
}

char *
dr_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return dr_xstrdup(".");
	if (slash == path)
		return dr_xstrdup("/");
	return dr_xstrndup(path, (size_t)(slash - path));
}

int
dr_mkdir_p(const char *path, mode_t mode, dr_err **err)
{
	_cleanup_free_ char *p = dr_xstrdup(path);
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create directory %s", p);
		p[i] = saved;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return dr_fail(err, DR_EXIT_FAIL, "%s exists and is not a directory", path);
	return 0;
}

int
dr_write_atomic(const char *path, const void *data, size_t len, mode_t mode, dr_err **err)
{
	_cleanup_free_ char *dir = dr_dirname(path);
	_cleanup_free_ char *tmp = dr_xasprintf("%s.XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create temporary file in %s", dir);
	if (fchmod(fd, mode) < 0 || dr_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "write %s", tmp);
	}
	if (close(TAKE_FD(fd)) < 0) {
		int e = errno;
		unlink(tmp);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "rename %s to %s", tmp, path);
	}
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
}
