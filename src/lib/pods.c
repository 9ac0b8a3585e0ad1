/* pods.c: standalone pods from rendered objects (see pods.h). The job pod follows the
 * kubernetes-novolume container hooks (arc-spec §2.6: emptyDir externals/work/github, an
 * fs-init init container, fsGroup 1001) and their hook-extension merge (arc-spec §3). */
#include "lib/common.h"
#include "lib/docker.h"
#include "lib/k8s.h"
#include "lib/plan.h"
#include "lib/pods.h"
#include "lib/yaml.h"

static json_t *
find_object(json_t *objects, const char *kind, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(objects, i, o) {
		if (strcmp(dr_obj_kind(o), kind) == 0 && strcmp(dr_obj_name(o), name) == 0)
			return o;
	}
	return NULL;
}

/* The ConfigMaps and Secrets of `ns` that the pod spec's volumes and env name. */
static void
add_mounted(json_t *objects, json_t *spec, const char *ns, json_t *out)
{
	_cleanup_json_ json_t *seen = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		const char *cm = json_string_value(json_object_get(json_object_get(v, "configMap"), "name"));
		const char *sec =
			json_string_value(json_object_get(json_object_get(v, "secret"), "secretName"));
		json_t *o = cm ? find_object(objects, "ConfigMap", cm)
		               : sec ? find_object(objects, "Secret", sec) : NULL;
		if (o && strcmp(dr_obj_namespace(o), ns) == 0 && !json_object_get(seen, dr_obj_name(o))) {
			json_object_set_new(seen, dr_obj_name(o), json_true());
			json_array_append(out, o);
		}
	}
	const char *lists[] = { "initContainers", "containers" };
	for (size_t l = 0; l < 2; l++) {
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			size_t k;
			json_t *e;
			json_array_foreach(json_object_get(c, "env"), k, e) {
				const char *sec = json_string_value(json_object_get(
					json_object_get(json_object_get(e, "valueFrom"), "secretKeyRef"), "name"));
				json_t *o = sec ? find_object(objects, "Secret", sec) : NULL;
				if (o && !json_object_get(seen, sec)) {
					json_object_set_new(seen, sec, json_true());
					json_array_append(out, o);
				}
			}
		}
	}
}

static void
move_sidecars(json_t *spec)
{
	json_t *init = json_object_get(spec, "initContainers");
	json_t *containers = json_object_get(spec, "containers");
	if (!init)
		return;
	for (size_t i = 0; i < json_array_size(init);) {
		json_t *c = json_array_get(init, i);
		if (dr_streq(json_string_value(json_object_get(c, "restartPolicy")), "Always")) {
			json_object_del(c, "restartPolicy");
			json_object_del(c, "startupProbe");
			json_array_append(containers, c);
			json_array_remove(init, i);
		} else {
			i++;
		}
	}
	if (json_array_size(init) == 0)
		json_object_del(spec, "initContainers");
}

static json_t *
pod_object(const char *name, const char *ns, json_t *labels, json_t *spec)
{
	json_t *pod = dr_k8s_object("v1", "Pod", name, ns);
	if (labels)
		json_object_set(dr_k8s_metadata(pod), "labels", labels);
	json_object_set_new(pod, "spec", spec);
	return pod;
}

static json_t *
find_ars(json_t *objects, const char *ss, dr_err **err)
{
	json_t *ars = find_object(objects, "AutoscalingRunnerSet", ss);
	if (!ars)
		dr_fail(err, DR_EXIT_USAGE, "no scale set named \"%s\" in the rendered objects", ss);
	return ars;
}

json_t *
dr_runner_pod(json_t *objects, const char *ss, const dr_pod_opts *o, dr_err **err)
{
	json_t *ars = find_ars(objects, ss, err);
	if (!ars)
		return NULL;
	json_t *tmpl = json_object_get(json_object_get(ars, "spec"), "template");
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	if (o->legacy_sidecars)
		move_sidecars(spec);
	const char *ns = dr_obj_namespace(ars);
	json_t *out = json_array();
	add_mounted(objects, spec, ns, out);
	_cleanup_free_ char *name = dr_xasprintf("%s-runner", ss);
	json_array_append_new(out, pod_object(name, ns,
	                                      json_object_get(json_object_get(tmpl, "metadata"), "labels"),
	                                      spec));
	return out;
}

/* Merge a hook-extension container into the hook's container: name and image are kept, env,
 * volumeMounts and ports appended, every other field overwritten. */
static void
merge_container(json_t *into, json_t *ext)
{
	const char *key;
	json_t *v;
	json_object_foreach(ext, key, v) {
		if (!strcmp(key, "name") || !strcmp(key, "image"))
			continue;
		if (!strcmp(key, "env") || !strcmp(key, "volumeMounts") || !strcmp(key, "ports"))
			json_array_extend(dr_json_array_at(into, key), v);
		else
			json_object_set(into, key, v);
	}
}

