/* deploy.c: controller, CRDs, live objects, apply and ordered deletion (see deploy.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/duration.h"
#include "lib/k8s.h"
#include "lib/render.h"
#include "lib/yaml.h"
#include "sys/deploy.h"
#include "sys/kube.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *const arc_crds[] = {
	"crd/autoscalingrunnersets.actions.github.com",
	"crd/autoscalinglisteners.actions.github.com",
	"crd/ephemeralrunnersets.actions.github.com",
	"crd/ephemeralrunners.actions.github.com",
	NULL,
};

/* The version in helm's "<name>-<version>" chart column: the name never has a '-' followed by
 * a digit; the version starts at the first. */
static char *
chart_column_version(const char *chart)
{
	for (size_t i = 0; chart && chart[i] && chart[i + 1]; i++)
		if (chart[i] == '-' && chart[i + 1] >= '0' && chart[i + 1] <= '9')
			return dr_xstrdup(chart + i + 1);
	return NULL;
}

int
dr_controller_version(const dr_deploy *d, char **version, dr_err **err)
{
	/* `helm list -o json` has carried the chart column ("<name>-<version>") since helm 3.0.
	 * (`helm status -o json` has no chart in helm 3.21: only the release manifest's labels,
	 * which a chart without templates has none of.) --all: pending and failed releases too. */
	const char *ns = d->config->settings.controller_namespace;
	_cleanup_strv_ char **args =
		dr_argv("list", "--namespace", ns, "--all", "--filter", "^" DR_CONTROLLER_RELEASE "$",
		        "--output", "json", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .timeout_ms = DR_KUBECTL_TIMEOUT_MS };
	*version = NULL;
	if (dr_helm(d->cluster, args, &call, &res, err) < 0)
		return -1;
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(res.out, res.out_len, 0, &je);
	if (!json_is_array(j))
		return dr_fail(err, DR_EXIT_FAIL,
		               "'helm list' printed no JSON list of releases (line %d: %s)", je.line,
		               j ? "not a list" : je.text);
	size_t i;
	json_t *rel;
	json_array_foreach(j, i, rel) {
		if (!dr_streq(json_string_value(json_object_get(rel, "name")), DR_CONTROLLER_RELEASE))
			continue;
		const char *chart = json_string_value(json_object_get(rel, "chart"));
		const char *status = json_string_value(json_object_get(rel, "status"));
		_cleanup_free_ char *v = chart_column_version(chart);
		if (!v)
			return dr_fail(err, DR_EXIT_FAIL,
			               "helm release %s in %s: no chart version in its chart column "
			               "\"%s\"",
			               DR_CONTROLLER_RELEASE, ns, chart ? chart : "");
		/* A failed or pending release is treated like an old one: upgrade it. */
		*version = status && strcmp(status, "deployed") == 0 ? TAKE_PTR(v)
		                                                     : dr_xasprintf("%s (%s)", v, status);
		return 0;
	}
	return 0;
}

const char *
dr_controller_chart(const dr_settings *s)
{
	return s->controller_chart && *s->controller_chart ? s->controller_chart
	                                                   : DR_CONTROLLER_CHART;
}

/* The chart reference and, for a registry, the version (helm ignores --version for a local
 * chart: it installs whatever the directory or archive holds). */
static void
add_chart(char ***argv, const dr_settings *s)
{
	const char *chart = dr_controller_chart(s);
	dr_argv_add(argv, chart);
	if (strncmp(chart, "oci://", 6) == 0) {
		dr_argv_add(argv, "--version");
		dr_argv_add(argv, DR_ARC_VERSION);
	}
}

