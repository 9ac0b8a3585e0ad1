/* guard.h: the per-tenant Docker Engine API guard (`deskrun guard`): its configuration, its
 * policy, and the decision interface shared by the proxy, the tests and the fuzz targets.
 *
 * Layout: http.c frames bytes; gjson.c decodes JSON the daemon's way; decide.c turns one
 * request into a decision (forward rewritten, or answer locally) using a gd_resolver to learn
 * who owns the objects it names; upstream.c implements the resolver against the real daemon
 * (with a cache and the persistent state); proxy.c is the epoll relay; guard.c ties them
 * together, handles signals and cleans up on exit. */
#ifndef DESKRUN_GUARD_H
#define DESKRUN_GUARD_H

#include "lib/common.h"
#include "guard/http.h"

#define GD_LABEL_TENANT "io.deskrun.tenant"
#define GD_LABEL_SESSION "io.deskrun.session"
#define GD_LABEL_PREFIX "io.deskrun."

typedef struct gd_policy {
	char **allow_bind;        /* host path prefixes allowed as bind sources (owned strv) */
	char **capabilities;      /* CapAdd values allowed beyond docker's default set */
	char **sysctls;           /* sysctl names allowed */
	char **runtimes;          /* runtimes allowed besides the default */
	char **log_drivers;       /* besides "", json-file, local, none */
	char **image_namespaces;  /* reference prefixes that count as the tenant's own */
	char **registries;        /* pull allowlist (NULL: any) */
	char **reserved_prefixes; /* name prefixes of other tenants */
	char **subnets;           /* CIDRs network create may ask for in IPAM.Config (NULL: none) */
	char **buildkit_entitlements; /* BuildKit Solve entitlements allowed (NULL: none) */
	bool publish_all_interfaces;
	bool restart_always;
	bool buildkit; /* /grpc and /session served, read and checked (default true) */
	bool require_name_prefix;
	bool unrestricted; /* --unrestricted: no checks, only the runner's folders mapped */
	int min_api_minor; /* requests for API 1.x below this are refused */
	size_t max_body;   /* cap for inspected bodies */
} gd_policy;

/* Load the defaults, then --policy FILE when given (unknown keys are an error). */
int gd_policy_load(gd_policy *p, const char *file, dr_err **err);
void gd_policy_clear(gd_policy *p);

typedef enum gd_own { GD_MISSING = 0, GD_MINE, GD_FOREIGN, GD_SHARED } gd_own;

typedef struct gd_obj {
	gd_own own;
	bool labeled;     /* owned through the tenant label (not only the state) */
	char id[160];     /* canonical full ID (volume: its name) */
	char name[256];   /* networks: the name; containers: "/name" */
	bool predefined;  /* networks bridge, host, none */
	bool onbuild;     /* images: its config has ONBUILD triggers (resolver image_onbuild) */
} gd_obj;

/* How the decision learns ownership. Each returns 0 (out->own set; GD_MISSING when the
 * daemon has no such object) or -1 when the daemon could not be asked. */
typedef struct gd_resolver {
	void *ctx;
	int (*container)(void *ctx, const char *ref, gd_obj *out);
	int (*volume)(void *ctx, const char *name, gd_obj *out);
	int (*network)(void *ctx, const char *ref, gd_obj *out);
	int (*image)(void *ctx, const char *ref, gd_obj *out);
	int (*exec)(void *ctx, const char *id, gd_obj *out); /* own/id of the exec's container */
	char **(*tenants)(void *ctx); /* other tenants known on this node (owned strv) */
	/* Create a volume carrying the tenant's labels (implicit volumes of Binds). */
	int (*volume_create)(void *ctx, const char *name, gd_obj *out);
	/* Image id (and, when ref is set, that reference) pulled by this tenant. */
	bool (*image_recorded)(void *ctx, const char *id, const char *ref);
	/* The ONBUILD triggers of a local image (Config.OnBuild; owned strv, NULL when none or
	 * not local, -1 when the daemon could not be asked). May be NULL. */
	int (*image_onbuild)(void *ctx, const char *ref, char ***out);
	/* A volume the daemon made for one of the tenant's containers (anonymous, unlabelled). */
	bool (*volume_recorded)(void *ctx, const char *name);
	/* A bind source in the runner pod's folders (see podfs.h): 1 with *out the daemon's
	 * path, 0 when it is not one of them, -1 refused with *why (both owned). *group ties the
	 * pins it makes to this request (0: allocate). NULL: no pod folders. */
	int (*bind_source)(void *ctx, const char *src, unsigned *group, char **out, char **why);
} gd_resolver;

