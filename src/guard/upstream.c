/* upstream.c: lookups against the daemon, the ownership cache and the persistent state (see
 * upstream.h). Calls are synchronous with a deadline: they are short (one inspect, ~0.2 ms)
 * and only the decision of a request waits for them. */
#include "lib/common.h"
#include "guard/upstream.h"
#include "guard/podfs.h"
#include "guard/gjson.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>

#define RESP_MAX (64u * 1024 * 1024)

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
gd_unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			long long left = deadline - now_ms();
			if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One attempt; returns 1 when nothing came back on a reused connection (retry). */
static int
call_once(gd_up *u, const char *req, size_t reqlen, bool head, int *status, dr_buf *resp,
          bool reused)
{
	long long deadline = now_ms() + u->timeout_ms;
	if (write_all(u->fd, req, reqlen, deadline) < 0)
		return reused && errno != ETIMEDOUT ? 1 : -1;
	_cleanup_buf_ dr_buf raw = DR_BUF_INIT(GD_HEAD_MAX + 65536);
	gd_framer f;
	memset(&f, 0, sizeof(f));
	bool begun = false;
	char tmp[65536];
	int rc = -1;
	for (;;) {
		struct pollfd pf = { u->fd, POLLIN, 0 };
		long long left = deadline - now_ms();
		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			errno = ETIMEDOUT;
			break;
		}
		ssize_t n = recv(u->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			if (!begun && raw.len == 0 && reused) {
				rc = 1;
				break;
			}
			if (begun && f.eof_body) {
				gd_framer_eof(&f);
				*status = f.head.status;
				rc = 0;
				close(u->fd);
				u->fd = -1;
			}
			break;
		}
		const char *why = NULL;
		const char *data = tmp;
		size_t len = (size_t)n;
		if (!begun) {
			if (dr_buf_append(&raw, tmp, (size_t)n) < 0)
				break;
			ssize_t hl = gd_head_scan(raw.data, raw.len, &why);
			if (hl < 0)
				break;
			if (hl == 0)
				continue;
			if (gd_framer_begin(&f, true, head, raw.data, (size_t)hl, &why) < 0)
				break;
			f.capture = resp;
			begun = true;
			data = raw.data + hl;
			len = raw.len - (size_t)hl;
		}
		while (len && !f.complete) {
			ssize_t k = gd_framer_feed(&f, data, len, &why);
			if (k < 0)
				goto out;
			data += k;
			len -= (size_t)k;
		}
		if (f.capture_overflow)
			break;
		if (f.complete) {
			*status = f.head.status;
			rc = 0;
			if (!f.head.keep_alive) {
				close(u->fd);
				u->fd = -1;
			}
			break;
		}
	}
out:
	gd_framer_clear(&f);
	return rc;
}

int
gd_up_call(gd_up *u, const char *method, const char *target, const char *body, size_t len,
           int *status, dr_buf *resp)
{
	*status = 0;
	_cleanup_free_ char *req =
		body ? dr_xasprintf("%s %s HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
		                    "Content-Length: %zu\r\n\r\n",
		                    method, target, len)
		     : dr_xasprintf("%s %s HTTP/1.1\r\nHost: docker\r\n\r\n", method, target);
	_cleanup_buf_ dr_buf all = DR_BUF_INIT(0);
	dr_buf_puts(&all, req);
	if (body)
		dr_buf_append(&all, body, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = u->fd >= 0;
		if (u->fd < 0) {
			u->fd = gd_unix_connect(u->sock);
			if (u->fd < 0)
				return -1;
		}
		dr_buf_reset(resp);
		resp->max = RESP_MAX;
		int k = call_once(u, all.data, all.len, strcmp(method, "HEAD") == 0, status, resp, reused);
		if (k == 0)
			return 0;
		if (u->fd >= 0)
			close(u->fd);
		u->fd = -1;
		if (k < 0)
			return -1;
	}
	return -1;
}

/* ---- cache ---- */

static gd_cache_ent *
cache_find(gd_up *u, char kind, const char *id)
{
	for (size_t i = 0; i < u->ncache; i++)
		if (u->cache[i].kind == kind && strcmp(u->cache[i].id, id) == 0)
			return &u->cache[i];
	return NULL;
}

