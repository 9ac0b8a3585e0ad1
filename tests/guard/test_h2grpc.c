/* cmocka tests of src/guard/h2grpc.c with hand-built HTTP/2 frames: HPACK blocks are written
 * here byte by byte (literals, static and dynamic indexes), and what the reader sends on is
 * decoded with a fresh nghttp2 inflater, as the daemon would. */
#include "lib/common.h"
#include "guard/h2grpc.h"

#include <nghttp2/nghttp2.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* ---- building frames ---- */

static void
put(dr_buf *b, const void *p, size_t n)
{
	dr_buf_append(b, p, n);
}

static void
frame(dr_buf *b, uint8_t type, uint8_t flags, uint32_t sid, const void *p, size_t n)
{
	gh_frame_head(b, (uint32_t)n, type, flags, sid);
	put(b, p, n);
}

/* HPACK, no Huffman: a string with a 7-bit length (all ours are short) */
static void
hstr(dr_buf *b, const char *s)
{
	uint8_t l = (uint8_t)strlen(s);
	put(b, &l, 1);
	put(b, s, strlen(s));
}

/* literal without indexing, new name */
static void
lit(dr_buf *b, const char *n, const char *v)
{
	put(b, "\x00", 1);
	hstr(b, n);
	hstr(b, v);
}

/* A gRPC request block: :method POST (static 3), :scheme http (static 6), then :path as a
 * literal with incremental indexing on static name 4 (so it lands in the dynamic table),
 * content-type literal. */
static void
req_block(dr_buf *b, const char *path, bool index_path)
{
	put(b, "\x83\x86", 2);
	if (index_path) {
		put(b, "\x44", 1);
		hstr(b, path);
	} else {
		lit(b, ":path", path);
	}
	lit(b, "content-type", "application/grpc");
	lit(b, "te", "trailers");
}

static void
grpc_msg(dr_buf *b, const void *p, uint32_t n, bool compressed)
{
	uint8_t h[5] = { compressed, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
		         (uint8_t)n };
	put(b, h, 5);
	put(b, p, n);
}

/* ---- what the reader reports ---- */

typedef struct seen {
	char paths[8][128];
	uint32_t sids[8];
	size_t npaths;
	char msgs[8][256];
	size_t msglen[8];
	bool compressed[8];
	size_t nmsgs;
	const char *refuse; /* a :path to refuse */
	const char *hold;   /* a :path to hold */
	bool refuse_msg;    /* refuse held messages */
	const char *append; /* bytes to add to held messages */
	size_t nrefused;    /* held streams the reader refused itself */
	const char *rename; /* a new value for the "te" header */
} seen;

static gh_verdict
on_request(void *u, uint32_t sid, const gh_request *rq, const char **reason)
{
	seen *s = u;
	if (s->npaths < 8) {
		snprintf(s->paths[s->npaths], sizeof(s->paths[0]), "%s", rq->path);
		s->sids[s->npaths++] = sid;
	}
	if (s->refuse && strcmp(rq->path, s->refuse) == 0) {
		*reason = "deskrun guard: Control/Prune is refused (the build cache is shared)";
		return GH_REFUSE;
	}
	for (size_t i = 0; s->rename && i < rq->nhdrs; i++)
		if (strcmp(rq->hdrs[i].name, "te") == 0) {
			rq->hdrs[i].value = s->rename;
			rq->hdrs[i].value_len = strlen(s->rename);
		}
	if (s->hold && strcmp(rq->path, s->hold) == 0)
		return GH_HOLD;
	return GH_COLLECT;
}

static gh_verdict
on_message(void *u, uint32_t sid, const char *path, const uint8_t *m, size_t len, bool compressed,
           const char **reason, dr_buf *append)
{
	seen *s = u;
	(void)sid;
	if (s->nmsgs < 8) {
		memcpy(s->msgs[s->nmsgs], m, len < 256 ? len : 256);
		s->msglen[s->nmsgs] = len;
		s->compressed[s->nmsgs++] = compressed;
	}
	if (s->refuse_msg && s->hold && strcmp(path, s->hold) == 0) {
		*reason = "the Solve asks for network.host";
		return GH_REFUSE;
	}
	if (s->append && s->hold && strcmp(path, s->hold) == 0) {
		dr_buf_append(append, m, len); /* the message, with a field added */
		dr_buf_puts(append, s->append);
	}
	return GH_PASS;
}

static void
on_refused(void *u, uint32_t sid, const char *path, const char *reason)
{
	seen *s = u;
	(void)sid;
	(void)reason;
	assert_string_equal(path, "/moby.buildkit.v1.Control/Solve");
	s->nrefused++;
}

static const gh_ops ops = { on_request, on_message, on_refused };

/* Feed in pieces of `step` bytes (0: all at once) the way the relay does: unread bytes stay
 * and more are appended. Returns 0, or -1 with *why. */
static int
feed(gh_reader *r, const dr_buf *in, size_t step, dr_buf *out, const char **why)
{
	dr_buf pend = DR_BUF_INIT(0);
	size_t off = 0;
	int rc = 0;
	while (off < in->len) {
		size_t k = step && in->len - off > step ? step : in->len - off;
		put(&pend, in->data + off, k);
		off += k;
		ssize_t n = gh_rewrite(r, (const uint8_t *)pend.data, pend.len, out, why);
		if (n < 0) {
			rc = -1;
			break;
		}
		memmove(pend.data, pend.data + n, pend.len - (size_t)n);
		pend.len -= (size_t)n;
	}
	if (rc == 0 && pend.len) {
		*why = "bytes left over";
		rc = -1;
	}
	dr_buf_reset(&pend);
	return rc;
}

/* Walk frames of out: decode header blocks with inf; collect "sid:name=value" lines and the
 * DATA payload bytes. */
