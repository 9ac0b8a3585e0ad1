/* scaleset.c: the runner scale set client (see scaleset.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/doctor.h"
#include "lib/pem.h"
#include "pod/http.h"
#include "sys/github.h"
#include "sys/scaleset.h"

#include "buildinfo.h"

#include <strings.h>
#include <time.h>

#define SS_TIMEOUT_MS (5 * 60 * 1000) /* §3: 5 minutes per request */
#define API_VERSION "api-version=6.0-preview"

static int64_t
wall_now(void)
{
	return (int64_t)time(NULL);
}

static void
free_secret(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

json_t *
dr_json_iget(json_t *obj, const char *key)
{
	if (!json_is_object(obj))
		return NULL;
	json_t *v = json_object_get(obj, key);
	if (v)
		return v;
	const char *k;
	json_object_foreach(obj, k, v) if (strcasecmp(k, key) == 0) return v;
	return NULL;
}

int64_t
dr_json_iget_int(json_t *obj, const char *key)
{
	json_t *v = dr_json_iget(obj, key);
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

const char *
dr_json_iget_str(json_t *obj, const char *key)
{
	return json_string_value(dr_json_iget(obj, key));
}

static bool
hosted(const char *host)
{
	if (getenv("GITHUB_ACTIONS_FORCE_GHES"))
		return false;
	return strcasecmp(host, "github.com") == 0 || strcasecmp(host, "www.github.com") == 0 ||
	       strcasecmp(host, "github.localhost") == 0 ||
	       (strlen(host) > 8 && strcasecmp(host + strlen(host) - 8, ".ghe.com") == 0);
}

char *
dr_scaleset_api_base(const char *scheme, const char *hostport)
{
	_cleanup_free_ char *host = dr_xstrndup(hostport, strcspn(hostport, ":"));
	if (hosted(host)) {
		if (strcasecmp(host, "www.github.com") == 0)
			return dr_xasprintf("%s://api.github.com", scheme);
		return dr_xasprintf("%s://api.%s", scheme, hostport);
	}
	return dr_xasprintf("%s://%s/api/v3", scheme, hostport);
}

int64_t
dr_jwt_exp(const char *jwt)
{
	const char *a = strchr(jwt, '.');
	const char *b = a ? strchr(a + 1, '.') : NULL;
	if (!a || !b)
		return -1;
	size_t n = (size_t)(b - a - 1);
	_cleanup_free_ char *std = dr_xmalloc(n + 4);
	for (size_t i = 0; i < n; i++)
		std[i] = a[1 + i] == '-' ? '+' : a[1 + i] == '_' ? '/' : a[1 + i];
	while (n % 4)
		std[n++] = '=';
	std[n] = '\0';
	_cleanup_free_ uint8_t *raw = NULL;
	size_t raw_len = 0;
	if (dr_base64_decode(std, n, &raw, &raw_len) < 0)
		return -1;
	_cleanup_json_ json_t *claims = json_loadb((const char *)raw, raw_len, 0, NULL);
	json_t *exp = json_object_get(claims, "exp");
	if (json_is_integer(exp))
		return (int64_t)json_integer_value(exp);
	if (json_is_real(exp))
		return (int64_t)json_real_value(exp);
	return -1;
}

dr_scaleset *
dr_scaleset_new(const char *config_url, const dr_auth *auth, const char *proxy_url, dr_err **err)
{
	const char *u = config_url;
	const char *scheme = dr_startswith(u, "https://") ? "https" : dr_startswith(u, "http://") ? "http" : NULL;
	if (!scheme) {
		dr_fail(err, DR_EXIT_USAGE,
		        "--repository %s: give an https:// URL of a repository, organization or "
		        "enterprise",
		        config_url);
		return NULL;
	}
	u += strlen(scheme) + 3;
	size_t hl = strcspn(u, "/");
	_cleanup_free_ char *hostport = dr_xstrndup(u, hl);
	const char *p = u + hl;
	while (*p == '/')
		p++;
	_cleanup_free_ char *path = dr_xstrdup(p);
	size_t pl = strlen(path);
	while (pl && path[pl - 1] == '/')
		path[--pl] = '\0';
	_cleanup_strv_ char **seg = NULL;
	_cleanup_free_ char *split = dr_xstrdup(path);
	for (char *s = split, *tok; (tok = strsep(&s, "/"));)
		dr_strv_push(&seg, tok);
	size_t ns = *path ? dr_strv_len(seg) : 0;
	_cleanup_free_ char *scope = NULL;
	if (ns == 1 && *seg[0])
		scope = dr_xasprintf("orgs/%s", seg[0]);
	else if (ns == 2 && strcasecmp(seg[0], "enterprises") == 0 && *seg[1])
		scope = dr_xasprintf("enterprises/%s", seg[1]);
	else if (ns == 2 && *seg[0] && *seg[1])
		scope = dr_xasprintf("repos/%s/%s", seg[0], seg[1]);
	if (!scope || !*hostport) {
		dr_fail(err, DR_EXIT_USAGE,
		        "--repository %s: not a repository (HOST/OWNER/REPO), organization (HOST/ORG) "
		        "or enterprise (HOST/enterprises/NAME) URL",
		        config_url);
		return NULL;
	}
	if (auth->type == DR_AUTH_PAT && (!auth->token || !*auth->token)) {
		dr_fail(err, DR_EXIT_USAGE, "the scale set has no token: give --auth-value");
		return NULL;
	}
	if (auth->type == DR_AUTH_APP &&
	    (!auth->app_id || !auth->installation_id || !auth->private_key)) {
		dr_fail(err, DR_EXIT_USAGE,
		        "the GitHub App needs an app id, an installation id and a private key");
		return NULL;
	}
	dr_scaleset *c = dr_xcalloc(1, sizeof(*c));
	if (proxy_url && *proxy_url) {
		c->proxy = dr_xcalloc(1, sizeof(*c->proxy));
		if (dr_proxy_parse(proxy_url, "--proxy", c->proxy, err) < 0) {
			dr_scaleset_free(c);
			return NULL;
		}
	}
	c->config_url = dr_xasprintf("%s://%s/%s", scheme, hostport, path);
	c->api = dr_scaleset_api_base(scheme, hostport);
	c->scope = TAKE_PTR(scope);
	c->auth.type = auth->type;
	c->auth.token = auth->token ? dr_xstrdup(auth->token) : NULL;
	c->auth.app_id = auth->app_id ? dr_xstrdup(auth->app_id) : NULL;
	c->auth.installation_id = auth->installation_id ? dr_xstrdup(auth->installation_id) : NULL;
	c->auth.private_key = auth->private_key ? dr_xstrdup(auth->private_key) : NULL;
	c->user_agent = dr_xstrdup("deskrun/" DESKRUN_VERSION " (scaleset; local agent)");
	c->backoff_ms = 1000;
	c->attempts = 5;
	c->now = wall_now;
	return c;
}

static void
clear_session(dr_scaleset *c)
{
	free(c->session_id);
	free(c->queue_url);
	free_secret(&c->queue_token);
	c->session_id = NULL, c->queue_url = NULL;
}

void
dr_scaleset_free(dr_scaleset *c)
{
	if (!c)
		return;
	free(c->config_url);
	free(c->api);
	free(c->scope);
	free_secret(&c->auth.token);
	free(c->auth.app_id);
	free(c->auth.installation_id);
	free_secret(&c->auth.private_key);
	if (c->proxy) {
		dr_proxy_clear(c->proxy);
		free(c->proxy);
	}
	free(c->user_agent);
	free(c->service_url);
	free_secret(&c->admin_token);
	clear_session(c);
	free(c);
}

/* ---- transport ---- */

/* Sleep ms, in slices, giving up when cancelled; -1 then. */
static int
nap(dr_scaleset *c, long ms, dr_err **err)
{
	while (ms > 0) {
		if (c->cancel && atomic_load_explicit(c->cancel, memory_order_relaxed))
			return dr_fail_errno(err, DR_EXIT_FAIL, ECANCELED, "given up while waiting to retry");
		long slice = ms > 100 ? 100 : ms;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = slice * 1000000L };
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return 0;
}

/* Retry-After in ms (seconds or an HTTP date), or -1. */
static long
retry_after_ms(const dr_http_response *r)
{
	_cleanup_free_ char *v = dr_http_header(r, "Retry-After");
	if (!v || !*v)
		return -1;
	char *end;
	long s = strtol(v, &end, 10);
	if (*end == '\0' && s >= 0)
		return (s > 300 ? 300 : s) * 1000;
	struct tm tm = { 0 };
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
		time_t t = timegm(&tm);
		long d = (long)(t - time(NULL));
		return d < 0 ? 0 : (d > 300 ? 300 : d) * 1000;
	}
	return -1;
}

typedef struct call {
	const char *what; /* "create session": for messages */
	const char *method;
	const char *url;
	const char *authorization;
	const char *content_type;
	const char *extra; /* more headers (CRLF-terminated) or NULL */
	json_t *body;      /* borrowed, or NULL */
	const char *raw_body;
	long timeout_ms;
	bool retry_auth;   /* runner-registration: 401/403 are retried too (§2.4) */
} call;

/* Send with the transport retries of §3. A response of any status is 0. */
static int
send_call(dr_scaleset *c, const call *k, dr_http_response *res, dr_err **err)
{
	_cleanup_free_ char *body = k->body ? json_dumps(k->body, JSON_COMPACT) : NULL;
	const char *b = body ? body : k->raw_body;
	_cleanup_free_ char *headers =
		dr_xasprintf("User-Agent: %s\r\n%s%s%s%s", c->user_agent,
		             k->content_type ? "Content-Type: " : "",
		             k->content_type ? k->content_type : "", k->content_type ? "\r\n" : "",
		             k->extra ? k->extra : "");
	dr_http_request q = {
		.method = k->method,
		.url = k->url,
		.authorization = k->authorization,
		.headers = headers,
		.body = b,
		.body_len = b ? strlen(b) : 0,
		.proxy = c->proxy,
		.timeout_ms = k->timeout_ms > 0 ? k->timeout_ms : SS_TIMEOUT_MS,
		.cancel = c->cancel,
	};
	long wait = c->backoff_ms;
	for (int attempt = 1;; attempt++) {
		dr_err *e = NULL;
		dr_http_response_clear(res);
		c->requests++;
		int rc = dr_http_request_do(&q, res, &e);
		long after = -1;
		bool retry;
		if (rc < 0) {
			/* Connection errors are retried, except a refused certificate, a bad URL and a
			 * caller who gave up. */
			retry = e->errnum != ECANCELED && e->code != DR_EXIT_USAGE &&
			        !strstr(e->msg, "certificate not trusted");
		} else {
			int s = res->status;
			retry = s == 429 || (s >= 500 && s != 501) || s == 0 ||
			        (k->retry_auth && (s == 401 || s == 403));
			if (s == 429 || s == 503)
				after = retry_after_ms(res);
		}
		if (!retry || attempt >= c->attempts) {
			if (rc < 0) {
				*err = e;
				return dr_err_prefix(err, "%s", k->what);
			}
			return 0;
		}
		dr_err_free(e);
		long ms = after >= 0 ? after : wait;
		wait = wait * 2 > 30000 ? 30000 : wait * 2;
		if (nap(c, ms, err) < 0)
			return dr_err_prefix(err, "%s", k->what);
	}
}

/* The JSON of a response body (a leading UTF-8 BOM skipped), or NULL. */
static json_t *
body_json(const dr_http_response *r)
{
	const char *b = r->body ? r->body : "";
	size_t n = r->body_len;
	if (n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
		b += 3, n -= 3;
	return n ? json_loadb(b, n, 0, NULL) : NULL;
}

/* The error of an unexpected status: "<what>: HTTP 409 (typeName): message". errnum from the
 * status and typeName. */
static int
status_error(const call *k, const dr_http_response *r, dr_err **err)
{
	_cleanup_json_ json_t *j = body_json(r);
	const char *type = dr_json_iget_str(j, "typeName");
	const char *msg = dr_json_iget_str(j, "message");
	_cleanup_free_ char *text = NULL;
	if (!msg && r->body && r->body_len && !j)
		msg = text = dr_xstrndup(r->body, strcspn(r->body, "\r\n") > 200 ? 200 : strcspn(r->body, "\r\n"));
	int errnum = EPROTO;
	if (r->status == 404)
		errnum = DR_SS_NOT_FOUND;
	if (type && strstr(type, "RunnerScaleSetSessionConflictException"))
		errnum = DR_SS_CONFLICT;
	else if (type && strstr(type, "AgentExistsException"))
		errnum = DR_SS_EXISTS;
	else if (type && strstr(type, "JobStillRunningException"))
		errnum = DR_SS_STILL_RUNNING;
	else if (r->status == 401)
		errnum = EACCES;
	dr_fail(err, DR_EXIT_FAIL, "%s: HTTP %d%s%s%s%s%s", k->what, r->status, type ? " (" : "",
	        type ? type : "", type ? ")" : "", msg ? ": " : "", msg ? msg : "");
	(*err)->errnum = errnum;
	return -1;
}

/* A call that must answer `want` (or any 2xx when want is 0); *out the body's JSON (owned,
 * may be NULL to ignore). */
static int
json_call(dr_scaleset *c, const call *k, int want, json_t **out, dr_err **err)
{
	_cleanup_http_ dr_http_response res = { 0 };
	if (send_call(c, k, &res, err) < 0)
		return -1;
	bool ok = want ? res.status == want : res.status >= 200 && res.status < 300;
	if (!ok)
		return status_error(k, &res, err);
	if (out) {
		*out = body_json(&res);
		if (!*out && res.body_len)
			return dr_fail(err, DR_EXIT_FAIL, "%s: the answer is not JSON", k->what);
	}
	return 0;
}

/* ---- authentication (§2) ---- */

int
dr_scaleset_refresh_admin(dr_scaleset *c, dr_err **err)
{
	_cleanup_free_ char *cred = NULL; /* the PAT or the installation token */
	if (c->auth.type == DR_AUTH_APP) {
		_cleanup_free_ char *jwt = NULL;
		if (dr_jwt_rs256(c->auth.app_id, c->auth.private_key, c->now(), &jwt, err) < 0)
			return -1;
		_cleanup_free_ char *url = dr_xasprintf("%s/app/installations/%s/access_tokens", c->api,
		                                        c->auth.installation_id);
		_cleanup_free_ char *a = dr_xasprintf("Bearer %s", jwt);
		call k = { .what = "GitHub App installation token", .method = "POST", .url = url,
			   .authorization = a, .content_type = "application/vnd.github+json",
			   .raw_body = "", .timeout_ms = 60000 };
		_cleanup_json_ json_t *j = NULL;
		int rc = json_call(c, &k, 201, &j, err);
		explicit_bzero(a, strlen(a));
		if (rc < 0)
			return -1;
		const char *t = dr_json_iget_str(j, "token");
		if (!t || !*t)
			return dr_fail(err, DR_EXIT_FAIL, "GitHub App installation token: no token in the answer");
		cred = dr_xstrdup(t);
	} else {
		cred = dr_xstrdup(c->auth.token);
	}
	_cleanup_free_ char *url =
		dr_xasprintf("%s/%s/actions/runners/registration-token", c->api, c->scope);
	_cleanup_free_ char *a = dr_xasprintf("Bearer %s", cred);
	explicit_bzero(cred, strlen(cred));
	call k = { .what = "registration token", .method = "POST", .url = url, .authorization = a,
		   .content_type = "application/vnd.github.v3+json", .raw_body = "",
		   .timeout_ms = 60000 };
	_cleanup_json_ json_t *j = NULL;
	int rc = json_call(c, &k, 201, &j, err);
	explicit_bzero(a, strlen(a));
	if (rc < 0)
		return -1;
	const char *reg = dr_json_iget_str(j, "token");
	if (!reg || !*reg)
		return dr_fail(err, DR_EXIT_FAIL, "registration token: no token in the answer");
	_cleanup_free_ char *ra = dr_xasprintf("RemoteAuth %s", reg);
	_cleanup_free_ char *rurl = dr_xasprintf("%s/actions/runner-registration", c->api);
	_cleanup_json_ json_t *body =
		json_pack("{s:s, s:s}", "url", c->config_url, "runner_event", "register");
	call r = { .what = "runner registration", .method = "POST", .url = rurl,
		   .authorization = ra, .content_type = "application/json", .body = body,
		   .timeout_ms = 60000, .retry_auth = true };
	_cleanup_json_ json_t *reply = NULL;
	rc = json_call(c, &r, 0, &reply, err);
	explicit_bzero(ra, strlen(ra));
	if (rc < 0)
		return -1;
	const char *svc = dr_json_iget_str(reply, "url");
	const char *tok = dr_json_iget_str(reply, "token");
	if (!svc || !*svc || !tok || !*tok)
		return dr_fail(err, DR_EXIT_FAIL, "runner registration: the answer lacks url or token");
	int64_t exp = dr_jwt_exp(tok);
	if (exp < 0)
		return dr_fail(err, DR_EXIT_FAIL,
		               "runner registration: the admin token is not a JWT with exp");
	free(c->service_url);
	c->service_url = dr_xstrdup(svc);
	free_secret(&c->admin_token);
	c->admin_token = dr_xstrdup(tok);
	c->admin_exp = exp;
	return 0;
}

static int
ensure_admin(dr_scaleset *c, dr_err **err)
{
	if (c->admin_token && c->now() + 60 <= c->admin_exp)
		return 0;
	return dr_scaleset_refresh_admin(c, err);
}

/* {svc}/path?query&api-version=6.0-preview, the base's trailing '/' and path's '/' joined. */
static char *
svc_url(const dr_scaleset *c, const char *path)
{
	size_t n = strlen(c->service_url);
	while (n && c->service_url[n - 1] == '/')
		n--;
	while (*path == '/')
		path++;
	return dr_xasprintf("%.*s/%s%s" API_VERSION, (int)n, c->service_url, path,
	                    strchr(path, '?') ? "&" : "?");
}

/* An actions-service call with the admin token (§2.6). */
static int
admin_call(dr_scaleset *c, const char *what, const char *method, const char *path, json_t *body,
           int want, json_t **out, dr_err **err)
{
	if (ensure_admin(c, err) < 0)
		return dr_err_prefix(err, "%s", what);
	_cleanup_free_ char *url = svc_url(c, path);
	_cleanup_free_ char *a = dr_xasprintf("Bearer %s", c->admin_token);
	call k = { .what = what, .method = method, .url = url, .authorization = a,
		   .content_type = "application/json", .body = body,
		   .raw_body = body ? NULL : (dr_streq(method, "GET") ? NULL : "") };
	int rc = json_call(c, &k, want, out, err);
	explicit_bzero(a, strlen(a));
	return rc;
}

/* ---- scale sets (§4.1-4.5b) ---- */

int
dr_scaleset_group_id(dr_scaleset *c, const char *name, int64_t *id, dr_err **err)
{
	if (!name || !*name || strcasecmp(name, "default") == 0) {
		*id = 1;
		return 0;
	}
	_cleanup_free_ char *enc = dr_pod_url_encode(name);
	_cleanup_free_ char *path = dr_xasprintf("_apis/runtime/runnergroups/?groupName=%s", enc);
	_cleanup_json_ json_t *j = NULL;
	if (admin_call(c, "runner group lookup", "GET", path, NULL, 200, &j, err) < 0)
		return -1;
	json_t *v = dr_json_iget(j, "value");
	if (dr_json_iget_int(j, "count") != 1 || json_array_size(v) != 1)
		return dr_fail(err, DR_EXIT_FAIL,
		               "runner group %s: not found (%lld matches): create it in the "
		               "organization's Actions settings, or use the default group",
		               name, (long long)dr_json_iget_int(j, "count"));
	*id = dr_json_iget_int(json_array_get(v, 0), "id");
	return 0;
}

int
dr_scaleset_find(dr_scaleset *c, int64_t group_id, const char *name, json_t **set, dr_err **err)
{
	*set = NULL;
	_cleanup_free_ char *enc = dr_pod_url_encode(name);
	_cleanup_free_ char *path = dr_xasprintf(
		"_apis/runtime/runnerscalesets?runnerGroupId=%lld&name=%s", (long long)group_id, enc);
	_cleanup_json_ json_t *j = NULL;
	if (admin_call(c, "find the scale set", "GET", path, NULL, 200, &j, err) < 0)
		return -1;
	int64_t n = dr_json_iget_int(j, "count");
	if (n == 0)
		return 0;
	if (n > 1)
		return dr_fail(err, DR_EXIT_FAIL, "find the scale set %s: %lld match", name,
		               (long long)n);
	*set = json_incref(json_array_get(dr_json_iget(j, "value"), 0));
	return *set ? 0 : dr_fail(err, DR_EXIT_FAIL, "find the scale set %s: no value", name);
}

int
dr_scaleset_get(dr_scaleset *c, int64_t id, json_t **set, dr_err **err)
{
	_cleanup_free_ char *path = dr_xasprintf("_apis/runtime/runnerscalesets/%lld", (long long)id);
	return admin_call(c, "get the scale set", "GET", path, NULL, 200, set, err);
}

int
dr_scaleset_create(dr_scaleset *c, int64_t group_id, const char *name, char *const *labels,
                   json_t **set, dr_err **err)
{
	json_t *ls = json_array();
	if (!labels || !*labels)
		json_array_append_new(ls, json_pack("{s:s, s:s}", "type", "System", "name", name));
	for (char *const *l = labels; l && *l; l++)
		json_array_append_new(ls, json_pack("{s:s, s:s}", "type", "System", "name", *l));
	_cleanup_json_ json_t *body = json_pack(
		"{s:s, s:I, s:o, s:{s:b}}", "name", name, "runnerGroupId", (json_int_t)group_id,
		"labels", ls, "RunnerSetting", "disableUpdate", 1);
	return admin_call(c, "create the scale set", "POST", "_apis/runtime/runnerscalesets", body,
	                  200, set, err);
}

int
dr_scaleset_update(dr_scaleset *c, int64_t id, json_t *patch, json_t **set, dr_err **err)
{
	_cleanup_free_ char *path = dr_xasprintf("_apis/runtime/runnerscalesets/%lld", (long long)id);
	return admin_call(c, "update the scale set", "PATCH", path, patch, 200, set, err);
}

int
dr_scaleset_delete(dr_scaleset *c, int64_t id, dr_err **err)
{
	_cleanup_free_ char *path = dr_xasprintf("_apis/runtime/runnerscalesets/%lld", (long long)id);
	return admin_call(c, "delete the scale set", "DELETE", path, NULL, 204, NULL, err);
}

/* ---- sessions and the queue (§4.6-4.9) ---- */

static int
take_session(dr_scaleset *c, json_t *s, const char *what, dr_err **err)
{
	const char *sid = dr_json_iget_str(s, "sessionId");
	const char *qurl = dr_json_iget_str(s, "messageQueueUrl");
	const char *qtok = dr_json_iget_str(s, "messageQueueAccessToken");
	if (!sid || !qurl || !qtok || !json_is_object(dr_json_iget(s, "statistics")))
		return dr_fail(err, DR_EXIT_FAIL,
		               "%s: the session lacks sessionId, messageQueueUrl, "
		               "messageQueueAccessToken or statistics",
		               what);
	clear_session(c);
	c->session_id = dr_xstrdup(sid);
	c->queue_url = dr_xstrdup(qurl);
	c->queue_token = dr_xstrdup(qtok);
	return 0;
}

int
dr_scaleset_session_open(dr_scaleset *c, int64_t id, const char *owner, json_t **session,
                         dr_err **err)
{
	_cleanup_free_ char *path =
		dr_xasprintf("_apis/runtime/runnerscalesets/%lld/sessions", (long long)id);
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s}", "sessionId",
	                                        "00000000-0000-0000-0000-000000000000", "ownerName",
	                                        owner);
	_cleanup_json_ json_t *s = NULL;
	if (admin_call(c, "create the message session", "POST", path, body, 200, &s, err) < 0)
		return -1;
	if (take_session(c, s, "create the message session", err) < 0)
		return -1;
	c->set_id = id;
	if (session)
		*session = TAKE_PTR(s);
	return 0;
}

