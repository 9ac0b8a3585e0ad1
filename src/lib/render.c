/* render.c: the objects of ARC 0.14.2 runner scale sets, built natively the way the
 * gha-runner-scale-set chart renders them (arc-spec.md §2), with deskrun's labels. The mode
 * strategies (mode_*.c) fill the runner pod template and add their own objects. */
#include "lib/common.h"
#include "lib/docker.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/names.h"
#include "lib/pem.h"
#include "lib/render.h"
#include "lib/sha256.h"
#include "lib/yaml.h"

#define FINALIZER "actions.github.com/cleanup-protection"

dr_scale_set *
dr_scale_sets(const dr_runner *r, const dr_settings *s, size_t *n)
{
	size_t count = r->instances > 1 ? (size_t)r->instances : 1;
	dr_scale_set *ss = dr_xcalloc(count, sizeof(*ss));
	for (size_t i = 0; i < count; i++) {
		ss[i].runner = r;
		ss[i].settings = s;
		ss[i].index = r->instances > 1 ? (int)i + 1 : 0;
		ss[i].name = dr_name_scale_set(r->name, ss[i].index);
		ss[i].fullname = dr_name_fullname(ss[i].name);
		ss[i].namespace = dr_runner_namespace(r);
	}
	*n = count;
	return ss;
}

void
dr_scale_sets_free(dr_scale_set *ss, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ss[i].name);
		free(ss[i].fullname);
	}
	free(ss);
}

json_t *
dr_scale_set_labels(const dr_scale_set *ss)
{
	json_t *l = json_object();
	json_object_set_new(l, "helm.sh/chart", json_string(DR_ARC_CHART_LABEL));
	json_object_set_new(l, "app.kubernetes.io/name", json_string(ss->name));
	json_object_set_new(l, "app.kubernetes.io/instance", json_string(ss->name));
	json_object_set_new(l, "app.kubernetes.io/version", json_string(DR_ARC_VERSION));
	json_object_set_new(l, "app.kubernetes.io/managed-by", json_string("deskrun"));
	json_object_set_new(l, "app.kubernetes.io/part-of", json_string("gha-rs"));
	json_object_set_new(l, "actions.github.com/scale-set-name", json_string(ss->name));
	json_object_set_new(l, "actions.github.com/scale-set-namespace", json_string(ss->namespace));
	json_object_set_new(l, "deskrun.io/runner", json_string(ss->runner->name));
	return l;
}

json_t *
dr_pod_labels(const dr_scale_set *ss)
{
	json_t *l = json_object();
	json_object_set_new(l, "app.kubernetes.io/managed-by", json_string("deskrun"));
	json_object_set_new(l, "deskrun.io/runner", json_string(ss->runner->name));
	json_object_set_new(l, "deskrun.io/scale-set", json_string(ss->name));
	return l;
}

char *
dr_cache_host_path(const dr_scale_set *ss, size_t i)
{
	const dr_cache *c = &ss->runner->caches[i];
	if (c->source)
		return dr_xstrdup(c->source);
	return dr_xasprintf("%s/%s/cache-%zu", ss->settings->cache_root, ss->name, i);
}

json_t *
dr_resources(const char *cpu, const char *memory)
{
	if (!cpu && !memory)
		return NULL;
	json_t *req = json_object();
	if (cpu)
		json_object_set_new(req, "cpu", json_string(cpu));
	if (memory)
		json_object_set_new(req, "memory", json_string(memory));
	json_t *res = json_object();
	json_object_set_new(res, "requests", json_deep_copy(req));
	json_object_set_new(res, "limits", req);
	return res;
}

/* An object of the scale set with its common labels and, for the chart's RBAC, Secret and
 * ServiceAccounts, the cleanup finalizer the controller removes when the set is deleted. */