static void
decode_frames(nghttp2_hd_inflater *inf, const dr_buf *out, size_t skip, dr_buf *hdrs,
              dr_buf *data, dr_buf *types)
{
	size_t off = skip;
	dr_buf blk = DR_BUF_INIT(0);
	while (off + 9 <= out->len) {
		const uint8_t *h = (const uint8_t *)out->data + off;
		uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
		uint32_t sid = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) &
		               0x7fffffff;
		assert_true(off + 9 + len <= out->len);
		if (types)
			dr_buf_printf(types, "%u/%u/%u ", h[3], h[4], sid);
		if (h[3] == GH_HEADERS || h[3] == GH_CONTINUATION) {
			put(&blk, h + 9, len);
			if (h[4] & GH_F_END_HEADERS) {
				const uint8_t *p = (const uint8_t *)blk.data;
				size_t n = blk.len;
				for (;;) {
					nghttp2_nv nv;
					int fl = 0;
					ssize_t k = nghttp2_hd_inflate_hd2(inf, &nv, &fl, p, n, 1);
					assert_true(k >= 0);
					p += k;
					n -= (size_t)k;
					if (fl & NGHTTP2_HD_INFLATE_EMIT)
						dr_buf_printf(hdrs, "%u:%.*s=%.*s\n", sid, (int)nv.namelen, nv.name,
						              (int)nv.valuelen, nv.value);
					if (fl & NGHTTP2_HD_INFLATE_FINAL) {
						nghttp2_hd_inflate_end_headers(inf);
						break;
					}
					assert_true((fl & NGHTTP2_HD_INFLATE_EMIT) || n);
				}
				dr_buf_reset(&blk);
			}
		} else if (h[3] == GH_DATA && data) {
			put(data, h + 9, len);
		}
		off += 9 + len;
	}
	assert_int_equal(off, out->len);
	dr_buf_reset(&blk);
}

/* ---- tests ---- */

static void
build_solve_conn(dr_buf *in, const char *msg, size_t split)
{
	put(in, GH_PREFACE, GH_PREFACE_LEN);
	frame(in, GH_SETTINGS, 0, 0, "\x00\x04\x00\x10\x00\x00", 6);
	dr_buf blk = DR_BUF_INIT(0);
	req_block(&blk, "/moby.buildkit.v1.Control/Solve", true);
	frame(in, GH_HEADERS, GH_F_END_HEADERS, 1, blk.data, blk.len);
	dr_buf_reset(&blk);
	dr_buf g = DR_BUF_INIT(0);
	grpc_msg(&g, msg, (uint32_t)strlen(msg), false);
	frame(in, GH_DATA, 0, 1, g.data, split);
	/* the rest padded: pad length 3, then 3 zero bytes */
	dr_buf p = DR_BUF_INIT(0);
	put(&p, "\x03", 1);
	put(&p, g.data + split, g.len - split);
	put(&p, "\0\0\0", 3);
	frame(in, GH_DATA, GH_F_PADDED | GH_F_END_STREAM, 1, p.data, p.len);
	dr_buf_reset(&p);
	dr_buf_reset(&g);
}

static void
test_request_and_message(void **state)
{
	(void)state;
	const char *msg = "\x0a\x05ref-1\x32\x0c""dockerfile.v0";
	size_t steps[] = { 0, 1, 7, 100 };
	for (size_t i = 0; i < DR_ARRAY_LEN(steps); i++) {
		dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0);
		build_solve_conn(&in, msg, 9);
		seen s = { 0 };
		gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
		const char *why = NULL;
		assert_int_equal(feed(r, &in, steps[i], &out, &why), 0);
		assert_int_equal(s.npaths, 1);
		assert_string_equal(s.paths[0], "/moby.buildkit.v1.Control/Solve");
		assert_int_equal(s.sids[0], 1);
		assert_int_equal(s.nmsgs, 1);
		assert_int_equal(s.msglen[0], strlen(msg));
		assert_memory_equal(s.msgs[0], msg, strlen(msg));
		assert_false(s.compressed[0]);
		/* preface and SETTINGS byte for byte; the block re-encoded; DATA byte for byte */
		assert_memory_equal(out.data, in.data, GH_PREFACE_LEN + 15);
		nghttp2_hd_inflater *inf;
		assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
		dr_buf hdrs = DR_BUF_INIT(0), data = DR_BUF_INIT(0), types = DR_BUF_INIT(0);
		decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, &data, &types);
		assert_string_equal(hdrs.data, "1::method=POST\n1::scheme=http\n"
		                               "1::path=/moby.buildkit.v1.Control/Solve\n"
		                               "1:content-type=application/grpc\n1:te=trailers\n");
		assert_string_equal(types.data, "4/0/0 1/4/1 0/0/1 0/9/1 ");
		assert_false(gh_has_replies(r));
		nghttp2_hd_inflate_del(inf);
		dr_buf_reset(&hdrs);
		dr_buf_reset(&data);
		dr_buf_reset(&types);
		gh_reader_free(r);
		dr_buf_reset(&in);
		dr_buf_reset(&out);
	}
}

/* The request callback may give a header a new value: the daemon gets it. */
static void
test_header_rename(void **state)
{
	(void)state;
	dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0);
	build_solve_conn(&in, "\x0a\x01x", 3);
	seen s = { .rename = "bravo.trailers" };
	gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
	const char *why = NULL;
	assert_int_equal(feed(r, &in, 0, &out, &why), 0);
	nghttp2_hd_inflater *inf;
	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	dr_buf hdrs = DR_BUF_INIT(0);
	decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, NULL, NULL);
	assert_non_null(strstr(hdrs.data, "1:te=bravo.trailers\n"));
	assert_null(strstr(hdrs.data, "1:te=trailers\n"));
	nghttp2_hd_inflate_del(inf);
	gh_reader_free(r);
	dr_buf_reset(&in);
	dr_buf_reset(&out);
	dr_buf_reset(&hdrs);
}

/* CONTINUATION, padding and priority in HEADERS, and the dynamic table across blocks: the
 * second request names its :path by dynamic index 62 (what the first block inserted). */
