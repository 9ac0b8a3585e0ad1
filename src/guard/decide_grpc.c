/* decide_grpc.c: which gRPC calls may cross the BuildKit tunnel (POST /grpc, after its 101).
 * The guard reads the :path of every call the client opens (src/guard/h2grpc.c) and lets
 * through only the methods a build needs, as the real clients call them (docker buildx with
 * the docker driver, compose's bake; see ../shared/reference/buildkit-guard.md §1.3, §2): the
 * rest never reaches the daemon and the client gets PERMISSION_DENIED with the reason. */
#include "lib/common.h"
#include "guard/guard.h"

#define CONTROL "/moby.buildkit.v1.Control/"
#define BRIDGE "/moby.buildkit.v1.frontend.LLBBridge/"

static bool
in_list(const char *m, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(m, list[i]) == 0)
			return true;
	return false;
}

const char *
gd_grpc_refusal(const char *path, char *buf, size_t len)
{
	/* Control: run a build and follow it; the builder's description */
	static const char *const control[] = { "Solve", "Status", "ListWorkers", "Info", NULL };
	/* LLBBridge: what the Dockerfile frontend asks while it builds (the container API is
	 * left out: only `buildx debug` / --invoke uses it) */
	static const char *const bridge[] = { "Ping", "Solve", "Return", "Inputs",
		                              "ResolveImageConfig", "ResolveSourceMeta", "ReadFile",
		                              "ReadDir", "StatFile", "Evaluate", "Warn", NULL };
	if (strncmp(path, CONTROL, strlen(CONTROL)) == 0) {
		const char *m = path + strlen(CONTROL);
		if (in_list(m, control))
			return NULL;
		if (strcmp(m, "Prune") == 0 || strcmp(m, "DiskUsage") == 0)
			snprintf(buf, len, "BuildKit %s is refused: the build cache is shared between "
			                   "tenants and cannot be scoped to one (the daemon's GC prunes it)", m);
		else if (strcmp(m, "ListenBuildHistory") == 0 || strcmp(m, "UpdateBuildHistory") == 0)
			snprintf(buf, len, "BuildKit %s is refused: the build history is shared between "
			                   "tenants", m);
		else if (strcmp(m, "Session") == 0)
			snprintf(buf, len, "BuildKit Control/Session is refused: sessions go through "
			                   "POST /session");
		else
			snprintf(buf, len, "gRPC method %.200s is not on the guard's BuildKit allowlist", path);
		return buf;
	}
	if (strncmp(path, BRIDGE, strlen(BRIDGE)) == 0 && in_list(path + strlen(BRIDGE), bridge))
		return NULL;
	if (strncmp(path, "/containerd.services.content.v1.Content/", 40) == 0) {
		snprintf(buf, len, "BuildKit's content store (build history records) is refused: it is "
		                   "shared between tenants");
		return buf;
	}
	snprintf(buf, len, "gRPC method %.200s is not on the guard's BuildKit allowlist", path);
	return buf;
}

/* ---- Solve requests ----
 * Read with the guard's protobuf walker (src/guard/h2grpc.h). Field numbers from BuildKit's
 * control.proto (moby.buildkit.v1.SolveRequest) and gateway.proto (the LLBBridge's
 * SolveRequest); see buildkit-guard.md §2.2, §2.3, §3. Singular fields that appear twice and
 * map keys that repeat are refused: Go keeps the last, a reader that kept the first would be
 * fooled. */

#include "guard/h2grpc.h"
#include "guard/gjson.h"
#include "guard/dockerfile.h"

#define SOLVE_CONTROL CONTROL "Solve"
#define SOLVE_BRIDGE BRIDGE "Solve"
#define CACHE_NS_KEY "build-arg:BUILDKIT_CACHE_MOUNT_NS"

char *
gd_session_id(const gd_ctx *c, const char *id)
{
	/* bound to this guard process too: the Dockerfile check reads a session's transfer
	 * with the build-args of the Solves that named it, which only this guard has seen */
	if (c->args && c->args->nonce[0])
		return dr_xasprintf("%s.%s.%s", c->tenant, c->args->nonce, id);
	return dr_xasprintf("%s.%s", c->tenant, id);
}

struct gd_dfcached {
	char *key, *data;
	size_t klen, len;
};

static void
strv_add(char ***v, size_t n, char *x)
{
	*v = dr_xrealloc(*v, (n + 1) * sizeof(char *));
	(*v)[n] = x;
}

void
gd_args_record(gd_argstore *s, const char *key, const char *name, const char *value)
{
	if (!s || !key || !name || !value)
		return;
	_cleanup_free_ char *kv = dr_xasprintf("%s=%s", name, value);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->key[i], key) == 0 && strcmp(s->kv[i], kv) == 0)
			return;
	if (s->n == GD_ARGS_MAX) {
		s->overflow = true;
		return;
	}
	strv_add(&s->key, s->n, dr_xstrdup(key));
	strv_add(&s->kv, s->n, kv);
	kv = NULL;
	s->n++;
}

