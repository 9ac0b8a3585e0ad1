/* decide.c: one request in, one decision out. Routes are an allowlist (§2.2 of the design
 * brief); every object named in a path or body is resolved to its owner; bodies of the
 * guarded endpoints are decoded the daemon's way (gjson.c), checked field by field against
 * allowlists, given the tenant's labels and re-serialized; list, event and prune filters get
 * the tenant's label filter; the forwarded target is rebuilt from what was checked. */
#include "lib/common.h"
#include "guard/guard.h"
#include "guard/gjson.h"

#include "lib/buf.h"

#include <ctype.h>
#include <strings.h>

enum {
	R_UNKNOWN = 0,
	R_AREA_DENIED,
	R_PING, R_VERSION, R_INFO, R_EVENTS, R_DF, R_AUTH,
	R_C_LIST, R_C_CREATE, R_C_PRUNE, R_C_INSPECT, R_C_TOP, R_C_LOGS, R_C_CHANGES,
	R_C_EXPORT, R_C_STATS, R_C_RESIZE, R_C_START, R_C_STOP, R_C_RESTART, R_C_KILL,
	R_C_UPDATE, R_C_RENAME, R_C_PAUSE, R_C_UNPAUSE, R_C_ATTACH, R_C_ATTACH_WS, R_C_WAIT,
	R_C_DELETE, R_C_ARCHIVE_HEAD, R_C_ARCHIVE_GET, R_C_ARCHIVE_PUT, R_C_EXEC,
	R_COMMIT, R_E_START, R_E_RESIZE, R_E_INSPECT,
	R_I_LIST, R_BUILD, R_BUILD_PRUNE, R_I_CREATE, R_I_INSPECT, R_I_HISTORY, R_I_PUSH,
	R_I_TAG, R_I_DELETE, R_I_SEARCH, R_I_PRUNE, R_I_GET_ONE, R_I_GET, R_I_LOAD,
	R_DISTRIBUTION,
	R_N_LIST, R_N_INSPECT, R_N_CREATE, R_N_CONNECT, R_N_DISCONNECT, R_N_DELETE, R_N_PRUNE,
	R_V_LIST, R_V_CREATE, R_V_INSPECT, R_V_DELETE, R_V_PRUNE, R_V_UPDATE,
	R_SESSION, R_GRPC,
};

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
	{ R_C_LIST, "GET", "containers.list", GD_BODY_NONE, false, "all,limit,size,filters,before,since" },
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
	{ R_C_DELETE, "DELETE", "containers.delete", GD_BODY_NONE, false, "v,force" },
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
	{ R_I_LIST, "GET", "images.list", GD_BODY_NONE, false, "all,filters,shared-size,digests,manifests" },
	{ R_BUILD, "POST", "images.build", GD_BODY_STREAM, false, BUILD_P },
	{ R_BUILD_PRUNE, "POST", "build.prune", GD_BODY_NONE, false,
	  "all,filters,keep-storage,reserved-space,max-used-space,min-free-space" },
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
		{ "/build/prune", 0, R_BUILD_PRUNE }, { "/images/create", 0, R_I_CREATE },
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

static int
deny(gd_decision *d, int status, const char *field, const char *fmt, ...) DR_PRINTF(4, 5);

static int
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

/* The daemon's own answer for a missing object (a foreign one looks the same). */
static int
missing(gd_decision *d, const char *fmt, ...) DR_PRINTF(2, 3);

static int
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

static int
upstream_failed(gd_decision *d)
{
	deny(d, 502, "upstream", "cannot reach the Docker daemon to check ownership");
	return -1;
}

static void
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

static void
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