static void
cache_put(gd_up *u, char kind, const char *id, gd_own own, const char *val)
{
	if (strlen(id) >= sizeof(u->cache[0].id) || (val && strlen(val) >= sizeof(u->cache[0].val)))
		return;
	gd_cache_ent *e = cache_find(u, kind, id);
	if (!e) {
		if (u->ncache >= 4096)
			u->ncache = 0; /* IDs are immutable: dropping entries only costs lookups */
		if (u->ncache == u->capcache) {
			u->capcache = u->capcache ? u->capcache * 2 : 64;
			u->cache = dr_xrealloc(u->cache, u->capcache * sizeof(*u->cache));
		}
		e = &u->cache[u->ncache++];
		memset(e, 0, sizeof(*e));
		memcpy(e->id, id, strlen(id) + 1);
		e->kind = kind;
	}
	e->own = own;
	if (val)
		memcpy(e->val, val, strlen(val) + 1);
}

static bool
full_id(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* ---- state ---- */

static char *
state_path(gd_up *u, const char *name)
{
	return dr_xasprintf("%s/%s", u->state_dir, name);
}

static void
state_reload(gd_up *u)
{
	if (!u->state_dir)
		return;
	_cleanup_free_ char *p = state_path(u, "state.json");
	struct stat st;
	long long mt = stat(p, &st) == 0 ? (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : -1;
	if (u->state && mt == u->state_mtime)
		return;
	json_decref(u->state);
	json_error_t je;
	u->state = mt >= 0 ? json_load_file(p, 0, &je) : NULL;
	if (!json_is_object(u->state)) {
		json_decref(u->state);
		u->state = json_pack("{s:i,s:s,s:{},s:{}}", "version", 1, "tenant", u->tenant, "volumes",
		                     "images");
	}
	if (!json_is_object(json_object_get(u->state, "volumes")))
		json_object_set_new(u->state, "volumes", json_object());
	if (!json_is_object(json_object_get(u->state, "images")))
		json_object_set_new(u->state, "images", json_object());
	u->state_mtime = mt;
}

/* Write the state (the caller holds the lock): a new file renamed over the old one. */
static void
state_save(gd_up *u)
{
	_cleanup_free_ char *p = state_path(u, "state.json");
	_cleanup_free_ char *tmp = state_path(u, "state.json.tmp");
	if (json_dump_file(u->state, tmp, JSON_INDENT(1)) == 0 && rename(tmp, p) == 0) {
		struct stat st;
		if (stat(p, &st) == 0)
			u->state_mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	}
}

/* Take the state's lock and re-read what other guards of the tenant wrote: the lock's fd
 * (closing it unlocks), or -1 without state or when it cannot be had. */
static int
state_lock(gd_up *u)
{
	if (!u->state_dir)
		return -1;
	_cleanup_free_ char *lp = state_path(u, "state.lock");
	int lfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	u->state_mtime = -2;
	state_reload(u);
	return lfd;
}

/* Apply one addition under the lock, re-reading what other guards of the tenant wrote. */
static void
state_add(gd_up *u, const char *section, const char *key, const char *value)
{
	_cleanup_close_ int lfd = state_lock(u);
	if (lfd < 0)
		return;
	json_t *sec = json_object_get(u->state, section);
	if (strcmp(section, "images") == 0) {
		json_t *refs = json_object_get(sec, key);
		if (!json_is_array(refs)) {
			refs = json_array();
			json_object_set_new(sec, key, refs);
		}
		bool have = false;
		size_t i;
		json_t *e;
		json_array_foreach(refs, i, e) have = have || dr_streq(json_string_value(e), value);
		if (!have && value)
			json_array_append_new(refs, json_string(value));
	} else {
		json_object_set_new(sec, key, json_string(value ? value : ""));
	}
	state_save(u);
	flock(lfd, LOCK_UN);
}

/* Remove keys from a section, under the lock like state_add. */
static void
state_del(gd_up *u, const char *section, char *const *keys)
{
	if (!keys || !keys[0])
		return;
	_cleanup_close_ int lfd = state_lock(u);
	if (lfd < 0)
		return;
	json_t *sec = json_object_get(u->state, section);
	for (size_t i = 0; keys[i]; i++)
		json_object_del(sec, keys[i]);
	state_save(u);
	flock(lfd, LOCK_UN);
}

static bool
state_has(gd_up *u, const char *section, const char *key)
{
	state_reload(u);
	return u->state && json_object_get(json_object_get(u->state, section), key) != NULL;
}

/* ---- resolvers ---- */

static int
inspect(gd_up *u, const char *what, const char *ref, const char *suffix, int *status, json_t **j)
{
	*j = NULL;
	_cleanup_free_ char *enc = gd_pct_encode(ref, strcmp(what, "images") == 0);
	_cleanup_free_ char *target = dr_xasprintf("/%s/%s%s", what, enc, suffix);
	_cleanup_buf_ dr_buf resp = DR_BUF_INIT(RESP_MAX);
	if (gd_up_call(u, "GET", target, NULL, 0, status, &resp) < 0)
		return -1;
	if (*status == 200) {
		json_error_t je;
		*j = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
		if (!*j)
			return -1;
	} else if (*status != 404 && *status != 400) {
		return -1;
	}
	return 0;
}

static gd_own
owner_of(gd_up *u, json_t *labels)
{
	const char *o = json_string_value(json_object_get(labels, GD_LABEL_TENANT));
	if (!o)
		return GD_SHARED;
	return strcmp(o, u->tenant) == 0 ? GD_MINE : GD_FOREIGN;
}

static void
copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

static int
res_container(void *ctx, const char *ref, gd_obj *out)
{
	gd_up *u = ctx;
	memset(out, 0, sizeof(*out));
	gd_cache_ent *e = full_id(ref) ? cache_find(u, 'c', ref) : NULL;
	if (e) {
		out->own = e->own;
		out->labeled = e->own == GD_MINE;
		copy_str(out->id, sizeof(out->id), ref);
		return 0;
	}
	int st;
	_cleanup_json_ json_t *j = NULL;
	if (!*ref || inspect(u, "containers", ref, "/json", &st, &j) < 0)
		return *ref ? -1 : 0;
	if (!j)
		return 0;
	const char *id = json_string_value(json_object_get(j, "Id"));
	if (!id)
		return -1;
	out->own = owner_of(u, json_object_get(json_object_get(j, "Config"), "Labels"));
	if (out->own == GD_SHARED)
		out->own = GD_FOREIGN; /* a container nobody tracks is the node's */
	out->labeled = out->own == GD_MINE;
	copy_str(out->id, sizeof(out->id), id);
	copy_str(out->name, sizeof(out->name), json_string_value(json_object_get(j, "Name")));
	cache_put(u, 'c', id, out->own, NULL);
	return 0;
}

static int
res_volume(void *ctx, const char *name, gd_obj *out)
{
	gd_up *u = ctx;
	memset(out, 0, sizeof(*out));
	int st;
	_cleanup_json_ json_t *j = NULL;
	if (inspect(u, "volumes", name, "", &st, &j) < 0)
		return -1;
	if (!j)
		return 0;
	const char *n = json_string_value(json_object_get(j, "Name"));
	copy_str(out->id, sizeof(out->id), n ? n : name);
	out->own = owner_of(u, json_object_get(j, "Labels"));
	out->labeled = out->own == GD_MINE;
	if (out->own == GD_SHARED && state_has(u, "volumes", out->id))
		out->own = GD_MINE;
	return 0;
}

static int
res_network(void *ctx, const char *ref, gd_obj *out)
{
	gd_up *u = ctx;
	memset(out, 0, sizeof(*out));
	int st;
	_cleanup_json_ json_t *j = NULL;
	if (inspect(u, "networks", ref, "", &st, &j) < 0)
		return -1;
	if (!j)
		return 0;
	copy_str(out->id, sizeof(out->id), json_string_value(json_object_get(j, "Id")));
	const char *name = json_string_value(json_object_get(j, "Name"));
	copy_str(out->name, sizeof(out->name), name);
	out->own = owner_of(u, json_object_get(j, "Labels"));
	out->labeled = out->own == GD_MINE;
	out->predefined = out->own == GD_SHARED &&
	                  (dr_streq(name, "bridge") || dr_streq(name, "host") || dr_streq(name, "none"));
	if (out->own == GD_SHARED)
		out->own = GD_FOREIGN;
	return 0;
}

static int
res_image(void *ctx, const char *ref, gd_obj *out)
{
	gd_up *u = ctx;
	memset(out, 0, sizeof(*out));
	int st;
	_cleanup_json_ json_t *j = NULL;
	if (inspect(u, "images", ref, "/json", &st, &j) < 0)
		return -1;
	if (!j)
		return 0;
	const char *id = json_string_value(json_object_get(j, "Id"));
	copy_str(out->id, sizeof(out->id), id);
	out->own = owner_of(u, json_object_get(json_object_get(j, "Config"), "Labels"));
	out->labeled = out->own == GD_MINE;
	out->onbuild = json_array_size(json_object_get(json_object_get(j, "Config"), "OnBuild")) > 0;
	if (out->own != GD_SHARED)
		return 0;
	gd_policy none = { 0 };
	gd_ctx c = { .tenant = u->tenant, .policy = &none, .res = &u->res };
	if (!gd_looks_like_id(ref) && gd_ref_mine(&c, ref))
		out->own = GD_MINE;
	if (id && state_has(u, "images", id))
		out->own = GD_MINE;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(j, "RepoTags"), i, t) {
		if (json_is_string(t) && gd_ref_mine(&c, json_string_value(t)))
			out->own = GD_MINE;
	}
	return 0;
}

static int
res_image_onbuild(void *ctx, const char *ref, char ***out)
{
	gd_up *u = ctx;
	*out = NULL;
	int st;
	_cleanup_json_ json_t *j = NULL;
	if (inspect(u, "images", ref, "/json", &st, &j) < 0)
		return -1;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(json_object_get(j, "Config"), "OnBuild"), i, t) {
		if (json_is_string(t))
			dr_strv_push(out, json_string_value(t));
	}
	return 0;
}

