/* test_guard_unit.c: the guard's pure parts: strict HTTP framing, Go-compatible JSON decoding,
 * path and query handling, image references, and decisions for the threat and parser tables
 * against a stub resolver (alpha's objects exist, the tenant under test is bravo). */
#include "lib/common.h"
#include "guard/guard.h"
#include "guard/gjson.h"
#include "guard/http.h"
#include "guard/dockerfile.h"

#include <setjmp.h>
#include <cmocka.h>

#include "../../fuzz/head_scan_ref.h"

/* ---- framing ---- */

static ssize_t
scan(const char *s, const char **why)
{
	return gd_head_scan(s, strlen(s), why);
}

static void
test_head_scan(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", &why), 27);
	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: x\r\n", &why), 0);
	assert_int_equal(scan("GET / HTTP/1.1\nHost: x\n\n", &why), -1);
	assert_string_equal(why, "bare LF in the message head");
	assert_int_equal(scan("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", &why), -1);
	assert_int_equal(scan("GET / HTTP/1.1\r\nX : a\r\n\r\n", &why), -1);
	assert_int_equal(scan("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", &why), -1);
	assert_int_equal(scan("\r\nGET / HTTP/1.1\r\n\r\n", &why), -1);
}

static unsigned long long rng = 88172645463325252ULL;

static unsigned
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

static void
same_as_reference(const char *buf, size_t len)
{
	const char *w1 = NULL, *w2 = NULL;
	ssize_t a = gd_head_scan(buf, len, &w1), b = ref_head_scan(buf, len, &w2);
	if (a != b || (a < 0 && strcmp(w1, w2) != 0))
		fail_msg("head scan differs on %zu bytes: %zd (%s) vs reference %zd (%s)", len, a,
		         a < 0 ? w1 : "", b, b < 0 ? w2 : "");
}

/* The table-driven scanner against the byte-at-a-time one it replaced: generated heads with
 * the bytes that matter put in random places, cut at random lengths; sizes around the cap. */
static void
test_head_scan_reference(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"GET /_ping HTTP/1.1", "POST /v1.41/build?t=a%20b HTTP/1.0", "\r\n", "Host: docker",
		"Content-Length: 12", "X-A:", "X-B: \tv", ": novalue", "Bad Name: x", " folded",
		"\tfold", "\r", "\n", "\0", " ", "\x7f", "\x80\xff", "a", ":", "\r\n\r\n",
	};
	static const char specials[] = { '\r', '\n', '\0', ' ', '\t', ':', 0x7f, 0x01, (char)0xc3, 'x' };
	char buf[1024];
	for (int n = 0; n < 200000; n++) {
		size_t len = 0;
		int parts = 1 + (int)(next_rand() % 12);
		for (int p = 0; p < parts; p++) {
			const char *pc = pieces[next_rand() % DR_ARRAY_LEN(pieces)];
			size_t pl = strlen(pc) + (pc[0] == '\0' ? 1 : 0);
			if (len + pl + 2 >= sizeof(buf))
				break;
			memcpy(buf + len, pc, pl);
			len += pl;
			if (next_rand() % 3 == 0) {
				memcpy(buf + len, "\r\n", 2);
				len += 2;
			}
		}
		for (int k = (int)(next_rand() % 3); k > 0 && len; k--)
			buf[next_rand() % len] = specials[next_rand() % sizeof(specials)];
		same_as_reference(buf, len);
		same_as_reference(buf, len ? next_rand() % len : 0);
	}
	size_t big = GD_HEAD_MAX + 64;
	char *h = malloc(big);
	for (size_t at = GD_HEAD_MAX - 6; at <= GD_HEAD_MAX + 2; at++) {
		memset(h, 'a', big);
		memcpy(h, "GET / HTTP/1.1\r\nX: ", 20);
		memcpy(h + at - 4, "\r\n\r\n", 4); /* the head ends at `at` */
		for (size_t len = at - 2; len <= at + 2 && len <= big; len++)
			same_as_reference(h, len);
	}
	free(h);
}

static int
begin(gd_framer *f, const char *s, const char **why)
{
	ssize_t hl = gd_head_scan(s, strlen(s), why);
	if (hl <= 0)
		return -1;
	return gd_framer_begin(f, false, false, s, (size_t)hl, why);
}