static bool
in_list(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool
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
static int
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

/* Check and rewrite a labels object: no client key in the io.deskrun. namespace; add the
 * tenant's label, and the session's when the object is one --cleanup-on-exit removes
 * (session_scoped). */
static int
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

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static bool
jtrue(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static bool
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
static int
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

static int
own_container(const gd_ctx *c, gd_decision *d, const char *ref, gd_obj *o)
{
	if (c->res->container(c->res->ctx, ref, o) < 0)
		return upstream_failed(d);
	if (o->own != GD_MINE)
		return missing(d, "No such container: %s", ref), 1;
	return 0;
}

/* "container:<ref>" namespace modes: the container must be the tenant's; rewritten to its ID. */
static int
container_mode(const gd_ctx *c, gd_decision *d, json_t *hc, const char *key, const char *field)
{
	const char *v = jstr(hc, key);
	if (!dr_startswith(v, "container:"))
		return 0;
	gd_obj o;
	int k = own_container(c, d, v + 10, &o);
	if (k)
		return k < 0 ? -1 : (d->field = field, 1);
	_cleanup_free_ char *nv = dr_xasprintf("container:%s", o.id);
	json_object_set_new(hc, key, json_string(nv));
	return 0;
}

static int
check_network_ref(const gd_ctx *c, gd_decision *d, const char *net, const char *field,
                  bool *owned)
{
	*owned = false;
	static const char *const ok[] = { "", "default", "bridge", "none" };
	if (in_static(ok, DR_ARRAY_LEN(ok), net))
		return 0;
	if (strcmp(net, "host") == 0)
		return deny(d, 403, field, "%s \"host\": the host network is not allowed", field), 1;
	gd_obj o;
	if (c->res->network(c->res->ctx, net, &o) < 0)
		return upstream_failed(d);
	if (o.predefined && strcmp(o.name, "host") == 0)
		return deny(d, 403, field, "%s \"%s\": the host network is not allowed", field, net), 1;
	if (o.own == GD_MINE) {
		*owned = true;
		return 0;
	}
	if (o.predefined && strcmp(o.name, "bridge") == 0)
		return 0;
	if (o.predefined && strcmp(o.name, "none") == 0)
		return 0;
	return missing(d, "network %s not found", net), 1;
}

/* A named volume used by a container: the tenant's, or created now with its labels. */
static int
check_volume_use(const gd_ctx *c, gd_decision *d, const char *name, const char *field,
                 bool create_missing)
{
	gd_obj o;
	if (c->res->volume(c->res->ctx, name, &o) < 0)
		return upstream_failed(d);
	if (o.own == GD_MINE)
		return 0;
	if (o.own == GD_MISSING) {
		if (check_name(c, d, field, name))
			return 1;
		if (!create_missing)
			return 0;
		if (!c->res->volume_create || c->res->volume_create(c->res->ctx, name, &o) < 0)
			return upstream_failed(d);
		if (o.own == GD_MINE)
			return 0;
	}
	return deny(d, 403, field, "%s \"%s\": volume not owned by this tenant", field, name), 1;
}

/* Host path allowed as a bind source: under an --allow-bind prefix, no ".." component. */
static bool
bind_allowed(const gd_ctx *c, const char *src)
{
	if (src[0] != '/' || strstr(src, "/../") || dr_endswith(src, "/..") || strstr(src, "//"))
		return false;
	for (size_t i = 0; c->policy->allow_bind && c->policy->allow_bind[i]; i++) {
		const char *p = c->policy->allow_bind[i];
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			n--;
		if (strncmp(src, p, n) == 0 && (src[n] == '\0' || src[n] == '/' || n == 1))
			return true;
	}
	return false;
}

/* A bind source in the runner pod's folders: 1 with *mapped the daemon's path, 0 when it is
 * not one of them, -1 refused (answer in d). */
static int
map_pod_path(const gd_ctx *c, gd_decision *d, const char *src, char **mapped, const char *field,
             const char *shown)
{
	if (!c->res->bind_source)
		return 0;
	_cleanup_free_ char *why = NULL;
	int k = c->res->bind_source(c->res->ctx, src, &d->pin_group, mapped, &why);
	if (k < 0)
		return deny(d, 403, field, "%s: %s", shown, why ? why : "refused"), -1;
	return k;
}

static int
check_bind_opts(gd_decision *d, const char *opts, const char *field, const char *entry)
{
	static const char *const ok[] = { "ro", "rw", "nocopy", "private", "rprivate",
		                          "consistent", "cached", "delegated" };
	_cleanup_free_ char *o = dr_xstrdup(opts);
	for (char *p = o, *e; p; p = e ? e + 1 : NULL) {
		e = strchr(p, ',');
		if (e)
			*e = '\0';
		if (!in_static(ok, DR_ARRAY_LEN(ok), p))
			return deny(d, 403, field, "%s \"%s\": mount option \"%s\" is not allowed", field,
			            entry, p),
			       1;
	}
	return 0;
}

static int
check_binds(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	json_t *b = json_object_get(hc, "Binds");
	size_t i;
	json_t *e;
	json_array_foreach(b, i, e) {
		const char *s = json_string_value(e);
		_cleanup_free_ char *dup = dr_xstrdup(s);
		char *c1 = strchr(dup, ':');
		if (!c1)
			continue; /* "/path": an anonymous volume at that path */
		*c1 = '\0';
		char *c2 = strchr(c1 + 1, ':');
		if (c2) {
			*c2 = '\0';
			int k = check_bind_opts(d, c2 + 1, "HostConfig.Binds", s);
			if (k)
				return k;
		}
		if (dup[0] == '/') {
			_cleanup_free_ char *mapped = NULL;
			_cleanup_free_ char *shown = dr_xasprintf("HostConfig.Binds \"%s\"", s);
			int k = map_pod_path(c, d, dup, &mapped, "HostConfig.Binds", shown);
			if (k < 0)
				return 1;
			if (k > 0) {
				/* The same entry with the daemon's path of the runner's folder. */
				_cleanup_free_ char *nv = dr_xasprintf("%s:%s%s%s", mapped, c1 + 1,
				                                       c2 ? ":" : "", c2 ? c2 + 1 : "");
				json_array_set_new(b, i, json_string(nv));
				continue;
			}
			if (!bind_allowed(c, dup))
				return deny(d, 403, "HostConfig.Binds",
				            "HostConfig.Binds \"%s\": host bind mounts are not allowed, use a "
				            "named volume",
				            s),
				       1;
			continue;
		}
		int k = check_volume_use(c, d, dup, "HostConfig.Binds", true);
		if (k)
			return k;
	}
	return 0;
}

static bool
tmpfs_opt_ok(const char *o)
{
	static const char *const flags[] = { "rw", "ro", "noexec", "exec", "nosuid", "nodev",
		                             "noatime", "relatime", "strictatime", "nodiratime" };
	static const char *const keys[] = { "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks" };
	const char *eq = strchr(o, '=');
	if (!eq)
		return in_static(flags, DR_ARRAY_LEN(flags), o);
	_cleanup_free_ char *k = dr_xstrndup(o, (size_t)(eq - o));
	return in_static(keys, DR_ARRAY_LEN(keys), k);
}

static int
check_tmpfs_map(gd_decision *d, json_t *hc)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(hc, "Tmpfs"), k, v) {
		_cleanup_free_ char *o = dr_xstrdup(json_string_value(v));
		for (char *p = o, *e; p && *p; p = e ? e + 1 : NULL) {
			e = strchr(p, ',');
			if (e)
				*e = '\0';
			if (!tmpfs_opt_ok(p))
				return deny(d, 403, "HostConfig.Tmpfs",
				            "HostConfig.Tmpfs \"%s\": option \"%s\" is not allowed", k, p),
				       1;
		}
	}
	return 0;
}

