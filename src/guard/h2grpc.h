/* h2grpc.h: an HTTP/2 + gRPC + protobuf reader for the guard's BuildKit tunnel (`POST /grpc`
 * after its 101). Pure: bytes in, bytes out, no I/O.
 *
 * One gh_reader follows one direction of one HTTP/2 connection:
 * - GH_REQUESTS, the client's bytes (they open with the connection preface): every frame is
 *   read whole; every header block (HEADERS + CONTINUATION, padding and priority removed) is
 *   decoded in order with libnghttp2's HPACK inflater (one dynamic table per direction, so no
 *   block may be skipped), the request's headers go to ops->request, and the block is
 *   re-encoded for the server with a deflater that never indexes (the server's decoder table
 *   then holds nothing the client put there, so a block can be dropped without desynchronising
 *   it). Streams ops->request refused are never forwarded: their frames are dropped, and
 *   gh_take_replies() gives the frames to send the client (a trailers-only gRPC error, an
 *   RST_STREAM when the client had not ended the stream, and a WINDOW_UPDATE giving back the
 *   connection window its dropped DATA took). Streams ops->request asked to collect have their
 *   gRPC messages (5-byte prefix: compressed flag, big-endian length) reassembled across DATA
 *   frames and given to ops->message. Everything else passes byte for byte. Flow control is
 *   the peers' business (the reader only observes it).
 * - GH_RESPONSES, the server's bytes: only frame boundaries (a reply may be slipped in between
 *   two frames, never inside a header block) and the SETTINGS header table size, which bounds
 *   the client's encoder and so the GH_REQUESTS reader's inflater (gh_set_table_max).
 * Any protocol error is fatal for the connection: the caller closes both sides. */
#ifndef DESKRUN_GUARD_H2GRPC_H
#define DESKRUN_GUARD_H2GRPC_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GH_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define GH_PREFACE_LEN 24
#define GH_BLOCK_MAX (256u * 1024)   /* one header block, encoded (CONTINUATION floods) */
#define GH_HEADERS_MAX (64u * 1024)  /* one header list, decoded */
#define GH_MSG_MAX (16u * 1024 * 1024) /* one gRPC message (BuildKit's own limit) */

/* frame types and flags (RFC 9113 §6) */
enum {
	GH_DATA = 0, GH_HEADERS = 1, GH_PRIORITY = 2, GH_RST_STREAM = 3, GH_SETTINGS = 4,
	GH_PUSH_PROMISE = 5, GH_PING = 6, GH_GOAWAY = 7, GH_WINDOW_UPDATE = 8, GH_CONTINUATION = 9,
};
enum { GH_F_END_STREAM = 0x1, GH_F_ACK = 0x1, GH_F_END_HEADERS = 0x4, GH_F_PADDED = 0x8,
       GH_F_PRIORITY = 0x20 };
/* RST_STREAM error codes (RFC 9113 §7) */
enum { GH_NO_ERROR = 0x0, GH_CANCEL = 0x8 };

typedef enum { GH_REQUESTS, GH_RESPONSES } gh_mode;
/* GH_HOLD: the stream's DATA is held back (HEADERS went on) until its first gRPC message is
 * whole and ops->message said GH_PASS (then the held frames go on) or GH_REFUSE (they are
 * dropped, the server gets RST_STREAM CANCEL, the client the refusal). A message that cannot
 * be whole within GH_HOLD_MAX bytes, a compressed one, or a stream that ends without one is
 * refused. */
typedef enum { GH_PASS, GH_COLLECT, GH_HOLD, GH_REFUSE } gh_verdict;
#define GH_HOLD_MAX 65535u /* the smallest initial window: a client never waits for the server's
                              WINDOW_UPDATE to send this much */

typedef struct gh_header {
	const char *name, *value; /* NUL-terminated (a value may hold NULs: use value_len) */
	size_t name_len, value_len;
	bool never_index;
} gh_header;

typedef struct gh_request {
	const char *path;          /* :path, "" when absent */
	const char *method;        /* :method, "" when absent */
	gh_header *hdrs;           /* the request callback may point a value elsewhere (memory
	                              valid until the callback is called again): the block is
	                              re-encoded with it */
	size_t nhdrs;
	bool end_stream;           /* the request has no body */
} gh_request;

typedef struct gh_ops {
	/* The headers of a new stream. GH_REFUSE sets *reason (copied at once; one line). */
	gh_verdict (*request)(void *u, uint32_t sid, const gh_request *rq, const char **reason);
	/* One whole gRPC message of a stream the request callback collected or held (valid
	 * during the call; path is the stream's :path). For a held stream's first message the
	 * answer decides (GH_PASS or GH_REFUSE with *reason), and a message the callback puts in
	 * *rewrite goes on instead of this one: its gRPC length and DATA frames are rewritten,
	 * and the flow-control windows kept right (see gh_link); otherwise the answer is
	 * ignored. */
	gh_verdict (*message)(void *u, uint32_t sid, const char *path, const uint8_t *msg,
	                      size_t len, bool compressed, const char **reason, dr_buf *rewrite);
	/* A held stream the reader refused on its own (too large, compressed, no message...),
	 * for the log; may be NULL. */
	void (*refused)(void *u, uint32_t sid, const char *path, const char *reason);
} gh_ops;