static void
test_framing(void **state)
{
	(void)state;
	gd_framer f;
	const char *why = NULL;
	assert_int_equal(begin(&f, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", &why), 0);
	assert_true(f.head.has_length);
	assert_int_equal(gd_framer_payload(&f), 3);
	assert_int_equal(gd_framer_skip(&f, 3, &why), 0);
	assert_true(f.complete);
	gd_framer_clear(&f);
	static const char *const bad[] = {
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET /a HTTP/1.1\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n",
		"PATCH /a HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a HTTP/2.0\r\nHost: a\r\n\r\n",
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(bad); i++) {
		assert_int_equal(begin(&f, bad[i], &why), -1);
		gd_framer_clear(&f);
	}
	/* chunked: payload is reported per chunk, the framer stops at the end of the message */
	const char *chunked = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(begin(&f, chunked, &why), 0);
	const char *body = "5\r\nhello\r\n0\r\n\r\nGET /next";
	ssize_t k = gd_framer_feed(&f, body, strlen(body), &why);
	assert_int_equal(k, 3);
	assert_int_equal(gd_framer_payload(&f), 5);
	assert_int_equal(gd_framer_skip(&f, 5, &why), 0);
	const char *p = body + 8;
	while (!f.complete) {
		k = gd_framer_feed(&f, p, strlen(p), &why);
		assert_true(k > 0);
		p += k;
	}
	assert_string_equal(p, "GET /next");
	gd_framer_clear(&f);
}

/* Header strings live in one arena: limits, empty values, trailers kept out of the head. */
static void
test_head_storage(void **state)
{
	(void)state;
	gd_framer f;
	const char *why = NULL;
	dr_buf b = DR_BUF_INIT(0);
	dr_buf_puts(&b, "POST /v1.41/build?q=1 HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n");
	for (int i = 0; i < GD_MAX_HEADERS - 3; i++)
		dr_buf_printf(&b, "X-H%d: value-%d\r\n", i, i);
	dr_buf_puts(&b, "Transfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(begin(&f, b.data, &why), 0);
	assert_int_equal(f.head.nhdrs, GD_MAX_HEADERS);
	assert_string_equal(f.head.method, "POST");
	assert_string_equal(f.head.target, "/v1.41/build?q=1");
	assert_string_equal(gd_head_get(&f.head, "x-empty"), "");
	assert_string_equal(gd_head_get(&f.head, "X-H96"), "value-96");
	const char *body = "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n";
	const char *p = body;
	while (!f.complete) {
		uint64_t pl = gd_framer_payload(&f);
		if (pl) {
			assert_int_equal(gd_framer_skip(&f, pl, &why), 0);
			p += pl;
			continue;
		}
		ssize_t k = gd_framer_feed(&f, p, strlen(p), &why);
		assert_true(k > 0);
		p += k;
	}
	assert_int_equal(*p, '\0');
	assert_null(gd_head_get(&f.head, "X-Trailer"));
	assert_int_equal(f.head.nhdrs, GD_MAX_HEADERS);
	gd_framer_clear(&f);
	/* one header more than the limit */
	dr_buf_reset(&b);
	dr_buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < GD_MAX_HEADERS; i++)
		dr_buf_printf(&b, "X-H%d: v\r\n", i);
	dr_buf_puts(&b, "\r\n");
	assert_int_equal(begin(&f, b.data, &why), -1);
	gd_framer_clear(&f);
	/* the checks that count headers still see every copy */
	static const char *const dup[] = { "Content-Type: a", "Upgrade: a", "Expect: 100-continue",
		                           "X-Registry-Auth: a", "X-Registry-Config: a" };
	for (size_t i = 0; i < DR_ARRAY_LEN(dup); i++) {
		dr_buf_reset(&b);
		dr_buf_printf(&b, "POST / HTTP/1.1\r\nHost: x\r\n%s\r\nx-other: 1\r\n%s\r\n\r\n", dup[i],
		              dup[i]);
		assert_int_equal(begin(&f, b.data, &why), -1);
		assert_string_equal(why, "repeated header");
		gd_framer_clear(&f);
	}
	dr_buf_reset(&b);
}

/* Percent-encoding against a plain one-character-at-a-time version. */
static char *
ref_pct(const char *s, bool keep_slash)
{
	dr_buf b = DR_BUF_INIT(0);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (isalnum(*c) || strchr("-._~", *c) || (keep_slash && (*c == '/' || *c == ':' || *c == '@')))
			dr_buf_append(&b, c, 1);
		else
			dr_buf_printf(&b, "%%%02X", *c);
	}
	return dr_buf_steal(&b);
}

static void
test_encode(void **state)
{
	(void)state;
	char *e = gd_pct_encode("a b/c:d@e~", false);
	assert_string_equal(e, "a%20b%2Fc%3Ad%40e~");
	free(e);
	e = gd_pct_encode("a b/c:d@e~", true);
	assert_string_equal(e, "a%20b/c:d@e~");
	free(e);
	char s[700];
	for (int n = 0; n < 2000; n++) {
		size_t len = next_rand() % (sizeof(s) - 1);
		for (size_t i = 0; i < len; i++)
			s[i] = (char)(1 + next_rand() % 255);
		s[len] = '\0';
		for (int k = 0; k < 2; k++) {
			char *a = gd_pct_encode(s, k), *r = ref_pct(s, k);
			assert_string_equal(a, r);
			free(a);
			free(r);
		}
	}
	gd_query q = { 0 };
	gd_query_set(&q, "filters", "{\"label\":{\"io.deskrun.tenant=t\":true}}");
	gd_query_set(&q, "all", "1");
	gd_query_set(&q, "e", "");
	e = gd_query_encode(&q);
	assert_string_equal(e, "filters=%7B%22label%22%3A%7B%22io.deskrun.tenant%3Dt%22%3Atrue%7D%7D&all=1&e=");
	free(e);
	gd_query_clear(&q);
	e = gd_query_encode(&q);
	assert_string_equal(e, "");
	free(e);
}

static void
test_target(void **state)
{
	(void)state;
	char *path = NULL;
	gd_query q;
	const char *why = NULL;
	assert_int_equal(gd_split_target("/v1.41/containers%2Fjson?all=1&filters=%7B%7D", &path, &q, &why), 0);
	assert_string_equal(path, "/v1.41/containers/json");
	assert_string_equal(gd_query_get(&q, "filters"), "{}");
	free(path);
	gd_query_clear(&q);
	static const char *const bad[] = { "/a/../b", "/a//b", "/a/%00", "/a%5cb", "/a/./b", "x", "/a/%zz" };
	for (size_t i = 0; i < DR_ARRAY_LEN(bad); i++) {
		assert_int_equal(gd_split_target(bad[i], &path, &q, &why), -1);
	}
	assert_true(gd_media_is("Application/JSON; charset=UTF-8", "application/json"));
	assert_true(gd_media_is("application/json ; foo=bar", "application/json"));
	assert_false(gd_media_is("application/jsonx", "application/json"));
}

/* ---- JSON ---- */

static void
test_fold(void **state)
{
	(void)state;
	char *f = gd_fold_key("Bind\xc5\xbf");
	assert_string_equal(f, "binds");
	free(f);
	f = gd_fold_key("Networ\xe2\x84\xaaMode");
	assert_string_equal(f, "networkmode");
	free(f);
	json_t *out = NULL;
	int st = 0;
	char *why = NULL;
	const char *ok = "{\"image\":\"x\",\"ho\\u017ftconfig\":{\"Networ\\u212aMode\":\"host\"}}";
	assert_int_equal(gd_canon_decode(ok, strlen(ok), &gd_schema_create, &out, &st, &why), 0);
	assert_string_equal(json_string_value(json_object_get(out, "Image")), "x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "HostConfig"), "NetworkMode")), "host");
	json_decref(out);
	static const struct { const char *body; int status; } bad[] = {
		{ "{\"HostConfig\":{\"Privileged\":true},\"HostConfig\":{}}", 400 },
		{ "{\"Labels\":{},\"labels\":{}}", 400 },
		{ "{\"HostConfig\":{\"Privileged\":1}}", 400 },
		{ "{\"HostConfig\":{\"Privileged\":\"true\"}}", 400 },
		{ "{}{}", 400 },
		{ "{\"Privileged\":true}", 403 },
		{ "{\"HostConfig\":{\"NoSuchField\":1}}", 403 },
		{ "{\"Cmd\":[1]}", 400 },
		{ "[]", 400 },
		{ "{\"Env\":[\"a\\u0000b\"]}", 400 },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(bad); i++) {
		why = NULL;
		assert_int_equal(gd_canon_decode(bad[i].body, strlen(bad[i].body), &gd_schema_create, &out, &st, &why), -1);
		assert_int_equal(st, bad[i].status);
		free(why);
	}
}

static void
test_refs(void **state)
{
	(void)state;
	gd_ref r;
	assert_int_equal(gd_ref_parse("busybox", &r), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.path, "library/busybox");
	gd_ref_clear(&r);
	assert_int_equal(gd_ref_parse("127.0.0.1:5000/team/app:1", &r), 0);
	assert_string_equal(r.domain, "127.0.0.1:5000");
	assert_string_equal(r.path, "team/app");
	assert_string_equal(r.tag, "1");
	gd_ref_clear(&r);
	assert_int_equal(gd_ref_parse("Upper/case", &r), -1);
	assert_int_equal(gd_ref_parse("a/../b", &r), -1);
	gd_policy p = { 0 };
	gd_ctx c = { .tenant = "bravo", .policy = &p };
	assert_true(gd_ref_mine(&c, "bravo/app:1"));
	assert_true(gd_ref_mine(&c, "docker.io/bravo/app"));
	assert_true(gd_ref_mine(&c, "localhost:5000/bravo/x"));
	assert_false(gd_ref_mine(&c, "bravo:1"));
	assert_false(gd_ref_mine(&c, "bravoo/app"));
	assert_false(gd_ref_mine(&c, "node:18"));
	assert_int_equal(gd_ref_parse("4d3f3a:0123456789abcdef0123456789abcdef", &r), 0);
	assert_true(gd_runner_action_ref(&r));
	gd_ref_clear(&r);
	assert_int_equal(gd_ref_parse("ghcr.io/4d3f3a:0123456789abcdef0123456789abcdef", &r), 0);
	assert_false(gd_runner_action_ref(&r));
	gd_ref_clear(&r);
	assert_int_equal(gd_ref_parse("4d3f3a:0123456789ABCDEF0123456789abcdef", &r), 0);
	assert_false(gd_runner_action_ref(&r));
	gd_ref_clear(&r);
	assert_true(gd_valid_id("ci-2"));
	assert_false(gd_valid_id("Ci"));
	assert_false(gd_valid_id("-x"));
}

/* ---- decisions against a stub resolver ---- */

static int
stub_lookup(const char *ref, gd_obj *o, const char *mine, const char *theirs)
{
	memset(o, 0, sizeof(*o));
	if (dr_startswith(ref, mine)) {
		o->own = GD_MINE;
		o->labeled = true;
	} else if (dr_startswith(ref, theirs)) {
		o->own = GD_FOREIGN;
	} else {
		o->own = GD_MISSING;
	}
	snprintf(o->id, sizeof(o->id), "%s", ref);
	snprintf(o->name, sizeof(o->name), "%s", ref);
	return 0;
}
static int st_container(void *c, const char *r, gd_obj *o) { (void)c; return stub_lookup(r, o, "bravo", "alpha"); }
static int st_volume(void *c, const char *r, gd_obj *o) { (void)c; return stub_lookup(r, o, "bravo", "alpha"); }
static int st_network(void *c, const char *r, gd_obj *o)
{
	(void)c;
	stub_lookup(r, o, "bravo", "alpha");
	if (strcmp(r, "host") == 0 || strcmp(r, "bridge") == 0) {
		o->own = GD_FOREIGN;
		o->predefined = true;
	}
	return 0;
}
static int st_image(void *c, const char *r, gd_obj *o)
{
	(void)c;
	stub_lookup(r, o, "bravo/", "alpha/");
	if (o->own == GD_MISSING && strcmp(r, "tiny:1") == 0)
		o->own = GD_SHARED;
	o->onbuild = strncmp(r, "bravo/trig", 10) == 0; /* st_image_onbuild's */
	return 0;
}
static int st_exec(void *c, const char *r, gd_obj *o) { (void)c; return stub_lookup(r, o, "bx", "ax"); }
static char **
st_tenants(void *c)
{
	(void)c;
	char **v = dr_xcalloc(1, sizeof(char *));
	dr_strv_push(&v, "alpha");
	dr_strv_push(&v, "bravo");
	return v;
}
static int st_volume_create(void *c, const char *n, gd_obj *o) { (void)c; memset(o, 0, sizeof(*o)); o->own = GD_MINE; snprintf(o->id, sizeof(o->id), "%s", n); return 0; }

static bool
st_volume_recorded(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "anon-bravo") == 0;
}

static int
st_image_onbuild(void *c, const char *ref, char ***out)
{
	(void)c;
	*out = NULL;
	if (strcmp(ref, "bravo/trig:1") == 0)
		dr_strv_push(out, "COPY --from=alpha/app:1 / /x");
	if (strcmp(ref, "bravo/trig-ok:1") == 0)
		dr_strv_push(out, "RUN echo built");
	return 0;
}

static const gd_resolver stub = {
	.image_onbuild = st_image_onbuild,
	.container = st_container, .volume = st_volume, .network = st_network, .image = st_image,
	.exec = st_exec, .tenants = st_tenants, .volume_create = st_volume_create,
	.volume_recorded = st_volume_recorded,
};

/* The policy decide() uses; a test may widen it and must put it back. */
static gd_policy pol;

/* Decide METHOD TARGET with BODY and extra header lines HDRS for tenant bravo; returns the
 * status (0 = forwarded). */
static int
decide_hb(const char *method, const char *target, const char *hdrs, const char *body,
          gd_decision *d)
{
	pol.min_api_minor = 41;
	pol.max_body = 1 << 20;
	gd_ctx c = { .tenant = "bravo", .policy = &pol, .res = &stub };
	char head[768];
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	         method, target, hdrs ? hdrs : "", body ? strlen(body) : 0);
	gd_framer f;
	const char *why = NULL;
	assert_int_equal(gd_framer_begin(&f, false, false, head, strlen(head), &why), 0);
	gd_req r = { .method = method, .head = &f.head, .has_body = body && *body, .body = body,
	             .body_len = body ? strlen(body) : 0 };
	assert_int_equal(gd_split_target(target, &r.path, &r.query, &why), 0);
	memset(d, 0, sizeof(*d));
	int st;
	if (gd_strip_version(&r, &c, d) < 0) {
		st = d->status;
	} else {
		gd_route rt;
		gd_route_match(method, r.path, &rt);
		gd_decide(&c, &rt, &r, d);
		st = d->status;
		gd_route_clear(&rt);
	}
	free(r.path);
	free(r.version);
	gd_query_clear(&r.query);
	gd_framer_clear(&f);
	return st;
}

static int
decide(const char *method, const char *target, const char *body, gd_decision *d)
{
	return decide_hb(method, target, NULL, body, d);
}

static int
decide_h(const char *method, const char *target, const char *hdrs, gd_decision *d)
{
	return decide_hb(method, target, hdrs, NULL, d);
}