int
dr_scaleset_session_refresh(dr_scaleset *c, json_t **session, dr_err **err)
{
	if (!c->session_id)
		return dr_fail(err, DR_EXIT_FAIL, "refresh the message session: none is open");
	_cleanup_free_ char *path = dr_xasprintf("_apis/runtime/runnerscalesets/%lld/sessions/%s",
	                                         (long long)c->set_id, c->session_id);
	_cleanup_json_ json_t *s = NULL;
	if (admin_call(c, "refresh the message session", "PATCH", path, NULL, 200, &s, err) < 0)
		return -1;
	if (take_session(c, s, "refresh the message session", err) < 0)
		return -1;
	if (session)
		*session = TAKE_PTR(s);
	return 0;
}

int
dr_scaleset_session_close(dr_scaleset *c, dr_err **err)
{
	if (!c->session_id)
		return 0;
	_cleanup_free_ char *path = dr_xasprintf("_apis/runtime/runnerscalesets/%lld/sessions/%s",
	                                         (long long)c->set_id, c->session_id);
	int rc = admin_call(c, "delete the message session", "DELETE", path, NULL, 204, NULL, err);
	clear_session(c);
	return rc;
}

/* A queue call (4.7, 4.8, 4.9) with the queue token; a 401 refreshes the session and retries
 * once (§7.2). The response is left in *res. */