static int
res_exec(void *ctx, const char *id, gd_obj *out)
{
	gd_up *u = ctx;
	memset(out, 0, sizeof(*out));
	gd_cache_ent *e = cache_find(u, 'e', id);
	if (e)
		return res_container(ctx, e->val, out);
	int st;
	_cleanup_json_ json_t *j = NULL;
	if (inspect(u, "exec", id, "/json", &st, &j) < 0)
		return -1;
	if (!j)
		return 0;
	const char *cid = json_string_value(json_object_get(j, "ContainerID"));
	if (!cid)
		return 0;
	cache_put(u, 'e', id, GD_MINE, cid);
	return res_container(ctx, cid, out);
}

static char **
res_tenants(void *ctx)
{
	gd_up *u = ctx;
	char **v = dr_xcalloc(1, sizeof(char *));
	if (!u->state_dir)
		return v;
	const char *base = strrchr(u->state_dir, '/');
	if (!base || strcmp(base + 1, u->tenant) != 0)
		return v;
	_cleanup_free_ char *parent = dr_xstrndup(u->state_dir, (size_t)(base - u->state_dir));
	DIR *d = opendir(parent[0] ? parent : "/");
	if (!d)
		return v;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && gd_valid_id(de->d_name))
			dr_strv_push(&v, de->d_name);
	closedir(d);
	return v;
}