static json_t *
ss_object(const dr_scale_set *ss, const char *api, const char *kind, const char *name,
          const char *component, bool finalizer)
{
	json_t *o = dr_k8s_object(api, kind, name, ss->namespace);
	json_t *md = dr_k8s_metadata(o);
	json_t *labels = dr_scale_set_labels(ss);
	if (component)
		json_object_set_new(labels, "app.kubernetes.io/component", json_string(component));
	json_object_set_new(md, "labels", labels);
	if (finalizer)
		json_object_set_new(md, "finalizers", dr_json_strs(FINALIZER, NULL));
	return o;
}

static json_t *
build_service_account(const dr_scale_set *ss)
{
	_cleanup_free_ char *name = ss->runner->mode->kube_mode ? dr_name_kube_mode(ss->fullname)
	                                                        : dr_name_no_permission(ss->fullname);
	return ss_object(ss, "v1", "ServiceAccount", name, NULL, true);
}

static json_t *
build_secret(const dr_scale_set *ss)
{
	const dr_auth *a = &ss->runner->auth;
	_cleanup_free_ char *name = dr_name_github_secret(ss->fullname);
	json_t *o = ss_object(ss, "v1", "Secret", name, NULL, true);
	json_t *data = json_object();
	struct {
		const char *key;
		const char *value;
	} items[] = {
		{ "github_token", a->type == DR_AUTH_PAT ? a->token : NULL },
		{ "github_app_id", a->type == DR_AUTH_APP ? a->app_id : NULL },
		{ "github_app_installation_id", a->type == DR_AUTH_APP ? a->installation_id : NULL },
		{ "github_app_private_key", a->type == DR_AUTH_APP ? a->private_key : NULL },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(items); i++) {
		if (!items[i].value || !*items[i].value)
			continue;
		_cleanup_free_ char *b = dr_base64_encode(items[i].value, strlen(items[i].value));
		json_object_set_new(data, items[i].key, json_string(b));
	}
	json_object_set_new(o, "data", data);
	return o;
}

static json_t *
build_manager_role(const dr_scale_set *ss)
{
	static const char *const pods[] = { "create", "delete", "get", NULL };
	static const char *const get[] = { "get", NULL };
	static const char *const crud_list[] = { "create", "delete", "get", "list",
		                                 "patch",  "update", NULL };
	static const char *const crud[] = { "create", "delete", "get", "patch", "update", NULL };
	_cleanup_free_ char *name = dr_name_manager(ss->fullname);
	json_t *o = ss_object(ss, "rbac.authorization.k8s.io/v1", "Role", name, "manager-role",
	                      true);
	json_t *rules = json_array();
	json_array_append_new(rules, dr_k8s_rule("", "pods", pods));
	json_array_append_new(rules, dr_k8s_rule("", "pods/status", get));
	json_array_append_new(rules, dr_k8s_rule("", "secrets", crud_list));
	json_array_append_new(rules, dr_k8s_rule("", "serviceaccounts", crud_list));
	json_array_append_new(rules, dr_k8s_rule("rbac.authorization.k8s.io", "rolebindings", crud));
	json_array_append_new(rules, dr_k8s_rule("rbac.authorization.k8s.io", "roles", crud));
	json_object_set_new(o, "rules", rules);
	return o;
}

static json_t *
role_binding(const dr_scale_set *ss, const char *name, const char *component,
             const char *role, const char *sa, const char *sa_namespace)
{
	json_t *o = ss_object(ss, "rbac.authorization.k8s.io/v1", "RoleBinding", name, component,
	                      true);
	json_t *ref = json_object();
	json_object_set_new(ref, "apiGroup", json_string("rbac.authorization.k8s.io"));
	json_object_set_new(ref, "kind", json_string("Role"));
	json_object_set_new(ref, "name", json_string(role));
	json_object_set_new(o, "roleRef", ref);
	json_t *subj = json_object();
	json_object_set_new(subj, "kind", json_string("ServiceAccount"));
	json_object_set_new(subj, "name", json_string(sa));
	json_object_set_new(subj, "namespace", json_string(sa_namespace));
	json_t *subjects = json_array();
	json_array_append_new(subjects, subj);
	json_object_set_new(o, "subjects", subjects);
	return o;
}

