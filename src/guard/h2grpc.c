/* h2grpc.c: the HTTP/2 + gRPC + protobuf reader (see h2grpc.h). */
#include "lib/common.h"
#include "guard/h2grpc.h"

#include <nghttp2/nghttp2.h>

#define STREAMS_MAX 4096 /* live streams followed per connection (the daemon allows 250) */
#define REFUSED_MAX 256  /* refused stream IDs remembered (their late frames are dropped) */
#define FRAME_MAX ((1u << 24) - 1)

typedef struct gh_stream {
	uint32_t sid;
	char *path;
	bool collect;
	bool hold;          /* DATA held back until the first message is judged */
	bool client_ended;  /* END_STREAM seen on a held stream */
	dr_buf held;        /* the held DATA frames, whole */
	uint64_t held_credit;
	char why[320];
	bool judged;      /* the message callback refused it (and logged why) */
	dr_buf rewritten; /* a held message that passed with additions: prefix and message */
	dr_buf rest;      /* DATA bytes after the held message, in its last frame */
	uint8_t pfx[5];
	size_t pfx_have;
	dr_buf msg;
	size_t need; /* message bytes still missing once the prefix is in */
} gh_stream;

typedef struct gh_refusal {
	uint32_t sid;
	bool rst;    /* the client had not ended the stream: tell it to stop */
	char *reason;
} gh_refusal;

struct gh_reader {
	gh_mode mode;
	const gh_ops *ops;
	void *u;
	size_t preface;         /* preface bytes still expected (GH_REQUESTS) */
	nghttp2_hd_inflater *inf;
	nghttp2_hd_deflater *def;
	/* the header block being collected */
	bool in_block;
	uint32_t block_sid;
	bool block_end_stream;
	dr_buf block;
	uint32_t last_sid;      /* highest stream a request opened */
	uint32_t table_size;    /* SETTINGS_HEADER_TABLE_SIZE this direction announced */
	uint32_t table_max;     /* what the other direction announced */
	gh_stream *streams;
	size_t nstreams, streams_cap;
	uint32_t refused[REFUSED_MAX];
	size_t nrefused;
	gh_refusal *pending;
	size_t npending;
	uint64_t credit;        /* DATA bytes dropped, owed back to the client's window */
	/* GH_RESPONSES: position in the frame being followed */
	uint8_t head[9];
	size_t head_have;
	uint32_t payload_left;
	uint8_t cur_type, cur_flags;
	uint8_t settings[6];
	size_t settings_have;
	/* flow control, for rewritten requests */
	gh_reader *peer;        /* GH_REQUESTS: the same connection's GH_RESPONSES reader */
	uint64_t data_out;      /* GH_REQUESTS: DATA payload bytes sent on to the server */
	uint64_t wu_conn;       /* GH_RESPONSES: connection window the server granted */
	uint32_t init_window;   /* GH_RESPONSES: its SETTINGS_INITIAL_WINDOW_SIZE */
	uint64_t debt;          /* GH_RESPONSES: bytes to take off its next WINDOW_UPDATEs */
	bool wu_pending;        /* the current frame is a connection WINDOW_UPDATE */
	/* GH_RESPONSES: the current frame is DATA of a stream gh_collect() named */
	bool cur_collect, pad_pending;
	uint32_t cur_sid, data_left;
};

static uint32_t
be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

gh_reader *
gh_reader_new(gh_mode mode, const gh_ops *ops, void *u)
{
	gh_reader *r = dr_xcalloc(1, sizeof(*r));
	r->mode = mode;
	r->ops = ops;
	r->u = u;
	r->table_size = r->table_max = 4096;
	r->init_window = 65535;
	r->block.max = GH_BLOCK_MAX;
	if (mode == GH_REQUESTS) {
		r->preface = GH_PREFACE_LEN;
		if (nghttp2_hd_inflate_new(&r->inf) != 0 || nghttp2_hd_deflate_new(&r->def, 0) != 0)
			DR_BUG("nghttp2: out of memory");
	}
	return r;
}

static void
stream_clear(gh_stream *st)
{
	dr_buf_reset(&st->msg);
	dr_buf_reset(&st->held);
	dr_buf_reset(&st->rewritten);
	dr_buf_reset(&st->rest);
	free(st->path);
	st->path = NULL;
}

void
gh_reader_free(gh_reader *r)
{
	if (!r)
		return;
	if (r->inf)
		nghttp2_hd_inflate_del(r->inf);
	if (r->def)
		nghttp2_hd_deflate_del(r->def);
	dr_buf_reset(&r->block);
	for (size_t i = 0; i < r->nstreams; i++)
		stream_clear(&r->streams[i]);
	free(r->streams);
	for (size_t i = 0; i < r->npending; i++)
		free(r->pending[i].reason);
	free(r->pending);
	free(r);
}

/* ---- streams ---- */

static gh_stream *
stream_find(gh_reader *r, uint32_t sid)
{
	for (size_t i = 0; i < r->nstreams; i++)
		if (r->streams[i].sid == sid)
			return &r->streams[i];
	return NULL;
}

