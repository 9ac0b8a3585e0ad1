/* scaleset.h: a client of GitHub's runner scale set service, the API ARC's listener speaks
 * (../shared/reference/scaleset-protocol.md, cited as §N). It authenticates with a PAT or a
 * GitHub App (§2), keeps the admin token fresh (§2.5), and wraps every call the local agent
 * needs: runner groups, scale sets, message sessions, the long poll, ack, acquire, JIT configs
 * and runner removal (§4). Transport retries follow §3 (5 attempts, 1-2-4-8 s, Retry-After on
 * 429/503, 5xx and dropped connections retried). Secrets travel only in Authorization headers:
 * no error message, log line or child process ever sees one.
 *
 * Not thread-safe: one caller at a time per client (the agent holds its set's lock). */
#ifndef DESKRUN_SCALESET_H
#define DESKRUN_SCALESET_H

#include <signal.h>
#include <stdatomic.h>

#include "lib/common.h"
#include "lib/doctor.h"
#include "lib/runner.h"

/* Distinguishable failures, in err->errnum. */
#define DR_SS_CONFLICT EBUSY   /* 409 on POST sessions: another listener holds the set (§7.1) */
#define DR_SS_EXISTS EEXIST    /* 409 AgentExistsException on generatejitconfig */
#define DR_SS_STILL_RUNNING EAGAIN /* 400 JobStillRunningException on DELETE agent */
#define DR_SS_NOT_FOUND ENOENT /* 404 */

typedef struct dr_scaleset {
	char *config_url; /* owned: the runner URL without leading/trailing '/' (§1.1) */
	char *api;        /* owned: the REST base (§1.2) */
	char *scope;      /* owned: "repos/O/R", "orgs/O" or "enterprises/E" */
	dr_auth auth;     /* owned copy */
	dr_proxy *proxy;  /* owned or NULL */
	char *user_agent; /* owned */

	char *service_url; /* owned: the actions service base (§1.3) */
	char *admin_token; /* owned, secret */
	int64_t admin_exp; /* the admin JWT's exp */

	int64_t set_id;    /* the session's scale set */
	char *session_id;  /* owned, or NULL: no session */
	char *queue_url;   /* owned */
	char *queue_token; /* owned, secret */

	long backoff_ms;   /* the first retry's wait (1000); tests may shorten it */
	int attempts;      /* 5 */
	int64_t (*now)(void); /* the clock (seconds), replaceable by tests */
	atomic_int *cancel; /* or NULL: set to give up waits and requests */
	unsigned long requests; /* how many HTTP requests went out */
} dr_scaleset;

/* A client for the runner URL (https://HOST/O/R, /O or /enterprises/E), the credentials (copied)
 * and the proxy URL (NULL: none; the environment is the caller's business). Usage errors name
 * the URL's problem. */
dr_scaleset *dr_scaleset_new(const char *config_url, const dr_auth *auth, const char *proxy_url,
                             dr_err **err);
void dr_scaleset_free(dr_scaleset *c);
static inline void dr_scaleset_freep(dr_scaleset **c) { dr_scaleset_free(*c); }
#define _cleanup_scaleset_ __attribute__((cleanup(dr_scaleset_freep)))

/* The REST base for a runner URL's scheme and host (§1.2), owned. */
char *dr_scaleset_api_base(const char *scheme, const char *hostport);
/* The exp of a JWT (unverified), or -1. */
int64_t dr_jwt_exp(const char *jwt);

/* Refresh the admin token now (§2.2-2.4); the calls below do it when it is due (exp - 60 s). */
int dr_scaleset_refresh_admin(dr_scaleset *c, dr_err **err);

/* §4.1: the runner group's id; "" or "default" (any case) is group 1 without a call. */
int dr_scaleset_group_id(dr_scaleset *c, const char *name, int64_t *id, dr_err **err);
/* §4.2: the scale set of that name in the group (*set owned), or *set = NULL when none. */
int dr_scaleset_find(dr_scaleset *c, int64_t group_id, const char *name, json_t **set,
                     dr_err **err);
/* §4.3 */
int dr_scaleset_get(dr_scaleset *c, int64_t id, json_t **set, dr_err **err);
/* §4.4: labels (NULL: the name alone) as System labels; RunnerSetting disableUpdate. */
int dr_scaleset_create(dr_scaleset *c, int64_t group_id, const char *name, char *const *labels,
                       json_t **set, dr_err **err);
/* §4.5: a partial update with the fields of `patch` (borrowed). */
int dr_scaleset_update(dr_scaleset *c, int64_t id, json_t *patch, json_t **set, dr_err **err);
/* §4.5b */
int dr_scaleset_delete(dr_scaleset *c, int64_t id, dr_err **err);

/* §4.6: open the message session of scale set `id` as `owner`; *session (owned, may be NULL
 * to ignore) is the Session object. A 409 fails with errnum DR_SS_CONFLICT. */
int dr_scaleset_session_open(dr_scaleset *c, int64_t id, const char *owner, json_t **session,
                             dr_err **err);
/* §4.6b: a new queue token for the open session. */
int dr_scaleset_session_refresh(dr_scaleset *c, json_t **session, dr_err **err);
/* §4.6c: delete the open session (no-op without one). */
int dr_scaleset_session_close(dr_scaleset *c, dr_err **err);

/* §4.7: the long poll. *msg (owned) is the envelope with "body" decoded into an array of job
 * messages (possibly empty), or NULL on 202 (nothing within the server's hold). A 401 refreshes
 * the session once and retries (§7.2). max_capacity goes out as X-ScaleSetMaxCapacity.
 * timeout_ms bounds one request (the server holds ~50 s). */
int dr_scaleset_get_message(dr_scaleset *c, int64_t last_id, int max_capacity, long timeout_ms,
                            json_t **msg, dr_err **err);
/* §4.8: acknowledge (delete) a message. */
int dr_scaleset_ack(dr_scaleset *c, int64_t message_id, dr_err **err);
/* §4.9: acquire the jobs (runnerRequestIds, borrowed array); *acquired (owned, may be NULL). */
int dr_scaleset_acquire(dr_scaleset *c, json_t *request_ids, json_t **acquired, dr_err **err);

/* §4.11: a JIT config for a runner named `name` in scale set `id`. *blob (owned, secret) is
 * encodedJITConfig, *runner_id the runner's id. 409 fails with errnum DR_SS_EXISTS. */
int dr_scaleset_jit(dr_scaleset *c, int64_t id, const char *name, char **blob,
                    int64_t *runner_id, dr_err **err);
/* §4.13: the id of the runner of that name, 0 when none. */
int dr_scaleset_runner_by_name(dr_scaleset *c, const char *name, int64_t *id, dr_err **err);
/* §4.14: deregister a runner (204, also for unknown ids). 400 JobStillRunningException fails
 * with errnum DR_SS_STILL_RUNNING. */
int dr_scaleset_remove_runner(dr_scaleset *c, int64_t runner_id, dr_err **err);

/* Case-insensitive object member (the service's JSON keys, §3). Borrowed. */
json_t *dr_json_iget(json_t *obj, const char *key);
int64_t dr_json_iget_int(json_t *obj, const char *key);
const char *dr_json_iget_str(json_t *obj, const char *key);

#endif