static json_t *
build_manager_role_binding(const dr_scale_set *ss)
{
	_cleanup_free_ char *name = dr_name_manager(ss->fullname);
	return role_binding(ss, name, "manager-role-binding", name, ss->settings->controller_sa,
	                    ss->settings->controller_namespace);
}

static json_t *
build_kube_mode_role(const dr_scale_set *ss)
{
	static const char *const pods[] = { "get", "list", "create", "delete", NULL };
	static const char *const exec[] = { "get", "create", NULL };
	static const char *const logs[] = { "get", "list", "watch", NULL };
	static const char *const jobs[] = { "get", "list", "create", "delete", NULL };
	static const char *const secrets[] = { "get", "list", "create", "delete", NULL };
	_cleanup_free_ char *name = dr_name_kube_mode(ss->fullname);
	json_t *o = ss_object(ss, "rbac.authorization.k8s.io/v1", "Role", name, NULL, true);
	json_t *rules = json_array();
	json_array_append_new(rules, dr_k8s_rule("", "pods", pods));
	json_array_append_new(rules, dr_k8s_rule("", "pods/exec", exec));
	json_array_append_new(rules, dr_k8s_rule("", "pods/log", logs));
	if (ss->runner->mode->kube_role_jobs)
		json_array_append_new(rules, dr_k8s_rule("batch", "jobs", jobs));
	json_array_append_new(rules, dr_k8s_rule("", "secrets", secrets));
	if (ss->runner->cluster_builds) {
		/* Build Jobs (deskrun build-job): create, watch, read logs of, delete. */
		static const char *const build_jobs[] = { "create", "get", "list", "watch",
			                                  "delete", NULL };
		static const char *const build_pods[] = { "get", "list", "watch", "delete", NULL };
		static const char *const attach[] = { "create", "get", NULL };
		json_array_append_new(rules, dr_k8s_rule("batch", "jobs", build_jobs));
		json_array_append_new(rules, dr_k8s_rule("", "pods", build_pods));
		json_array_append_new(rules, dr_k8s_rule("", "pods/attach", attach));
	}
	json_object_set_new(o, "rules", rules);
	return o;
}

static json_t *
build_kube_mode_role_binding(const dr_scale_set *ss)
{
	_cleanup_free_ char *name = dr_name_kube_mode(ss->fullname);
	return role_binding(ss, name, NULL, name, name, ss->namespace);
}

static json_t *
build_template(const dr_scale_set *ss)
{
	const dr_runner *r = ss->runner;
	json_t *tmpl = json_object();
	json_t *md = json_object();
	json_object_set_new(md, "labels", dr_pod_labels(ss));
	json_object_set_new(tmpl, "metadata", md);
	json_t *spec = json_object();
	json_object_set_new(spec, "restartPolicy", json_string("Never"));
	_cleanup_free_ char *sa = r->mode->kube_mode ? dr_name_kube_mode(ss->fullname)
	                                             : dr_name_no_permission(ss->fullname);
	json_object_set_new(spec, "serviceAccountName", json_string(sa));
	r->mode->pod_spec(ss, spec);
	/* The proxy reaches the runner and every daemon deskrun runs in the pod. */
	const char *lists[] = { "initContainers", "containers" };
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			const char *name = json_string_value(json_object_get(c, "name"));
			if (strcmp(name, "runner") == 0 || strcmp(name, "dind") == 0)
				dr_proxy_env(ss, dr_json_array_at(c, "env"));
		}
	}
	json_object_set_new(tmpl, "spec", spec);
	return tmpl;
}

