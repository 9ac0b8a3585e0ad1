/* decide.c: one request in, one decision out. Routes are an allowlist (§2.2 of the design
 * brief); every object named in a path or body is resolved to its owner; bodies of the
 * guarded endpoints are decoded the daemon's way (gjson.c), checked field by field against
 * allowlists, given the tenant's labels and re-serialized; list, event and prune filters get
 * the tenant's label filter; the forwarded target is rebuilt from what was checked.
 *
 * This file: the route table, the checks every route goes through, the dispatcher gd_decide
 * and the helpers shared by the families (decide.h). The routes of each family are decided in
 * decide_containers.c, decide_images.c, decide_netvol.c and decide_exec.c. */
#include "guard/decide.h"

#include "lib/buf.h"

#include <ctype.h>

typedef struct rdef {
	int id;
	const char *method;
	const char *name;
	gd_body_kind body;
	bool hijack;
	const char *params;
} rdef;

#define LOGS_P "follow,stdout,stderr,since,until,timestamps,tail,details"
#define ATTACH_P "detachKeys,logs,stream,stdin,stdout,stderr"
#define BUILD_P                                                                               \
	"dockerfile,t*,extrahosts*,remote,q,nocache,cachefrom,pull,rm,forcerm,memory,memswap,"    \
	"cpushares,cpusetcpus,cpuperiod,cpuquota,buildargs,shmsize,squash,labels,networkmode,"     \
	"platform,target,outputs,version,session,buildid,cgroupparent,isolation,securityopt,"     \
	"ulimits,cpusetmems"