static int
res_volume_create(void *ctx, const char *name, gd_obj *out)
{
	gd_up *u = ctx;
	_cleanup_json_ json_t *b = json_pack("{s:s,s:{s:s}}", "Name", name, "Labels", GD_LABEL_TENANT,
	                                     u->tenant);
	if (u->session)
		json_object_set_new(json_object_get(b, "Labels"), GD_LABEL_SESSION,
		                    json_string(u->session));
	_cleanup_free_ char *s = gd_json_dump(b);
	int st;
	_cleanup_buf_ dr_buf resp = DR_BUF_INIT(RESP_MAX);
	if (gd_up_call(u, "POST", "/volumes/create", s, strlen(s), &st, &resp) < 0 || st != 201)
		return -1;
	return res_volume(ctx, name, out);
}

static bool
res_image_recorded(void *ctx, const char *id, const char *ref)
{
	gd_up *u = ctx;
	if (!state_has(u, "images", id))
		return false;
	if (!ref)
		return true;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(json_object_get(u->state, "images"), id), i, e) {
		if (dr_streq(json_string_value(e), ref))
			return true;
	}
	return false;
}

static bool
res_volume_recorded(void *ctx, const char *name)
{
	return state_has(ctx, "volumes", name);
}

int
gd_up_init(gd_up *u, const gd_config *cfg, dr_err **err)
{
	memset(u, 0, sizeof(*u));
	u->sock = cfg->upstream;
	u->tenant = cfg->tenant;
	u->session = cfg->session;
	u->fd = -1;
	u->timeout_ms = 30000;
	u->state_mtime = -1;
	if (cfg->state_dir) {
		u->state_dir = dr_xstrdup(cfg->state_dir);
		if (mkdir(u->state_dir, 0700) < 0 && errno != EEXIST)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "create the state directory %s",
			                     u->state_dir);
		_cleanup_free_ char *probe = state_path(u, "state.lock");
		_cleanup_close_ int fd = open(probe, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "use the state directory %s",
			                     u->state_dir);
		state_reload(u);
		const char *t = json_string_value(json_object_get(u->state, "tenant"));
		if (t && strcmp(t, u->tenant) != 0)
			return dr_fail(err, DR_EXIT_USAGE, "--state-dir %s belongs to tenant %s, not %s",
			               u->state_dir, t, u->tenant);
	}
	u->res = (gd_resolver){
		.ctx = u,
		.container = res_container,
		.volume = res_volume,
		.network = res_network,
		.image = res_image,
		.image_onbuild = res_image_onbuild,
		.exec = res_exec,
		.tenants = res_tenants,
		.volume_create = res_volume_create,
		.image_recorded = res_image_recorded,
		.volume_recorded = res_volume_recorded,
	};
	return 0;
}

