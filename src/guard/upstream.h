/* upstream.h: the guard's own connection to the daemon: blocking calls with a deadline (used
 * for ownership lookups, implicit volume creation and cleanup), the ID -> owner cache, the
 * persistent per-tenant state (<state-dir>/state.json), and the gd_resolver built on them. */
#ifndef DESKRUN_GUARD_UPSTREAM_H
#define DESKRUN_GUARD_UPSTREAM_H

#include "guard/guard.h"
#include "lib/buf.h"

typedef struct gd_cache_ent {
	char id[72];
	char kind;   /* 'c' container, 'e' exec (value = container id) */
	gd_own own;
	char val[72];
} gd_cache_ent;

typedef struct gd_up {
	const char *sock;
	const char *tenant;
	const char *session;
	char *state_dir;  /* owned; NULL: no persistent state */
	int fd;
	int timeout_ms;
	gd_cache_ent *cache; /* owned */
	size_t ncache, capcache;
	json_t *state;       /* owned: {"volumes":{name:1},"images":{id:[refs]}} */
	long long state_mtime;
	struct gd_podfs *pods; /* the runner pod's folders, or NULL */
	long long last_beat_ms;
	gd_resolver res;
} gd_up;

/* Connect to a unix socket (blocking, close-on-exec); -1 with errno. */
int gd_unix_connect(const char *path);

int gd_up_init(gd_up *u, const gd_config *cfg, dr_err **err);
void gd_up_clear(gd_up *u);
/* One request/response on the lookup connection. *status 0 when the daemon could not be
 * reached in time (returns -1). resp receives the (de-chunked) body, capped at 64 MiB. */
int gd_up_call(gd_up *u, const char *method, const char *target, const char *body, size_t len,
               int *status, dr_buf *resp);
/* Learn from a forwarded request's answer (created containers, execs, pulled images). */
void gd_up_record(gd_up *u, gd_post post, const char *arg, int status, const char *body,
                  size_t len);
/* Map bind sources in the runner pod's folders from now on (NULL: stop). */
void gd_up_use_pods(gd_up *u, struct gd_podfs *pods);
/* Let go of the pins no container of the session uses (made more than grace_ms ago). */
void gd_up_sweep_pins(gd_up *u, long long grace_ms);
/* Called from the serve loop's deadline check (every 250 ms to 1 s): every minute, tell the node the
 * guard is alive and let go of pins no container uses. */
void gd_up_tick(gd_up *u);
/* The request that made pin group `group` was answered: ok (201) keeps its pins. */
void gd_up_settle_pins(gd_up *u, unsigned group, bool ok);
/* Check end to end that the daemon sees the pod's folder and the guard's pins there (a
 * container create that fails on its image, so nothing is made): "" when it does, else what
 * is wrong (owned); NULL without pod folders. */
char *gd_up_check_pods(gd_up *u);
/* Remove the tenant's (or the session's) containers, networks and volumes (named ones unless
 * keep_volumes; the anonymous ones recorded in the state always). */
int gd_up_cleanup(gd_up *u, bool keep_volumes, int *removed, dr_err **err);

#endif