static const rdef rdefs[] = {
	{ R_AREA_DENIED, "", "swarm", GD_BODY_NONE, false, "" },
	{ R_PING, "GET", "system.ping", GD_BODY_NONE, false, "" },
	{ R_VERSION, "GET", "system.version", GD_BODY_NONE, false, "" },
	{ R_INFO, "GET", "system.info", GD_BODY_NONE, false, "" },
	{ R_EVENTS, "GET", "system.events", GD_BODY_NONE, false, "since,until,filters" },
	{ R_DF, "GET", "system.df", GD_BODY_NONE, false, "type*" },
	{ R_AUTH, "POST", "system.auth", GD_BODY_STREAM, false, "" },
	{ R_C_LIST, "GET", "containers.list", GD_BODY_NONE, false,
	  "all,limit,size,filters,before,since,trunc_cmd" },
	{ R_C_CREATE, "POST", "containers.create", GD_BODY_INSPECT, false, "name,platform" },
	{ R_C_PRUNE, "POST", "containers.prune", GD_BODY_NONE, false, "filters" },
	{ R_C_INSPECT, "GET", "containers.inspect", GD_BODY_NONE, false, "size" },
	{ R_C_TOP, "GET", "containers.top", GD_BODY_NONE, false, "ps_args" },
	{ R_C_LOGS, "GET", "containers.logs", GD_BODY_NONE, false, LOGS_P },
	{ R_C_CHANGES, "GET", "containers.changes", GD_BODY_NONE, false, "" },
	{ R_C_EXPORT, "GET", "containers.export", GD_BODY_NONE, false, "" },
	{ R_C_STATS, "GET", "containers.stats", GD_BODY_NONE, false, "stream,one-shot" },
	{ R_C_RESIZE, "POST", "containers.resize", GD_BODY_NONE, false, "h,w" },
	{ R_C_START, "POST", "containers.start", GD_BODY_NONE, false, "detachKeys" },
	{ R_C_STOP, "POST", "containers.stop", GD_BODY_NONE, false, "t,signal" },
	{ R_C_RESTART, "POST", "containers.restart", GD_BODY_NONE, false, "t,signal" },
	{ R_C_KILL, "POST", "containers.kill", GD_BODY_NONE, false, "signal" },
	{ R_C_UPDATE, "POST", "containers.update", GD_BODY_INSPECT, false, "" },
	{ R_C_RENAME, "POST", "containers.rename", GD_BODY_NONE, false, "name" },
	{ R_C_PAUSE, "POST", "containers.pause", GD_BODY_NONE, false, "" },
	{ R_C_UNPAUSE, "POST", "containers.unpause", GD_BODY_NONE, false, "" },
	{ R_C_ATTACH, "POST", "containers.attach", GD_BODY_NONE, true, ATTACH_P },
	{ R_C_ATTACH_WS, "GET", "containers.attach-ws", GD_BODY_NONE, true, ATTACH_P },
	{ R_C_WAIT, "POST", "containers.wait", GD_BODY_NONE, false, "condition" },
	{ R_C_DELETE, "DELETE", "containers.delete", GD_BODY_NONE, false, "v,force,link" },
	{ R_C_ARCHIVE_HEAD, "HEAD", "containers.archive-stat", GD_BODY_NONE, false, "path" },
	{ R_C_ARCHIVE_GET, "GET", "containers.archive-get", GD_BODY_NONE, false, "path" },
	{ R_C_ARCHIVE_PUT, "PUT", "containers.archive-put", GD_BODY_STREAM, false,
	  "path,noOverwriteDirNonDir,copyUIDGID" },
	{ R_C_EXEC, "POST", "containers.exec", GD_BODY_INSPECT, false, "" },
	{ R_COMMIT, "POST", "images.commit", GD_BODY_INSPECT, false,
	  "container,repo,tag,comment,author,pause,changes*" },
	{ R_E_START, "POST", "exec.start", GD_BODY_INSPECT, true, "" },
	{ R_E_RESIZE, "POST", "exec.resize", GD_BODY_NONE, false, "h,w" },
	{ R_E_INSPECT, "GET", "exec.inspect", GD_BODY_NONE, false, "" },
	{ R_I_LIST, "GET", "images.list", GD_BODY_NONE, false,
	  "all,filters,shared-size,digests,manifests,only_ids" },
	{ R_BUILD, "POST", "images.build", GD_BODY_STREAM, false, BUILD_P },
	{ R_BUILD_PRUNE, "POST", "build.prune", GD_BODY_NONE, false,
	  "all,filters,keep-storage,reserved-space,max-used-space,min-free-space" },
	{ R_BUILD_CANCEL, "POST", "build.cancel", GD_BODY_NONE, false, "id" },
	{ R_I_CREATE, "POST", "images.create", GD_BODY_STREAM, false,
	  "fromImage,fromSrc,repo,tag,message,platform,changes*" },
	{ R_I_INSPECT, "GET", "images.inspect", GD_BODY_NONE, false, "manifests,platform" },
	{ R_I_HISTORY, "GET", "images.history", GD_BODY_NONE, false, "platform" },
	{ R_I_PUSH, "POST", "images.push", GD_BODY_NONE, false, "tag,platform" },
	{ R_I_TAG, "POST", "images.tag", GD_BODY_NONE, false, "repo,tag" },
	{ R_I_DELETE, "DELETE", "images.delete", GD_BODY_NONE, false, "force,noprune,platforms*" },
	{ R_I_SEARCH, "GET", "images.search", GD_BODY_NONE, false, "term,limit,filters" },
	{ R_I_PRUNE, "POST", "images.prune", GD_BODY_NONE, false, "filters" },
	{ R_I_GET_ONE, "GET", "images.get", GD_BODY_NONE, false, "platform*" },
	{ R_I_GET, "GET", "images.get", GD_BODY_NONE, false, "names*,platform*" },
	{ R_I_LOAD, "POST", "images.load", GD_BODY_STREAM, false, "quiet,platform*" },
	{ R_DISTRIBUTION, "GET", "distribution.inspect", GD_BODY_NONE, false, "" },
	{ R_N_LIST, "GET", "networks.list", GD_BODY_NONE, false, "filters" },
	{ R_N_INSPECT, "GET", "networks.inspect", GD_BODY_NONE, false, "verbose,scope" },
	{ R_N_CREATE, "POST", "networks.create", GD_BODY_INSPECT, false, "" },
	{ R_N_CONNECT, "POST", "networks.connect", GD_BODY_INSPECT, false, "" },
	{ R_N_DISCONNECT, "POST", "networks.disconnect", GD_BODY_INSPECT, false, "" },
	{ R_N_DELETE, "DELETE", "networks.delete", GD_BODY_NONE, false, "" },
	{ R_N_PRUNE, "POST", "networks.prune", GD_BODY_NONE, false, "filters" },
	{ R_V_LIST, "GET", "volumes.list", GD_BODY_NONE, false, "filters" },
	{ R_V_CREATE, "POST", "volumes.create", GD_BODY_INSPECT, false, "" },
	{ R_V_INSPECT, "GET", "volumes.inspect", GD_BODY_NONE, false, "" },
	{ R_V_DELETE, "DELETE", "volumes.delete", GD_BODY_NONE, false, "force" },
	{ R_V_PRUNE, "POST", "volumes.prune", GD_BODY_NONE, false, "filters" },
	{ R_V_UPDATE, "PUT", "volumes.update", GD_BODY_NONE, false, "" },
	{ R_SESSION, "POST", "build.session", GD_BODY_STREAM, true, "" },
	{ R_GRPC, "POST", "build.grpc", GD_BODY_STREAM, true, "" },
};

