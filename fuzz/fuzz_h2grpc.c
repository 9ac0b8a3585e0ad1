/* fuzz_h2grpc.c: libFuzzer target for the guard's HTTP/2 + gRPC + protobuf reader
 * (src/guard/h2grpc.c). The first byte picks the piece size the client's bytes arrive in
 * (1..256, as the relay reads them); the rest is the client's side of an h2c connection.
 * Every stream whose :path ends in "e" is refused, one ending in "d" held until its first
 * message (refused when that message's length is odd), every other one collected; each gRPC
 * message is walked as protobuf, nested fields included, and read as the guard reads Solve
 * and Status requests (src/guard/decide_grpc.c). Checked: what the
 * reader forwards is whole frames whose header blocks a fresh HPACK decoder (the daemon's)
 * reads; the replies owed to the client decode with another one and leave its table empty.
 * The same bytes are also followed as the server's direction (frame boundaries, and the
 * messages of streams 1 and 3 collected; stream 3's refused when odd-sized).
 * Built by scripts/fuzz.sh. */
#include "lib/common.h"
#include "guard/h2grpc.h"
#include "guard/guard.h"

#include <nghttp2/nghttp2.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gh_verdict
on_request(void *u, uint32_t sid, const gh_request *rq, const char **reason)
{
	(void)u;
	(void)sid;
	size_t l = strlen(rq->path);
	if (l && rq->path[l - 1] == 'e') {
		*reason = "refused by the fuzzer";
		return GH_REFUSE;
	}
	return l && rq->path[l - 1] == 'd' ? GH_HOLD : GH_COLLECT;
}

static void
walk(const uint8_t *p, size_t len, int depth)
{
	gh_pb pb = gh_pb_init(p, len);
	gh_pb_field f;
	const char *why = NULL;
	int rc;
	while ((rc = gh_pb_next(&pb, &f, &why)) == 1) {
		if (f.num == 0 || f.wire == 3 || f.wire == 4)
			abort();
		if (f.wire == 2 && depth < 8)
			walk(f.data, f.len, depth + 1);
	}
	if (rc < 0 && !why)
		abort();
}

static gh_verdict
on_message(void *u, uint32_t sid, const char *path, const uint8_t *m, size_t len,
           bool compressed, const char **reason, dr_buf *append)
{
	(void)u;
	(void)sid;
	(void)compressed;
	if (!path)
		abort();
	walk(m, len, 0);
	/* the guard's reading of Solve and Status requests (every message is tried as each):
	 * a refusal has a reason and no rewrite; a rewrite is well-formed protobuf, and a
	 * rewritten Status passes again (a rewritten Solve carries io.deskrun. attributes a
	 * client may not send, so it would not) */
	static const char *const paths[] = { "/moby.buildkit.v1.Control/Solve",
		                             "/moby.buildkit.v1.frontend.LLBBridge/Solve",
		                             "/moby.buildkit.v1.Control/Status" };
	gd_policy pol = { 0 };
	gd_ctx ctx = { .tenant = "fuzz", .policy = &pol };
	for (size_t i = 0; i < 3; i++) {
		char buf[512];
		dr_buf rw = DR_BUF_INIT(0);
		const char *why = gd_grpc_check(&ctx, paths[i], m, len, buf, sizeof(buf), &rw);
		if (why && (!*why || rw.len))
			abort();
		if (!why && rw.len) {
			walk((const uint8_t *)rw.data, rw.len, 0);
			dr_buf rw2 = DR_BUF_INIT(0);
			if (gd_grpc_check(&ctx, paths[i], (const uint8_t *)rw.data, rw.len, buf, sizeof(buf), &rw2) &&
			    i != 0 && i != 1)
				abort();
			dr_buf_reset(&rw2);
		}
		dr_buf_reset(&rw);
	}
	{ /* and as a Dockerfile (the session tunnel's check; no daemon to ask) */
		char buf[512];
		const char *why = gd_session_dockerfile_check(&ctx, "s:fuzz", (const char *)m, len, buf,
		                                              sizeof(buf));
		if (why && !*why)
			abort();
	}
	if (len % 2) {
		*reason = "odd";
		return GH_REFUSE;
	}
	if (len % 3 == 0) { /* a rewrite: a field added */
		dr_buf_append(append, m, len);
		dr_buf_append(append, "\x1a\x03" "abc", 5);
	}
	return GH_PASS;
}

static const gh_ops ops = { on_request, on_message, NULL };