static int
check_mounts(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(hc, "Mounts"), i, m) {
		const char *type = jstr(m, "Type");
		const char *src = jstr(m, "Source");
		if (strcmp(type, "volume") == 0) {
			json_t *vo = json_object_get(m, "VolumeOptions");
			if (vo && !json_is_null(vo)) {
				json_t *dc = json_object_get(vo, "DriverConfig");
				if (dc && !json_is_null(dc) &&
				    ((*jstr(dc, "Name") && strcmp(jstr(dc, "Name"), "local") != 0) ||
				     !jempty(dc, "Options")))
					return deny(d, 403, "HostConfig.Mounts",
					            "HostConfig.Mounts[%zu].VolumeOptions.DriverConfig: volume "
					            "drivers and driver options are not allowed",
					            i),
					       1;
				const char *sp = jstr(vo, "Subpath");
				if (strstr(sp, "..") || sp[0] == '/')
					return deny(d, 403, "HostConfig.Mounts",
					            "HostConfig.Mounts[%zu].VolumeOptions.Subpath \"%s\": not "
					            "allowed",
					            i, sp),
					       1;
			} else {
				vo = json_object();
				json_object_set_new(m, "VolumeOptions", vo);
			}
			if (*src) {
				int k = check_volume_use(c, d, src, "HostConfig.Mounts", false);
				if (k)
					return k;
			}
			if (own_labels(c, d, vo, "Labels", "HostConfig.Mounts.VolumeOptions.Labels",
			               true))
				return 1;
		} else if (strcmp(type, "tmpfs") == 0) {
			json_t *to = json_object_get(m, "TmpfsOptions");
			size_t j;
			json_t *o;
			json_array_foreach(json_object_get(to, "Options"), j, o) {
				_cleanup_free_ char *opt =
					json_array_size(o) == 2
						? dr_xasprintf("%s=%s", json_string_value(json_array_get(o, 0)),
						               json_string_value(json_array_get(o, 1)))
						: dr_xstrdup(json_array_size(o) == 1
						                     ? json_string_value(json_array_get(o, 0))
						                     : "?");
				if (!tmpfs_opt_ok(opt))
					return deny(d, 403, "HostConfig.Mounts",
					            "HostConfig.Mounts[%zu].TmpfsOptions: option \"%s\" is not "
					            "allowed",
					            i, opt),
					       1;
			}
		} else if (strcmp(type, "bind") == 0) {
			_cleanup_free_ char *mapped = NULL;
			_cleanup_free_ char *shown = dr_xasprintf("HostConfig.Mounts[%zu] bind", i);
			int k = map_pod_path(c, d, src, &mapped, "HostConfig.Mounts", shown);
			if (k < 0)
				return 1;
			if (k > 0)
				json_object_set_new(m, "Source", json_string(mapped));
			else if (!bind_allowed(c, src))
				return deny(d, 403, "HostConfig.Mounts",
				            "HostConfig.Mounts[%zu] bind \"%s\": host bind mounts are not "
				            "allowed, use a named volume",
				            i, src),
				       1;
			json_t *bo = json_object_get(m, "BindOptions");
			const char *prop = jstr(bo, "Propagation");
			if (jtrue(bo, "CreateMountpoint") ||
			    (*prop && strcmp(prop, "private") != 0 && strcmp(prop, "rprivate") != 0))
				return deny(d, 403, "HostConfig.Mounts",
				            "HostConfig.Mounts[%zu].BindOptions: propagation and "
				            "CreateMountpoint are not allowed",
				            i),
				       1;
		} else {
			return deny(d, 403, "HostConfig.Mounts",
			            "HostConfig.Mounts[%zu].Type \"%s\": only volume, tmpfs and allowed "
			            "bind mounts",
			            i, type),
			       1;
		}
	}
	return 0;
}

static const char *const default_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
};

/* An ASCII capability name, uppercased, without "CAP_"; NULL when not plain ASCII. */
static char *
cap_name(const char *s)
{
	char *u = dr_xstrdup(s);
	for (char *p = u; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!(isalnum(ch) || ch == '_') || ch >= 0x80) {
			free(u);
			return NULL;
		}
		*p = (char)toupper(ch);
	}
	if (dr_startswith(u, "CAP_"))
		memmove(u, u + 4, strlen(u + 4) + 1);
	return u;
}

static int
check_caps(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(hc, "CapAdd"), i, e) {
		_cleanup_free_ char *n = cap_name(json_string_value(e));
		if (!n || (!in_static(default_caps, DR_ARRAY_LEN(default_caps), n) &&
		           !in_list(c->policy->capabilities, n)))
			return deny(d, 403, "HostConfig.CapAdd",
			            "HostConfig.CapAdd \"%s\": capability not allowed",
			            json_string_value(e)),
			       1;
	}
	json_array_foreach(json_object_get(hc, "CapDrop"), i, e) {
		_cleanup_free_ char *n = cap_name(json_string_value(e));
		if (!n)
			return deny(d, 400, "HostConfig.CapDrop", "HostConfig.CapDrop \"%s\": invalid",
			            json_string_value(e)),
			       1;
	}
	return 0;
}

/* Resources: shared by create (inside HostConfig) and update (top level). */
static int
check_resources(const gd_ctx *c, gd_decision *d, json_t *o, const char *pfx)
{
	(void)c;
	static const char *const must_be_empty[] = {
		"CgroupParent", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
		"BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices", "DeviceCgroupRules",
		"DeviceRequests", "CpuRealtimePeriod", "CpuRealtimeRuntime",
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(must_be_empty); i++)
		if (!jempty(o, must_be_empty[i]))
			return deny(d, 403, must_be_empty[i], "%s%s: not allowed (host devices, cgroups "
			            "and realtime scheduling stay with the node)",
			            pfx, must_be_empty[i]),
			       1;
	if (jtrue(o, "OomKillDisable"))
		return deny(d, 403, "OomKillDisable", "%sOomKillDisable: not allowed", pfx), 1;
	json_t *pl = json_object_get(o, "PidsLimit");
	if (json_is_integer(pl) && json_integer_value(pl) < 0)
		return deny(d, 403, "PidsLimit", "%sPidsLimit %lld: an unlimited PID count is not "
		            "allowed",
		            pfx, (long long)json_integer_value(pl)),
		       1;
	return 0;
}

static int
check_restart(const gd_ctx *c, gd_decision *d, json_t *rp, const char *pfx)
{
	const char *n = jstr(rp, "Name");
	if (!*n || strcmp(n, "no") == 0 || strcmp(n, "on-failure") == 0)
		return 0;
	if (c->policy->restart_always && (strcmp(n, "always") == 0 || strcmp(n, "unless-stopped") == 0))
		return 0;
	return deny(d, 403, "RestartPolicy", "%sRestartPolicy \"%s\": containers must not outlive "
	            "the job (use \"no\" or \"on-failure\")",
	            pfx, n),
	       1;
}

static int
check_ports(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	if (jtrue(hc, "PublishAllPorts") && !c->policy->publish_all_interfaces)
		return deny(d, 403, "HostConfig.PublishAllPorts",
		            "HostConfig.PublishAllPorts: publishing on every interface is not allowed, "
		            "use -p 127.0.0.1:PORT:PORT"),
		       1;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(hc, "PortBindings"), k, v) {
		size_t i;
		json_t *b;
		json_array_foreach(v, i, b) {
			const char *ip = jstr(b, "HostIp");
			if (c->policy->publish_all_interfaces)
				continue;
			if (!*ip) {
				json_object_set_new(b, "HostIp", json_string("127.0.0.1"));
				continue;
			}
			if (strcmp(ip, "127.0.0.1") != 0 && strcmp(ip, "::1") != 0)
				return deny(d, 403, "HostConfig.PortBindings",
				            "HostConfig.PortBindings \"%s\" on %s: only loopback host "
				            "addresses are allowed",
				            k, ip),
				       1;
		}
	}
	return 0;
}

