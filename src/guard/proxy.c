/* proxy.c: the epoll relay (see proxy.h).
 *
 * Connections: each client connection gets an upstream connection when its first request is
 * forwarded and keeps it while both stay reusable; when a client goes away its idle,
 * keep-alive upstream connection goes to a small pool and serves the next client, so short
 * CLI connections do not each cost a connect() and a new daemon-side goroutine. Each
 * connection works one exchange at a time: the next pipelined request is read only when the
 * previous response is done, so answers keep their order.
 *
 * Events: every socket is registered once, edge-triggered. Readiness is tracked per socket
 * (a read that returns less than asked, or EAGAIN, clears it; events set it), so a plain
 * exchange is one read and one write on each side and no epoll_ctl. Output interest is on
 * only while bytes wait for a socket, and meanwhile the other socket's input interest is off
 * (a streaming peer would wake the loop for every piece it writes). Under load a request
 * head that came alone is read with MSG_PEEK and taken off the socket after its answer (see
 * "deferred reads"). A client that hangs up while its answer is pending ends the exchange
 * (the daemon's side is closed with it), and a connection that still has work when its turn
 * ends is run again before the next wait, never left for an edge that will not come.
 *
 * Bytes: heads, chunk-size lines, inspected bodies and short payload runs go through
 * userspace, everything that was processed is written in one go (a head and the body bytes
 * that came with it leave in one send); long payload runs (identity bodies, EOF-delimited
 * bodies, tunnels) move socket -> pipe -> socket with splice(2). Lookups (ownership) are
 * synchronous calls on the guard's own connection (upstream.c, cached where safe). */
#include "lib/common.h"
#include "guard/proxy.h"

#include "lib/buf.h"
#include "guard/gjson.h"
#include "guard/h2grpc.h"
#include "guard/dockerfile.h"

#include <fcntl.h>
#include <strings.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>

#define IN_MAX (GD_HEAD_MAX + 16384)
#define OUT_SOFT (256 * 1024)
#define PIPE_SZ (1024 * 1024)
#define SPLICE_MIN (64 * 1024)   /* payload runs shorter than this are read, not spliced */
#define STREAM_READ (128 * 1024) /* read size for payload that goes through userspace */
#define BUF_KEEP (64 * 1024)     /* buffers larger than this are released between exchanges */
#define CAPTURE_MAX (64u * 1024 * 1024)
#define HEAD_TIMEOUT_MS 60000
#define LINGER_MS 2000
#define MAX_CONNS 1024
#define SPIN_MAX 64

#define EV_BASE (EPOLLIN | EPOLLRDHUP | EPOLLET)
#define TAG_UP ((uintptr_t)1)
#define TAG_POOL ((uintptr_t)2)

typedef struct gd_side {
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	int pipe[2];
	size_t pipe_len;
	bool src_eof;
	bool dst_shut;
	gd_framer f;
	bool framing;
} gd_side;

enum { RQ_HEAD, RQ_BUFFER, RQ_STREAM, RQ_WAIT, RQ_TUNNEL, RQ_CLOSING };
enum { RS_IDLE, RS_HEAD, RS_BODY, RS_CAPTURE, RS_TUNNEL };

/* Readiness of one socket as far as the events told. */
typedef struct gd_io {
	bool in;  /* data (or EOF) may be waiting */
	bool eof; /* the peer shut down its sending side: read until 0 */
	bool wr;  /* writable (cleared when a write came up short) */
} gd_io;

struct gd_conn {
	int cfd, ufd;
	gd_side rq, rs;
	int rqs, rss;
	gd_route rt;
	gd_req req;
	gd_decision dec;
	bool req_active;
	dr_buf body;      /* inspected request body */
	dr_buf rbody;     /* captured response body */
	bool capture;
	bool head_req;
	bool keep_alive;
	bool close_after;
	bool resp_done;
	bool upstream_used;
	bool up_clean;    /* the upstream connection is between exchanges and may be reused */
	size_t defer;     /* request bytes read with MSG_PEEK, still queued on the client socket */
	long long deadline;
	uint32_t cmask, umask;
	bool cadded, uadded;
	gd_io cio, uio;
	bool dead, queued;
	int peer_pid;
	/* the BuildKit tunnel (POST /grpc after its 101): the client's HTTP/2 is read and
	 * rewritten (h2rq), the daemon's followed frame by frame (h2rs) so refusals can be slipped
	 * in between its frames */
	gh_reader *h2rq, *h2rs;
	dr_buf h2out;
	/* the session tunnel (POST /session after its 101) is the other way round: the daemon
	 * calls the client. Its requests are read (h2rq, on the daemon's bytes) to find the
	 * transfer of the Dockerfile (FileSync DiffCopy of the `dockerfile` directory), whose
	 * files the client's answers carry (h2rs, on the client's bytes): each is checked before
	 * its last packet reaches the daemon */
	bool h2session;
	struct sess_file *sfiles;
	size_t nsfiles, sbytes;
	struct sess_stat *sstats;
	size_t nsstats;
	struct sess_count *scounts;
	size_t nscounts;
	char *sess_shared; /* the shared key the daemon got (see gd_argstore) */
	char *sess_fail; /* a transfer of the Dockerfile the guard cannot read: closed */
	char *sess_key;  /* "s:<the daemon's name for the session>" (gd_argstore) */
	/* /grpc: the build ref (buildid metadata, renamed) of each held LLBBridge call, at most
	 * GRPC_REFS_MAX (the oldest goes); allocated on a /grpc tunnel's first such call */
	struct held_ref *refs;
	size_t nrefs;
	gd_server *srv;
	gd_conn *next, *prev;
	gd_conn *next_dead, *next_ready;
};

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- audit ---- */

void
gd_audit(const gd_server *s, const char *event, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = dr_xvasprintf(fmt, ap);
	va_end(ap);
	if (s->cfg->log_json) {
		_cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:s}", "guard", s->ctx.tenant, "event",
		                                     event, "message", msg);
		if (s->ctx.session)
			json_object_set_new(j, "session", json_string(s->ctx.session));
		_cleanup_free_ char *line = gd_json_dump_line(j);
		fputs(line, stderr);
	} else {
		fprintf(stderr, "deskrun guard: tenant=%s %s: %s\n", s->ctx.tenant, event, msg);
	}
}

static void
audit_decision(const gd_server *s, const gd_conn *c)
{
	const gd_decision *d = &c->dec;
	if (s->cfg->log_json) {
		_cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i}", "guard",
		                                     s->ctx.tenant, "event", d->status ? "deny" : "allow",
		                                     "route", c->rt.name ? c->rt.name : "unknown",
		                                     "method", c->req.method ? c->req.method : "",
		                                     "path", c->req.path ? c->req.path : "", "status",
		                                     d->status, "pid", c->peer_pid);
		if (d->field)
			json_object_set_new(j, "field", json_string(d->field));
		if (d->message)
			json_object_set_new(j, "message", json_string(d->message));
		if (s->ctx.session)
			json_object_set_new(j, "session", json_string(s->ctx.session));
		_cleanup_free_ char *line = gd_json_dump_line(j);
		fputs(line, stderr);
	} else {
		fprintf(stderr, "deskrun guard: tenant=%s %s route=%s %s %s status=%d%s%s pid=%d%s%s\n",
		        s->ctx.tenant, d->status ? "deny" : "allow", c->rt.name ? c->rt.name : "unknown",
		        c->req.method ? c->req.method : "", c->req.path ? c->req.path : "", d->status,
		        d->field ? " field=" : "", d->field ? d->field : "", c->peer_pid,
		        d->message ? ": " : "", d->message ? d->message : "");
	}
}

/* ---- the session tunnel's Dockerfile files ---- */

struct sess_file {
	uint32_t sid, id; /* the DiffCopy stream, fsutil's file ID */
	dr_buf data;
};

/* A file the client listed (fsutil STAT) in the Dockerfile's transfer: its content is checked
 * when it is sent, or, when the daemon still has it (the same stat under the same shared key)
 * and does not ask, from the guard's copy (gd_dfcache) at the client's FIN. */
struct sess_stat {
	uint32_t sid, id;
	char *key; /* the session's shared key, a NUL, the Stat message's bytes */
	size_t klen;
	char *path;
	bool content, checked;
};

struct sess_count {
	uint32_t sid, next; /* the next STAT's file ID on that stream */
};

#define GRPC_REFS_MAX 64

struct held_ref {
	uint32_t sid;
	char *ref;
};

static void
sess_files_free(gd_conn *c)
{
	for (size_t i = 0; i < c->nsfiles; i++)
		dr_buf_reset(&c->sfiles[i].data);
	free(c->sfiles);
	c->sfiles = NULL;
	c->nsfiles = c->sbytes = 0;
	free(c->sess_fail);
	c->sess_fail = NULL;
	if (c->sess_key && c->srv)
		gd_args_forget(c->srv->ctx.args, c->sess_key);
	free(c->sess_key);
	c->sess_key = NULL;
	for (size_t i = 0; i < c->nsstats; i++) {
		free(c->sstats[i].key);
		free(c->sstats[i].path);
	}
	free(c->sstats);
	c->sstats = NULL;
	c->nsstats = 0;
	free(c->scounts);
	c->scounts = NULL;
	c->nscounts = 0;
	free(c->sess_shared);
	c->sess_shared = NULL;
	for (size_t i = 0; i < c->nrefs; i++)
		free(c->refs[i].ref);
	free(c->refs);
	c->refs = NULL;
	c->nrefs = 0;
}

/* ---- buffers ----
 * A side's output is its userspace bytes (out) followed by its pipe bytes: bytes are only
 * added to out while the pipe is empty, so writing out first, then the pipe, keeps the
 * order. */

static void
in_reserve(gd_side *sd, size_t n)
{
	if (sd->in_cap - sd->in_len >= n)
		return;
	size_t cap = sd->in_cap ? sd->in_cap : 16384;
	while (cap - sd->in_len < n)
		cap *= 2;
	sd->in = dr_xrealloc(sd->in, cap);
	sd->in_cap = cap;
}

static void
in_consume(gd_side *sd, size_t n)
{
	if (n < sd->in_len)
		memmove(sd->in, sd->in + n, sd->in_len - n);
	sd->in_len -= n;
}

