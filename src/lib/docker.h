/* docker.h: pieces the Docker modes share: the daemon.json ConfigMap, the daemon's storage,
 * the guard sidecar, proxy and BuildKit environment, and the cluster-wide objects (the
 * dind DaemonSet, the pull-through registry mirror) in the deskrun-system namespace. Pure. */
#ifndef DESKRUN_DOCKER_H
#define DESKRUN_DOCKER_H

#include "lib/common.h"
#include "lib/render.h"

#define DR_SYSTEM_NAMESPACE "deskrun-system"
#define DR_GUARD_SOCKET_DIR "/run/deskrun"
#define DR_GUARD_SOCKET "unix:///run/deskrun/docker.sock"
#define DR_HELPER_BINARY "/deskrun"
#define DR_DAEMONSET_NAME "deskrun-dind"
#define DR_DAEMONSET_SOCKET_DIR "/var/run/dind"
#define DR_MIRROR_NAME "deskrun-registry-mirror"
#define DR_MIRROR_URL "http://deskrun-registry-mirror.deskrun-system.svc.cluster.local:5000"
#define DR_MIRROR_NODE_PORT 30500
#define DR_MIRROR_IMAGE "registry:2"
#define DR_MIRROR_UPSTREAM "https://registry-1.docker.io"

/* The daemon.json of a runner's daemon (mirrors, insecure registries, overlay2, json-file
 * logs capped at 10m x 3, MTU), as pretty JSON text with sorted keys. Owned. */
char *dr_daemon_json(const dr_runner *r);
/* ConfigMap `name` in `ns` with key daemon.json, labelled with `labels` (taken). */
json_t *dr_daemon_json_configmap(const dr_runner *r, const char *name, const char *ns,
                                 json_t *labels);

/* Add the daemon's /var/lib/docker volume of a scale set (emptyDir, hostPath or PVC) and its
 * mount to `mounts` (unless a --cache already mounts /var/lib/docker). */
void dr_docker_storage_volume(const dr_scale_set *ss, json_t *volumes, json_t *mounts);
/* The PersistentVolumeClaim <ss>-docker when the storage is pvc, else NULL. */
json_t *dr_docker_storage_claim(const dr_scale_set *ss);

/* HTTP(S)_PROXY / NO_PROXY (both cases) into env; with credentials in the URL, from the
 * proxy Secret instead of a literal value. */
void dr_proxy_env(const dr_scale_set *ss, json_t *env);
/* <fullname>-proxy: the Secret holding the proxy credentials (username, password, url), or
 * NULL when the proxy URL has none. Its name is returned in *name (owned) either way. */
json_t *dr_proxy_secret(const dr_scale_set *ss, bool with_data, char **name);
/* spec.proxy of the AutoscalingRunnerSet, or NULL. */
json_t *dr_ars_proxy(const dr_scale_set *ss);

/* DOCKER_HOST etc. for the runner container of a Docker mode. */
void dr_docker_client_env(const dr_scale_set *ss, json_t *env, const char *docker_host);

/* The runner pods' folders on the node (<cache-root>/pods/<pod>/{work,externals,run,pins}),
 * as the guard sees them; see src/guard/podfs.h. */
#define DR_PODS_DIR "/var/lib/deskrun/pods"

/* The guard as a native sidecar: serves DR_GUARD_SOCKET in the pod's folder run/ and forwards
 * to `upstream` (unix:///...), whose directory `upstream_volume` is mounted at
 * `upstream_dir`; binds of the runner's folders become the pod's folder under daemon_root
 * (the cache root as the daemon sees it); unrestricted (--no-guard) checks nothing else.
 * Appends the guard and the externals copy to init,
 * and their volumes. */
void dr_guard_sidecar(const dr_scale_set *ss, json_t *init, json_t *volumes, const char *upstream,
                      const char *upstream_volume, const char *upstream_dir,
                      const char *daemon_root, bool unrestricted);
/* The runner container of a guarded pod: its work folder and the guard's socket from the
 * pod's folder on the node. */
void dr_guarded_runner(json_t *runner);

/* --cache-pool: an init container that copies deskrun out of the helper image into the
 * emptyDir deskrun-bin (mounted at DR_BIN_DIR), so upstream images stay unchanged; with
 * --dind-image-has-deskrun the dind image holds it at DR_DIND_IMAGE_BINARY instead (`deskrun
 * image build --dind`) and the pod has neither. */
#define DR_BIN_DIR "/opt/deskrun"
#define DR_DIND_IMAGE_BINARY "/usr/local/bin/deskrun"
/* The daemon.json ConfigMap's mount point in a dind container, and the flag that points
 * dockerd at it. Not /etc/docker: dockerd writes there (key.json on older daemons). */
#define DR_DOCKERD_CONFIG_DIR "/etc/deskrun-dockerd"
#define DR_DOCKERD_CONFIG_FLAG "--config-file=" DR_DOCKERD_CONFIG_DIR "/daemon.json"
#define DR_POOL_READY "/var/run/deskrun-dind-ready"
/* The init container and its volume; nothing with --dind-image-has-deskrun. */
void dr_helper_binary_init(const dr_runner *r, json_t *init, json_t *volumes);
/* `BIN dind-entrypoint` leasing a slot of the pool at pool_dir for owner (the pool's flags of
 * r), up to `... --ready-file DR_POOL_READY -- dind`: the daemon's command goes after it. */
json_t *dr_pool_entrypoint(const dr_runner *r, const char *bin, const char *pool_dir,
                           const char *owner);
/* The dind container's command under the pool's entrypoint: lease a slot of the pool at
 * pool_dir (a hostPath mounted at the same path, added to volumes/mounts), then run
 * `dind dockerd --host=<host> EXTRA...` on it; plus the startup probe on its ready file. */
void dr_pool_daemon(const dr_runner *r, json_t *container, const char *pool_dir,
                    const char *owner, const char *host, const char *extra, json_t *volumes,
                    json_t *mounts);

/* Cluster-wide objects the given runners need (deskrun-system namespace included when any),
 * appended to out. */
void dr_shared_objects(const dr_runner *const *runners, size_t n, const dr_settings *s,
                       json_t *out);
/* True when any of the runners needs the deskrun-system namespace. */
bool dr_needs_system_namespace(const dr_runner *const *runners, size_t n);
bool dr_runner_uses_mirror(const dr_runner *r);

#endif
