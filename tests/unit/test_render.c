/* test_render.c: the object builders, mode by mode, against arc-spec.md §2. */
#include "test.h"

#include "lib/buf.h"
#include "lib/mode.h"
#include "lib/render.h"
#include "lib/yaml.h"

static dr_settings settings;

static int
setup(void **state)
{
	(void)state;
	dr_settings_init(&settings);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dr_settings_clear(&settings);
	return 0;
}

static dr_runner *
runner(const char *name, const dr_mode *mode)
{
	dr_runner *r = dr_runner_new(name);
	r->repository = dr_xstrdup("https://github.com/acme/web");
	r->mode = mode;
	r->auth.token = dr_xstrdup("ghp_secret");
	return r;
}

static json_t *
render1(const dr_runner *r, bool secrets)
{
	dr_render_opts o = { .include_secrets = secrets };
	const dr_runner *list[] = { r };
	return dr_render(list, 1, &settings, &o);
}

/* The object of this kind and name (borrowed), or NULL. */
static json_t *
find(json_t *objs, const char *kind, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
		           name) == 0)
			return o;
	}
	return NULL;
}

static size_t
count_kind(json_t *objs, const char *kind)
{
	size_t n = 0, i;
	json_t *o;
	json_array_foreach(objs, i, o)
		n += strcmp(json_string_value(json_object_get(o, "kind")), kind) == 0;
	return n;
}

/* Path lookup: "spec.template.spec.containers.0.name" (numbers index arrays). */
static json_t *
at(json_t *j, const char *path)
{
	_cleanup_free_ char *p = dr_xstrdup(path);
	char *save = NULL;
	for (char *tok = strtok_r(p, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, strtoul(tok, NULL, 10));
		else
			j = json_object_get(j, tok);
	}
	return j;
}

static const char *
str_at(json_t *j, const char *path)
{
	json_t *v = at(j, path);
	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

/* The env value of `name` in a container, or NULL. */
static const char *
env_of(json_t *container, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(container, "env"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) {
			json_t *v = json_object_get(e, "value");
			return v ? json_string_value(v) : "<valueFrom>";
		}
	}
	return NULL;
}

static json_t *
hook_template(json_t *objs, const char *cm)
{
	json_t *o = find(objs, "ConfigMap", cm);
	assert_non_null(o);
	const char *content = str_at(o, "data.content");
	dr_err *err = NULL;
	json_t *docs = dr_yaml_parse(content, strlen(content), &err);
	if (!docs)
		fail_msg("hook extension YAML: %s", err->msg);
	json_t *t = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return t;
}