void
gd_args_link(gd_argstore *s, const char *ref_key, const char *session_key)
{
	if (!s || !ref_key || !session_key)
		return;
	for (size_t i = 0; i < s->nl; i++)
		if (strcmp(s->lref[i], ref_key) == 0 && strcmp(s->lses[i], session_key) == 0)
			return;
	if (s->nl == GD_ARGS_MAX) {
		s->overflow = true;
		return;
	}
	strv_add(&s->lref, s->nl, dr_xstrdup(ref_key));
	strv_add(&s->lses, s->nl, dr_xstrdup(session_key));
	s->nl++;
}

char **
gd_args_for(const gd_argstore *s, const char *session_key)
{
	char **out = dr_xcalloc(1, sizeof(char *));
	if (!s)
		return out;
	for (size_t i = 0; i < s->n; i++) {
		bool mine = strcmp(s->key[i], session_key) == 0;
		for (size_t j = 0; !mine && j < s->nl; j++)
			mine = strcmp(s->lses[j], session_key) == 0 && strcmp(s->lref[j], s->key[i]) == 0;
		if (mine && !in_list(s->kv[i], (const char *const *)out))
			dr_strv_push(&out, s->kv[i]);
	}
	return out;
}

/* Two parallel lists of *n strings: every pair whose match[i] is key goes (freed; the last
 * pair takes its place). */
static void
drop_pairs(char **match, char **other, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n;) {
		if (strcmp(match[i], key) == 0) {
			free(match[i]);
			free(other[i]);
			(*n)--;
			match[i] = match[*n];
			other[i] = other[*n];
		} else {
			i++;
		}
	}
}

/* Every build-arg stored under key (a session's or a build ref's) goes. */
static void
args_drop(gd_argstore *s, const char *key)
{
	drop_pairs(s->key, s->kv, &s->n, key);
}

void
gd_args_forget(gd_argstore *s, const char *session_key)
{
	if (!s)
		return;
	/* refs linked to this session and to no other go with it */
	for (size_t j = 0; j < s->nl; j++) {
		if (strcmp(s->lses[j], session_key) != 0)
			continue;
		bool other = false;
		for (size_t k = 0; k < s->nl && !other; k++)
			other = strcmp(s->lref[k], s->lref[j]) == 0 && strcmp(s->lses[k], session_key) != 0;
		if (other)
			continue;
		args_drop(s, s->lref[j]);
	}
	args_drop(s, session_key);
	for (size_t i = 0; i < s->nseen;) {
		if (strcmp(s->seen[i].key, session_key) == 0) {
			s->seen_bytes -= s->seen[i].len;
			free(s->seen[i].key);
			free(s->seen[i].data);
			s->seen[i] = s->seen[--s->nseen];
		} else {
			i++;
		}
	}
	drop_pairs(s->lses, s->lref, &s->nl, session_key); /* its links */
}

void
gd_dfcache_put(gd_argstore *s, const void *key, size_t klen, const char *data, size_t len)
{
	if (!s || len > GD_DFCACHE_BYTES / 4)
		return;
	for (size_t i = 0; i < s->ndfc; i++)
		if (s->dfc[i].klen == klen && memcmp(s->dfc[i].key, key, klen) == 0)
			return; /* the same stat: the same content (the daemon would not ask again) */
	while (s->ndfc && s->dfc_bytes + len + klen > GD_DFCACHE_BYTES) {
		s->dfc_bytes -= s->dfc[0].len + s->dfc[0].klen;
		free(s->dfc[0].key);
		free(s->dfc[0].data);
		memmove(s->dfc, s->dfc + 1, (--s->ndfc) * sizeof(*s->dfc));
	}
	s->dfc = dr_xrealloc(s->dfc, (s->ndfc + 1) * sizeof(*s->dfc));
	struct gd_dfcached *e = &s->dfc[s->ndfc++];
	e->key = dr_xmalloc(klen ? klen : 1);
	memcpy(e->key, key, klen);
	e->klen = klen;
	e->data = dr_xmalloc(len ? len : 1);
	memcpy(e->data, data, len);
	e->len = len;
	s->dfc_bytes += len + klen;
}

const char *
gd_dfcache_get(const gd_argstore *s, const void *key, size_t klen, size_t *len)
{
	for (size_t i = 0; s && i < s->ndfc; i++)
		if (s->dfc[i].klen == klen && memcmp(s->dfc[i].key, key, klen) == 0) {
			*len = s->dfc[i].len;
			return s->dfc[i].data;
		}
	return NULL;
}

void
gd_args_seen(gd_argstore *s, const char *session_key, const char *data, size_t len)
{
	if (!s || !session_key)
		return;
	size_t kl = strlen(session_key);
	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i].klen == kl && memcmp(s->seen[i].key, session_key, kl) == 0 &&
		    s->seen[i].data && s->seen[i].len == len && memcmp(s->seen[i].data, data, len) == 0)
			return;
	bool over = s->seen_bytes + len > GD_DFCACHE_BYTES;
	for (size_t i = 0; over && i < s->nseen; i++)
		if (!s->seen[i].data && strcmp(s->seen[i].key, session_key) == 0)
			return; /* already marked */
	s->seen = dr_xrealloc(s->seen, (s->nseen + 1) * sizeof(*s->seen));
	struct gd_dfcached *e = &s->seen[s->nseen++];
	e->key = dr_xstrdup(session_key);
	e->klen = kl;
	e->data = NULL;
	e->len = 0;
	if (over) /* the session's later builds are refused rather than left unchecked */
		return;
	e->data = dr_xmalloc(len ? len : 1);
	memcpy(e->data, data, len);
	e->len = len;
	s->seen_bytes += len;
}