static json_t *
build_ars(const dr_scale_set *ss)
{
	const dr_runner *r = ss->runner;
	json_t *o = ss_object(ss, "actions.github.com/v1alpha1", "AutoscalingRunnerSet", ss->name,
	                      "autoscaling-runner-set", false);
	json_t *spec = json_object();
	_cleanup_free_ char *secret = dr_name_github_secret(ss->fullname);
	json_object_set_new(spec, "githubConfigUrl", json_string(r->repository));
	json_object_set_new(spec, "githubConfigSecret", json_string(secret));
	json_object_set_new(spec, "runnerScaleSetName", json_string(ss->name));
	if (r->labels && r->labels[0])
		json_object_set_new(spec, "runnerScaleSetLabels", dr_json_strv(r->labels));
	json_t *proxy = dr_ars_proxy(ss);
	if (proxy)
		json_object_set_new(spec, "proxy", proxy);
	json_object_set_new(spec, "maxRunners", json_integer(r->max_runners));
	json_object_set_new(spec, "minRunners", json_integer(r->min_runners));
	json_object_set_new(spec, "template", build_template(ss));

	/* values-hash: the chart hashes its values; deskrun hashes the spec it renders, so the
	 * annotation changes exactly when the scale set does. */
	_cleanup_free_ char *canon = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	char hex[65];
	dr_sha256_hex(canon, strlen(canon), hex);
	hex[63] = '\0';

	json_t *ann = json_object();
	json_object_set_new(ann, "actions.github.com/values-hash", json_string(hex));
	json_object_set_new(ann, "actions.github.com/cleanup-github-secret-name",
	                    json_string(secret));
	_cleanup_free_ char *manager = dr_name_manager(ss->fullname);
	json_object_set_new(ann, "actions.github.com/cleanup-manager-role-binding",
	                    json_string(manager));
	json_object_set_new(ann, "actions.github.com/cleanup-manager-role-name",
	                    json_string(manager));
	if (r->mode->kube_mode) {
		_cleanup_free_ char *km = dr_name_kube_mode(ss->fullname);
		json_object_set_new(ann, "actions.github.com/cleanup-kubernetes-mode-role-binding-name",
		                    json_string(km));
		json_object_set_new(ann, "actions.github.com/cleanup-kubernetes-mode-role-name",
		                    json_string(km));
		json_object_set_new(ann,
		                    "actions.github.com/cleanup-kubernetes-mode-service-account-name",
		                    json_string(km));
	} else {
		_cleanup_free_ char *np = dr_name_no_permission(ss->fullname);
		json_object_set_new(ann,
		                    "actions.github.com/cleanup-no-permission-service-account-name",
		                    json_string(np));
	}
	json_object_set_new(dr_k8s_metadata(o), "annotations", ann);
	json_object_set_new(o, "spec", spec);
	return o;
}

/* Apply order (Helm's InstallOrder for the kinds deskrun renders). */
static const char *const kind_order[] = {
	"Namespace", "ServiceAccount",        "Secret",      "ConfigMap",
	"PersistentVolumeClaim", "Role", "RoleBinding", "Service", "DaemonSet", "Deployment",
	"Job", "AutoscalingRunnerSet", NULL,
};

static size_t
kind_rank(json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	for (size_t i = 0; kind && kind_order[i]; i++)
		if (strcmp(kind, kind_order[i]) == 0)
			return i;
	DR_BUG("rendered an object of a kind missing from the apply order");
}

static void
render_scale_set(const dr_scale_set *ss, const dr_render_opts *opts, json_t *out)
{
	json_array_append_new(out, build_service_account(ss));
	if (opts->include_secrets)
		json_array_append_new(out, build_secret(ss));
	_cleanup_free_ char *proxy_name = NULL;
	json_t *proxy_secret = dr_proxy_secret(ss, opts->include_secrets, &proxy_name);
	if (proxy_secret)
		json_array_append_new(out, proxy_secret);
	json_t *claim = dr_docker_storage_claim(ss);
	if (claim)
		json_array_append_new(out, claim);
	if (ss->runner->mode->extra_objects)
		ss->runner->mode->extra_objects(ss, out);
	json_array_append_new(out, build_manager_role(ss));
	if (ss->runner->mode->kube_mode)
		json_array_append_new(out, build_kube_mode_role(ss));
	json_array_append_new(out, build_manager_role_binding(ss));
	if (ss->runner->mode->kube_mode)
		json_array_append_new(out, build_kube_mode_role_binding(ss));
	json_array_append_new(out, build_ars(ss));
}