static int
check_image_read(const gd_ctx *c, gd_decision *d, const char *ref, const char *field)
{
	if (!*ref)
		return 0;
	gd_obj o;
	if (c->res->image(c->res->ctx, ref, &o) < 0)
		return upstream_failed(d);
	if (o.own == GD_FOREIGN)
		return missing(d, "No such image: %s", ref), d->field = field, 1;
	return 0;
}

static int
check_hostconfig(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	if (jtrue(hc, "Privileged"))
		return deny(d, 403, "HostConfig.Privileged",
		            "HostConfig.Privileged: privileged containers are not allowed"),
		       1;
	int k;
	if ((k = check_binds(c, d, hc)) || (k = check_mounts(c, d, hc)) ||
	    (k = check_tmpfs_map(d, hc)) || (k = check_caps(c, d, hc)) ||
	    (k = check_resources(c, d, hc, "HostConfig.")) ||
	    (k = check_restart(c, d, json_object_get(hc, "RestartPolicy"), "HostConfig.")) ||
	    (k = check_ports(c, d, hc)))
		return k;
	size_t i;
	json_t *e;
	json_t *vf = json_object_get(hc, "VolumesFrom");
	json_array_foreach(vf, i, e) {
		const char *s = json_string_value(e);
		const char *colon = strchr(s, ':');
		_cleanup_free_ char *name = colon ? dr_xstrndup(s, (size_t)(colon - s)) : dr_xstrdup(s);
		if (colon && strcmp(colon, ":ro") != 0 && strcmp(colon, ":rw") != 0)
			return deny(d, 400, "HostConfig.VolumesFrom", "HostConfig.VolumesFrom \"%s\": "
			            "invalid mode", s),
			       1;
		gd_obj o;
		if ((k = own_container(c, d, name, &o)))
			return d->field = "HostConfig.VolumesFrom", k;
		_cleanup_free_ char *nv = dr_xasprintf("%s%s", o.id, colon ? colon : "");
		json_array_set_new(vf, i, json_string(nv));
	}
	json_array_foreach(json_object_get(hc, "Links"), i, e) {
		const char *s = json_string_value(e);
		const char *colon = strchr(s, ':');
		_cleanup_free_ char *name = colon ? dr_xstrndup(s, (size_t)(colon - s)) : dr_xstrdup(s);
		gd_obj o;
		if ((k = own_container(c, d, name[0] == '/' ? name + 1 : name, &o)))
			return d->field = "HostConfig.Links", k;
	}
	const struct { const char *key; const char *const *ok; size_t n; bool cmode; } modes[] = {
		{ "PidMode", (const char *const[]){ "" }, 1, true },
		{ "IpcMode", (const char *const[]){ "", "private", "shareable", "none" }, 4, true },
		{ "UTSMode", (const char *const[]){ "" }, 1, false },
		{ "UsernsMode", (const char *const[]){ "" }, 1, false },
		{ "CgroupnsMode", (const char *const[]){ "", "private" }, 2, false },
		{ "Cgroup", (const char *const[]){ "" }, 1, false },
		{ "Isolation", (const char *const[]){ "", "default" }, 2, false },
		{ "VolumeDriver", (const char *const[]){ "", "local" }, 2, false },
	};
	for (size_t m = 0; m < DR_ARRAY_LEN(modes); m++) {
		const char *v = jstr(hc, modes[m].key);
		if (in_static(modes[m].ok, modes[m].n, v))
			continue;
		if (modes[m].cmode && dr_startswith(v, "container:")) {
			if ((k = container_mode(c, d, hc, modes[m].key, modes[m].key)))
				return k;
			continue;
		}
		return deny(d, 403, modes[m].key, "HostConfig.%s \"%s\": not allowed (host namespaces "
		            "and other tenants' containers are off limits)",
		            modes[m].key, v),
		       1;
	}
	const char *nm = jstr(hc, "NetworkMode");
	if (dr_startswith(nm, "container:")) {
		if ((k = container_mode(c, d, hc, "NetworkMode", "HostConfig.NetworkMode")))
			return k;
	} else {
		bool owned;
		if ((k = check_network_ref(c, d, nm, "HostConfig.NetworkMode", &owned)))
			return k;
	}
	json_array_foreach(json_object_get(hc, "SecurityOpt"), i, e) {
		static const char *const ok[] = { "no-new-privileges", "no-new-privileges=true",
			                          "no-new-privileges:true" };
		if (!in_static(ok, DR_ARRAY_LEN(ok), json_string_value(e)))
			return deny(d, 403, "HostConfig.SecurityOpt",
			            "HostConfig.SecurityOpt \"%s\": only no-new-privileges is allowed",
			            json_string_value(e)),
			       1;
	}
	static const char *const must_be_null[] = { "MaskedPaths", "ReadonlyPaths" };
	for (size_t m = 0; m < DR_ARRAY_LEN(must_be_null); m++) {
		json_t *v = json_object_get(hc, must_be_null[m]);
		if (v && !json_is_null(v))
			return deny(d, 403, must_be_null[m], "HostConfig.%s: overriding the masked and "
			            "read-only /proc and /sys paths is not allowed",
			            must_be_null[m]),
			       1;
	}
	static const char *const must_be_empty[] = { "Annotations", "StorageOpt" };
	for (size_t m = 0; m < DR_ARRAY_LEN(must_be_empty); m++)
		if (!jempty(hc, must_be_empty[m]))
			return deny(d, 403, must_be_empty[m], "HostConfig.%s: not allowed",
			            must_be_empty[m]),
			       1;
	const char *sk;
	json_t *sv;
	json_object_foreach(json_object_get(hc, "Sysctls"), sk, sv) {
		if (!in_list(c->policy->sysctls, sk))
			return deny(d, 403, "HostConfig.Sysctls", "HostConfig.Sysctls \"%s\": not allowed",
			            sk),
			       1;
	}
	const char *rt = jstr(hc, "Runtime");
	if (*rt && strcmp(rt, "runc") != 0 && !in_list(c->policy->runtimes, rt))
		return deny(d, 403, "HostConfig.Runtime", "HostConfig.Runtime \"%s\": not allowed", rt), 1;
	if (jempty(hc, "OomScoreAdj") == false && json_integer_value(json_object_get(hc, "OomScoreAdj")) < 0)
		return deny(d, 403, "HostConfig.OomScoreAdj",
		            "HostConfig.OomScoreAdj %lld: a negative OOM score is not allowed",
		            (long long)json_integer_value(json_object_get(hc, "OomScoreAdj"))),
		       1;
	json_t *lc = json_object_get(hc, "LogConfig");
	const char *lt = jstr(lc, "Type");
	static const char *const log_ok[] = { "", "json-file", "local", "none" };
	if (!in_static(log_ok, DR_ARRAY_LEN(log_ok), lt) && !in_list(c->policy->log_drivers, lt))
		return deny(d, 403, "HostConfig.LogConfig", "HostConfig.LogConfig.Type \"%s\": log "
		            "driver not allowed",
		            lt),
		       1;
	json_object_foreach(json_object_get(lc, "Config"), sk, sv) {
		static const char *const ok[] = { "max-size", "max-file", "compress", "mode",
			                          "max-buffer-size", "labels", "env", "tag" };
		if (!in_static(ok, DR_ARRAY_LEN(ok), sk))
			return deny(d, 403, "HostConfig.LogConfig", "HostConfig.LogConfig.Config \"%s\": "
			            "option not allowed",
			            sk),
			       1;
	}
	return 0;
}