static size_t
out_pending(const gd_side *sd)
{
	return sd->out_len - sd->out_off;
}

static void
out_add(gd_side *sd, const void *p, size_t n)
{
	if (sd->out_off && sd->out_off == sd->out_len)
		sd->out_off = sd->out_len = 0;
	if (sd->out_cap - sd->out_len < n) {
		if (sd->out_off) {
			memmove(sd->out, sd->out + sd->out_off, sd->out_len - sd->out_off);
			sd->out_len -= sd->out_off;
			sd->out_off = 0;
		}
		size_t cap = sd->out_cap ? sd->out_cap : 16384;
		while (cap - sd->out_len < n)
			cap *= 2;
		sd->out = dr_xrealloc(sd->out, cap);
		sd->out_cap = cap;
	}
	memcpy(sd->out + sd->out_len, p, n);
	sd->out_len += n;
}

/* Forward the first n bytes of in: when they are all of it and nothing else is queued, the
 * buffers trade places instead of copying. */
static void
in_to_out(gd_side *sd, size_t n)
{
	if (n == sd->in_len && out_pending(sd) == 0 && sd->pipe_len == 0 && n > 4096) {
		char *o = sd->out;
		size_t oc = sd->out_cap;
		sd->out = sd->in;
		sd->out_cap = sd->in_cap;
		sd->out_len = n;
		sd->out_off = 0;
		sd->in = o;
		sd->in_cap = oc;
		sd->in_len = 0;
		return;
	}
	out_add(sd, sd->in, n);
	in_consume(sd, n);
}

static bool
side_flushed(const gd_side *sd)
{
	return out_pending(sd) == 0 && sd->pipe_len == 0;
}

/* Between exchanges: give back what a large transfer grew. */
static void
side_trim(gd_side *sd)
{
	if (sd->in_cap > BUF_KEEP && sd->in_len <= 16384) {
		sd->in = dr_xrealloc(sd->in, 16384);
		sd->in_cap = 16384;
	}
	if (sd->out_cap > BUF_KEEP && out_pending(sd) == 0) {
		free(sd->out);
		sd->out = NULL;
		sd->out_cap = sd->out_len = sd->out_off = 0;
	}
}

static void
side_free(gd_side *sd)
{
	free(sd->in);
	free(sd->out);
	sd->in = sd->out = NULL;
	if (sd->pipe[0] >= 0)
		close(sd->pipe[0]);
	if (sd->pipe[1] >= 0)
		close(sd->pipe[1]);
	sd->pipe[0] = sd->pipe[1] = -1;
	gd_framer_clear(&sd->f);
}

/* Write pending userspace bytes, then pipe bytes. Returns -1 on a write error. */
static int
flush_side(gd_side *sd, int dst, gd_io *io, bool *progress)
{
	while (io->wr && out_pending(sd)) {
		size_t want = out_pending(sd);
		ssize_t w = send(dst, sd->out + sd->out_off, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				io->wr = false;
				return 0;
			}
			return -1;
		}
		sd->out_off += (size_t)w;
		*progress = true;
		if ((size_t)w < want)
			io->wr = false; /* the socket buffer is full: wait for EPOLLOUT */
	}
	if (out_pending(sd))
		return 0;
	sd->out_off = sd->out_len = 0;
	while (io->wr && sd->pipe_len) {
		ssize_t w = splice(sd->pipe[0], NULL, dst, NULL, sd->pipe_len,
		                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				io->wr = false;
				return 0;
			}
			return -1;
		}
		sd->pipe_len -= (size_t)w;
		*progress = true;
	}
	return 0;
}

/* Move up to max bytes src -> pipe; only called with an empty pipe, so EAGAIN means the
 * source is drained. Returns bytes moved, 0 on EOF, -1 with errno (EAGAIN: nothing now). */
static ssize_t
splice_in(gd_server *s, gd_side *sd, int src, uint64_t max, gd_io *io)
{
	if (sd->pipe[0] < 0) {
		if (pipe2(sd->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
			return -1;
		(void)fcntl(sd->pipe[1], F_SETPIPE_SZ, PIPE_SZ);
	}
	size_t n = max > PIPE_SZ ? PIPE_SZ : (size_t)max;
	ssize_t r = splice(src, NULL, sd->pipe[1], NULL, n, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (r < 0 && errno == EINVAL) {
		s->no_splice = true; /* the caller falls back to reads (the source is still ready) */
		errno = EAGAIN;
		return -1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		io->in = false;
		errno = EAGAIN;
	}
	if (r > 0)
		sd->pipe_len += (size_t)r;
	return r;
}

/* Read from src into sd->in (at most max; the buffer grows by up to hint). 1 progress, 0 nothing now, -1 EOF/error. */
static int
read_in(gd_side *sd, int src, size_t max, size_t hint, gd_io *io)
{
	if (max == 0 || !io->in)
		return 0;
	in_reserve(sd, max < hint ? max : hint);
	size_t room = sd->in_cap - sd->in_len;
	if (room > max)
		room = max;
	ssize_t r = recv(src, sd->in + sd->in_len, room, MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EINTR)
			return 1;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			io->in = false;
			return 0;
		}
		return -1;
	}
	if (r == 0) {
		sd->src_eof = true;
		return -1;
	}
	/* A short read drained the socket; new data brings a new event. Not after a shutdown
	 * was seen: that event is already spent, so keep reading until the 0. */
	if ((size_t)r < room && !io->eof)
		io->in = false;
	sd->in_len += (size_t)r;
	return 1;
}

/* ---- deferred reads of request heads ----
 * Taking bytes off a unix socket wakes every sleeper on the sender's socket (write space),
 * and a client blocked reading its answer is one: each request would wake its client once
 * for nothing. So a head that arrives alone is read with MSG_PEEK and taken off the socket
 * only once the answer has been written, when that wake-up finds the client awake already.
 * The bytes are always taken before anything else reads the socket or closes it (a unix
 * socket closed with unread bytes resets its peer). */

static void
consume_deferred(gd_conn *c)
{
	char junk[4096];
	while (c->defer && c->cfd >= 0) {
		ssize_t r = recv(c->cfd, junk, c->defer < sizeof(junk) ? c->defer : sizeof(junk),
		                 MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* cannot happen: the bytes were there */
		c->defer -= (size_t)r;
	}
	c->defer = 0;
}

/* The start of a request: like read_in, but the bytes stay queued (c->defer) until the
 * head scan shows they are exactly one head. */
static int
peek_head(gd_conn *c)
{
	gd_side *sd = &c->rq;
	if (!c->cio.in)
		return 0;
	in_reserve(sd, 16384);
	size_t room = sd->in_cap - sd->in_len;
	ssize_t r = recv(c->cfd, sd->in, room, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EINTR)
			return 1;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->cio.in = false;
			return 0;
		}
		return -1;
	}
	if (r == 0) {
		sd->src_eof = true;
		return -1;
	}
	if ((size_t)r < room && !c->cio.eof)
		c->cio.in = false;
	sd->in_len = (size_t)r;
	c->defer = (size_t)r; /* tentatively: see take_peeked */
	return 1;
}

/* The peeked bytes are not exactly one head (part of one, or more than one): take them off
 * the socket now (the same bytes, over themselves) and go on as after a plain read. */
static void
take_peeked(gd_conn *c)
{
	size_t done = 0;
	while (done < c->defer) {
		ssize_t r = recv(c->cfd, c->rq.in + done, c->defer - done, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* cannot happen: the bytes were there */
		done += (size_t)r;
	}
	c->defer = 0;
}

/* ---- the upstream pool ---- */

static void
pool_drop(gd_server *s, size_t i)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, s->pool[i], NULL);
	close(s->pool[i]);
	s->pool[i] = s->pool[--s->npool];
}

/* An event on a pooled connection: the daemon closed it (or spoke out of turn). */
static void
pool_event(gd_server *s, int fd)
{
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i] == fd) {
			pool_drop(s, i);
			return;
		}
}

static bool
pool_put(gd_server *s, int fd)
{
	if (s->npool >= GD_POOL_MAX || s->stop)
		return false;
	struct epoll_event ev = { .events = EV_BASE, .data.u64 = ((uint64_t)fd << 2) | TAG_POOL };
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) < 0)
		return false;
	s->pool[s->npool++] = fd;
	return true;
}

/* The most recently pooled connection that is still open and quiet, or -1. It stays
 * registered; the caller re-targets it. */
static int
pool_take(gd_server *s)
{
	while (s->npool) {
		size_t i = s->npool - 1;
		int fd = s->pool[i];
		char b;
		ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->npool--;
			s->stats.up_reused++;
			return fd;
		}
		pool_drop(s, i);
	}
	return -1;
}

/* ---- connection lifetime ---- */

static void
queue_ready(gd_server *s, gd_conn *c)
{
	if (c->queued || c->dead)
		return;
	c->queued = true;
	c->next_ready = s->ready;
	s->ready = c;
}

static void
unqueue_ready(gd_server *s, gd_conn *c)
{
	if (!c->queued)
		return;
	for (gd_conn **p = &s->ready; *p; p = &(*p)->next_ready)
		if (*p == c) {
			*p = c->next_ready;
			break;
		}
	c->queued = false;
}


static void
reset_exchange(gd_conn *c)
{
	gd_route_clear(&c->rt);
	free(c->req.path);
	free(c->req.version);
	gd_query_clear(&c->req.query);
	memset(&c->req, 0, sizeof(c->req));
	gd_decision_clear(&c->dec);
	gd_framer_clear(&c->rq.f);
	gd_framer_clear(&c->rs.f);
	c->rq.framing = c->rs.framing = false;
	dr_buf_reset(&c->body);
	dr_buf_reset(&c->rbody);
	c->capture = c->head_req = c->resp_done = false;
	c->req_active = false;
}

/* Is the upstream connection between exchanges, with nothing in flight either way? */
static bool
upstream_reusable(const gd_conn *c)
{
	return c->ufd >= 0 && c->uadded && c->up_clean && c->rss == RS_IDLE &&
	       c->rqs != RQ_TUNNEL && c->rqs != RQ_STREAM && !c->uio.in && !c->uio.eof &&
	       c->rs.in_len == 0 && !c->rs.src_eof && !c->rq.dst_shut && side_flushed(&c->rq);
}