static void
dind_layout(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("web", &dr_mode_dind);
	dr_runner_add_cache(r, NULL, "/var/lib/docker");
	dr_runner_add_mount(r, "/run/tools.sock", "/run/tools.sock", DR_MOUNT_SOCKET);
	r->cpu = dr_xstrdup("2");
	_cleanup_json_ json_t *objs = render1(r, false);
	json_t *ars = find(objs, "AutoscalingRunnerSet", "web");
	assert_non_null(ars);
	json_t *spec = at(ars, "spec.template.spec");
	assert_string_equal(str_at(spec, "serviceAccountName"), "web-gha-rs-no-permission");
	assert_string_equal(str_at(spec, "restartPolicy"), "Never");
	assert_string_equal(str_at(spec, "initContainers.0.name"), "init-dind-externals");
	assert_string_equal(str_at(spec, "initContainers.0.image"),
	                    "ghcr.io/actions/actions-runner:latest");
	json_t *dind = at(spec, "initContainers.1");
	assert_string_equal(str_at(dind, "name"), "dind");
	assert_string_equal(str_at(dind, "image"), "docker:dind");
	assert_true(json_is_true(at(dind, "securityContext.privileged")));
	assert_string_equal(str_at(dind, "restartPolicy"), "Always");
	assert_int_equal(json_integer_value(at(dind, "startupProbe.failureThreshold")), 24);
	assert_string_equal(str_at(dind, "args.2"), "--group=$(DOCKER_GROUP_GID)");
	assert_string_equal(env_of(dind, "DOCKER_GROUP_GID"), "123");
	/* The cache is mounted into the daemon, where /var/lib/docker lives. */
	assert_string_equal(str_at(dind, "volumeMounts.3.name"), "dockerd-config");
	assert_string_equal(str_at(dind, "volumeMounts.4.name"), "cache-0");
	assert_string_equal(str_at(dind, "volumeMounts.4.mountPath"), "/var/lib/docker");
	json_t *run = at(spec, "containers.0");
	assert_string_equal(str_at(run, "name"), "runner");
	assert_string_equal(str_at(run, "command.0"), "/home/runner/run.sh");
	assert_string_equal(env_of(run, "DOCKER_HOST"), "unix:///var/run/docker.sock");
	assert_string_equal(env_of(run, "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS"), "120");
	assert_string_equal(str_at(run, "resources.limits.cpu"), "2");
	assert_string_equal(str_at(run, "resources.requests.cpu"), "2");
	assert_null(at(run, "resources.limits.memory"));
	assert_string_equal(str_at(run, "volumeMounts.2.name"), "mount-0");
	assert_null(at(run, "securityContext"));
	json_t *vols = at(spec, "volumes");
	assert_int_equal(json_array_size(vols), 6);
	assert_string_equal(str_at(vols, "5.configMap.name"), "web-dockerd");
	assert_string_equal(str_at(vols, "0.name"), "dind-sock");
	assert_non_null(at(vols, "0.emptyDir"));
	assert_string_equal(str_at(vols, "3.hostPath.path"), "/var/lib/deskrun/cache/web/cache-0");
	assert_string_equal(str_at(vols, "3.hostPath.type"), "DirectoryOrCreate");
	assert_string_equal(str_at(vols, "4.hostPath.type"), "Socket");
	/* No kube-mode objects in dind. */
	assert_null(find(objs, "Role", "web-gha-rs-kube-mode"));
	assert_non_null(find(objs, "ServiceAccount", "web-gha-rs-no-permission"));
}

static void
ars_fields(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("web", &dr_mode_dind);
	dr_strv_push(&r->labels, "linux");
	dr_strv_push(&r->labels, "x64");
	r->min_runners = 0;
	r->max_runners = 7;
	_cleanup_json_ json_t *objs = render1(r, false);
	json_t *ars = find(objs, "AutoscalingRunnerSet", "web");
	json_t *md = json_object_get(ars, "metadata");
	json_t *labels = json_object_get(md, "labels");
	json_t *ann = json_object_get(md, "annotations");
	assert_string_equal(json_string_value(json_object_get(labels, "app.kubernetes.io/version")),
	                    "0.14.2");
	assert_string_equal(json_string_value(json_object_get(labels, "app.kubernetes.io/component")),
	                    "autoscaling-runner-set");
	assert_string_equal(json_string_value(json_object_get(labels, "deskrun.io/runner")), "web");
	assert_string_equal(json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")),
	                    "deskrun");
	assert_string_equal(
		json_string_value(json_object_get(labels, "actions.github.com/scale-set-namespace")),
		"arc-runners");
	assert_string_equal(
		json_string_value(json_object_get(ann, "actions.github.com/cleanup-github-secret-name")),
		"web-gha-rs-github-secret");
	assert_string_equal(json_string_value(json_object_get(
				    ann, "actions.github.com/cleanup-no-permission-service-account-name")),
	                    "web-gha-rs-no-permission");
	const char *hash = json_string_value(json_object_get(ann, "actions.github.com/values-hash"));
	assert_int_equal(strlen(hash), 63);
	assert_string_equal(str_at(ars, "spec.githubConfigUrl"), "https://github.com/acme/web");
	assert_string_equal(str_at(ars, "spec.githubConfigSecret"), "web-gha-rs-github-secret");
	assert_string_equal(str_at(ars, "spec.runnerScaleSetName"), "web");
	assert_string_equal(str_at(ars, "spec.runnerScaleSetLabels.1"), "x64");
	assert_int_equal(json_integer_value(at(ars, "spec.minRunners")), 0);
	assert_int_equal(json_integer_value(at(ars, "spec.maxRunners")), 7);
	/* The hash follows the spec. */
	_cleanup_free_ char *h1 = dr_xstrdup(hash);
	r->max_runners = 8;
	_cleanup_json_ json_t *objs2 = render1(r, false);
	json_t *ann2 = at(find(objs2, "AutoscalingRunnerSet", "web"), "metadata.annotations");
	assert_string_not_equal(h1, json_string_value(json_object_get(
					    ann2, "actions.github.com/values-hash")));
}

