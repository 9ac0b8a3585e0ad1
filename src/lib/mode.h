/* mode.h: a mode is one way of giving jobs a Docker. Each is one table entry (modes.c) and one
 * file (mode_<name>.c) that contributes the pod template, extra objects and validation rules,
 * like tmux's command table: no `if (mode == ...)` outside those files. */
#ifndef DESKRUN_MODE_H
#define DESKRUN_MODE_H

#include "lib/common.h"
#include "lib/runner.h"

struct dr_scale_set;

typedef struct dr_mode {
	const char *name;
	const char *summary;
	/* ARC's kubernetes container modes run jobs as pods: kube-mode ServiceAccount and Role
	 * instead of the no-permission ServiceAccount. */
	bool kube_mode;
	/* The kube-mode Role grants batch/jobs (ARC's `kubernetes`, not `kubernetes-novolume`). */
	bool kube_role_jobs;
	/* The mode uses the node's Docker daemon: kind clusters mount the host socket. */
	bool needs_node_docker;
	/* deskrun runs a dockerd for it: the daemon tuning flags apply (--mtu, mirrors, ...). */
	bool daemon_tuning;
	/* Jobs reach a shared daemon through deskrun's guard sidecar (--guard-image). */
	bool guard;
	/* Jobs run the docker CLI against a daemon (--buildkit applies). */
	bool docker_client;
	/* --cluster-builds applies (RBAC for in-cluster build Jobs). */
	bool cluster_builds;
	/* Where --cache and --mount land, for `deskrun help add` and the README. */
	const char *cache_placement;
	/* Mode-specific rules on top of the common ones; NULL if none. */
	int (*validate)(const dr_runner *r, dr_err **err);
	/* Fill template.spec: initContainers, containers, volumes. Called after restartPolicy and
	 * serviceAccountName are set. Never fails: the definition is validated. */
	void (*pod_spec)(const struct dr_scale_set *ss, json_t *spec);
	/* Append extra objects (ConfigMaps, ...) of this scale set to `objects`; NULL if none. */
	void (*extra_objects)(const struct dr_scale_set *ss, json_t *objects);
} dr_mode;

extern const dr_mode dr_mode_kubernetes;
extern const dr_mode dr_mode_dind;
extern const dr_mode dr_mode_privileged;
extern const dr_mode dr_mode_docker_socket;
extern const dr_mode dr_mode_dind_daemonset;
extern const dr_mode dr_mode_containerd;

/* The table, in the order help and README show them; NULL-terminated. */
extern const dr_mode *const dr_modes[];

const dr_mode *dr_mode_find(const char *name);
/* "kubernetes|dind|..." for messages; static storage. */
const char *dr_mode_names(void);

#endif