typedef struct gh_reader gh_reader;

gh_reader *gh_reader_new(gh_mode mode, const gh_ops *ops, void *u);
void gh_reader_free(gh_reader *r);

/* GH_REQUESTS: read the whole frames at the start of in (a partial frame waits for more
 * bytes), append what goes to the server to out. Returns the bytes read (0: need more), or -1
 * with *why on a protocol error. */
ssize_t gh_rewrite(gh_reader *r, const uint8_t *in, size_t len, dr_buf *out, const char **why);
/* GH_RESPONSES: follow all of in, which is then forwarded. 0, or -1 with *why. The only
 * change made in place: the increments of connection WINDOW_UPDATEs lose what rewritten
 * requests added (the client counted less than the server received: its window is too
 * large by that much until repaid). */
int gh_track(gh_reader *r, uint8_t *in, size_t len, const char **why);
/* gh_track returned -2: a collected stream's message was refused (*why, from ops->message),
 * and none of in may go on yet. When the refusing frame is DATA whose 9-byte head is in
 * hand, its stream is forgotten and remembered as dropped, the reader goes back to the
 * frame's start (the caller drops the frame and feeds what follows it), and the stream is
 * returned; otherwise 0 (the caller closes the connection). */
uint32_t gh_track_drop(gh_reader *r);
/* A stream gh_track_drop (or a refusal) dropped. */
bool gh_dropped(const gh_reader *r, uint32_t sid);
/* Tie a GH_REQUESTS reader to the GH_RESPONSES reader of the same connection: rewritten
 * requests then check the server's windows (its SETTINGS and WINDOW_UPDATEs, the DATA sent
 * to it) and leave their extra bytes as a debt the server's next WINDOW_UPDATEs repay. */
void gh_link(gh_reader *rq, gh_reader *rs);
/* GH_RESPONSES: collect the gRPC messages of stream sid (its DATA, padding left out) and give
 * each to the reader's ops->message (path as given); GH_REFUSE there makes gh_track return -2 with
 * the reason, before the bytes that completed the message are forwarded. For a tunnel whose
 * server is the tenant (POST /session: the daemon calls the client), named by the request
 * reader of the other direction. The stream is forgotten at its END_STREAM or RST_STREAM. */
void gh_collect(gh_reader *r, uint32_t sid, const char *path);
/* GH_RESPONSES: the bytes followed so far end between two frames, outside a header block. */
bool gh_at_boundary(const gh_reader *r);
/* The SETTINGS_HEADER_TABLE_SIZE this direction announced (4096 until it says). */
uint32_t gh_table_size(const gh_reader *r);
/* The other direction announced size: the most this direction's encoder may use. */
int gh_set_table_max(gh_reader *r, uint32_t size);
/* GH_REQUESTS: append the frames owed to the client (refusals, window credit) to out;
 * returns how many refusals they carry. */
size_t gh_take_replies(gh_reader *r, dr_buf *out);
bool gh_has_replies(const gh_reader *r);

/* A trailers-only gRPC answer on stream sid: HEADERS (END_STREAM|END_HEADERS) with :status
 * 200, content-type application/grpc, grpc-status and grpc-message (percent-encoded, at most
 * 1024 bytes of msg), encoded with static indexes and literals only (the client's decoder
 * table is not touched). */
void gh_grpc_error(dr_buf *out, uint32_t sid, int grpc_status, const char *msg);
/* The same answer as trailers after the response's HEADERS: grpc-status and grpc-message
 * only (no pseudo-header), END_STREAM|END_HEADERS, the same encoding. */
void gh_grpc_trailers(dr_buf *out, uint32_t sid, int grpc_status, const char *msg);
/* A frame header (9 bytes) into out. */
void gh_frame_head(dr_buf *out, uint32_t len, uint8_t type, uint8_t flags, uint32_t sid);
/* RST_STREAM of stream sid with an error code (GH_NO_ERROR, GH_CANCEL) into out. */
void gh_rst_stream(dr_buf *out, uint32_t sid, uint32_t code);
/* Connection WINDOW_UPDATEs giving back credit bytes (none when 0) into out. */
void gh_window_credit(dr_buf *out, uint64_t credit);

/* ---- protobuf wire format ----
 * A cursor over one message; gh_pb_next() yields its fields in order. Wire types 0 (varint),
 * 1 (fixed64), 2 (length-delimited: data/len) and 5 (fixed32); groups (3, 4), field number 0
 * and overlong varints are errors. */
typedef struct gh_pb {
	const uint8_t *p, *end;
} gh_pb;

typedef struct gh_pb_field {
	uint32_t num;
	int wire;
	uint64_t v;          /* varint and fixed values */
	const uint8_t *data; /* wire type 2 */
	size_t len;
} gh_pb_field;

static inline gh_pb
gh_pb_init(const uint8_t *p, size_t len)
{
	gh_pb pb = { p, p + len };
	return pb;
}
/* 1: a field, 0: the end, -1: malformed (*why). */
int gh_pb_next(gh_pb *pb, gh_pb_field *f, const char **why);

#endif
