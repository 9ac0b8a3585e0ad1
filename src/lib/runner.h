/* runner.h: the runner definition (what `deskrun add` stores) and the global settings, with
 * their JSON codec. Pure: no I/O. */
#ifndef DESKRUN_RUNNER_H
#define DESKRUN_RUNNER_H

#include "lib/common.h"

struct dr_mode;

#define DR_DEFAULT_RUNNER_IMAGE "ghcr.io/actions/actions-runner:latest"
#define DR_DEFAULT_NAMESPACE "arc-runners"
#define DR_DEFAULT_CACHE_ROOT "/var/lib/deskrun/cache"
#define DR_DEFAULT_CONTROLLER_NAMESPACE "arc-systems"
#define DR_DEFAULT_CONTROLLER_SA "arc-gha-rs-controller"
#define DR_DEFAULT_WORK_VOLUME_SIZE "1Gi"
#define DR_DEFAULT_DIND_IMAGE "docker:dind"
#define DR_DEFAULT_HELPER_IMAGE_REPO "deskrun-helper"
#define DR_DEFAULT_DOCKER_STORAGE_SIZE "20Gi"
#define DR_DEFAULT_MIN_RUNNERS 1
#define DR_DEFAULT_MAX_RUNNERS 5

typedef enum dr_mount_type {
	DR_MOUNT_DIRECTORY_OR_CREATE = 0,
	DR_MOUNT_DIRECTORY,
	DR_MOUNT_SOCKET,
} dr_mount_type;

/* --mount SRC:TARGET[:TYPE]: a node path in the job's container. */
typedef struct dr_mount {
	char *source; /* owned, absolute node path */
	char *target; /* owned, absolute container path */
	dr_mount_type type;
} dr_mount;

/* --cache [SRC:]TARGET: a directory that outlives the pod. Without SRC it lives at
 * <cache-root>/<scale-set>/cache-<index> on the node, so every instance has its own. */
typedef struct dr_cache {
	char *source; /* owned; NULL = under the cache root */
	char *target; /* owned */
} dr_cache;

typedef enum dr_auth_type {
	DR_AUTH_PAT = 0,
	DR_AUTH_APP,
} dr_auth_type;

/* Where a mode's Docker daemon keeps /var/lib/docker. */
typedef enum dr_docker_storage {
	DR_STORAGE_DEFAULT = 0, /* the mode's default (see dr_runner_docker_storage) */
	DR_STORAGE_EPHEMERAL,   /* an emptyDir: gone with the pod */
	DR_STORAGE_HOSTPATH,    /* <cache-root>/<scale-set>/docker on the node */
	DR_STORAGE_PVC,         /* a PersistentVolumeClaim per scale set */
} dr_docker_storage;

typedef struct dr_auth {
	dr_auth_type type;
	char *token;           /* owned; PAT */
	char *app_id;          /* owned; GitHub App ID or client ID */
	char *installation_id; /* owned */
	char *private_key;     /* owned; PEM */
} dr_auth;

typedef struct dr_runner {
	char *name;       /* owned; the definition name (scale sets are NAME or NAME-i) */
	char *repository; /* owned; normalised https URL */
	const struct dr_mode *mode;
	int min_runners;
	int max_runners;
	int instances;
	char **labels; /* owned strv, may be NULL */
	dr_cache *caches;
	size_t n_caches;
	dr_mount *mounts;
	size_t n_mounts;
	dr_auth auth;
	char *runner_image;     /* owned or NULL = default */
	char *namespace;        /* owned or NULL = default */
	char *cpu;              /* owned or NULL */
	char *memory;           /* owned or NULL */
	char *storage_class;    /* owned or NULL = the cluster's default class */
	char *work_volume_size; /* owned or NULL = default */

	/* Docker daemon tuning (dind, dind-daemonset). */
	char **registry_mirrors;    /* owned strv; "auto" = deskrun's pull-through cache */
	char **insecure_registries; /* owned strv */
	int mtu;                    /* 0 = the daemon's default */
	char *dockerd_cpu;          /* owned or NULL */
	char *dockerd_memory;       /* owned or NULL */
	bool buildkit;              /* DOCKER_BUILDKIT=1, BUILDKIT_PROGRESS=plain for jobs */
	dr_docker_storage docker_storage;
	char *docker_storage_size; /* owned or NULL = default (pvc) */

	/* Images (defaults: upstream ones; deskrun's helper image for the guard). */
	char *dind_image;   /* owned or NULL */
	char *helper_image; /* owned or NULL */
	char *guard_image;  /* owned or NULL = the helper image */
	bool no_guard;      /* docker-socket: mount the raw node socket (root on the node) */

	/* Network proxy for GitHub and the daemons: URL may carry user:password (a secret). */
	char *proxy;     /* owned or NULL */
	char **no_proxy; /* owned strv */

	bool cluster_builds; /* kubernetes: RBAC for in-cluster build Jobs */

	/* A per-node pool of N leased /var/lib/docker slots (deskrun dind-entrypoint). */
	int cache_pool;       /* 0 = no pool */
	char *cache_max_size; /* owned or NULL: each slot's quota */
	/* The pool's daemon runs deskrun from the dind image (DR_DIND_IMAGE_BINARY, `deskrun image
	 * build --dind`) instead of a copy an init container makes from the helper image. */
	bool dind_image_has_deskrun;
} dr_runner;

