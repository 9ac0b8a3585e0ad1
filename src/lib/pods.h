/* pods.h: standalone Pods out of rendered objects, for debugging and for running what deskrun
 * renders on a real engine (`podman kube play`): a scale set's runner pod, the job pod ARC's
 * container hooks would create with the hook extension merged in, and the node daemon's pod of
 * the dind DaemonSet. Each comes with the ConfigMaps and Secrets it mounts. Pure. */
#ifndef DESKRUN_PODS_H
#define DESKRUN_PODS_H

#include "lib/common.h"

typedef struct dr_pod_opts {
	/* Move native sidecars (init containers with restartPolicy: Always) to the containers,
	 * as ARC does for Kubernetes < 1.29 and as engines without sidecar support need. */
	bool legacy_sidecars;
	const char *job_image; /* job pods: the job container's image (NULL: the runner image) */
} dr_pod_opts;

/* [objects the pod mounts..., Pod] for scale set `ss` of the rendered `objects`, or NULL with
 * a usage error when there is no such scale set (or, for the job pod, the mode has no hook
 * extension; for the daemon pod, nothing runs dind-daemonset). New reference. */
json_t *dr_runner_pod(json_t *objects, const char *ss, const dr_pod_opts *o, dr_err **err);
json_t *dr_job_pod(json_t *objects, const char *ss, const dr_pod_opts *o, dr_err **err);
json_t *dr_daemon_pod(json_t *objects, dr_err **err);

#endif