void
gd_route_clear(gd_route *r)
{
	free(r->ref);
	memset(r, 0, sizeof(*r));
}

void
gd_decision_clear(gd_decision *d)
{
	free(d->message);
	free(d->local_json);
	free(d->target);
	free(d->body);
	free(d->post_arg);
	free(d->session_uuid);
	free(d->session_sharedkey);
	memset(d, 0, sizeof(*d));
}

static void
set_route(gd_route *out, int id, const char *method, const char *ref)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(rdefs); i++) {
		if (rdefs[i].id != id)
			continue;
		if (id == R_AREA_DENIED || strcmp(rdefs[i].method, method) == 0 ||
		    (id == R_PING && strcmp(method, "HEAD") == 0)) {
			out->id = id;
			out->name = rdefs[i].name;
			out->body = rdefs[i].body;
			out->hijack = rdefs[i].hijack;
			out->params = rdefs[i].params;
			out->ref = ref ? dr_xstrdup(ref) : NULL;
		}
		return;
	}
}

static bool
streq_n(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && memcmp(a, b, n) == 0;
}

void
gd_route_match(const char *m, const char *path, gd_route *out)
{
	memset(out, 0, sizeof(*out));
	out->name = "unknown";
	out->params = "";
	static const struct { const char *p; int get, post; } fixed[] = {
		{ "/_ping", R_PING, 0 }, { "/version", R_VERSION, 0 }, { "/info", R_INFO, 0 },
		{ "/events", R_EVENTS, 0 }, { "/system/df", R_DF, 0 }, { "/auth", 0, R_AUTH },
		{ "/containers/json", R_C_LIST, 0 }, { "/containers/create", 0, R_C_CREATE },
		{ "/containers/prune", 0, R_C_PRUNE }, { "/commit", 0, R_COMMIT },
		{ "/images/json", R_I_LIST, 0 }, { "/build", 0, R_BUILD },
		{ "/build/prune", 0, R_BUILD_PRUNE }, { "/build/cancel", 0, R_BUILD_CANCEL },
		{ "/images/create", 0, R_I_CREATE },
		{ "/images/search", R_I_SEARCH, 0 }, { "/images/prune", 0, R_I_PRUNE },
		{ "/images/get", R_I_GET, 0 }, { "/images/load", 0, R_I_LOAD },
		{ "/networks", R_N_LIST, 0 }, { "/networks/", R_N_LIST, 0 },
		{ "/networks/create", 0, R_N_CREATE }, { "/networks/prune", 0, R_N_PRUNE },
		{ "/volumes", R_V_LIST, 0 }, { "/volumes/create", 0, R_V_CREATE },
		{ "/volumes/prune", 0, R_V_PRUNE }, { "/session", 0, R_SESSION },
		{ "/grpc", 0, R_GRPC },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(fixed); i++) {
		if (strcmp(path, fixed[i].p) != 0)
			continue;
		int id = strcmp(m, "POST") == 0 ? fixed[i].post : fixed[i].get;
		if (id)
			set_route(out, id, m, NULL);
		return;
	}
	static const char *const denied[] = { "swarm", "services", "tasks", "nodes", "secrets",
		                              "configs", "plugins", "libpod", "debug" };
	const char *s0 = path + 1;
	const char *e0 = strchr(s0, '/');
	size_t l0 = e0 ? (size_t)(e0 - s0) : strlen(s0);
	for (size_t i = 0; i < DR_ARRAY_LEN(denied); i++)
		if (streq_n(s0, l0, denied[i])) {
			set_route(out, R_AREA_DENIED, m, NULL);
			out->name = denied[i];
			return;
		}
	if (!e0 || !e0[1])
		return;
	const char *rest = e0 + 1; /* after "/<area>/" */
	if (streq_n(s0, l0, "containers") || streq_n(s0, l0, "exec")) {
		bool exec = streq_n(s0, l0, "exec");
		const char *slash = strchr(rest, '/');
		_cleanup_free_ char *id = slash ? dr_xstrndup(rest, (size_t)(slash - rest))
		                                 : dr_xstrdup(rest);
		const char *action = slash ? slash + 1 : "";
		static const struct { const char *a; const char *m; int id; } cacts[] = {
			{ "", "DELETE", R_C_DELETE }, { "json", "GET", R_C_INSPECT },
			{ "top", "GET", R_C_TOP }, { "logs", "GET", R_C_LOGS },
			{ "changes", "GET", R_C_CHANGES }, { "export", "GET", R_C_EXPORT },
			{ "stats", "GET", R_C_STATS }, { "resize", "POST", R_C_RESIZE },
			{ "start", "POST", R_C_START }, { "stop", "POST", R_C_STOP },
			{ "restart", "POST", R_C_RESTART }, { "kill", "POST", R_C_KILL },
			{ "update", "POST", R_C_UPDATE }, { "rename", "POST", R_C_RENAME },
			{ "pause", "POST", R_C_PAUSE }, { "unpause", "POST", R_C_UNPAUSE },
			{ "attach", "POST", R_C_ATTACH }, { "attach/ws", "GET", R_C_ATTACH_WS },
			{ "wait", "POST", R_C_WAIT }, { "archive", "HEAD", R_C_ARCHIVE_HEAD },
			{ "archive", "GET", R_C_ARCHIVE_GET }, { "archive", "PUT", R_C_ARCHIVE_PUT },
			{ "exec", "POST", R_C_EXEC },
		};
		static const struct { const char *a; const char *m; int id; } eacts[] = {
			{ "start", "POST", R_E_START }, { "resize", "POST", R_E_RESIZE },
			{ "json", "GET", R_E_INSPECT },
		};
		if (!*id)
			return;
		if (exec) {
			for (size_t i = 0; i < DR_ARRAY_LEN(eacts); i++)
				if (strcmp(action, eacts[i].a) == 0 && strcmp(m, eacts[i].m) == 0)
					set_route(out, eacts[i].id, m, id);
		} else {
			for (size_t i = 0; i < DR_ARRAY_LEN(cacts); i++)
				if (strcmp(action, cacts[i].a) == 0 && strcmp(m, cacts[i].m) == 0)
					set_route(out, cacts[i].id, m, id);
		}
		return;
	}
	if (streq_n(s0, l0, "images")) {
		static const struct { const char *suffix; const char *m; int id; } iacts[] = {
			{ "/json", "GET", R_I_INSPECT }, { "/history", "GET", R_I_HISTORY },
			{ "/get", "GET", R_I_GET_ONE }, { "/push", "POST", R_I_PUSH },
			{ "/tag", "POST", R_I_TAG },
		};
		for (size_t i = 0; i < DR_ARRAY_LEN(iacts); i++) {
			if (dr_endswith(rest, iacts[i].suffix) && strlen(rest) > strlen(iacts[i].suffix)) {
				if (strcmp(m, iacts[i].m) != 0)
					continue;
				_cleanup_free_ char *name =
					dr_xstrndup(rest, strlen(rest) - strlen(iacts[i].suffix));
				set_route(out, iacts[i].id, m, name);
				return;
			}
		}
		if (strcmp(m, "DELETE") == 0)
			set_route(out, R_I_DELETE, m, rest);
		return;
	}
	if (streq_n(s0, l0, "distribution")) {
		if (dr_endswith(rest, "/json") && strlen(rest) > 5) {
			_cleanup_free_ char *name = dr_xstrndup(rest, strlen(rest) - 5);
			set_route(out, R_DISTRIBUTION, m, name);
		}
		return;
	}
	if (streq_n(s0, l0, "networks")) {
		const char *slash = strchr(rest, '/');
		if (!slash) {
			if (strcmp(m, "GET") == 0)
				set_route(out, R_N_INSPECT, m, rest);
			else if (strcmp(m, "DELETE") == 0)
				set_route(out, R_N_DELETE, m, rest);
			return;
		}
		_cleanup_free_ char *id = dr_xstrndup(rest, (size_t)(slash - rest));
		if (strcmp(slash + 1, "connect") == 0)
			set_route(out, R_N_CONNECT, m, id);
		else if (strcmp(slash + 1, "disconnect") == 0)
			set_route(out, R_N_DISCONNECT, m, id);
		return;
	}
	if (streq_n(s0, l0, "volumes")) {
		if (strchr(rest, '/'))
			return;
		if (strcmp(m, "GET") == 0)
			set_route(out, R_V_INSPECT, m, rest);
		else if (strcmp(m, "DELETE") == 0)
			set_route(out, R_V_DELETE, m, rest);
		else if (strcmp(m, "PUT") == 0)
			set_route(out, R_V_UPDATE, m, rest);
	}
}