static void
stream_drop(gh_reader *r, gh_stream *st)
{
	stream_clear(st);
	size_t i = (size_t)(st - r->streams);
	r->streams[i] = r->streams[--r->nstreams];
}

static gh_stream *
stream_add(gh_reader *r, uint32_t sid, gh_verdict v, const char *path)
{
	if (r->nstreams == STREAMS_MAX) {
		/* the oldest is most likely one the server already ended */
		size_t lo = 0;
		for (size_t i = 1; i < r->nstreams; i++)
			if (r->streams[i].sid < r->streams[lo].sid)
				lo = i;
		stream_drop(r, &r->streams[lo]);
	}
	if (r->nstreams == r->streams_cap) {
		r->streams_cap = r->streams_cap ? r->streams_cap * 2 : 8;
		r->streams = dr_xrealloc(r->streams, r->streams_cap * sizeof(*r->streams));
	}
	gh_stream *st = &r->streams[r->nstreams++];
	memset(st, 0, sizeof(*st));
	st->sid = sid;
	st->path = dr_xstrdup(path);
	st->collect = v == GH_COLLECT;
	st->hold = v == GH_HOLD;
	st->msg.max = GH_MSG_MAX;
	st->held.max = 4 * GH_HOLD_MAX; /* the message, and the frame heads and padding around it */
	return st;
}

static bool
is_refused(const gh_reader *r, uint32_t sid)
{
	for (size_t i = 0; i < r->nrefused; i++)
		if (r->refused[i] == sid)
			return true;
	return false;
}

static void
remember_refused(gh_reader *r, uint32_t sid)
{
	if (r->nrefused == REFUSED_MAX) {
		memmove(r->refused, r->refused + 1, (REFUSED_MAX - 1) * sizeof(r->refused[0]));
		r->nrefused--;
	}
	r->refused[r->nrefused++] = sid;
}

static void
refuse(gh_reader *r, uint32_t sid, bool end_stream, const char *reason)
{
	remember_refused(r, sid);
	r->pending = dr_xrealloc(r->pending, (r->npending + 1) * sizeof(*r->pending));
	r->pending[r->npending++] = (gh_refusal){ sid, !end_stream,
	                                          dr_xstrdup(reason ? reason : "refused") };
}

/* gRPC messages of a collected or held stream, across DATA frames. Returns -1 on a protocol
 * error (*why), 0 when a held stream is still undecided (or the stream is not held), 1 when
 * its first message passed, 2 when it is refused (*reason). */
static int
grpc_feed(gh_reader *r, gh_stream *st, const uint8_t *p, size_t n, const char **why,
          const char **reason)
{
	while (n) {
		if (st->pfx_have < 5) {
			size_t k = 5 - st->pfx_have < n ? 5 - st->pfx_have : n;
			memcpy(st->pfx + st->pfx_have, p, k);
			st->pfx_have += k;
			p += k;
			n -= k;
			if (st->pfx_have < 5)
				return 0;
			uint32_t len = be32(st->pfx + 1);
			if (st->pfx[0] > 1) {
				*why = "gRPC message with an unknown compressed flag";
				return -1;
			}
			if (len > GH_MSG_MAX) {
				*why = "gRPC message larger than 16 MiB";
				return -1;
			}
			if (st->hold && st->pfx[0]) {
				*reason = "deskrun guard: compressed gRPC requests are not inspected";
				return 2;
			}
			if (st->hold && (uint64_t)len + 5 > GH_HOLD_MAX) {
				snprintf(st->why, sizeof(st->why), "deskrun guard: a gRPC request of %u bytes "
				         "is larger than the guard inspects (%u)", len, GH_HOLD_MAX - 5);
				*reason = st->why;
				return 2;
			}
			st->need = len;
			dr_buf_reset(&st->msg);
			st->msg.max = GH_MSG_MAX;
		}
		size_t k = st->need < n ? st->need : n;
		if (k && dr_buf_append(&st->msg, p, k) < 0) {
			*why = "gRPC message larger than 16 MiB";
			return -1;
		}
		st->need -= k;
		p += k;
		n -= k;
		if (st->need == 0) {
			gh_verdict v = GH_PASS;
			const char *rs = NULL;
			dr_buf add = DR_BUF_INIT(GH_BLOCK_MAX);
			if (r->ops && r->ops->message)
				v = r->ops->message(r->u, st->sid, st->path,
				                    (const uint8_t *)(st->msg.data ? st->msg.data : ""),
				                    st->msg.len, st->pfx[0] == 1, &rs, &add);
			if (st->hold && v != GH_REFUSE && add.len) {
				uint32_t nl = (uint32_t)add.len;
				uint8_t pfx[5] = { 0, (uint8_t)(nl >> 24), (uint8_t)(nl >> 16), (uint8_t)(nl >> 8),
					           (uint8_t)nl };
				dr_buf_reset(&st->rewritten);
				dr_buf_append(&st->rewritten, pfx, 5);
				dr_buf_append(&st->rewritten, add.data, add.len);
				dr_buf_reset(&st->rest);
				dr_buf_append(&st->rest, p, n); /* what follows it in this frame */
			}
			dr_buf_reset(&add);
			dr_buf_reset(&st->msg);
			st->msg.max = GH_MSG_MAX;
			st->pfx_have = 0;
			if (r->mode == GH_RESPONSES && v == GH_REFUSE) {
				snprintf(st->why, sizeof(st->why), "%s", rs ? rs : "refused");
				*reason = st->why;
				return 2;
			}
			if (st->hold) {
				if (v == GH_REFUSE) {
					st->judged = true;
					snprintf(st->why, sizeof(st->why), "%s", rs ? rs : "refused");
					*reason = st->why;
					return 2;
				}
				st->collect = false; /* judged: the rest passes unread */
				return 1;
			}
		}
	}
	return 0;
}