static const char *
recheck_key(const gd_ctx *c, const char *skey, char *buf, size_t blen)
{
	const gd_argstore *s = c->args;
	size_t kl = strlen(skey);
	for (size_t i = 0; i < s->nseen; i++) {
		if (s->seen[i].klen != kl || memcmp(s->seen[i].key, skey, kl) != 0)
			continue;
		if (!s->seen[i].data) {
			snprintf(buf, blen, "this build's session sent more Dockerfiles than the guard keeps "
			                    "(%u MiB): run the build in a new session", GD_DFCACHE_BYTES >> 20);
			return buf;
		}
		char inner[400];
		const char *why = gd_session_dockerfile_check(c, skey, s->seen[i].data, s->seen[i].len,
		                                              inner, sizeof(inner));
		if (why) {
			snprintf(buf, blen, "the Dockerfile this build's session already sent, with this "
			                    "build's build-args: %s", why);
			return buf;
		}
	}
	return NULL;
}

/* gd_args_recheck with the store's keys made: "s:<session>" each, "r:<ref>" or NULL. */
static const char *
recheck_keys(const gd_ctx *c, char *const *skeys, const char *rkey, char *buf, size_t blen)
{
	if (!c->args || !c->args->nseen)
		return NULL;
	const gd_argstore *s = c->args;
	for (size_t j = 0; skeys && skeys[j]; j++)
		if (recheck_key(c, skeys[j], buf, blen))
			return buf;
	for (size_t i = 0; rkey && i < s->nl; i++)
		if (strcmp(s->lref[i], rkey) == 0 && recheck_key(c, s->lses[i], buf, blen))
			return buf;
	return NULL;
}

const char *
gd_args_recheck(const gd_ctx *c, char *const *sessions, const char *ref, char *buf, size_t blen)
{
	if (!c->args || !c->args->nseen)
		return NULL;
	_cleanup_strv_ char **sk = NULL;
	for (size_t j = 0; sessions && sessions[j]; j++) {
		_cleanup_free_ char *k = dr_xasprintf("s:%s", sessions[j]);
		dr_strv_push(&sk, k);
	}
	_cleanup_free_ char *rk = ref ? dr_xasprintf("r:%s", ref) : NULL;
	return recheck_keys(c, sk, rk, buf, blen);
}

void
gd_args_clear(gd_argstore *s)
{
	for (size_t i = 0; i < s->nseen; i++) {
		free(s->seen[i].key);
		free(s->seen[i].data);
	}
	free(s->seen);
	for (size_t i = 0; i < s->ndfc; i++) {
		free(s->dfc[i].key);
		free(s->dfc[i].data);
	}
	free(s->dfc);
	for (size_t i = 0; i < s->n; i++) {
		free(s->key[i]);
		free(s->kv[i]);
	}
	for (size_t i = 0; i < s->nl; i++) {
		free(s->lref[i]);
		free(s->lses[i]);
	}
	free(s->key);
	free(s->kv);
	free(s->lref);
	free(s->lses);
	memset(s, 0, sizeof(*s));
}

static bool dockerfile_image(const char *src);

/* An image a build may read: not another tenant's (its label), not a name in another known
 * tenant's namespace. 0, or 1 with the reason in buf. */
static int
image_readable(const gd_ctx *c, const char *ref, const char *what, unsigned line, char *buf,
               size_t blen, bool *onbuild)
{
	if (onbuild)
		*onbuild = false;
	if (strstr(ref, "://")) { /* a source URL, not a name the guard can look up */
		snprintf(buf, blen, "Dockerfile line %u: %s %.120s is not an image reference the guard "
		                    "can check", line, what, ref);
		return 1;
	}
	gd_ref r;
	if (gd_ref_parse(ref, &r) == 0) {
		bool foreign = gd_path_foreign(c, r.path);
		gd_ref_clear(&r);
		if (foreign) {
			snprintf(buf, blen, "Dockerfile line %u: %s %.120s: the name is in another "
			                    "tenant's namespace", line, what, ref);
			return 1;
		}
	}
	if (!c->res || !c->res->image)
		return 0;
	gd_obj o;
	if (c->res->image(c->res->ctx, ref, &o) < 0) {
		snprintf(buf, blen, "Dockerfile line %u: %s %.120s: the daemon could not be asked whose "
		                    "image it is", line, what, ref);
		return 1;
	}
	if (o.own == GD_FOREIGN) {
		snprintf(buf, blen, "Dockerfile line %u: %s %.120s is another tenant's image", line, what,
		         ref);
		return 1;
	}
	if (onbuild)
		*onbuild = o.onbuild;
	return 0;
}

static int df_ref(void *u, const char *ref, const char *what, unsigned line, char *buf,
                  size_t blen);

/* The ONBUILD triggers of a local base image run in the build as if written after its FROM:
 * a trigger made by a legacy build or a commit could name another tenant's image. Checked
 * as ONBUILD lines of their own (a base image not local yet is pulled by the daemon, its
 * triggers unseen: see docs/guard.md). */