static void
test_decide_create(void **state)
{
	(void)state;
	gd_decision d;
	static const struct { const char *body; const char *q; int status; } rows[] = {
		{ "{\"Image\":\"tiny:1\",\"HostConfig\":{\"Privileged\":true}}", "", 403 },           /* T01 */
		{ "{\"HostConfig\":{\"Binds\":[\"/:/host\"]}}", "", 403 },                              /* T02 */
		{ "{\"HostConfig\":{\"Binds\":[\"/var/run/docker.sock:/s\"]}}", "", 403 },              /* T03 */
		{ "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/etc\",\"Target\":\"/x\"}]}}", "", 403 }, /* T04 */
		{ "{\"HostConfig\":{\"Binds\":[\"alpha-data:/d\"]}}", "", 403 },                        /* T07 */
		{ "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"alpha-d\",\"Target\":\"/d\"}]}}", "", 403 },
		{ "{\"HostConfig\":{\"VolumesFrom\":[\"alpha-web\"]}}", "", 404 },                      /* T09 */
		{ "{\"HostConfig\":{\"PidMode\":\"host\"}}", "", 403 },                                  /* T10 */
		{ "{\"HostConfig\":{\"PidMode\":\"container:alpha-web\"}}", "", 404 },
		{ "{\"HostConfig\":{\"NetworkMode\":\"host\"}}", "", 403 },                              /* T11 */
		{ "{\"HostConfig\":{\"IpcMode\":\"host\"}}", "", 403 },                                  /* T12 */
		{ "{\"HostConfig\":{\"UsernsMode\":\"host\"}}", "", 403 },
		{ "{\"HostConfig\":{\"CapAdd\":[\"cap_\\u017fys_adm\\u0131n\"]}}", "", 403 },            /* T13 */
		{ "{\"HostConfig\":{\"CapAdd\":[\"ALL\"]}}", "", 403 },
		{ "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/sda\"}]}}", "", 403 },           /* T14 */
		{ "{\"HostConfig\":{\"SecurityOpt\":[\"seccomp:unconfined\"]}}", "", 403 },              /* T15 */
		{ "{\"HostConfig\":{\"MaskedPaths\":[]}}", "", 403 },                                    /* T16 */
		{ "{\"HostConfig\":{\"CgroupParent\":\"/\"}}", "", 403 },                                /* T17 */
		{ "{\"HostConfig\":{\"Sysctls\":{\"kernel.shmmax\":\"1\"}}}", "", 403 },                 /* T18 */
		{ "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"alpha-net\":{}}}}", "", 404 },          /* T21 */
		{ "{\"Labels\":{\"io.deskrun.tenant\":\"alpha\"}}", "", 403 },                          /* T22 */
		{ "{\"Image\":\"tiny:1\"}", "?name=alpha-db", 403 },                                     /* T23 */
		{ "{\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\"}}}", "", 403 },               /* T24 */
		{ "{\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\"}]}}}", "", 403 },
		{ "{\"Image\":\"alpha/app:1\"}", "", 404 },
		{ "{\"Image\":\"tiny:1\",\"HostConfig\":{\"Binds\":[\"bravo-data:/d\",\"newvol:/n\"],\"NetworkMode\":\"bravo-net\",\"CapAdd\":[\"CAP_NET_BIND_SERVICE\"]}}", "?name=bravo-ok", 0 },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		char target[128];
		snprintf(target, sizeof(target), "/v1.41/containers/create%s", rows[i].q);
		int st = decide("POST", target, rows[i].body, &d);
		if (st != rows[i].status)
			fail_msg("row %zu (%s): status %d, want %d: %s", i, rows[i].body, st, rows[i].status,
			         d.message ? d.message : "");
		gd_decision_clear(&d);
	}
	/* an allowed create gets the labels and loopback-only port bindings */
	assert_int_equal(decide("POST", "/v1.41/containers/create",
	                        "{\"Image\":\"tiny:1\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"80\"}]}}}",
	                        &d), 0);
	assert_non_null(strstr(d.body, "\"io.deskrun.tenant\":\"bravo\""));
	assert_non_null(strstr(d.body, "\"HostIp\":\"127.0.0.1\""));
	assert_string_equal(d.target, "/v1.41/containers/create");
	gd_decision_clear(&d);
}

static void
test_decide_routes(void **state)
{
	(void)state;
	gd_decision d;
	static const struct { const char *m; const char *t; const char *body; int status; } rows[] = {
		{ "GET", "/v1.41/containers/alpha-web/json", NULL, 404 },               /* T25 */
		{ "POST", "/v1.41/containers/alpha-web/kill", NULL, 404 },              /* T26 */
		{ "GET", "/v1.41/containers/alpha-web/logs?stdout=1", NULL, 404 },      /* T27 */
		{ "POST", "/v1.41/containers/alpha-web/attach?stream=1", NULL, 404 },   /* T28 */
		{ "POST", "/v1.41/exec/ax1/start", "{}", 404 },                          /* T29 */
		{ "POST", "/v1.41/containers/bravo-1/exec", "{\"Privileged\":true}", 403 }, /* T30 */
		/* docker-py's exec body names the container too (the daemon reads only the path) */
		{ "POST", "/v1.41/containers/bravo-1/exec",
		  "{\"Container\":\"bravo-1\",\"User\":\"\",\"Privileged\":false,\"Tty\":false,"
		  "\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,"
		  "\"Cmd\":[\"/bin/echo\",\"x\"],\"Env\":null}", 0 },
		/* docker-py removes with link=False; link=true would remove a legacy link */
		{ "DELETE", "/v1.41/containers/bravo-1?v=True&link=False&force=True", NULL, 0 },
		{ "DELETE", "/v1.41/containers/bravo-1?link=1", NULL, 403 },
		/* docker-py's list queries carry parameters the daemon no longer reads */
		{ "GET", "/v1.41/containers/json?limit=-1&all=1&size=0&trunc_cmd=0", NULL, 0 },
		{ "GET", "/v1.41/images/json?only_ids=0&all=0", NULL, 0 },
		{ "POST", "/v1.41/build/prune", NULL, 200 },                             /* T33 */
		{ "POST", "/v1.41/images/tiny:1/tag?repo=node&tag=18", NULL, 403 },     /* T34 */
		{ "POST", "/v1.41/build?t=node:18", NULL, 403 },                        /* T35 */
		{ "POST", "/v1.41/build?t=4d3f3a:0123456789abcdef0123456789abcdef", NULL, 0 }, /* runner */
		{ "POST", "/v1.41/build?t=4d3f3a:latest", NULL, 403 },
		{ "POST", "/v1.41/build?t=4d3f3:0123456789abcdef0123456789abcdef", NULL, 403 },
		{ "POST", "/v1.41/images/tiny:1/tag?repo=4d3f3a&tag=0123456789abcdef0123456789abcdef", NULL, 403 },
		{ "POST", "/v1.41/images/load", NULL, 403 },                            /* T36 */
		{ "DELETE", "/v1.41/images/tiny:1", NULL, 403 },                        /* T37 */
		{ "POST", "/v1.41/images/alpha/app/push", NULL, 404 },                  /* T38 */
		{ "POST", "/v1.41/build?remote=http://169.254.169.254/", NULL, 403 },  /* T40 */
		{ "POST", "/v1.41/grpc", NULL, 403 }, /* T41: pol here says "buildkit": false */
		{ "POST", "/v1.41/networks/bravo-net/connect", "{\"Container\":\"alpha-web\"}", 404 }, /* T44 */
		{ "POST", "/v1.41/plugins/pull?remote=x", NULL, 403 },                  /* T45 */
		{ "POST", "/v1.41/swarm/join", "{}", 403 },                              /* T46 */
		{ "PUT", "/v1.41/volumes/x", NULL, 403 },                                /* T48 */
		{ "DELETE", "/v1.41/volumes/alpha-data", NULL, 404 },
		{ "GET", "/v1.40/version", NULL, 400 },                                  /* P21 */
		{ "GET", "/v1.41/containers/json?name=a&name=b", NULL, 403 },           /* unknown param */
		{ "GET", "/v1.41/containers/json?all=1&all=0", NULL, 400 },             /* P14 */
		{ "GET", "/v1.41/no/such/route", NULL, 403 },
		{ "POST", "/v1.41/volumes/create", "{\"Name\":\"bravo-v\",\"DriverOpts\":{\"o\":\"bind\"}}", 403 }, /* T06 */
		{ "POST", "/v1.41/containers/bravo-1/start", NULL, 0 },
		{ "GET", "/_ping", NULL, 0 },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		int st = decide(rows[i].m, rows[i].t, rows[i].body, &d);
		if (st != rows[i].status)
			fail_msg("row %zu (%s %s): status %d, want %d: %s", i, rows[i].m, rows[i].t, st,
			         rows[i].status, d.message ? d.message : "");
		gd_decision_clear(&d);
	}
	/* lists: the tenant label filter replaces whatever the client sent */
	assert_int_equal(decide("GET", "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22x%3D1%22%5D%7D", NULL, &d), 0);
	assert_non_null(strstr(d.target, "io.deskrun.tenant%3Dbravo"));
	assert_non_null(strstr(d.target, "x%3D1"));
	gd_decision_clear(&d);
	assert_int_equal(decide("GET", "/v1.41/containers/json?filters=%7B%22label%22%3A%7B%7D%2C%22label%22%3A%7B%7D%7D", NULL, &d), 400);
	gd_decision_clear(&d);
	/* no filters (the shortcut) and empty filters (the general path) give the same target */
	static const char *const lists[] = { "/v1.41/containers/json?all=1",
		                             "/v1.41/containers/json?all=1&filters=",
		                             "/v1.41/containers/json?all=1&filters=%7B%7D",
		                             "/v1.41/containers/json?filters=%7B%7D&all=1" };
	for (size_t i = 0; i < DR_ARRAY_LEN(lists); i++) {
		assert_int_equal(decide("GET", lists[i], NULL, &d), 0);
		assert_string_equal(d.target, "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%7B"
		                              "%22io.deskrun.tenant%3Dbravo%22%3Atrue%7D%7D");
		gd_decision_clear(&d);
	}
	/* volumes: the list comes back whole and is filtered then (test_post_volumes) */
	assert_int_equal(decide("GET", "/v1.41/volumes", NULL, &d), 0);
	assert_string_equal(d.target, "/v1.41/volumes");
	assert_int_equal(d.post, GD_POST_VOLUMES_LIST);
	gd_decision_clear(&d);
}

