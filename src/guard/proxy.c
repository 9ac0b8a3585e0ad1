/* proxy.c: the epoll relay (see proxy.h). One upstream connection per client connection,
 * created when the first request is forwarded and kept alive with it. Each connection works
 * one exchange at a time: the next pipelined request is read only when the previous response
 * is done, so answers keep their order. Payload bytes the guard does not need to see move
 * through a pipe with splice(2); heads, chunk-size lines and inspected bodies go through
 * userspace. Lookups (ownership) are synchronous calls on the guard's own connection. */
#include "lib/common.h"
#include "guard/proxy.h"

#include "lib/buf.h"
#include "guard/gjson.h"

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
#define CAPTURE_MAX (64u * 1024 * 1024)
#define HEAD_TIMEOUT_MS 60000
#define LINGER_MS 2000
#define MAX_CONNS 1024

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
	long long deadline;
	uint32_t cmask, umask;
	bool cadded, uadded;
	bool c_in, u_in; /* epoll said readable since the last read that came up short */
	int peer_pid;
	gd_conn *next, *prev;
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

/* ---- buffers ---- */

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
	memmove(sd->in, sd->in + n, sd->in_len - n);
	sd->in_len -= n;
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

static size_t
out_pending(const gd_side *sd)
{
	return sd->out_len - sd->out_off;
}

static void
side_free(gd_side *sd)
{
	free(sd->in);
	free(sd->out);
	if (sd->pipe[0] >= 0)
		close(sd->pipe[0]);
	if (sd->pipe[1] >= 0)
		close(sd->pipe[1]);
	gd_framer_clear(&sd->f);
}

