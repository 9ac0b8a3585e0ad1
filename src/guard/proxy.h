/* proxy.h: the guard's epoll relay: accepts clients on the listening socket, frames each
 * request, asks decide.c, forwards the rewritten head and streams bodies (splice(2) for long
 * payload runs), relays responses, and turns hijacked endpoints into byte tunnels with
 * half-close passed through. Upstream connections are reused across client connections
 * (a small pool of idle keep-alive ones). */
#ifndef DESKRUN_GUARD_PROXY_H
#define DESKRUN_GUARD_PROXY_H

#include "guard/guard.h"
#include "guard/upstream.h"

typedef struct gd_conn gd_conn;

/* Counters for the stop line (operators, tests, the benchmark). */
typedef struct gd_stats {
	unsigned long clients;     /* client connections accepted */
	unsigned long requests;    /* request heads framed */
	unsigned long up_opened;   /* connections opened to the daemon */
	unsigned long up_reused;   /* taken from the pool instead */
	unsigned long heads_after; /* request heads taken off the socket after their answer */
	unsigned long polled;      /* events found by polling instead of sleeping */
} gd_stats;

/* Idle keep-alive connections to the daemon kept for the next client connection. */
#define GD_POOL_MAX 16

typedef struct gd_server {
	const gd_config *cfg;
	gd_ctx ctx;
	gd_up *up;
	int ep;
	int lfd;
	int sigfd;
	gd_conn *conns;
	size_t nconns;
	gd_conn *dead;  /* closed during this batch of events, freed after it */
	gd_conn *ready; /* still had work when their turn ended: run again without waiting */
	int pool[GD_POOL_MAX];
	size_t npool;
	gd_stats stats;
	long long next_check;
	bool no_splice;
	bool busy; /* the last wait returned more than one event */
	long long poll_ns; /* how long to poll before the next sleep (adaptive, <= cfg's) */
	bool stop;
	int stop_signal;
} gd_server;

/* Run until SIGTERM/SIGINT (delivered through sigfd). Returns 0, or -1 with *err. */
int gd_serve(gd_server *s, dr_err **err);

/* One audit line on stderr (text or JSON). */
void gd_audit(const gd_server *s, const char *event, const char *fmt, ...) DR_PRINTF(3, 4);

#endif