static int
base_triggers(const gd_ctx *c, const char *ref, unsigned line, char *buf, size_t blen)
{
	if (!c->res || !c->res->image_onbuild)
		return 0;
	_cleanup_strv_ char **trig = NULL;
	if (c->res->image_onbuild(c->res->ctx, ref, &trig) < 0) {
		snprintf(buf, blen, "Dockerfile line %u: FROM %.120s: the daemon could not be asked for "
		                    "its ONBUILD triggers", line, ref);
		return 1;
	}
	if (!trig || !trig[0])
		return 0;
	dr_buf df = DR_BUF_INIT(0);
	for (size_t i = 0; trig[i]; i++) {
		dr_buf_puts(&df, "ONBUILD ");
		for (const char *p = trig[i]; *p; p++) /* one line each */
			dr_buf_append(&df, *p == '\n' || *p == '\r' ? " " : p, 1);
		dr_buf_puts(&df, "\n");
	}
	char inner[512];
	const char *why = gd_df_scan(df.data, df.len, NULL, false, df_ref, (void *)c, inner,
	                             sizeof(inner));
	dr_buf_reset(&df);
	if (why) {
		snprintf(buf, blen, "Dockerfile line %u: FROM %.120s: its ONBUILD trigger: %s", line, ref,
		         strncmp(why, "Dockerfile line ", 16) == 0 && strchr(why, ':') ? strchr(why, ':') + 2
		                                                                    : why);
		return 1;
	}
	return 0;
}

static int
df_ref(void *u, const char *ref, const char *what, unsigned line, char *buf, size_t blen)
{
	const gd_ctx *c = u;
	if (strcmp(what, "# syntax") == 0) {
		if (dockerfile_image(ref))
			return 0;
		snprintf(buf, blen, "Dockerfile line %u: # syntax=%.120s is refused: only docker/dockerfile "
		                    "frontends run", line, ref);
		return 1;
	}
	bool onbuild = false;
	if (image_readable(c, ref, what, line, buf, blen, &onbuild))
		return 1;
	/* the triggers are read only from an image that has some (one inspect per FROM) */
	return strcmp(what, "FROM") == 0 && onbuild ? base_triggers(c, ref, line, buf, blen) : 0;
}

const char *
gd_session_dockerfile_check(const gd_ctx *c, const char *session_key, const char *data,
                            size_t len, char *buf, size_t blen)
{
	_cleanup_strv_ char **args = gd_args_for(c->args, session_key ? session_key : "");
	return gd_df_scan(data, len, args, c->args && c->args->overflow, df_ref, (void *)c, buf, blen);
}

#define STATUS_CONTROL CONTROL "Status"

bool
gd_grpc_inspects(const char *path)
{
	return strcmp(path, SOLVE_CONTROL) == 0 || strcmp(path, SOLVE_BRIDGE) == 0 ||
	       strcmp(path, STATUS_CONTROL) == 0;
}

/* a string field as a NUL-terminated copy (NULs inside are refused) */
static char *
pb_str(const gh_pb_field *f)
{
	if (memchr(f->data, 0, f->len))
		return NULL;
	return dr_xstrndup((const char *)f->data, f->len);
}

/* A map entry {key = 1, value = 2} (both strings). 0, or -1. */
static int
map_entry(const gh_pb_field *f, char **key, char **value)
{
	*key = *value = NULL;
	if (f->wire != 2)
		return -1;
	gh_pb pb = gh_pb_init(f->data, f->len);
	gh_pb_field e;
	const char *why = NULL;
	int rc;
	while ((rc = gh_pb_next(&pb, &e, &why)) == 1) {
		char **dst = e.num == 1 ? key : e.num == 2 ? value : NULL;
		if (!dst || e.wire != 2 || *dst)
			goto bad;
		if (!(*dst = pb_str(&e)))
			goto bad;
	}
	if (rc < 0)
		goto bad;
	if (!*key)
		*key = dr_xstrdup("");
	if (!*value)
		*value = dr_xstrdup("");
	return 0;
bad:
	free(*key);
	free(*value);
	*key = *value = NULL;
	return -1;
}

bool
gd_dockerfile_frontend(const char *src)
{
	return dockerfile_image(src);
}

static bool
dockerfile_image(const char *src)
{
	gd_ref r;
	if (gd_ref_parse(src, &r) < 0)
		return false;
	bool ok = strcmp(r.domain, "docker.io") == 0 &&
	          (strcmp(r.path, "docker/dockerfile") == 0 ||
	           strcmp(r.path, "docker/dockerfile-upstream") == 0);
	gd_ref_clear(&r);
	return ok;
}

/* The frontend and its attributes (Control: Frontend 6 / FrontendAttrs 7; LLBBridge: Frontend
 * 2 / FrontendOpt 3), collected by the caller. */
typedef struct attrs {
	char **k, **v;
	size_t n;
} attrs;

static void
attrs_free(attrs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->k[i]);
		free(a->v[i]);
	}
	free(a->k);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Add an entry; -1 when the key is there already. */
static int
attrs_add(attrs *a, char *k, char *v)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->k[i], k) == 0) {
			free(k);
			free(v);
			return -1;
		}
	a->k = dr_xrealloc(a->k, (a->n + 1) * sizeof(char *));
	a->v = dr_xrealloc(a->v, (a->n + 1) * sizeof(char *));
	a->k[a->n] = k;
	a->v[a->n++] = v;
	return 0;
}