static void
test_continuation_and_table(void **state)
{
	(void)state;
	dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0), blk = DR_BUF_INIT(0);
	put(&in, GH_PREFACE, GH_PREFACE_LEN);
	req_block(&blk, "/moby.buildkit.v1.Control/ListWorkers", true);
	/* HEADERS: PADDED (2) + PRIORITY (5 bytes) + the first 10 bytes of the block */
	dr_buf h = DR_BUF_INIT(0);
	put(&h, "\x02", 1);
	put(&h, "\x00\x00\x00\x00\x10", 5);
	put(&h, blk.data, 10);
	put(&h, "\0\0", 2);
	frame(&in, GH_HEADERS, GH_F_PADDED | GH_F_PRIORITY | GH_F_END_STREAM, 1, h.data, h.len);
	frame(&in, GH_CONTINUATION, 0, 1, blk.data + 10, 5);
	frame(&in, GH_CONTINUATION, GH_F_END_HEADERS, 1, blk.data + 15, blk.len - 15);
	dr_buf b2 = DR_BUF_INIT(0);
	put(&b2, "\x83\x86\xbe", 3); /* :path = dynamic index 62 */
	lit(&b2, "content-type", "application/grpc");
	frame(&in, GH_HEADERS, GH_F_END_HEADERS | GH_F_END_STREAM, 3, b2.data, b2.len);
	seen s = { 0 };
	gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
	const char *why = NULL;
	assert_int_equal(feed(r, &in, 3, &out, &why), 0);
	assert_int_equal(s.npaths, 2);
	assert_string_equal(s.paths[0], "/moby.buildkit.v1.Control/ListWorkers");
	assert_string_equal(s.paths[1], "/moby.buildkit.v1.Control/ListWorkers");
	assert_int_equal(s.sids[1], 3);
	nghttp2_hd_inflater *inf;
	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	dr_buf hdrs = DR_BUF_INIT(0), types = DR_BUF_INIT(0);
	decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, NULL, &types);
	/* one frame per block, END_STREAM kept, padding and priority gone */
	assert_string_equal(types.data, "1/5/1 1/5/3 ");
	assert_non_null(strstr(hdrs.data, "3::path=/moby.buildkit.v1.Control/ListWorkers\n"));
	nghttp2_hd_inflate_del(inf);
	gh_reader_free(r);
	dr_buf_reset(&in);
	dr_buf_reset(&out);
	dr_buf_reset(&blk);
	dr_buf_reset(&h);
	dr_buf_reset(&b2);
	dr_buf_reset(&hdrs);
	dr_buf_reset(&types);
}

/* A refused stream: nothing of it goes on (its block still updates the table: the next
 * request refers to it), the client gets a trailers-only PERMISSION_DENIED, an RST_STREAM
 * (it had not ended the stream) and its connection window back. */
static void
test_refusal(void **state)
{
	(void)state;
	dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0), blk = DR_BUF_INIT(0), g = DR_BUF_INIT(0);
	put(&in, GH_PREFACE, GH_PREFACE_LEN);
	req_block(&blk, "/moby.buildkit.v1.Control/Prune", true);
	frame(&in, GH_HEADERS, GH_F_END_HEADERS, 1, blk.data, blk.len);
	grpc_msg(&g, "\x10\x01", 2, false);
	frame(&in, GH_DATA, 0, 1, g.data, g.len);
	frame(&in, GH_WINDOW_UPDATE, 0, 1, "\x00\x00\x10\x00", 4);
	frame(&in, GH_DATA, GH_F_END_STREAM | GH_F_PADDED, 1, "\x04" "abcd", 5);
	dr_buf b2 = DR_BUF_INIT(0);
	put(&b2, "\x83\x86\xbe", 3); /* the refused :path, by dynamic index */
	frame(&in, GH_HEADERS, GH_F_END_HEADERS | GH_F_END_STREAM, 3, b2.data, b2.len);
	frame(&in, GH_PING, 0, 0, "12345678", 8);
	seen s = { .refuse = "/moby.buildkit.v1.Control/Prune" };
	gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
	const char *why = NULL;
	assert_int_equal(feed(r, &in, 0, &out, &why), 0);
	assert_int_equal(s.npaths, 2);
	assert_int_equal(s.nmsgs, 0);
	dr_buf types = DR_BUF_INIT(0), hdrs = DR_BUF_INIT(0);
	nghttp2_hd_inflater *inf;
	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, NULL, &types);
	assert_string_equal(types.data, "6/0/0 "); /* only the PING went on */
	nghttp2_hd_inflate_del(inf);
	assert_true(gh_has_replies(r));
	dr_buf rep = DR_BUF_INIT(0);
	assert_int_equal(gh_take_replies(r, &rep), 2);
	assert_false(gh_has_replies(r));
	dr_buf_reset(&types);
	dr_buf_reset(&hdrs);
	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	decode_frames(inf, &rep, 0, &hdrs, NULL, &types);
	/* stream 1: error, RST (not ended); stream 3: error only; the window: 7 + 5 bytes */
	assert_string_equal(types.data, "1/5/1 3/0/1 1/5/3 8/0/0 ");
	const char *want = "1::status=200\n1:content-type=application/grpc\n1:grpc-status=7\n"
	                   "1:grpc-message=deskrun guard: Control/Prune is refused (the build cache is "
	                   "shared)\n";
	assert_memory_equal(hdrs.data, want, strlen(want));
	const uint8_t *wu = (const uint8_t *)rep.data + rep.len - 4;
	assert_int_equal(wu[0] << 24 | wu[1] << 16 | wu[2] << 8 | wu[3], 12);
	nghttp2_hd_inflate_del(inf);
	gh_reader_free(r);
	dr_buf_reset(&in);
	dr_buf_reset(&out);
	dr_buf_reset(&blk);
	dr_buf_reset(&g);
	dr_buf_reset(&b2);
	dr_buf_reset(&types);
	dr_buf_reset(&hdrs);
	dr_buf_reset(&rep);
}

/* A held stream: its DATA waits for the whole first message (other frames go on meanwhile),
 * then goes on, or is dropped with RST_STREAM CANCEL to the server and the refusal to the
 * client. */
static void
build_held(dr_buf *in, const char *msg, bool end, size_t split)
{
	dr_buf blk = DR_BUF_INIT(0), g = DR_BUF_INIT(0);
	put(in, GH_PREFACE, GH_PREFACE_LEN);
	req_block(&blk, "/moby.buildkit.v1.Control/Solve", true);
	frame(in, GH_HEADERS, GH_F_END_HEADERS, 1, blk.data, blk.len);
	grpc_msg(&g, msg, (uint32_t)strlen(msg), false);
	frame(in, GH_DATA, 0, 1, g.data, split);
	frame(in, GH_PING, 0, 0, "12345678", 8);
	frame(in, GH_DATA, end ? GH_F_END_STREAM : 0, 1, g.data + split, g.len - split);
	dr_buf_reset(&blk);
	dr_buf_reset(&g);
}

