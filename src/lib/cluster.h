/* cluster.h: the cluster deskrun deploys to (recorded in the config file by `cluster create`)
 * and the kind cluster configuration deskrun writes. Pure. */
#ifndef DESKRUN_CLUSTER_H
#define DESKRUN_CLUSTER_H

#include "lib/common.h"
#include "lib/runner.h"

#define DR_KIND_DEFAULT_NAME "deskrun"
#define DR_K3S_KUBECONFIG "/etc/rancher/k3s/k3s.yaml"
#define DR_NODE_DOCKER_SOCKET "/var/run/docker.sock"

typedef enum dr_provider {
	DR_PROVIDER_KIND = 0,
	DR_PROVIDER_K3S,
	DR_PROVIDER_EXISTING,
	DR_PROVIDER_LOCAL, /* no Kubernetes: `deskrun agent` on this host's engine */
} dr_provider;

#define DR_LOCAL_STATE_DIR "/var/lib/deskrun/agent"

typedef struct dr_cluster {
	dr_provider provider;
	char *name;           /* owned: kind cluster name, or a label for the others */
	char *context;        /* owned: kubeconfig context */
	char *kubeconfig;     /* owned or NULL: the default kubeconfig */
	char *host_cache_dir; /* owned or NULL (kind): host directory behind the cache root */
	bool docker_socket;   /* kind: the host's Docker socket is mounted into the node */
	bool registry_mirror; /* kind: the node's containerd pulls docker.io through the mirror */
	char *engine;         /* owned or NULL (local): the engine's URL, unix:///PATH */
	char *state_dir;      /* owned or NULL (local): the agent's folder (DR_LOCAL_STATE_DIR) */
	char *network;        /* owned or NULL (local): the runner containers' network */
	char *metrics_addr;   /* owned or NULL (local): the agent's metrics, 127.0.0.1:PORT */
} dr_cluster;

const char *dr_provider_name(dr_provider p);
int dr_provider_parse(const char *s, dr_provider *out);

dr_cluster *dr_cluster_new(dr_provider p, const char *name, const char *context);
void dr_cluster_free(dr_cluster *c);
static inline void dr_cluster_freep(dr_cluster **c) { dr_cluster_free(*c); }
#define _cleanup_cluster_ __attribute__((cleanup(dr_cluster_freep)))
dr_cluster *dr_cluster_copy(const dr_cluster *c);

json_t *dr_cluster_to_json(const dr_cluster *c);
dr_cluster *dr_cluster_from_json(json_t *j, dr_err **err); /* DR_EXIT_CONFIG on errors */

/* The kind Cluster (kind.x-k8s.io/v1alpha4): one control-plane node whose extraMounts put
 * host_cache_dir at the cache root (caches live on the host disk and survive re-creation) and,
 * when docker_socket, the host's Docker socket at /var/run/docker.sock; with registry_mirror
 * the node's containerd pulls docker.io through deskrun's mirror on localhost:30500. */
json_t *dr_kind_config(const dr_cluster *c, const dr_settings *s);

#endif