static const char *
attrs_get(const attrs *a, const char *k)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->k[i], k) == 0)
			return a->v[i];
	return NULL;
}

static const char *
check_frontend(const gd_ctx *c, const char *frontend, const attrs *fa, const char *what, char *buf,
               size_t blen)
{
	for (size_t i = 0; i < fa->n; i++) {
		const char *k = fa->k[i], *v = fa->v[i];
		/* the Dockerfile must come through the tenant's session, where the guard reads it
		 * (gd_session_dockerfile_check): not from another local name, a URL or an input */
		if (strcmp(k, "dockerfilekey") == 0 || strcmp(k, "contextkey") == 0) {
			snprintf(buf, blen, "%s: frontend attribute %s is refused (the Dockerfile is read "
			                    "from the build's dockerfile directory)", what, k);
			return buf;
		}
		if (strcmp(k, "context") == 0 && *v) {
			snprintf(buf, blen, "%s: a remote build context (%.80s) is refused: the daemon "
			                    "would fetch it; send the context from the client", what, v);
			return buf;
		}
		if (strncmp(k, "context:", 8) == 0) {
			if (strncmp(v, "docker-image://", 15) != 0) {
				snprintf(buf, blen, "%s: named context %.60s=%.80s is refused: only "
				                    "docker-image:// contexts are checked", what, k + 8, v);
				return buf;
			}
			if (image_readable(c, v + 15, "named context", 0, buf, blen, NULL)) {
				char tmp[512];
				snprintf(tmp, sizeof(tmp), "%s: %s", what, strstr(buf, ": ") + 2);
				snprintf(buf, blen, "%s", tmp);
				return buf;
			}
		}
	}
	for (size_t i = 0; i < fa->n; i++) {
		if (strncmp(fa->k[i], "label:", 6) != 0)
			continue;
		_cleanup_free_ char *f = gd_fold_key(fa->k[i] + 6);
		if (dr_startswith(f, GD_LABEL_PREFIX)) {
			snprintf(buf, blen, "%s: label %.80s: labels in the " GD_LABEL_PREFIX " namespace "
			                    "are set by the guard", what, fa->k[i] + 6);
			return buf;
		}
	}
	if (attrs_get(fa, CACHE_NS_KEY)) {
		snprintf(buf, blen, "%s: BUILDKIT_CACHE_MOUNT_NS is set by the guard (cache mounts are "
		                    "namespaced per tenant)", what);
		return buf;
	}
	/* the Dockerfile frontend runs the image a BUILDKIT_SYNTAX build-arg names (as it does
	 * a # syntax line's) */
	const char *sy = attrs_get(fa, "build-arg:BUILDKIT_SYNTAX");
	if (sy) {
		_cleanup_free_ char *img = dr_xstrndup(sy, strcspn(sy, " \t"));
		if (!dockerfile_image(img)) {
			snprintf(buf, blen, "%s: frontend image %.120s is refused (BUILDKIT_SYNTAX): only "
			                    "docker/dockerfile runs as a gateway frontend", what, img);
			return buf;
		}
	}
	if (attrs_get(fa, "cgroup-parent")) {
		snprintf(buf, blen, "%s: cgroup-parent is refused (it escapes the tenant's limits)", what);
		return buf;
	}
	if (!*frontend || strcmp(frontend, "dockerfile.v0") == 0)
		return NULL;
	if (strcmp(frontend, "gateway.v0") == 0) {
		const char *src = attrs_get(fa, "source");
		if (src && dockerfile_image(src))
			return NULL;
		snprintf(buf, blen, "%s: frontend image %.120s is refused: only docker/dockerfile "
		                    "(# syntax=docker/dockerfile:...) runs as a gateway frontend",
		         what, src ? src : "(none)");
		return buf;
	}
	snprintf(buf, blen, "%s: frontend %.80s is refused: build from a Dockerfile (dockerfile.v0)",
	         what, frontend);
	return buf;
}

static void
pb_varint(dr_buf *b, uint64_t v)
{
	uint8_t c;
	while (v >= 0x80) {
		c = (uint8_t)(v | 0x80);
		dr_buf_append(b, &c, 1);
		v >>= 7;
	}
	c = (uint8_t)v;
	dr_buf_append(b, &c, 1);
}

/* A frontend attribute (a map entry {1: key, 2: value} of field num), appended to the
 * message: a map field may come anywhere, and the client's own value for these keys was
 * refused, so the entry is the only one. */
static void
append_attr(dr_buf *out, unsigned num, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	dr_buf e = DR_BUF_INIT(0);
	pb_varint(&e, 1 << 3 | 2);
	pb_varint(&e, kl);
	dr_buf_append(&e, key, kl);
	pb_varint(&e, 2 << 3 | 2);
	pb_varint(&e, vl);
	dr_buf_append(&e, value, vl);
	pb_varint(out, num << 3 | 2);
	pb_varint(out, e.len);
	dr_buf_append(out, e.data, e.len);
	dr_buf_reset(&e);
}

