/* render.h: native rendering of ARC 0.14.2 runner scale sets (../shared/reference/arc-spec.md
 * §2). Pure: same definitions in, byte-identical objects out. */
#ifndef DESKRUN_RENDER_H
#define DESKRUN_RENDER_H

#include "lib/common.h"
#include "lib/runner.h"

#define DR_ARC_VERSION "0.14.2"
#define DR_ARC_CHART_LABEL "gha-rs-" DR_ARC_VERSION

/* One AutoscalingRunnerSet of a definition: NAME, or NAME-i for --instances N > 1. */
typedef struct dr_scale_set {
	const dr_runner *runner;
	const dr_settings *settings;
	int index;          /* 0 for a single instance, else 1..N */
	char *name;         /* owned: the scale set name */
	char *fullname;     /* owned: <name>-gha-rs, as the chart's fullname */
	const char *namespace;
} dr_scale_set;

typedef struct dr_render_opts {
	bool include_secrets; /* render the GitHub Secret with its data */
} dr_render_opts;

/* The scale sets of a definition, in order; free with dr_scale_sets_free. */
dr_scale_set *dr_scale_sets(const dr_runner *r, const dr_settings *s, size_t *n);
void dr_scale_sets_free(dr_scale_set *ss, size_t n);

/* Render every object of the given definitions (validated) into a JSON array, sorted in apply
 * order: Namespace, ServiceAccount, Secret, ConfigMap, PersistentVolumeClaim, Role,
 * RoleBinding, AutoscalingRunnerSet; within a kind in definition and instance order. */
json_t *dr_render(const dr_runner *const *runners, size_t n, const dr_settings *s,
                  const dr_render_opts *opts);

/* Common labels of every object of a scale set (chart labels + deskrun's). New reference. */
json_t *dr_scale_set_labels(const dr_scale_set *ss);
/* The job-pod labels deskrun adds through hook extensions and runner pod templates. */
json_t *dr_pod_labels(const dr_scale_set *ss);

/* Host path of cache `i` of a scale set on the node. Owned by the caller. */
char *dr_cache_host_path(const dr_scale_set *ss, size_t i);

/* Resources block (requests = limits) for cpu/memory, or NULL if neither is set. */
json_t *dr_resources(const char *cpu, const char *memory);

/* ---- helpers shared by the mode strategies ---- */

#define DR_RUNNER_COMMAND "/home/runner/run.sh"
#define DR_HOOK_TEMPLATE_DIR "/etc/hooks"
#define DR_HOOK_TEMPLATE_PATH "/etc/hooks/content"

/* The `runner` container: image, command, resources; env and volumeMounts empty arrays. */
json_t *dr_runner_container(const dr_scale_set *ss);
/* Volumes cache-<i> (hostPath DirectoryOrCreate under the cache root, or SRC) and their
 * mounts at each --cache target. */
void dr_cache_volumes(const dr_scale_set *ss, json_t *volumes, json_t *mounts);
/* Volumes mount-<i> (hostPath of the --mount's type) and their mounts. */
void dr_mount_volumes(const dr_scale_set *ss, json_t *volumes, json_t *mounts);
/* Reject a --cache/--mount target that collides with a path the mode mounts itself.
 * `reserved` is NULL-terminated; `where` names the container for the message. */
int dr_check_reserved_targets(const dr_runner *r, bool caches, bool mounts,
                              const char *const *reserved, const char *where, dr_err **err);

/* Hook extension (arc-spec §3): a ConfigMap <ss>-hook-extension whose key `content` is the
 * PodTemplateSpec YAML that ARC's container hooks merge into every job pod. */
json_t *dr_hook_extension_configmap(const dr_scale_set *ss, json_t *pod_template);
/* Point the runner at it: ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE, the mount and the volume. */
void dr_hook_extension_attach(const dr_scale_set *ss, json_t *spec_volumes, json_t *runner);
/* A hook template whose $job container gets `job` merged (owned) plus the deskrun labels. */
/* The hook extension's pod template: `job` becomes the `$job` container (stolen), `volumes`
 * the pod's volumes (stolen), and each key of `pod_fields` (borrowed, may be NULL) is set on
 * the pod spec, e.g. hostPID. */
/* The end of a pod spec whose one container is the runner: the work emptyDir, the caches and
 * --mounts in the runner, then spec's containers and volumes (runner and volumes stolen). */
void dr_runner_only_pod(const dr_scale_set *ss, json_t *spec, json_t *runner, json_t *volumes);

json_t *dr_hook_template(const dr_scale_set *ss, json_t *job, json_t *volumes, json_t *pod_fields);

#endif