static void
close_upstream(gd_server *s, gd_conn *c)
{
	if (c->ufd < 0)
		return;
	if (!upstream_reusable(c) || !pool_put(s, c->ufd)) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->ufd, NULL);
		close(c->ufd);
	}
	c->ufd = -1;
	c->uadded = false;
}

/* The daemon's side is unusable (closed, or out of turn): close it, never pool it. */
static void
drop_upstream(gd_server *s, gd_conn *c)
{
	c->up_clean = false;
	close_upstream(s, c);
}

/* Close the connection now; the memory goes when the current batch of events is done (its
 * later events may still name it). */
static void
conn_destroy(gd_server *s, gd_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	unqueue_ready(s, c);
	consume_deferred(c);
	if (c->cfd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->cfd, NULL);
		close(c->cfd);
		c->cfd = -1;
	}
	close_upstream(s, c);
	reset_exchange(c);
	gh_reader_free(c->h2rq);
	gh_reader_free(c->h2rs);
	c->h2rq = c->h2rs = NULL;
	sess_files_free(c);
	dr_buf_reset(&c->h2out);
	side_free(&c->rq);
	side_free(&c->rs);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->next_dead = s->dead;
	s->dead = c;
}

static void
set_mask(gd_server *s, int fd, uint32_t want, uint32_t *cur, bool *added, void *ptr)
{
	if (fd < 0)
		return;
	if (*added && want == *cur)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = ptr };
	if (!*added) {
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == 0)
			*added = true;
	} else {
		epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev);
	}
	*cur = want;
}

/* ---- local answers ---- */

static void
local_answer(gd_server *s, gd_conn *c, int status, const char *json_body)
{
	const char *reason = http_status_str((enum http_status)status);
	bool close_conn = c->close_after || !c->keep_alive;
	_cleanup_free_ char *head = dr_xasprintf(
		"HTTP/1.%d %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		"Api-Version: 1.41\r\nServer: deskrun-guard\r\n%s\r\n",
		c->req.head && c->req.head->http_minor == 0 ? 0 : 1, status, reason,
		c->head_req ? 0 : strlen(json_body), close_conn ? "Connection: close\r\n" : "");
	(void)s;
	out_add(&c->rs, head, strlen(head));
	if (!c->head_req)
		out_add(&c->rs, json_body, strlen(json_body));
	c->resp_done = true;
	c->rss = RS_IDLE;
	c->rqs = close_conn ? RQ_CLOSING : RQ_WAIT;
	if (close_conn)
		c->close_after = true;
}

static void
deny_answer(gd_server *s, gd_conn *c, int status, const char *msg, bool plain)
{
	_cleanup_free_ char *m = plain ? dr_xstrdup(msg)
	                               : dr_xasprintf("deskrun guard: %s (tenant %s)", msg, s->ctx.tenant);
	_cleanup_json_ json_t *j = json_pack("{s:s}", "message", m);
	_cleanup_free_ char *b = gd_json_dump_line(j);
	local_answer(s, c, status, b);
}

/* A request that could not even be framed: answer and close. */
static void
bad_request(gd_server *s, gd_conn *c, int status, const char *why)
{
	c->close_after = true;
	gd_audit(s, "deny", "malformed request: %s (pid %d)", why, c->peer_pid);
	deny_answer(s, c, status, why, false);
}

/* A connection that opens with the HTTP/2 connection preface (prior-knowledge h2c, which
 * Docker >= 29.2 serves on its API socket): the guard reads HTTP/1.1 only, so none of it may
 * reach the daemon. One HTTP/1.1 answer, one log line, then the connection closes. */
static const char h2_preface_line[] = "PRI * HTTP/2.0\r\n";

static void
h2_preface_refused(gd_server *s, gd_conn *c, size_t hl)
{
	in_consume(&c->rq, hl);
	reset_exchange(c);
	c->req_active = true;
	c->keep_alive = false;
	c->close_after = true;
	gd_audit(s, "deny", "HTTP/2 connection preface refused: the guard serves HTTP/1.1 only "
	                    "(pid %d)", c->peer_pid);
	deny_answer(s, c, 505,
	            "HTTP/2 is not served on this socket: speak HTTP/1.1 (BuildKit's h2c goes "
	            "through POST /grpc and POST /session)",
	            false);
}

/* ---- forwarding ---- */

static bool
hop_header(const char *n)
{
	static const struct { const char *name; size_t len; } hop[] = {
		{ "Content-Length", 14 }, { "Transfer-Encoding", 17 }, { "Connection", 10 },
		{ "Keep-Alive", 10 },     { "Expect", 6 },             { "Upgrade", 7 },
		{ "Proxy-Connection", 16 }, { "Proxy-Authorization", 19 }, { "TE", 2 },
		{ "Trailer", 7 },         { "Host", 4 },
	};
	size_t l = strlen(n);
	for (size_t i = 0; i < DR_ARRAY_LEN(hop); i++)
		if (hop[i].len == l && strcasecmp(n, hop[i].name) == 0)
			return true;
	return false;
}

static void
put_header(dr_buf *b, const char *name, const char *value)
{
	dr_buf_puts(b, name);
	dr_buf_append(b, ": ", 2);
	dr_buf_puts(b, value);
	dr_buf_append(b, "\r\n", 2);
}