/* The build-arg values this tenant's BuildKit builds gave, by the session the build reads
 * its Dockerfile from: the Dockerfile check (gd_session_dockerfile_check) tries each value a
 * FROM's ARG may take in that build. Keys: "s:<session>" (the daemon's name for it: the
 * classic /build, a Control Solve's Session and local-sessionid:* attributes) and
 * "r:<ref>" (an LLBBridge Solve, whose build ref a Control Solve links to its sessions). */
#define GD_ARGS_MAX 4096
typedef struct gd_argstore {
	char **key, **kv; /* "NAME=VALUE" under key */
	size_t n;
	char **lref, **lses; /* ref key -> session key */
	size_t nl;
	bool overflow; /* more than GD_ARGS_MAX: a build-arg in a FROM is then refused */
	const char *cur_ref; /* the build ref of the LLBBridge call being checked (the proxy's) */
	/* The daemon keeps the files a session synced under the session's shared key and sends
	 * again only those whose stat changed: the guard binds that key to itself
	 * ("<tenant>.<nonce>.<key>", nonce random per guard process) and keeps the Dockerfiles it
	 * checked by (key, stat), so a file the daemon does not ask for again is checked from
	 * this copy (gd_dfcache_*). */
	char nonce[17];
	struct gd_dfcached *dfc;
	size_t ndfc, dfc_bytes;
	/* The Dockerfiles a session's transfers carried (checked): a later build on the same
	 * session may reuse the synced files without a transfer, so its Solve re-checks them
	 * with its own build-args (gd_args_recheck). */
	struct gd_dfcached *seen; /* data NULL: more than GD_DFCACHE_BYTES (fails closed) */
	size_t nseen, seen_bytes;
} gd_argstore;
/* A Dockerfile the session (key "s:<id>") carried. */
void gd_args_seen(gd_argstore *s, const char *session_key, const char *data, size_t len);

#define GD_DFCACHE_BYTES (8u * 1024 * 1024)
/* Keep (key, klen) -> data; the oldest go beyond GD_DFCACHE_BYTES. */
void gd_dfcache_put(gd_argstore *s, const void *key, size_t klen, const char *data, size_t len);
/* The copy kept under key, or NULL. */
const char *gd_dfcache_get(const gd_argstore *s, const void *key, size_t klen, size_t *len);
void gd_args_record(gd_argstore *s, const char *key, const char *name, const char *value);
void gd_args_link(gd_argstore *s, const char *ref_key, const char *session_key);
/* "NAME=VALUE" for a session key (its own and its linked refs'), NULL-terminated, owned. */
char **gd_args_for(const gd_argstore *s, const char *session_key);
/* A session ended: its entries and links go (and those of refs linked only to it). */
void gd_args_forget(gd_argstore *s, const char *session_key);
void gd_args_clear(gd_argstore *s);

typedef struct gd_ctx {
	const char *tenant;
	const char *session; /* NULL */
	const gd_policy *policy;
	const gd_resolver *res;
	gd_argstore *args;   /* NULL: none recorded (unit tests) */
} gd_ctx;

/* ---- routes ---- */
typedef enum gd_body_kind {
	GD_BODY_NONE,    /* no body allowed */
	GD_BODY_INSPECT, /* JSON body buffered (capped), checked and re-serialized */
	GD_BODY_STREAM,  /* streamed unseen (tar, auth JSON) */
} gd_body_kind;

