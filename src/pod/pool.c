/* pool.c: listing the slots of cache pools for `deskrun cache ls` (see pool.h). */
#include "lib/common.h"
#include "pod/fsops.h"
#include "pod/pool.h"
#include "pod/slot.h"

#include <dirent.h>
#include <sys/stat.h>

/* slot-<k> → k, or -1. */
static long
slot_index(const char *name)
{
	if (!dr_startswith(name, DR_POD_SLOT_PREFIX))
		return -1;
	const char *d = name + strlen(DR_POD_SLOT_PREFIX);
	if (!*d || (*d == '0' && d[1]))
		return -1;
	long v = 0;
	for (; *d; d++) {
		if (*d < '0' || *d > '9' || v > 1000000)
			return -1;
		v = v * 10 + (*d - '0');
	}
	return v;
}

static bool
is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The slot indices under dir, sorted (owned, count in *n). */
static long *
slots_of(const char *dir, size_t *n)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	long *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		long k = slot_index(de->d_name);
		if (k < 0)
			continue;
		_cleanup_free_ char *p = dr_xasprintf("%s/%s", dir, de->d_name);
		if (!is_dir(p))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = dr_xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = k;
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++) /* insertion sort: small */
		for (size_t j = i; j > 0 && v[j] < v[j - 1]; j--) {
			long t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Subdirectories of dir, sorted (owned vector, never NULL). */
static char **
subdirs(const char *dir)
{
	char **v = dr_xcalloc(1, sizeof(char *));
	DIR *d = opendir(dir);
	if (!d)
		return v;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = dr_xasprintf("%s/%s", dir, de->d_name);
		if (is_dir(p))
			dr_strv_push(&v, de->d_name);
	}
	closedir(d);
	qsort(v, dr_strv_len(v), sizeof(char *), by_name);
	return v;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

static void
list_pool(const char *pool_dir, const char *name, json_t *rows)
{
	size_t n = 0;
	_cleanup_free_ long *ks = slots_of(pool_dir, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = dr_pod_slot_dir(pool_dir, (int)ks[i]);
		_cleanup_slot_meta_ dr_pod_slot_meta m = DR_POD_SLOT_META_INIT;
		_cleanup_err_ dr_err *err = NULL;
		int rc = dr_pod_slot_read_meta(dir, &m, &err);
		int probe = dr_pod_slot_probe(dir);
		json_t *row = json_object();
		json_object_set_new(row, "pool", json_string(name));
		json_object_set_new(row, "pool_dir", json_string(pool_dir));
		json_object_set_new(row, "slot", json_string(base_name(dir)));
		json_object_set_new(row, "index", json_integer(ks[i]));
		json_object_set_new(row, "dir", json_string(dir));
		json_object_set_new(row, "state", json_string(probe == 1   ? "leased"
		                                              : probe >= -1 ? "free"
		                                                            : "unknown"));
		json_t *meta = dr_pod_slot_meta_json(&m);
		json_object_del(meta, "version");
		json_object_update(row, meta);
		json_decref(meta);
		if (rc < 0)
			json_object_set_new(row, "error", json_string(err->msg));
		json_array_append_new(rows, row);
	}
}

int
dr_pod_pool_list(const char *dir, json_t **rows, dr_err **err)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "no cache pool at %s", dir);
	if (!S_ISDIR(st.st_mode))
		return dr_fail(err, DR_EXIT_FAIL, "no cache pool at %s: not a directory", dir);
	json_t *out = json_array();
	size_t n = 0;
	_cleanup_free_ long *direct = slots_of(dir, &n);
	if (n) {
		list_pool(dir, base_name(dir), out);
	} else {
		_cleanup_free_ char *pools = dr_xasprintf("%s/pool", dir);
		const char *parent = is_dir(pools) ? pools : dir;
		_cleanup_strv_ char **defs = subdirs(parent);
		for (size_t i = 0; defs[i]; i++) {
			_cleanup_free_ char *p = dr_xasprintf("%s/%s", parent, defs[i]);
			list_pool(p, defs[i], out);
		}
	}
	*rows = out;
	return 0;
}