/* A held stream refused: its held DATA is dropped (the client's window credited), the server,
 * which has its HEADERS, is told to cancel it, and the client gets the refusal. */
static void
hold_refuse(gh_reader *r, gh_stream *st, const char *reason, dr_buf *out)
{
	if (!st->judged && r->ops && r->ops->refused)
		r->ops->refused(r->u, st->sid, st->path, reason);
	r->credit += st->held_credit;
	gh_rst_stream(out, st->sid, GH_CANCEL);
	refuse(r, st->sid, st->client_ended, reason);
	stream_drop(r, st);
}

/* ---- header blocks ---- */

typedef struct hlist {
	dr_buf arena;
	gh_header *h;
	size_t n, cap;
	size_t *off; /* name offset, value offset pairs in the arena */
} hlist;

static void
hlist_free(hlist *l)
{
	dr_buf_reset(&l->arena);
	free(l->h);
	free(l->off);
}

static int
inflate_block(gh_reader *r, const uint8_t *in, size_t len, hlist *l, const char **why)
{
	l->arena.max = GH_HEADERS_MAX + 4096;
	size_t total = 0;
	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t k = nghttp2_hd_inflate_hd2(r->inf, &nv, &fl, in, len, 1);
		if (k < 0) {
			*why = "HPACK decoding error in a header block";
			return -1;
		}
		in += k;
		len -= (size_t)k;
		if (fl & NGHTTP2_HD_INFLATE_EMIT) {
			total += nv.namelen + nv.valuelen + 32;
			if (total > GH_HEADERS_MAX) {
				*why = "header list larger than 64 KiB";
				return -1;
			}
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 16;
				l->h = dr_xrealloc(l->h, l->cap * sizeof(*l->h));
				l->off = dr_xrealloc(l->off, l->cap * 2 * sizeof(*l->off));
			}
			l->off[2 * l->n] = l->arena.len;
			dr_buf_append(&l->arena, nv.name, nv.namelen);
			dr_buf_append(&l->arena, "", 1);
			l->off[2 * l->n + 1] = l->arena.len;
			dr_buf_append(&l->arena, nv.value, nv.valuelen);
			dr_buf_append(&l->arena, "", 1);
			l->h[l->n] = (gh_header){ NULL, NULL, nv.namelen, nv.valuelen,
			                          (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0 };
			l->n++;
		}
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(r->inf);
			break;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && len == 0) {
			*why = "truncated header block";
			return -1;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		l->h[i].name = l->arena.data + l->off[2 * i];
		l->h[i].value = l->arena.data + l->off[2 * i + 1];
	}
	return 0;
}

void
gh_frame_head(dr_buf *out, uint32_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
	uint8_t h[9] = { (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
		         (uint8_t)(sid >> 24 & 0x7f), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8),
		         (uint8_t)sid };
	dr_buf_append(out, h, sizeof(h));
}

/* A header block as HEADERS + CONTINUATION frames of at most 16384 bytes (the smallest
 * SETTINGS_MAX_FRAME_SIZE a peer may announce). */
static void
emit_block(dr_buf *out, uint32_t sid, bool end_stream, const uint8_t *blk, size_t len)
{
	size_t off = 0;
	bool first = true;
	do {
		size_t k = len - off > 16384 ? 16384 : len - off;
		uint8_t fl = (uint8_t)(off + k == len ? GH_F_END_HEADERS : 0);
		if (first && end_stream)
			fl |= GH_F_END_STREAM;
		gh_frame_head(out, (uint32_t)k, first ? GH_HEADERS : GH_CONTINUATION, fl, sid);
		dr_buf_append(out, blk + off, k);
		off += k;
		first = false;
	} while (off < len);
}