int
dr_controller_chart_check(const dr_settings *s, dr_err **err)
{
	const char *chart = s->controller_chart;
	if (!chart || !*chart)
		return 0; /* ghcr.io's, by --version */
	static const char fix[] = "set controller-chart to ARC's gha-runner-scale-set-controller "
	                          "chart " DR_ARC_VERSION " (a directory, a .tgz or an oci:// "
	                          "mirror), or to '' for ghcr.io's";
	if (chart[0] == '/') {
		struct stat st;
		if (stat(chart, &st) < 0)
			return dr_fail(err, DR_EXIT_USAGE, "controller-chart \"%s\": %s: %s", chart,
			               strerror(errno), fix);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_free_ char *cy = dr_xasprintf("%s/Chart.yaml", chart);
			if (access(cy, R_OK) < 0)
				return dr_fail(err, DR_EXIT_USAGE,
				               "controller-chart \"%s\": no Chart.yaml in it, not a Helm "
				               "chart: %s",
				               chart, fix);
		} else if (!S_ISREG(st.st_mode)) {
			return dr_fail(err, DR_EXIT_USAGE,
			               "controller-chart \"%s\": neither a directory nor a file: %s",
			               chart, fix);
		}
	}
	_cleanup_strv_ char **argv = dr_argv("helm", "show", "chart", NULL);
	add_chart(&argv, s);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .timeout_ms = DR_HELM_TIMEOUT_MS };
	if (dr_run_tool(argv, DR_HINT_HELM, &call, &res, err) < 0)
		return dr_err_prefix(err, "controller-chart \"%s\"", chart);
	_cleanup_err_ dr_err *ye = NULL;
	_cleanup_json_ json_t *docs = dr_yaml_parse(res.out, res.out_len, &ye);
	json_t *meta = json_array_get(docs, 0);
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *version = json_string_value(json_object_get(meta, "version"));
	if (!dr_streq(name, "gha-runner-scale-set-controller") ||
	    !dr_streq(version, DR_ARC_VERSION))
		return dr_fail(err, DR_EXIT_USAGE,
		               "controller-chart \"%s\" is chart %s %s, deskrun installs "
		               "gha-runner-scale-set-controller " DR_ARC_VERSION ": %s",
		               chart, name ? name : "(no name)", version ? version : "(no version)",
		               fix);
	return 0;
}

static int
apply_stdin(const dr_deploy *d, const char *text, size_t len, dr_err **err)
{
	_cleanup_strv_ char **args = dr_argv("apply", "--server-side", "--field-manager=deskrun",
	                                     "--force-conflicts", "-f", "-", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .stdin_data = text, .stdin_len = len, .timeout_ms = 5 * 60000 };
	return dr_kubectl(d->cluster, args, &call, &res, err);
}

int
dr_controller_ensure(const dr_deploy *d, bool *changed, dr_err **err)
{
	*changed = false;
	_cleanup_free_ char *have = NULL;
	if (dr_controller_version(d, &have, err) < 0)
		return -1;
	if (have && strcmp(have, DR_ARC_VERSION) == 0)
		return 0;
	const dr_settings *s = &d->config->settings;
	if (dr_controller_chart_check(s, err) < 0)
		return -1;
	const char *ns = s->controller_namespace;
	const char *chart = dr_controller_chart(s);
	if (have) {
		dr_progress_step(d->progress, "upgrading the ARC controller %s -> %s from %s (CRDs first)",
		                 have, DR_ARC_VERSION, chart);
		_cleanup_strv_ char **full = dr_argv("helm", "show", "crds", NULL);
		add_chart(&full, s);
		_cleanup_spawn_ dr_spawn_result crds = { 0 };
		dr_call call = { .timeout_ms = DR_HELM_TIMEOUT_MS };
		if (dr_run_tool(full, DR_HINT_HELM, &call, &crds, err) < 0 ||
		    apply_stdin(d, crds.out, crds.out_len, err) < 0)
			return dr_err_prefix(err, "upgrade ARC's CRDs");
	} else {
		dr_progress_step(d->progress,
		                 "installing the ARC controller %s (helm release %s in %s) from %s",
		                 DR_ARC_VERSION, DR_CONTROLLER_RELEASE, ns, chart);
	}
	_cleanup_strv_ char **args = dr_argv("upgrade", "--install", DR_CONTROLLER_RELEASE,
	                                     "--namespace", ns, "--create-namespace", NULL);
	add_chart(&args, s);
	static const char *const tail[] = {
		"--wait",
		/* Prometheus endpoints of the controller and of every listener (chart values). */
		"--set", "metrics.controllerManagerAddr=:8080", "--set", "metrics.listenerAddr=:8080",
		"--set", "metrics.listenerEndpoint=/metrics", NULL,
	};
	for (size_t i = 0; tail[i]; i++)
		dr_argv_add(&args, tail[i]);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	if (dr_helm(d->cluster, args, NULL, &res, err) < 0)
		return dr_err_prefix(err, "install the ARC controller");
	*changed = true;
	return 0;
}