static void
put_str(dr_buf *out, unsigned num, const char *v)
{
	size_t vl = strlen(v);
	pb_varint(out, num << 3 | 2);
	pb_varint(out, vl);
	dr_buf_append(out, v, vl);
}

#define LOCAL_SESSION "local-sessionid:"

/* What the guard adds when a frontend runs in the daemon: the tenant label (the Dockerfile
 * frontend applies label:K=V over the Dockerfile's own LABELs) and the cache-mount namespace
 * (RUN --mount=type=cache ids become <tenant>/<id>: one tenant's cache mounts never meet
 * another's). */
static void
append_tenant_attrs(dr_buf *out, unsigned num, const char *tenant)
{
	append_attr(out, num, "label:" GD_LABEL_TENANT, tenant);
	append_attr(out, num, CACHE_NS_KEY, tenant);
}

/* One exporter: its type and attributes. */
static const char *
check_exporter(const gd_ctx *c, const char *type, const attrs *ea, char *buf, size_t blen)
{
	static const char *const types[] = { "moby", "image", "docker", "oci", "local", "tar", NULL };
	if (!in_list(type, types)) {
		snprintf(buf, blen, "Solve: exporter type %.60s is refused (moby, image, docker, oci, "
		                    "local and tar are accepted)", type);
		return buf;
	}
	for (size_t i = 0; i < ea->n; i++) {
		const char *k = ea->k[i], *v = ea->v[i];
		if (strcmp(k, "registry.insecure") == 0 && strcmp(v, "false") != 0) {
			snprintf(buf, blen, "Solve: exporter attribute registry.insecure is refused");
			return buf;
		}
		if (strcmp(k, "dangling-name-prefix") == 0) {
			size_t n = strlen(c->tenant);
			if (strncmp(v, c->tenant, n) != 0 || v[n] != '/') {
				snprintf(buf, blen, "Solve: dangling-name-prefix %.100s is outside the tenant's "
				                    "namespace (%s/...)", v, c->tenant);
				return buf;
			}
		}
		if (strcmp(k, "name") != 0)
			continue;
		_cleanup_free_ char *names = dr_xstrdup(v);
		char *save = NULL;
		for (char *nm = strtok_r(names, ",", &save); nm; nm = strtok_r(NULL, ",", &save)) {
			while (*nm == ' ')
				nm++;
			size_t l = strlen(nm);
			while (l && nm[l - 1] == ' ')
				nm[--l] = 0;
			if (!*nm)
				continue;
			if (!gd_ref_mine(c, nm)) {
				snprintf(buf, blen, "Solve: image name \"%.120s\": images made here must be "
				                    "tagged in the tenant's namespace, e.g. %s/NAME:TAG", nm,
				         c->tenant);
				return buf;
			}
		}
	}
	return NULL;
}

static bool
entitlement_allowed(const gd_ctx *c, const char *e)
{
	for (size_t i = 0; c->policy->buildkit_entitlements && c->policy->buildkit_entitlements[i]; i++)
		if (strcmp(c->policy->buildkit_entitlements[i], e) == 0)
			return true;
	return false;
}

/* A Solve whose frontend passed: its build-args recorded under its ref and every session it
 * may read its Dockerfile from (see gd_argstore), then the Dockerfiles those sessions already
 * sent checked again with them. NULL, or the reason in buf. */
static const char *
check_args(const gd_ctx *c, const attrs *fa, const char *ref, char *const *sessions,
           const char *what, char *buf, size_t blen)
{
	if (!c->args)
		return NULL;
	_cleanup_free_ char *rk = ref ? dr_xasprintf("r:%s", ref) : NULL;
	_cleanup_strv_ char **sk = NULL;
	for (size_t j = 0; sessions && sessions[j]; j++) {
		_cleanup_free_ char *k = dr_xasprintf("s:%s", sessions[j]);
		dr_strv_push(&sk, k);
		if (rk)
			gd_args_link(c->args, rk, k);
	}
	for (size_t i = 0; i < fa->n; i++) {
		if (strncmp(fa->k[i], "build-arg:", 10) != 0)
			continue;
		if (rk)
			gd_args_record(c->args, rk, fa->k[i] + 10, fa->v[i]);
		for (size_t j = 0; sk && sk[j]; j++)
			gd_args_record(c->args, sk[j], fa->k[i] + 10, fa->v[i]);
	}
	char rb[512];
	if (!recheck_keys(c, sk, rk, rb, sizeof(rb)))
		return NULL;
	snprintf(buf, blen, "%s: %s", what, rb);
	return buf;
}

#define REFUSE(...) do { snprintf(buf, blen, __VA_ARGS__); why = buf; goto out; } while (0)

