/* decide.h: private to decide*.c, the guard's decision split by object family. decide.c holds
 * the route table, the dispatcher gd_decide and the helpers every family uses (answers, names,
 * labels, filters, container ownership); decide_containers.c, decide_images.c,
 * decide_netvol.c and decide_exec.c each decide the routes of one family. Not part of the
 * guard's interface (guard.h): the names here are short because only these files see them. */
#ifndef DESKRUN_GUARD_DECIDE_H
#define DESKRUN_GUARD_DECIDE_H

#include "lib/common.h"
#include "guard/guard.h"
#include "guard/gjson.h"

/* Route ids (gd_route.id). */
enum {
	R_UNKNOWN = 0,
	R_AREA_DENIED,
	R_PING, R_VERSION, R_INFO, R_EVENTS, R_DF, R_AUTH,
	R_C_LIST, R_C_CREATE, R_C_PRUNE, R_C_INSPECT, R_C_TOP, R_C_LOGS, R_C_CHANGES,
	R_C_EXPORT, R_C_STATS, R_C_RESIZE, R_C_START, R_C_STOP, R_C_RESTART, R_C_KILL,
	R_C_UPDATE, R_C_RENAME, R_C_PAUSE, R_C_UNPAUSE, R_C_ATTACH, R_C_ATTACH_WS, R_C_WAIT,
	R_C_DELETE, R_C_ARCHIVE_HEAD, R_C_ARCHIVE_GET, R_C_ARCHIVE_PUT, R_C_EXEC,
	R_COMMIT, R_E_START, R_E_RESIZE, R_E_INSPECT,
	R_I_LIST, R_BUILD, R_BUILD_PRUNE, R_BUILD_CANCEL, R_I_CREATE, R_I_INSPECT, R_I_HISTORY, R_I_PUSH,
	R_I_TAG, R_I_DELETE, R_I_SEARCH, R_I_PRUNE, R_I_GET_ONE, R_I_GET, R_I_LOAD,
	R_DISTRIBUTION,
	R_N_LIST, R_N_INSPECT, R_N_CREATE, R_N_CONNECT, R_N_DISCONNECT, R_N_DELETE, R_N_PRUNE,
	R_V_LIST, R_V_CREATE, R_V_INSPECT, R_V_DELETE, R_V_PRUNE, R_V_UPDATE,
	R_SESSION, R_GRPC,
};

/* ---- answers (decide.c) ---- */

/* Answer locally with status and the guard's message; returns 0 so that a decision can end
 * with `return deny(...)`. */
int deny(gd_decision *d, int status, const char *field, const char *fmt, ...) DR_PRINTF(4, 5);
/* The daemon's own answer for a missing object (a foreign one looks the same). */
int missing(gd_decision *d, const char *fmt, ...) DR_PRINTF(2, 3);
/* 502: the daemon could not be asked; returns -1. */
int upstream_failed(gd_decision *d);
/* 403 for a route the guard does not forward. */
int route_not_allowed(const gd_req *r, gd_decision *d);
/* Forward to path (version prefix and the checked query added). */
void set_target(const gd_req *r, gd_decision *d, const char *path);
/* Forward j, re-serialized, instead of the client's body. */
void set_body(gd_decision *d, json_t *j);

/* ---- small checks (decide.c) ---- */

bool in_list(char *const *v, const char *s);
bool in_static(const char *const *v, size_t n, const char *s);
/* Names of containers, networks and volumes; 0, or -1 with a 403 in d. */
int check_name(const gd_ctx *c, gd_decision *d, const char *what, const char *name);
/* Refuse client labels in the io.deskrun. namespace and add the tenant's (and, when
 * session_scoped, the session's); 0, or -1 with a 403 in d. */
/* --unrestricted: forward as asked, only the runner's folders mapped (decide_containers.c). */
int decide_unrestricted(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d,
                        json_t *body);
int own_labels(const gd_ctx *c, gd_decision *d, json_t *parent, const char *key, const char *what,
               bool session_scoped);
const char *jstr(json_t *o, const char *k);
bool jtrue(json_t *o, const char *k);
bool jempty(json_t *o, const char *k);
/* Canonical `filters`, with the tenant's label filter added when add_label; -1 with a 400. */
int scope_filters(const gd_ctx *c, gd_req *r, gd_decision *d, bool add_label);

/* ---- references to objects ----
 * Each returns 0 (allowed), 1 (answered in d) or -1 (the daemon could not be asked; d holds
 * the 502). */

/* decide.c: a container the tenant owns; o gets its full ID. */
int own_container(const gd_ctx *c, gd_decision *d, const char *ref, gd_obj *o);
/* decide_containers.c: the route's container (own_container) and the path to forward, with
 * the full ID in place of the reference. */
int container_target(const gd_ctx *c, const gd_route *rt, const gd_req *r, gd_decision *d,
                     gd_obj *o, char **path);
/* decide_containers.c: an endpoint of a create or network connect. */
int check_endpoint(gd_decision *d, json_t *ep, const char *net, bool owned);
/* decide_netvol.c: a network a container joins; *owned when it is the tenant's. */
int check_network_ref(const gd_ctx *c, gd_decision *d, const char *net, const char *field,
                      bool *owned);
/* decide_images.c: an image read by the tenant (not another tenant's). */
int check_image_read(const gd_ctx *c, gd_decision *d, const char *ref, const char *field);
/* decide_images.c: an image reference the tenant writes (its namespace). */
int check_write_ref(const gd_ctx *c, gd_decision *d, const char *ref, const char *field);
/* decide_images.c: `changes` query parameters (commit, import) set no io.deskrun. label. */
int check_changes(const gd_ctx *c, gd_req *r, gd_decision *d);

/* ---- one family of routes each, called by gd_decide once the request passed the common
 * checks (no form body, no body where none is taken, query parameters). body is the request
 * body decoded against the route's schema (body_schema in decide.c), NULL for routes without
 * one. Return as gd_decide does. ---- */

int decide_containers(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d,
                      json_t *body);
int decide_images(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d);
int decide_networks(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d,
                    json_t *body);
int decide_volumes(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d,
                   json_t *body);
int decide_exec(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d, json_t *body);
int decide_system(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d);
/* swarm, services, plugins, ...: refused before anything else is looked at. */
int decide_area_denied(const gd_req *r, gd_decision *d);

#endif