static void
test_hold(void **state)
{
	(void)state;
	for (int refuse_msg = 0; refuse_msg < 2; refuse_msg++) {
		for (int end = 0; end < 2; end++) {
			dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0), rep = DR_BUF_INIT(0);
			build_held(&in, "\x4a\x0cnetwork.host", end, 7);
			seen s = { .hold = "/moby.buildkit.v1.Control/Solve", .refuse_msg = refuse_msg };
			gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
			const char *why = NULL;
			assert_int_equal(feed(r, &in, 5, &out, &why), 0);
			assert_int_equal(s.nmsgs, 1);
			dr_buf types = DR_BUF_INIT(0), hdrs = DR_BUF_INIT(0);
			nghttp2_hd_inflater *inf;
			assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
			decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, NULL, &types);
			if (!refuse_msg) {
				/* HEADERS, the PING (not held), then both DATA frames */
				assert_string_equal(types.data, end ? "1/4/1 6/0/0 0/0/1 0/1/1 " : "1/4/1 6/0/0 0/0/1 0/0/1 ");
				assert_false(gh_has_replies(r));
			} else {
				/* HEADERS, the PING, RST_STREAM CANCEL; no DATA */
				assert_string_equal(types.data, "1/4/1 6/0/0 3/0/1 ");
				assert_int_equal(s.nrefused, 0); /* the callback's refusal: logged by it */
				assert_memory_equal(out.data + out.len - 4, "\0\0\0\x08", 4);
				assert_int_equal(gh_take_replies(r, &rep), 1);
				dr_buf_reset(&types);
				dr_buf_reset(&hdrs);
				nghttp2_hd_inflate_del(inf);
				assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
				decode_frames(inf, &rep, 0, &hdrs, NULL, &types);
				/* the error; RST to the client only when it had not ended; the window back */
				assert_string_equal(types.data, end ? "1/5/1 8/0/0 " : "1/5/1 3/0/1 8/0/0 ");
				assert_non_null(strstr(hdrs.data, "1:grpc-message=the Solve asks for network.host\n"));
				const uint8_t *wu = (const uint8_t *)rep.data + rep.len - 4;
				assert_int_equal(wu[0] << 24 | wu[1] << 16 | wu[2] << 8 | wu[3], 19);
				/* later frames of the stream are dropped */
				dr_buf more = DR_BUF_INIT(0), o2 = DR_BUF_INIT(0);
				frame(&more, GH_WINDOW_UPDATE, 0, 1, "\0\0\0\x01", 4);
				assert_int_equal(gh_rewrite(r, (const uint8_t *)more.data, more.len, &o2, &why), 13);
				assert_int_equal(o2.len, 0);
				dr_buf_reset(&more);
				dr_buf_reset(&o2);
			}
			nghttp2_hd_inflate_del(inf);
			gh_reader_free(r);
			dr_buf_reset(&in);
			dr_buf_reset(&out);
			dr_buf_reset(&rep);
			dr_buf_reset(&types);
			dr_buf_reset(&hdrs);
		}
	}
}

/* Held requests that cannot be judged are refused: too large, compressed, ended early, no
 * body at all, trailers first. */
static void
test_hold_refusals(void **state)
{
	(void)state;
	struct {
		const char *name;
		const char *data; /* DATA payload after HEADERS (NULL: HEADERS with END_STREAM) */
		size_t len;
		uint8_t flags;
		bool trailers;
		const char *why;
	} rows[] = {
		{ "over the hold cap", "\x00\x00\x01\x11\x71", 5, 0, false, "larger than the guard inspects (65530)" },
		{ "compressed", "\x01\x00\x00\x00\x01x", 6, 0, false, "compressed gRPC requests" },
		{ "ended early", "\x00\x00\x00\x00\x09" "abc", 8, GH_F_END_STREAM, false, "ended before its message" },
		{ "no body", NULL, 0, 0, false, "has no message" },
		{ "trailers first", "\x00\x00\x00\x00\x09" "abc", 8, 0, true, "trailers before" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0), blk = DR_BUF_INIT(0), rep = DR_BUF_INIT(0);
		put(&in, GH_PREFACE, GH_PREFACE_LEN);
		req_block(&blk, "/moby.buildkit.v1.Control/Solve", false);
		frame(&in, GH_HEADERS, GH_F_END_HEADERS | (rows[i].data ? 0 : GH_F_END_STREAM), 1, blk.data, blk.len);
		if (rows[i].data)
			frame(&in, GH_DATA, rows[i].flags, 1, rows[i].data, rows[i].len);
		if (rows[i].trailers)
			frame(&in, GH_HEADERS, GH_F_END_HEADERS | GH_F_END_STREAM, 1, "\x00\x01x\x01y", 5);
		seen s = { .hold = "/moby.buildkit.v1.Control/Solve" };
		gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
		const char *why = NULL;
		assert_int_equal(feed(r, &in, 0, &out, &why), 0);
		assert_int_equal(s.nmsgs, 0);
		dr_buf types = DR_BUF_INIT(0), hdrs = DR_BUF_INIT(0);
		nghttp2_hd_inflater *inf;
		assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
		decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, NULL, &types);
		if (strcmp(types.data, rows[i].data ? "1/4/1 3/0/1 " : "1/5/1 3/0/1 ") != 0)
			fail_msg("row %s: frames to the server %s", rows[i].name, types.data);
		nghttp2_hd_inflate_del(inf);
		assert_int_equal(gh_take_replies(r, &rep), 1);
		assert_int_equal(s.nrefused, 1);
		if (!memmem(rep.data, rep.len, rows[i].why, strlen(rows[i].why)))
			fail_msg("row %s: no \"%s\" in the reply", rows[i].name, rows[i].why);
		gh_reader_free(r);
		dr_buf_reset(&in);
		dr_buf_reset(&out);
		dr_buf_reset(&blk);
		dr_buf_reset(&rep);
		dr_buf_reset(&types);
		dr_buf_reset(&hdrs);
	}
}