static const char *
check_control_solve(const gd_ctx *c, const uint8_t *msg, size_t len, char *buf, size_t blen,
                    dr_buf *rewrite)
{
	/* wire type each known field must have: 2 length-delimited, 0 varint */
	static const int wire[18] = { -1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 0, 2, 0, 0 };
	static const bool repeated[18] = { [4] = true, [7] = true, [9] = true, [10] = true, [13] = true };
	const char *why = NULL;
	uint32_t seen = 0;
	char *frontend = NULL, *exporter = NULL;
	_cleanup_free_ char *bref = NULL;
	_cleanup_strv_ char **sessions = dr_xcalloc(1, sizeof(char *));
	attrs fa = { 0 }, xa = { 0 };
	/* the message as it goes on: each field copied, but session IDs renamed (5, 15, and the
	 * values of local-sessionid:NAME frontend attributes) */
	dr_buf nm = DR_BUF_INIT(0);
	bool changed = false;
	gh_pb pb = gh_pb_init(msg, len);
	gh_pb_field f;
	const char *perr = NULL;
	int rc;
	for (;;) {
		const uint8_t *fstart = pb.p;
		if ((rc = gh_pb_next(&pb, &f, &perr)) != 1)
			break;
		bool copy = true;
		if (f.num > 17)
			REFUSE("Solve: request field %u is not known to the guard", f.num);
		if (f.wire != wire[f.num])
			REFUSE("Solve: request field %u has the wrong wire type", f.num);
		if (!repeated[f.num]) {
			if (seen & (1u << f.num))
				REFUSE("Solve: request field %u appears twice", f.num);
			seen |= 1u << f.num;
		}
		char *k = NULL, *v = NULL;
		switch (f.num) {
		case 1: /* the build's ref: the tenant's own name for it */
			if (f.len) {
				_cleanup_free_ char *ref = pb_str(&f);
				if (!ref)
					REFUSE("Solve: malformed ref");
				_cleanup_free_ char *r2 = gd_build_ref(c, ref);
				put_str(&nm, 1, r2);
				free(bref);
				bref = dr_xstrdup(r2);
				copy = false;
				changed = true;
			}
			break;
		case 2:
			if (f.len)
				REFUSE("Solve: a raw LLB definition is refused: build from a Dockerfile");
			break;
		case 10:
			REFUSE("Solve: frontend inputs (raw LLB) are refused: build from a Dockerfile");
		case 3:
			if (!(exporter = pb_str(&f)))
				REFUSE("Solve: malformed exporter");
			break;
		case 4:
		case 7:
			if (map_entry(&f, &k, &v) < 0)
				REFUSE("Solve: malformed %s", f.num == 4 ? "exporter attributes" : "frontend attributes");
			if (f.num == 7 && strncmp(k, LOCAL_SESSION, strlen(LOCAL_SESSION)) == 0 && *v) {
				_cleanup_free_ char *sid = gd_session_id(c, v);
				append_attr(&nm, 7, k, sid);
				dr_strv_push(&sessions, sid);
				copy = false;
				changed = true;
			}
			if (attrs_add(f.num == 4 ? &xa : &fa, k, v) < 0)
				REFUSE("Solve: a %s key appears twice", f.num == 4 ? "exporter attribute" : "frontend attribute");
			break;
		case 5:
		case 15:
			if (f.len) {
				_cleanup_free_ char *id = pb_str(&f);
				if (!id)
					REFUSE("Solve: malformed session ID");
				_cleanup_free_ char *sid = gd_session_id(c, id);
				put_str(&nm, f.num, sid);
				if (f.num == 5)
					dr_strv_push(&sessions, sid);
				copy = false;
				changed = true;
			}
			break;
		case 6:
			if (!(frontend = pb_str(&f)))
				REFUSE("Solve: malformed frontend");
			break;
		case 9: {
			_cleanup_free_ char *e = pb_str(&f);
			if (!e || !entitlement_allowed(c, e))
				REFUSE("Solve: entitlement %.60s is refused (the policy's buildkit_entitlements "
				       "allows %s)", e ? e : "(malformed)",
				       c->policy->buildkit_entitlements && c->policy->buildkit_entitlements[0]
				               ? "only those it lists" : "none");
			break;
		}
		case 13: { /* Exporter {Type = 1, Attrs = 2 map} */
			gh_pb ep = gh_pb_init(f.data, f.len);
			gh_pb_field g;
			_cleanup_free_ char *type = NULL;
			attrs ea = { 0 };
			int erc;
			const char *eerr = NULL;
			while ((erc = gh_pb_next(&ep, &g, &eerr)) == 1) {
				if (g.num == 1 && g.wire == 2 && !type && (type = pb_str(&g)))
					continue;
				if (g.num == 2 && map_entry(&g, &k, &v) == 0 && attrs_add(&ea, k, v) == 0)
					continue;
				erc = -1;
				break;
			}
			const char *ew = erc < 0 ? "Solve: malformed exporter"
			                         : check_exporter(c, type ? type : "", &ea, buf, blen);
			attrs_free(&ea);
			if (ew) {
				if (ew != buf)
					snprintf(buf, blen, "%s", ew);
				why = buf;
				goto out;
			}
			break;
		}
		case 14:
			if (f.v)
				REFUSE("Solve: exporters chosen by the client's session are refused");
			break;
		default:
			break;
		}
		if (copy)
			dr_buf_append(&nm, fstart, (size_t)(pb.p - fstart));
	}
	if (rc < 0)
		REFUSE("Solve: malformed request (%s)", perr);
	if (exporter && (why = check_exporter(c, exporter, &xa, buf, blen)))
		goto out;
	if (!exporter && xa.n)
		REFUSE("Solve: exporter attributes without an exporter");
	why = check_frontend(c, frontend ? frontend : "", &fa, "Solve", buf, blen);
	if (!why)
		why = check_args(c, &fa, bref, sessions, "Solve", buf, blen);
	if (!why && frontend && *frontend) { /* a frontend runs in the daemon */
		append_tenant_attrs(&nm, 7, c->tenant);
		changed = true;
	}
	if (!why && changed)
		dr_buf_append(rewrite, nm.data, nm.len);
out:
	dr_buf_reset(&nm);
	free(frontend);
	free(exporter);
	attrs_free(&fa);
	attrs_free(&xa);
	return why;
}