static int
reencode(gh_reader *r, const hlist *l, uint32_t sid, bool end_stream, dr_buf *out,
         const char **why)
{
	nghttp2_nv *nva = dr_xcalloc(l->n ? l->n : 1, sizeof(*nva));
	for (size_t i = 0; i < l->n; i++)
		nva[i] = (nghttp2_nv){ (uint8_t *)(uintptr_t)l->h[i].name,
			               (uint8_t *)(uintptr_t)l->h[i].value, l->h[i].name_len,
			               l->h[i].value_len,
			               (uint8_t)(NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE |
			                         (l->h[i].never_index ? NGHTTP2_NV_FLAG_NO_INDEX : 0)) };
	size_t bound = nghttp2_hd_deflate_bound(r->def, nva, l->n);
	uint8_t *blk = dr_xmalloc(bound ? bound : 1);
	ssize_t k = nghttp2_hd_deflate_hd(r->def, blk, bound, nva, l->n);
	free(nva);
	if (k < 0) {
		free(blk);
		*why = "cannot re-encode a header block";
		return -1;
	}
	emit_block(out, sid, end_stream, blk, (size_t)k);
	free(blk);
	return 0;
}

static const char *
hget(const hlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->h[i].name, name) == 0)
			return l->h[i].value;
	return "";
}

static int
finish_block(gh_reader *r, dr_buf *out, const char **why)
{
	uint32_t sid = r->block_sid;
	bool end_stream = r->block_end_stream;
	hlist l = { .arena = DR_BUF_INIT(0) };
	int rc = inflate_block(r, (const uint8_t *)(r->block.data ? r->block.data : ""), r->block.len,
	                       &l, why);
	r->in_block = false;
	dr_buf_reset(&r->block);
	r->block.max = GH_BLOCK_MAX;
	if (rc < 0)
		goto out;
	if (is_refused(r, sid))
		goto out; /* trailers of a refused stream: decoded (the table), never forwarded */
	gh_stream *st = stream_find(r, sid);
	if (st && st->hold) { /* trailers would overtake the held DATA */
		hold_refuse(r, st, "deskrun guard: gRPC trailers before the request message", out);
		goto out;
	}
	if (st) { /* trailers */
		rc = reencode(r, &l, sid, end_stream, out, why);
		if (end_stream)
			stream_drop(r, st);
		goto out;
	}
	if (sid <= r->last_sid) {
		*why = "HEADERS on a closed stream";
		rc = -1;
		goto out;
	}
	r->last_sid = sid;
	gh_request rq = { hget(&l, ":path"), hget(&l, ":method"), l.h, l.n, end_stream };
	const char *reason = NULL;
	gh_verdict v = r->ops && r->ops->request ? r->ops->request(r->u, sid, &rq, &reason) : GH_PASS;
	if (v == GH_REFUSE) {
		refuse(r, sid, end_stream, reason);
		goto out;
	}
	rc = reencode(r, &l, sid, end_stream, out, why);
	if (rc == 0 && v == GH_HOLD && end_stream) { /* no message will come */
		gh_rst_stream(out, sid, GH_CANCEL);
		refuse(r, sid, true, "deskrun guard: the gRPC request has no message");
		if (r->ops && r->ops->refused)
			r->ops->refused(r->u, sid, rq.path, "the gRPC request has no message");
	} else if (rc == 0 && !end_stream) {
		stream_add(r, sid, v, rq.path);
	}
out:
	hlist_free(&l);
	return rc;
}

/* ---- GH_REQUESTS ---- */

static int
settings_payload(gh_reader *r, const uint8_t *p, uint32_t len, const char **why)
{
	if (len % 6) {
		*why = "SETTINGS length not a multiple of 6";
		return -1;
	}
	for (uint32_t i = 0; i < len; i += 6)
		if ((p[i] << 8 | p[i + 1]) == 1)
			r->table_size = be32(p + i + 2);
	return 0;
}

/* A held message that passed with additions: new DATA frames (at most 16384 bytes each, the
 * smallest frame size a server may announce) for it and the bytes after it, END_STREAM kept,
 * padding dropped. The server must have room for them now (its stream's initial window, the
 * connection window it granted less what it was sent); what they add to what the client sent
 * becomes a debt its next connection WINDOW_UPDATEs repay, what they drop (padding) is
 * credited to the client. -1 with *reason when the windows are too small. */
static int
emit_rewritten(gh_reader *r, gh_stream *st, dr_buf *out, const char **reason)
{
	uint64_t total = st->rewritten.len + st->rest.len;
	uint64_t conn_room = r->peer ? 65535 + r->peer->wu_conn : 65535;
	conn_room = conn_room > r->data_out ? conn_room - r->data_out : 0;
	uint32_t stream_room = r->peer ? r->peer->init_window : 65535;
	if (total > conn_room || total > stream_room) {
		*reason = "deskrun guard: the daemon's HTTP/2 window has no room for the labelled "
		          "request now; retry the build";
		return -1;
	}
	dr_buf all = DR_BUF_INIT(0);
	dr_buf_append(&all, st->rewritten.data, st->rewritten.len);
	if (st->rest.len)
		dr_buf_append(&all, st->rest.data, st->rest.len);
	size_t off = 0;
	do {
		size_t k = all.len - off > 16384 ? 16384 : all.len - off;
		bool last = off + k == all.len;
		gh_frame_head(out, (uint32_t)k, GH_DATA, last && st->client_ended ? GH_F_END_STREAM : 0,
		              st->sid);
		dr_buf_append(out, all.data + off, k);
		off += k;
	} while (off < all.len);
	dr_buf_reset(&all);
	r->data_out += total;
	if (total > st->held_credit) {
		if (r->peer)
			r->peer->debt += total - st->held_credit;
	} else {
		r->credit += st->held_credit - total;
	}
	dr_buf_reset(&st->held);
	dr_buf_reset(&st->rewritten);
	dr_buf_reset(&st->rest);
	st->held_credit = 0;
	st->hold = false;
	return 0;
}