void
gd_up_clear(gd_up *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u->state_dir);
	free(u->cache);
	json_decref(u->state);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

/* Is target the Target of a volume entry without Source in the container's HostConfig.Mounts
 * (an anonymous volume asked for through the Mounts API)? */
static bool
unnamed_mount(json_t *ins, const char *target)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(json_object_get(ins, "HostConfig"), "Mounts"), i, m) {
		const char *src = json_string_value(json_object_get(m, "Source"));
		if (dr_streq(json_string_value(json_object_get(m, "Type")), "volume") &&
		    (!src || !*src) && target &&
		    dr_streq(json_string_value(json_object_get(m, "Target")), target))
			return true;
	}
	return false;
}

void
gd_up_record(gd_up *u, gd_post post, const char *arg, int status, const char *body, size_t len)
{
	json_error_t je;
	switch (post) {
	case GD_POST_CONTAINER_CREATED: {
		if (status != 201)
			return;
		_cleanup_json_ json_t *j = json_loadb(body, len, 0, &je);
		const char *id = json_string_value(json_object_get(j, "Id"));
		if (!id)
			return;
		cache_put(u, 'c', id, GD_MINE, NULL);
		int st;
		_cleanup_json_ json_t *ins = NULL;
		if (inspect(u, "containers", id, "/json", &st, &ins) < 0 || !ins)
			return;
		/* The container's anonymous volumes, recorded for the session: those of the image's
		 * VOLUME and of `-v /path` carry no label (the state is what makes them the
		 * tenant's); those of a Mounts entry without a Source carry the labels the guard put
		 * in its VolumeOptions, but are no less anonymous. The cleanup removes them even
		 * with --keep-volumes, which keeps the volumes the tenant named. */
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(ins, "Mounts"), i, m) {
			const char *name = json_string_value(json_object_get(m, "Name"));
			if (!dr_streq(json_string_value(json_object_get(m, "Type")), "volume") || !name)
				continue;
			gd_obj o;
			if (res_volume(u, name, &o) < 0)
				continue;
			if (o.own == GD_SHARED ||
			    (o.own == GD_MINE &&
			     unnamed_mount(ins, json_string_value(json_object_get(m, "Destination")))))
				state_add(u, "volumes", name, u->session);
		}
		return;
	}
	case GD_POST_EXEC_CREATED: {
		if (status != 201 || !arg)
			return;
		_cleanup_json_ json_t *j = json_loadb(body, len, 0, &je);
		const char *id = json_string_value(json_object_get(j, "Id"));
		if (id)
			cache_put(u, 'e', id, GD_MINE, arg);
		return;
	}
	case GD_POST_PULLED: {
		if (status != 200 || !arg)
			return;
		int st;
		_cleanup_json_ json_t *ins = NULL;
		if (inspect(u, "images", arg, "/json", &st, &ins) < 0 || !ins)
			return;
		const char *id = json_string_value(json_object_get(ins, "Id"));
		if (id && owner_of(u, json_object_get(json_object_get(ins, "Config"), "Labels")) == GD_SHARED)
			state_add(u, "images", id, arg);
		return;
	}
	case GD_POST_NONE:
	case GD_POST_IMAGES_LIST:
	case GD_POST_SYSTEM_DF:
	case GD_POST_INFO:
	case GD_POST_NETWORK_INSPECT:
	case GD_POST_VOLUMES_LIST:
		return;
	}
}