static int
queue_call(dr_scaleset *c, call *k, dr_http_response *res, dr_err **err)
{
	for (int round = 0;; round++) {
		_cleanup_free_ char *a = dr_xasprintf("Bearer %s", c->queue_token);
		k->authorization = a;
		int rc = send_call(c, k, res, err);
		explicit_bzero(a, strlen(a));
		k->authorization = NULL;
		if (rc < 0)
			return -1;
		if (res->status != 401 || round > 0)
			return 0;
		if (dr_scaleset_session_refresh(c, NULL, err) < 0)
			return dr_err_prefix(err, "%s: the queue token was refused", k->what);
	}
}

int
dr_scaleset_get_message(dr_scaleset *c, int64_t last_id, int max_capacity, long timeout_ms,
                        json_t **msg, dr_err **err)
{
	*msg = NULL;
	if (!c->session_id)
		return dr_fail(err, DR_EXIT_FAIL, "get a message: no session is open");
	_cleanup_free_ char *url =
		last_id > 0 ? dr_xasprintf("%s%slastMessageId=%lld", c->queue_url,
		                           strchr(c->queue_url, '?') ? "&" : "?", (long long)last_id)
		            : dr_xstrdup(c->queue_url);
	_cleanup_free_ char *extra = dr_xasprintf(
		"Accept: application/json; " API_VERSION "\r\nX-ScaleSetMaxCapacity: %d\r\n",
		max_capacity);
	call k = { .what = "get a message", .method = "GET", .url = url, .extra = extra,
		   .timeout_ms = timeout_ms };
	_cleanup_http_ dr_http_response res = { 0 };
	if (queue_call(c, &k, &res, err) < 0)
		return -1;
	if (res.status == 202)
		return 0;
	if (res.status != 200)
		return status_error(&k, &res, err);
	_cleanup_json_ json_t *env = body_json(&res);
	const char *type = dr_json_iget_str(env, "messageType");
	if (!type || !dr_streq(type, "RunnerScaleSetJobMessages"))
		return dr_fail(err, DR_EXIT_FAIL, "get a message: messageType %s is not "
		               "RunnerScaleSetJobMessages", type ? type : "(none)");
	if (!json_is_object(dr_json_iget(env, "statistics")))
		return dr_fail(err, DR_EXIT_FAIL, "get a message: no statistics");
	const char *body = dr_json_iget_str(env, "body");
	json_t *jobs = body && *body ? json_loads(body, 0, NULL) : json_array();
	if (!json_is_array(jobs)) {
		json_decref(jobs);
		return dr_fail(err, DR_EXIT_FAIL, "get a message: the body is not a JSON array");
	}
	json_object_set_new(env, "body", jobs);
	*msg = TAKE_PTR(env);
	return 0;
}