void
gh_link(gh_reader *rq, gh_reader *rs)
{
	rq->peer = rs;
}

/* One whole frame: p is its payload. */
static int
frame(gh_reader *r, uint8_t type, uint8_t flags, uint32_t sid, const uint8_t *frame_start,
      const uint8_t *p, uint32_t len, dr_buf *out, const char **why)
{
	size_t whole = 9 + (size_t)len;
	if (r->in_block && type != GH_CONTINUATION) {
		*why = "a header block interrupted before its END_HEADERS";
		return -1;
	}
	switch (type) {
	case GH_DATA: {
		if (sid == 0) {
			*why = "DATA on stream 0";
			return -1;
		}
		uint32_t pad = 0, off = 0;
		if (flags & GH_F_PADDED) {
			if (len < 1 || p[0] >= len) {
				*why = "DATA padding longer than the frame";
				return -1;
			}
			pad = p[0];
			off = 1;
		}
		if (is_refused(r, sid)) {
			r->credit += len;
			return 0;
		}
		gh_stream *st = stream_find(r, sid);
		const char *reason = NULL;
		if (st && st->hold) {
			if (dr_buf_append(&st->held, frame_start, whole) < 0) {
				hold_refuse(r, st, "deskrun guard: too many DATA frames around a gRPC request", out);
				r->credit += len;
				return 0;
			}
			st->held_credit += len;
			if (flags & GH_F_END_STREAM)
				st->client_ended = true;
			int v = grpc_feed(r, st, p + off, len - off - pad, why, &reason);
			if (v < 0)
				return -1;
			if (v == 0 && st->client_ended) {
				v = 2;
				reason = "deskrun guard: the gRPC request ended before its message";
			}
			if (v == 2) {
				hold_refuse(r, st, reason, out);
			} else if (v == 1 && st->rewritten.len) {
				if (emit_rewritten(r, st, out, &reason) < 0) {
					hold_refuse(r, st, reason, out);
					return 0;
				}
				if (st->client_ended)
					stream_drop(r, st);
			} else if (v == 1) {
				dr_buf_append(out, st->held.data, st->held.len);
				r->data_out += st->held_credit;
				dr_buf_reset(&st->held);
				st->held_credit = 0;
				st->hold = false;
				if (st->client_ended)
					stream_drop(r, st);
			}
			return 0;
		}
		if (st && st->collect && grpc_feed(r, st, p + off, len - off - pad, why, &reason) < 0)
			return -1;
		dr_buf_append(out, frame_start, whole);
		r->data_out += len;
		if (st && (flags & GH_F_END_STREAM))
			stream_drop(r, st);
		return 0;
	}
	case GH_HEADERS: {
		if (sid == 0) {
			*why = "HEADERS on stream 0";
			return -1;
		}
		uint32_t off = 0, pad = 0;
		if (flags & GH_F_PADDED) {
			if (len < 1) {
				*why = "HEADERS padding longer than the frame";
				return -1;
			}
			pad = p[0];
			off = 1;
		}
		if (flags & GH_F_PRIORITY)
			off += 5;
		if ((uint64_t)off + pad > len) {
			*why = "HEADERS padding longer than the frame";
			return -1;
		}
		r->in_block = true;
		r->block_sid = sid;
		r->block_end_stream = (flags & GH_F_END_STREAM) != 0;
		if (dr_buf_append(&r->block, p + off, len - off - pad) < 0) {
			*why = "header block larger than 256 KiB";
			return -1;
		}
		return (flags & GH_F_END_HEADERS) ? finish_block(r, out, why) : 0;
	}
	case GH_CONTINUATION:
		if (!r->in_block || sid != r->block_sid) {
			*why = "CONTINUATION without its HEADERS";
			return -1;
		}
		if (dr_buf_append(&r->block, p, len) < 0) {
			*why = "header block larger than 256 KiB";
			return -1;
		}
		return (flags & GH_F_END_HEADERS) ? finish_block(r, out, why) : 0;
	case GH_SETTINGS:
		if (sid != 0) {
			*why = "SETTINGS on a stream";
			return -1;
		}
		if (!(flags & GH_F_ACK) && settings_payload(r, p, len, why) < 0)
			return -1;
		dr_buf_append(out, frame_start, whole);
		return 0;
	case GH_PUSH_PROMISE:
		*why = "PUSH_PROMISE from a client";
		return -1;
	case GH_RST_STREAM:
	case GH_PRIORITY:
	case GH_WINDOW_UPDATE: {
		if (sid && is_refused(r, sid))
			return 0;
		if (type == GH_RST_STREAM) {
			gh_stream *st = sid ? stream_find(r, sid) : NULL;
			if (st) {
				r->credit += st->held_credit; /* held DATA the server never saw */
				stream_drop(r, st);
			}
		}
		dr_buf_append(out, frame_start, whole);
		return 0;
	}
	default: /* PING, GOAWAY, extensions: passed */
		dr_buf_append(out, frame_start, whole);
		return 0;
	}
}

