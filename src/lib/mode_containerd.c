/* mode_containerd.c: `containerd-socket`: the node's containerd socket
 * (/run/containerd/containerd.sock, hostPath type Socket) for jobs that use nerdctl, ctr or a
 * BuildKit client against the node's containerd. CONTAINERD_NAMESPACE is per scale set, so
 * images of one set do not overwrite another's. The docker CLI does not speak this socket.
 * The socket is root:root 0660, so the pod gets supplemental group 0. --cache and --mount go
 * to the runner container. */
#include "lib/common.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"

#define CONTAINERD_SOCKET "/run/containerd/containerd.sock"

static const char *const runner_reserved[] = { CONTAINERD_SOCKET, "/home/runner/_work", NULL };

static int
validate(const dr_runner *r, dr_err **err)
{
	return dr_check_reserved_targets(r, true, true, runner_reserved, "runner container", err);
}

static void
pod_spec(const dr_scale_set *ss, json_t *spec)
{
	json_t *volumes = json_array();
	dr_k8s_volume_host(volumes, "containerd-sock", CONTAINERD_SOCKET, "Socket");
	json_t *runner = dr_runner_container(ss);
	json_t *env = json_object_get(runner, "env");
	dr_k8s_env(env, "CONTAINERD_ADDRESS", CONTAINERD_SOCKET);
	_cleanup_free_ char *ns = dr_xasprintf("deskrun-%s", ss->name);
	dr_k8s_env(env, "CONTAINERD_NAMESPACE", ns);
	json_t *mounts = json_object_get(runner, "volumeMounts");
	dr_k8s_mount(mounts, "containerd-sock", CONTAINERD_SOCKET, false, NULL);
	json_object_set_new(spec, "securityContext",
	                    json_pack("{s:[i]}", "supplementalGroups", 0));
	dr_runner_only_pod(ss, spec, runner, volumes);
}

const dr_mode dr_mode_containerd = {
	.name = "containerd-socket",
	.summary = "the node's containerd socket, for nerdctl/BuildKit clients",
	.kube_mode = false,
	.kube_role_jobs = false,
	.cache_placement = "the runner container",
	.validate = validate,
	.pod_spec = pod_spec,
	.extra_objects = NULL,
};