/* Write pending userspace bytes, then pipe bytes. Returns -1 on a write error. */
static int
flush_side(gd_side *sd, int dst, bool *progress)
{
	while (out_pending(sd)) {
		ssize_t w = send(dst, sd->out + sd->out_off, out_pending(sd), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		sd->out_off += (size_t)w;
		*progress = true;
	}
	sd->out_off = sd->out_len = 0;
	while (sd->pipe_len) {
		ssize_t w = splice(sd->pipe[0], NULL, dst, NULL, sd->pipe_len,
		                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		sd->pipe_len -= (size_t)w;
		*progress = true;
	}
	return 0;
}

static bool
side_flushed(const gd_side *sd)
{
	return out_pending(sd) == 0 && sd->pipe_len == 0;
}

/* Move up to max payload bytes src -> pipe. Returns bytes moved, 0 on EOF, -1 with EAGAIN or
 * an error (errno). */
static ssize_t
splice_in(gd_server *s, gd_side *sd, int src, uint64_t max)
{
	if (sd->pipe[0] < 0) {
		if (pipe2(sd->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
			return -1;
		(void)fcntl(sd->pipe[1], F_SETPIPE_SZ, PIPE_SZ);
	}
	size_t n = max > PIPE_SZ ? PIPE_SZ : (size_t)max;
	ssize_t r = splice(src, NULL, sd->pipe[1], NULL, n, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (r < 0 && errno == EINVAL) {
		s->no_splice = true;
		errno = EAGAIN;
	}
	if (r > 0)
		sd->pipe_len += (size_t)r;
	return r;
}

/* Read from src into sd->in (at most max). 1 progress, 0 would block, -1 EOF/error. */
static int
read_in(gd_side *sd, int src, size_t max)
{
	if (max == 0)
		return 0;
	in_reserve(sd, max < 16384 ? max : 16384);
	size_t room = sd->in_cap - sd->in_len;
	if (room > max)
		room = max;
	ssize_t r = recv(src, sd->in + sd->in_len, room, MSG_DONTWAIT);
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (r == 0) {
		sd->src_eof = true;
		return -1;
	}
	sd->in_len += (size_t)r;
	return 1;
}

/* ---- connection lifetime ---- */

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

static void
conn_destroy(gd_server *s, gd_conn *c)
{
	if (c->cfd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->cfd, NULL);
		close(c->cfd);
	}
	if (c->ufd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->ufd, NULL);
		close(c->ufd);
	}
	reset_exchange(c);
	side_free(&c->rq);
	side_free(&c->rs);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
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

/* ---- forwarding ---- */

static bool
hop_header(const char *n)
{
	static const char *const hop[] = { "Content-Length", "Transfer-Encoding", "Connection",
		                           "Keep-Alive", "Expect", "Upgrade", "Proxy-Connection",
		                           "Proxy-Authorization", "TE", "Trailer", "Host" };
	for (size_t i = 0; i < DR_ARRAY_LEN(hop); i++)
		if (strcasecmp(n, hop[i]) == 0)
			return true;
	return false;
}

static int
ensure_upstream(gd_server *s, gd_conn *c)
{
	if (c->ufd >= 0)
		return 0;
	c->ufd = gd_unix_connect(s->cfg->upstream);
	if (c->ufd < 0)
		return -1;
	int fl = fcntl(c->ufd, F_GETFL);
	fcntl(c->ufd, F_SETFL, fl | O_NONBLOCK);
	c->uadded = false;
	c->umask = 0;
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
		if (has_body && !body_consumed)
			c->close_after = true;
		if (d->local_json)
			local_answer(s, c, d->status, d->local_json);
		else
			deny_answer(s, c, d->status, d->message ? d->message : "denied", d->plain);
		return;
	}
	if (ensure_upstream(s, c) < 0) {
		c->close_after = true;
		deny_answer(s, c, 502, "cannot connect to the Docker daemon", false);
		return;
	}
	c->upstream_used = true;
	dr_buf hb = DR_BUF_INIT(0);
	dr_buf_printf(&hb, "%s %s HTTP/1.%d\r\n", c->req.method, d->target, h->http_minor);
	const char *host = gd_head_get(h, "Host");
	dr_buf_printf(&hb, "Host: %s\r\n", host && *host ? host : "docker");
	for (size_t i = 0; i < h->nhdrs; i++) {
		if (hop_header(h->hdrs[i].name))
			continue;
		if (d->replace_body && strcasecmp(h->hdrs[i].name, "Content-Type") == 0)
			continue;
		dr_buf_printf(&hb, "%s: %s\r\n", h->hdrs[i].name, h->hdrs[i].value);
	}
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
			gd_up_record(s->up, c->dec.post, c->dec.post_arg, f->head.status,
			             c->rbody.data ? c->rbody.data : "", c->rbody.len);
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
		} else {
			gd_up_record(s->up, c->dec.post, c->dec.post_arg, f->head.status, "", 0);
		}
	}
	c->resp_done = true;
	c->rss = RS_IDLE;
	if (!f->head.keep_alive || f->eof_body)
		c->close_after = true;
	if (c->rqs == RQ_STREAM || c->rqs == RQ_BUFFER)
		c->close_after = true; /* answered before the request body ended */
}

static void
process_response_head(gd_server *s, gd_conn *c, size_t hl)
{
	const char *why = NULL;
	gd_framer *f = &c->rs.f;
	gd_framer_clear(f);
	if (gd_framer_begin(f, true, c->head_req, c->rs.in, hl, &why) < 0) {
		gd_audit(s, "error", "bad response from the daemon: %s", why);
		c->close_after = true;
		c->rs.src_eof = true;
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
		out_add(&c->rs, c->rs.in, c->rs.in_len);
		c->rs.in_len = 0;
		out_add(&c->rq, c->rq.in, c->rq.in_len);
		c->rq.in_len = 0;
		c->rss = RS_TUNNEL;
		c->rqs = RQ_TUNNEL;
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

/* Pass body bytes through a framer: userspace bytes first, then spliced payload.
 * copy_out: forward consumed bytes to the other side (stream); otherwise the framer captures.
 * Returns 1 on progress, 0 when blocked, -1 on error/EOF (errno or sd->src_eof). */
static int
pump_body(gd_server *s, gd_side *sd, gd_side *outside, int src, bool copy_out, const char **why)
{
	gd_framer *f = &sd->f;
	if (f->complete)
		return 0;
	if (sd->in_len) {
		uint64_t pl = gd_framer_payload(f);
		if (pl && copy_out) {
			size_t k = pl < sd->in_len ? (size_t)pl : sd->in_len;
			out_add(outside, sd->in, k);
			if (gd_framer_skip(f, k, why) < 0)
				return -1;
			in_consume(sd, k);
			return 1;
		}
		ssize_t k = gd_framer_feed(f, sd->in, sd->in_len, why);
		if (k < 0)
			return -1;
		if (copy_out)
			out_add(outside, sd->in, (size_t)k);
		in_consume(sd, (size_t)k);
		if (k == 0 && !f->complete)
			return 0;
		return 1;
	}
	if (!side_flushed(outside) && copy_out)
		return 0;
	uint64_t pl = gd_framer_payload(f);
	if (pl && copy_out && !s->no_splice) {
		ssize_t r = splice_in(s, outside, src, pl);
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
	size_t want = pl ? (pl > 65536 ? 65536 : (size_t)pl) : 16384;
	int r = read_in(sd, src, want);
	return r;
}

/* ---- the per-connection engine ---- */

static void conn_update(gd_server *s, gd_conn *c);

static void
conn_run(gd_server *s, gd_conn *c)
{
	for (int guard = 0; guard < 64; guard++) {
		bool progress = false;
		const char *why = NULL;
		/* tunnel half-closes */
		if (c->rqs == RQ_TUNNEL) {
			if (c->rq.src_eof && side_flushed(&c->rq) && !c->rq.dst_shut && c->ufd >= 0) {
				shutdown(c->ufd, SHUT_WR);
				c->rq.dst_shut = true;
				progress = true;
			}
			if (c->rs.src_eof && side_flushed(&c->rs) && !c->rs.dst_shut) {
				shutdown(c->cfd, SHUT_WR);
				c->rs.dst_shut = true;
				progress = true;
			}
			if (c->rq.dst_shut && c->rs.dst_shut) {
				conn_destroy(s, c);
				return;
			}
		}
		/* closing: once the answer is out, half-close and drain for a moment */
		if (c->close_after && c->resp_done && side_flushed(&c->rs) && c->rqs != RQ_TUNNEL) {
			if (!c->rs.dst_shut) {
				shutdown(c->cfd, SHUT_WR);
				c->rs.dst_shut = true;
				c->rqs = RQ_CLOSING;
				c->deadline = now_ms() + LINGER_MS;
				if (c->ufd >= 0) {
					epoll_ctl(s->ep, EPOLL_CTL_DEL, c->ufd, NULL);
					close(c->ufd);
					c->ufd = -1;
				}
			}
			char junk[4096];
			ssize_t r = recv(c->cfd, junk, sizeof(junk), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_destroy(s, c);
				return;
			}
			if (r > 0)
				continue;
			break;
		}
		/* request side */
		switch (c->rqs) {
		case RQ_HEAD: {
			if (c->rss != RS_IDLE || !side_flushed(&c->rs))
				break;
			if (c->rq.in_len) {
				ssize_t hl = gd_head_scan(c->rq.in, c->rq.in_len, &why);
				if (hl < 0) {
					reset_exchange(c);
					c->req_active = true;
					c->keep_alive = false;
					bad_request(s, c, strstr(why, "too large") ? 431 : 400, why);
					progress = true;
					break;
				}
				if (hl > 0) {
					c->deadline = 0;
					process_request_head(s, c, (size_t)hl);
					progress = true;
					break;
				}
				if (!c->deadline)
					c->deadline = now_ms() + HEAD_TIMEOUT_MS;
			}
			if (!c->c_in)
				break;
			int r = read_in(&c->rq, c->cfd, IN_MAX - c->rq.in_len);
			if (r == 0)
				c->c_in = false;
			if (r > 0)
				progress = true;
			else if (r < 0) {
				conn_destroy(s, c);
				return;
			}
			break;
		}
		case RQ_BUFFER:
		case RQ_STREAM: {
			bool stream = c->rqs == RQ_STREAM;
			if (stream && !side_flushed(&c->rq) && c->rq.in_len == 0)
				break;
			if (stream && out_pending(&c->rq) > OUT_SOFT)
				break;
			int r = pump_body(s, &c->rq, &c->rq, c->cfd, stream, &why);
			if (r < 0) {
				if (c->rq.src_eof) {
					conn_destroy(s, c);
					return;
				}
				reset_exchange(c);
				c->req_active = true;
				c->keep_alive = false;
				bad_request(s, c, 400, why ? why : "request body framing error");
				progress = true;
				break;
			}
			if (r > 0)
				progress = true;
			if (c->body.max && c->rq.f.capture_overflow) {
				c->dec.status = 413;
				c->dec.message = dr_xasprintf("%s: request body larger than %zu bytes",
				                              c->rt.name, s->ctx.policy->max_body);
				c->close_after = true;
				apply_decision(s, c, false);
				progress = true;
				break;
			}
			if (c->rq.f.complete) {
				if (!stream) {
					body_buffered(s, c);
				} else {
					c->rqs = RQ_WAIT;
				}
				progress = true;
			}
			break;
		}
		case RQ_WAIT:
			if (c->resp_done && side_flushed(&c->rs) && !c->close_after && side_flushed(&c->rq)) {
				c->rqs = RQ_HEAD;
				reset_exchange(c);
				progress = true;
			}
			break;
		case RQ_TUNNEL: {
			if (c->rq.src_eof || c->rq.dst_shut || !side_flushed(&c->rq))
				break;
			if (s->no_splice) {
				int r = read_in(&c->rq, c->cfd, 65536);
				if (r > 0) {
					out_add(&c->rq, c->rq.in, c->rq.in_len);
					c->rq.in_len = 0;
					progress = true;
				} else if (r < 0) {
					c->rq.src_eof = true;
					progress = true;
				}
				break;
			}
			ssize_t r = splice_in(s, &c->rq, c->cfd, UINT64_MAX);
			if (r > 0)
				progress = true;
			else if (r == 0 || (r < 0 && errno != EAGAIN)) {
				c->rq.src_eof = true;
				progress = true;
			}
			break;
		}
		case RQ_CLOSING:
			break;
		}
		/* response side */
		if (c->ufd >= 0) {
			switch (c->rss) {
			case RS_IDLE: {
				if (c->rqs == RQ_TUNNEL || !c->u_in)
					break;
				c->u_in = false;
				char b[256];
				ssize_t r = recv(c->ufd, b, sizeof(b), MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) || r > 0) {
					/* the daemon closed an idle connection (or spoke out of turn) */
					epoll_ctl(s->ep, EPOLL_CTL_DEL, c->ufd, NULL);
					close(c->ufd);
					c->ufd = -1;
					progress = true;
				}
				break;
			}
			case RS_HEAD: {
				ssize_t hl = c->rs.in_len ? gd_head_scan(c->rs.in, c->rs.in_len, &why) : 0;
				if (hl < 0) {
					gd_audit(s, "error", "bad response head from the daemon: %s", why);
					conn_destroy(s, c);
					return;
				}
				if (hl > 0) {
					process_response_head(s, c, (size_t)hl);
					progress = true;
					break;
				}
				if (!c->u_in)
					break;
				int r = read_in(&c->rs, c->ufd, IN_MAX - c->rs.in_len);
				if (r == 0)
					c->u_in = false;
				if (r > 0)
					progress = true;
				else if (r < 0) {
					if (!c->upstream_used || out_pending(&c->rs) || c->rs.in_len) {
						conn_destroy(s, c);
						return;
					}
					c->close_after = true;
					deny_answer(s, c, 502, "the Docker daemon closed the connection", false);
					progress = true;
				}
				break;
			}
			case RS_BODY:
			case RS_CAPTURE: {
				bool stream = c->rss == RS_BODY;
				if (stream && out_pending(&c->rs) > OUT_SOFT)
					break;
				int r = pump_body(s, &c->rs, &c->rs, c->ufd, stream, &why);
				if (r > 0)
					progress = true;
				if (r < 0) {
					if (c->rs.src_eof && c->rs.f.eof_body) {
						gd_framer_eof(&c->rs.f);
					} else {
						conn_destroy(s, c);
						return;
					}
				}
				if (c->rs.f.capture_overflow) {
					conn_destroy(s, c);
					return;
				}
				if (c->rs.f.complete) {
					finish_response(s, c);
					progress = true;
				}
				break;
			}
			case RS_TUNNEL: {
				if (c->rs.src_eof || !side_flushed(&c->rs))
					break;
				if (s->no_splice) {
					int r = read_in(&c->rs, c->ufd, 65536);
					if (r > 0) {
						out_add(&c->rs, c->rs.in, c->rs.in_len);
						c->rs.in_len = 0;
						progress = true;
					} else if (r < 0) {
						c->rs.src_eof = true;
						progress = true;
					}
					break;
				}
				ssize_t r = splice_in(s, &c->rs, c->ufd, UINT64_MAX);
				if (r > 0)
					progress = true;
				else if (r == 0 || (r < 0 && errno != EAGAIN)) {
					c->rs.src_eof = true;
					progress = true;
				}
				break;
			}
			}
		}
		/* writes last, so a head and its body leave in one go */
		if (c->ufd >= 0 && flush_side(&c->rq, c->ufd, &progress) < 0) {
			if (c->rqs == RQ_TUNNEL) {
				c->rq.dst_shut = true;
				c->rq.in_len = c->rq.out_len = c->rq.out_off = 0;
				c->rq.pipe_len = 0;
			} else {
				c->close_after = true;
				c->rs.src_eof = true;
			}
		}
		if (flush_side(&c->rs, c->cfd, &progress) < 0) {
			conn_destroy(s, c);
			return;
		}
		if (!progress)
			break;
	}
	conn_update(s, c);
}

static void
conn_update(gd_server *s, gd_conn *c)
{
	uint32_t cm = 0, um = 0;
	bool rq_blocked = !side_flushed(&c->rq);
	switch (c->rqs) {
	case RQ_HEAD:
		if (c->rss == RS_IDLE && side_flushed(&c->rs) && c->rq.in_len < IN_MAX)
			cm |= EPOLLIN;
		break;
	case RQ_BUFFER:
		cm |= EPOLLIN;
		break;
	case RQ_STREAM:
		if (!rq_blocked || c->rq.in_len == 0)
			cm |= rq_blocked ? 0 : EPOLLIN;
		break;
	case RQ_TUNNEL:
		if (!c->rq.src_eof && !rq_blocked)
			cm |= EPOLLIN;
		break;
	case RQ_CLOSING:
		cm |= EPOLLIN;
		break;
	case RQ_WAIT:
		break;
	}
	if (!side_flushed(&c->rs))
		cm |= EPOLLOUT;
	if (c->ufd >= 0) {
		if (rq_blocked)
			um |= EPOLLOUT;
		bool rs_blocked = !side_flushed(&c->rs) && out_pending(&c->rs) > OUT_SOFT;
		bool rs_pipe_full = c->rs.pipe_len > 0;
		switch (c->rss) {
		case RS_IDLE:
			if (c->rqs != RQ_TUNNEL)
				um |= EPOLLIN;
			break;
		case RS_HEAD:
		case RS_CAPTURE:
			um |= EPOLLIN;
			break;
		case RS_BODY:
			if (!rs_blocked && !rs_pipe_full)
				um |= EPOLLIN;
			break;
		case RS_TUNNEL:
			if (!c->rs.src_eof && !rs_pipe_full && !rs_blocked)
				um |= EPOLLIN;
			break;
		}
	}
	set_mask(s, c->cfd, cm, &c->cmask, &c->cadded, c);
	if (c->ufd >= 0)
		set_mask(s, c->ufd, um, &c->umask, &c->uadded, (char *)c + 1);
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
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		c->peer_pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 ? cr.pid : 0;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		conn_update(s, c);
	}
}

static void
check_deadlines(gd_server *s)
{
	long long now = now_ms();
	gd_conn *c = s->conns;
	while (c) {
		gd_conn *next = c->next;
		if (c->deadline && now > c->deadline &&
		    (c->rqs == RQ_CLOSING || (c->rqs == RQ_HEAD && c->rq.in_len)))
			conn_destroy(s, c);
		c = next;
	}
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
	while (!s->stop) {
		int n = epoll_wait(s->ep, evs, DR_ARRAY_LEN(evs), 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dr_fail_errno(err, DR_EXIT_FAIL, errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &s->lfd) {
				accept_clients(s);
				continue;
			}
			if (p == &s->sigfd) {
				struct signalfd_siginfo si;
				if (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
					s->stop = true;
					s->stop_signal = (int)si.ssi_signo;
				}
				continue;
			}
			gd_conn *c = (gd_conn *)((uintptr_t)p & ~(uintptr_t)1);
			bool is_up = ((uintptr_t)p & 1) != 0;
			/* the connection may have been destroyed by an earlier event of this batch */
			bool alive = false;
			for (gd_conn *x = s->conns; x; x = x->next)
				if (x == c) {
					alive = true;
					break;
				}
			if (alive) {
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
					if (is_up)
						c->u_in = true;
					else
						c->c_in = true;
				}
				conn_run(s, c);
			}
		}
		check_deadlines(s);
	}
	while (s->conns)
		conn_destroy(s, s->conns);
	return 0;
}
