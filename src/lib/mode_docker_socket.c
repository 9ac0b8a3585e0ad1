/* mode_docker_socket.c: `docker-socket`: jobs use the node's Docker daemon (k3s --docker, or
 * kind with the host socket mounted) for its speed and shared layer cache, but never its raw
 * socket: deskrun's guard runs as a native sidecar, mounts /var/run/docker.sock (hostPath type
 * Socket) and serves the runner a per-pod socket on an emptyDir, enforcing per-tenant
 * ownership. --no-guard runs it --unrestricted (it only maps the runner's folders; every
 * job then has root on the node).
 * --cache and --mount go to the runner container. */
#include "lib/common.h"
#include "lib/docker.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"

static const char *const runner_reserved[] = { DR_GUARD_SOCKET_DIR, "/var/run/docker.sock",
	                                       "/home/runner/_work", NULL };

static int
validate(const dr_runner *r, dr_err **err)
{
	return dr_check_reserved_targets(r, true, true, runner_reserved, "runner container", err);
}

static void
pod_spec(const dr_scale_set *ss, json_t *spec)
{
	json_t *volumes = json_array();
	dr_k8s_volume_host(volumes, "docker-sock", "/var/run/docker.sock", "Socket");
	json_t *runner = dr_runner_container(ss);
	json_t *env = json_object_get(runner, "env");
	/* The node's daemon resolves the runner's folders on the node, or (kind with the host's
	 * socket) on the host: daemon-cache-root says where. --no-guard runs the guard too, only
	 * to map those folders (--unrestricted): without it container jobs would see empty
	 * folders, and the job container would get the node's raw socket by its own path. */
	json_t *init = json_array();
	dr_guard_sidecar(ss, init, volumes, "unix:///var/run/docker.sock", "docker-sock",
	                 "/var/run/docker.sock", dr_settings_daemon_cache_root(ss->settings),
	                 ss->runner->no_guard);
	json_object_set_new(spec, "initContainers", init);
	dr_docker_client_env(ss, env, DR_GUARD_SOCKET);
	dr_guarded_runner(runner);
	dr_runner_only_pod(ss, spec, runner, volumes);
}

const dr_mode dr_mode_docker_socket = {
	.name = "docker-socket",
	.summary = "the node's Docker daemon, reached only through deskrun's guard",
	.kube_mode = false,
	.kube_role_jobs = false,
	.needs_node_docker = true,
	.guard = true,
	.docker_client = true,
	.cache_placement = "the runner container",
	.validate = validate,
	.pod_spec = pod_spec,
	.extra_objects = NULL,
};
