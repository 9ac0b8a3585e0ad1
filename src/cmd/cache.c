/* cache.c: `deskrun cache ls|prune`: the slots of the leased Docker cache pools, with their
 * lease state (probed on each slot's lock) and what their metadata records, and the
 * per-instance cache directories (<root>/<scale-set>/cache-<i>, <root>/<scale-set>/docker),
 * with whether a process of this node has them mounted (a pod using them); prune empties the
 * slots that are not leased (each slot's lock taken first) and the cache directories that
 * nothing has mounted, and says what it freed. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/duration.h"
#include "lib/render.h"
#include "pod/fsops.h"
#include "pod/pool.h"
#include "pod/slot.h"
#include "lib/suggest.h"
#include "sys/fsutil.h"
#include "sys/log.h"
#include "sys/progress.h"

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

enum { OPT_POOL = 1, OPT_OUTPUT, OPT_OLDER, OPT_ALL, OPT_DRY_RUN };

static const dr_opt cache_opts[] = {
	{ "pool", 0, "DIR",
	  "a pool directory, or a cache root holding pool/<definition>/ and the per-instance "
	  "caches <scale-set>/cache-<i> (default: the recorded kind cluster's host cache "
	  "directory, else the cache root, /var/lib/deskrun/cache)",
	  OPT_POOL },
	{ "output", 'o', "FORMAT", "table (default) or json", OPT_OUTPUT },
	{ "older-than", 0, "DURATION",
	  "prune: only slots last used, and cache directories last modified, at least this long "
	  "ago (7d, 12h, 90m)",
	  OPT_OLDER },
	{ "all", 0, NULL,
	  "prune: every slot that is not leased and every cache directory that is not mounted "
	  "right now",
	  OPT_ALL },
	{ "dry-run", 'n', NULL, "prune: say what would be freed, delete nothing", OPT_DRY_RUN },
	{ NULL, 0, NULL, NULL, 0 },
};

static char *
cell_time(json_t *row, const char *key)
{
	const char *t = json_string_value(json_object_get(row, key));
	if (!t)
		return dr_xstrdup("-");
	char *s = dr_xstrdup(t);
	char *T = strchr(s, 'T');
	if (T)
		*T = ' ';
	return s;
}

static char *
cell_str(json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));
	return dr_xstrdup(s && *s ? s : "-");
}

/* Print nrows x ncol owned cells (the first row the heading) as aligned columns, column
 * right_col (or none: -1) right-aligned, and free them. */
static void
print_cells(char **cells, size_t nrows, int ncol, int right_col)
{
	size_t width[16] = { 0 };
	for (size_t i = 0; i < nrows; i++)
		for (int c = 0; c < ncol; c++) {
			size_t l = strlen(cells[i * (size_t)ncol + (size_t)c]);
			if (l > width[c])
				width[c] = l;
		}
	for (size_t i = 0; i < nrows; i++)
		for (int c = 0; c < ncol; c++) {
			const char *s = cells[i * (size_t)ncol + (size_t)c];
			if (c == ncol - 1)
				printf("%s\n", s);
			else if (c == right_col)
				printf("%*s  ", (int)width[c], s);
			else
				printf("%-*s  ", (int)width[c], s);
		}
	for (size_t i = 0; i < nrows * (size_t)ncol; i++)
		free(cells[i]);
	free(cells);
}

static void
print_table(json_t *rows)
{
	enum { NCOL = 8 };
	static const char *const head[NCOL] = { "POOL",       "SLOT",     "STATE", "OWNER",
		                                "LEASES",     "LAST START", "LAST END", "SIZE" };
	size_t n = json_array_size(rows);
	char **cells = dr_xcalloc((n + 1) * NCOL, sizeof(char *));
	for (int c = 0; c < NCOL; c++)
		cells[c] = dr_xstrdup(head[c]);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rows, i);
		char **row = &cells[(i + 1) * NCOL];
		json_t *size = json_object_get(r, "size_bytes");
		row[0] = cell_str(r, "pool");
		row[1] = cell_str(r, "slot");
		row[2] = cell_str(r, "state");
		row[3] = cell_str(r, "owner");
		row[4] = dr_xasprintf("%" JSON_INTEGER_FORMAT,
		                      json_integer_value(json_object_get(r, "leases")));
		row[5] = cell_time(r, "last_lease_start");
		row[6] = cell_time(r, "last_lease_end");
		row[7] = json_is_integer(size) ? dr_pod_size_text((uint64_t)json_integer_value(size))
		                               : dr_xstrdup("-");
		if (json_object_get(r, "error")) {
			free(row[2]);
			row[2] = dr_xasprintf("%s (bad metadata)",
			                      json_string_value(json_object_get(r, "state")));
		}
	}
	print_cells(cells, n + 1, NCOL, 4);
}