/* GET a list scoped to the tenant (and the session) by label; the parsed answer (new ref). */
static json_t *
list_own(gd_up *u, const char *what, dr_err **err)
{
	_cleanup_json_ json_t *f = json_pack("{s:{}}", "label");
	_cleanup_free_ char *t = dr_xasprintf("%s=%s", GD_LABEL_TENANT, u->tenant);
	json_object_set_new(json_object_get(f, "label"), t, json_true());
	if (u->session) {
		_cleanup_free_ char *s = dr_xasprintf("%s=%s", GD_LABEL_SESSION, u->session);
		json_object_set_new(json_object_get(f, "label"), s, json_true());
	}
	_cleanup_free_ char *fs = gd_json_dump(f);
	_cleanup_free_ char *enc = gd_pct_encode(fs, false);
	_cleanup_free_ char *target = dr_xasprintf("%s%sfilters=%s", what, strchr(what, '?') ? "&" : "?", enc);
	_cleanup_buf_ dr_buf resp = DR_BUF_INIT(RESP_MAX);
	int st;
	if (gd_up_call(u, "GET", target, NULL, 0, &st, &resp) < 0 || st != 200) {
		dr_fail(err, DR_EXIT_FAIL, "list %s: the daemon did not answer (%d)", what, st);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
	if (!j)
		dr_fail(err, DR_EXIT_FAIL, "list %s: the daemon's answer is not JSON", what);
	return j;
}

static int
list_ids(gd_up *u, const char *what, const char *key, const char *field, char ***ids, dr_err **err)
{
	_cleanup_json_ json_t *j = list_own(u, what, err);
	if (!j)
		return -1;
	json_t *arr = key ? json_object_get(j, key) : j;
	*ids = dr_xcalloc(1, sizeof(char *));
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		const char *id = json_string_value(json_object_get(e, field));
		if (id)
			dr_strv_push(ids, id);
	}
	return 0;
}

/* Remove the anonymous volumes recorded for the session (the tenant's, without --session).
 * A container removed without v=1 (the runner's `docker rm --force`) leaves them behind, and
 * most carry no label, so the lists by label never see them. Entries whose volume is gone are
 * dropped from the state; a volume still in use (another session's container took it with
 * VolumesFrom) stays recorded. */
static void
cleanup_anonymous(gd_up *u, int *removed)
{
	state_reload(u);
	_cleanup_strv_ char **names = dr_xcalloc(1, sizeof(char *));
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(u->state, "volumes"), name, v) {
		if (!u->session || dr_streq(json_string_value(v), u->session))
			dr_strv_push(&names, name);
	}
	_cleanup_strv_ char **gone = dr_xcalloc(1, sizeof(char *));
	for (size_t i = 0; names[i]; i++) {
		gd_obj o;
		if (res_volume(u, names[i], &o) < 0)
			continue;
		if (o.own == GD_MISSING) {
			dr_strv_push(&gone, names[i]);
			continue;
		}
		if (o.own != GD_MINE)
			continue;
		_cleanup_free_ char *enc = gd_pct_encode(names[i], false);
		_cleanup_free_ char *t = dr_xasprintf("/volumes/%s", enc);
		_cleanup_buf_ dr_buf resp = DR_BUF_INIT(RESP_MAX);
		int st;
		if (gd_up_call(u, "DELETE", t, NULL, 0, &st, &resp) < 0)
			continue;
		if (st / 100 == 2)
			(*removed)++;
		if (st / 100 == 2 || st == 404)
			dr_strv_push(&gone, names[i]);
	}
	state_del(u, "volumes", gone);
}

