/* fsops.c: mounts, rm -rf and du for slot directories (see fsops.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "pod/fsops.h"
#include "sys/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_DEPTH 512

/* ---- mounts ---- */

/* Decode mountinfo's octal escapes (\040 for a space) of field f (length n); owned. */
static char *
unescape(const char *f, size_t n)
{
	char *out = dr_xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i] == '\\' && i + 3 < n && f[i + 1] >= '0' &&
		    f[i + 1] <= '3' && f[i + 2] >= '0' && f[i + 2] <= '7' && f[i + 3] >= '0' &&
		    f[i + 3] <= '7') {
			out[o++] = (char)((f[i + 1] - '0') * 64 + (f[i + 2] - '0') * 8 + (f[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = f[i];
		}
	}
	out[o] = '\0';
	return out;
}

static int
by_length_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	if (la != lb)
		return la > lb ? -1 : 1;
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
dr_pod_mounts_under(const char *mountinfo, const char *dir, bool inclusive)
{
	char **v = dr_xcalloc(1, sizeof(char *));
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl <= 1) /* never everything under / */
		return v;
	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		/* Field 5 (1-based) is the mount point. */
		const char *f = line;
		const char *le = line + ll;
		for (int i = 0; i < 4 && f < le; i++) {
			const char *sp = memchr(f, ' ', (size_t)(le - f));
			f = sp ? sp + 1 : le;
		}
		if (f < le) {
			const char *sp = memchr(f, ' ', (size_t)(le - f));
			size_t fl = sp ? (size_t)(sp - f) : (size_t)(le - f);
			_cleanup_free_ char *mp = unescape(f, fl);
			size_t ml = strlen(mp);
			bool under = ml > dl && strncmp(mp, dir, dl) == 0 && mp[dl] == '/';
			bool same = ml == dl && strncmp(mp, dir, dl) == 0;
			if (under || (inclusive && same))
				dr_strv_push(&v, mp);
		}
		line = nl ? nl + 1 : NULL;
	}
	qsort(v, dr_strv_len(v), sizeof(char *), by_length_desc);
	return v;
}

int
dr_pod_umount_under(const char *dir, bool inclusive, dr_err **err)
{
	_cleanup_free_ char *info = NULL;
	if (dr_read_file("/proc/self/mountinfo", 64u << 20, &info, NULL, err) < 0)
		return -1;
	_cleanup_strv_ char **mps = dr_pod_mounts_under(info, dir, inclusive);
	int n = 0;
	for (size_t i = 0; mps[i]; i++) {
		if (umount2(mps[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
			n++;
			continue;
		}
		if (errno == EINVAL || errno == ENOENT)
			continue; /* went with a parent */
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "unmount %s", mps[i]);
	}
	return n;
}

/* ---- rm -rf ---- */

static int
rm_tree_at(int dfd, const char *path, dev_t dev, int depth, dr_err **err)
{
	if (depth > MAX_DEPTH)
		return dr_fail(err, DR_EXIT_FAIL, "remove %s: deeper than %d levels", path, MAX_DEPTH);
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "read directory %s", path);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = dr_fail_errno(err, DR_EXIT_FAIL, errno, "read directory %s", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			rc = dr_fail_errno(err, DR_EXIT_FAIL, errno, "stat %s/%s", path, de->d_name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_free_ char *sub = dr_xasprintf("%s/%s", path, de->d_name);
			if (st.st_dev != dev) {
				rc = dr_fail(err, DR_EXIT_FAIL, "remove %s: something is mounted there",
				             sub);
				break;
			}
			int sfd = openat(dirfd(d), de->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0) {
				rc = dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s", sub);
				break;
			}
			if (rm_tree_at(sfd, sub, dev, depth + 1, err) < 0) {
				rc = -1;
				break;
			}
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				rc = dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove %s", sub);
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			rc = dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove %s/%s", path, de->d_name);
		}
	}
	closedir(d);
	return rc;
}

int
dr_pod_rm_rf(const char *path, dr_err **err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "stat %s", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove %s", path);
		return 0;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s", path);
	if (rm_tree_at(fd, path, st.st_dev, 0, err) < 0)
		return -1;
	if (rmdir(path) < 0 && errno != ENOENT)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "remove %s", path);
	return 0;
}

/* ---- du ---- */

typedef struct {
	uint64_t dev, ino;
} inode_key;

typedef struct {
	inode_key *slots;
	size_t cap, used;
} inode_set;

static uint64_t
key_hash(inode_key k)
{
	uint64_t h = k.ino * 0x9E3779B97F4A7C15ull ^ (k.dev + 0x632BE59BD9B4E019ull);
	return h ^ (h >> 29);
}

/* true if k was not in the set (and is now). Slot ino 0 is "empty": inode 0 never exists. */
static bool
inode_set_add(inode_set *s, inode_key k)
{
	if ((s->used + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		inode_key *n = dr_xcalloc(ncap, sizeof(*n));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i].ino)
				continue;
			size_t j = key_hash(s->slots[i]) & (ncap - 1);
			while (n[j].ino)
				j = (j + 1) & (ncap - 1);
			n[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = n;
		s->cap = ncap;
	}
	size_t j = key_hash(k) & (s->cap - 1);
	while (s->slots[j].ino) {
		if (s->slots[j].ino == k.ino && s->slots[j].dev == k.dev)
			return false;
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = k;
	s->used++;
	return true;
}

typedef struct {
	dev_t dev;
	uint64_t bytes;
	uint64_t entries;
	long deadline;
	const dr_pod_cancel *cancel;
	inode_set links;
} du_state;

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
du_at(du_state *s, int dfd, const char *path, int depth, dr_err **err)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return dr_fail_errno(err, DR_EXIT_FAIL, e, "read directory %s", path);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((++s->entries & 1023) == 0) {
			if (s->deadline && now_ms() > s->deadline) {
				rc = dr_fail_errno(err, DR_EXIT_FAIL, ETIMEDOUT, "measure %s", path);
				break;
			}
			if (dr_pod_cancelled(s->cancel)) {
				rc = dr_fail_errno(err, DR_EXIT_FAIL, ECANCELED, "measure %s", path);
				break;
			}
		}
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* removed while we walk: a live tree */
		if (st.st_dev != s->dev)
			continue;
		if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
		    !inode_set_add(&s->links, (inode_key){ (uint64_t)st.st_dev, (uint64_t)st.st_ino }))
			continue;
		s->bytes += (uint64_t)st.st_blocks * 512u;
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			int sfd = openat(dirfd(d), de->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0)
				continue;
			_cleanup_free_ char *sub = dr_xasprintf("%s/%s", path, de->d_name);
			rc = du_at(s, sfd, sub, depth + 1, err);
		}
	}
	closedir(d);
	return rc;
}

int
dr_pod_disk_usage(const char *path, long deadline_ms, const dr_pod_cancel *cancel,
                  uint64_t *bytes, dr_err **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "measure %s", path);
	du_state s = { .dev = st.st_dev, .bytes = (uint64_t)st.st_blocks * 512u,
		       .deadline = deadline_ms > 0 ? now_ms() + deadline_ms : 0, .cancel = cancel };
	int rc = 0;
	if (S_ISDIR(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "measure %s", path);
		rc = du_at(&s, fd, path, 0, err);
	}
	free(s.links.slots);
	if (rc == 0)
		*bytes = s.bytes;
	return rc;
}

char *
dr_pod_size_text(uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	if (bytes < 1024)
		return dr_xasprintf("%llu B", (unsigned long long)bytes);
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < DR_ARRAY_LEN(units)) {
		v /= 1024;
		u++;
	}
	return dr_xasprintf(v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}