/* ---- answers ---- */

int
deny(gd_decision *d, int status, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(d->message);
	d->message = dr_xvasprintf(fmt, ap);
	va_end(ap);
	d->status = status;
	d->plain = false;
	d->field = field;
	return 0;
}

int
missing(gd_decision *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(d->message);
	d->message = dr_xvasprintf(fmt, ap);
	va_end(ap);
	d->status = 404;
	d->plain = true;
	d->field = "ownership";
	return 0;
}

int
upstream_failed(gd_decision *d)
{
	deny(d, 502, "upstream", "cannot reach the Docker daemon to check ownership");
	return -1;
}

int
route_not_allowed(const gd_req *r, gd_decision *d)
{
	return deny(d, 403, "route", "%s %s: route not allowed", r->method, r->path);
}

void
set_target(const gd_req *r, gd_decision *d, const char *path)
{
	dr_buf b = DR_BUF_INIT(0);
	if (r->version) {
		dr_buf_puts(&b, "/v");
		dr_buf_puts(&b, r->version);
	}
	dr_buf_puts(&b, path);
	if (r->query.n) {
		_cleanup_free_ char *q = gd_query_encode(&r->query);
		if (*q) {
			dr_buf_puts(&b, "?");
			dr_buf_puts(&b, q);
		}
	}
	free(d->target);
	d->target = dr_buf_steal(&b);
}