/* BuildKit build IDs on the classic path are the tenant's own (B09): /build?buildid= (also
 * the upload-request:<id> form that hands a stdin context to a build) and /build/cancel?id=
 * reach the daemon as <tenant>.<id>. */
static void
test_build_ids(void **state)
{
	(void)state;
	gd_decision d;
	pol.buildkit = true;
	assert_int_equal(decide("POST", "/v1.41/build?version=2&session=s1&remote=client-session&buildid=b1&t=bravo/x:1", NULL, &d), 0);
	assert_non_null(strstr(d.target, "buildid=bravo.b1"));
	assert_non_null(strstr(d.target, "session=bravo.s1"));
	gd_decision_clear(&d);
	/* BUILDKIT_SYNTAX makes the Dockerfile frontend run that image: only docker/dockerfile */
	assert_int_equal(decide("POST", "/v1.41/build?version=2&session=s1&remote=client-session&t=bravo/x:1&buildargs=%7B%22BUILDKIT_SYNTAX%22%3A%22evil%2Ffe%3A1%22%7D", NULL, &d), 403);
	assert_non_null(strstr(d.message, "BUILDKIT_SYNTAX evil/fe:1 is refused"));
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", "/v1.41/build?version=2&session=s1&remote=client-session&t=bravo/x:1&buildargs=%7B%22BUILDKIT_SYNTAX%22%3A%22docker%2Fdockerfile%3A1%22%7D", NULL, &d), 0);
	gd_decision_clear(&d);
	/* a stdin context (an upload, or the body) would carry the Dockerfile past the session,
	 * where the guard reads it: refused */
	assert_int_equal(decide("POST", "/v1.41/build?version=2&buildid=upload-request:u1", NULL, &d), 403);
	assert_non_null(strstr(d.message, "without remote=client-session"));
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", "/v1.41/build?version=2&remote=upload-request&buildid=u1", NULL, &d), 403);
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", "/v1.41/build?version=2&buildid=b1&t=bravo/x:1", NULL, &d), 403);
	gd_decision_clear(&d);
	/* another tenant's build by its daemon-side name: still prefixed, so never reached */
	assert_int_equal(decide("POST", "/v1.41/build/cancel?id=alpha.b1", NULL, &d), 0);
	assert_string_equal(d.target, "/v1.41/build/cancel?id=bravo.alpha.b1");
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", "/v1.41/build/cancel", NULL, &d), 400);
	assert_non_null(strstr(d.message, "id is required"));
	gd_decision_clear(&d);
	assert_int_equal(decide("GET", "/v1.41/build/cancel?id=b1", NULL, &d), 403);
	gd_decision_clear(&d);
	/* a session's ID and shared key are the tenant's own (the key also this guard's) */
	assert_int_equal(decide_h("POST", "/v1.41/session", "X-Docker-Expose-Session-Uuid: s9\r\n"
	                          "X-Docker-Expose-Session-Sharedkey: key9\r\n", &d), 0);
	assert_string_equal(d.session_uuid, "bravo.s9");
	assert_string_equal(d.session_sharedkey, "bravo..key9"); /* no nonce without a store */
	gd_decision_clear(&d);
	pol.buildkit = false;
}

/* The Dockerfile scanner (src/guard/dockerfile.c): every image reference a build may read,
 * with each value a build-arg may give it; what cannot be resolved is refused. */
static bool
strv_has(char *const *v, const char *x)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], x) == 0)
			return true;
	return false;
}

static int
df_collect(void *u, const char *ref, const char *what, unsigned line, char *buf, size_t blen)
{
	dr_buf *b = u;
	char one[256];
	int n = snprintf(one, sizeof(one), "%u %s %s;", line, what, ref);
	dr_buf_append(b, one, (size_t)n);
	if (strstr(ref, "bad/")) {
		snprintf(buf, blen, "refused %s", ref);
		return 1;
	}
	return 0;
}

