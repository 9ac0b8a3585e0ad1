/* test_plan.c: the up/down plan, durations and the kind cluster configuration. */
#include "test.h"

#include "lib/cluster.h"
#include "lib/duration.h"
#include "lib/plan.h"
#include "lib/yaml.h"

static json_t *
obj(const char *kind, const char *ns, const char *name, const char *runner)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", kind, "metadata",
	                      "name", name);
	json_t *md = json_object_get(o, "metadata");
	if (ns)
		json_object_set_new(md, "namespace", json_string(ns));
	json_t *labels = json_pack("{s:s}", "app.kubernetes.io/managed-by", "deskrun");
	if (runner)
		json_object_set_new(labels, "deskrun.io/runner", json_string(runner));
	json_object_set_new(md, "labels", labels);
	return o;
}

static void
plan_actions(void **state)
{
	(void)state;
	_cleanup_json_ json_t *rendered = json_array();
	json_array_append_new(rendered, obj("Namespace", NULL, "arc-runners", NULL));
	json_array_append_new(rendered, obj("ServiceAccount", "arc-runners", "web-sa", "web"));
	json_array_append_new(rendered, obj("AutoscalingRunnerSet", "arc-runners", "web", "web"));
	json_array_append_new(rendered, obj("AutoscalingRunnerSet", "arc-runners", "api", "api"));
	dr_stamp_objects(rendered);
	/* live: the namespace and web's SA as applied, web's set changed since, plus leftovers. */
	_cleanup_json_ json_t *live = json_deep_copy(rendered);
	json_array_remove(live, 3); /* api is new */
	json_t *web = json_array_get(live, 2);
	json_object_set_new(json_object_get(json_object_get(web, "metadata"), "annotations"),
	                    DR_HASH_ANNOTATION, json_string("stale"));
	json_array_append_new(live, obj("Secret", "arc-runners", "web-3-secret", "web"));
	json_array_append_new(live, obj("AutoscalingRunnerSet", "arc-runners", "web-3", "web"));
	json_array_append_new(live, obj("AutoscalingRunnerSet", "team", "gone", "gone"));
	json_array_append_new(live, obj("Namespace", NULL, "old-ns", NULL));

	_cleanup_plan_ dr_plan *all = dr_plan_make(rendered, live, NULL);
	assert_int_equal(all->count[DR_ACTION_KEEP], 2);
	assert_int_equal(all->count[DR_ACTION_UPDATE], 1);
	assert_int_equal(all->count[DR_ACTION_CREATE], 1);
	assert_int_equal(all->count[DR_ACTION_DELETE], 3); /* never the namespace */
	/* Deletes: sets first, then the rest. */
	assert_int_equal(all->items[4].action, DR_ACTION_DELETE);
	assert_string_equal(dr_obj_kind(all->items[4].obj), "AutoscalingRunnerSet");
	assert_string_equal(dr_obj_kind(all->items[5].obj), "AutoscalingRunnerSet");
	assert_string_equal(dr_obj_name(all->items[6].obj), "web-3-secret");
	_cleanup_json_ json_t *apply = dr_plan_to_apply(all);
	assert_int_equal(json_array_size(apply), 2);
	assert_string_equal(dr_obj_name(json_array_get(apply, 0)), "web");
	assert_string_equal(dr_obj_name(json_array_get(apply, 1)), "api");

	/* Scoped to web: "gone" belongs to another runner and stays. */
	char *scope[] = { (char *)"web", NULL };
	_cleanup_plan_ dr_plan *webonly = dr_plan_make(rendered, live, scope);
	assert_int_equal(webonly->count[DR_ACTION_DELETE], 2);
	_cleanup_free_ char *text = dr_plan_text(webonly, false);
	assert_non_null(strstr(text, "  delete    AutoscalingRunnerSet   arc-runners/web-3\n"));
	assert_non_null(strstr(text, "1 to create, 1 to update, 2 to delete, 2 unchanged\n"));
	assert_null(strstr(text, "gone"));
}