static void
prune_row(json_t *rows, json_t *slot, const char *action, const char *reason, uint64_t bytes)
{
	json_t *r = json_object();
	json_object_set(r, "pool", json_object_get(slot, "pool"));
	json_object_set(r, "slot", json_object_get(slot, "slot"));
	json_object_set(r, "dir", json_object_get(slot, "dir"));
	json_object_set_new(r, "action", json_string(action));
	json_object_set_new(r, "reason", json_string(reason));
	json_object_set_new(r, "bytes", json_integer((json_int_t)bytes));
	json_array_append_new(rows, r);
}

/* Empty one slot whose lock we hold: docker/ and exec/ go, the metadata says size 0. */
static int
empty_slot(const char *dir, int64_t now, uint64_t *freed, dr_err **err)
{
	_cleanup_free_ char *data = dr_xasprintf("%s/" DR_POD_SLOT_DATA, dir);
	_cleanup_free_ char *exec = dr_xasprintf("%s/" DR_POD_SLOT_EXEC, dir);
	_cleanup_free_ char *pid = dr_xasprintf("%s/" DR_POD_SLOT_PIDFILE, dir);
	uint64_t bytes = 0;
	struct stat st;
	if (stat(data, &st) == 0 && dr_pod_disk_usage(data, 60000, NULL, &bytes, err) < 0)
		return -1;
	/* A killed daemon can leave mounts behind: detach them rather than fail. */
	if (dr_pod_umount_under(dir, false, err) < 0)
		return -1;
	if (dr_pod_rm_rf(data, err) < 0 || dr_pod_rm_rf(exec, err) < 0)
		return -1;
	unlink(pid);
	_cleanup_slot_meta_ dr_pod_slot_meta m = DR_POD_SLOT_META_INIT;
	_cleanup_err_ dr_err *merr = NULL;
	dr_pod_slot_read_meta(dir, &m, &merr); /* a corrupt file is rewritten with defaults */
	m.size_bytes = 0;
	m.size_at = now;
	if (dr_pod_slot_write_meta(dir, &m, err) < 0)
		return -1;
	*freed = bytes;
	return 0;
}

int
dr_pod_pool_prune(const char *dir, const dr_pod_prune_opts *o, json_t **rows, dr_err **err)
{
	_cleanup_json_ json_t *slots = NULL;
	if (dr_pod_pool_list(dir, &slots, err) < 0)
		return -1;
	json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(slots, i, s) {
		if (o->only && !dr_streq(json_string_value(json_object_get(s, "pool")), o->only))
			continue;
		const char *sdir = json_string_value(json_object_get(s, "dir"));
		_cleanup_slot_meta_ dr_pod_slot_meta m = DR_POD_SLOT_META_INIT;
		_cleanup_err_ dr_err *merr = NULL;
		dr_pod_slot_read_meta(sdir, &m, &merr);
		int64_t used = dr_pod_slot_last_used(&m);
		if (!o->all && used > 0 && o->now - used < o->older_than_s) {
			_cleanup_free_ char *t = dr_pod_time_text(used);
			_cleanup_free_ char *why = dr_xasprintf("last used %s", t);
			prune_row(out, s, "kept", why, 0);
			continue;
		}
		_cleanup_close_ int fd = -1;
		_cleanup_err_ dr_err *lerr = NULL;
		int got = dr_pod_slot_trylock(sdir, &fd, &lerr);
		if (got == 0) {
			_cleanup_free_ char *why = dr_xasprintf("leased now%s%s%s", m.holder ? " (" : "",
			                                        m.holder ? m.holder : "",
			                                        m.holder ? ")" : "");
			prune_row(out, s, "skipped", why, 0);
			continue;
		}
		if (got < 0) {
			prune_row(out, s, "error", lerr->msg, 0);
			continue;
		}
		uint64_t bytes = 0;
		_cleanup_err_ dr_err *perr = NULL;
		if (o->dry_run) {
			_cleanup_free_ char *data = dr_xasprintf("%s/" DR_POD_SLOT_DATA, sdir);
			struct stat st;
			if (stat(data, &st) == 0)
				dr_pod_disk_usage(data, 60000, NULL, &bytes, &perr);
			prune_row(out, s, "would-free", "not leased", bytes);
		} else if (empty_slot(sdir, o->now, &bytes, &perr) < 0) {
			prune_row(out, s, "error", perr->msg, 0);
		} else {
			prune_row(out, s, "freed", "not leased", bytes);
		}
	}
	*rows = out;
	return 0;
}