static int
check_endpoint(gd_decision *d, json_t *ep, const char *net, bool owned)
{
	if (!jempty(ep, "DriverOpts"))
		return deny(d, 403, "EndpointConfig.DriverOpts", "network \"%s\": endpoint driver "
		            "options are not allowed",
		            net),
		       1;
	json_t *ipam = json_object_get(ep, "IPAMConfig");
	if (!owned && ((ipam && !jempty(ipam, "IPv4Address")) ||
	               (ipam && !jempty(ipam, "IPv6Address")) || !jempty(ep, "MacAddress")))
		return deny(d, 403, "EndpointConfig.IPAMConfig", "network \"%s\": static addresses "
		            "are allowed only on the tenant's own networks",
		            net),
		       1;
	return 0;
}

static int
decide_create(const gd_ctx *c, gd_req *r, gd_decision *d, json_t *b)
{
	int k;
	if (check_name(c, d, "container name", gd_query_get(&r->query, "name")))
		return 0;
	if (own_labels(c, d, b, "Labels", "Labels", true))
		return 0;
	if ((k = check_image_read(c, d, jstr(b, "Image"), "Image")))
		return k < 0 ? -1 : 0;
	json_t *hc = json_object_get(b, "HostConfig");
	if (hc && !json_is_null(hc) && (k = check_hostconfig(c, d, hc)))
		return k < 0 ? -1 : 0;
	const char *net;
	json_t *ep;
	json_object_foreach(json_object_get(json_object_get(b, "NetworkingConfig"), "EndpointsConfig"),
	                    net, ep) {
		bool owned;
		if ((k = check_network_ref(c, d, net, "NetworkingConfig.EndpointsConfig", &owned)))
			return k < 0 ? -1 : 0;
		if ((k = check_endpoint(d, ep, net, owned)))
			return 0;
	}
	set_body(d, b);
	d->post = GD_POST_CONTAINER_CREATED;
	set_target(r, d, "/containers/create");
	return 0;
}

/* Image references that the tenant writes (tags, build -t, commit, import): its namespace. */
bool
gd_ref_mine(const gd_ctx *c, const char *ref)
{
	gd_ref r;
	if (gd_ref_parse(ref, &r) < 0)
		return false;
	size_t n = strlen(c->tenant);
	bool mine = strncmp(r.path, c->tenant, n) == 0 && r.path[n] == '/';
	_cleanup_free_ char *full = dr_xasprintf("%s/%s", r.domain, r.path);
	for (size_t i = 0; !mine && c->policy->image_namespaces && c->policy->image_namespaces[i]; i++)
		mine = dr_startswith(full, c->policy->image_namespaces[i]);
	gd_ref_clear(&r);
	return mine;
}

static int
check_write_ref(const gd_ctx *c, gd_decision *d, const char *ref, const char *field)
{
	gd_ref r;
	if (gd_ref_parse(ref, &r) < 0)
		return deny(d, 400, field, "%s \"%s\": invalid reference format", field, ref), 1;
	gd_ref_clear(&r);
	if (!gd_ref_mine(c, ref))
		return deny(d, 403, field, "%s \"%s\": images made here must be tagged in the tenant's "
		            "namespace, e.g. %s/NAME:TAG",
		            field, ref, c->tenant),
		       1;
	return 0;
}

static int
check_changes(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	(void)c;
	for (size_t i = 0; i < r->query.n; i++) {
		if (strcmp(r->query.v[i].key, "changes") != 0)
			continue;
		_cleanup_free_ char *f = gd_fold_key(r->query.v[i].value);
		if (strstr(f, GD_LABEL_PREFIX))
			return deny(d, 403, "changes", "changes: labels in the " GD_LABEL_PREFIX
			            " namespace are set by the guard"),
			       1;
	}
	return 0;
}