json_t *
dr_render(const dr_runner *const *runners, size_t n, const dr_settings *s,
          const dr_render_opts *opts)
{
	_cleanup_json_ json_t *all = json_array();
	/* Namespaces first, each once; they carry no runner label, so pruning never
	 * removes a namespace that other runners share. */
	_cleanup_json_ json_t *seen = json_object();
	bool system = dr_needs_system_namespace(runners, n);
	for (size_t i = 0; i < n + system; i++) {
		const char *ns = i < n ? dr_runner_namespace(runners[i]) : DR_SYSTEM_NAMESPACE;
		if (json_object_get(seen, ns))
			continue;
		json_object_set_new(seen, ns, json_true());
		json_t *o = dr_k8s_object("v1", "Namespace", ns, NULL);
		json_t *labels = json_object();
		json_object_set_new(labels, "app.kubernetes.io/managed-by", json_string("deskrun"));
		json_object_set_new(dr_k8s_metadata(o), "labels", labels);
		json_array_append_new(all, o);
	}
	for (size_t i = 0; i < n; i++) {
		size_t nss = 0;
		dr_scale_set *ss = dr_scale_sets(runners[i], s, &nss);
		for (size_t k = 0; k < nss; k++)
			render_scale_set(&ss[k], opts, all);
		dr_scale_sets_free(ss, nss);
	}
	dr_shared_objects(runners, n, s, all);
	/* Stable sort by kind rank: objects of one kind keep definition/instance order. */
	size_t total = json_array_size(all);
	json_t *sorted = json_array();
	for (size_t rank = 0; kind_order[rank]; rank++)
		for (size_t i = 0; i < total; i++) {
			json_t *o = json_array_get(all, i);
			if (kind_rank(o) == rank)
				json_array_append(sorted, o);
		}
	return sorted;
}

/* ---- helpers shared by the mode strategies ---- */

json_t *
dr_runner_container(const dr_scale_set *ss)
{
	const dr_runner *r = ss->runner;
	json_t *c = dr_k8s_container("runner", dr_runner_image(r));
	json_object_set_new(c, "command", dr_json_strs(DR_RUNNER_COMMAND, NULL));
	json_t *res = dr_resources(r->cpu, r->memory);
	if (res)
		json_object_set_new(c, "resources", res);
	json_object_set_new(c, "env", json_array());
	json_object_set_new(c, "volumeMounts", json_array());
	return c;
}

void
dr_cache_volumes(const dr_scale_set *ss, json_t *volumes, json_t *mounts)
{
	for (size_t i = 0; i < ss->runner->n_caches; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cache-%zu", i);
		_cleanup_free_ char *path = dr_cache_host_path(ss, i);
		dr_k8s_volume_host(volumes, name, path, "DirectoryOrCreate");
		dr_k8s_mount(mounts, name, ss->runner->caches[i].target, false, NULL);
	}
}

void
dr_mount_volumes(const dr_scale_set *ss, json_t *volumes, json_t *mounts)
{
	for (size_t i = 0; i < ss->runner->n_mounts; i++) {
		const dr_mount *m = &ss->runner->mounts[i];
		char name[32];
		snprintf(name, sizeof(name), "mount-%zu", i);
		dr_k8s_volume_host(volumes, name, m->source, dr_mount_type_name(m->type));
		dr_k8s_mount(mounts, name, m->target, false, NULL);
	}
}