static const char *
check_bridge_solve(const gd_ctx *c, const uint8_t *msg, size_t len, char *buf, size_t blen,
                   dr_buf *rewrite)
{
	const char *why = NULL;
	char *frontend = NULL;
	attrs fo = { 0 };
	_cleanup_strv_ char **sessions = dr_xcalloc(1, sizeof(char *));
	dr_buf nm = DR_BUF_INIT(0);
	bool changed = false;
	gh_pb pb = gh_pb_init(msg, len);
	gh_pb_field f;
	const char *perr = NULL;
	int rc;
	for (;;) {
		const uint8_t *fstart = pb.p;
		if ((rc = gh_pb_next(&pb, &f, &perr)) != 1)
			break;
		bool copy = true;
		char *k = NULL, *v = NULL;
		/* raw LLB (Definition, FrontendInputs) names its sources itself: local dirs by any
		 * session, images by any name, cache mounts by any ID, with the client's image
		 * config (no tenant label); buildx and compose send neither for a Dockerfile build */
		if (f.num == 1 && f.len)
			REFUSE("LLBBridge Solve: a raw LLB definition is refused: build from a Dockerfile");
		if (f.num == 13)
			REFUSE("LLBBridge Solve: frontend inputs (raw LLB, e.g. --build-context NAME=DIR) "
			       "are refused: use docker-image:// contexts or COPY from the build context");
		if (f.num == 2) {
			if (f.wire != 2 || frontend || !(frontend = pb_str(&f)))
				REFUSE("LLBBridge Solve: malformed or repeated frontend");
		} else if (f.num == 3) {
			if (map_entry(&f, &k, &v) < 0)
				REFUSE("LLBBridge Solve: malformed frontend options");
			if (strncmp(k, LOCAL_SESSION, strlen(LOCAL_SESSION)) == 0 && *v) {
				_cleanup_free_ char *sid = gd_session_id(c, v);
				append_attr(&nm, 3, k, sid);
				dr_strv_push(&sessions, sid);
				copy = false;
				changed = true;
			}
			if (attrs_add(&fo, k, v) < 0)
				REFUSE("LLBBridge Solve: a frontend option key appears twice");
		}
		if (copy)
			dr_buf_append(&nm, fstart, (size_t)(pb.p - fstart));
	}
	if (rc < 0)
		REFUSE("LLBBridge Solve: malformed request (%s)", perr);
	why = check_frontend(c, frontend ? frontend : "", &fo, "LLBBridge Solve", buf, blen);
	if (!why)
		why = check_args(c, &fo, c->args ? c->args->cur_ref : NULL, sessions, "LLBBridge Solve",
		                 buf, blen);
	if (!why && frontend && *frontend) {
		append_tenant_attrs(&nm, 3, c->tenant);
		changed = true;
	}
	if (!why && changed)
		dr_buf_append(rewrite, nm.data, nm.len);
out:
	dr_buf_reset(&nm);
	free(frontend);
	attrs_free(&fo);
	return why;
}

/* StatusRequest {Ref = 1}: a build followed by the tenant's own name for it. */
static const char *
check_status(const gd_ctx *c, const uint8_t *msg, size_t len, char *buf, size_t blen,
             dr_buf *rewrite)
{
	const char *why = NULL;
	dr_buf nm = DR_BUF_INIT(0);
	gh_pb pb = gh_pb_init(msg, len);
	gh_pb_field f;
	const char *perr = NULL;
	bool seen = false;
	int rc;
	while ((rc = gh_pb_next(&pb, &f, &perr)) == 1) {
		if (f.num != 1 || f.wire != 2 || seen)
			REFUSE("Status: request field %u is not known to the guard, or repeated", f.num);
		seen = true;
		_cleanup_free_ char *ref = pb_str(&f);
		if (!ref || !*ref)
			REFUSE("Status: a build ref is required");
		_cleanup_free_ char *r2 = gd_build_ref(c, ref);
		put_str(&nm, 1, r2);
	}
	if (rc < 0)
		REFUSE("Status: malformed request (%s)", perr);
	if (!seen)
		REFUSE("Status: a build ref is required");
	dr_buf_append(rewrite, nm.data, nm.len);
out:
	dr_buf_reset(&nm);
	return why;
}

const char *
gd_grpc_check(const gd_ctx *c, const char *path, const uint8_t *msg, size_t len, char *buf,
              size_t blen, dr_buf *rewrite)
{
	if (strcmp(path, STATUS_CONTROL) == 0)
		return check_status(c, msg, len, buf, blen, rewrite);
	if (strcmp(path, SOLVE_CONTROL) == 0)
		return check_control_solve(c, msg, len, buf, blen, rewrite);
	if (strcmp(path, SOLVE_BRIDGE) == 0)
		return check_bridge_solve(c, msg, len, buf, blen, rewrite);
	return NULL;
}