static int
decide_build(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	int k;
	const char *remote = gd_query_get(&r->query, "remote");
	if (remote && *remote)
		return deny(d, 403, "remote", "build remote: the daemon would fetch the context from "
		            "the node's network; send the context instead"),
		       0;
	const char *v = gd_query_get(&r->query, "version");
	if (v && strcmp(v, "1") != 0 && !(c->policy->buildkit && strcmp(v, "2") == 0))
		return deny(d, 403, "version", "build version %s: BuildKit is off for this tenant, use "
		            "DOCKER_BUILDKIT=0",
		            v),
		       0;
	const char *nm = gd_query_get(&r->query, "networkmode");
	if (nm && *nm && strcmp(nm, "default") != 0 && strcmp(nm, "none") != 0 &&
	    strcmp(nm, "bridge") != 0)
		return deny(d, 403, "networkmode", "build networkmode \"%s\": not allowed", nm), 0;
	static const char *const empty[] = { "cgroupparent", "securityopt", "outputs" };
	for (size_t i = 0; i < DR_ARRAY_LEN(empty); i++) {
		const char *e = gd_query_get(&r->query, empty[i]);
		if (e && *e && strcmp(e, "null") != 0 && strcmp(e, "[]") != 0)
			return deny(d, 403, empty[i], "build %s: not allowed", empty[i]), 0;
	}
	const char *iso = gd_query_get(&r->query, "isolation");
	if (iso && *iso && strcmp(iso, "default") != 0)
		return deny(d, 403, "isolation", "build isolation \"%s\": not allowed", iso), 0;
	for (size_t i = 0; i < r->query.n; i++)
		if (strcmp(r->query.v[i].key, "t") == 0 &&
		    check_write_ref(c, d, r->query.v[i].value, "build tag"))
			return 0;
	const char *cf = gd_query_get(&r->query, "cachefrom");
	if (cf && *cf) {
		json_error_t je;
		_cleanup_json_ json_t *a = json_loads(cf, 0, &je);
		if (!json_is_array(a))
			return deny(d, 400, "cachefrom", "build cachefrom: expected a JSON array"), 0;
		size_t i;
		json_t *e;
		json_array_foreach(a, i, e) {
			if (!json_is_string(e))
				return deny(d, 400, "cachefrom", "build cachefrom: expected strings"), 0;
			if ((k = check_image_read(c, d, json_string_value(e), "cachefrom")))
				return k < 0 ? -1 : 0;
		}
	}
	const char *ls = gd_query_get(&r->query, "labels");
	char *why = NULL;
	_cleanup_json_ json_t *labels = ls && *ls ? gd_json_object(ls, strlen(ls), &why) : json_object();
	if (!labels) {
		deny(d, 400, "labels", "build labels: %s", why);
		free(why);
		return 0;
	}
	json_t *holder = json_object();
	json_object_set(holder, "labels", labels);
	/* Not session-scoped: --cleanup-on-exit leaves images, and the legacy builder turns every
	 * label into a LABEL step of its own, a container committed on every build (the final
	 * stage changes each job, so never cached): a session label would only cost a step. */
	int bad = own_labels(c, d, holder, "labels", "build labels", false);
	if (!bad) {
		_cleanup_free_ char *s = gd_json_dump(json_object_get(holder, "labels"));
		gd_query_set(&r->query, "labels", s);
	}
	json_decref(holder);
	if (bad)
		return 0;
	const char *ba = gd_query_get(&r->query, "buildargs");
	if (ba && *ba) {
		_cleanup_json_ json_t *j = gd_json_object(ba, strlen(ba), &why);
		if (!j) {
			deny(d, 400, "buildargs", "build buildargs: %s", why);
			free(why);
			return 0;
		}
	}
	set_target(r, d, "/build");
	return 0;
}

static int
decide_image_create(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	const char *src = gd_query_get(&r->query, "fromSrc");
	const char *img = gd_query_get(&r->query, "fromImage");
	const char *tag = gd_query_get(&r->query, "tag");
	if (check_changes(c, r, d))
		return 0;
	if (src && *src) {
		if (strcmp(src, "-") != 0)
			return deny(d, 403, "fromSrc", "import from a URL: the daemon would fetch it from "
			            "the node's network; send the tar instead"),
			       0;
		const char *repo = gd_query_get(&r->query, "repo");
		if (!repo || !*repo)
			return deny(d, 403, "repo", "import: give a repository in the tenant's namespace "
			            "(%s/NAME)",
			            c->tenant),
			       0;
		if (check_write_ref(c, d, repo, "import repo"))
			return 0;
		set_target(r, d, "/images/create");
		return 0;
	}
	if (!img || !*img)
		return deny(d, 400, "fromImage", "images/create: fromImage or fromSrc is required"), 0;
	if (r->has_body)
		return deny(d, 400, "body", "image pull takes no request body"), 0;
	_cleanup_free_ char *full = tag && *tag && !strchr(img, '@')
	                                    ? dr_xasprintf("%s%s%s", img, tag[0] == '@' ? "" : ":", tag)
	                                    : dr_xstrdup(img);
	gd_ref ref;
	if (gd_ref_parse(full, &ref) < 0)
		return deny(d, 400, "fromImage", "pull \"%s\": invalid reference format", full), 0;
	bool allowed_reg = !c->policy->registries || in_list(c->policy->registries, ref.domain) ||
	                   in_list(c->policy->registries, "*");
	_cleanup_free_ char *dom = dr_xstrdup(ref.domain);
	_cleanup_free_ char *path = dr_xstrdup(ref.path);
	gd_ref_clear(&ref);
	if (!allowed_reg)
		return deny(d, 403, "fromImage", "pull \"%s\": registry %s is not allowed", full, dom), 0;
	if (!gd_ref_mine(c, full)) {
		_cleanup_strv_ char **others = c->res->tenants ? c->res->tenants(c->res->ctx) : NULL;
		for (size_t i = 0; others && others[i]; i++)
			if (strcmp(others[i], c->tenant) != 0 && dr_startswith(path, others[i]) &&
			    path[strlen(others[i])] == '/')
				return deny(d, 403, "fromImage", "pull \"%s\": the name is in another "
				            "tenant's namespace",
				            full),
				       0;
		if (!strchr(full, '@')) {
			gd_obj o;
			if (c->res->image(c->res->ctx, full, &o) < 0)
				return upstream_failed(d);
			if (o.own == GD_FOREIGN)
				return deny(d, 403, "fromImage", "pull \"%s\": would replace an image of "
				            "another tenant",
				            full),
				       0;
		}
	}
	d->post = GD_POST_PULLED;
	d->post_arg = dr_xstrdup(full);
	set_target(r, d, "/images/create");
	return 0;
}

static int
decide_commit(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	const char *cont = gd_query_get(&r->query, "container");
	if (!cont || !*cont)
		return deny(d, 400, "container", "commit: container is required"), 0;
	gd_obj o;
	int k = own_container(c, d, cont, &o);
	if (k)
		return k < 0 ? -1 : 0;
	gd_query_set(&r->query, "container", o.id);
	const char *repo = gd_query_get(&r->query, "repo");
	if (repo && *repo && check_write_ref(c, d, repo, "commit repo"))
		return 0;
	if (check_changes(c, r, d))
		return 0;
	if (r->body_len) {
		json_t *b = NULL;
		int st;
		char *why = NULL;
		if (gd_canon_decode(r->body, r->body_len, &gd_schema_config, &b, &st, &why) < 0) {
			deny(d, st, "body", "%s", why);
			free(why);
			return 0;
		}
		if (!own_labels(c, d, b, "Labels", "Labels", true))
			set_body(d, b);
		json_decref(b);
		if (d->status)
			return 0;
	}
	set_target(r, d, "/commit");
	return 0;
}