static void
stamp(void **state)
{
	(void)state;
	_cleanup_json_ json_t *a = json_array();
	json_array_append_new(a, obj("Secret", "ns", "s", "r"));
	dr_stamp_objects(a);
	const char *h1 = json_string_value(json_object_get(
		json_object_get(json_object_get(json_array_get(a, 0), "metadata"), "annotations"),
		DR_HASH_ANNOTATION));
	assert_int_equal(strlen(h1), 64);
	_cleanup_free_ char *keep = dr_xstrdup(h1);
	dr_stamp_objects(a); /* stamping again gives the same hash: the old stamp is left out */
	assert_string_equal(keep, json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(a, 0), "metadata"), "annotations"), DR_HASH_ANNOTATION)));
	json_object_set_new(json_array_get(a, 0), "data", json_pack("{s:s}", "k", "dg=="));
	dr_stamp_objects(a);
	assert_string_not_equal(keep, json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(a, 0), "metadata"), "annotations"), DR_HASH_ANNOTATION)));
	assert_string_equal(dr_kind_resource("AutoscalingRunnerSet"),
	                    "autoscalingrunnersets.actions.github.com");
	assert_null(dr_kind_resource("Pod"));
	assert_true(dr_kind_apply_rank("Namespace") < dr_kind_apply_rank("Secret"));
}

static void
durations(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	long ms;
	static const struct {
		const char *in;
		long ms;
	} good[] = { { "90s", 90000 }, { "5m", 300000 }, { "1h30m", 5400000 }, { "250ms", 250 },
		     { "2", 2000 },    { "1m30s", 90000 } };
	for (size_t i = 0; i < DR_ARRAY_LEN(good); i++) {
		assert_succeeds(dr_duration_parse("--wait", good[i].in, &ms, &err_));
		assert_int_equal(ms, good[i].ms);
	}
	assert_fails(dr_duration_parse("--wait", "soon", &ms, &err_), DR_EXIT_USAGE,
	             "--wait \"soon\": not a duration: use e.g. 90s, 5m or 1h30m (at most 7 days)");
	static const char *const bad[] = { "", "5x", "m", "1.5m", "-1s", "1s2", "999h", NULL };
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(dr_duration_parse("--wait", bad[i], &ms, &err_), -1);
		dr_err_free(err_);
		err_ = NULL;
	}
	_cleanup_free_ char *t1 = dr_duration_text(120000);
	_cleanup_free_ char *t2 = dr_duration_text(3725000);
	_cleanup_free_ char *t3 = dr_duration_text(0);
	assert_string_equal(t1, "2m");
	assert_string_equal(t2, "1h2m5s");
	assert_string_equal(t3, "0s");
}

static void
kind_config(void **state)
{
	(void)state;
	dr_settings s;
	dr_settings_init(&s);
	_cleanup_cluster_ dr_cluster *c = dr_cluster_new(DR_PROVIDER_KIND, "dev", "kind-dev");
	c->host_cache_dir = dr_xstrdup("/home/u/.cache/deskrun/cache");
	_cleanup_json_ json_t *k = dr_kind_config(c, &s);
	_cleanup_free_ char *y = dr_yaml_dump(k);
	assert_string_equal(y, "kind: Cluster\n"
	                       "apiVersion: kind.x-k8s.io/v1alpha4\n"
	                       "name: dev\n"
	                       "nodes:\n"
	                       "- role: control-plane\n"
	                       "  extraMounts:\n"
	                       "  - hostPath: /home/u/.cache/deskrun/cache\n"
	                       "    containerPath: /var/lib/deskrun/cache\n");
	c->docker_socket = true;
	_cleanup_json_ json_t *k2 = dr_kind_config(c, &s);
	json_t *m = json_array_get(
		json_object_get(json_array_get(json_object_get(k2, "nodes"), 0), "extraMounts"), 1);
	assert_string_equal(json_string_value(json_object_get(m, "containerPath")),
	                    "/var/run/docker.sock");
	/* The record round-trips. */
	c->kubeconfig = dr_xstrdup("/k");
	_cleanup_json_ json_t *j = dr_cluster_to_json(c);
	dr_err *err_ = NULL;
	_cleanup_cluster_ dr_cluster *back = dr_cluster_from_json(j, &err_);
	assert_non_null(back);
	_cleanup_json_ json_t *j2 = dr_cluster_to_json(back);
	assert_true(json_equal(j, j2));
	json_object_set_new(j, "provider", json_string("minikube"));
	assert_null(dr_cluster_from_json(j, &err_));
	assert_string_equal(err_->msg,
	                    "cluster: unknown provider \"minikube\" (kind, k3s, existing or local)");
	dr_err_free(err_);
	dr_settings_clear(&s);
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_actions),
		cmocka_unit_test(stamp),
		cmocka_unit_test(durations),
		cmocka_unit_test(kind_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