/* "7d" or "36h" or "90m" or anything dr_duration_parse takes, into seconds. */
static int
parse_age(const char *v, int64_t *secs, dr_err **err)
{
	size_t n = strlen(v);
	if (n > 1 && v[n - 1] == 'd') {
		char *end = NULL;
		errno = 0;
		long days = strtol(v, &end, 10);
		if (end == v + n - 1 && !errno && days >= 0 && days < 100000) {
			*secs = (int64_t)days * 86400;
			return 0;
		}
	} else {
		long ms = 0;
		_cleanup_err_ dr_err *e = NULL;
		if (dr_duration_parse("--older-than", v, &ms, &e) == 0) {
			*secs = ms / 1000;
			return 0;
		}
	}
	return dr_fail(err, DR_EXIT_USAGE,
	               "--older-than \"%s\": not a duration: give e.g. --older-than 7d (or 12h, 90m)",
	               v);
}

/* The pool directory on this host when --pool is not given: the kind cluster's host cache
 * directory, the cache root on k3s (or with no cluster); NULL and a note on stdout for an
 * existing cluster, whose caches are on its nodes. */
static char *
default_pool(dr_cli *cli, const char *name)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	_cleanup_err_ dr_err *e = NULL;
	if (dr_cli_load_config(cli, &path, &c, &e) < 0 || !c)
		return dr_xstrdup(DR_POD_CACHE_ROOT);
	const dr_cluster *cl = c->cluster;
	if (cl && cl->provider == DR_PROVIDER_KIND && cl->host_cache_dir)
		return dr_xstrdup(cl->host_cache_dir);
	if (cl && cl->provider == DR_PROVIDER_EXISTING) {
		printf("the caches of cluster \"%s\" are on its nodes, not on this host; on a node run "
		       "'deskrun cache ls --pool %s'. Node paths:\n",
		       cl->name, c->settings.cache_root);
		for (size_t i = 0; i < c->n_runners; i++) {
			const dr_runner *r = c->runners[i];
			if (name && strcmp(r->name, name) != 0)
				continue;
			if (r->cache_pool > 0)
				printf("  %s/pool/%s/slot-0..%d\n", c->settings.cache_root, r->name,
				       r->cache_pool - 1);
			if (r->n_caches)
				printf("  %s/%s[-N]/cache-I\n", c->settings.cache_root, r->name);
		}
		return NULL;
	}
	return dr_xstrdup(c->settings.cache_root);
}

/* ---- per-instance cache directories ----
 * <root>/<scale-set>/cache-<i> (--cache without SRC) and <root>/<scale-set>/docker
 * (--docker-storage hostpath) have no lease lock: the pods mount them as hostPaths and run
 * upstream images that take none. What "in use" means for them is what the kernel knows: a
 * process of this node has the directory (or something inside it) mounted, in whatever mount
 * namespace, exactly as a container of a pod using the hostPath has it. */

#define PID_NS_INIT_INO 0xEFFFFFFCUL /* the initial PID namespace's inode (PROC_PID_INIT_INO) */

typedef struct node_mount {
	unsigned maj, min;
	long id; /* the mount's id (unique across namespaces) */
	char *root;
	long pid; /* a process of the mount's namespace */
} node_mount;

typedef struct node_mounts {
	node_mount *v;
	size_t n, cap;
	char *unknown; /* owned: why "in use" cannot be told here, or NULL */
	bool loaded;
} node_mounts;

static void
node_mounts_clear(node_mounts *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].root);
	free(m->v);
	free(m->unknown);
	memset(m, 0, sizeof(*m));
}