static int
ensure_upstream(gd_server *s, gd_conn *c)
{
	if (c->ufd >= 0 && (c->uio.in || c->uio.eof)) {
		/* the daemon's side said something while idle (its close, usually): check */
		char b;
		ssize_t r = recv(c->ufd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			c->uio.in = false;
		else
			drop_upstream(s, c);
	}
	if (c->ufd >= 0)
		return 0;
	c->ufd = pool_take(s);
	if (c->ufd >= 0) {
		c->uadded = true; /* registered by the pool: conn_update re-targets it */
		c->umask = 0;
	} else {
		c->ufd = gd_unix_connect(s->cfg->upstream);
		if (c->ufd < 0)
			return -1;
		s->stats.up_opened++;
		int fl = fcntl(c->ufd, F_GETFL);
		fcntl(c->ufd, F_SETFL, fl | O_NONBLOCK);
		c->uadded = false;
		c->umask = 0;
	}
	c->uio = (gd_io){ .wr = true };
	c->up_clean = true;
	c->rs.src_eof = c->rq.dst_shut = false;
	return 0;
}

static bool
needs_capture(gd_post p)
{
	switch (p) {
	case GD_POST_CONTAINER_CREATED:
	case GD_POST_EXEC_CREATED:
	case GD_POST_IMAGES_LIST:
	case GD_POST_SYSTEM_DF:
	case GD_POST_INFO:
	case GD_POST_NETWORK_INSPECT:
	case GD_POST_VOLUMES_LIST:
		return true;
	case GD_POST_NONE:
	case GD_POST_PULLED:
		return false;
	}
	return false;
}

/* The decision is made: answer locally, or send the rewritten head (and body) upstream. */
static void
apply_decision(gd_server *s, gd_conn *c, bool body_consumed)
{
	gd_decision *d = &c->dec;
	const gd_head *h = &c->rq.f.head;
	bool has_body = h->chunked || (h->has_length && h->length > 0);
	if (d->status || (c->req.method && strcmp(c->req.method, "GET") != 0 &&
	                  strcmp(c->req.method, "HEAD") != 0))
		audit_decision(s, c);
	if (d->status) {
		if (d->pin_group) { /* refused after some of its binds were pinned */
			gd_up_settle_pins(s->up, d->pin_group, false);
			d->pin_group = 0;
		}
		if (has_body && !body_consumed)
			c->close_after = true;
		if (d->local_json)
			local_answer(s, c, d->status, d->local_json);
		else
			deny_answer(s, c, d->status, d->message ? d->message : "denied", d->plain);
		return;
	}
	if (ensure_upstream(s, c) < 0) {
		if (d->pin_group) {
			gd_up_settle_pins(s->up, d->pin_group, false);
			d->pin_group = 0;
		}
		c->close_after = true;
		deny_answer(s, c, 502, "cannot connect to the Docker daemon", false);
		return;
	}
	c->upstream_used = true;
	c->up_clean = false;
	dr_buf hb = DR_BUF_INIT(0);
	dr_buf_puts(&hb, c->req.method);
	dr_buf_puts(&hb, " ");
	dr_buf_puts(&hb, d->target);
	dr_buf_puts(&hb, h->http_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	const char *host = gd_head_get(h, "Host");
	put_header(&hb, "Host", host && *host ? host : "docker");
	for (size_t i = 0; i < h->nhdrs; i++) {
		if (hop_header(h->hdrs[i].name))
			continue;
		if (d->replace_body && strcasecmp(h->hdrs[i].name, "Content-Type") == 0)
			continue;
		if (d->session_uuid && strcasecmp(h->hdrs[i].name, GD_SESSION_HEADER) == 0) {
			put_header(&hb, h->hdrs[i].name, d->session_uuid);
			continue;
		}
		if (d->session_sharedkey && strcasecmp(h->hdrs[i].name, GD_SHAREDKEY_HEADER) == 0)
			continue; /* sent once below, bound to this guard */
		put_header(&hb, h->hdrs[i].name, h->hdrs[i].value);
	}
	if (d->session_sharedkey)
		put_header(&hb, GD_SHAREDKEY_HEADER, d->session_sharedkey);
	const char *up = gd_head_get(h, "Upgrade");
	if (c->rt.hijack && h->upgrade && up)
		dr_buf_printf(&hb, "Connection: Upgrade\r\nUpgrade: %s\r\n", up);
	else if (!c->keep_alive && h->http_minor == 1)
		dr_buf_puts(&hb, "Connection: close\r\n");
	else if (c->keep_alive && h->http_minor == 0)
		dr_buf_puts(&hb, "Connection: keep-alive\r\n");
	const char *body = NULL;
	size_t blen = 0;
	bool stream = false;
	if (d->replace_body) {
		body = d->body;
		blen = d->body_len;
		dr_buf_printf(&hb, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
	} else if (c->rt.body == GD_BODY_INSPECT) {
		body = c->body.data;
		blen = c->body.len;
		if (blen || strcmp(c->req.method, "POST") == 0 || strcmp(c->req.method, "PUT") == 0)
			dr_buf_printf(&hb, "Content-Length: %zu\r\n", blen);
	} else if (has_body) {
		stream = true;
		if (h->chunked)
			dr_buf_puts(&hb, "Transfer-Encoding: chunked\r\n");
		else
			dr_buf_printf(&hb, "Content-Length: %llu\r\n", (unsigned long long)h->length);
	} else if (h->has_length) {
		dr_buf_puts(&hb, "Content-Length: 0\r\n");
	}
	dr_buf_puts(&hb, "\r\n");
	out_add(&c->rq, hb.data, hb.len);
	dr_buf_reset(&hb);
	if (body && blen)
		out_add(&c->rq, body, blen);
	if (stream && h->expect_continue) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		out_add(&c->rs, cont, sizeof(cont) - 1);
	}
	c->rqs = stream ? RQ_STREAM : RQ_WAIT;
	c->rss = RS_HEAD;
	c->capture = needs_capture(d->post);
}

static void
process_request_head(gd_server *s, gd_conn *c, size_t hl)
{
	const char *why = NULL;
	reset_exchange(c);
	c->req_active = true;
	s->stats.requests++;
	if (gd_framer_begin(&c->rq.f, false, false, c->rq.in, hl, &why) < 0) {
		in_consume(&c->rq, hl);
		c->keep_alive = false;
		bad_request(s, c, 400, why);
		return;
	}
	in_consume(&c->rq, hl);
	c->rq.framing = true;
	gd_head *h = &c->rq.f.head;
	c->req.head = h;
	c->req.method = h->method;
	c->head_req = strcmp(h->method, "HEAD") == 0;
	c->keep_alive = h->keep_alive;
	c->req.has_body = h->chunked || (h->has_length && h->length > 0);
	if (c->req.has_body)
		consume_deferred(c); /* the body follows on the socket */
	if (gd_split_target(h->target, &c->req.path, &c->req.query, &why) < 0) {
		c->close_after = c->req.has_body;
		c->dec.status = 400;
		c->dec.message = dr_xasprintf("%s", why);
		c->dec.field = "target";
		apply_decision(s, c, false);
		return;
	}
	if (gd_strip_version(&c->req, &s->ctx, &c->dec) < 0) {
		apply_decision(s, c, false);
		return;
	}
	gd_route_match(h->method, c->req.path, &c->rt);
	if (c->rt.hijack)
		consume_deferred(c); /* the socket becomes a tunnel */
	if (c->rt.body == GD_BODY_INSPECT && c->req.has_body && c->rt.id) {
		if (h->has_length && h->length > s->ctx.policy->max_body) {
			c->dec.status = 413;
			c->dec.message = dr_xasprintf("%s: request body larger than %zu bytes", c->rt.name,
			                              s->ctx.policy->max_body);
			c->dec.field = "body";
			apply_decision(s, c, false);
			return;
		}
		c->body.max = s->ctx.policy->max_body;
		c->rq.f.capture = &c->body;
		c->rqs = RQ_BUFFER;
		if (h->expect_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			out_add(&c->rs, cont, sizeof(cont) - 1);
		}
		return;
	}
	if (gd_decide(&s->ctx, &c->rt, &c->req, &c->dec) < 0)
		c->close_after = true;
	apply_decision(s, c, false);
}

static void
body_buffered(gd_server *s, gd_conn *c)
{
	c->req.body = c->body.data ? c->body.data : "";
	c->req.body_len = c->body.len;
	c->rq.f.capture = NULL;
	if (gd_decide(&s->ctx, &c->rt, &c->req, &c->dec) < 0)
		c->close_after = true;
	apply_decision(s, c, true);
}

/* ---- the BuildKit tunnel ---- */

static gh_verdict
grpc_request(void *u, uint32_t sid, const gh_request *rq, const char **reason)
{
	gd_conn *c = u;
	char buf[512];
	const char *why = gd_grpc_refusal(rq->path, buf, sizeof(buf));
	if (!why) {
		/* a build's calls name it by its ref: the tenant's own name for it */
		static char *ref;
		for (size_t i = 0; i < rq->nhdrs; i++) {
			if (strcmp(rq->hdrs[i].name, GD_BUILDID_HEADER) != 0 || !rq->hdrs[i].value_len)
				continue;
			free(ref);
			ref = gd_build_ref(&c->srv->ctx, rq->hdrs[i].value);
			rq->hdrs[i].value = ref;
			rq->hdrs[i].value_len = strlen(ref);
		}
		if (gd_grpc_inspects(rq->path)) {
			/* the message check records the build-args under this ref (gd_argstore) */
			if (ref && strstr(rq->path, "LLBBridge")) {
				if (!c->refs)
					c->refs = dr_xcalloc(GRPC_REFS_MAX, sizeof(*c->refs));
				if (c->nrefs == GRPC_REFS_MAX) {
					free(c->refs[0].ref);
					memmove(c->refs, c->refs + 1, (c->nrefs - 1) * sizeof(c->refs[0]));
					c->nrefs--;
				}
				c->refs[c->nrefs].sid = sid;
				c->refs[c->nrefs++].ref = dr_xstrdup(ref);
			}
			return GH_HOLD; /* logged once its request is read */
		}
		gd_audit(c->srv, "allow", "grpc %s stream=%u pid=%d", rq->path, sid, c->peer_pid);
		return GH_PASS;
	}
	gd_audit(c->srv, "deny", "grpc %s stream=%u pid=%d: %s", rq->path, sid, c->peer_pid, why);
	static char msg[600]; /* copied by the reader at once */
	snprintf(msg, sizeof(msg), "deskrun guard: %s (tenant %s)", why, c->srv->ctx.tenant);
	*reason = msg;
	return GH_REFUSE;
}

/* The request message of a held call (Solve): checked before any of it reaches the daemon. */
static gh_verdict
grpc_message(void *u, uint32_t sid, const char *path, const uint8_t *msg, size_t len,
             bool compressed, const char **reason, dr_buf *append)
{
	gd_conn *c = u;
	char buf[512];
	(void)compressed; /* held streams refuse compressed messages before this */
	gd_argstore *as = c->srv->ctx.args;
	char *bref = NULL;
	for (size_t i = 0; i < c->nrefs; i++)
		if (c->refs[i].sid == sid) {
			bref = c->refs[i].ref;
			c->refs[i] = c->refs[--c->nrefs];
			break;
		}
	if (as)
		as->cur_ref = bref;
	const char *why = gd_grpc_check(&c->srv->ctx, path, msg, len, buf, sizeof(buf), append);
	if (as)
		as->cur_ref = NULL;
	free(bref);
	if (!why) {
		gd_audit(c->srv, "allow", "grpc %s stream=%u pid=%d: request read%s", path, sid,
		         c->peer_pid, append->len ? " and rewritten (session IDs, tenant attributes)" : "");
		return GH_PASS;
	}
	gd_audit(c->srv, "deny", "grpc %s stream=%u pid=%d: %s", path, sid, c->peer_pid, why);
	static char m[700]; /* copied by the reader at once */
	snprintf(m, sizeof(m), "deskrun guard: %s (tenant %s)", why, c->srv->ctx.tenant);
	*reason = m;
	return GH_REFUSE;
}

static void
grpc_refused(void *u, uint32_t sid, const char *path, const char *reason)
{
	gd_conn *c = u;
	gd_audit(c->srv, "deny", "grpc %s stream=%u pid=%d: %s", path, sid, c->peer_pid,
	         dr_startswith(reason, "deskrun guard: ") ? reason + 15 : reason);
}

static const gh_ops grpc_ops = { grpc_request, grpc_message, grpc_refused };

#define FILESYNC_DIFFCOPY "/moby.filesync.v1.FileSync/DiffCopy"

/* The daemon's calls on the session: the one that fetches the `dockerfile` directory has its
 * answers read. Every call goes on (the daemon is not the tenant). */
static gh_verdict
sess_request(void *u, uint32_t sid, const gh_request *rq, const char **reason)
{
	gd_conn *c = u;
	(void)reason;
	bool df = false;
	for (size_t i = 0; i < rq->nhdrs; i++)
		if (strcmp(rq->hdrs[i].name, "dir-name") == 0 && rq->hdrs[i].value_len == 10 &&
		    memcmp(rq->hdrs[i].value, "dockerfile", 10) == 0)
			df = true;
	if (!df)
		return GH_PASS;
	if (strcmp(rq->path, FILESYNC_DIFFCOPY) == 0) {
		gh_collect(c->h2rs, sid, rq->path);
		gd_audit(c->srv, "allow", "session: the Dockerfile's transfer (stream %u) is read "
		         "before it reaches the daemon", sid);
	} else if (!c->sess_fail) {
		c->sess_fail = dr_xasprintf("session: %.100s of the dockerfile directory cannot be "
		                            "read by the guard", rq->path);
	}
	return GH_PASS;
}

static struct sess_file *
sess_file(gd_conn *c, uint32_t sid, uint32_t id)
{
	for (size_t i = 0; i < c->nsfiles; i++)
		if (c->sfiles[i].sid == sid && c->sfiles[i].id == id)
			return &c->sfiles[i];
	c->sfiles = dr_xrealloc(c->sfiles, (c->nsfiles + 1) * sizeof(*c->sfiles));
	struct sess_file *f = &c->sfiles[c->nsfiles++];
	memset(f, 0, sizeof(*f));
	f->sid = sid;
	f->id = id;
	return f;
}

/* A STAT the client sends (field 2, fsutil's Stat {path 1, mode 2, ..., linkname 7}): the
 * file IDs the daemon requests count them from 0 on each stream. */
static gh_verdict
sess_stat_seen(gd_conn *c, uint32_t sid, const uint8_t *msg, size_t len, const char **reason)
{
	struct sess_count *sc = NULL;
	for (size_t i = 0; i < c->nscounts; i++)
		if (c->scounts[i].sid == sid)
			sc = &c->scounts[i];
	if (!sc) {
		c->scounts = dr_xrealloc(c->scounts, (c->nscounts + 1) * sizeof(*c->scounts));
		sc = &c->scounts[c->nscounts++];
		sc->sid = sid;
		sc->next = 0;
	}
	uint32_t id = sc->next++;
	gh_pb pb = gh_pb_init(msg, len);
	gh_pb_field f;
	const char *perr = NULL;
	const uint8_t *st = NULL;
	size_t stlen = 0;
	while (gh_pb_next(&pb, &f, &perr) == 1)
		if (f.num == 2 && f.wire == 2)
			st = f.data, stlen = f.len;
	_cleanup_free_ char *path = NULL;
	uint64_t mode = 0;
	bool link = false;
	gh_pb sp = gh_pb_init(st, stlen);
	int rc;
	while ((rc = gh_pb_next(&sp, &f, &perr)) == 1) {
		if (f.num == 1 && f.wire == 2 && !path)
			path = dr_xstrndup((const char *)f.data, f.len);
		else if (f.num == 2 && f.wire == 0)
			mode = f.v;
		else if (f.num == 7 && f.wire == 2 && f.len)
			link = true;
	}
	if (rc < 0 || c->nsstats >= 4096) {
		*reason = "session: a malformed or too long file list in the Dockerfile's transfer";
		return GH_REFUSE;
	}
	/* directories and symbolic links have no content of their own (Go's FileMode bits, or
	 * Unix ones); a hard link names a file of the same list */
	bool dir = (mode & (1ull << 31)) || (mode & 0xF000) == 0x4000;
	bool sym = (mode & (1ull << 27)) || (mode & 0xF000) == 0xA000;
	c->sstats = dr_xrealloc(c->sstats, (c->nsstats + 1) * sizeof(*c->sstats));
	struct sess_stat *e = &c->sstats[c->nsstats++];
	memset(e, 0, sizeof(*e));
	e->sid = sid;
	e->id = id;
	size_t sk = strlen(c->sess_shared ? c->sess_shared : "");
	e->klen = sk + 1 + stlen;
	e->key = dr_xmalloc(e->klen);
	memcpy(e->key, c->sess_shared ? c->sess_shared : "", sk);
	e->key[sk] = 0;
	memcpy(e->key + sk + 1, st, stlen);
	e->path = path ? dr_xstrdup(path) : dr_xstrdup("");
	e->content = !dir && !sym && !link;
	return GH_PASS;
}

/* The client's FIN: the daemon has all it asked for and finishes the transfer once this
 * arrives. Every file of the list it did not ask for (it kept it from before) is checked
 * from the guard's copy, or refused when there is none. */
static gh_verdict
sess_fin(gd_conn *c, uint32_t sid, const char **reason)
{
	static char why[600];
	for (size_t i = 0; i < c->nsstats; i++) {
		struct sess_stat *st = &c->sstats[i];
		if (st->sid != sid || !st->content || st->checked)
			continue;
		size_t len = 0;
		const char *data = gd_dfcache_get(c->srv->ctx.args, st->key, st->klen, &len);
		if (!data) {
			snprintf(why, sizeof(why), "session: the daemon kept %.100s from a transfer this "
			         "guard did not read; change the file (touch it) so it is sent again", st->path);
			*reason = why;
			return GH_REFUSE;
		}
		char buf[512];
		const char *bad = gd_session_dockerfile_check(&c->srv->ctx, c->sess_key, data, len, buf,
		                                              sizeof(buf));
		if (bad) {
			snprintf(why, sizeof(why), "session: %s (the guard's copy of %.100s, which the "
			         "daemon kept)", bad, st->path);
			*reason = why;
			return GH_REFUSE;
		}
		st->checked = true;
		gd_args_seen(c->srv->ctx.args, c->sess_key, data, len);
		gd_audit(c->srv, "allow", "session: a Dockerfile file the daemon kept (%s, %zu bytes, "
		         "stream %u) checked from the guard's copy", st->path, len, sid);
	}
	return GH_PASS;
}

/* One fsutil Packet the client sends in the Dockerfile's transfer {Type = 1 (DATA = 2),
 * Stat = 2, ID = 3, Data = 4}: a file's data is kept, and at its end (an empty DATA packet)
 * the file is checked; a refusal ends the transfer with the reason before that packet
 * reaches the daemon (sess_client_step), so its copy of the file is never whole and the
 * build fails. */
static gh_verdict
sess_message(void *u, uint32_t sid, const char *path, const uint8_t *msg, size_t len,
             bool compressed, const char **reason, dr_buf *rewrite)
{
	gd_conn *c = u;
	(void)path;
	(void)rewrite;
	static char why[600]; /* copied by the reader at once */
	if (compressed) {
		*reason = "session: a compressed message in the Dockerfile's transfer is not read";
		return GH_REFUSE;
	}
	uint64_t type = 0, id = 0;
	const uint8_t *data = NULL;
	size_t dlen = 0;
	unsigned seen = 0;
	gh_pb pb = gh_pb_init(msg, len);
	gh_pb_field f;
	const char *perr = NULL;
	int rc;
	while ((rc = gh_pb_next(&pb, &f, &perr)) == 1) {
		if (f.num < 5 && (seen & (1u << f.num))) {
			*reason = "session: a field repeated in the Dockerfile's transfer";
			return GH_REFUSE;
		}
		if (f.num < 5)
			seen |= 1u << f.num;
		if (f.num == 1 && f.wire == 0)
			type = f.v;
		else if (f.num == 3 && f.wire == 0)
			id = f.v;
		else if (f.num == 4 && f.wire == 2)
			data = f.data, dlen = f.len;
		else if (f.num == 1 || f.num == 3 || f.num == 4) {
			*reason = "session: a malformed packet in the Dockerfile's transfer";
			return GH_REFUSE;
		}
	}
	if (rc < 0 || id > UINT32_MAX) {
		*reason = "session: a malformed packet in the Dockerfile's transfer";
		return GH_REFUSE;
	}
	if (type == 0 && (seen & (1u << 2)))
		return sess_stat_seen(c, sid, msg, len, reason);
	if (type == 3)
		return sess_fin(c, sid, reason);
	if (type != 2) /* the end of the list, requests: no file data */
		return GH_PASS;
	struct sess_file *sf = sess_file(c, sid, (uint32_t)id);
	if (dlen) {
		c->sbytes += dlen;
		if (sf->data.len + dlen > GD_DF_MAX || c->sbytes > 4 * GD_DF_MAX) {
			snprintf(why, sizeof(why), "session: the Dockerfile is larger than %u KiB: the "
			         "guard cannot check it", GD_DF_MAX / 1024);
			*reason = why;
			return GH_REFUSE;
		}
		dr_buf_append(&sf->data, data, dlen);
		return GH_PASS;
	}
	char buf[512];
	size_t flen = sf->data.len;
	c->sbytes -= flen; /* the bound is on files held at once */
	_cleanup_free_ char *kept = dr_buf_steal(&sf->data);
	*sf = c->sfiles[--c->nsfiles];
	const char *bad = gd_session_dockerfile_check(&c->srv->ctx, c->sess_key, kept, flen, buf,
	                                              sizeof(buf));
	if (bad) {
		snprintf(why, sizeof(why), "session: %s", bad);
		*reason = why;
		return GH_REFUSE;
	}
	gd_audit(c->srv, "allow", "session: a Dockerfile file (%zu bytes, stream %u) checked: every "
	         "image it reads is the tenant's or shared", flen, sid);
	for (size_t i = 0; i < c->nsstats; i++) {
		struct sess_stat *st = &c->sstats[i];
		if (st->sid == sid && st->id == (uint32_t)id) {
			st->checked = true;
			gd_dfcache_put(c->srv->ctx.args, st->key, st->klen, kept, flen);
		}
	}
	gd_args_seen(c->srv->ctx.args, c->sess_key, kept, flen);
	return GH_PASS;
}

static const gh_ops sess_ops = { sess_request, sess_message, NULL };

/* Refusals and window credit owed to the client go between two of the daemon's frames. */
static bool
h2_inject(gd_conn *c)
{
	if (!gh_has_replies(c->h2rq) || !gh_at_boundary(c->h2rs) || c->rs.in_len || c->rs.pipe_len ||
	    c->rs.dst_shut)
		return false;
	dr_buf rep = DR_BUF_INIT(0);
	gh_take_replies(c->h2rq, &rep);
	out_add(&c->rs, rep.data, rep.len);
	dr_buf_reset(&rep);
	return true;
}

/* Either HTTP/2 direction, after its buffered bytes: read more unless the source ended or the
 * other side is not keeping up. Returns 1 on progress, else `progress`. */
static int
h2_read_more(gd_side *sd, int src, gd_io *io, int progress)
{
	if (sd->src_eof || out_pending(sd) > OUT_SOFT)
		return progress;
	int r = read_in(sd, src, STREAM_READ, STREAM_READ, io);
	if (r < 0)
		sd->src_eof = true;
	return r != 0 ? 1 : progress;
}

/* The client's direction: whole frames through the reader, which forwards what may pass.
 * Returns 1 on progress, 0 when nothing moves, -1 on a protocol error (the connection ends). */
static int
h2_req_step(gd_server *s, gd_conn *c)
{
	gd_side *sd = &c->rq;
	int progress = 0;
	if (sd->dst_shut) {
		sd->in_len = 0;
		return 0;
	}
	if (sd->in_len) {
		const char *why = NULL;
		gh_set_table_max(c->h2rq, gh_table_size(c->h2rs));
		ssize_t n = gh_rewrite(c->h2rq, (const uint8_t *)sd->in, sd->in_len, &c->h2out, &why);
		if (n < 0) {
			gd_audit(s, "deny", "grpc: HTTP/2 from the client: %s (pid %d); connection closed", why,
			         c->peer_pid);
			return -1;
		}
		if (n > 0) {
			in_consume(sd, (size_t)n);
			if (c->h2out.len)
				out_add(sd, c->h2out.data, c->h2out.len);
			c->h2out.len = 0;
			progress = 1;
		}
		if (h2_inject(c))
			progress = 1;
	}
	if (sd->src_eof)
		sd->in_len = 0; /* a partial frame at EOF goes nowhere */
	return h2_read_more(sd, c->cfd, &c->cio, progress);
}

/* The daemon's direction: forwarded as read, followed for frame boundaries. */
static int
h2_resp_step(gd_server *s, gd_conn *c)
{
	gd_side *sd = &c->rs;
	int progress = 0;
	if (sd->dst_shut) {
		sd->in_len = 0;
		return 0;
	}
	if (sd->in_len) {
		const char *why = NULL;
		if (gh_track(c->h2rs, (uint8_t *)sd->in, sd->in_len, &why) < 0) {
			gd_audit(s, "error", "grpc: HTTP/2 from the daemon: %s; connection closed", why);
			return -1;
		}
		in_to_out(sd, sd->in_len);
		progress = 1;
	}
	if (h2_inject(c))
		progress = 1;
	return h2_read_more(sd, c->ufd, &c->uio, progress);
}

/* The session tunnel, the daemon's direction: its requests, read (header blocks re-encoded,
 * see h2grpc.h) to find the Dockerfile's transfer. */
static int
sess_daemon_step(gd_server *s, gd_conn *c)
{
	gd_side *sd = &c->rs;
	int progress = 0;
	if (sd->dst_shut) {
		sd->in_len = 0;
		return 0;
	}
	if (sd->in_len) {
		const char *why = NULL;
		gh_set_table_max(c->h2rq, gh_table_size(c->h2rs));
		ssize_t n = gh_rewrite(c->h2rq, (const uint8_t *)sd->in, sd->in_len, &c->h2out, &why);
		if (n < 0) {
			gd_audit(s, "error", "session: HTTP/2 from the daemon: %s; connection closed", why);
			return -1;
		}
		if (c->sess_fail) {
			gd_audit(s, "deny", "%s (pid %d); the session is closed", c->sess_fail, c->peer_pid);
			return -1;
		}
		if (n > 0) {
			in_consume(sd, (size_t)n);
			if (c->h2out.len)
				out_add(sd, c->h2out.data, c->h2out.len);
			c->h2out.len = 0;
			progress = 1;
		}
	}
	if (sd->src_eof)
		sd->in_len = 0;
	return h2_read_more(sd, c->ufd, &c->uio, progress);
}

/* A refused Dockerfile transfer, at the frame that would have completed the refused message
 * (dropped): the daemon's DiffCopy call ends with PERMISSION_DENIED and the reason (trailers
 * toward the daemon, static indexes and literals only: its decoder table, fed by the
 * client's encoder, is not touched), the client's stream is cancelled, and its later DATA is
 * dropped (see sess_client_step). false when that cannot be done: the caller closes. */
static bool
sess_refuse_stream(gd_server *s, gd_conn *c, const char *why)
{
	uint32_t sid = gh_track_drop(c->h2rs);
	if (!sid || !gh_at_boundary(c->h2rs) || c->rq.dst_shut || c->rs.dst_shut || c->rq.pipe_len ||
	    c->rs.pipe_len)
		return false;
	gd_audit(s, "deny", "%s (pid %d); the daemon's transfer (stream %u) ends with the reason, "
	         "the build fails", why, c->peer_pid, sid);
	const char *r = dr_startswith(why, "session: ") ? why + 9 : why;
	/* the fix, for an image the tenant may not read (other reasons say their own) */
	_cleanup_free_ char *msg = strstr(r, "another tenant")
	                                   ? dr_xasprintf("deskrun guard: %s (build from an image of "
	                                                  "tenant %s, %s/NAME, or a shared one)", r,
	                                                  s->ctx.tenant, s->ctx.tenant)
	                                   : dr_xasprintf("deskrun guard: %s", r);
	dr_buf f = DR_BUF_INIT(0);
	gh_grpc_trailers(&f, sid, 7, msg);
	out_add(&c->rq, f.data, f.len);
	f.len = 0;
	gh_rst_stream(&f, sid, GH_CANCEL);
	out_add(&c->rs, f.data, f.len);
	dr_buf_reset(&f);
	return true;
}

/* The session tunnel, the client's direction: whole frames, followed, the Dockerfile's
 * transfer read; a refused file's transfer ends with the reason before the file's end
 * reaches the daemon (or, when that cannot be done, the session closes). The DATA of a
 * stream ended so is dropped, its window given back to the client. */
static int
sess_client_step(gd_server *s, gd_conn *c)
{
	gd_side *sd = &c->rq;
	int progress = 0;
	if (sd->dst_shut) {
		sd->in_len = 0;
		return 0;
	}
	size_t off = 0, fwd = 0; /* in[fwd, off) is followed and goes on */
	uint64_t credit = 0;
	while (sd->in_len - off >= 9) {
		const uint8_t *h = (const uint8_t *)sd->in + off;
		size_t flen = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
		if (sd->in_len - off < 9 + flen)
			break;
		uint32_t sid = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) &
		               0x7fffffffu;
		bool drop = h[3] == GH_DATA && gh_dropped(c->h2rs, sid) && gh_at_boundary(c->h2rs);
		const char *why = NULL;
		int t = drop ? 0 : gh_track(c->h2rs, (uint8_t *)sd->in + off, 9 + flen, &why);
		if (t < 0 && t != -2) {
			gd_audit(s, "deny", "%s (pid %d); the session is closed, the build fails", why,
			         c->peer_pid);
			return -1;
		}
		if (drop || t == -2) { /* this frame goes nowhere: its window goes back */
			if (off > fwd) /* the frames before it go on first */
				out_add(sd, sd->in + fwd, off - fwd);
			credit += flen;
			fwd = off + 9 + flen;
		}
		if (t == -2) { /* then the daemon's trailers; why lives in the stream the reader forgets */
			_cleanup_free_ char *rcopy = dr_xstrdup(why);
			if (!sess_refuse_stream(s, c, rcopy)) {
				gd_audit(s, "deny", "%s (pid %d); the session is closed, the build fails",
				         rcopy, c->peer_pid);
				return -1;
			}
		}
		off += 9 + flen;
	}
	if (off && fwd == 0) { /* nothing dropped: handed over whole (in_to_out may swap) */
		in_to_out(sd, off);
		progress = 1;
	} else if (off) {
		if (off > fwd)
			out_add(sd, sd->in + fwd, off - fwd);
		in_consume(sd, off);
		progress = 1;
	}
	if (credit && !c->rs.dst_shut) { /* the connection window of the dropped DATA */
		dr_buf f = DR_BUF_INIT(0);
		gh_window_credit(&f, credit);
		out_add(&c->rs, f.data, f.len);
		dr_buf_reset(&f);
	}
	if (sd->src_eof)
		sd->in_len = 0; /* a partial frame at EOF goes nowhere */
	return h2_read_more(sd, c->cfd, &c->cio, progress);
}

/* ---- response side ---- */

static void
finish_response(gd_server *s, gd_conn *c)
{
	gd_framer *f = &c->rs.f;
	if (c->dec.post != GD_POST_NONE) {
		if (c->capture) {
			size_t nl = 0;
			_cleanup_free_ char *nb = gd_post_filter(&s->ctx, c->dec.post, c->dec.post_arg,
			                                         f->head.status, c->rbody.data ? c->rbody.data : "",
			                                         c->rbody.len, &nl);
			const char *b = nb ? nb : (c->rbody.data ? c->rbody.data : "");
			size_t bl = nb ? nl : c->rbody.len;
			dr_buf hb = DR_BUF_INIT(0);
			dr_buf_printf(&hb, "HTTP/%d.%d %d %s\r\n", f->head.http_major, f->head.http_minor,
			              f->head.status, http_status_str((enum http_status)f->head.status));
			for (size_t i = 0; i < f->head.nhdrs; i++) {
				const char *n = f->head.hdrs[i].name;
				if (strcasecmp(n, "Content-Length") == 0 || strcasecmp(n, "Transfer-Encoding") == 0)
					continue;
				dr_buf_printf(&hb, "%s: %s\r\n", n, f->head.hdrs[i].value);
			}
			if (!c->head_req)
				dr_buf_printf(&hb, "Content-Length: %zu\r\n", bl);
			dr_buf_puts(&hb, "\r\n");
			out_add(&c->rs, hb.data, hb.len);
			dr_buf_reset(&hb);
			if (!c->head_req)
				out_add(&c->rs, b, bl);
		}
		/* The answer leaves first: recording may take a lookup (the new container's
		 * mounts, the pulled image), and the client need not wait for it. Nothing else is
		 * read before the record is made (one loop), and a record still missing can only
		 * refuse, never allow. A write error shows again at the next flush. */
		bool sent = false;
		(void)flush_side(&c->rs, c->cfd, &c->cio, &sent);
		gd_up_record(s->up, c->dec.post, c->dec.post_arg, f->head.status,
		             c->capture && c->rbody.data ? c->rbody.data : "",
		             c->capture ? c->rbody.len : 0);
	}
	if (c->dec.pin_group) {
		gd_up_settle_pins(s->up, c->dec.pin_group, f->head.status / 100 == 2);
		c->dec.pin_group = 0;
	}
	c->resp_done = true;
	c->rss = RS_IDLE;
	if (!f->head.keep_alive || f->eof_body)
		c->close_after = true;
	if (c->rqs == RQ_STREAM || c->rqs == RQ_BUFFER)
		c->close_after = true; /* answered before the request body ended */
	/* The daemon keeps the connection and the whole request went out: reusable. */
	c->up_clean = f->head.keep_alive && !f->eof_body && c->keep_alive &&
	              c->rqs != RQ_STREAM && c->rqs != RQ_BUFFER;
}

static void
process_response_head(gd_server *s, gd_conn *c, size_t hl)
{
	const char *why = NULL;
	gd_framer *f = &c->rs.f;
	gd_framer_clear(f);
	if (gd_framer_begin(f, true, c->head_req, c->rs.in, hl, &why) < 0) {
		/* nothing reached the client yet: answer for the daemon, drop its connection */
		gd_audit(s, "error", "bad response from the daemon: %s", why);
		gd_framer_clear(f);
		c->rs.in_len = 0;
		drop_upstream(s, c);
		c->close_after = true;
		deny_answer(s, c, 502, "the Docker daemon sent a malformed answer", false);
		return;
	}
	c->rs.framing = true;
	if (f->head.status == 100) {
		in_consume(&c->rs, hl);
		gd_framer_clear(f);
		c->rs.framing = false;
		return;
	}
	if (c->rt.hijack && (f->head.status == 101 || (f->head.status / 100 == 2 && f->eof_body))) {
		/* the head and whatever came with it, either way, go first (tunnel steps) */
		consume_deferred(c);
		c->rss = RS_TUNNEL;
		c->rqs = RQ_TUNNEL;
		c->up_clean = false;
		if (f->head.status == 101 && c->rt.name && strcmp(c->rt.name, "build.grpc") == 0) {
			in_to_out(&c->rs, hl); /* the 101 head; HTTP/2 from here on, both ways */
			c->srv = s;
			c->h2rq = gh_reader_new(GH_REQUESTS, &grpc_ops, c);
			c->h2rs = gh_reader_new(GH_RESPONSES, NULL, NULL);
			gh_link(c->h2rq, c->h2rs);
		} else if (f->head.status == 101 && c->rt.name &&
		           strcmp(c->rt.name, "build.session") == 0) {
			in_to_out(&c->rs, hl);
			c->srv = s;
			c->h2session = true;
			c->sess_key = dr_xasprintf("s:%s", c->dec.session_uuid ? c->dec.session_uuid : "");
			c->sess_shared = dr_xstrdup(c->dec.session_sharedkey ? c->dec.session_sharedkey : "");
			c->h2rq = gh_reader_new(GH_REQUESTS, &sess_ops, c); /* the daemon's calls */
			c->h2rs = gh_reader_new(GH_RESPONSES, &sess_ops, c); /* the client's answers */
		}
		return;
	}
	if (c->capture) {
		c->rbody.max = CAPTURE_MAX;
		f->capture = &c->rbody;
		c->rss = RS_CAPTURE;
		in_consume(&c->rs, hl);
	} else {
		out_add(&c->rs, c->rs.in, hl);
		in_consume(&c->rs, hl);
		c->rss = RS_BODY;
	}
	if (f->complete)
		finish_response(s, c);
}

/* Pass body bytes through a framer: bytes already read first (the framer runs over all of
 * them in place), then payload spliced or read. copy_out: forward consumed bytes to the
 * other side (stream); otherwise the framer captures them.
 * Returns 1 on progress, 0 when nothing can move now, -1 on error/EOF (errno or
 * sd->src_eof). */
static int
pump_body(gd_server *s, gd_side *sd, int src, gd_io *io, bool copy_out, const char **why)
{
	gd_framer *f = &sd->f;
	if (f->complete)
		return 0;
	if (sd->in_len) {
		if (copy_out && sd->pipe_len)
			return 0; /* the spliced bytes go first */
		size_t done = 0;
		while (done < sd->in_len && !f->complete) {
			uint64_t pl = gd_framer_payload(f);
			if (pl && copy_out) {
				size_t k = pl < sd->in_len - done ? (size_t)pl : sd->in_len - done;
				if (gd_framer_skip(f, k, why) < 0)
					return -1;
				done += k;
				continue;
			}
			ssize_t k = gd_framer_feed(f, sd->in + done, sd->in_len - done, why);
			if (k < 0)
				return -1;
			if (k == 0)
				break;
			done += (size_t)k;
		}
		if (done == 0)
			return 0;
		if (copy_out)
			in_to_out(sd, done);
		else
			in_consume(sd, done);
		return 1;
	}
	if (!io->in)
		return 0;
	uint64_t pl = gd_framer_payload(f);
	if (pl >= SPLICE_MIN && copy_out && !s->no_splice) {
		if (sd->pipe_len)
			return 0;
		ssize_t r = splice_in(s, sd, src, pl, io);
		if (r > 0) {
			if (pl != UINT64_MAX && gd_framer_skip(f, (uint64_t)r, why) < 0)
				return -1;
			return 1;
		}
		if (r == 0) {
			sd->src_eof = true;
			return -1;
		}
		if (errno == EAGAIN)
			return s->no_splice ? 1 : 0;
		return -1;
	}
	/* Short payload runs, chunked streams (chunk lines and payload parsed in place) and
	 * captured bodies: large reads into userspace. */
	size_t want = pl ? (pl > STREAM_READ ? STREAM_READ : (size_t)pl) : copy_out ? STREAM_READ : 16384;
	return read_in(sd, src, want, want, io);
}

/* ---- the per-connection engine ---- */

static void conn_update(gd_server *s, gd_conn *c);

/* A tunnel direction: leftover bytes first, then splice (or read) until EOF. */
static bool
tunnel_step(gd_server *s, gd_side *sd, int src, gd_io *io)
{
	if (sd->dst_shut) {
		sd->in_len = 0;
		return false;
	}
	if (sd->in_len) {
		if (sd->pipe_len)
			return false;
		in_to_out(sd, sd->in_len);
		return true;
	}
	if (sd->src_eof || !side_flushed(sd) || !io->in)
		return false;
	if (s->no_splice) {
		int r = read_in(sd, src, 65536, 65536, io);
		if (r < 0)
			sd->src_eof = true;
		return r != 0;
	}
	ssize_t r = splice_in(s, sd, src, UINT64_MAX, io);
	if (r > 0)
		return true;
	if (r == 0 || errno != EAGAIN) {
		sd->src_eof = true;
		return true;
	}
	return s->no_splice; /* splice refused: go again with reads */
}

/* One pass over both directions. Returns -1 when the connection was destroyed. */
static int
conn_step(gd_server *s, gd_conn *c, bool *progress)
{
	const char *why = NULL;
	/* tunnel half-closes */
	if (c->rqs == RQ_TUNNEL) {
		if (c->rq.src_eof && c->rq.in_len == 0 && side_flushed(&c->rq) && !c->rq.dst_shut &&
		    c->ufd >= 0) {
			shutdown(c->ufd, SHUT_WR);
			c->rq.dst_shut = true;
			*progress = true;
		}
		if (c->rs.src_eof && c->rs.in_len == 0 && side_flushed(&c->rs) && !c->rs.dst_shut) {
			shutdown(c->cfd, SHUT_WR);
			c->rs.dst_shut = true;
			*progress = true;
		}
		if (c->rq.dst_shut && c->rs.dst_shut) {
			conn_destroy(s, c);
			return -1;
		}
	}
	/* closing: once the answer is out, half-close and drain for a moment */
	if (c->close_after && c->resp_done && side_flushed(&c->rs) && c->rqs != RQ_TUNNEL) {
		if (!c->rs.dst_shut) {
			if (c->defer)
				s->stats.heads_after++;
			consume_deferred(c);
			shutdown(c->cfd, SHUT_WR);
			c->rs.dst_shut = true;
			c->rqs = RQ_CLOSING;
			c->deadline = now_ms() + LINGER_MS;
			close_upstream(s, c);
		}
		if (!c->cio.in)
			return 0;
		char junk[4096];
		ssize_t r = recv(c->cfd, junk, sizeof(junk), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			conn_destroy(s, c);
			return -1;
		}
		if (r > 0)
			*progress = true;
		else if (errno != EINTR)
			c->cio.in = false;
		return 0;
	}
	/* request side */
	switch (c->rqs) {
	case RQ_HEAD: {
		if (c->rss != RS_IDLE || !side_flushed(&c->rs))
			break;
		if (c->rq.in_len) {
			ssize_t hl = gd_head_scan(c->rq.in, c->rq.in_len, &why);
			if (c->defer && hl != (ssize_t)c->rq.in_len)
				take_peeked(c);
			if (hl < 0) {
				reset_exchange(c);
				c->req_active = true;
				c->keep_alive = false;
				bad_request(s, c, strstr(why, "too large") ? 431 : 400, why);
				*progress = true;
				break;
			}
			if (hl > 0 && (size_t)hl >= sizeof(h2_preface_line) - 1 &&
			    memcmp(c->rq.in, h2_preface_line, sizeof(h2_preface_line) - 1) == 0) {
				c->deadline = 0;
				h2_preface_refused(s, c, (size_t)hl);
				*progress = true;
				break;
			}
			if (hl > 0) {
				c->deadline = 0;
				process_request_head(s, c, (size_t)hl);
				*progress = true;
				break;
			}
			if (!c->deadline)
				c->deadline = now_ms() + HEAD_TIMEOUT_MS;
		}
		/* Deferring pays when the loop has other work; an idle loop reads at once (on an
		 * idle machine the early wake-up of the client costs less than the extra call). */
		int r = c->rq.in_len == 0 && !c->defer && s->busy
		        ? peek_head(c)
		        : read_in(&c->rq, c->cfd, IN_MAX - c->rq.in_len, 16384, &c->cio);
		if (r > 0) {
			*progress = true;
		} else if (r < 0) {
			conn_destroy(s, c);
			return -1;
		}
		break;
	}
	case RQ_BUFFER:
	case RQ_STREAM: {
		bool stream = c->rqs == RQ_STREAM;
		if (stream && out_pending(&c->rq) > OUT_SOFT)
			break;
		int r = pump_body(s, &c->rq, c->cfd, &c->cio, stream, &why);
		if (r < 0) {
			if (c->rq.src_eof) {
				conn_destroy(s, c);
				return -1;
			}
			reset_exchange(c);
			c->req_active = true;
			c->keep_alive = false;
			bad_request(s, c, 400, why ? why : "request body framing error");
			*progress = true;
			break;
		}
		if (r > 0)
			*progress = true;
		if (c->body.max && c->rq.f.capture_overflow) {
			c->dec.status = 413;
			c->dec.message = dr_xasprintf("%s: request body larger than %zu bytes",
			                              c->rt.name, s->ctx.policy->max_body);
			c->close_after = true;
			apply_decision(s, c, false);
			*progress = true;
			break;
		}
		if (c->rq.f.complete) {
			if (!stream)
				body_buffered(s, c);
			else
				c->rqs = RQ_WAIT;
			*progress = true;
		}
		break;
	}
	case RQ_WAIT:
		if (c->resp_done && side_flushed(&c->rs) && !c->close_after && side_flushed(&c->rq)) {
			if (c->defer)
				s->stats.heads_after++;
			consume_deferred(c);
			c->rqs = RQ_HEAD;
			reset_exchange(c);
			side_trim(&c->rq);
			side_trim(&c->rs);
			*progress = true;
		}
		break;
	case RQ_TUNNEL:
		if (c->h2rq) {
			int r = c->h2session ? sess_client_step(s, c) : h2_req_step(s, c);
			if (r < 0) {
				conn_destroy(s, c);
				return -1;
			}
			if (r > 0)
				*progress = true;
		} else if (tunnel_step(s, &c->rq, c->cfd, &c->cio)) {
			*progress = true;
		}
		break;
	case RQ_CLOSING:
		break;
	}
	if (c->ufd < 0)
		return 0;
	/* response side */
	switch (c->rss) {
	case RS_IDLE: {
		if (c->rqs == RQ_TUNNEL || !c->uio.in)
			break;
		char b[256];
		ssize_t r = recv(c->ufd, b, sizeof(b), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (errno != EINTR)
				c->uio.in = false;
			break;
		}
		/* the daemon closed an idle connection (or spoke out of turn) */
		drop_upstream(s, c);
		*progress = true;
		break;
	}
	case RS_HEAD: {
		ssize_t hl = c->rs.in_len ? gd_head_scan(c->rs.in, c->rs.in_len, &why) : 0;
		if (hl < 0) {
			gd_audit(s, "error", "bad response head from the daemon: %s", why);
			conn_destroy(s, c);
			return -1;
		}
		if (hl > 0) {
			process_response_head(s, c, (size_t)hl);
			*progress = true;
			break;
		}
		int r = read_in(&c->rs, c->ufd, IN_MAX - c->rs.in_len, 16384, &c->uio);
		if (r > 0) {
			*progress = true;
		} else if (r < 0) {
			if (!c->upstream_used || out_pending(&c->rs) || c->rs.in_len) {
				conn_destroy(s, c);
				return -1;
			}
			c->close_after = true;
			deny_answer(s, c, 502, "the Docker daemon closed the connection", false);
			*progress = true;
		}
		break;
	}
	case RS_BODY:
	case RS_CAPTURE: {
		bool stream = c->rss == RS_BODY;
		if (stream && out_pending(&c->rs) > OUT_SOFT)
			break;
		int r = pump_body(s, &c->rs, c->ufd, &c->uio, stream, &why);
		if (r > 0)
			*progress = true;
		if (r < 0) {
			if (c->rs.src_eof && c->rs.f.eof_body) {
				gd_framer_eof(&c->rs.f);
			} else {
				conn_destroy(s, c);
				return -1;
			}
		}
		if (c->rs.f.capture_overflow) {
			conn_destroy(s, c);
			return -1;
		}
		if (c->rs.f.complete) {
			finish_response(s, c);
			*progress = true;
		}
		break;
	}
	case RS_TUNNEL:
		if (c->h2rs) {
			int r = c->h2session ? sess_daemon_step(s, c) : h2_resp_step(s, c);
			if (r < 0) {
				conn_destroy(s, c);
				return -1;
			}
			if (r > 0)
				*progress = true;
		} else if (tunnel_step(s, &c->rs, c->ufd, &c->uio)) {
			*progress = true;
		}
		break;
	}
	return 0;
}

/* Process until nothing moves: everything that can be decided and queued is, before the
 * writes, so a head and the body bytes that came with it leave in one send. */
static void
conn_run(gd_server *s, gd_conn *c)
{
	for (int spin = 0;; spin++) {
		if (spin == SPIN_MAX) {
			queue_ready(s, c); /* fairness: the rest on the next round */
			break;
		}
		bool progress = false;
		if (conn_step(s, c, &progress) < 0)
			return;
		if (progress)
			continue;
		if (c->ufd >= 0 && flush_side(&c->rq, c->ufd, &c->uio, &progress) < 0) {
			if (c->rqs == RQ_TUNNEL) {
				c->rq.dst_shut = true;
				c->rq.in_len = c->rq.out_len = c->rq.out_off = 0;
				c->rq.pipe_len = 0;
			} else {
				c->close_after = true;
				c->rs.src_eof = true;
				c->uio.in = c->uio.eof = true; /* read what the daemon says, or its EOF */
			}
			progress = true;
		}
		if (flush_side(&c->rs, c->cfd, &c->cio, &progress) < 0) {
			conn_destroy(s, c);
			return;
		}
		if (!progress)
			break;
	}
	conn_update(s, c);
}

/* Edge-triggered interest: input stays on, so a request/response exchange never changes
 * it; output interest only while bytes wait. While one direction waits for its destination
 * to take bytes, its source's input interest is off (each new arrival would only wake the
 * loop for nothing: a streaming client writes in many small pieces); turning it back on
 * reports whatever arrived meanwhile. */
static void
conn_update(gd_server *s, gd_conn *c)
{
	if (c->dead)
		return;
	bool rq_wait = !side_flushed(&c->rq), rs_wait = !side_flushed(&c->rs);
	uint32_t cm = (EV_BASE & ~(uint32_t)(rq_wait ? EPOLLIN : 0)) | (rs_wait ? EPOLLOUT : 0);
	set_mask(s, c->cfd, cm, &c->cmask, &c->cadded, c);
	if (c->ufd >= 0) {
		uint32_t um = (EV_BASE & ~(uint32_t)(rs_wait ? EPOLLIN : 0)) | (rq_wait ? EPOLLOUT : 0);
		set_mask(s, c->ufd, um, &c->umask, &c->uadded, (char *)c + TAG_UP);
	}
}

static void
accept_clients(gd_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (s->nconns >= MAX_CONNS) {
			close(fd);
			continue;
		}
		gd_conn *c = dr_xcalloc(1, sizeof(*c));
		c->cfd = fd;
		c->ufd = -1;
		c->rq.pipe[0] = c->rq.pipe[1] = c->rs.pipe[0] = c->rs.pipe[1] = -1;
		c->rqs = RQ_HEAD;
		c->rss = RS_IDLE;
		c->keep_alive = true;
		c->body = (dr_buf)DR_BUF_INIT(0);
		c->rbody = (dr_buf)DR_BUF_INIT(0);
		/* registering reports bytes that are already there (edge-triggered too) */
		c->cio = (gd_io){ .wr = true };
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		c->peer_pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 ? cr.pid : 0;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		s->stats.clients++;
		conn_update(s, c);
	}
}