ssize_t
gh_rewrite(gh_reader *r, const uint8_t *in, size_t len, dr_buf *out, const char **why)
{
	size_t done = 0;
	if (r->preface) {
		size_t off = GH_PREFACE_LEN - r->preface;
		size_t k = r->preface < len ? r->preface : len;
		if (memcmp(in, &GH_PREFACE[off], k) != 0) {
			*why = "the HTTP/2 connection preface is missing";
			return -1;
		}
		dr_buf_append(out, in, k);
		r->preface -= k;
		done = k;
		if (r->preface)
			return (ssize_t)done;
	}
	while (len - done >= 9) {
		const uint8_t *h = in + done;
		uint32_t flen = be24(h);
		if (len - done - 9 < flen)
			break;
		if (frame(r, h[3], h[4], be32(h + 5) & 0x7fffffffu, h, h + 9, flen, out, why) < 0)
			return -1;
		done += 9 + (size_t)flen;
	}
	return (ssize_t)done;
}

/* ---- GH_RESPONSES ---- */

int
gh_track(gh_reader *r, uint8_t *in, size_t len, const char **why)
{
	while (len) {
		if (r->head_have < 9) {
			size_t k = 9 - r->head_have < len ? 9 - r->head_have : len;
			memcpy(r->head + r->head_have, in, k);
			r->head_have += k;
			in += k;
			len -= k;
			if (r->head_have < 9)
				return 0;
			r->payload_left = be24(r->head);
			r->cur_type = r->head[3];
			r->cur_flags = r->head[4];
			r->settings_have = 0;
			uint32_t sid = be32(r->head + 5) & 0x7fffffffu;
			if (r->in_block && (r->cur_type != GH_CONTINUATION || sid != r->block_sid)) {
				*why = "a header block interrupted before its END_HEADERS";
				return -1;
			}
			if (r->cur_type == GH_HEADERS || r->cur_type == GH_PUSH_PROMISE ||
			    r->cur_type == GH_CONTINUATION) {
				if (r->cur_type == GH_CONTINUATION && !r->in_block) {
					*why = "CONTINUATION without its HEADERS";
					return -1;
				}
				r->in_block = !(r->cur_flags & GH_F_END_HEADERS);
				r->block_sid = sid;
			}
			if (r->cur_type == GH_SETTINGS && !(r->cur_flags & GH_F_ACK) && r->payload_left % 6) {
				*why = "SETTINGS length not a multiple of 6";
				return -1;
			}
			gh_stream *cst = r->mode == GH_RESPONSES && sid ? stream_find(r, sid) : NULL;
			r->cur_collect = cst && r->cur_type == GH_DATA;
			r->cur_sid = sid;
			r->pad_pending = r->cur_collect && (r->cur_flags & GH_F_PADDED);
			r->data_left = r->payload_left;
			if (r->pad_pending && r->payload_left == 0) {
				*why = "a PADDED DATA frame without its pad length";
				return -1;
			}
			/* a collected stream ends with the sender's END_STREAM, or a reset */
			if (cst && (r->cur_type == GH_RST_STREAM ||
			            (r->cur_type == GH_HEADERS && (r->cur_flags & GH_F_END_STREAM)))) {
				stream_drop(r, cst);
				r->cur_collect = false;
			}
			r->wu_pending = r->cur_type == GH_WINDOW_UPDATE && sid == 0;
			if (r->wu_pending && r->payload_left != 4) {
				*why = "WINDOW_UPDATE length is not 4";
				return -1;
			}
			if (r->wu_pending && len >= 4) {
				/* whole in this piece: counted, and the debt taken off in place */
				uint32_t inc = be32(in) & 0x7fffffffu;
				r->wu_conn += inc;
				uint64_t pay = inc > 1 ? (r->debt < inc - 1 ? r->debt : inc - 1) : 0;
				if (pay) {
					uint32_t ni = inc - (uint32_t)pay;
					in[0] = (uint8_t)(ni >> 24);
					in[1] = (uint8_t)(ni >> 16);
					in[2] = (uint8_t)(ni >> 8);
					in[3] = (uint8_t)ni;
					r->debt -= pay;
				}
				r->wu_pending = false;
				in += 4;
				len -= 4;
				r->payload_left = 0;
				r->head_have = 0;
				continue;
			}
			if (r->payload_left == 0) { /* an empty frame (SETTINGS ACK...) ends here */
				r->head_have = 0;
				if (r->cur_collect && (r->cur_flags & GH_F_END_STREAM)) {
					gh_stream *est = stream_find(r, r->cur_sid);
					if (est)
						stream_drop(r, est);
				}
				continue;
			}
		}
		size_t k = r->payload_left < len ? r->payload_left : len;
		if (r->cur_collect && k) {
			/* the DATA of a collected stream: its gRPC messages, padding left out */
			const uint8_t *p = in;
			size_t m = k;
			if (r->pad_pending) {
				uint8_t pad = p[0];
				if ((uint32_t)pad + 1 > r->payload_left) {
					*why = "DATA padding longer than its frame";
					return -1;
				}
				r->data_left = r->payload_left - 1 - pad;
				r->pad_pending = false;
				p++;
				m--;
			}
			size_t dk = m < r->data_left ? m : r->data_left;
			gh_stream *cst = stream_find(r, r->cur_sid);
			if (dk && cst) {
				const char *rs = NULL;
				int g = grpc_feed(r, cst, p, dk, why, &rs);
				if (g < 0)
					return -1;
				if (g == 2) {
					*why = rs;
					return -2;
				}
			}
			r->data_left -= (uint32_t)dk;
			if (r->payload_left == k && (r->cur_flags & GH_F_END_STREAM) && cst)
				stream_drop(r, cst);
		}
		if (r->wu_pending) { /* split across pieces: counted, not changed */
			for (size_t i = 0; i < k; i++)
				r->settings[r->settings_have++] = in[i];
			if (r->settings_have == 4) {
				r->wu_conn += be32(r->settings) & 0x7fffffffu;
				r->wu_pending = false;
			}
		}
		if (r->cur_type == GH_SETTINGS && !(r->cur_flags & GH_F_ACK)) {
			for (size_t i = 0; i < k; i++) {
				r->settings[r->settings_have++] = in[i];
				if (r->settings_have == 6) {
					uint16_t id = (uint16_t)(r->settings[0] << 8 | r->settings[1]);
					if (id == 1)
						r->table_size = be32(r->settings + 2);
					else if (id == 4)
						r->init_window = be32(r->settings + 2);
					r->settings_have = 0;
				}
			}
		}
		in += k;
		len -= k;
		r->payload_left -= (uint32_t)k;
		if (r->payload_left == 0)
			r->head_have = 0;
	}
	return 0;
}