/* A held message that passes with additions: one new DATA frame carries the longer message
 * (prefix rewritten, END_STREAM kept, padding gone: credited back); the extra bytes are a
 * debt the server's next connection WINDOW_UPDATE repays, taken off in place; with no room
 * in the server's window the request is refused instead. */
static void
test_rewrite(void **state)
{
	(void)state;
	const char *msg = "\x0a\x05ref-1";
	const char *add = "\x1a\x04" "abcd"; /* 6 bytes */
	dr_buf in = DR_BUF_INIT(0), blk = DR_BUF_INIT(0), g = DR_BUF_INIT(0), p = DR_BUF_INIT(0);
	put(&in, GH_PREFACE, GH_PREFACE_LEN);
	req_block(&blk, "/moby.buildkit.v1.Control/Solve", false);
	frame(&in, GH_HEADERS, GH_F_END_HEADERS, 1, blk.data, blk.len);
	grpc_msg(&g, msg, (uint32_t)strlen(msg), false);
	frame(&in, GH_DATA, 0, 1, g.data, 4);
	put(&p, "\x02", 1); /* padded: 2 bytes */
	put(&p, g.data + 4, g.len - 4);
	put(&p, "\0\0", 2);
	frame(&in, GH_DATA, GH_F_PADDED | GH_F_END_STREAM, 1, p.data, p.len);
	/* held: 4 + (1 + 8 + 2) = 15 payload bytes; sent on: 5 + 7 + 6 = 18 */
	for (int room = 1; room >= 0; room--) {
		seen s = { .hold = "/moby.buildkit.v1.Control/Solve", .append = add };
		gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
		gh_reader *t = gh_reader_new(GH_RESPONSES, NULL, NULL);
		gh_link(r, t);
		const char *why = NULL;
		dr_buf settings = DR_BUF_INIT(0), out = DR_BUF_INIT(0), rep = DR_BUF_INIT(0);
		/* the server's SETTINGS: initial window 10 bytes (too small) or the default */
		frame(&settings, GH_SETTINGS, 0, 0, room ? "\x00\x01\x00\x00\x10\x00" : "\x00\x04\x00\x00\x00\x0a", 6);
		assert_int_equal(gh_track(t, (uint8_t *)settings.data, settings.len, &why), 0);
		assert_int_equal(feed(r, &in, 0, &out, &why), 0);
		dr_buf types = DR_BUF_INIT(0), hdrs = DR_BUF_INIT(0), data = DR_BUF_INIT(0);
		nghttp2_hd_inflater *inf;
		assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
		decode_frames(inf, &out, GH_PREFACE_LEN, &hdrs, &data, &types);
		nghttp2_hd_inflate_del(inf);
		if (room) {
			assert_string_equal(types.data, "1/4/1 0/1/1 ");
			assert_int_equal(data.len, 18);
			assert_memory_equal(data.data, "\x00\x00\x00\x00\x0d", 5);
			assert_memory_equal(data.data + 5, msg, 7);
			assert_memory_equal(data.data + 12, add, 6);
			assert_false(gh_has_replies(r)); /* 15 in, 18 out: nothing to credit */
			/* the debt, 3 bytes, comes off the next connection WINDOW_UPDATE */
			dr_buf wu = DR_BUF_INIT(0);
			frame(&wu, GH_WINDOW_UPDATE, 0, 3, "\x00\x00\x00\x64", 4);
			frame(&wu, GH_WINDOW_UPDATE, 0, 0, "\x00\x00\x00\x64", 4);
			frame(&wu, GH_WINDOW_UPDATE, 0, 0, "\x00\x00\x00\x64", 4);
			assert_int_equal(gh_track(t, (uint8_t *)wu.data, wu.len, &why), 0);
			assert_memory_equal(wu.data + 9, "\x00\x00\x00\x64", 4);  /* a stream's: kept */
			assert_memory_equal(wu.data + 22, "\x00\x00\x00\x61", 4); /* 100 - 3 */
			assert_memory_equal(wu.data + 35, "\x00\x00\x00\x64", 4); /* repaid */
			assert_true(gh_at_boundary(t));
			dr_buf_reset(&wu);
		} else {
			/* no room: refused, the daemon told to cancel, the client's window given back */
			assert_string_equal(types.data, "1/4/1 3/0/1 ");
			assert_int_equal(gh_take_replies(r, &rep), 1);
			assert_non_null(memmem(rep.data, rep.len, "no room for the labelled", 24));
			const uint8_t *w = (const uint8_t *)rep.data + rep.len - 4;
			assert_int_equal(w[0] << 24 | w[1] << 16 | w[2] << 8 | w[3], 15);
		}
		gh_reader_free(r);
		gh_reader_free(t);
		dr_buf_reset(&settings);
		dr_buf_reset(&out);
		dr_buf_reset(&rep);
		dr_buf_reset(&types);
		dr_buf_reset(&hdrs);
		dr_buf_reset(&data);
	}
	/* a connection WINDOW_UPDATE split across pieces is counted, not changed; an empty frame
	 * at the end of a piece is a boundary */
	gh_reader *t = gh_reader_new(GH_RESPONSES, NULL, NULL);
	dr_buf wu = DR_BUF_INIT(0);
	frame(&wu, GH_WINDOW_UPDATE, 0, 0, "\x00\x00\x00\x64", 4);
	frame(&wu, GH_SETTINGS, GH_F_ACK, 0, "", 0);
	const char *why = NULL;
	assert_int_equal(gh_track(t, (uint8_t *)wu.data, 11, &why), 0);
	assert_false(gh_at_boundary(t));
	assert_int_equal(gh_track(t, (uint8_t *)wu.data + 11, wu.len - 11, &why), 0);
	assert_true(gh_at_boundary(t));
	gh_reader_free(t);
	dr_buf_reset(&wu);
	dr_buf_reset(&in);
	dr_buf_reset(&blk);
	dr_buf_reset(&g);
	dr_buf_reset(&p);
}