/* mountinfo's octal escapes (\040 for a space) decoded in place. */
static void
unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* A mountinfo line's mount id, device, root and mount point (decoded, pointing into line). */
static bool
mountinfo_fields(char *line, long *id, unsigned *maj, unsigned *min, char **root, char **mnt)
{
	char *save = NULL, *f[5];
	for (int i = 0; i < 5; i++)
		if (!(f[i] = strtok_r(i ? NULL : line, " ", &save)))
			return false;
	*id = strtol(f[0], NULL, 10);
	if (sscanf(f[2], "%u:%u", maj, min) != 2)
		return false;
	unescape(f[3]);
	unescape(f[4]);
	*root = f[3];
	*mnt = f[4];
	return true;
}

/* Every mount of every mount namespace of this node (one process read per namespace). */
static void
node_mounts_load(node_mounts *m)
{
	memset(m, 0, sizeof(*m));
	m->loaded = true;
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PID_NS_INIT_INO) {
		m->unknown = dr_xstrdup("deskrun runs in a PID namespace of its own (a container) and "
		                        "cannot see every process of the node: run it on the node");
		return;
	}
	DIR *d = opendir("/proc");
	if (!d) {
		m->unknown = dr_xasprintf("cannot read /proc: %s", strerror(errno));
		return;
	}
	ino_t *seen = NULL;
	size_t nseen = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end = NULL;
		long pid = strtol(de->d_name, &end, 10);
		if (pid <= 0 || *end)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
		struct stat ns;
		if (stat(path, &ns) == 0) {
			bool dup = false;
			for (size_t i = 0; i < nseen && !dup; i++)
				dup = seen[i] == ns.st_ino;
			if (dup)
				continue;
			seen = dr_xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = ns.st_ino;
		} else if (errno == ENOENT || errno == ESRCH) {
			continue; /* gone meanwhile */
		}
		snprintf(path, sizeof(path), "/proc/%ld/mountinfo", pid);
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		_cleanup_err_ dr_err *e = NULL;
		if (dr_read_file(path, 64u << 20, &text, &len, &e) < 0) {
			if (e->errnum == ENOENT || e->errnum == ESRCH || e->errnum == 0)
				continue;
			if (!m->unknown)
				m->unknown = dr_xasprintf("cannot read %s (%s): run as root", path,
				                          strerror(e->errnum));
			continue;
		}
		char *save = NULL;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			node_mount nm = { .pid = pid };
			char *root, *mnt;
			if (!mountinfo_fields(l, &nm.id, &nm.maj, &nm.min, &root, &mnt))
				continue;
			if (m->n == m->cap) {
				m->cap = m->cap ? m->cap * 2 : 256;
				m->v = dr_xrealloc(m->v, m->cap * sizeof(*m->v));
			}
			nm.root = dr_xstrdup(root);
			m->v[m->n++] = nm;
		}
	}
	closedir(d);
	free(seen);
}

/* Where dir is: its device, its path inside that filesystem (owned) and the id of the mount
 * this process sees it through. -1 when it cannot be told. */
static int
dir_location(const char *dir, unsigned *maj, unsigned *min, char **inpath, long *mount_id)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(dir, real) || stat(real, &st) < 0)
		return -1;
	*maj = major(st.st_dev);
	*min = minor(st.st_dev);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_err_ dr_err *e = NULL;
	if (dr_read_file("/proc/self/mountinfo", 64u << 20, &text, &len, &e) < 0)
		return -1;
	long best = -1;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		long id;
		unsigned a, b;
		char *root, *mnt;
		if (!mountinfo_fields(l, &id, &a, &b, &root, &mnt) || a != *maj || b != *min)
			continue;
		size_t ml = strcmp(mnt, "/") == 0 ? 0 : strlen(mnt);
		if (strncmp(real, mnt, ml) != 0 || (real[ml] != '/' && real[ml] != '\0'))
			continue;
		if ((long)ml < best)
			continue;
		best = (long)ml; /* the longest mount point above dir; the last of stacked ones */
		const char *rest = real + ml;
		free(*inpath);
		*inpath = strcmp(root, "/") == 0 ? dr_xstrdup(*rest ? rest : "/")
		                                 : dr_xasprintf("%s%s", root, rest);
		*mount_id = id;
	}
	return best < 0 ? -1 : 0;
}