static int
decide_network_create(const gd_ctx *c, gd_req *r, gd_decision *d, json_t *b)
{
	const char *name = jstr(b, "Name");
	if (!*name)
		return deny(d, 400, "Name", "network create: Name is required"), 0;
	if (check_name(c, d, "network name", name))
		return 0;
	const char *drv = jstr(b, "Driver");
	if (*drv && strcmp(drv, "bridge") != 0)
		return deny(d, 403, "Driver", "network driver \"%s\": only bridge networks", drv), 0;
	const char *scope = jstr(b, "Scope");
	if (*scope && strcmp(scope, "local") != 0)
		return deny(d, 403, "Scope", "network scope \"%s\": only local", scope), 0;
	static const char *const no[] = { "Attachable", "Ingress", "ConfigOnly" };
	for (size_t i = 0; i < DR_ARRAY_LEN(no); i++)
		if (jtrue(b, no[i]))
			return deny(d, 403, no[i], "network %s: not allowed", no[i]), 0;
	if (!jempty(b, "ConfigFrom"))
		return deny(d, 403, "ConfigFrom", "network ConfigFrom: not allowed"), 0;
	json_t *ipam = json_object_get(b, "IPAM");
	const char *id = jstr(ipam, "Driver");
	if (*id && strcmp(id, "default") != 0)
		return deny(d, 403, "IPAM.Driver", "network IPAM driver \"%s\": not allowed", id), 0;
	if (!jempty(ipam, "Options"))
		return deny(d, 403, "IPAM.Options", "network IPAM options: not allowed"), 0;
	const char *ok;
	json_t *ov;
	json_object_foreach(json_object_get(b, "Options"), ok, ov) {
		if (strcmp(ok, "com.docker.network.driver.mtu") != 0)
			return deny(d, 403, "Options", "network option \"%s\": not allowed", ok), 0;
	}
	if (own_labels(c, d, b, "Labels", "Labels", true))
		return 0;
	json_object_set_new(b, "CheckDuplicate", json_true());
	set_body(d, b);
	set_target(r, d, "/networks/create");
	return 0;
}

static int
decide_volume_create(const gd_ctx *c, gd_req *r, gd_decision *d, json_t *b)
{
	const char *name = jstr(b, "Name");
	const char *drv = jstr(b, "Driver");
	if (*drv && strcmp(drv, "local") != 0)
		return deny(d, 403, "Driver", "volume driver \"%s\": only local volumes", drv), 0;
	if (!jempty(b, "DriverOpts"))
		return deny(d, 403, "DriverOpts", "volume DriverOpts: driver options (bind, device, "
		            "nfs) are not allowed"),
		       0;
	if (*name) {
		if (check_name(c, d, "volume name", name))
			return 0;
		gd_obj o;
		if (c->res->volume(c->res->ctx, name, &o) < 0)
			return upstream_failed(d);
		if (o.own != GD_MISSING && o.own != GD_MINE)
			return deny(d, 403, "Name", "volume \"%s\": the name is in use by another tenant",
			            name),
			       0;
	}
	if (own_labels(c, d, b, "Labels", "Labels", true))
		return 0;
	set_body(d, b);
	set_target(r, d, "/volumes/create");
	return 0;
}

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