int
dr_controller_replicas(const dr_deploy *d, size_t *deployments, long *want, long *ready,
                       dr_err **err)
{
	_cleanup_strv_ char **args =
		dr_argv("get", "deployments.apps", "--namespace",
		        d->config->settings.controller_namespace, "-l", DR_CONTROLLER_SELECTOR, NULL);
	_cleanup_json_ json_t *deps = NULL;
	if (dr_kubectl_json(d->cluster, args, &deps, err) < 0)
		return -1;
	*deployments = json_array_size(json_object_get(deps, "items"));
	*want = *ready = 0;
	size_t i;
	json_t *dp;
	json_array_foreach(json_object_get(deps, "items"), i, dp) {
		*want += (long)json_integer_value(json_object_get(json_object_get(dp, "spec"), "replicas"));
		*ready += (long)json_integer_value(
			json_object_get(json_object_get(dp, "status"), "readyReplicas"));
	}
	return 0;
}

int
dr_crds_wait(const dr_deploy *d, dr_err **err)
{
	_cleanup_strv_ char **args = dr_argv("wait", "--for", "condition=established",
	                                     "--timeout=" DR_CRD_WAIT_TIMEOUT, NULL);
	for (size_t i = 0; arc_crds[i]; i++)
		dr_argv_add(&args, arc_crds[i]);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .timeout_ms = 150000 };
	if (dr_kubectl(d->cluster, args, &call, &res, err) < 0)
		return dr_err_prefix(err, "ARC's CRDs are not established");
	return 0;
}

int
dr_live_objects(const dr_deploy *d, const char *extra_selector, json_t **items, dr_err **err)
{
	_cleanup_free_ char *sel = extra_selector
	                                   ? dr_xasprintf("%s,%s", DR_MANAGED_SELECTOR, extra_selector)
	                                   : dr_xstrdup(DR_MANAGED_SELECTOR);
	_cleanup_free_ char *resources = dr_xstrdup(dr_managed_resources());
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_strv_ char **args = dr_argv("get", resources, "--all-namespaces", "-l", sel,
		                                     "-o", "json", NULL);
		_cleanup_spawn_ dr_spawn_result res = { 0 };
		dr_call call = { .allow_fail = true };
		if (dr_kubectl(d->cluster, args, &call, &res, err) < 0)
			return dr_err_prefix(err, "read the objects deskrun manages");
		if (res.status != 0 && attempt == 0 &&
		    strstr(res.err, "doesn't have a resource type")) {
			/* ARC's CRDs are not installed: nothing of that kind can exist. */
			char *cut = strstr(resources, ",autoscalingrunnersets.actions.github.com");
			if (cut)
				*cut = '\0';
			continue;
		}
		if (res.status != 0) {
			_cleanup_strv_ char **full = dr_argv("kubectl", "--context", d->cluster->context,
			                                     NULL);
			for (size_t i = 0; args[i]; i++)
				dr_argv_add(&full, args[i]);
			dr_spawn_opts so = { .argv = full };
			dr_spawn_check(&so, &res, err);
			return dr_err_prefix(err, "read the objects deskrun manages");
		}
		json_error_t je;
		_cleanup_json_ json_t *list = json_loadb(res.out, res.out_len, 0, &je);
		if (!list)
			return dr_fail(err, DR_EXIT_FAIL,
			               "read the objects deskrun manages: kubectl printed no valid JSON "
			               "(line %d: %s)",
			               je.line, je.text);
		json_t *it = json_object_get(list, "items");
		*items = it ? json_incref(it) : json_array();
		return 0;
	}
	DR_BUG("unreachable");
}