static void
check_deadlines(gd_server *s)
{
	long long now = now_ms();
	if (now < s->next_check)
		return;
	s->next_check = now + 250;
	gd_up_tick(s->up); /* at most every 250 ms, not per batch of events */
	gd_conn *c = s->conns;
	while (c) {
		gd_conn *next = c->next;
		if (c->deadline && now > c->deadline &&
		    (c->rqs == RQ_CLOSING || (c->rqs == RQ_HEAD && c->rq.in_len)))
			conn_destroy(s, c);
		c = next;
	}
}

static void
free_dead(gd_server *s)
{
	while (s->dead) {
		gd_conn *c = s->dead;
		s->dead = c->next_dead;
		free(c);
	}
}

static void
on_event(gd_server *s, void *p, uint32_t e)
{
	gd_conn *c = (gd_conn *)((uintptr_t)p & ~(TAG_UP | TAG_POOL));
	bool is_up = ((uintptr_t)p & TAG_UP) != 0;
	if (c->dead)
		return; /* destroyed by an earlier event of this batch */
	gd_io *io = is_up ? &c->uio : &c->cio;
	if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		io->in = true;
	if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		io->eof = true;
	if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		io->wr = true;
	if (!is_up && (e & (EPOLLHUP | EPOLLERR)) && c->rqs == RQ_WAIT) {
		/* The client is gone while its answer is pending (docker run -d leaves a
		 * `wait` behind, a killed `logs -f`...): nobody can read it; end the exchange,
		 * which also closes the daemon's side. */
		conn_destroy(s, c);
		return;
	}
	conn_run(s, c);
}