static void
rbac(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("web", &dr_mode_kubernetes);
	size_t i;
	assert_int_equal(dr_settings_lookup("controller-service-account", &i), 0);
	dr_settings_set(&settings, i, "my-arc-gha-rs-controller");
	_cleanup_json_ json_t *objs = render1(r, false);
	json_t *mrb = find(objs, "RoleBinding", "web-gha-rs-manager");
	assert_string_equal(str_at(mrb, "subjects.0.name"), "my-arc-gha-rs-controller");
	assert_string_equal(str_at(mrb, "subjects.0.namespace"), "arc-systems");
	assert_string_equal(str_at(mrb, "roleRef.name"), "web-gha-rs-manager");
	json_t *mr = find(objs, "Role", "web-gha-rs-manager");
	assert_string_equal(str_at(mr, "metadata.finalizers.0"), "actions.github.com/cleanup-protection");
	json_t *rules = json_object_get(mr, "rules");
	assert_int_equal(json_array_size(rules), 6);
	assert_string_equal(str_at(rules, "0.resources.0"), "pods");
	assert_int_equal(json_array_size(at(rules, "0.verbs")), 3);
	assert_string_equal(str_at(rules, "5.apiGroups.0"), "rbac.authorization.k8s.io");
	json_t *km = find(objs, "Role", "web-gha-rs-kube-mode");
	assert_non_null(km);
	json_t *krules = json_object_get(km, "rules");
	assert_int_equal(json_array_size(krules), 5);
	assert_string_equal(str_at(krules, "3.apiGroups.0"), "batch");
	assert_string_equal(str_at(krules, "3.resources.0"), "jobs");
	json_t *kb = find(objs, "RoleBinding", "web-gha-rs-kube-mode");
	assert_string_equal(str_at(kb, "subjects.0.name"), "web-gha-rs-kube-mode");
	assert_string_equal(str_at(kb, "subjects.0.namespace"), "arc-runners");
	assert_non_null(find(objs, "ServiceAccount", "web-gha-rs-kube-mode"));
	assert_null(find(objs, "ServiceAccount", "web-gha-rs-no-permission"));
	dr_settings_set(&settings, i, "arc-gha-rs-controller");
}