static void
test_dockerfile_refs(void **state)
{
	(void)state;
	static const struct { const char *df; const char *args; const char *want; const char *why; } rows[] = {
		{ "FROM tiny:1\n", NULL, "1 FROM tiny:1;", NULL },
		{ "FROM a AS b\nFROM b\nCOPY --from=b /x /y\nCOPY --from=0 /x /y\nCOPY --from=other/img:1 /a /b\n",
		  NULL, "1 FROM a;5 COPY --from other/img:1;", NULL },
		{ "from tiny:1 as Build\nfrom BUILD\nFROM scratch\n", NULL, "1 FROM tiny:1;", NULL },
		/* a build-arg replaces the default: both are checked */
		{ "ARG BASE=tiny:1\nFROM $BASE\n", "BASE=alpha/app:1", "2 FROM alpha/app:1;2 FROM tiny:1;", NULL },
		{ "ARG BASE\nFROM ${BASE:-tiny:1}\n", NULL, "2 FROM tiny:1;", NULL },
		{ "ARG BASE\nFROM ${BASE:-tiny:1}\n", "BASE=alpha/x", "2 FROM alpha/x;2 FROM tiny:1;", NULL },
		{ "ARG R=alpha\nARG N=app\nFROM ${R}/${N}:1\n", NULL, "3 FROM alpha/app:1;", NULL },
		{ "ARG R=alpha\nFROM ${R:+bad}/x\n", NULL, "2 FROM bad/x;", "refused bad/x" },
		{ "FROM $NOTDECLARED/x\n", "NOTDECLARED=bad", "1 FROM /x;", NULL },
		{ "FROM --platform=$BUILDPLATFORM tiny:1\n", NULL, "1 FROM tiny:1;", NULL },
		{ "FROM \"alpha/app:1\"\n", NULL, "1 FROM alpha/app:1;", NULL },
		/* continuations, comments inside them, the escape directive */
		/* (read with ` as the escape, the lines stand alone: "\\" and "x" are images) */
		{ "FROM \\\n# c\n  alpha/app:1 \\\n  AS x\nFROM x\n", NULL,
		  "1 FROM alpha/app:1;1 FROM \\;5 FROM x;", NULL },
		/* both escape characters are read: the line a continuation hides under one is
		 * seen under the other */
		{ "# escape=`\nFROM `\n alpha/app:1\n", NULL, "2 FROM alpha/app:1;2 FROM `;", NULL },
		{ "# foo=bar\n# escape=`\nFROM tiny:1\nRUN echo `\nFROM alpha/x:1\n", NULL,
		  "3 FROM tiny:1;5 FROM alpha/x:1;", NULL },
		{ "# syntax=docker/dockerfile:1\nFROM tiny:1\n", NULL, "1 # syntax docker/dockerfile:1;2 FROM tiny:1;", NULL },
		/* every # syntax= line, wherever it is (a shebang line may come first) */
		{ "#!/usr/bin/env x\n#syntax = bad/frontend\nFROM tiny:1\n", NULL, "2 # syntax bad/frontend;", "refused bad/frontend" },
		{ "\xEF\xBB\xBF" "FROM alpha/bom:1\n", NULL, "1 FROM alpha/bom:1;", NULL },
		/* mounts, ONBUILD */
		{ "FROM tiny:1\nRUN --mount=type=bind,from=alpha/app:1,target=/x true\n", NULL,
		  "1 FROM tiny:1;2 RUN --mount from= alpha/app:1;", NULL },
		{ "FROM tiny:1\nRUN --mount=\"type=cache,target=/c\" --mount=from=bad/x,target=/y true\n", NULL,
		  "1 FROM tiny:1;2 RUN --mount from= bad/x;", "refused bad/x" },
		{ "FROM tiny:1\nONBUILD COPY --from=alpha/x:1 / /y\n", NULL, "1 FROM tiny:1;2 ONBUILD COPY --from alpha/x:1;", NULL },
		/* heredocs: read both ways (20.10's frontend has none) */
		{ "FROM tiny:1\nRUN <<EOF\nFROM alpha/hidden:1\nEOF\nCOPY --from=alpha/after:1 / /\n", NULL,
		  "1 FROM tiny:1;3 FROM alpha/hidden:1;5 COPY --from alpha/after:1;", NULL },
		/* not resolvable statically: refused */
		{ "FROM ${TARGETARCH}/x\n", NULL, "", "$TARGETARCH in an image reference cannot be resolved" },
		{ "FROM tiny:1\nCOPY --from=$X /a /b\n", NULL, "1 FROM tiny:1;", "a variable in --from cannot be resolved" },
		{ "ARG A=x\nFROM ${A#x}\n", NULL, "", "cannot be resolved statically" },
		{ "ARG A\nARG B\nFROM $A$B\n",
		  "A=1\nA=2\nA=3\nA=4\nA=5\nA=6\nA=7\nA=8\nB=1\nB=2\nB=3\nB=4\nB=5\nB=6\nB=7\nB=8", "",
		  "takes more than 64 values" },
		{ "FROM tiny:1 AS a\nFROM a\nFROM bad/x\n", NULL, "1 FROM tiny:1;3 FROM bad/x;", "refused bad/x" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		dr_buf got = DR_BUF_INIT(0);
		_cleanup_strv_ char **args = NULL;
		if (rows[i].args) {
			_cleanup_free_ char *a = dr_xstrdup(rows[i].args);
			char *save = NULL;
			for (char *t = strtok_r(a, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
				dr_strv_push(&args, t);
		}
		char buf[256];
		const char *why = gd_df_scan(rows[i].df, strlen(rows[i].df), args, false, df_collect, &got,
		                             buf, sizeof(buf));
		dr_buf_append(&got, "", 1);
		/* the readings (escape \ or `, heredocs or not) report a reference once each: the
		 * set reported is the row's (a refusal stops at the first) */
		_cleanup_strv_ char **want = NULL, **seen = NULL;
		_cleanup_free_ char *w = dr_xstrdup(rows[i].want), *g = dr_xstrdup(got.data);
		char *save = NULL;
		for (char *t = strtok_r(w, ";", &save); t; t = strtok_r(NULL, ";", &save))
			dr_strv_push(&want, t);
		for (char *t = strtok_r(g, ";", &save); t; t = strtok_r(NULL, ";", &save))
			if (!strv_has(seen, t))
				dr_strv_push(&seen, t);
		for (size_t k = 0; want && want[k]; k++)
			if (!strv_has(seen, want[k]))
				fail_msg("row %zu: \"%s\" not reported (got \"%s\")", i, want[k], got.data);
		for (size_t k = 0; !rows[i].why && seen && seen[k]; k++)
			if (!strv_has(want, seen[k]))
				fail_msg("row %zu: \"%s\" reported, not expected (got \"%s\")", i, seen[k], got.data);
		if (!rows[i].why ? why != NULL : !why || !strstr(why, rows[i].why))
			fail_msg("row %zu: %s", i, why ? why : "(allowed)");
		dr_buf_reset(&got);
	}
	char buf[256];
	assert_non_null(gd_df_scan("FROM a\0", 7, NULL, false, df_collect, NULL, buf, sizeof(buf)));
	assert_non_null(strstr(gd_df_scan("ARG A\nFROM $A\n", 14, NULL, true, df_collect, NULL, buf, sizeof(buf)),
	                       "too many build-arg values"));
}

/* /info: counts zeroed, the node's data directory blanked (T47). */
static void
test_post_info(void **state)
{
	(void)state;
	gd_ctx c = { .tenant = "bravo", .policy = &pol, .res = &stub };
	const char *in = "{\"ID\":\"x\",\"Containers\":7,\"ContainersRunning\":3,\"Images\":9,"
	                 "\"DockerRootDir\":\"/var/lib/deskrun/cache/daemonset/docker\",\"Driver\":\"overlay2\"}";
	size_t n = 0;
	char *out = gd_post_filter(&c, GD_POST_INFO, NULL, 200, in, strlen(in), &n);
	assert_non_null(out);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "{\"ID\":\"x\",\"Containers\":0,\"ContainersRunning\":0,\"Images\":0,"
	                         "\"DockerRootDir\":\"\",\"Driver\":\"overlay2\"}");
	free(out);
	/* an answer without the field gets none added */
	out = gd_post_filter(&c, GD_POST_INFO, NULL, 200, "{\"ID\":\"x\"}", 10, &n);
	assert_string_equal(out, "{\"ID\":\"x\"}");
	free(out);
}

/* docker volume ls: the tenant's labelled volumes and the anonymous ones the daemon made for
 * its containers (recorded), nothing else. */
static void
test_post_volumes(void **state)
{
	(void)state;
	gd_ctx c = { .tenant = "bravo", .policy = &pol, .res = &stub };
	const char *in = "{\"Volumes\":[{\"Name\":\"mine\",\"Labels\":{\"io.deskrun.tenant\":\"bravo\"}},"
	                 "{\"Name\":\"theirs\",\"Labels\":{\"io.deskrun.tenant\":\"alpha\"}},"
	                 "{\"Name\":\"anon-bravo\",\"Labels\":null},{\"Name\":\"anon-alpha\",\"Labels\":null}],"
	                 "\"Warnings\":null}";
	size_t n = 0;
	char *out = gd_post_filter(&c, GD_POST_VOLUMES_LIST, NULL, 200, in, strlen(in), &n);
	assert_non_null(out);
	assert_non_null(strstr(out, "\"mine\""));
	assert_non_null(strstr(out, "\"anon-bravo\""));
	assert_null(strstr(out, "theirs"));
	assert_null(strstr(out, "anon-alpha"));
	free(out);
	gd_decision d;
	assert_int_equal(decide("GET", "/v1.41/volumes", NULL, &d), 0);
	assert_int_equal(d.post, GD_POST_VOLUMES_LIST);
	gd_decision_clear(&d);
}

static void
test_cidr(void **state)
{
	(void)state;
	static const struct { const char *s; bool prefix; int ok; unsigned bits; } parse[] = {
		{ "10.201.0.0/16", true, 0, 16 }, { "0.0.0.0/0", true, 0, 0 },
		{ "10.1.2.3/32", true, 0, 32 }, { "10.1.2.3", false, 0, 32 },
		{ "fd00:0:0:1::/64", true, 0, 64 }, { "::/0", true, 0, 0 }, { "FD00::1", false, 0, 128 },
		{ "fd00::1/128", true, 0, 128 },
		{ "10.1.2.3", true, -1, 0 },           /* a CIDR needs its /N */
		{ "10.1.0.0/16", false, -1, 0 },       /* an address has none */
		{ "10.1.0.0/33", true, -1, 0 }, { "fd00::/129", true, -1, 0 },
		{ "10.1.0.0/024", true, -1, 0 },       /* leading zero in the prefix length */
		{ "10.1.0.0/", true, -1, 0 }, { "/8", true, -1, 0 }, { "10.1.0.0/1a", true, -1, 0 },
		{ "10.1.0.0/-1", true, -1, 0 }, { "10.1.0.0/+8", true, -1, 0 },
		{ "010.1.0.0/16", true, -1, 0 },       /* octal-looking octet */
		{ "10.1.0/24", true, -1, 0 }, { "10.1.0.256/32", true, -1, 0 },
		{ " 10.1.0.0/16", true, -1, 0 }, { "10.1.0.0/16 ", true, -1, 0 },
		{ "::ffff:10.1.0.0/120", true, -1, 0 }, /* IPv4 inside IPv6 */
		{ "::10.1.0.1", false, -1, 0 }, { "fe80::1%eth0", false, -1, 0 },
		{ "fd00:::1", false, -1, 0 }, { "fd00::12345", false, -1, 0 }, { "", false, -1, 0 },
		{ "10.1.0.0/16/8", true, -1, 0 },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(parse); i++) {
		gd_cidr c;
		int r = gd_cidr_parse(parse[i].s, parse[i].prefix, &c);
		if (r != parse[i].ok || (r == 0 && c.bits != parse[i].bits))
			fail_msg("parse \"%s\": %d (/%u), want %d (/%u)", parse[i].s, r, c.bits,
			         parse[i].ok, parse[i].bits);
	}
	static const struct { const char *outer, *inner; bool prefix, in; } rows[] = {
		{ "10.201.0.0/16", "10.201.0.0/16", true, true },    /* the same subnet */
		{ "10.201.0.0/16", "10.201.7.0/24", true, true },
		{ "10.201.0.0/16", "10.201.255.255/32", true, true }, /* the last address */
		{ "10.201.0.0/16", "10.200.0.0/15", true, false },   /* larger, around it */
		{ "10.201.0.0/16", "10.201.0.0/15", true, false },   /* larger, spelt with its first bits */
		{ "10.201.0.0/16", "10.201.0.0/8", true, false },
		{ "fd00:0:0:1::/64", "fd00:0:0:1::/63", true, false },
		{ "10.201.0.0/16", "10.202.0.0/24", true, false },   /* next door */
		{ "10.201.0.0/16", "10.200.255.0/24", true, false },  /* just below */
		{ "10.201.0.0/16", "10.201.9.9/24", true, true },     /* host bits: its network is inside */
		{ "10.201.0.0/16", "10.201.0.1", false, true },
		{ "10.201.0.0/16", "10.2.0.1", false, false },
		{ "10.201.128.0/17", "10.201.127.1", false, false }, /* a prefix not on a byte */
		{ "10.201.128.0/17", "10.201.200.1", false, true },
		{ "0.0.0.0/0", "192.168.1.0/24", true, true },
		{ "0.0.0.0/0", "fd00::/64", true, false },            /* families never mix */
		{ "::/0", "10.0.0.0/8", true, false },
		{ "fd00:0:0:1::/64", "fd00:0:0:1:8000::/65", true, true },
		{ "fd00:0:0:1::/64", "fd00:0:0:2::/64", true, false },
		{ "fd00:0:0:1::/64", "fd00::/48", true, false },
		{ "fd00:0:0:1::/64", "fd00::1:0:0:0:1", false, true }, /* the same address, other spelling */
		{ "fd00:0:0:1::/63", "fd00:0:0:0::1", false, true },
		{ "fd00:0:0:2::/63", "fd00:0:0:1::1", false, false },
		{ "10.1.2.3/32", "10.1.2.3", false, true },
		{ "fd00::1/128", "fd00::1", false, true }, { "fd00::1/128", "fd00::2", false, false },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		gd_cidr o, n;
		assert_int_equal(gd_cidr_parse(rows[i].outer, true, &o), 0);
		assert_int_equal(gd_cidr_parse(rows[i].inner, rows[i].prefix, &n), 0);
		if (gd_cidr_contains(&o, &n) != rows[i].in)
			fail_msg("%s in %s: %d, want %d", rows[i].inner, rows[i].outer, !rows[i].in,
			         rows[i].in);
	}
}

/* Network create: IPAM.Config addresses only inside the policy's "subnets". */
static void
test_decide_subnets(void **state)
{
	(void)state;
	gd_decision d;
	const char *N = "/v1.41/networks/create";
	/* no "subnets": the daemon picks the pool, anything the tenant names is refused */
	assert_int_equal(decide("POST", N, "{\"Name\":\"bravo-n\"}", &d), 0);
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", N, "{\"Name\":\"bravo-n\",\"IPAM\":{\"Config\":[]}}", &d), 0);
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", N, "{\"Name\":\"bravo-n\",\"IPAM\":{\"Config\":[{}]}}", &d), 0);
	gd_decision_clear(&d);
	assert_int_equal(decide("POST", N, "{\"Name\":\"bravo-n\",\"IPAM\":{\"Driver\":\"default\","
	                                   "\"Config\":[{\"Subnet\":\"192.168.1.0/24\"}]}}", &d), 403);
	assert_string_equal(d.message, "network IPAM.Config[0].Subnet \"192.168.1.0/24\": subnets are "
	                               "chosen by the daemon unless the policy lists them (\"subnets\")");
	assert_string_equal(d.field, "IPAM.Config");
	gd_decision_clear(&d);
	/* folded keys land on the same fields (ipam, config, subnet) */
	assert_int_equal(decide("POST", N, "{\"Name\":\"bravo-n\",\"ipam\":{\"config\":"
	                                   "[{\"subnet\":\"10.96.0.0/12\"}]}}", &d), 403);
	gd_decision_clear(&d);

	char s4[] = "10.201.0.0/16", s6[] = "fd00:0:0:1::/64";
	char *subnets[] = { s4, s6, NULL };
	pol.subnets = subnets;
	static const struct { const char *cfg; int status; const char *msg; } rows[] = {
		{ "{\"Subnet\":\"10.201.3.0/24\",\"IPRange\":\"10.201.3.128/25\",\"Gateway\":\"10.201.3.1\","
		  "\"AuxiliaryAddresses\":{\"h\":\"10.201.3.2\"}}", 0, NULL },
		{ "{\"Subnet\":\"10.201.0.0/16\"}", 0, NULL },
		{ "{\"Subnet\":\"fd00:0:0:1:1::/80\"}", 0, NULL },
		{ "{\"Subnet\":\"10.200.0.0/15\"}", 403,
		  "network IPAM.Config[1].Subnet \"10.200.0.0/15\": outside the subnets the policy allows "
		  "(\"subnets\": 10.201.0.0/16, fd00:0:0:1::/64)" },
		{ "{\"Subnet\":\"10.201.3.0/24\",\"IPRange\":\"10.0.0.0/24\"}", 403, "IPRange" },
		{ "{\"Subnet\":\"10.201.3.0/24\",\"Gateway\":\"10.0.0.1\"}", 403, "Gateway" },
		{ "{\"Subnet\":\"10.201.3.0/24\",\"AuxiliaryAddresses\":{\"router\":\"192.168.0.1\"}}", 403,
		  "IPAM.Config[1].AuxiliaryAddresses[\"router\"] \"192.168.0.1\"" },
		{ "{\"Subnet\":\"::ffff:10.201.0.0/112\"}", 403, "not a plain CIDR" },
		{ "{\"Subnet\":\"10.201.3.0\"}", 403, "not a plain CIDR" },
		{ "{\"Gateway\":\"10.201.3.1/24\"}", 403, "not a plain address" },
		{ "{\"Subnet\":\"fd00:0:0:2::/64\"}", 403, "outside" },
		{ "{\"Subnet\":\"10.201.0.0/15\"}", 403, "outside" }, /* the daemon makes 10.200.0.0/15 */
		{ "{\"Subnet\":\"10.201.0.0/24\",\"IPRange\":\"10.201.0.0/8\"}", 403, "IPRange" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		/* the row's entry comes second, after one that is allowed */
		char body[512];
		snprintf(body, sizeof(body), "{\"Name\":\"bravo-n\",\"IPAM\":{\"Config\":[{\"Subnet\":"
		         "\"10.201.9.0/24\"},%s]}}", rows[i].cfg);
		int st = decide("POST", N, body, &d);
		if (st != rows[i].status || (rows[i].msg && !strstr(d.message, rows[i].msg)))
			fail_msg("row %zu: status %d, want %d: %s", i, st, rows[i].status,
			         d.message ? d.message : "");
		gd_decision_clear(&d);
	}
	pol.subnets = NULL;
}

static void
test_policy_subnets(void **state)
{
	(void)state;
	static const struct { const char *json; int rc; const char *msg; } rows[] = {
		{ "{\"subnets\":[\"10.201.0.0/16\",\"fd00:0:0:1::/64\"]}", 0, NULL },
		{ "{\"subnets\":[]}", 0, NULL },
		{ "{\"subnets\":[\"10.201.0.0\"]}", -1, "\"subnets\": \"10.201.0.0\" is not a CIDR" },
		{ "{\"subnets\":[\"10.201.0.0/16\",\"banana\"]}", -1, "\"banana\" is not a CIDR" },
		{ "{\"subnets\":[\"10.201.5.0/16\"]}", -1, "the network is 10.201.0.0/16" },
		{ "{\"subnets\":[\"fd00::1/64\"]}", -1, "the network is fd00::/64" },
		{ "{\"subnets\":\"10.201.0.0/16\"}", -1, "\"subnets\": expected an array of strings" },
	};
	char path[] = "/tmp/guard-policy-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(rows[i].json, f);
		fclose(f);
		gd_policy p;
		dr_err *err = NULL;
		int rc = gd_policy_load(&p, path, &err);
		if (rc != rows[i].rc || (rc < 0 && (err->code != DR_EXIT_USAGE ||
		                                    !strstr(err->msg, rows[i].msg))))
			fail_msg("row %zu: rc %d: %s", i, rc, err ? err->msg : "");
		dr_err_free(err);
		gd_policy_clear(&p);
	}
	unlink(path);
}

