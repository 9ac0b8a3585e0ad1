/* fuzz_policy_json.c: libFuzzer target for the guard's JSON policy decoder: Go-compatible
 * key folding and canonicalization against each request schema, then the full decision for
 * the guarded endpoints (create, exec, update, network and volume create, network connect)
 * with a stub resolver, and the list filters rewriting. The first byte picks the endpoint.
 * Built by scripts/fuzz.sh. */
#include "lib/common.h"
#include "guard/guard.h"
#include "guard/gjson.h"
#include "guard/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
lookup(const char *ref, gd_obj *o)
{
	memset(o, 0, sizeof(*o));
	o->own = ref[0] == 'm' ? GD_MINE : ref[0] == 'f' ? GD_FOREIGN : ref[0] == 's' ? GD_SHARED : GD_MISSING;
	o->labeled = o->own == GD_MINE;
	o->predefined = strcmp(ref, "bridge") == 0;
	snprintf(o->id, sizeof(o->id), "%s", ref);
	snprintf(o->name, sizeof(o->name), "%s", ref);
	return 0;
}
static int r_obj(void *c, const char *r, gd_obj *o) { (void)c; return lookup(r, o); }
static char **
r_tenants(void *c)
{
	(void)c;
	char **v = dr_xcalloc(1, sizeof(char *));
	dr_strv_push(&v, "other");
	return v;
}
static bool r_rec(void *c, const char *id, const char *ref) { (void)c; (void)ref; return id[0] == 'm'; }
static const gd_resolver res = { NULL, r_obj, r_obj, r_obj, r_obj, r_obj, r_tenants, r_obj, r_rec };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const struct { const char *m; const char *t; } eps[] = {
		{ "POST", "/v1.41/containers/create?name=t-x" },
		{ "POST", "/v1.41/containers/mine/exec" },
		{ "POST", "/v1.41/containers/mine/update" },
		{ "POST", "/v1.41/networks/create" },
		{ "POST", "/v1.41/volumes/create" },
		{ "POST", "/v1.41/networks/mine/connect" },
		{ "POST", "/v1.41/exec/mine/start" },
		{ "GET", "/v1.41/containers/json?filters=" },
		{ "POST", "/v1.41/commit?container=mine&repo=t/x" },
		{ "POST", "/v1.41/build?t=t/x&labels=" },
	};
	size_t e = data[0] % DR_ARRAY_LEN(eps);
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	/* "subnets" set, so that IPAM.Config addresses are parsed and compared, not only refused */
	static char s4[] = "10.201.0.0/16", s6[] = "fd00:0:0:1::/64";
	static char *subnets[] = { s4, s6, NULL };
	gd_policy pol = { .min_api_minor = 41, .max_body = 1 << 20, .subnets = subnets };
	gd_ctx c = { .tenant = "t", .session = "s", .policy = &pol, .res = &res };
	char *target = NULL;
	bool in_query = dr_endswith(eps[e].t, "=");
	if (in_query) {
		char *raw = dr_xstrndup(body, len);
		char *enc = gd_pct_encode(raw, false);
		target = dr_xasprintf("%s%s", eps[e].t, enc);
		free(raw);
		free(enc);
	} else {
		target = dr_xstrdup(eps[e].t);
	}
	char *head = dr_xasprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	                          "Content-Length: %zu\r\n\r\n",
	                          eps[e].m, target, in_query ? 0 : len);
	gd_framer f;
	const char *why = NULL;
	if (gd_framer_begin(&f, false, false, head, strlen(head), &why) == 0) {
		gd_req r = { .method = eps[e].m, .head = &f.head, .has_body = !in_query && len,
		             .body = in_query ? NULL : body, .body_len = in_query ? 0 : len };
		if (gd_split_target(target, &r.path, &r.query, &why) == 0) {
			gd_decision d;
			memset(&d, 0, sizeof(d));
			if (gd_strip_version(&r, &c, &d) == 0) {
				gd_route rt;
				gd_route_match(r.method, r.path, &rt);
				gd_decision_clear(&d);
				gd_decide(&c, &rt, &r, &d);
				/* what is forwarded must decode again to the same thing */
				if (d.status == 0 && d.replace_body) {
					char *w = NULL;
					json_t *j = gd_json_object(d.body, d.body_len, &w);
					if (!j)
						__builtin_trap();
					json_decref(j);
				}
				gd_route_clear(&rt);
			}
			gd_decision_clear(&d);
		}
		free(r.path);
		free(r.version);
		gd_query_clear(&r.query);
	}
	gd_framer_clear(&f);
	free(head);
	free(target);
	return 0;
}