void
set_body(gd_decision *d, json_t *j)
{
	free(d->body);
	d->body = gd_json_dump(j);
	d->body_len = strlen(d->body);
	d->replace_body = true;
}

/* ---- small checks ---- */

bool
gd_valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (const char *c = s; *c; c++)
		if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
			return false;
	return true;
}

bool
gd_looks_like_id(const char *s)
{
	if (dr_startswith(s, "sha256:"))
		s += 7;
	size_t n = strlen(s);
	if (n < 12 || n > 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

bool
in_list(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool
in_static(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool
name_has_prefix(const char *name, const char *t)
{
	size_t n = strlen(t);
	return strncmp(name, t, n) == 0 && (name[n] == '-' || name[n] == '_' || name[n] == '.');
}

/* Names of containers, networks and volumes: never in another tenant's prefix; with
 * require_name_prefix, always in the tenant's own. */
int
check_name(const gd_ctx *c, gd_decision *d, const char *what, const char *name)
{
	if (!name || !*name)
		return 0;
	const char *n = name[0] == '/' ? name + 1 : name;
	if (name_has_prefix(n, c->tenant))
		return 0;
	if (c->policy->require_name_prefix)
		return deny(d, 403, what, "%s \"%s\": names must start with \"%s-\"", what, n,
		            c->tenant), -1;
	_cleanup_strv_ char **others = c->res->tenants ? c->res->tenants(c->res->ctx) : NULL;
	for (size_t i = 0; others && others[i]; i++)
		if (strcmp(others[i], c->tenant) != 0 && name_has_prefix(n, others[i]))
			return deny(d, 403, what,
			            "%s \"%s\": the name is in the prefix of another tenant", what,
			            n),
			       -1;
	for (size_t i = 0; c->policy->reserved_prefixes && c->policy->reserved_prefixes[i]; i++)
		if (dr_startswith(n, c->policy->reserved_prefixes[i]))
			return deny(d, 403, what, "%s \"%s\": the name prefix is reserved", what, n),
			       -1;
	return 0;
}

bool
gd_path_foreign(const gd_ctx *c, const char *path)
{
	_cleanup_strv_ char **others = c->res && c->res->tenants ? c->res->tenants(c->res->ctx) : NULL;
	for (size_t i = 0; others && others[i]; i++) {
		size_t n = strlen(others[i]);
		if (strcmp(others[i], c->tenant) != 0 && strncmp(path, others[i], n) == 0 &&
		    path[n] == '/')
			return true;
	}
	return false;
}

/* Check and rewrite a labels object: no client key in the io.deskrun. namespace; add the
 * tenant's label, and the session's when the object is one --cleanup-on-exit removes
 * (session_scoped). */
int
own_labels(const gd_ctx *c, gd_decision *d, json_t *parent, const char *key, const char *what,
           bool session_scoped)
{
	json_t *l = json_object_get(parent, key);
	if (!l || json_is_null(l)) {
		l = json_object();
		json_object_set_new(parent, key, l);
	}
	const char *k;
	json_t *v;
	json_object_foreach(l, k, v) {
		_cleanup_free_ char *f = gd_fold_key(k);
		if (dr_startswith(f, GD_LABEL_PREFIX))
			return deny(d, 403, what,
			            "%s \"%s\": labels in the " GD_LABEL_PREFIX
			            " namespace are set by the guard",
			            what, k),
			       -1;
	}
	json_object_set_new(l, GD_LABEL_TENANT, json_string(c->tenant));
	if (c->session && session_scoped)
		json_object_set_new(l, GD_LABEL_SESSION, json_string(c->session));
	return 0;
}

const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

bool
jtrue(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

bool
jempty(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v))
		return true;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	if (json_is_string(v))
		return !*json_string_value(v);
	if (json_is_integer(v))
		return json_integer_value(v) == 0;
	return json_is_false(v);
}

/* ---- filters ---- */

/* The canonical filter of a request that sent none: {"label":{"<tenant label>=T":true}},
 * made the same way as scope_filters does, once per tenant. */
static const char *
tenant_filter(const char *tenant)
{
	static char *cached, *cached_tenant;
	if (cached && strcmp(cached_tenant, tenant) == 0)
		return cached;
	_cleanup_free_ char *kv = dr_xasprintf("%s=%s", GD_LABEL_TENANT, tenant);
	_cleanup_json_ json_t *out = json_pack("{s:{s:b}}", "label", kv, 1);
	free(cached);
	free(cached_tenant);
	cached = gd_json_dump(out);
	cached_tenant = dr_xstrdup(tenant);
	return cached;
}

/* Replace the `filters` parameter by a canonical one that also requires the tenant label. */
int
scope_filters(const gd_ctx *c, gd_req *r, gd_decision *d, bool add_label)
{
	const char *f = gd_query_get(&r->query, "filters");
	if (add_label && (!f || !*f)) {
		gd_query_del(&r->query, "filters");
		gd_query_set(&r->query, "filters", tenant_filter(c->tenant));
		return 0;
	}
	json_t *out = json_object();
	if (f && *f) {
		char *why = NULL;
		_cleanup_json_ json_t *in = gd_json_object(f, strlen(f), &why);
		if (!in) {
			json_decref(out);
			deny(d, 400, "filters", "filters: %s", why);
			free(why);
			return -1;
		}
		const char *k;
		json_t *v;
		json_object_foreach(in, k, v) {
			json_t *m = json_object();
			if (json_is_object(v)) {
				const char *vk;
				json_t *vv;
				json_object_foreach(v, vk, vv) {
					if (!json_is_boolean(vv)) {
						json_decref(m);
						json_decref(out);
						return deny(d, 400, "filters", "filters.%s: values must be true", k), -1;
					}
					if (json_is_true(vv))
						json_object_set_new(m, vk, json_true());
				}
			} else if (json_is_array(v)) {
				size_t i;
				json_t *e;
				json_array_foreach(v, i, e) {
					if (!json_is_string(e)) {
						json_decref(m);
						json_decref(out);
						return deny(d, 400, "filters", "filters.%s: values must be strings", k), -1;
					}
					json_object_set_new(m, json_string_value(e), json_true());
				}
			} else {
				json_decref(m);
				json_decref(out);
				return deny(d, 400, "filters", "filters.%s: not a filter list", k), -1;
			}
			json_object_set_new(out, k, m);
		}
	}
	if (add_label) {
		json_t *lab = json_object_get(out, "label");
		if (!lab) {
			lab = json_object();
			json_object_set_new(out, "label", lab);
		}
		_cleanup_free_ char *kv = dr_xasprintf("%s=%s", GD_LABEL_TENANT, c->tenant);
		json_object_set_new(lab, kv, json_true());
	}
	gd_query_del(&r->query, "filters");
	if (json_object_size(out)) {
		_cleanup_free_ char *s = gd_json_dump(out);
		gd_query_set(&r->query, "filters", s);
	}
	json_decref(out);
	return 0;
}

/* ---- references to objects ---- */

int
own_container(const gd_ctx *c, gd_decision *d, const char *ref, gd_obj *o)
{
	if (c->res->container(c->res->ctx, ref, o) < 0)
		return upstream_failed(d);
	if (o->own != GD_MINE)
		return missing(d, "No such container: %s", ref), 1;
	return 0;
}

/* ---- the dispatcher ---- */

static const gd_schema *
body_schema(int id)
{
	switch (id) {
	case R_C_CREATE: return &gd_schema_create;
	case R_C_UPDATE: return &gd_schema_update;
	case R_C_EXEC: return &gd_schema_exec;
	case R_E_START: return &gd_schema_exec_start;
	case R_N_CREATE: return &gd_schema_network_create;
	case R_N_CONNECT: return &gd_schema_network_connect;
	case R_N_DISCONNECT: return &gd_schema_network_disconnect;
	case R_V_CREATE: return &gd_schema_volume_create;
	default: return NULL;
	}
}

static int
check_params(const gd_route *rt, gd_req *r, gd_decision *d)
{
	for (size_t i = 0; i < r->query.n; i++) {
		const char *k = r->query.v[i].key;
		const char *p = rt->params;
		bool found = false, multi = false;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			bool star = l && p[l - 1] == '*';
			if (strlen(k) == l - (star ? 1 : 0) && memcmp(p, k, strlen(k)) == 0) {
				found = true;
				multi = star;
				break;
			}
			p += l + (e ? 1 : 0);
		}
		if (!found)
			return deny(d, 403, "query", "%s: query parameter \"%s\" is not allowed", rt->name,
			            k),
			       -1;
		if (!multi && gd_query_count(&r->query, k) > 1)
			return deny(d, 400, "query", "%s: query parameter \"%s\" is repeated", rt->name, k),
			       -1;
	}
	return 0;
}

int
gd_strip_version(gd_req *r, const gd_ctx *c, gd_decision *d)
{
	if (r->path[0] != '/' || r->path[1] != 'v' || !isdigit((unsigned char)r->path[2]))
		return 0;
	const char *p = r->path + 2;
	const char *e = p;
	while (isdigit((unsigned char)*e) || *e == '.')
		e++;
	if (*e != '/' && *e != '\0')
		return 0;
	char *ver = dr_xstrndup(p, (size_t)(e - p));
	unsigned long major = strtoul(ver, NULL, 10);
	const char *dot = strchr(ver, '.');
	unsigned long minor = dot ? strtoul(dot + 1, NULL, 10) : 0;
	if (major < 1 || (major == 1 && minor < (unsigned long)c->policy->min_api_minor)) {
		deny(d, 400, "version", "client version %s is too old: the guard requires API 1.%d or "
		     "newer",
		     ver, c->policy->min_api_minor);
		free(ver);
		return -1;
	}
	free(r->version);
	r->version = ver;
	char *np = dr_xstrdup(*e ? e : "/");
	free(r->path);
	r->path = np;
	return 0;
}

/* Lists, events and prunes: only what carries the tenant's label (its label filter is merged
 * into a canonical `filters`, whatever the client asked for). */
static int
decide_scoped(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d)
{
	if (rt->id == R_C_LIST) {
		static const char *const refs[] = { "before", "since" };
		for (size_t i = 0; i < 2; i++) {
			const char *v = gd_query_get(&r->query, refs[i]);
			gd_obj o;
			int k;
			if (v && *v && (k = own_container(c, d, v, &o)))
				return k < 0 ? -1 : 0;
		}
	}
	/* Volumes: the anonymous ones the daemon made for the tenant's containers carry no label
	 * (the state knows them), so the list is filtered on the way back instead. */
	bool post = rt->id == R_V_LIST && c->res->volume_recorded;
	if (scope_filters(c, r, d, !post) < 0)
		return 0;
	if (post)
		d->post = GD_POST_VOLUMES_LIST;
	set_target(r, d, r->path);
	return 0;
}

int
gd_decide(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (rt->id == R_UNKNOWN)
		return route_not_allowed(r, d);
	if (rt->id == R_AREA_DENIED)
		return decide_area_denied(r, d);
	const char *ct = gd_head_get(r->head, "Content-Type");
	if (gd_media_is(ct, "application/x-www-form-urlencoded") || gd_media_is(ct, "multipart/form-data"))
		return deny(d, 400, "Content-Type", "%s: form bodies are not accepted", rt->name);
	if (rt->body == GD_BODY_NONE && r->has_body)
		return deny(d, 400, "body", "%s: this endpoint takes no request body", rt->name);
	if (check_params(rt, r, d) < 0)
		return 0;
	json_t *b = NULL;
	const gd_schema *sch = body_schema(rt->id);
	if (sch) {
		if (r->body_len && !gd_media_is(ct, "application/json"))
			return deny(d, 400, "Content-Type", "%s: the body must be application/json", rt->name);
		int st = 400;
		char *why = NULL;
		if (gd_canon_decode(r->body_len ? r->body : "{}", r->body_len ? r->body_len : 2, sch, &b,
		                    &st, &why) < 0) {
			deny(d, st, "body", "%s", why);
			free(why);
			return 0;
		}
	}
	_cleanup_json_ json_t *body = b;
	if (c->policy->unrestricted)
		return decide_unrestricted(c, rt, r, d, body);
	switch (rt->id) {
	case R_PING:
	case R_VERSION:
	case R_AUTH:
	case R_INFO:
	case R_DF:
	case R_SESSION:
	case R_GRPC:
		return decide_system(c, rt, r, d);
	case R_EVENTS:
	case R_C_LIST:
	case R_C_PRUNE:
	case R_I_PRUNE:
	case R_N_LIST:
	case R_N_PRUNE:
	case R_V_LIST:
	case R_V_PRUNE:
		return decide_scoped(c, rt, r, d);
	case R_C_CREATE:
	case R_C_INSPECT:
	case R_C_TOP:
	case R_C_LOGS:
	case R_C_CHANGES:
	case R_C_EXPORT:
	case R_C_STATS:
	case R_C_RESIZE:
	case R_C_START:
	case R_C_STOP:
	case R_C_RESTART:
	case R_C_KILL:
	case R_C_UPDATE:
	case R_C_RENAME:
	case R_C_PAUSE:
	case R_C_UNPAUSE:
	case R_C_ATTACH:
	case R_C_ATTACH_WS:
	case R_C_WAIT:
	case R_C_DELETE:
	case R_C_ARCHIVE_HEAD:
	case R_C_ARCHIVE_GET:
	case R_C_ARCHIVE_PUT:
	case R_COMMIT:
		return decide_containers(c, rt, r, d, body);
	case R_C_EXEC:
	case R_E_START:
	case R_E_RESIZE:
	case R_E_INSPECT:
		return decide_exec(c, rt, r, d, body);
	case R_I_LIST:
	case R_BUILD:
	case R_BUILD_PRUNE:
	case R_BUILD_CANCEL:
	case R_I_CREATE:
	case R_I_INSPECT:
	case R_I_HISTORY:
	case R_I_PUSH:
	case R_I_TAG:
	case R_I_DELETE:
	case R_I_SEARCH:
	case R_I_GET_ONE:
	case R_I_GET:
	case R_I_LOAD:
	case R_DISTRIBUTION:
		return decide_images(c, rt, r, d);
	case R_N_INSPECT:
	case R_N_CREATE:
	case R_N_CONNECT:
	case R_N_DISCONNECT:
	case R_N_DELETE:
		return decide_networks(c, rt, r, d, body);
	case R_V_CREATE:
	case R_V_INSPECT:
	case R_V_DELETE:
	case R_V_UPDATE:
		return decide_volumes(c, rt, r, d, body);
	default:
		break;
	}
	return route_not_allowed(r, d);
}