int
gd_decide(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (rt->id == R_UNKNOWN)
		return deny(d, 403, "route", "%s %s: route not allowed", r->method, r->path);
	if (rt->id == R_AREA_DENIED && strcmp(r->method, "GET") == 0 &&
	    strncmp(r->path, "/plugins/", 9) == 0) {
		/* `docker inspect NAME` tries each object type in turn and goes on only after a
		 * 404: a tenant has no plugins, so any plugin is missing, as the daemon says it. */
		const char *n = r->path + 9;
		const char *slash = strchr(n, '/');
		if (slash && slash > n && strcmp(slash, "/json") == 0)
			return missing(d, "plugin \"%.*s\" not found", (int)(slash - n), n);
	}
	if (rt->id == R_AREA_DENIED)
		return deny(d, 403, "route", "%s: swarm, services, nodes, secrets, configs, plugins and "
		            "debug are not available to tenants",
		            r->path);
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
	const char *ref = rt->ref;
	gd_obj o;
	int k = 0;
	_cleanup_free_ char *path = NULL;
	switch (rt->id) {
	case R_PING:
	case R_VERSION:
	case R_AUTH:
	case R_I_SEARCH:
	case R_DISTRIBUTION:
		set_target(r, d, r->path);
		return 0;
	case R_INFO:
		d->post = GD_POST_INFO;
		set_target(r, d, r->path);
		return 0;
	case R_DF:
		d->post = GD_POST_SYSTEM_DF;
		set_target(r, d, r->path);
		return 0;
	case R_EVENTS:
	case R_C_LIST:
	case R_C_PRUNE:
	case R_I_PRUNE:
	case R_N_LIST:
	case R_N_PRUNE:
	case R_V_LIST:
	case R_V_PRUNE:
		if (rt->id == R_C_LIST) {
			static const char *const refs[] = { "before", "since" };
			for (size_t i = 0; i < 2; i++) {
				const char *v = gd_query_get(&r->query, refs[i]);
				if (v && *v && (k = own_container(c, d, v, &o)))
					return k < 0 ? -1 : 0;
			}
		}
		if (scope_filters(c, r, d, true) < 0)
			return 0;
		set_target(r, d, r->path);
		return 0;
	case R_I_LIST:
		if (scope_filters(c, r, d, false) < 0)
			return 0;
		d->post = GD_POST_IMAGES_LIST;
		set_target(r, d, r->path);
		return 0;
	case R_BUILD_PRUNE:
		d->status = 200;
		d->local_json = dr_xstrdup("{\"CachesDeleted\":null,\"SpaceReclaimed\":0}");
		return 0;
	case R_C_CREATE:
		return decide_create(c, r, d, body);
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
	case R_C_EXEC: {
		if ((k = own_container(c, d, ref, &o)))
			return k < 0 ? -1 : 0;
		const char *slash = strchr(r->path + 1 + strlen("containers/"), '/');
		if (slash && slash[1] == '\0')
			slash = NULL;
		path = dr_xasprintf("/containers/%s%s", o.id, slash ? slash : "");
		if (rt->id == R_C_RENAME &&
		    check_name(c, d, "container name", gd_query_get(&r->query, "name")))
			return 0;
		if (rt->id == R_C_UPDATE) {
			if ((k = check_resources(c, d, body, "")) ||
			    (k = check_restart(c, d, json_object_get(body, "RestartPolicy"), "")))
				return 0;
			set_body(d, body);
		}
		if (rt->id == R_C_EXEC) {
			if (jtrue(body, "Privileged"))
				return deny(d, 403, "Privileged", "exec Privileged: privileged exec is not "
				            "allowed");
			set_body(d, body);
			d->post = GD_POST_EXEC_CREATED;
			d->post_arg = dr_xstrdup(o.id);
		}
		set_target(r, d, path);
		return 0;
	}
	case R_E_START:
	case R_E_RESIZE:
	case R_E_INSPECT: {
		if (c->res->exec(c->res->ctx, ref, &o) < 0)
			return upstream_failed(d);
		if (o.own != GD_MINE)
			return missing(d, "No such exec instance: %s", ref);
		const char *slash = strrchr(r->path, '/');
		_cleanup_free_ char *eid = gd_pct_encode(ref, false);
		path = dr_xasprintf("/exec/%s%s", eid, slash);
		if (body)
			set_body(d, body);
		set_target(r, d, path);
		return 0;
	}
	case R_COMMIT:
		return decide_commit(c, r, d);
	case R_BUILD:
		return decide_build(c, r, d);
	case R_I_CREATE:
		return decide_image_create(c, r, d);
	case R_I_INSPECT:
	case R_I_HISTORY:
	case R_I_GET_ONE:
	case R_I_PUSH:
	case R_I_TAG:
	case R_I_DELETE: {
		if (c->res->image(c->res->ctx, ref, &o) < 0)
			return upstream_failed(d);
		if (o.own == GD_FOREIGN)
			return missing(d, "No such image: %s", ref);
		if (rt->id == R_I_PUSH) {
			const char *tag = gd_query_get(&r->query, "tag");
			_cleanup_free_ char *full = tag && *tag ? dr_xasprintf("%s:%s", ref, tag) : dr_xstrdup(ref);
			if (check_write_ref(c, d, full, "push"))
				return 0;
		}
		if (rt->id == R_I_TAG) {
			const char *repo = gd_query_get(&r->query, "repo");
			const char *tag = gd_query_get(&r->query, "tag");
			if (!repo || !*repo)
				return deny(d, 400, "repo", "tag: repo is required");
			_cleanup_free_ char *full = tag && *tag ? dr_xasprintf("%s:%s", repo, tag) : dr_xstrdup(repo);
			if (check_write_ref(c, d, full, "tag"))
				return 0;
		}
		if (rt->id == R_I_DELETE && o.own != GD_MISSING) {
			bool by_name = !gd_looks_like_id(ref);
			if (by_name ? !gd_ref_mine(c, ref) : !(o.own == GD_MINE && o.labeled))
				return deny(d, 403, "image", "remove image \"%s\": shared images can only be "
				            "removed on the node; untag your own %s/... tags instead",
				            ref, c->tenant);
		}
		_cleanup_free_ char *enc = gd_pct_encode(ref, true);
		const char *suffix = strrchr(r->path, '/');
		path = rt->id == R_I_DELETE ? dr_xasprintf("/images/%s", enc)
		                            : dr_xasprintf("/images/%s%s", enc, suffix);
		set_target(r, d, path);
		return 0;
	}
	case R_I_GET:
		for (size_t i = 0; i < r->query.n; i++) {
			if (strcmp(r->query.v[i].key, "names") != 0)
				continue;
			if ((k = check_image_read(c, d, r->query.v[i].value, "names")))
				return k < 0 ? -1 : 0;
		}
		set_target(r, d, r->path);
		return 0;
	case R_I_LOAD:
		return deny(d, 403, "images.load", "docker load: loading image archives is not "
		            "allowed (their tags could replace shared images); push to a registry and "
		            "pull, or build");
	case R_N_INSPECT:
	case R_N_DELETE:
	case R_N_CONNECT:
	case R_N_DISCONNECT: {
		if (c->res->network(c->res->ctx, ref, &o) < 0)
			return upstream_failed(d);
		bool owned = o.own == GD_MINE;
		if (!owned && !(o.predefined && (rt->id == R_N_INSPECT ||
		                                 ((rt->id == R_N_CONNECT || rt->id == R_N_DISCONNECT) &&
		                                  strcmp(o.name, "bridge") == 0))))
			return missing(d, "network %s not found", ref);
		if (rt->id == R_N_CONNECT || rt->id == R_N_DISCONNECT) {
			gd_obj co;
			const char *cref = jstr(body, "Container");
			if ((k = own_container(c, d, cref, &co)))
				return k < 0 ? -1 : 0;
			json_object_set_new(body, "Container", json_string(co.id));
			json_t *ep = json_object_get(body, "EndpointConfig");
			if (ep && !json_is_null(ep) && check_endpoint(d, ep, ref, owned))
				return 0;
			set_body(d, body);
		}
		if (o.predefined && rt->id == R_N_INSPECT)
			d->post = GD_POST_NETWORK_INSPECT;
		const char *slash = strchr(r->path + strlen("/networks/"), '/');
		path = dr_xasprintf("/networks/%s%s", o.id, slash ? slash : "");
		set_target(r, d, path);
		return 0;
	}
	case R_N_CREATE:
		return decide_network_create(c, r, d, body);
	case R_V_CREATE:
		return decide_volume_create(c, r, d, body);
	case R_V_INSPECT:
	case R_V_DELETE: {
		if (c->res->volume(c->res->ctx, ref, &o) < 0)
			return upstream_failed(d);
		if (o.own != GD_MINE)
			return missing(d, "get %s: no such volume", ref);
		_cleanup_free_ char *enc = gd_pct_encode(o.id, false);
		path = dr_xasprintf("/volumes/%s", enc);
		set_target(r, d, path);
		return 0;
	}
	case R_V_UPDATE:
		return deny(d, 403, "volumes.update", "cluster volumes are not available to tenants");
	case R_SESSION:
	case R_GRPC:
		if (!c->policy->buildkit)
			return deny(d, 403, rt->name, "%s: BuildKit is off for this tenant (its requests "
			            "cannot be checked); use DOCKER_BUILDKIT=0",
			            r->path);
		set_target(r, d, r->path);
		return 0;
	default:
		break;
	}
	return deny(d, 403, "route", "%s %s: route not allowed", r->method, r->path);
}