int
dr_scaleset_ack(dr_scaleset *c, int64_t message_id, dr_err **err)
{
	if (!c->session_id)
		return dr_fail(err, DR_EXIT_FAIL, "acknowledge a message: no session is open");
	size_t ql = strcspn(c->queue_url, "?");
	const char *query = c->queue_url + ql;
	_cleanup_free_ char *url = dr_xasprintf("%.*s/%lld%s", (int)ql, c->queue_url,
	                                        (long long)message_id, query);
	call k = { .what = "acknowledge a message", .method = "DELETE", .url = url,
		   .content_type = "application/json", .raw_body = "" };
	_cleanup_http_ dr_http_response res = { 0 };
	if (queue_call(c, &k, &res, err) < 0)
		return -1;
	return res.status == 204 ? 0 : status_error(&k, &res, err);
}

int
dr_scaleset_acquire(dr_scaleset *c, json_t *request_ids, json_t **acquired, dr_err **err)
{
	if (!c->session_id)
		return dr_fail(err, DR_EXIT_FAIL, "acquire jobs: no session is open");
	if (ensure_admin(c, err) < 0)
		return dr_err_prefix(err, "acquire jobs");
	_cleanup_free_ char *path =
		dr_xasprintf("_apis/runtime/runnerscalesets/%lld/acquirejobs", (long long)c->set_id);
	_cleanup_free_ char *url = svc_url(c, path);
	call k = { .what = "acquire jobs", .method = "POST", .url = url,
		   .content_type = "application/json", .body = request_ids };
	_cleanup_http_ dr_http_response res = { 0 };
	if (queue_call(c, &k, &res, err) < 0)
		return -1;
	if (res.status != 200)
		return status_error(&k, &res, err);
	if (acquired)
		*acquired = body_json(&res);
	return 0;
}