/* A process that has dir (or something under it) mounted, 0 if none, -1 if unknown. */
static long
cache_holder(const node_mounts *m, const char *dir)
{
	if (m->unknown)
		return -1;
	unsigned maj = 0, min = 0;
	_cleanup_free_ char *in = NULL;
	long self_id = -1;
	if (dir_location(dir, &maj, &min, &in, &self_id) < 0)
		return -1;
	size_t n = strcmp(in, "/") == 0 ? 0 : strlen(in);
	for (size_t i = 0; i < m->n; i++) {
		const node_mount *x = &m->v[i];
		if (x->maj != maj || x->min != min || x->id == self_id)
			continue;
		if (strncmp(x->root, in, n) == 0 && (x->root[n] == '\0' || x->root[n] == '/'))
			return x->pid;
	}
	return 0;
}

static char *
proc_comm(long pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_err_ dr_err *e = NULL;
	if (dr_read_file(path, 4096, &text, &len, &e) < 0)
		return dr_xstrdup("?");
	text[strcspn(text, "\n")] = '\0';
	return TAKE_PTR(text);
}

/* The newest modification time in a tree (not crossing into other filesystems). nftw has no
 * user pointer: the walk's state is this file's, as the command is single-threaded. */
static int64_t walk_newest;

static int
newest_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path, (void)flag, (void)ftw;
	if (st->st_mtime > walk_newest)
		walk_newest = st->st_mtime;
	return 0;
}

static int64_t
newest_mtime(const char *dir)
{
	walk_newest = 0;
	nftw(dir, newest_cb, 16, FTW_PHYS | FTW_MOUNT);
	return walk_newest;
}

static bool
is_cache_name(const char *n)
{
	if (strcmp(n, "docker") == 0)
		return true;
	if (!dr_startswith(n, "cache-") || !n[6])
		return false;
	for (const char *c = n + 6; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the subdirectories of dir that pass keep (owned vector, never NULL). */
static char **
subdirs_of(const char *dir, bool (*keep)(const char *))
{
	char **v = dr_xcalloc(1, sizeof(char *));
	DIR *d = opendir(dir);
	if (!d)
		return v;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !keep(de->d_name))
			continue;
		_cleanup_free_ char *p = dr_xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			dr_strv_push(&v, de->d_name);
	}
	closedir(d);
	qsort(v, dr_strv_len(v), sizeof(char *), by_str);
	return v;
}

/* The cache root's own directories that are not scale sets (DESIGN.md's layout). */
static bool
is_set_name(const char *n)
{
	static const char *const reserved[] = { "pool", "daemonset", "mirror", "guard", NULL };
	for (size_t i = 0; reserved[i]; i++)
		if (strcmp(n, reserved[i]) == 0)
			return false;
	return true;
}

static bool
has_slots(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)))
		found = dr_startswith(de->d_name, DR_POD_SLOT_PREFIX);
	closedir(d);
	return found;
}

/* Which definition a scale-set directory belongs to: the config's, else NAME for NAME or
 * NAME-<digits> when `name` is given (a definition removed from the config). */