int
dr_check_reserved_targets(const dr_runner *r, bool caches, bool mounts,
                          const char *const *reserved, const char *where, dr_err **err)
{
	for (size_t k = 0; reserved[k]; k++) {
		for (size_t i = 0; caches && i < r->n_caches; i++)
			if (strcmp(r->caches[i].target, reserved[k]) == 0)
				return dr_fail(err, DR_EXIT_USAGE,
				               "--cache %s: mode %s already mounts %s in the %s; "
				               "choose another path",
				               reserved[k], r->mode->name, reserved[k], where);
		for (size_t i = 0; mounts && i < r->n_mounts; i++)
			if (strcmp(r->mounts[i].target, reserved[k]) == 0)
				return dr_fail(err, DR_EXIT_USAGE,
				               "--mount %s:%s: mode %s already mounts %s in the %s; "
				               "choose another path",
				               r->mounts[i].source, reserved[k], r->mode->name,
				               reserved[k], where);
	}
	return 0;
}

void
dr_runner_only_pod(const dr_scale_set *ss, json_t *spec, json_t *runner, json_t *volumes)
{
	json_t *mounts = json_object_get(runner, "volumeMounts");
	bool has_work = false; /* guarded pods keep it in the pod's folder on the node */
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
		has_work |= dr_streq(json_string_value(json_object_get(m, "mountPath")),
		                     "/home/runner/_work");
	if (!has_work) {
		dr_k8s_volume_empty(volumes, "work");
		dr_k8s_mount(mounts, "work", "/home/runner/_work", false, NULL);
	}
	dr_cache_volumes(ss, volumes, mounts);
	dr_mount_volumes(ss, volumes, mounts);
	json_t *containers = json_array();
	json_array_append_new(containers, runner);
	json_object_set_new(spec, "containers", containers);
	json_object_set_new(spec, "volumes", volumes);
}

json_t *
dr_hook_template(const dr_scale_set *ss, json_t *job, json_t *volumes, json_t *pod_fields)
{
	json_t *t = json_object();
	json_t *md = json_object();
	json_object_set_new(md, "labels", dr_pod_labels(ss));
	json_object_set_new(t, "metadata", md);
	json_t *spec = json_object();
	json_t *containers = json_array();
	/* "name: $job" first, for readers of the YAML. */
	json_t *ordered = json_object();
	json_object_set_new(ordered, "name", json_string("$job"));
	const char *key;
	json_t *v;
	json_object_foreach(job, key, v) {
		if (strcmp(key, "name") != 0)
			json_object_set(ordered, key, v);
	}
	json_decref(job);
	json_array_append_new(containers, ordered);
	if (pod_fields)
		json_object_update(spec, pod_fields);
	json_object_set_new(spec, "containers", containers);
	json_object_set_new(spec, "volumes", volumes);
	json_object_set_new(t, "spec", spec);
	return t;
}

json_t *
dr_hook_extension_configmap(const dr_scale_set *ss, json_t *pod_template)
{
	_cleanup_free_ char *name = dr_name_hook_extension(ss->name);
	json_t *o = ss_object(ss, "v1", "ConfigMap", name, "hook-extension", false);
	_cleanup_free_ char *yaml = dr_yaml_dump(pod_template);
	json_decref(pod_template);
	json_t *data = json_object();
	json_object_set_new(data, "content", json_string(yaml));
	json_object_set_new(o, "data", data);
	return o;
}

void
dr_hook_extension_attach(const dr_scale_set *ss, json_t *spec_volumes, json_t *runner)
{
	_cleanup_free_ char *name = dr_name_hook_extension(ss->name);
	dr_k8s_env(json_object_get(runner, "env"), "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE",
	           DR_HOOK_TEMPLATE_PATH);
	dr_k8s_mount(json_object_get(runner, "volumeMounts"), "hook-extension",
	             DR_HOOK_TEMPLATE_DIR, true, NULL);
	dr_k8s_volume_configmap(spec_volumes, "hook-extension", name);
}