typedef enum gd_post {
	GD_POST_NONE,
	GD_POST_CONTAINER_CREATED,
	GD_POST_EXEC_CREATED,
	GD_POST_IMAGES_LIST,
	GD_POST_SYSTEM_DF,
	GD_POST_INFO,
	GD_POST_NETWORK_INSPECT,
	GD_POST_VOLUMES_LIST,
	GD_POST_PULLED,
} gd_post;

typedef struct gd_route {
	int id;             /* 0: a route the guard does not know */
	const char *name;   /* "containers.create" */
	gd_body_kind body;
	bool hijack;
	const char *params; /* allowed query parameters, ',' separated, '*' marks repeatable */
	char *ref;          /* owned: the object named in the path, or NULL */
} gd_route;

void gd_route_clear(gd_route *r);

typedef struct gd_req {
	const char *method;
	char *path;        /* decoded path without the version prefix (owned by the caller) */
	char *version;     /* "1.41" or NULL */
	gd_query query;    /* may be rewritten by the decision */
	const gd_head *head;
	bool has_body;     /* Content-Length > 0 or chunked */
	const char *body;  /* when the route inspects its body */
	size_t body_len;
} gd_req;

typedef struct gd_decision {
	int status;         /* 0: forward; else answer locally with this status */
	bool plain;         /* message is the daemon's own wording (no guard prefix) */
	char *message;      /* owned */
	char *local_json;   /* owned: a full JSON body for a local 2xx answer */
	char *target;       /* owned: canonical target to forward ("/v1.41/...?...") */
	char *session_uuid; /* owned: the X-Docker-Expose-Session-Uuid to send instead (/session) */
	char *session_sharedkey; /* owned: the -Sharedkey to send (bound to this guard) */
	char *body;         /* owned: replacement body (sent with Content-Length) */
	size_t body_len;
	bool replace_body;
	gd_post post;
	char *post_arg;     /* owned */
	const char *field;  /* for the audit line */
	unsigned pin_group; /* bind pins made for this request (podfs), settled on its answer */
} gd_decision;

void gd_decision_clear(gd_decision *d);

/* Route a request (method, decoded path without version). Unknown routes get route id 0. */
void gd_route_match(const char *method, const char *path, gd_route *out);
/* Split the version prefix off a decoded path. Returns 0, or -1 with an answer in *d (400). */
int gd_strip_version(gd_req *r, const gd_ctx *c, gd_decision *d);
/* Decide one request. r->body is set when the route's body kind is GD_BODY_INSPECT.
 * Returns 0 (d filled) or -1 when the daemon could not be asked (d holds a 502 answer). */
int gd_decide(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d);
/* The BuildKit tunnel: NULL when the gRPC call :path may reach the daemon, else the one-line
 * reason (written to buf). */
const char *gd_grpc_refusal(const char *path, char *buf, size_t len);
/* Calls whose request message the guard reads before it reaches the daemon (Solve). */
bool gd_grpc_inspects(const char *path);
/* NULL when the request message of such a call may go on, else the one-line reason. When
 * the message must change (session IDs bound to the tenant, the tenant label and cache-mount
 * namespace added), the whole new message is put in rewrite. */
const char *gd_grpc_check(const gd_ctx *c, const char *path, const uint8_t *msg, size_t len,
                          char *buf, size_t blen, dr_buf *rewrite);
/* A BuildKit session ID as the daemon sees it: "<tenant>.<nonce>.<id>" (a tenant name has no
 * dot, so no two tenants' IDs meet: another tenant's session cannot be named; the nonce of
 * this guard process, so neither can another pod's of the same tenant, whose guard has not
 * seen the Solves that name it); "<tenant>.<id>" without an argstore (unit tests). Owned. */
char *gd_session_id(const gd_ctx *c, const char *id);
/* A Dockerfile (any file of the `dockerfile` directory a build's session sends the daemon):
 * NULL when every image it may read (src/guard/dockerfile.h) is one the tenant may read, else
 * the reason (in buf): another tenant's local image (its label), a name in another known
 * tenant's namespace, a reference that cannot be resolved statically, a # syntax frontend
 * other than docker/dockerfile. */