static bool
set_of(const char *set, const char *name, json_t *owners)
{
	const char *o = json_string_value(json_object_get(owners, set));
	if (o)
		return strcmp(o, name) == 0;
	size_t n = strlen(name);
	if (strncmp(set, name, n) != 0)
		return false;
	if (!set[n])
		return true;
	if (set[n] != '-' || !set[n + 1])
		return false;
	for (const char *c = set + n + 1; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* The per-instance cache directories under a cache root `root` (none when root is a pool or
 * the pool/ directory), of definition `name` when given. Rows {kind: "cache", set, cache,
 * runner, dir, state: in-use|idle|unknown, holder, last_used, size_bytes[, error]}; owners
 * maps scale-set names to their definition (from the config, may be empty). */
static json_t *
cache_dirs(const char *root, const char *name, json_t *owners, node_mounts *nm)
{
	json_t *rows = json_array();
	const char *base = strrchr(root, '/');
	base = base && base[1] ? base + 1 : root;
	if (strcmp(base, "pool") == 0 || has_slots(root))
		return rows;
	_cleanup_strv_ char **sets = subdirs_of(root, is_set_name);
	for (size_t i = 0; sets[i]; i++) {
		if (name && !set_of(sets[i], name, owners))
			continue;
		_cleanup_free_ char *sdir = dr_xasprintf("%s/%s", root, sets[i]);
		_cleanup_strv_ char **caches = subdirs_of(sdir, is_cache_name);
		for (size_t k = 0; caches[k]; k++) {
			_cleanup_free_ char *dir = dr_xasprintf("%s/%s", sdir, caches[k]);
			json_t *r = json_object();
			json_object_set_new(r, "kind", json_string("cache"));
			json_object_set_new(r, "set", json_string(sets[i]));
			json_object_set_new(r, "cache", json_string(caches[k]));
			const char *owner = json_string_value(json_object_get(owners, sets[i]));
			json_object_set_new(r, "runner", owner ? json_string(owner) : json_null());
			json_object_set_new(r, "dir", json_string(dir));
			if (!nm->loaded)
				node_mounts_load(nm); /* only when there is a cache directory to judge */
			long pid = cache_holder(nm, dir);
			json_object_set_new(r, "state", json_string(pid > 0    ? "in-use"
			                                            : pid == 0 ? "idle"
			                                                       : "unknown"));
			if (pid > 0) {
				_cleanup_free_ char *comm = proc_comm(pid);
				_cleanup_free_ char *h = dr_xasprintf("%s/%ld", comm, pid);
				json_object_set_new(r, "holder", json_string(h));
			} else {
				json_object_set_new(r, "holder", json_null());
			}
			_cleanup_free_ char *t = dr_pod_time_text(newest_mtime(dir));
			json_object_set_new(r, "last_used", t ? json_string(t) : json_null());
			uint64_t bytes = 0;
			_cleanup_err_ dr_err *e = NULL;
			if (dr_pod_disk_usage(dir, 60000, NULL, &bytes, &e) < 0) {
				json_object_set_new(r, "size_bytes", json_null());
				json_object_set_new(r, "error", json_string(e->msg));
			} else {
				json_object_set_new(r, "size_bytes", json_integer((json_int_t)bytes));
			}
			json_array_append_new(rows, r);
		}
	}
	return rows;
}

static void
print_cache_table(json_t *rows)
{
	enum { NCOL = 7 };
	static const char *const head[NCOL] = { "SET",     "CACHE",     "STATE", "RUNNER",
		                                "HOLDER", "LAST USED", "SIZE" };
	size_t n = json_array_size(rows);
	char **cells = dr_xcalloc((n + 1) * NCOL, sizeof(char *));
	for (int c = 0; c < NCOL; c++)
		cells[c] = dr_xstrdup(head[c]);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rows, i);
		char **row = &cells[(i + 1) * NCOL];
		json_t *size = json_object_get(r, "size_bytes");
		row[0] = cell_str(r, "set");
		row[1] = cell_str(r, "cache");
		row[2] = cell_str(r, "state");
		row[3] = cell_str(r, "runner");
		row[4] = cell_str(r, "holder");
		row[5] = cell_time(r, "last_used");
		row[6] = json_is_integer(size) ? dr_pod_size_text((uint64_t)json_integer_value(size))
		                               : dr_xstrdup("-");
	}
	print_cells(cells, n + 1, NCOL, -1);
}

static void
cache_prune_row(json_t *out, json_t *c, const char *action, const char *reason, uint64_t bytes)
{
	json_t *r = json_object();
	json_object_set_new(r, "kind", json_string("cache"));
	json_object_set(r, "set", json_object_get(c, "set"));
	json_object_set(r, "cache", json_object_get(c, "cache"));
	json_object_set(r, "dir", json_object_get(c, "dir"));
	json_object_set_new(r, "action", json_string(action));
	json_object_set_new(r, "reason", json_string(reason));
	json_object_set_new(r, "bytes", json_integer((json_int_t)bytes));
	json_array_append_new(out, r);
}

/* Empty one cache directory nothing has mounted: rename it aside (a pod starting now gets a
 * new, empty directory, not a half-deleted one), look again whether something mounted it in
 * the meantime (then put it back), put an empty directory of the same mode and owner in its
 * place, delete the old tree. */
static int
empty_cache(const char *dir, uint64_t *freed, bool *raced, dr_err **err)
{
	*raced = false;
	struct stat st;
	if (lstat(dir, &st) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "%s", dir);
	uint64_t bytes = 0;
	if (dr_pod_disk_usage(dir, 60000, NULL, &bytes, err) < 0)
		return -1;
	_cleanup_free_ char *parent = dr_dirname(dir);
	const char *base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	_cleanup_free_ char *aside =
		dr_xasprintf("%s/.deskrun-prune-%s-%ld", parent, base, (long)getpid());
	if (rename(dir, aside) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "move %s aside", dir);
	node_mounts again;
	node_mounts_load(&again);
	long pid = again.unknown ? -1 : cache_holder(&again, aside);
	node_mounts_clear(&again);
	if (pid != 0) {
		if (rename(aside, dir) < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno,
			                     "a pod mounted %s while it was being pruned, and moving it "
			                     "back from %s failed",
			                     dir, aside);
		*raced = true;
		return 0;
	}
	if (mkdir(dir, st.st_mode & 07777) == 0) {
		if (chown(dir, st.st_uid, st.st_gid) < 0) {
			/* not ours to give: the pod's DirectoryOrCreate is fine with ours */
		}
		chmod(dir, st.st_mode & 07777);
	}
	if (dr_pod_rm_rf(aside, err) < 0)
		return dr_err_prefix(err, "delete %s (the old %s)", aside, dir);
	*freed = bytes;
	return 0;
}