static long long
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The next batch of events. After traffic (active), poll for up to s->poll_ns before going to
 * sleep: on a VM, waking a halted vCPU costs tens of microseconds, and a guard that sleeps
 * between forwarding a request and its answer pays that twice per exchange on top of what
 * the client and the daemon pay. The poll time adapts as a halt-polling governor does: it
 * grows (doubling, up to --busy-poll) while events come within it and shrinks (halving) when
 * a sleep outlasts it, so a guard whose requests are long (a build, logs -f) stops polling,
 * and an idle guard never polls. */
static int
next_events(gd_server *s, struct epoll_event *evs, int max, bool active)
{
	if (s->ready)
		return epoll_wait(s->ep, evs, max, 0);
	long long limit = active ? (long long)s->cfg->busy_poll_us * 1000 : 0;
	long long t0 = limit > 0 ? mono_ns() : 0;
	if (limit > 0 && s->poll_ns > 0) {
		long long until = t0 + s->poll_ns;
		do {
			int n = epoll_wait(s->ep, evs, max, 0);
			if (n != 0) {
				if (n > 0)
					s->stats.polled++;
				return n;
			}
		} while (mono_ns() < until);
	}
	int n = epoll_wait(s->ep, evs, max, 1000);
	if (limit > 0) {
		long long waited = mono_ns() - t0;
		if (n > 0 && waited <= limit) {
			long long g = s->poll_ns ? s->poll_ns * 2 : 10000;
			s->poll_ns = g < limit ? g : limit;
		} else {
			s->poll_ns /= 2;
			if (s->poll_ns < 5000)
				s->poll_ns = 0;
		}
	}
	return n;
}

