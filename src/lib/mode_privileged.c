/* mode_privileged.c: `cached-privileged-kubernetes`. The runner stays unprivileged and uses
 * ARC's kubernetes-novolume hooks (arc-spec §2.6); a hook extension ConfigMap makes only the
 * `$job` container privileged, root, in the host's PID and IPC namespaces, with the host's /sys, /sys/fs/cgroup (Bidirectional),
 * /proc, /dev, /dev/pts and /dev/shm and the caches as hostPaths, so the job can run its own
 * dockerd (overlay2) on a cached /var/lib/docker. */
#include "lib/common.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/render.h"

static const struct {
	const char *name;
	const char *path;
	const char *propagation;
} host_mounts[] = {
	{ "sys", "/sys", NULL },      { "cgroup", "/sys/fs/cgroup", "Bidirectional" },
	{ "proc", "/proc", NULL },    { "dev", "/dev", NULL },
	{ "dev-pts", "/dev/pts", NULL }, { "shm", "/dev/shm", NULL },
};

/* The capabilities the seed documents list for nested containers (privileged grants them
 * anyway; listing them keeps the intent visible and survives a runtime that drops some). */
static const char *const capabilities[] = {
	"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_CHROOT", "SETFCAP",    "SETPCAP",
	"NET_RAW",   "IPC_LOCK",  "SYS_RESOURCE", "MKNOD",    "AUDIT_WRITE", "AUDIT_CONTROL",
};

static const char *const job_reserved[] = { "/__w",     "/__e",      "/github",  "/sys",
	                                    "/sys/fs/cgroup", "/proc", "/dev", "/dev/pts",
	                                    "/dev/shm", NULL };

static int
validate(const dr_runner *r, dr_err **err)
{
	return dr_check_reserved_targets(r, true, true, job_reserved, "job container", err);
}

static void
pod_spec(const dr_scale_set *ss, json_t *spec)
{
	json_t *runner = dr_runner_container(ss);
	json_t *env = json_object_get(runner, "env");
	dr_k8s_env(env, "ACTIONS_RUNNER_CONTAINER_HOOKS", "/home/runner/k8s-novolume/index.js");
	dr_k8s_env_field(env, "ACTIONS_RUNNER_POD_NAME", "metadata.name");
	dr_k8s_env(env, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "true");
	dr_k8s_env(env, "ACTIONS_RUNNER_IMAGE", dr_runner_image(ss->runner));
	json_t *volumes = json_array();
	dr_hook_extension_attach(ss, volumes, runner);
	json_t *containers = json_array();
	json_array_append_new(containers, runner);
	json_object_set_new(spec, "containers", containers);
	json_object_set_new(spec, "volumes", volumes);
}

static void
extra_objects(const dr_scale_set *ss, json_t *objects)
{
	json_t *job = json_object();
	json_t *sc = json_object();
	json_object_set_new(sc, "privileged", json_true());
	json_object_set_new(sc, "runAsUser", json_integer(0));
	json_object_set_new(sc, "runAsGroup", json_integer(0));
	json_object_set_new(sc, "allowPrivilegeEscalation", json_true());
	json_t *add = json_array();
	for (size_t i = 0; i < DR_ARRAY_LEN(capabilities); i++)
		json_array_append_new(add, json_string(capabilities[i]));
	json_t *caps = json_object();
	json_object_set_new(caps, "add", add);
	json_object_set_new(sc, "capabilities", caps);
	json_object_set_new(job, "securityContext", sc);

	json_t *mounts = json_array();
	json_t *volumes = json_array();
	for (size_t i = 0; i < DR_ARRAY_LEN(host_mounts); i++) {
		dr_k8s_mount(mounts, host_mounts[i].name, host_mounts[i].path, false,
		             host_mounts[i].propagation);
		dr_k8s_volume_host(volumes, host_mounts[i].name, host_mounts[i].path, "Directory");
	}
	dr_cache_volumes(ss, volumes, mounts);
	dr_mount_volumes(ss, volumes, mounts);
	json_object_set_new(job, "volumeMounts", mounts);
	/* The host's /proc is only the host's processes with the host's PID namespace. */
	_cleanup_json_ json_t *pod = json_pack("{s:b, s:b}", "hostPID", 1, "hostIPC", 1);
	json_array_append_new(objects,
	                      dr_hook_extension_configmap(ss, dr_hook_template(ss, job, volumes, pod)));
}

const dr_mode dr_mode_privileged = {
	.name = "cached-privileged-kubernetes",
	.summary = "privileged job pods (hook extension) with hostPath caches",
	.kube_mode = true,
	.kube_role_jobs = false,
	.cache_placement = "the job pod (hook extension)",
	.validate = validate,
	.pod_spec = pod_spec,
	.extra_objects = extra_objects,
};