static void
test_grpc_error_encoding(void **state)
{
	(void)state;
	dr_buf out = DR_BUF_INIT(0), hdrs = DR_BUF_INIT(0);
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	gh_grpc_error(&out, 5, 7, "50% ünïcode\nline");
	gh_grpc_error(&out, 7, 7, big);
	nghttp2_hd_inflater *inf;
	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	decode_frames(inf, &out, 0, &hdrs, NULL, NULL);
	assert_non_null(strstr(hdrs.data, "5:grpc-message=50%25 %C3%BCn%C3%AFcode%0Aline\n"));
	assert_non_null(strstr(hdrs.data, "7:grpc-status=7\n"));
	/* capped at 1024 bytes */
	const char *m = strstr(hdrs.data, "7:grpc-message=");
	assert_non_null(m);
	assert_int_equal(strcspn(m + 15, "\n"), 1024);
	/* nothing entered the decoder's dynamic table */
	assert_int_equal(nghttp2_hd_inflate_get_dynamic_table_size(inf), 0);
	/* trailers after a response's HEADERS: grpc-status and grpc-message only, no
	 * pseudo-header, one HEADERS frame with END_STREAM|END_HEADERS, same encoding */
	dr_buf tr = DR_BUF_INIT(0), th = DR_BUF_INIT(0), types = DR_BUF_INIT(0);
	gh_grpc_trailers(&tr, 9, 7, "Dockerfile line 1: FROM bo/secret:1: 100% no");
	decode_frames(inf, &tr, 0, &th, NULL, &types);
	assert_string_equal(types.data, "1/5/9 ");
	assert_string_equal(th.data, "9:grpc-status=7\n"
	                             "9:grpc-message=Dockerfile line 1: FROM bo/secret:1: 100%25 no\n");
	assert_int_equal(nghttp2_hd_inflate_get_dynamic_table_size(inf), 0);
	nghttp2_hd_inflate_del(inf);
	dr_buf_reset(&out);
	dr_buf_reset(&hdrs);
	dr_buf_reset(&tr);
	dr_buf_reset(&th);
	dr_buf_reset(&types);
}

static void
test_track(void **state)
{
	(void)state;
	dr_buf in = DR_BUF_INIT(0);
	frame(&in, GH_SETTINGS, 0, 0, "\x00\x03\x00\x00\x00\xfa\x00\x01\x00\x00\x20\x00", 12);
	frame(&in, GH_HEADERS, 0, 1, "\x88", 1);
	frame(&in, GH_CONTINUATION, GH_F_END_HEADERS, 1, "\x88", 1);
	frame(&in, GH_DATA, 0, 1, "hello", 5);
	gh_reader *r = gh_reader_new(GH_RESPONSES, NULL, NULL);
	const char *why = NULL;
	assert_true(gh_at_boundary(r));
	/* byte by byte: the boundary is seen only between frames and outside the block */
	size_t ends[] = { 21, 31, 41, 55 };
	size_t e = 0;
	for (size_t i = 0; i < in.len; i++) {
		assert_int_equal(gh_track(r, (uint8_t *)in.data + i, 1, &why), 0);
		bool want = e < DR_ARRAY_LEN(ends) && i + 1 == ends[e] && i + 1 != 31;
		if (i + 1 == ends[e])
			e++;
		assert_int_equal(gh_at_boundary(r), want);
	}
	assert_int_equal(gh_table_size(r), 8192);
	gh_reader_free(r);
	/* a frame in the middle of a header block is an error */
	dr_buf bad = DR_BUF_INIT(0);
	frame(&bad, GH_HEADERS, 0, 1, "\x88", 1);
	frame(&bad, GH_DATA, 0, 1, "x", 1);
	r = gh_reader_new(GH_RESPONSES, NULL, NULL);
	assert_int_equal(gh_track(r, (uint8_t *)bad.data, bad.len, &why), -1);
	assert_non_null(strstr(why, "interrupted"));
	gh_reader_free(r);
	dr_buf_reset(&in);
	dr_buf_reset(&bad);
}

/* GH_RESPONSES with gh_collect (the session tunnel, where the tenant answers the daemon): the
 * DATA of a collected stream gives its gRPC messages, padding left out, across frames and
 * pieces of any size; other streams' DATA is not read; a refused message fails the piece that
 * completed it (the caller forwards nothing of it); the stream is forgotten at END_STREAM. */