/* The BuildKit tunnel's method allowlist: what buildx calls passes, the rest is refused with
 * its reason. */
static void
test_grpc_allowlist(void **state)
{
	(void)state;
	struct {
		const char *path;
		const char *why; /* NULL: allowed */
	} rows[] = {
		{ "/moby.buildkit.v1.Control/Solve", NULL },
		{ "/moby.buildkit.v1.Control/Status", NULL },
		{ "/moby.buildkit.v1.Control/ListWorkers", NULL },
		{ "/moby.buildkit.v1.Control/Info", NULL },
		{ "/moby.buildkit.v1.frontend.LLBBridge/Solve", NULL },
		{ "/moby.buildkit.v1.frontend.LLBBridge/ReadFile", NULL },
		{ "/moby.buildkit.v1.frontend.LLBBridge/Return", NULL },
		{ "/moby.buildkit.v1.Control/Prune", "BuildKit Prune is refused: the build cache is shared" },
		{ "/moby.buildkit.v1.Control/DiskUsage", "BuildKit DiskUsage is refused" },
		{ "/moby.buildkit.v1.Control/ListenBuildHistory", "build history is shared" },
		{ "/moby.buildkit.v1.Control/UpdateBuildHistory", "build history is shared" },
		{ "/moby.buildkit.v1.Control/Session", "sessions go through POST /session" },
		{ "/moby.buildkit.v1.Control/Nope", "Control/Nope is not on the guard's BuildKit allowlist" },
		{ "/moby.buildkit.v1.Control/Solve2", "not on the guard's BuildKit allowlist" },
		{ "/moby.buildkit.v1.Control/solve", "not on the guard's BuildKit allowlist" },
		{ "/moby.buildkit.v1.frontend.LLBBridge/NewContainer", "not on the guard's BuildKit allowlist" },
		{ "/moby.buildkit.v1.frontend.LLBBridge/ExecProcess", "not on the guard's BuildKit allowlist" },
		{ "/containerd.services.content.v1.Content/Read", "content store" },
		{ "/opentelemetry.proto.collector.trace.v1.TraceService/Export", "not on the guard's" },
		{ "/v1.41/moby.buildkit.v1.Control/Solve", "not on the guard's BuildKit allowlist" },
		{ "", "not on the guard's BuildKit allowlist" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		char buf[512];
		const char *why = gd_grpc_refusal(rows[i].path, buf, sizeof(buf));
		if (!rows[i].why ? why != NULL : !why || !strstr(why, rows[i].why))
			fail_msg("%s: %s", rows[i].path, why ? why : "(allowed)");
	}
}

/* protobuf, written here: a length-delimited field, a varint field, a map entry */
static void
pb_len(dr_buf *b, unsigned num, const void *p, size_t n)
{
	uint8_t k[2] = { (uint8_t)(num << 3 | 2), (uint8_t)n };
	assert_true(num < 16 && n < 128);
	dr_buf_append(b, k, 2);
	dr_buf_append(b, p, n);
}

static void
pb_str(dr_buf *b, unsigned num, const char *s)
{
	pb_len(b, num, s, strlen(s));
}

static void
pb_map(dr_buf *b, unsigned num, const char *k, const char *v)
{
	dr_buf e = DR_BUF_INIT(0);
	pb_str(&e, 1, k);
	pb_str(&e, 2, v);
	pb_len(b, num, e.data, e.len);
	dr_buf_reset(&e);
}

/* Solve requests (Control and LLBBridge) as the guard reads them. */
static void
test_grpc_solve(void **state)
{
	(void)state;
	gd_policy spol = { 0 };
	gd_ctx c = { .tenant = "bravo", .policy = &spol, .res = &stub };
	const char *ctl = "/moby.buildkit.v1.Control/Solve";
	const char *brg = "/moby.buildkit.v1.frontend.LLBBridge/Solve";
	assert_true(gd_grpc_inspects(ctl));
	assert_true(gd_grpc_inspects(brg));
	assert_true(gd_grpc_inspects("/moby.buildkit.v1.Control/Status"));
	assert_false(gd_grpc_inspects("/moby.buildkit.v1.Control/ListWorkers"));
	for (int row = 0; row < 34; row++) {
		dr_buf m = DR_BUF_INIT(0), x = DR_BUF_INIT(0);
		const char *path = ctl, *want = NULL;
		pb_str(&m, 1, "ref-1");
		pb_str(&m, 5, "session-uuid");
		switch (row) {
		case 0: /* what buildx sends: an exporter (13, and the deprecated 3/4), no frontend */
			pb_str(&x, 1, "moby");
			pb_map(&x, 2, "name", "bravo/app:1,docker.io/bravo/app:latest");
			pb_len(&m, 13, x.data, x.len);
			pb_str(&m, 3, "moby");
			pb_map(&m, 4, "name", "bravo/app:1");
			pb_map(&m, 7, "build-arg:X", "1");
			break;
		case 1:
			pb_str(&x, 1, "moby");
			pb_map(&x, 2, "name", "bravo/app:1, node:18");
			pb_len(&m, 13, x.data, x.len);
			want = "image name \"node:18\": images made here must be tagged in the tenant's namespace";
			break;
		case 2:
			pb_str(&m, 3, "moby");
			pb_map(&m, 4, "name", "alpha/app:1");
			want = "image name \"alpha/app:1\"";
			break;
		case 3:
			pb_str(&m, 9, "network.host");
			want = "entitlement network.host is refused (the policy's buildkit_entitlements allows none)";
			break;
		case 4: /* ... unless the policy lists it */
			pb_str(&m, 9, "network.host");
			spol.buildkit_entitlements = dr_xcalloc(2, sizeof(char *));
			spol.buildkit_entitlements[0] = dr_xstrdup("network.host");
			break;
		case 5:
			pb_str(&m, 9, "security.insecure");
			want = "entitlement security.insecure is refused (the policy's buildkit_entitlements allows only those it lists)";
			break;
		case 6:
			pb_map(&m, 7, "cgroup-parent", "/");
			want = "Solve: cgroup-parent is refused";
			break;
		case 7:
			pb_str(&m, 6, "gateway.v0");
			pb_map(&m, 7, "source", "docker/dockerfile:1.7@sha256:aaaa");
			want = "frontend image";
			break;
		case 8:
			pb_str(&m, 6, "gateway.v0");
			pb_map(&m, 7, "source", "docker.io/docker/dockerfile:1");
			break;
		case 9:
			pb_str(&m, 6, "gateway.v0");
			pb_map(&m, 7, "source", "evil/dockerfile:1");
			want = "frontend image evil/dockerfile:1 is refused";
			break;
		case 10:
			pb_str(&m, 6, "my.frontend");
			want = "frontend my.frontend is refused";
			break;
		case 11:
			pb_len(&m, 2, "\x0a\x01x", 3);
			want = "raw LLB definition is refused";
			break;
		case 12:
			pb_str(&m, 6, "dockerfile.v0");
			pb_str(&m, 6, "gateway.v0");
			want = "field 6 appears twice";
			break;
		case 13:
			pb_map(&m, 7, "target", "a");
			pb_map(&m, 7, "target", "b");
			want = "frontend attribute key appears twice";
			break;
		case 14:
			pb_len(&m, 14, "", 0); /* wrong wire type for a bool */
			want = "wrong wire type";
			break;
		case 15: {
			uint8_t f14[2] = { 14 << 3, 1 };
			dr_buf_append(&m, f14, 2);
			want = "exporters chosen by the client's session";
			break;
		}
		case 16:
			dr_buf_append(&m, "\xc2\x01\x00", 3); /* field 24 */
			want = "field 24 is not known";
			break;
		case 17: /* the LLBBridge's Solve: frontend 2, options 3 */
			path = brg;
			m.len = 0; /* the LLBBridge's field 1 is its Definition */
			pb_str(&m, 2, "gateway.v0");
			pb_map(&m, 3, "source", "evil/frontend");
			want = "LLBBridge Solve: frontend image evil/frontend is refused";
			break;
		case 18:
			path = brg;
			m.len = 0; /* the LLBBridge's field 1 is its Definition */
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "cgroup-parent", "x");
			want = "LLBBridge Solve: cgroup-parent is refused";
			break;
		case 19:
			path = brg;
			m.len = 0; /* the LLBBridge's field 1 is its Definition */
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "label:IO.Deskrun.tenant", "alpha");
			want = "labels in the io.deskrun. namespace are set by the guard";
			break;
		case 20:
			path = brg;
			m.len = 0; /* the LLBBridge's field 1 is its Definition */
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "label:org.example", "x");
			break;
		case 21:
			path = brg;
			m.len = 0; /* the LLBBridge's field 1 is its Definition */
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "build-arg:BUILDKIT_CACHE_MOUNT_NS", "alpha");
			want = "BUILDKIT_CACHE_MOUNT_NS is set by the guard";
			break;
		case 23: /* Status follows a build by the tenant's name for its ref */
			path = "/moby.buildkit.v1.Control/Status";
			m.len = 0;
			pb_str(&m, 1, "r");
			break;
		case 24:
			path = "/moby.buildkit.v1.Control/Status";
			m.len = 0;
			want = "Status: a build ref is required";
			break;
		case 25:
			path = "/moby.buildkit.v1.Control/Status";
			pb_str(&m, 2, "x");
			want = "Status: request field";
			break;
		case 26: /* raw LLB in the LLBBridge's Solve (B10) */
			path = brg;
			m.len = 0;
			pb_len(&m, 1, "\x0a\x01x", 3);
			pb_str(&m, 2, "dockerfile.v0");
			want = "LLBBridge Solve: a raw LLB definition is refused";
			break;
		case 27: /* named contexts as LLB (FrontendInputs) */
			path = brg;
			m.len = 0;
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 13, "ctx", "\x0a\x01x");
			want = "LLBBridge Solve: frontend inputs (raw LLB";
			break;
		case 28:
			pb_map(&m, 10, "ctx", "\x0a\x01x");
			want = "Solve: frontend inputs (raw LLB) are refused";
			break;
		case 29: /* the Dockerfile must come through the session the guard reads */
			pb_map(&m, 7, "dockerfilekey", "context");
			want = "frontend attribute dockerfilekey is refused";
			break;
		case 30:
			path = brg;
			m.len = 0;
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "context", "https://example.com/repo.git");
			want = "a remote build context (https://example.com/repo.git) is refused";
			break;
		case 31:
			path = brg;
			m.len = 0;
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "context:base", "docker-image://alpha/app:1");
			want = "named context alpha/app:1: the name is in another tenant's namespace";
			break;
		case 32:
			path = brg;
			m.len = 0;
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "context:base", "local:other");
			want = "named context base=local:other is refused";
			break;
		case 33: /* the built-in frontend runs a BUILDKIT_SYNTAX image itself */
			path = brg;
			m.len = 0;
			pb_str(&m, 2, "dockerfile.v0");
			pb_map(&m, 3, "build-arg:BUILDKIT_SYNTAX", "evil/fe:1 --x");
			want = "frontend image evil/fe:1 is refused (BUILDKIT_SYNTAX)";
			break;
		case 22: /* bake's shared contexts name sessions in attributes: renamed too */
			pb_map(&m, 7, "local-sessionid:ctx", "other-uuid");
			pb_str(&m, 15, "policy-uuid");
			break;
		}
		char buf[512];
		dr_buf add = DR_BUF_INIT(0);
		const char *why = gd_grpc_check(&c, path, (const uint8_t *)m.data, m.len, buf, sizeof(buf),
		                                &add);
		/* the tenant label and cache-mount namespace are added when a frontend runs in the
		 * daemon: buildx's Control Solve has none (row 0), a gateway.v0 one (row 8) gets them
		 * as field 7 entries */
		static const char lab7[] = "\x3a\x20\x0a\x17label:io.deskrun.tenant\x12\x05" "bravo"
		                           "\x3a\x2a\x0a\x21" "build-arg:BUILDKIT_CACHE_MOUNT_NS\x12\x05" "bravo";
		/* the message that goes on: the Control Solve's session named for the tenant
		 * (field 5, "bravo.session-uuid"), the rest as it was, then the entries added */
		static const char ses[] = "\x0a\x0b" "bravo.ref-1" "\x2a\x12" "bravo.session-uuid";
		size_t tail = sizeof(lab7) - 1;
		if (why)
			assert_int_equal(add.len, 0);
		if (row == 0) { /* buildx's: the ref and session renamed, nothing added */
			assert_int_equal(add.len, m.len + 12);
			assert_memory_equal(add.data, ses, sizeof(ses) - 1);
			assert_memory_equal(add.data + sizeof(ses) - 1, m.data + 21, m.len - 21);
		}
		if (row == 8) {
			assert_int_equal(add.len, m.len + 12 + tail);
			assert_memory_equal(add.data, ses, sizeof(ses) - 1);
			assert_memory_equal(add.data + add.len - tail, lab7, tail);
		}
		if (row == 20) { /* LLBBridge: no session field; the entries are field 3's */
			assert_int_equal(add.len, m.len + tail);
			assert_memory_equal(add.data, m.data, m.len);
			const char *a = add.data + m.len;
			assert_int_equal((unsigned char)a[0], 3 << 3 | 2);
			assert_int_equal((unsigned char)a[34], 3 << 3 | 2);
			assert_memory_equal(a + 1, lab7 + 1, 33);
			assert_memory_equal(a + 35, lab7 + 35, tail - 35);
		}
		if (row == 23) {
			assert_int_equal(add.len, 9);
			assert_memory_equal(add.data, "\x0a\x07" "bravo.r", 9);
		}
		if (row == 22) {
			assert_non_null(memmem(add.data, add.len, "\x12\x10" "bravo.other-uuid", 18));
			assert_non_null(memmem(add.data, add.len, "\x7a\x11" "bravo.policy-uuid", 19));
			assert_null(memmem(add.data, add.len, "\x12\x0a" "other-uuid", 12));
		}
		dr_buf_reset(&add);
		if (!want ? why != NULL : !why || !strstr(why, want))
			fail_msg("row %d: %s", row, why ? why : "(allowed)");
		if (row == 4) {
			dr_strv_free(spol.buildkit_entitlements);
			spol.buildkit_entitlements = NULL;
			spol.buildkit_entitlements = dr_xcalloc(2, sizeof(char *));
			spol.buildkit_entitlements[0] = dr_xstrdup("device");
		}
		dr_buf_reset(&m);
		dr_buf_reset(&x);
	}
	dr_strv_free(spol.buildkit_entitlements);
	/* malformed protobuf */
	char buf[512];
	dr_buf add = DR_BUF_INIT(0);
	assert_non_null(gd_grpc_check(&c, ctl, (const uint8_t *)"\x0a\x09" "ab", 4, buf, sizeof(buf), &add));
	assert_int_equal(add.len, 0);
	assert_non_null(strstr(buf, "malformed"));
}