static void
kubernetes_mode(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("kube", &dr_mode_kubernetes);
	r->storage_class = dr_xstrdup("fast");
	r->work_volume_size = dr_xstrdup("5Gi");
	_cleanup_json_ json_t *objs = render1(r, false);
	json_t *spec = at(find(objs, "AutoscalingRunnerSet", "kube"), "spec.template.spec");
	json_t *run = at(spec, "containers.0");
	assert_string_equal(env_of(run, "ACTIONS_RUNNER_CONTAINER_HOOKS"), "/home/runner/k8s/index.js");
	assert_string_equal(env_of(run, "ACTIONS_RUNNER_POD_NAME"), "<valueFrom>");
	assert_string_equal(env_of(run, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER"), "true");
	assert_null(env_of(run, "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE"));
	assert_string_equal(str_at(run, "volumeMounts.0.mountPath"), "/home/runner/_work");
	json_t *claim = at(spec, "volumes.0.ephemeral.volumeClaimTemplate.spec");
	assert_string_equal(str_at(claim, "accessModes.0"), "ReadWriteOnce");
	assert_string_equal(str_at(claim, "storageClassName"), "fast");
	assert_string_equal(str_at(claim, "resources.requests.storage"), "5Gi");
	assert_int_equal(count_kind(objs, "ConfigMap"), 0);
	assert_string_equal(str_at(spec, "serviceAccountName"), "kube-gha-rs-kube-mode");

	/* With a cache the job pods get it through a hook extension. */
	dr_runner_add_cache(r, NULL, "/root/.cache");
	_cleanup_json_ json_t *objs2 = render1(r, false);
	json_t *spec2 = at(find(objs2, "AutoscalingRunnerSet", "kube"), "spec.template.spec");
	json_t *run2 = at(spec2, "containers.0");
	assert_string_equal(env_of(run2, "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE"), "/etc/hooks/content");
	assert_string_equal(str_at(spec2, "volumes.1.configMap.name"), "kube-hook-extension");
	_cleanup_json_ json_t *t = hook_template(objs2, "kube-hook-extension");
	assert_string_equal(str_at(t, "spec.containers.0.name"), "$job");
	assert_string_equal(str_at(t, "spec.containers.0.volumeMounts.0.mountPath"), "/root/.cache");
	assert_null(at(t, "spec.containers.0.securityContext"));
	assert_string_equal(str_at(t, "spec.volumes.0.hostPath.path"),
	                    "/var/lib/deskrun/cache/kube/cache-0");
	assert_string_equal(json_string_value(json_object_get(at(t, "metadata.labels"),
	                                                      "deskrun.io/runner")),
	                    "kube");
}

static void
privileged_mode(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("priv", &dr_mode_privileged);
	dr_runner_add_cache(r, NULL, "/var/lib/docker");
	dr_runner_add_cache(r, "/srv/nix", "/nix/store-host");
	r->runner_image = dr_xstrdup("registry.local/runner:1");
	_cleanup_json_ json_t *objs = render1(r, false);
	json_t *spec = at(find(objs, "AutoscalingRunnerSet", "priv"), "spec.template.spec");
	json_t *run = at(spec, "containers.0");
	/* The runner itself stays unprivileged. */
	assert_null(at(run, "securityContext"));
	assert_string_equal(env_of(run, "ACTIONS_RUNNER_CONTAINER_HOOKS"),
	                    "/home/runner/k8s-novolume/index.js");
	assert_string_equal(env_of(run, "ACTIONS_RUNNER_IMAGE"), "registry.local/runner:1");
	assert_string_equal(env_of(run, "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE"), "/etc/hooks/content");
	assert_string_equal(str_at(run, "volumeMounts.0.mountPath"), "/etc/hooks");
	assert_true(json_is_true(at(run, "volumeMounts.0.readOnly")));
	assert_int_equal(json_array_size(at(spec, "volumes")), 1);
	/* kubernetes-novolume: the kube-mode Role has no batch/jobs. */
	json_t *km = find(objs, "Role", "priv-gha-rs-kube-mode");
	assert_int_equal(json_array_size(json_object_get(km, "rules")), 4);
	_cleanup_json_ json_t *t = hook_template(objs, "priv-hook-extension");
	json_t *job = at(t, "spec.containers.0");
	assert_string_equal(str_at(job, "name"), "$job");
	assert_true(json_is_true(at(job, "securityContext.privileged")));
	assert_int_equal(json_integer_value(at(job, "securityContext.runAsUser")), 0);
	assert_string_equal(str_at(job, "securityContext.capabilities.add.0"), "SYS_ADMIN");
	json_t *mounts = json_object_get(job, "volumeMounts");
	assert_int_equal(json_array_size(mounts), 8);
	assert_string_equal(str_at(mounts, "1.mountPath"), "/sys/fs/cgroup");
	assert_string_equal(str_at(mounts, "1.mountPropagation"), "Bidirectional");
	assert_string_equal(str_at(mounts, "6.mountPath"), "/var/lib/docker");
	json_t *vols = at(t, "spec.volumes");
	assert_string_equal(str_at(vols, "0.hostPath.path"), "/sys");
	assert_string_equal(str_at(vols, "0.hostPath.type"), "Directory");
	assert_string_equal(str_at(vols, "6.hostPath.path"), "/var/lib/deskrun/cache/priv/cache-0");
	assert_string_equal(str_at(vols, "7.hostPath.path"), "/srv/nix");
	/* The cache root setting moves the caches. */
	size_t i;
	assert_int_equal(dr_settings_lookup("cache-root", &i), 0);
	dr_settings_set(&settings, i, "/data/deskrun");
	_cleanup_json_ json_t *objs2 = render1(r, false);
	_cleanup_json_ json_t *t2 = hook_template(objs2, "priv-hook-extension");
	assert_string_equal(str_at(t2, "spec.volumes.6.hostPath.path"),
	                    "/data/deskrun/priv/cache-0");
	dr_settings_set(&settings, i, DR_DEFAULT_CACHE_ROOT);
}

static void
instances(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("ci", &dr_mode_dind);
	r->instances = 3;
	r->min_runners = r->max_runners = 1;
	dr_runner_add_cache(r, NULL, "/var/lib/docker");
	_cleanup_json_ json_t *objs = render1(r, false);
	assert_int_equal(count_kind(objs, "AutoscalingRunnerSet"), 3);
	assert_int_equal(count_kind(objs, "ServiceAccount"), 3);
	assert_int_equal(count_kind(objs, "Role"), 3);
	assert_int_equal(count_kind(objs, "RoleBinding"), 3);
	assert_int_equal(count_kind(objs, "Namespace"), 1);
	for (int k = 1; k <= 3; k++) {
		char name[16], path[64];
		snprintf(name, sizeof(name), "ci-%d", k);
		snprintf(path, sizeof(path), "/var/lib/deskrun/cache/ci-%d/cache-0", k);
		json_t *ars = find(objs, "AutoscalingRunnerSet", name);
		assert_non_null(ars);
		assert_string_equal(str_at(ars, "spec.runnerScaleSetName"), name);
		assert_int_equal(json_integer_value(at(ars, "spec.maxRunners")), 1);
		assert_string_equal(str_at(ars, "spec.template.spec.volumes.3.hostPath.path"), path);
		assert_string_equal(json_string_value(json_object_get(at(ars, "metadata.labels"),
		                                                      "deskrun.io/runner")),
		                    "ci");
		assert_string_equal(json_string_value(json_object_get(at(ars, "spec.template.metadata.labels"),
		                                                      "deskrun.io/scale-set")),
		                    name);
	}
}

static void
secrets(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("web", &dr_mode_dind);
	_cleanup_json_ json_t *none = render1(r, false);
	assert_int_equal(count_kind(none, "Secret"), 0);
	_cleanup_json_ json_t *with = render1(r, true);
	json_t *s = find(with, "Secret", "web-gha-rs-github-secret");
	assert_non_null(s);
	assert_string_equal(str_at(s, "data.github_token"), "Z2hwX3NlY3JldA==");
	assert_int_equal(json_object_size(json_object_get(s, "data")), 1);
	assert_null(json_object_get(s, "type"));

	_cleanup_runner_ dr_runner *a = runner("app", &dr_mode_dind);
	free(a->auth.token);
	a->auth.token = NULL;
	a->auth.type = DR_AUTH_APP;
	a->auth.app_id = dr_xstrdup("12");
	a->auth.installation_id = dr_xstrdup("34");
	a->auth.private_key = dr_xstrdup("KEY");
	_cleanup_json_ json_t *app = render1(a, true);
	json_t *d = at(find(app, "Secret", "app-gha-rs-github-secret"), "data");
	assert_int_equal(json_object_size(d), 3);
	assert_string_equal(json_string_value(json_object_get(d, "github_app_id")), "MTI=");
	assert_string_equal(json_string_value(json_object_get(d, "github_app_installation_id")),
	                    "MzQ=");
	assert_string_equal(json_string_value(json_object_get(d, "github_app_private_key")), "S0VZ");
}

static void
order_and_namespaces(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *a = runner("a", &dr_mode_privileged);
	_cleanup_runner_ dr_runner *b = runner("b", &dr_mode_kubernetes);
	_cleanup_runner_ dr_runner *c = runner("c", &dr_mode_dind);
	c->namespace = dr_xstrdup("other");
	const dr_runner *list[] = { a, b, c };
	dr_render_opts o = { .include_secrets = true };
	_cleanup_json_ json_t *objs = dr_render(list, 3, &settings, &o);
	static const char *const order[] = { "Namespace", "ServiceAccount", "Secret", "ConfigMap",
		                             "Role", "RoleBinding", "AutoscalingRunnerSet", NULL };
	size_t rank = 0, i;
	json_t *obj;
	json_array_foreach(objs, i, obj) {
		const char *kind = json_string_value(json_object_get(obj, "kind"));
		while (order[rank] && strcmp(order[rank], kind) != 0)
			rank++;
		if (!order[rank])
			fail_msg("object %zu (%s) is out of apply order", i, kind);
	}
	assert_int_equal(count_kind(objs, "Namespace"), 2);
	assert_string_equal(str_at(objs, "0.metadata.name"), "arc-runners");
	assert_string_equal(str_at(objs, "1.metadata.name"), "other");
	assert_null(json_object_get(at(objs, "0.metadata.labels"), "deskrun.io/runner"));
	/* Within a kind: definition order. */
	json_t *last = json_array_get(objs, json_array_size(objs) - 1);
	assert_string_equal(str_at(last, "metadata.name"), "c");
	assert_string_equal(str_at(last, "metadata.namespace"), "other");
	/* Every object but the namespaces names its runner. */
	json_array_foreach(objs, i, obj) {
		json_t *labels = at(obj, "metadata.labels");
		assert_string_equal(json_string_value(json_object_get(labels,
		                                                      "app.kubernetes.io/managed-by")),
		                    "deskrun");
		if (strcmp(str_at(obj, "kind"), "Namespace") != 0)
			assert_non_null(json_object_get(labels, "deskrun.io/runner"));
	}
	/* Determinism. */
	_cleanup_json_ json_t *again = dr_render(list, 3, &settings, &o);
	_cleanup_free_ char *s1 = json_dumps(objs, 0);
	_cleanup_free_ char *s2 = json_dumps(again, 0);
	assert_string_equal(s1, s2);
}

/* Names of the containers of a pod spec that mount the hostPath `path`. */
static char *
mounters(json_t *spec, const char *path)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	const char *vol = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		const char *p = json_string_value(json_object_get(json_object_get(v, "hostPath"), "path"));
		if (p && strcmp(p, path) == 0)
			vol = json_string_value(json_object_get(v, "name"));
	}
	const char *lists[] = { "initContainers", "containers" };
	for (size_t l = 0; vol && l < 2; l++) {
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			size_t k;
			json_t *m;
			json_array_foreach(json_object_get(c, "volumeMounts"), k, m) {
				if (strcmp(json_string_value(json_object_get(m, "name")), vol) == 0)
					dr_buf_printf(&b, "%s%s", b.len ? "," : "",
					              json_string_value(json_object_get(c, "name")));
			}
		}
	}
	return dr_buf_steal(&b);
}