/* prune for the cache directories: rows appended to out (see cache_prune_row). */
static void
prune_caches(json_t *caches, const dr_pod_prune_opts *o, const node_mounts *nm, json_t *out)
{
	size_t i;
	json_t *c;
	json_array_foreach(caches, i, c) {
		const char *dir = json_string_value(json_object_get(c, "dir"));
		const char *state = json_string_value(json_object_get(c, "state"));
		if (dr_streq(state, "in-use")) {
			const char *h = json_string_value(json_object_get(c, "holder"));
			const char *slash = h ? strrchr(h, '/') : NULL;
			_cleanup_free_ char *why =
				slash ? dr_xasprintf("in use: mounted by process %s (%.*s)", slash + 1,
			                             (int)(slash - h), h)
				      : dr_xstrdup("in use: mounted by a process");
			cache_prune_row(out, c, "skipped", why, 0);
			continue;
		}
		if (!dr_streq(state, "idle")) {
			_cleanup_free_ char *why = dr_xasprintf(
				"cannot tell whether a pod uses it: %s",
				nm->unknown ? nm->unknown : "its mount cannot be found");
			cache_prune_row(out, c, "skipped", why, 0);
			continue;
		}
		const char *lu = json_string_value(json_object_get(c, "last_used"));
		int64_t ms = 0;
		int64_t used = lu && dr_pod_time_parse_ms(lu, &ms) == 0 && ms > 0 ? ms / 1000 : 0;
		if (!o->all && used > 0 && o->now - used < o->older_than_s) {
			_cleanup_free_ char *t = dr_pod_time_text(used);
			_cleanup_free_ char *why = dr_xasprintf("last modified %s", t);
			cache_prune_row(out, c, "kept", why, 0);
			continue;
		}
		uint64_t bytes = 0;
		_cleanup_err_ dr_err *e = NULL;
		if (o->dry_run) {
			json_t *sz = json_object_get(c, "size_bytes");
			bytes = json_is_integer(sz) ? (uint64_t)json_integer_value(sz) : 0;
			cache_prune_row(out, c, "would-free", "not mounted by any process", bytes);
			continue;
		}
		bool raced = false;
		if (empty_cache(dir, &bytes, &raced, &e) < 0)
			cache_prune_row(out, c, "error", e->msg, 0);
		else if (raced)
			cache_prune_row(out, c, "skipped", "in use: a pod mounted it while pruning", 0);
		else
			cache_prune_row(out, c, "freed", "not mounted by any process", bytes);
	}
}

/* scale set -> definition, from the config (an empty object without one). */
static json_t *
set_owners(dr_cli *cli)
{
	json_t *owners = json_object();
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	_cleanup_err_ dr_err *e = NULL;
	if (dr_cli_load_config(cli, &path, &c, &e) < 0 || !c)
		return owners;
	for (size_t i = 0; i < c->n_runners; i++) {
		size_t n = 0;
		dr_scale_set *ss = dr_scale_sets(c->runners[i], &c->settings, &n);
		for (size_t k = 0; k < n; k++)
			json_object_set_new(owners, ss[k].name, json_string(c->runners[i]->name));
		dr_scale_sets_free(ss, n);
	}
	return owners;
}