int
gd_serve(gd_server *s, dr_err **err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->lfd };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "epoll");
	struct epoll_event sev = { .events = EPOLLIN, .data.ptr = &s->sigfd };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sigfd, &sev) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "epoll");
	struct epoll_event evs[64];
	bool active = false;
	while (!s->stop) {
		int n = next_events(s, evs, (int)DR_ARRAY_LEN(evs), active);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "epoll_wait");
		}
		active = n > 0 || s->ready;
		s->busy = n > 1 || s->ready;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &s->lfd) {
				accept_clients(s);
			} else if (p == &s->sigfd) {
				struct signalfd_siginfo si;
				if (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
					s->stop = true;
					s->stop_signal = (int)si.ssi_signo;
				}
			} else if (evs[i].data.u64 & TAG_POOL) {
				pool_event(s, (int)(evs[i].data.u64 >> 2));
			} else {
				on_event(s, p, evs[i].events);
			}
		}
		gd_conn *r = s->ready;
		s->ready = NULL;
		while (r) {
			gd_conn *next = r->next_ready;
			r->queued = false;
			if (!r->dead)
				conn_run(s, r);
			r = next;
		}
		check_deadlines(s);
		free_dead(s);
	}
	while (s->conns)
		conn_destroy(s, s->conns);
	s->ready = NULL;
	free_dead(s);
	while (s->npool)
		pool_drop(s, s->npool - 1);
	return 0;
}