/* Cluster-wide settings kept in the config file. */
typedef struct dr_settings {
	char *cache_root;           /* owned */
	char *controller_namespace; /* owned */
	char *controller_sa;        /* owned */
	char *daemon_cache_root;    /* owned: "" = cache_root (see dr_settings_daemon_cache_root) */
	char *controller_chart;     /* owned: "" = ghcr.io's chart (see dr_controller_chart) */
} dr_settings;

/* The cache root as the node's Docker daemon of docker-socket mode sees it: the setting
 * daemon-cache-root, else cache-root (kind with the host's socket: the host directory). */
const char *dr_settings_daemon_cache_root(const dr_settings *s);

dr_runner *dr_runner_new(const char *name);
void dr_runner_free(dr_runner *r);
static inline void dr_runner_freep(dr_runner **r) { dr_runner_free(*r); }
#define _cleanup_runner_ __attribute__((cleanup(dr_runner_freep)))

void dr_runner_add_cache(dr_runner *r, const char *source, const char *target);
void dr_runner_add_mount(dr_runner *r, const char *source, const char *target, dr_mount_type t);

/* Effective values (defaults applied). */
const char *dr_runner_image(const dr_runner *r);
const char *dr_runner_namespace(const dr_runner *r);
const char *dr_runner_dind_image(const dr_runner *r);
/* The helper image (FROM scratch + the static deskrun): the flag, else deskrun-helper:VERSION. */
const char *dr_runner_helper_image(const dr_runner *r);
const char *dr_runner_guard_image(const dr_runner *r);
/* The effective storage of /var/lib/docker: hostpath when a --cache targets it, else the
 * flag, else ephemeral (dind) / hostpath (dind-daemonset). */
dr_docker_storage dr_runner_docker_storage(const dr_runner *r);
const char *dr_docker_storage_name(dr_docker_storage s);
int dr_docker_storage_parse(const char *s, dr_docker_storage *out);
/* The images of deskrun's own that the runner's pods run (the guard sidecar's, the helper
 * that brings the dind entrypoint), appended to
 * *images (owned strv), without repeats. */
void dr_runner_helper_images(const dr_runner *r, char ***images);

/* The index of a --cache whose target is /var/lib/docker, or -1. */
int dr_runner_docker_cache(const dr_runner *r);

const char *dr_mount_type_name(dr_mount_type t);
int dr_mount_type_parse(const char *s, dr_mount_type *out);
const char *dr_auth_type_name(dr_auth_type t);

/* JSON codec of the config file. to_json with include_secrets=false leaves the secret values
 * out (for `list --output json`). from_json rejects unknown keys (a newer deskrun wrote them),
 * with code DR_EXIT_CONFIG; it does not validate values: call dr_runner_validate. */
json_t *dr_runner_to_json(const dr_runner *r, bool include_secrets);
dr_runner *dr_runner_from_json(const char *name, json_t *j, dr_err **err);

/* The settings by index, for `deskrun config`: name ("cache-root"), help and value. */
size_t dr_settings_count(void);
const char *dr_settings_name(size_t i);
const char *dr_settings_help(size_t i);
const char *dr_settings_value(const dr_settings *s, size_t i);
int dr_settings_lookup(const char *name, size_t *index); /* -1 if unknown */
void dr_settings_set(dr_settings *s, size_t i, const char *value); /* validate afterwards */

void dr_settings_init(dr_settings *s);
void dr_settings_clear(dr_settings *s);
json_t *dr_settings_to_json(const dr_settings *s);
int dr_settings_from_json(dr_settings *s, json_t *j, dr_err **err);

#endif