int
dr_apply_objects(const dr_deploy *d, json_t *objects, dr_err **err)
{
	_cleanup_buf_ dr_buf yaml = DR_BUF_INIT(0);
	size_t i;
	json_t *o;
	json_array_foreach(objects, i, o) {
		if (dr_yaml_emit_document(&yaml, o, err) < 0)
			return -1;
	}
	if (apply_stdin(d, yaml.data, yaml.len, err) < 0)
		return dr_err_prefix(err, "apply");
	return 0;
}

/* kubectl delete of `names` (RESOURCE/NAME) in one namespace, waiting for finalizers. */
static int
delete_batch(const dr_deploy *d, const char *ns, char **names, const char *what, long timeout_ms,
             dr_err **err)
{
	_cleanup_free_ char *t = dr_duration_text(timeout_ms);
	_cleanup_free_ char *topt = dr_xasprintf("--timeout=%s", t);
	_cleanup_strv_ char **args = dr_argv("delete", "--ignore-not-found", "--wait=true", topt, NULL);
	if (*ns) {
		dr_argv_add(&args, "--namespace");
		dr_argv_add(&args, ns);
	}
	for (size_t i = 0; names[i]; i++)
		dr_argv_add(&args, names[i]);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .timeout_ms = (int)timeout_ms + 30000 };
	_cleanup_err_ dr_err *e = NULL;
	if (dr_kubectl(d->cluster, args, &call, &res, &e) == 0)
		return 0;
	bool timeout = e->code == DR_EXIT_TIMEOUT || strstr(res.err, "timed out");
	if (!timeout)
		return dr_fail(err, e->code, "deleting %s: %s", what, e->msg);
	/* kubectl names each object it gave up on: "... timed out waiting for the condition on
	 * autoscalingrunnersets/web-3". Name those, not the whole batch. */
	_cleanup_buf_ dr_buf stuck = DR_BUF_INIT(0);
	for (const char *s = strstr(res.err, "condition on "); s; s = strstr(s, "condition on ")) {
		s += strlen("condition on ");
		const char *slash = strchr(s, '/');
		size_t len = strcspn(s, " \n");
		if (!slash || (size_t)(slash - s) > len)
			continue;
		const char *kind = strncmp(s, "autoscalingrunnersets", 21) == 0 ? "AutoscalingRunnerSet"
		                                                             : NULL;
		dr_buf_printf(&stuck, "%s%s %s%s%.*s", stuck.len ? ", " : "",
		              kind ? kind : "object", ns, *ns ? "/" : "",
		              (int)(len - (size_t)(slash - s) - 1), slash + 1);
	}
	return dr_fail(err, DR_EXIT_TIMEOUT,
	               "deleting %s did not finish within %s: ARC's finalizers are still on it; "
	               "check the controller with 'kubectl logs -n %s -l "
	               "app.kubernetes.io/part-of=gha-rs-controller'",
	               stuck.len ? dr_buf_str(&stuck) : what, t,
	               d->config->settings.controller_namespace);
}

static bool
has_finalizers(json_t *o)
{
	return json_array_size(json_object_get(json_object_get(o, "metadata"), "finalizers")) > 0;
}