uint32_t
gh_track_drop(gh_reader *r)
{
	if (r->mode != GH_RESPONSES || r->head_have != 9 || r->cur_type != GH_DATA || r->in_block ||
	    !r->cur_sid)
		return 0;
	gh_stream *st = stream_find(r, r->cur_sid);
	if (st)
		stream_drop(r, st);
	remember_refused(r, r->cur_sid);
	r->head_have = 0;
	r->payload_left = 0;
	r->cur_collect = r->pad_pending = r->wu_pending = false;
	return r->cur_sid;
}

bool
gh_dropped(const gh_reader *r, uint32_t sid)
{
	return sid && is_refused(r, sid);
}

void
gh_collect(gh_reader *r, uint32_t sid, const char *path)
{
	if (r->mode == GH_RESPONSES && sid && !stream_find(r, sid))
		stream_add(r, sid, GH_COLLECT, path);
}

bool
gh_at_boundary(const gh_reader *r)
{
	return r->head_have == 0 && !r->in_block;
}

uint32_t
gh_table_size(const gh_reader *r)
{
	return r->table_size;
}

int
gh_set_table_max(gh_reader *r, uint32_t size)
{
	/* Lenient by design: the largest size either side ever announced (the server checks the
	 * client's encoder strictly; the guard must only never fail to follow it). */
	if (!r->inf || size <= r->table_max)
		return 0;
	r->table_max = size;
	return nghttp2_hd_inflate_change_table_size(r->inf, size) == 0 ? 0 : -1;
}

bool
gh_has_replies(const gh_reader *r)
{
	return r->npending || r->credit;
}

size_t
gh_take_replies(gh_reader *r, dr_buf *out)
{
	size_t n = r->npending;
	for (size_t i = 0; i < r->npending; i++) {
		gh_grpc_error(out, r->pending[i].sid, 7, r->pending[i].reason);
		if (r->pending[i].rst)
			gh_rst_stream(out, r->pending[i].sid, GH_NO_ERROR);
		free(r->pending[i].reason);
	}
	r->npending = 0;
	gh_window_credit(out, r->credit);
	r->credit = 0;
	return n;
}

void
gh_rst_stream(dr_buf *out, uint32_t sid, uint32_t code)
{
	uint8_t c[4] = { (uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8),
		         (uint8_t)code };
	gh_frame_head(out, 4, GH_RST_STREAM, 0, sid);
	dr_buf_append(out, c, 4);
}