static void
test_track_collect(void **state)
{
	(void)state;
	dr_buf in = DR_BUF_INIT(0), m = DR_BUF_INIT(0), pd = DR_BUF_INIT(0);
	grpc_msg(&m, "first", 5, false);
	grpc_msg(&m, "second", 6, false);
	frame(&in, GH_DATA, 0, 3, "xx-other", 8);           /* not collected */
	frame(&in, GH_DATA, 0, 1, m.data, 7);                /* "first" split over frames */
	put(&pd, "\x03", 1);                                 /* PADDED: pad length 3 */
	put(&pd, m.data + 7, m.len - 7);
	put(&pd, "PAD", 3);
	frame(&in, GH_DATA, GH_F_PADDED, 1, pd.data, pd.len);
	frame(&in, GH_DATA, GH_F_END_STREAM, 1, "", 0);
	frame(&in, GH_DATA, 0, 1, "\x00\x00\x00\x00\x01z", 6); /* after END_STREAM: not read */
	for (size_t piece = 1; piece <= in.len; piece = piece * 2 + 1) {
		seen s = { 0 };
		gh_reader *r = gh_reader_new(GH_RESPONSES, &ops, &s);
		gh_collect(r, 1, "/moby.filesync.v1.FileSync/DiffCopy");
		const char *why = NULL;
		for (size_t i = 0; i < in.len; i += piece) {
			size_t n = in.len - i < piece ? in.len - i : piece;
			assert_int_equal(gh_track(r, (uint8_t *)in.data + i, n, &why), 0);
		}
		assert_int_equal(s.nmsgs, 2);
		assert_int_equal(s.msglen[0], 5);
		assert_memory_equal(s.msgs[0], "first", 5);
		assert_int_equal(s.msglen[1], 6);
		assert_memory_equal(s.msgs[1], "second", 6);
		gh_reader_free(r);
	}
	/* refused: gh_track fails with the reason, at the piece holding the message's last byte */
	seen s = { .hold = "/moby.filesync.v1.FileSync/DiffCopy", .refuse_msg = true };
	gh_reader *r = gh_reader_new(GH_RESPONSES, &ops, &s);
	gh_collect(r, 1, "/moby.filesync.v1.FileSync/DiffCopy");
	const char *why = NULL;
	dr_buf one = DR_BUF_INIT(0);
	frame(&one, GH_DATA, 0, 1, m.data, m.len);
	/* the frame head and 9 of the first message's 10 bytes, then its last byte */
	assert_int_equal(gh_track(r, (uint8_t *)one.data, 18, &why), 0);
	assert_int_equal(gh_track(r, (uint8_t *)one.data + 18, 1, &why), -2);
	assert_string_equal(why, "the Solve asks for network.host");
	/* the caller drops that frame: the stream is remembered as dropped, the reader is back
	 * between frames and follows the next ones (another stream's DATA, a header block) */
	assert_false(gh_dropped(r, 1));
	assert_int_equal(gh_track_drop(r), 1);
	assert_true(gh_dropped(r, 1));
	assert_false(gh_dropped(r, 3));
	assert_true(gh_at_boundary(r));
	assert_int_equal(gh_track_drop(r), 0); /* nothing refused any more: fail closed */
	dr_buf next = DR_BUF_INIT(0);
	frame(&next, GH_DATA, 0, 3, "abc", 3);
	frame(&next, GH_HEADERS, GH_F_END_HEADERS | GH_F_END_STREAM, 1, "\x88", 1);
	size_t before = s.nmsgs;
	assert_int_equal(gh_track(r, (uint8_t *)next.data, next.len, &why), 0);
	assert_true(gh_at_boundary(r));
	assert_int_equal(s.nmsgs, before); /* the dropped stream is no longer read */
	dr_buf_reset(&next);
	gh_reader_free(r);
	/* with no DATA frame head in hand (a fresh reader) there is nothing to drop */
	r = gh_reader_new(GH_RESPONSES, &ops, &s);
	assert_int_equal(gh_track_drop(r), 0);
	gh_reader_free(r);
	/* a pad length longer than the frame */
	r = gh_reader_new(GH_RESPONSES, &ops, &s);
	gh_collect(r, 1, "/x");
	dr_buf bad = DR_BUF_INIT(0);
	frame(&bad, GH_DATA, GH_F_PADDED, 1, "\x09zz", 3);
	assert_int_equal(gh_track(r, (uint8_t *)bad.data, bad.len, &why), -1);
	assert_non_null(strstr(why, "padding"));
	gh_reader_free(r);
	dr_buf_reset(&in);
	dr_buf_reset(&m);
	dr_buf_reset(&pd);
	dr_buf_reset(&one);
	dr_buf_reset(&bad);
}

/* The client's encoder may use a larger table once the server announced one. */
static void
test_table_size(void **state)
{
	(void)state;
	dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0), blk = DR_BUF_INIT(0);
	put(&in, GH_PREFACE, GH_PREFACE_LEN);
	put(&blk, "\x3f\xe1\x3f", 3); /* dynamic table size update to 8192 */
	req_block(&blk, "/moby.buildkit.v1.Control/Info", false);
	frame(&in, GH_HEADERS, GH_F_END_HEADERS | GH_F_END_STREAM, 1, blk.data, blk.len);
	for (int allowed = 0; allowed < 2; allowed++) {
		seen s = { 0 };
		gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
		if (allowed)
			assert_int_equal(gh_set_table_max(r, 8192), 0);
		const char *why = NULL;
		dr_buf_reset(&out);
		int rc = feed(r, &in, 0, &out, &why);
		assert_int_equal(rc, allowed ? 0 : -1);
		assert_int_equal(s.npaths, allowed ? 1 : 0);
		if (!allowed)
			assert_non_null(strstr(why, "HPACK"));
		gh_reader_free(r);
	}
	dr_buf_reset(&in);
	dr_buf_reset(&out);
	dr_buf_reset(&blk);
}

