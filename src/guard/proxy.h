/* proxy.h: the guard's epoll relay: accepts clients on the listening socket, frames each
 * request, asks decide.c, forwards the rewritten head and streams bodies (splice(2) where the
 * kernel allows), relays responses, and turns hijacked endpoints into byte tunnels with
 * half-close passed through. */
#ifndef DESKRUN_GUARD_PROXY_H
#define DESKRUN_GUARD_PROXY_H

#include "guard/guard.h"
#include "guard/upstream.h"

typedef struct gd_conn gd_conn;

typedef struct gd_server {
	const gd_config *cfg;
	gd_ctx ctx;
	gd_up *up;
	int ep;
	int lfd;
	int sigfd;
	gd_conn *conns;
	size_t nconns;
	bool no_splice;
	bool stop;
	int stop_signal;
} gd_server;

/* Run until SIGTERM/SIGINT (delivered through sigfd). Returns 0, or -1 with *err. */
int gd_serve(gd_server *s, dr_err **err);

/* One audit line on stderr (text or JSON). */
void gd_audit(const gd_server *s, const char *event, const char *fmt, ...) DR_PRINTF(3, 4);

#endif