void
gh_window_credit(dr_buf *out, uint64_t credit)
{
	while (credit) {
		uint32_t k = credit > 0x7fffffffu ? 0x7fffffffu : (uint32_t)credit;
		uint8_t inc[4] = { (uint8_t)(k >> 24), (uint8_t)(k >> 16), (uint8_t)(k >> 8), (uint8_t)k };
		gh_frame_head(out, 4, GH_WINDOW_UPDATE, 0, 0);
		dr_buf_append(out, inc, 4);
		credit -= k;
	}
}

/* HPACK integer with an n-bit prefix (RFC 7541 §5.1), first byte's high bits in hi. */
static void
hpack_int(dr_buf *out, uint8_t hi, int nbits, size_t v)
{
	size_t lim = ((size_t)1 << nbits) - 1;
	uint8_t b;
	if (v < lim) {
		b = (uint8_t)(hi | v);
		dr_buf_append(out, &b, 1);
		return;
	}
	b = (uint8_t)(hi | lim);
	dr_buf_append(out, &b, 1);
	v -= lim;
	while (v >= 128) {
		b = (uint8_t)(v % 128 + 128);
		dr_buf_append(out, &b, 1);
		v /= 128;
	}
	b = (uint8_t)v;
	dr_buf_append(out, &b, 1);
}

/* literal without indexing, new name, no Huffman */
static void
hpack_literal(dr_buf *out, const char *name, const char *value, size_t vlen)
{
	hpack_int(out, 0x00, 4, 0);
	hpack_int(out, 0x00, 7, strlen(name));
	dr_buf_puts(out, name);
	hpack_int(out, 0x00, 7, vlen);
	dr_buf_append(out, value, vlen);
}

/* The gRPC error block: with :status and content-type (trailers-only), or trailers alone
 * (after the response's HEADERS: no pseudo-header, RFC 9113 §8.1). */
static void
grpc_error_block(dr_buf *out, uint32_t sid, int grpc_status, const char *msg, bool trailers)
{
	dr_buf blk = DR_BUF_INIT(0);
	if (!trailers) {
		hpack_int(&blk, 0x80, 7, 8); /* :status 200, static index 8 */
		/* content-type (static index 31) as a literal without indexing */
		hpack_int(&blk, 0x00, 4, 31);
		hpack_int(&blk, 0x00, 7, 16);
		dr_buf_puts(&blk, "application/grpc");
	}
	char st[16];
	int sl = snprintf(st, sizeof(st), "%d", grpc_status);
	hpack_literal(&blk, "grpc-status", st, (size_t)sl);
	/* grpc-message: percent-encoded outside printable ASCII and '%' (gRPC over HTTP/2) */
	dr_buf m = DR_BUF_INIT(0);
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; msg && msg[i] && i < 1024; i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c >= 0x20 && c <= 0x7e && c != '%') {
			dr_buf_append(&m, &c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			dr_buf_append(&m, e, 3);
		}
	}
	hpack_literal(&blk, "grpc-message", m.data ? m.data : "", m.len);
	dr_buf_reset(&m);
	emit_block(out, sid, true, (const uint8_t *)blk.data, blk.len);
	dr_buf_reset(&blk);
}

void
gh_grpc_error(dr_buf *out, uint32_t sid, int grpc_status, const char *msg)
{
	grpc_error_block(out, sid, grpc_status, msg, false);
}

void
gh_grpc_trailers(dr_buf *out, uint32_t sid, int grpc_status, const char *msg)
{
	grpc_error_block(out, sid, grpc_status, msg, true);
}

/* ---- protobuf ---- */

static int
pb_varint(gh_pb *pb, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (pb->p >= pb->end)
			return -1;
		uint8_t b = *pb->p++;
		if (shift == 63 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

int
gh_pb_next(gh_pb *pb, gh_pb_field *f, const char **why)
{
	if (pb->p >= pb->end)
		return 0;
	uint64_t key;
	if (pb_varint(pb, &key) < 0) {
		*why = "protobuf: truncated or overlong field key";
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->wire = (int)(key & 7);
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff) {
		*why = "protobuf: field number out of range";
		return -1;
	}
	f->num = (uint32_t)(key >> 3);
	size_t left = (size_t)(pb->end - pb->p);
	switch (f->wire) {
	case 0:
		if (pb_varint(pb, &f->v) < 0) {
			*why = "protobuf: truncated or overlong varint";
			return -1;
		}
		return 1;
	case 1:
	case 5: {
		size_t n = f->wire == 1 ? 8 : 4;
		if (left < n) {
			*why = "protobuf: truncated fixed-width field";
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			f->v |= (uint64_t)pb->p[i] << (8 * i);
		pb->p += n;
		return 1;
	}
	case 2: {
		uint64_t n;
		if (pb_varint(pb, &n) < 0 || n > (uint64_t)(pb->end - pb->p)) {
			*why = "protobuf: length-delimited field longer than its message";
			return -1;
		}
		f->data = pb->p;
		f->len = (size_t)n;
		pb->p += n;
		return 1;
	}
	default:
		*why = "protobuf: groups and unknown wire types are not accepted";
		return -1;
	}
}