/* The build-args the Dockerfile check tries, by session (gd_argstore): a classic build's
 * under its session, an LLBBridge Solve's under its ref, linked to sessions by the Control
 * Solve; a session that ends takes its own with it. */
static void
test_argstore(void **state)
{
	(void)state;
	gd_argstore as = { 0 };
	gd_policy spol = { 0 };
	gd_ctx c = { .tenant = "bravo", .policy = &spol, .args = &as };
	/* the LLBBridge Solve of build ref r1 (its buildid metadata, renamed by the proxy) */
	dr_buf m = DR_BUF_INIT(0);
	pb_str(&m, 2, "dockerfile.v0");
	pb_map(&m, 3, "build-arg:BASE", "alpha/app:1");
	char buf[512];
	dr_buf add = DR_BUF_INIT(0);
	as.cur_ref = "bravo.r1";
	assert_null(gd_grpc_check(&c, "/moby.buildkit.v1.frontend.LLBBridge/Solve",
	                          (const uint8_t *)m.data, m.len, buf, sizeof(buf), &add));
	as.cur_ref = NULL;
	_cleanup_strv_ char **none = gd_args_for(&as, "s:bravo.s1");
	assert_null(none[0]); /* not linked to any session yet */
	/* the Control Solve {Ref r1, Session s1}: links r1 to s1 */
	dr_buf_reset(&m);
	dr_buf_reset(&add);
	pb_str(&m, 1, "r1");
	pb_str(&m, 5, "s1");
	assert_null(gd_grpc_check(&c, "/moby.buildkit.v1.Control/Solve", (const uint8_t *)m.data,
	                          m.len, buf, sizeof(buf), &add));
	_cleanup_strv_ char **got = gd_args_for(&as, "s:bravo.s1");
	assert_non_null(got[0]);
	assert_string_equal(got[0], "BASE=alpha/app:1");
	assert_null(got[1]);
	/* a classic build on session s2 */
	gd_args_record(&as, "s:bravo.s2", "BASE", "tiny:1");
	_cleanup_strv_ char **two = gd_args_for(&as, "s:bravo.s2");
	assert_string_equal(two[0], "BASE=tiny:1");
	assert_null(two[1]);
	/* the Dockerfile of s1 is checked with r1's value as well as the default */
	const char *df = "ARG BASE=tiny:1\nFROM $BASE\n";
	spol.min_api_minor = 41;
	c.res = &stub;
	const char *why = gd_session_dockerfile_check(&c, "s:bravo.s1", df, strlen(df), buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "FROM alpha/app:1: the name is in another tenant's namespace"));
	assert_null(gd_session_dockerfile_check(&c, "s:bravo.s2", df, strlen(df), buf, sizeof(buf)));
	const char *url = "FROM tiny:1\nCOPY --from=docker-image://alpha/app:1 / /\n";
	why = gd_session_dockerfile_check(&c, "s:bravo.s2", url, strlen(url), buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "is not an image reference the guard can check"));
	const char *own = "FROM bravo/app:1\n# a comment\n";
	assert_null(gd_session_dockerfile_check(&c, "s:bravo.s2", own, strlen(own), buf, sizeof(buf)));
	/* a local base image's ONBUILD triggers run in the build: checked */
	const char *trig = "FROM bravo/trig:1\n";
	why = gd_session_dockerfile_check(&c, "s:bravo.s2", trig, strlen(trig), buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "FROM bravo/trig:1: its ONBUILD trigger: ONBUILD COPY --from alpha/app:1"));
	const char *trigok = "FROM bravo/trig-ok:1\nCOPY --from=bravo/trig:1 / /\n";
	assert_null(gd_session_dockerfile_check(&c, "s:bravo.s2", trigok, strlen(trigok), buf, sizeof(buf)));
	const char *syn = "# syntax=evil/frontend:1\nFROM tiny:1\n";
	why = gd_session_dockerfile_check(&c, "s:bravo.s2", syn, strlen(syn), buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "# syntax=evil/frontend:1 is refused"));
	/* the guard's copies of checked Dockerfiles, by (shared key, stat) */
	gd_dfcache_put(&as, "k\0stat1", 7, "FROM tiny:1\n", 12);
	size_t dl = 0;
	const char *dd = gd_dfcache_get(&as, "k\0stat1", 7, &dl);
	assert_non_null(dd);
	assert_int_equal(dl, 12);
	assert_memory_equal(dd, "FROM tiny:1\n", 12);
	assert_null(gd_dfcache_get(&as, "k\0stat2", 7, &dl));
	static char big[GD_DFCACHE_BYTES / 4];
	memset(big, 'x', sizeof(big));
	for (int k = 0; k < 5; k++) { /* the oldest go once the copies pass the cap */
		char key[8];
		snprintf(key, sizeof(key), "big%d", k);
		gd_dfcache_put(&as, key, strlen(key), big, sizeof(big));
	}
	assert_null(gd_dfcache_get(&as, "k\0stat1", 7, &dl));
	assert_null(gd_dfcache_get(&as, "big0", 4, &dl));
	assert_non_null(gd_dfcache_get(&as, "big4", 4, &dl));
	assert_true(as.dfc_bytes <= GD_DFCACHE_BYTES);
	/* a build on a session that already sent a Dockerfile may reuse it without a transfer:
	 * its Solve is checked against it with its own build-args */
	gd_args_seen(&as, "s:bravo.s3", df, strlen(df));
	dr_buf_reset(&m);
	dr_buf_reset(&add);
	pb_str(&m, 1, "r3");
	pb_str(&m, 5, "s3");
	pb_map(&m, 7, "build-arg:BASE", "alpha/app:1");
	why = gd_grpc_check(&c, "/moby.buildkit.v1.Control/Solve", (const uint8_t *)m.data, m.len,
	                    buf, sizeof(buf), &add);
	assert_non_null(why);
	assert_non_null(strstr(why, "Solve: the Dockerfile this build's session already sent, with this build's build-args: Dockerfile line 2: FROM alpha/app:1"));
	dr_buf_reset(&m);
	dr_buf_reset(&add);
	/* (the values a session was given stay with it until it ends: a refused build's too) */
	gd_args_seen(&as, "s:bravo.s5", df, strlen(df));
	pb_str(&m, 1, "r5");
	pb_str(&m, 5, "s5");
	pb_map(&m, 7, "build-arg:BASE", "tiny:1");
	assert_null(gd_grpc_check(&c, "/moby.buildkit.v1.Control/Solve", (const uint8_t *)m.data,
	                          m.len, buf, sizeof(buf), &add));
	gd_args_forget(&as, "s:bravo.s5");
	/* past the cap a session's later builds are refused, not left unchecked */
	static char cmt[200 * 1024]; /* a Dockerfile of comments */
	memset(cmt, '#', sizeof(cmt));
	for (size_t k = 0; k < sizeof(cmt); k += 80)
		cmt[k] = '\n';
	for (int k = 0; k < 45; k++) {
		cmt[1] = (char)('a' + k % 26);
		cmt[2] = (char)('a' + k / 26);
		gd_args_seen(&as, "s:bravo.s6", cmt, sizeof(cmt));
	}
	assert_true(as.seen_bytes <= GD_DFCACHE_BYTES);
	char s6id[] = "bravo.s6";
	char *const s6[] = { s6id, NULL };
	why = gd_args_recheck(&c, s6, NULL, buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "more Dockerfiles than the guard keeps"));
	gd_args_forget(&as, "s:bravo.s6");
	assert_int_equal(as.seen_bytes, strlen(df)); /* s3's */
	gd_args_forget(&as, "s:bravo.s3");
	assert_int_equal(as.seen_bytes, 0);
	assert_int_equal(as.nseen, 0);
	gd_args_forget(&as, "s:bravo.s1");
	_cleanup_strv_ char **gone = gd_args_for(&as, "s:bravo.s1");
	assert_null(gone[0]);
	assert_int_equal(as.n, 1);
	assert_int_equal(as.nl, 0);
	dr_buf_reset(&m);
	dr_buf_reset(&add);
	gd_args_clear(&as);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_scan),
		cmocka_unit_test(test_head_scan_reference),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_head_storage),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_decide_create),
		cmocka_unit_test(test_decide_routes),
		cmocka_unit_test(test_build_ids),
		cmocka_unit_test(test_dockerfile_refs),
		cmocka_unit_test(test_post_info),
		cmocka_unit_test(test_post_volumes),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_decide_subnets),
		cmocka_unit_test(test_policy_subnets),
		cmocka_unit_test(test_grpc_allowlist),
		cmocka_unit_test(test_grpc_solve),
		cmocka_unit_test(test_argstore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