json_t *
dr_job_pod(json_t *objects, const char *ss, const dr_pod_opts *o, dr_err **err)
{
	json_t *ars = find_ars(objects, ss, err);
	if (!ars)
		return NULL;
	_cleanup_free_ char *cm_name = dr_xasprintf("%s-hook-extension", ss);
	json_t *cm = find_object(objects, "ConfigMap", cm_name);
	if (!cm) {
		dr_fail(err, DR_EXIT_USAGE,
		        "scale set %s has no hook extension: job pods exist only in the modes that "
		        "run jobs as pods (kubernetes with caches or mounts, "
		        "cached-privileged-kubernetes)",
		        ss);
		return NULL;
	}
	const char *content =
		json_string_value(json_object_get(json_object_get(cm, "data"), "content"));
	_cleanup_json_ json_t *docs = dr_yaml_parse(content, strlen(content), err);
	if (!docs)
		return NULL;
	json_t *ext = json_array_get(docs, 0);
	json_t *runner = json_array_get(json_object_get(json_object_get(json_object_get(
		json_object_get(ars, "spec"), "template"), "spec"), "containers"), 0);
	const char *runner_image = json_string_value(json_object_get(runner, "image"));
	const char *image = o->job_image ? o->job_image : runner_image;

	/* The pod the kubernetes-novolume hook creates for a job. */
	json_t *spec = json_object();
	json_object_set_new(spec, "restartPolicy", json_string("Never"));
	json_object_set_new(spec, "securityContext", json_pack("{s:i}", "fsGroup", 1001));
	json_t *fs = dr_k8s_container("fs-init", runner_image);
	json_object_set_new(fs, "command",
	                    dr_json_strs("sh", "-c",
	                                 "mkdir -p /mnt/externals /mnt/work /mnt/github && "
	                                 "cp -r /home/runner/externals/. /mnt/externals/",
	                                 NULL));
	json_object_set_new(fs, "securityContext",
	                    json_pack("{s:i, s:i}", "runAsUser", 1001, "runAsGroup", 1001));
	json_t *fsm = json_array();
	dr_k8s_mount(fsm, "externals", "/mnt/externals", false, NULL);
	dr_k8s_mount(fsm, "work", "/mnt/work", false, NULL);
	dr_k8s_mount(fsm, "github", "/mnt/github", false, NULL);
	json_object_set_new(fs, "volumeMounts", fsm);
	json_t *init = json_array();
	json_array_append_new(init, fs);
	json_object_set_new(spec, "initContainers", init);
	json_t *job = dr_k8s_container("job", image);
	json_object_set_new(job, "command", dr_json_strs("tail", "-f", "/dev/null", NULL));
	json_t *jm = json_array();
	dr_k8s_mount(jm, "externals", "/__e", false, NULL);
	dr_k8s_mount(jm, "work", "/__w", false, NULL);
	dr_k8s_mount(jm, "github", "/github", false, NULL);
	json_object_set_new(job, "volumeMounts", jm);
	json_t *containers = json_array();
	json_array_append_new(containers, job);
	json_object_set_new(spec, "containers", containers);
	json_t *volumes = json_array();
	dr_k8s_volume_empty(volumes, "externals");
	dr_k8s_volume_empty(volumes, "work");
	dr_k8s_volume_empty(volumes, "github");
	json_object_set_new(spec, "volumes", volumes);

	/* The hook extension, merged as the hooks merge it. */
	json_t *espec = json_object_get(ext, "spec");
	const char *key;
	json_t *v;
	json_object_foreach(espec, key, v) {
		if (!strcmp(key, "volumes")) {
			json_array_extend(volumes, v);
		} else if (!strcmp(key, "containers")) {
			size_t i;
			json_t *c;
			json_array_foreach(v, i, c) {
				const char *n = json_string_value(json_object_get(c, "name"));
				if (dr_streq(n, "$job"))
					merge_container(job, c);
				else if (n && n[0] != '$')
					json_array_append(containers, c);
			}
		} else {
			json_object_set(spec, key, v);
		}
	}
	json_t *labels = json_deep_copy(json_object_get(json_object_get(ext, "metadata"), "labels"));
	_cleanup_free_ char *name = dr_xasprintf("%s-runner-workflow", ss);
	json_t *out = json_array();
	json_t *pod = pod_object(name, dr_obj_namespace(ars), labels, spec);
	json_decref(labels);
	json_array_append_new(out, pod);
	return out;
}

json_t *
dr_daemon_pod(json_t *objects, dr_err **err)
{
	json_t *ds = find_object(objects, "DaemonSet", DR_DAEMONSET_NAME);
	if (!ds) {
		dr_fail(err, DR_EXIT_USAGE,
		        "no dind DaemonSet in the rendered objects: render a dind-daemonset runner");
		return NULL;
	}
	json_t *tmpl = json_object_get(json_object_get(ds, "spec"), "template");
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	json_t *out = json_array();
	add_mounted(objects, spec, dr_obj_namespace(ds), out);
	json_array_append_new(out, pod_object(DR_DAEMONSET_NAME "-node", dr_obj_namespace(ds),
	                                      json_object_get(json_object_get(tmpl, "metadata"), "labels"),
	                                      spec));
	return out;
}
