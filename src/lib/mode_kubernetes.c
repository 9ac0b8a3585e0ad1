/* mode_kubernetes.c: ARC's `kubernetes` container mode (arc-spec §2.5). No Docker daemon: the
 * runner starts each job as a pod through the container hooks (v0.7.0 at /home/runner/k8s) and
 * shares an ephemeral work volume claim with it. --cache and --mount reach the job pods
 * through a hook extension. */
#include "lib/common.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"

/* Paths the hooks mount in the job container. */
static const char *const job_reserved[] = { "/__w", "/__e", "/github", NULL };

static int
validate(const dr_runner *r, dr_err **err)
{
	return dr_check_reserved_targets(r, true, true, job_reserved, "job container", err);
}

static bool
needs_extension(const dr_runner *r)
{
	return r->n_caches > 0 || r->n_mounts > 0;
}

static void
pod_spec(const dr_scale_set *ss, json_t *spec)
{
	const dr_runner *r = ss->runner;
	json_t *runner = dr_runner_container(ss);
	json_t *env = json_object_get(runner, "env");
	dr_k8s_env(env, "ACTIONS_RUNNER_CONTAINER_HOOKS", "/home/runner/k8s/index.js");
	dr_k8s_env_field(env, "ACTIONS_RUNNER_POD_NAME", "metadata.name");
	dr_k8s_env(env, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "true");
	dr_k8s_mount(json_object_get(runner, "volumeMounts"), "work", "/home/runner/_work", false,
	             NULL);

	json_t *volumes = json_array();
	json_t *claim = json_object();
	json_object_set_new(claim, "accessModes", dr_json_strs("ReadWriteOnce", NULL));
	if (r->storage_class)
		json_object_set_new(claim, "storageClassName", json_string(r->storage_class));
	json_t *req = json_object();
	json_object_set_new(req, "storage", json_string(r->work_volume_size
	                                                        ? r->work_volume_size
	                                                        : DR_DEFAULT_WORK_VOLUME_SIZE));
	json_t *res = json_object();
	json_object_set_new(res, "requests", req);
	json_object_set_new(claim, "resources", res);
	json_t *vct = json_object();
	json_object_set_new(vct, "spec", claim);
	json_t *eph = json_object();
	json_object_set_new(eph, "volumeClaimTemplate", vct);
	json_t *work = json_object();
	json_object_set_new(work, "name", json_string("work"));
	json_object_set_new(work, "ephemeral", eph);
	json_array_append_new(volumes, work);

	if (needs_extension(r))
		dr_hook_extension_attach(ss, volumes, runner);

	json_t *containers = json_array();
	json_array_append_new(containers, runner);
	json_object_set_new(spec, "containers", containers);
	json_object_set_new(spec, "volumes", volumes);
}

static void
extra_objects(const dr_scale_set *ss, json_t *objects)
{
	if (!needs_extension(ss->runner))
		return;
	json_t *job = json_object();
	json_t *mounts = json_array();
	json_t *volumes = json_array();
	dr_cache_volumes(ss, volumes, mounts);
	dr_mount_volumes(ss, volumes, mounts);
	json_object_set_new(job, "volumeMounts", mounts);
	json_array_append_new(objects,
	                      dr_hook_extension_configmap(ss, dr_hook_template(ss, job, volumes, NULL)));
}

const dr_mode dr_mode_kubernetes = {
	.name = "kubernetes",
	.summary = "no daemon: jobs run as pods through ARC's container hooks",
	.kube_mode = true,
	.kube_role_jobs = true,
	.cache_placement = "the job pod (hook extension)",
	.cluster_builds = true,
	.validate = validate,
	.pod_spec = pod_spec,
	.extra_objects = extra_objects,
};