static void
daemonset_only_guard_mounts_socket(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *a = runner("team-a", &dr_mode_dind_daemonset);
	_cleanup_runner_ dr_runner *b = runner("team-b", &dr_mode_dind_daemonset);
	const dr_runner *list[] = { a, b };
	dr_render_opts o = { 0 };
	_cleanup_json_ json_t *objs = dr_render(list, 2, &settings, &o);
	assert_int_equal(count_kind(objs, "DaemonSet"), 1);
	const char *sock = "/var/lib/deskrun/cache/daemonset/sock";
	const char *names[] = { "team-a", "team-b" };
	for (size_t i = 0; i < 2; i++) {
		json_t *spec = at(find(objs, "AutoscalingRunnerSet", names[i]), "spec.template.spec");
		_cleanup_free_ char *who = mounters(spec, sock);
		assert_string_equal(who, "guard");
		json_t *guard = at(spec, "initContainers.0");
		assert_string_equal(str_at(guard, "command.7"), names[i]); /* --tenant */
		json_t *run = at(spec, "containers.0");
		assert_string_equal(env_of(run, "DOCKER_HOST"), "unix:///run/deskrun/docker.sock");
		assert_null(at(run, "securityContext"));
	}
	json_t *ds = find(objs, "DaemonSet", "deskrun-dind");
	assert_string_equal(str_at(ds, "metadata.namespace"), "deskrun-system");
	json_t *dspec = at(ds, "spec.template.spec");
	_cleanup_free_ char *daemon = mounters(dspec, sock);
	assert_string_equal(daemon, "dockerd");
	assert_true(json_is_true(at(dspec, "containers.0.securityContext.privileged")));
	assert_null(json_object_get(at(ds, "metadata.labels"), "deskrun.io/runner"));
	assert_non_null(find(objs, "Namespace", "deskrun-system"));

	/* docker-socket: the node's raw socket is the guard's alone... */
	_cleanup_runner_ dr_runner *s = runner("sock", &dr_mode_docker_socket);
	_cleanup_json_ json_t *o1 = render1(s, false);
	json_t *spec = at(find(o1, "AutoscalingRunnerSet", "sock"), "spec.template.spec");
	_cleanup_free_ char *w1 = mounters(spec, "/var/run/docker.sock");
	assert_string_equal(w1, "guard");
	/* ...also with --no-guard, where the guard only maps the runner's folders. */
	s->no_guard = true;
	_cleanup_json_ json_t *o2 = render1(s, false);
	json_t *spec2 = at(find(o2, "AutoscalingRunnerSet", "sock"), "spec.template.spec");
	_cleanup_free_ char *w2 = mounters(spec2, "/var/run/docker.sock");
	assert_string_equal(w2, "guard");
	json_t *cmd = at(spec2, "initContainers.0.command");
	assert_string_equal(json_string_value(json_array_get(cmd, json_array_size(cmd) - 1)),
	                    "--unrestricted");
}