static int
remove_finalizers(const dr_deploy *d, json_t *o, dr_err **err)
{
	_cleanup_strv_ char **args = dr_argv(
		"patch", dr_kind_resource(dr_obj_kind(o)), dr_obj_name(o), "--type=merge", "-p",
		"{\"metadata\":{\"finalizers\":null}}", NULL);
	if (*dr_obj_namespace(o)) {
		dr_argv_add(&args, "--namespace");
		dr_argv_add(&args, dr_obj_namespace(o));
	}
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .allow_fail = true };
	if (dr_kubectl(d->cluster, args, &call, &res, err) < 0)
		return -1;
	if (res.status != 0 && !strstr(res.err, "NotFound") && !strstr(res.err, "not found")) {
		_cleanup_strv_ char **full = dr_argv("kubectl", NULL);
		for (size_t i = 0; args[i]; i++)
			dr_argv_add(&full, args[i]);
		dr_spawn_opts so = { .argv = full };
		return dr_spawn_check(&so, &res, err);
	}
	return 0;
}

/* Delete the objects of `list`, grouped by namespace, in order. */
static int
delete_group(const dr_deploy *d, json_t *list, bool ars, long timeout_ms, dr_err **err)
{
	_cleanup_json_ json_t *by_ns = json_object(); /* ns -> [objects] */
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
		json_array_append(dr_json_array_at(by_ns, dr_obj_namespace(o)), o);
	const char *ns;
	json_t *objs;
	json_object_foreach(by_ns, ns, objs) {
		_cleanup_strv_ char **names = NULL;
		_cleanup_buf_ dr_buf what = DR_BUF_INIT(0);
		json_array_foreach(objs, i, o) {
			/* ARC removes its finalizers from an AutoscalingRunnerSet's objects when the set
			 * goes; an object whose set stays (a mode change) would wait forever. */
			if (!ars && has_finalizers(o) && remove_finalizers(d, o, err) < 0)
				return -1;
			_cleanup_free_ char *ref =
				dr_xasprintf("%s/%s", dr_kind_resource(dr_obj_kind(o)), dr_obj_name(o));
			dr_strv_push(&names, ref);
			dr_buf_printf(&what, "%s%s %s%s%s", i ? ", " : "", dr_obj_kind(o), ns,
			              *ns ? "/" : "", dr_obj_name(o));
			dr_progress_step(d->progress, "deleting %s %s%s%s", dr_obj_kind(o), ns,
			                 *ns ? "/" : "", dr_obj_name(o));
		}
		if (delete_batch(d, ns, names, dr_buf_str(&what), timeout_ms, err) < 0)
			return -1;
	}
	return 0;
}

static bool
same_object(json_t *a, json_t *b)
{
	return strcmp(dr_obj_kind(a), dr_obj_kind(b)) == 0 &&
	       strcmp(dr_obj_namespace(a), dr_obj_namespace(b)) == 0 &&
	       strcmp(dr_obj_name(a), dr_obj_name(b)) == 0;
}

int
dr_delete_planned(const dr_deploy *d, const dr_plan *p, long timeout_ms, dr_err **err)
{
	_cleanup_json_ json_t *sets = json_array();
	_cleanup_json_ json_t *rest = json_array();
	for (size_t i = 0; i < p->n; i++) {
		if (p->items[i].action != DR_ACTION_DELETE)
			continue;
		json_t *o = p->items[i].obj;
		json_array_append(strcmp(dr_obj_kind(o), "AutoscalingRunnerSet") == 0 ? sets : rest, o);
	}
	if (json_array_size(sets) > 0) {
		if (delete_group(d, sets, true, timeout_ms, err) < 0)
			return -1;
		/* ARC's controller deletes each set's Secret, ServiceAccount and RBAC itself: read
		 * again and delete only what is left, as it is now. */
		_cleanup_json_ json_t *live = NULL;
		if (dr_live_objects(d, NULL, &live, err) < 0)
			return -1;
		_cleanup_json_ json_t *left = json_array();
		size_t i, k;
		json_t *o, *l;
		json_array_foreach(rest, i, o) {
			json_array_foreach(live, k, l) {
				if (same_object(o, l)) {
					json_array_append(left, l);
					break;
				}
			}
		}
		json_decref(rest);
		rest = json_incref(left);
	}
	return delete_group(d, rest, false, timeout_ms, err);
}