/* ---- runners (§4.11-4.14) ---- */

int
dr_scaleset_jit(dr_scaleset *c, int64_t id, const char *name, char **blob, int64_t *runner_id,
                dr_err **err)
{
	_cleanup_free_ char *path =
		dr_xasprintf("_apis/runtime/runnerscalesets/%lld/generatejitconfig", (long long)id);
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s}", "name", name, "workFolder", "");
	_cleanup_json_ json_t *j = NULL;
	if (admin_call(c, "generate a JIT config", "POST", path, body, 200, &j, err) < 0)
		return -1;
	const char *b = dr_json_iget_str(j, "encodedJITConfig");
	json_t *runner = dr_json_iget(j, "runner");
	if (!b || !*b || !json_is_object(runner))
		return dr_fail(err, DR_EXIT_FAIL,
		               "generate a JIT config: the answer lacks encodedJITConfig or runner");
	*runner_id = dr_json_iget_int(runner, "id");
	*blob = dr_xstrdup(b);
	/* The answer held the secret: wipe jansson's copy. */
	json_t *bj = dr_json_iget(j, "encodedJITConfig");
	json_string_set(bj, "");
	return 0;
}

int
dr_scaleset_runner_by_name(dr_scaleset *c, const char *name, int64_t *id, dr_err **err)
{
	*id = 0;
	_cleanup_free_ char *enc = dr_pod_url_encode(name);
	_cleanup_free_ char *path =
		dr_xasprintf("_apis/distributedtask/pools/0/agents?agentName=%s", enc);
	_cleanup_json_ json_t *j = NULL;
	if (admin_call(c, "find the runner", "GET", path, NULL, 200, &j, err) < 0)
		return -1;
	int64_t n = dr_json_iget_int(j, "count");
	if (n > 1)
		return dr_fail(err, DR_EXIT_FAIL, "find the runner %s: %lld match", name, (long long)n);
	if (n == 1)
		*id = dr_json_iget_int(json_array_get(dr_json_iget(j, "value"), 0), "id");
	return 0;
}

int
dr_scaleset_remove_runner(dr_scaleset *c, int64_t runner_id, dr_err **err)
{
	_cleanup_free_ char *path =
		dr_xasprintf("_apis/distributedtask/pools/0/agents/%lld", (long long)runner_id);
	return admin_call(c, "remove the runner", "DELETE", path, NULL, 204, NULL, err);
}