static void
dind_tuning_objects(void **state)
{
	(void)state;
	_cleanup_runner_ dr_runner *r = runner("tuned", &dr_mode_dind);
	dr_strv_push(&r->registry_mirrors, "auto");
	dr_strv_push(&r->registry_mirrors, "https://mirror.gcr.io");
	r->mtu = 1450;
	r->dockerd_memory = dr_xstrdup("2Gi");
	r->buildkit = true;
	r->proxy = dr_xstrdup("http://bot:pw@proxy:3128");
	_cleanup_json_ json_t *objs = render1(r, true);
	json_t *cm = find(objs, "ConfigMap", "tuned-dockerd");
	const char *dj = json_string_value(json_object_get(json_object_get(cm, "data"), "daemon.json"));
	json_error_t je;
	_cleanup_json_ json_t *d = json_loads(dj, 0, &je);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "mtu")), 1450);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "registry-mirrors"), 0)),
	                    "http://deskrun-registry-mirror.deskrun-system.svc.cluster.local:5000");
	assert_string_equal(json_string_value(json_object_get(d, "storage-driver")), "overlay2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "log-opts"), "max-size")),
	                    "10m");
	assert_non_null(find(objs, "Deployment", "deskrun-registry-mirror"));
	assert_non_null(find(objs, "Service", "deskrun-registry-mirror"));
	json_t *spec = at(find(objs, "AutoscalingRunnerSet", "tuned"), "spec.template.spec");
	json_t *dind = at(spec, "initContainers.1");
	assert_string_equal(str_at(dind, "resources.limits.memory"), "2Gi");
	assert_string_equal(str_at(spec, "containers.0.name"), "runner");
	assert_string_equal(env_of(at(spec, "containers.0"), "DOCKER_BUILDKIT"), "1");
	/* The proxy: credentials in a Secret, referenced, never in the objects. */
	json_t *ars = find(objs, "AutoscalingRunnerSet", "tuned");
	assert_string_equal(str_at(ars, "spec.proxy.https.url"), "http://proxy:3128");
	assert_string_equal(str_at(ars, "spec.proxy.http.credentialSecretRef"), "tuned-gha-rs-proxy");
	assert_string_equal(env_of(dind, "HTTPS_PROXY"), "<valueFrom>");
	json_t *sec = find(objs, "Secret", "tuned-gha-rs-proxy");
	assert_string_equal(str_at(sec, "data.username"), "Ym90");
	_cleanup_free_ char *all = json_dumps(ars, 0);
	assert_null(strstr(all, "pw@"));
	/* Default storage: an emptyDir, so overlay2 runs on the node's disk. */
	json_t *vols = at(spec, "volumes");
	size_t i;
	json_t *v;
	bool empty_storage = false;
	json_array_foreach(vols, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), "docker-storage") == 0)
			empty_storage = json_object_get(v, "emptyDir") != NULL;
	}
	assert_true(empty_storage);
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dind_layout),     cmocka_unit_test(ars_fields),
		cmocka_unit_test(rbac),            cmocka_unit_test(kubernetes_mode),
		cmocka_unit_test(privileged_mode), cmocka_unit_test(instances),
		cmocka_unit_test(secrets),         cmocka_unit_test(order_and_namespaces),
		cmocka_unit_test(daemonset_only_guard_mounts_socket),
		cmocka_unit_test(dind_tuning_objects),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