static void
test_errors(void **state)
{
	(void)state;
	struct {
		const char *name;
		const char *bytes;
		size_t len;
		const char *why;
	} rows[] = {
#define R(n, b, w) { n, b, sizeof(b) - 1, w }
		R("no preface", "GET / HTTP/1.1\r\n\r\n", "preface"),
		R("CONTINUATION alone", GH_PREFACE "\x00\x00\x01\x09\x04\x00\x00\x00\x01\x88", "CONTINUATION"),
		R("a block interrupted", GH_PREFACE "\x00\x00\x01\x01\x00\x00\x00\x00\x01\x83"
		                                    "\x00\x00\x00\x06\x00\x00\x00\x00\x00", "interrupted"),
		R("CONTINUATION on another stream", GH_PREFACE "\x00\x00\x01\x01\x00\x00\x00\x00\x01\x83"
		                                               "\x00\x00\x01\x09\x04\x00\x00\x00\x03\x88", "CONTINUATION"),
		R("DATA on stream 0", GH_PREFACE "\x00\x00\x01\x00\x00\x00\x00\x00\x00x", "stream 0"),
		R("HEADERS on stream 0", GH_PREFACE "\x00\x00\x01\x01\x04\x00\x00\x00\x00\x88", "stream 0"),
		R("DATA padding too long", GH_PREFACE "\x00\x00\x02\x00\x08\x00\x00\x00\x01\x02x", "padding"),
		R("HEADERS padding too long", GH_PREFACE "\x00\x00\x02\x01\x0c\x00\x00\x00\x01\x05\x88", "padding"),
		R("HEADERS priority longer than the frame", GH_PREFACE "\x00\x00\x02\x01\x24\x00\x00\x00\x01\x00\x00", "padding"),
		R("PUSH_PROMISE", GH_PREFACE "\x00\x00\x04\x05\x04\x00\x00\x00\x01\x00\x00\x00\x02", "PUSH_PROMISE"),
		R("SETTINGS of 5 bytes", GH_PREFACE "\x00\x00\x05\x04\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00", "SETTINGS"),
		R("SETTINGS on a stream", GH_PREFACE "\x00\x00\x00\x04\x00\x00\x00\x00\x01", "SETTINGS"),
		R("bad HPACK (index 0)", GH_PREFACE "\x00\x00\x01\x01\x04\x00\x00\x00\x01\x80", "HPACK"),
		R("bad HPACK (index past the table)", GH_PREFACE "\x00\x00\x01\x01\x04\x00\x00\x00\x01\xff", "HPACK"),
		R("HEADERS on a closed stream", GH_PREFACE "\x00\x00\x01\x01\x05\x00\x00\x00\x03\x83"
		                                           "\x00\x00\x01\x01\x05\x00\x00\x00\x01\x83", "closed"),
#undef R
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(rows); i++) {
		seen s = { 0 };
		gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
		dr_buf out = DR_BUF_INIT(0);
		const char *why = NULL;
		ssize_t n = gh_rewrite(r, (const uint8_t *)rows[i].bytes, rows[i].len, &out, &why);
		if (n != -1 || !why || !strstr(why, rows[i].why))
			fail_msg("row %s: %zd %s", rows[i].name, n, why ? why : "(no reason)");
		gh_reader_free(r);
		dr_buf_reset(&out);
	}
	/* a gRPC message with flag 2, and one over 16 MiB */
	const char *bad_msgs[] = { "\x02\x00\x00\x00\x00", "\x00\x01\x00\x00\x01" };
	for (size_t i = 0; i < 2; i++) {
		dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0), blk = DR_BUF_INIT(0);
		put(&in, GH_PREFACE, GH_PREFACE_LEN);
		req_block(&blk, "/moby.buildkit.v1.Control/Solve", false);
		frame(&in, GH_HEADERS, GH_F_END_HEADERS, 1, blk.data, blk.len);
		frame(&in, GH_DATA, 0, 1, bad_msgs[i], 5);
		seen s = { 0 };
		gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
		const char *why = NULL;
		assert_int_equal(feed(r, &in, 0, &out, &why), -1);
		assert_non_null(strstr(why, "gRPC message"));
		gh_reader_free(r);
		dr_buf_reset(&in);
		dr_buf_reset(&out);
		dr_buf_reset(&blk);
	}
	/* a header block over 256 KiB in CONTINUATIONs */
	dr_buf in = DR_BUF_INIT(0), out = DR_BUF_INIT(0);
	put(&in, GH_PREFACE, GH_PREFACE_LEN);
	static char junk[16384];
	memset(junk, 0x83, sizeof(junk));
	frame(&in, GH_HEADERS, 0, 1, junk, sizeof(junk));
	for (int i = 0; i < 16; i++)
		frame(&in, GH_CONTINUATION, 0, 1, junk, sizeof(junk));
	seen s = { 0 };
	gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, &s);
	const char *why = NULL;
	assert_int_equal(feed(r, &in, 0, &out, &why), -1);
	assert_non_null(strstr(why, "256 KiB"));
	gh_reader_free(r);
	dr_buf_reset(&in);
	dr_buf_reset(&out);
}

static void
test_protobuf(void **state)
{
	(void)state;
	/* 1: varint 150; 2: "ab"; 3: fixed64; 4: fixed32; 5: a nested {1: 1}; 536870911: 0 */
	static const uint8_t m[] = { 0x08, 0x96, 0x01, 0x12, 0x02, 'a', 'b',
		                     0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 9, 0, 0, 0,
		                     0x2a, 0x02, 0x08, 0x01, 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00 };
	gh_pb pb = gh_pb_init(m, sizeof(m));
	gh_pb_field f;
	const char *why = NULL;
	assert_int_equal(gh_pb_next(&pb, &f, &why), 1);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.wire, 0);
	assert_int_equal(f.v, 150);
	assert_int_equal(gh_pb_next(&pb, &f, &why), 1);
	assert_int_equal(f.num, 2);
	assert_int_equal(f.len, 2);
	assert_memory_equal(f.data, "ab", 2);
	assert_int_equal(gh_pb_next(&pb, &f, &why), 1);
	assert_int_equal(f.wire, 1);
	assert_true(f.v == 0x0807060504030201ull);
	assert_int_equal(gh_pb_next(&pb, &f, &why), 1);
	assert_int_equal(f.wire, 5);
	assert_int_equal(f.v, 9);
	assert_int_equal(gh_pb_next(&pb, &f, &why), 1);
	assert_int_equal(f.num, 5);
	gh_pb inner = gh_pb_init(f.data, f.len);
	gh_pb_field g;
	assert_int_equal(gh_pb_next(&inner, &g, &why), 1);
	assert_int_equal(g.num, 1);
	assert_int_equal(g.v, 1);
	assert_int_equal(gh_pb_next(&inner, &g, &why), 0);
	assert_int_equal(gh_pb_next(&pb, &f, &why), 1);
	assert_int_equal(f.num, 536870911);
	assert_int_equal(gh_pb_next(&pb, &f, &why), 0);
	struct {
		const char *bytes;
		size_t len;
		const char *why;
	} bad[] = {
		{ "\x08", 1, "varint" },
		{ "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11, "varint" },
		{ "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "varint" },
		{ "\x12\x05" "ab", 4, "longer" },
		{ "\x0b", 1, "groups" },
		{ "\x0e", 1, "wire" },
		{ "\x02\x00", 2, "field number" },
		{ "\x80\x80\x80\x80\x20\x00", 6, "field number" },
		{ "\x1d\x01\x02", 3, "fixed" },
		{ "\x80", 1, "key" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(bad); i++) {
		pb = gh_pb_init((const uint8_t *)bad[i].bytes, bad[i].len);
		why = NULL;
		if (gh_pb_next(&pb, &f, &why) != -1 || !why || !strstr(why, bad[i].why))
			fail_msg("row %zu: %s", i, why ? why : "(accepted)");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_and_message),
		cmocka_unit_test(test_header_rename),
		cmocka_unit_test(test_continuation_and_table),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_hold_refusals),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_grpc_error_encoding),
		cmocka_unit_test(test_track),
		cmocka_unit_test(test_track_collect),
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_protobuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