/* Whole frames, every header block decodable by inf. */
static void
check_frames(nghttp2_hd_inflater *inf, const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		if (len - off < 9)
			abort();
		uint32_t fl = (uint32_t)p[off] << 16 | (uint32_t)p[off + 1] << 8 | p[off + 2];
		if (len - off - 9 < fl)
			abort();
		uint8_t type = p[off + 3], flags = p[off + 4];
		if (type == GH_HEADERS || type == GH_CONTINUATION) {
			/* re-encoded blocks have no padding or priority, and are never split here
			 * (they are small) unless longer than 16384 */
			const uint8_t *b = p + off + 9;
			size_t n = fl;
			for (;;) {
				nghttp2_nv nv;
				int f = 0;
				ssize_t k = nghttp2_hd_inflate_hd2(inf, &nv, &f, b, n,
				                                   (flags & GH_F_END_HEADERS) != 0);
				if (k < 0)
					abort();
				b += k;
				n -= (size_t)k;
				if (f & NGHTTP2_HD_INFLATE_FINAL) {
					nghttp2_hd_inflate_end_headers(inf);
					break;
				}
				if (!(f & NGHTTP2_HD_INFLATE_EMIT) && n == 0)
					break;
			}
		}
		off += 9 + fl;
	}
}

/* Frames the guard writes itself (replies, trailers): decodable by a fresh decoder, and with
 * static indexes and literals only (the peer's dynamic table untouched). */
static void
check_static_only(const dr_buf *b)
{
	nghttp2_hd_inflater *inf;
	if (nghttp2_hd_inflate_new(&inf) != 0)
		abort();
	check_frames(inf, (const uint8_t *)b->data, b->len);
	if (nghttp2_hd_inflate_get_dynamic_table_size(inf) != 0)
		abort();
	nghttp2_hd_inflate_del(inf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] + 1;
	data++;
	size--;
	gh_reader *r = gh_reader_new(GH_REQUESTS, &ops, NULL);
	gh_set_table_max(r, 8192);
	dr_buf pend = DR_BUF_INIT(0), out = DR_BUF_INIT(0), rep = DR_BUF_INIT(0);
	const char *why = NULL;
	size_t off = 0;
	bool failed = false;
	while (off < size && !failed) {
		size_t k = size - off > step ? step : size - off;
		dr_buf_append(&pend, data + off, k);
		off += k;
		ssize_t n = gh_rewrite(r, (const uint8_t *)pend.data, pend.len, &out, &why);
		if (n < 0) {
			if (!why)
				abort();
			failed = true;
			break;
		}
		if ((size_t)n > pend.len)
			abort();
		memmove(pend.data, pend.data + n, pend.len - (size_t)n);
		pend.len -= (size_t)n;
	}
	if (!failed && out.len >= GH_PREFACE_LEN) {
		nghttp2_hd_inflater *inf;
		if (nghttp2_hd_inflate_new(&inf) != 0)
			abort();
		check_frames(inf, (const uint8_t *)out.data + GH_PREFACE_LEN, out.len - GH_PREFACE_LEN);
		nghttp2_hd_inflate_del(inf);
	}
	gh_take_replies(r, &rep);
	if (gh_has_replies(r))
		abort();
	check_static_only(&rep);
	gh_reader_free(r);
	/* the server's direction: boundaries, and the DATA of streams 1 and 3 collected (as the
	 * session tunnel collects the Dockerfile's transfer) */
	gh_reader *t = gh_reader_new(GH_RESPONSES, &ops, NULL);
	gh_collect(t, 1, "/moby.filesync.v1.FileSync/DiffCopy");
	gh_collect(t, 3, "/moby.filesync.v1.FileSync/Refused");
	uint8_t *copy = dr_xmalloc(size ? size : 1);
	memcpy(copy, data, size);
	for (off = 0; off < size; off += step) {
		int g = gh_track(t, copy + off, size - off > step ? step : size - off, &why);
		if (g == -2) { /* a refused message: its frame dropped (as the session tunnel does) */
			uint32_t sid = gh_track_drop(t);
			if (sid && (!gh_dropped(t, sid) || !gh_at_boundary(t)))
				abort();
			if (sid)
				continue; /* the rest of the piece is dropped with the frame */
		}
		if (g < 0)
			break;
	}
	/* the refusal as trailers toward the daemon: static indexes and literals only */
	char *msg = dr_xstrndup((const char *)data, size);
	dr_buf tr = DR_BUF_INIT(0);
	gh_grpc_trailers(&tr, 1, 7, msg);
	check_static_only(&tr);
	dr_buf_reset(&tr);
	free(msg);
	free(copy);
	(void)gh_at_boundary(t);
	gh_reader_free(t);
	dr_buf_reset(&pend);
	dr_buf_reset(&out);
	dr_buf_reset(&rep);
	return 0;
}