static void
print_prune(json_t *rows, bool dry_run, bool quiet)
{
	uint64_t total = 0;
	size_t freed = 0, skipped = 0, cfreed = 0, cskipped = 0, caches = 0;
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *a = json_string_value(json_object_get(r, "action"));
		bool cache = dr_streq(json_string_value(json_object_get(r, "kind")), "cache");
		uint64_t b = (uint64_t)json_integer_value(json_object_get(r, "bytes"));
		_cleanup_free_ char *size = dr_pod_size_text(b);
		bool frees = dr_streq(a, "freed") || dr_streq(a, "would-free");
		caches += cache;
		if (frees) {
			total += b;
			if (cache)
				cfreed++;
			else
				freed++;
		} else if (dr_streq(a, "skipped")) {
			if (cache)
				cskipped++;
			else
				skipped++;
		}
		/* --quiet: only errors, and what a dry run would free (the answer asked for). */
		if (quiet && !dr_streq(a, "error") && !dr_streq(a, "would-free"))
			continue;
		printf("%-10s %s/%s  %s%s%s\n", a,
		       json_string_value(json_object_get(r, cache ? "set" : "pool")),
		       json_string_value(json_object_get(r, cache ? "cache" : "slot")), frees ? size : "",
		       frees ? "  " : "", json_string_value(json_object_get(r, "reason")));
	}
	if (quiet)
		return;
	_cleanup_free_ char *t = dr_pod_size_text(total);
	if (!caches) {
		printf("%s %s in %zu slot%s; %zu leased slot%s skipped\n",
		       dry_run ? "would free" : "freed", t, freed, freed == 1 ? "" : "s", skipped,
		       skipped == 1 ? "" : "s");
		return;
	}
	printf("%s %s in %zu slot%s and %zu cache director%s; %zu leased slot%s and %zu cache "
	       "director%s in use skipped\n",
	       dry_run ? "would free" : "freed", t, freed, freed == 1 ? "" : "s", cfreed,
	       cfreed == 1 ? "y" : "ies", skipped, skipped == 1 ? "" : "s", cskipped,
	       cskipped == 1 ? "y" : "ies");
}

static int
run_cache(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *pool = NULL, *output = "table", *sub = NULL, *name = NULL;
	int64_t older = -1;
	bool all = false, dry_run = false;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_cache, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_cache, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (sub && name)
				return dr_usage_extra_arg(&dr_cmd_cache, v, err);
			if (sub) {
				name = v;
				continue;
			}
			if (strcmp(v, "ls") != 0 && strcmp(v, "prune") != 0) {
				static const char *const subs[] = { "ls", "prune", NULL };
				const char *near = dr_suggest(v, subs);
				if (near)
					return dr_fail(err, DR_EXIT_USAGE,
					               "unknown subcommand \"%s\" for 'deskrun cache': did you "
					               "mean 'deskrun cache %s'?",
					               v, near);
				return dr_fail(err, DR_EXIT_USAGE,
				               "unknown subcommand \"%s\" for 'deskrun cache': use 'deskrun "
				               "cache ls' or 'deskrun cache prune'",
				               v);
			}
			sub = v;
			continue;
		}
		if (id == OPT_POOL) {
			if (!*v)
				return dr_fail(err, DR_EXIT_USAGE, "--pool needs a directory");
			pool = v;
		} else if (id == OPT_OUTPUT) {
			if (strcmp(v, "table") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use table or json", v);
			output = v;
		} else if (id == OPT_OLDER) {
			if (parse_age(v, &older, err) < 0)
				return -1;
		} else if (id == OPT_ALL) {
			all = true;
		} else if (id == OPT_DRY_RUN) {
			dry_run = true;
		}
	}
	if (!sub)
		return dr_fail(err, DR_EXIT_USAGE,
		               "give a subcommand: 'deskrun cache ls'");
	bool prune = strcmp(sub, "prune") == 0;
	if (!prune && (older >= 0 || all || dry_run))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--older-than, --all and --dry-run are for 'deskrun cache prune'");
	if (prune && older < 0 && !all)
		return dr_fail(err, DR_EXIT_USAGE,
		               "'deskrun cache prune' needs --older-than DURATION (e.g. 7d) or --all");
	if (prune && older >= 0 && all)
		return dr_fail(err, DR_EXIT_USAGE, "give --older-than or --all, not both");
	_cleanup_free_ char *def = NULL;
	if (!pool) {
		def = default_pool(cli, name);
		if (!def)
			return 0;
		pool = def;
	}
	struct stat pst;
	if (def && !name && stat(pool, &pst) < 0 && errno == ENOENT) {
		/* A machine that has run no pool yet: nothing to list or prune, not an error (a
		 * --pool DIR that does not exist still is: the user named it). */
		if (strcmp(output, "json") == 0)
			printf("[]\n");
		else if (!dr_quiet())
			printf("no cache pool at %s yet: nothing to %s\n", pool, prune ? "prune" : "list");
		return 0;
	}
	_cleanup_json_ json_t *rows = NULL;
	_cleanup_json_ json_t *owners = set_owners(cli);
	node_mounts nm = { 0 };
	_cleanup_json_ json_t *caches = cache_dirs(pool, name, owners, &nm);
	if (prune) {
		dr_pod_prune_opts po = { .only = name, .older_than_s = older < 0 ? 0 : older,
			                 .all = all, .dry_run = dry_run, .now = (int64_t)time(NULL) };
		if (dr_pod_pool_prune(pool, &po, &rows, err) < 0) {
			node_mounts_clear(&nm);
			return -1;
		}
		size_t i;
		json_t *r;
		json_array_foreach(rows, i, r)
			json_object_set_new(r, "kind", json_string("slot"));
		prune_caches(caches, &po, &nm, rows);
	} else {
		_cleanup_json_ json_t *list = NULL;
		if (dr_pod_pool_list(pool, &list, err) < 0) {
			node_mounts_clear(&nm);
			return -1;
		}
		rows = json_array();
		size_t i;
		json_t *r;
		json_array_foreach(list, i, r) {
			if (!name || dr_streq(json_string_value(json_object_get(r, "pool")), name)) {
				json_object_set_new(r, "kind", json_string("slot"));
				json_array_append(rows, r);
			}
		}
	}
	node_mounts_clear(&nm);
	if (name && json_array_size(rows) == 0 && json_array_size(caches) == 0)
		return dr_fail(err, DR_EXIT_FAIL,
		               "no cache pool or cache directory of \"%s\" under %s (see 'deskrun "
		               "cache ls')",
		               name, pool);
	if (strcmp(output, "json") == 0) {
		if (!prune)
			json_array_extend(rows, caches);
		_cleanup_free_ char *s = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
	} else if (prune) {
		print_prune(rows, dry_run, dr_quiet());
	} else {
		size_t nslots = json_array_size(rows), ncaches = json_array_size(caches);
		if (nslots || !ncaches)
			print_table(rows);
		if (ncaches) {
			if (nslots)
				fputc('\n', stdout);
			print_cache_table(caches);
		}
	}
	return 0;
}