int
gd_up_cleanup(gd_up *u, bool keep_volumes, int *removed, dr_err **err)
{
	*removed = 0;
	static const struct { const char *list; const char *key; const char *field; const char *del; const char *q; } kinds[] = {
		{ "/containers/json?all=1", NULL, "Id", "/containers/", "?force=1&v=1" },
		{ "/networks", NULL, "Id", "/networks/", "" },
		{ "/volumes", "Volumes", "Name", "/volumes/", "?force=1" },
	};
	int rc = 0;
	for (size_t k = 0; k < DR_ARRAY_LEN(kinds); k++) {
		if (k == 2 && keep_volumes)
			break;
		_cleanup_strv_ char **ids = NULL;
		if (list_ids(u, kinds[k].list, kinds[k].key, kinds[k].field, &ids, err) < 0) {
			rc = -1;
			continue;
		}
		for (size_t i = 0; ids[i]; i++) {
			_cleanup_free_ char *enc = gd_pct_encode(ids[i], false);
			_cleanup_free_ char *t = dr_xasprintf("%s%s%s", kinds[k].del, enc, kinds[k].q);
			_cleanup_buf_ dr_buf resp = DR_BUF_INIT(RESP_MAX);
			int st;
			if (gd_up_call(u, "DELETE", t, NULL, 0, &st, &resp) == 0 && st / 100 == 2)
				(*removed)++;
		}
	}
	cleanup_anonymous(u, removed); /* after the containers that used them */
	return rc;
}

/* ---- the pod's folders (podfs) ---- */

void
gd_up_sweep_pins(gd_up *u, long long grace_ms)
{
	if (!u->pods)
		return;
	dr_err *err = NULL;
	_cleanup_json_ json_t *j = list_own(u, "/containers/json?all=1", &err);
	if (!j) {
		dr_err_free(err);
		return; /* the pins stay until a later sweep can ask */
	}
	_cleanup_strv_ char **in_use = dr_xcalloc(1, sizeof(char *));
	size_t i, k;
	json_t *c, *m;
	json_array_foreach(j, i, c) {
		json_array_foreach(json_object_get(c, "Mounts"), k, m) {
			const char *src = json_string_value(json_object_get(m, "Source"));
			if (src && gd_podfs_is_pin(u->pods, src))
				dr_strv_push(&in_use, src);
		}
	}
	gd_podfs_sweep(u->pods, in_use, grace_ms);
}

void
gd_up_tick(gd_up *u)
{
	if (!u->pods)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now - u->last_beat_ms < GD_PODFS_BEAT_S * 1000LL)
		return;
	u->last_beat_ms = now;
	gd_podfs_beat(u->pods);
	/* Pins of --rm containers that ended while no create came. */
	if (u->pods->npins)
		gd_up_sweep_pins(u, 5000);
}

void
gd_up_settle_pins(gd_up *u, unsigned group, bool ok)
{
	if (u->pods)
		gd_podfs_settle(u->pods, group, ok);
}

static int
res_bind_source(void *ctx, const char *src, unsigned *group, char **out, char **why)
{
	gd_up *u = ctx;
	*out = *why = NULL;
	if (!u->pods)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* Before the first pin of a request, at most every 2 s: pins of containers that are gone
	 * (removed, or --rm ones that ended) are let go. */
	if (*group == 0 && now - u->pods->last_sweep_ms > 2000)
		gd_up_sweep_pins(u, 5000);
	return (int)gd_podfs_map(u->pods, src, group, out, why);
}

void
gd_up_use_pods(gd_up *u, gd_podfs *pods)
{
	u->pods = pods;
	u->res.bind_source = pods ? res_bind_source : NULL;
}

/* Does the daemon see daemon_path? It validates a bind source before it looks up the image,
 * so a create with an image that cannot exist answers 404 (no such image) when the path is
 * there and 400 (bind source path does not exist) when it is not: nothing is created. */