const char *gd_session_dockerfile_check(const gd_ctx *c, const char *session_key,
                                        const char *data, size_t len, char *buf, size_t blen);
/* Re-check every Dockerfile the given sessions (daemon-side IDs) and the sessions linked to
 * ref (may be NULL) carried, with the build-args now recorded: NULL, or the reason in buf. */
const char *gd_args_recheck(const gd_ctx *c, char *const *sessions, const char *ref, char *buf,
                            size_t blen);
/* A docker/dockerfile[-upstream] image (the only gateway frontends that run). */
bool gd_dockerfile_frontend(const char *ref);
/* A build ref the same way (Solve and Status Ref, the LLBBridge's buildid metadata). */
#define gd_build_ref gd_session_id
#define GD_BUILDID_HEADER "buildkit-controlapi-buildid"
#define GD_SESSION_HEADER "X-Docker-Expose-Session-Uuid"
#define GD_SHAREDKEY_HEADER "X-Docker-Expose-Session-Sharedkey"

/* Response post-processing for captured bodies: returns a new body (owned) or NULL to keep
 * the daemon's. */
char *gd_post_filter(const gd_ctx *c, gd_post post, const char *arg, int status,
                     const char *body, size_t len, size_t *out_len);

/* ---- image references ---- */
typedef struct gd_ref {
	char *domain; /* "docker.io" when absent */
	char *path;   /* "library/busybox" */
	char *tag;    /* NULL */
	char *digest; /* NULL */
} gd_ref;
int gd_ref_parse(const char *s, gd_ref *r);
void gd_ref_clear(gd_ref *r);
/* Is this reference (a name, not an ID) inside the tenant's namespace? */
bool gd_ref_mine(const gd_ctx *c, const char *ref);
/* True when an image name's path (no registry) is in another known tenant's namespace
 * (OTHER/...): decide.c. */
bool gd_path_foreign(const gd_ctx *c, const char *path);
bool gd_looks_like_id(const char *s);
/* The runner's own tag for a Dockerfile action it builds: <hex6>:<hex32>. */
bool gd_runner_action_ref(const gd_ref *r);

/* ---- addresses (policy "subnets", IPAM.Config of network create) ---- */
typedef struct gd_cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* network byte order; 4 bytes used for AF_INET */
	unsigned bits;           /* prefix length; 32 or 128 for a single address */
} gd_cidr;
/* Parse an address ("10.1.2.3", "fd00::1") or, with prefix, a CIDR ("10.1.0.0/16",
 * "fd00::/64"), strictly: dotted-quad IPv4 without leading zeros, IPv6 in hex groups only (an
 * embedded IPv4 part such as ::ffff:10.0.0.1 is refused: Go, the daemon's language, may take it
 * for IPv4), no zone, a prefix length in decimal without leading zeros. Returns 0 or -1. */
int gd_cidr_parse(const char *s, bool prefix, gd_cidr *out);
/* Is every address of inner inside outer (same family, prefix at least as long, same leading
 * bits)? Host bits past a prefix do not matter. */
bool gd_cidr_contains(const gd_cidr *outer, const gd_cidr *inner);

/* ---- the running guard ---- */
typedef struct gd_config {
	const char *upstream; /* socket path */
	const char *listen;
	const char *tenant;
	const char *session;
	const char *policy_file;
	const char *state_dir;
	char **allow_bind;
	const char *pod_dir;        /* the runner pod's folder as the guard sees it, or NULL */
	const char *daemon_pod_dir; /* ... as the daemon sees it */
	char **pod_maps;            /* "RUNNER_PATH=FOLDER" (NULL: the runner's defaults) */
	bool cleanup_on_exit;
	bool unrestricted;
	bool keep_volumes;
	bool log_json;
	int socket_mode;
	long socket_gid;   /* -1: unchanged */
	int busy_poll_us;  /* longest poll for the next event before sleeping; 0: never poll */
} gd_config;

/* Validate a tenant or session ID (lowercase DNS label, <= 63). */
bool gd_valid_id(const char *s);

int dr_guard_run(const gd_config *cfg, dr_err **err);

#endif