const dr_cmd dr_cmd_cache = {
	.name = "cache",
	.summary = "show or prune a node's Docker cache slots and per-instance cache directories",
	.synopsis = "ls [NAME] [--pool DIR] [--output table|json]\n"
	            "prune [NAME] (--older-than DURATION | --all) [--dry-run] [--pool DIR] "
	            "[--output table|json]",
	.description =
		"Lists the slots of a leased Docker cache pool (DIR/slot-K), or of every definition's "
		"pool under a cache root (DIR/pool/NAME/slot-K): whether the slot is leased right now "
		"(its lock is held: probed with a non-blocking flock), the owner (scale set) of its "
		"last lease, when that lease started and ended, how many leases it had, and the size "
		"of its data root when last measured. --output json adds the holder (host/pid), the "
		"daemon's last exit status and when the size was measured, for scripts and metrics. NAME "
		"narrows the listing to one definition's pool.\n\n"
		"prune empties the data root of every slot not leased right now that was last used "
		"--older-than ago (or of every unleased slot with --all): it takes each slot's lock "
		"without waiting first, so a slot leased at that moment is skipped and said so, and "
		"holds it while deleting. The slot, its lock and its metadata stay. It prints what it "
		"freed (--dry-run: what it would free). On kind the pools are in the host directory "
		"the node mounts; for an existing cluster the command prints the node paths instead.\n\n"
		"Under a cache root both also show the per-instance cache directories, "
		"ROOT/SCALE-SET/cache-I and ROOT/SCALE-SET/docker: in use while a process of this node "
		"has the directory mounted (a pod's container; found in every mount namespace's "
		"/proc/PID/mountinfo), idle otherwise, unknown when that cannot be told (from inside a "
		"container, or without root), with the newest modification inside as last used and the "
		"size. prune never touches one in use or unknown, even with --all; an idle one last "
		"modified --older-than ago (any, with --all) is renamed aside, checked again, replaced "
		"by an empty directory of the same mode and deleted.",
	.opts = cache_opts,
	.run = run_cache,
};