static int
daemon_sees(gd_up *u, const char *daemon_path, bool *seen)
{
	_cleanup_json_ json_t *body = json_pack(
		"{s:s, s:{s:[{s:s, s:s, s:s}]}}", "Image", "deskrun-probe.invalid/none:absent",
		"HostConfig", "Mounts", "Type", "bind", "Source", daemon_path, "Target", "/probe");
	_cleanup_free_ char *b = gd_json_dump(body);
	_cleanup_buf_ dr_buf resp = DR_BUF_INIT(RESP_MAX);
	int st;
	if (gd_up_call(u, "POST", "/containers/create", b, strlen(b), &st, &resp) < 0)
		return -1;
	if (st / 100 == 2) { /* an image by that name after all: remove what was made */
		json_error_t je;
		_cleanup_json_ json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
		const char *id = json_string_value(json_object_get(j, "Id"));
		if (id) {
			_cleanup_free_ char *t = dr_xasprintf("/containers/%s?force=1", id);
			_cleanup_buf_ dr_buf r2 = DR_BUF_INIT(RESP_MAX);
			gd_up_call(u, "DELETE", t, NULL, 0, &st, &r2);
		}
		*seen = true;
		return 0;
	}
	*seen = st == 404;
	return 0;
}

char *
gd_up_check_pods(gd_up *u)
{
	if (!u->pods)
		return NULL;
	char nonce[32];
	snprintf(nonce, sizeof(nonce), "probe-%ld-%d", (long)time(NULL), (int)getpid());
	char *msg = NULL;
	/* A folder only the pin shows: run/<nonce>/inner, pinned as pins/<k>; the daemon must
	 * see <daemon-pod-dir>/run/<nonce> (the mapping) and .../pins/<k>/inner (propagation). */
	_cleanup_free_ char *src = dr_xasprintf("%s/run/%s", u->pods->dir, nonce);
	_cleanup_free_ char *inner = dr_xasprintf("%s/inner", src);
	if (mkdir(src, 0700) < 0 || mkdir(inner, 0700) < 0)
		return dr_xasprintf("cannot make a probe folder in %s/run: %s", u->pods->dir,
		                    strerror(errno));
	_cleanup_free_ char *dsrc = dr_xasprintf("%s/run/%s", u->pods->daemon_dir, nonce);
	bool seen = false;
	if (daemon_sees(u, dsrc, &seen) < 0) {
		msg = dr_xasprintf("the daemon did not answer the path probe");
	} else if (!seen) {
		msg = dr_xasprintf("the daemon does not see the pod's folder at %s: set "
		                   "daemon-cache-root to the cache root as the node's daemon sees it",
		                   u->pods->daemon_dir);
	} else if (!u->pods->can_mount) {
		msg = dr_xasprintf("the pod's folder is seen by the daemon, but the guard cannot pin "
		                   "folders below the runner's roots");
	} else {
		/* Pin it as a bind of the runner's would be, through a temporary root. */
		_cleanup_free_ char *pin = dr_xasprintf("%s/pins/%s", u->pods->dir, nonce);
		if (mkdir(pin, 0700) < 0 || mount(src, pin, NULL, MS_BIND, NULL) < 0) {
			msg = dr_xasprintf("cannot pin a folder (%s): run the guard privileged",
			                   strerror(errno));
			if (errno == EPERM)
				u->pods->can_mount = false;
		} else {
			_cleanup_free_ char *dpin = dr_xasprintf("%s/pins/%s/inner", u->pods->daemon_dir,
			                                         nonce);
			if (daemon_sees(u, dpin, &seen) < 0)
				msg = dr_xasprintf("the daemon did not answer the pin probe");
			else if (!seen)
				msg = dr_xasprintf("the daemon does not see the guard's pins: mount %s/pods "
				                   "with Bidirectional propagation (on the node a shared "
				                   "mount; kind: the cache root's extraMount Bidirectional)",
				                   u->pods->daemon_dir);
			umount2(pin, MNT_DETACH);
		}
		rmdir(pin);
	}
	rmdir(inner);
	rmdir(src);
	return msg ? msg : dr_xstrdup("");
}
