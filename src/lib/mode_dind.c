/* mode_dind.c: ARC's `dind` container mode (arc-spec §2.4): a privileged docker:dind native
 * sidecar serving /var/run/docker.sock on an emptyDir. Each --cache is a hostPath mounted
 * into the dind container, so `--cache /var/lib/docker` keeps the daemon's layers per
 * instance; each --mount goes to the runner container. */
#include "lib/common.h"
#include "lib/docker.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"

static const char *const dind_reserved[] = { "/var/run", "/home/runner/_work",
	                                     "/home/runner/externals", DR_DOCKERD_CONFIG_DIR, NULL };
static const char *const runner_reserved[] = { "/var/run", "/home/runner/_work", NULL };

static int
validate(const dr_runner *r, dr_err **err)
{
	if (dr_check_reserved_targets(r, true, false, dind_reserved, "dind container", err) < 0)
		return -1;
	return dr_check_reserved_targets(r, false, true, runner_reserved, "runner container", err);
}

static void
pod_spec(const dr_scale_set *ss, json_t *spec)
{
	const char *image = dr_runner_image(ss->runner);
	json_t *volumes = json_array();
	dr_k8s_volume_empty(volumes, "dind-sock");
	dr_k8s_volume_empty(volumes, "dind-externals");
	dr_k8s_volume_empty(volumes, "work");

	json_t *init = json_array();
	if (ss->runner->cache_pool)
		dr_helper_binary_init(ss->runner, init, volumes);
	json_t *ext = dr_k8s_container("init-dind-externals", image);
	json_object_set_new(ext, "command", dr_json_strs("cp", NULL));
	json_object_set_new(ext, "args",
	                    dr_json_strs("-r", "/home/runner/externals/.", "/home/runner/tmpDir/",
	                                 NULL));
	json_t *ext_mounts = json_array();
	dr_k8s_mount(ext_mounts, "dind-externals", "/home/runner/tmpDir", false, NULL);
	json_object_set_new(ext, "volumeMounts", ext_mounts);
	json_array_append_new(init, ext);

	json_t *dind = dr_k8s_container("dind", dr_runner_dind_image(ss->runner));
	json_object_set_new(dind, "args",
	                    dr_json_strs("dockerd", "--host=unix:///var/run/docker.sock",
	                                 "--group=$(DOCKER_GROUP_GID)", DR_DOCKERD_CONFIG_FLAG,
	                                 NULL));
	json_t *denv = json_array();
	dr_k8s_env(denv, "DOCKER_GROUP_GID", "123");
	json_object_set_new(dind, "env", denv);
	json_t *sc = json_object();
	json_object_set_new(sc, "privileged", json_true());
	json_object_set_new(dind, "securityContext", sc);
	json_t *res = dr_resources(ss->runner->dockerd_cpu, ss->runner->dockerd_memory);
	if (res)
		json_object_set_new(dind, "resources", res);
	json_object_set_new(dind, "restartPolicy", json_string("Always"));
	json_t *probe = json_object();
	json_t *exec = json_object();
	json_object_set_new(exec, "command", dr_json_strs("docker", "info", NULL));
	json_object_set_new(probe, "exec", exec);
	json_object_set_new(probe, "initialDelaySeconds", json_integer(0));
	json_object_set_new(probe, "failureThreshold", json_integer(24));
	json_object_set_new(probe, "periodSeconds", json_integer(5));
	json_object_set_new(dind, "startupProbe", probe);
	json_t *dmounts = json_array();
	dr_k8s_mount(dmounts, "work", "/home/runner/_work", false, NULL);
	dr_k8s_mount(dmounts, "dind-sock", "/var/run", false, NULL);
	dr_k8s_mount(dmounts, "dind-externals", "/home/runner/externals", false, NULL);
	/* daemon.json instead of long argument lists; /var/lib/docker on the node's disk. */
	dr_k8s_mount(dmounts, "dockerd-config", DR_DOCKERD_CONFIG_DIR, true, NULL);
	if (ss->runner->cache_pool) {
		/* One scale set, any number of runners: each daemon leases a slot of the node's
		 * pool for its pod's life (deskrun dind-entrypoint). */
		_cleanup_free_ char *pool =
			dr_xasprintf("%s/pool/%s", ss->settings->cache_root, ss->runner->name);
		dr_pool_daemon(ss->runner, dind, pool, ss->name, "unix:///var/run/docker.sock",
		               "--group=$(DOCKER_GROUP_GID)", volumes, dmounts);
	} else {
		dr_docker_storage_volume(ss, volumes, dmounts);
	}
	dr_cache_volumes(ss, volumes, dmounts);
	json_object_set_new(dind, "volumeMounts", dmounts);
	json_array_append_new(init, dind);

	json_t *runner = dr_runner_container(ss);
	json_t *env = json_object_get(runner, "env");
	dr_docker_client_env(ss, env, "unix:///var/run/docker.sock");
	json_t *rmounts = json_object_get(runner, "volumeMounts");
	dr_k8s_mount(rmounts, "work", "/home/runner/_work", false, NULL);
	dr_k8s_mount(rmounts, "dind-sock", "/var/run", false, NULL);
	dr_mount_volumes(ss, volumes, rmounts);

	_cleanup_free_ char *cm = dr_xasprintf("%s-dockerd", ss->name);
	dr_k8s_volume_configmap(volumes, "dockerd-config", cm);
	json_t *containers = json_array();
	json_array_append_new(containers, runner);
	json_object_set_new(spec, "initContainers", init);
	json_object_set_new(spec, "containers", containers);
	json_object_set_new(spec, "volumes", volumes);
}

static void
extra_objects(const dr_scale_set *ss, json_t *objects)
{
	_cleanup_free_ char *cm = dr_xasprintf("%s-dockerd", ss->name);
	json_array_append_new(objects, dr_daemon_json_configmap(ss->runner, cm, ss->namespace,
	                                                        dr_scale_set_labels(ss)));
}

const dr_mode dr_mode_dind = {
	.name = "dind",
	.summary = "a privileged docker:dind sidecar per runner pod",
	.kube_mode = false,
	.kube_role_jobs = false,
	.cache_placement = "--cache: the dind container; --mount: the runner container",
	.daemon_tuning = true,
	.docker_client = true,
	.validate = validate,
	.pod_spec = pod_spec,
	.extra_objects = extra_objects,
};
