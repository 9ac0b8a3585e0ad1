/* mode_dind_daemonset.c: `dind-daemonset`: one privileged dockerd per node (a DaemonSet in
 * deskrun-system, its data root on a node hostPath under the cache root, its socket in
 * <cache-root>/daemonset/sock, not /var/run) shared by every runner set on the node for its
 * layer cache; runner pods reach it only through the guard sidecar, so sets cannot touch each
 * other's containers. --cache and --mount go to the runner container. */
#include "lib/common.h"
#include "lib/docker.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"

static const char *const runner_reserved[] = { DR_GUARD_SOCKET_DIR, "/home/runner/_work", NULL };

static int
validate(const dr_runner *r, dr_err **err)
{
	if (r->docker_storage == DR_STORAGE_PVC)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--docker-storage pvc: the dind-daemonset daemon keeps one data root "
		               "per node; use hostpath (default) or ephemeral");
	if (dr_runner_docker_cache(r) >= 0)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--cache /var/lib/docker: in dind-daemonset the node's shared daemon "
		               "keeps its layers under the cache root already; drop it");
	return dr_check_reserved_targets(r, true, true, runner_reserved, "runner container", err);
}

static void
pod_spec(const dr_scale_set *ss, json_t *spec)
{
	json_t *volumes = json_array();
	_cleanup_free_ char *sock = dr_xasprintf("%s/daemonset/sock", ss->settings->cache_root);
	dr_k8s_volume_host(volumes, "dind-socket", sock, "DirectoryOrCreate");
	json_t *init = json_array();
	/* The DaemonSet's dockerd mounts <cache-root>/pods at the node's own path. */
	dr_guard_sidecar(ss, init, volumes, "unix://" DR_DAEMONSET_SOCKET_DIR "/docker.sock",
	                 "dind-socket", DR_DAEMONSET_SOCKET_DIR, ss->settings->cache_root, false);
	json_object_set_new(spec, "initContainers", init);
	json_t *runner = dr_runner_container(ss);
	dr_docker_client_env(ss, json_object_get(runner, "env"), DR_GUARD_SOCKET);
	dr_guarded_runner(runner);
	dr_runner_only_pod(ss, spec, runner, volumes);
}

const dr_mode dr_mode_dind_daemonset = {
	.name = "dind-daemonset",
	.summary = "one shared dockerd per node (DaemonSet), reached only through the guard",
	.kube_mode = false,
	.kube_role_jobs = false,
	.daemon_tuning = true,
	.guard = true,
	.docker_client = true,
	.cache_placement = "the runner container",
	.validate = validate,
	.pod_spec = pod_spec,
	.extra_objects = NULL,
};
