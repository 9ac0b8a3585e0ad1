/* plan.c: diff rendered against live objects (see plan.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/plan.h"
#include "lib/sha256.h"

static const struct {
	const char *kind;
	const char *resource;
} kinds[] = {
	/* apply order */
	{ "Namespace", "namespaces" },
	{ "ServiceAccount", "serviceaccounts" },
	{ "Secret", "secrets" },
	{ "ConfigMap", "configmaps" },
	{ "PersistentVolumeClaim", "persistentvolumeclaims" },
	{ "Role", "roles.rbac.authorization.k8s.io" },
	{ "RoleBinding", "rolebindings.rbac.authorization.k8s.io" },
	{ "DaemonSet", "daemonsets.apps" },
	{ "Deployment", "deployments.apps" },
	{ "Service", "services" },
	{ "Job", "jobs.batch" },
	{ "AutoscalingRunnerSet", "autoscalingrunnersets.actions.github.com" },
};

const char *
dr_kind_resource(const char *kind)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].resource;
	return NULL;
}

int
dr_kind_apply_rank(const char *kind)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return (int)i;
	return (int)DR_ARRAY_LEN(kinds);
}

const char *
dr_managed_resources(void)
{
	static char list[512];
	if (!list[0]) {
		size_t off = 0;
		for (size_t i = 0; i < DR_ARRAY_LEN(kinds); i++) {
			int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? "," : "",
			                 kinds[i].resource);
			if (n < 0 || (size_t)n >= sizeof(list) - off)
				DR_BUG("resource list does not fit");
			off += (size_t)n;
		}
	}
	return list;
}

const char *
dr_action_name(dr_action a)
{
	static const char *const names[] = { "create", "update", "unchanged", "delete" };
	return names[a];
}

const char *
dr_obj_kind(json_t *o)
{
	const char *k = json_string_value(json_object_get(o, "kind"));
	return k ? k : "";
}

const char *
dr_obj_name(json_t *o)
{
	const char *n = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
	return n ? n : "";
}

const char *
dr_obj_namespace(json_t *o)
{
	const char *n =
		json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace"));
	return n ? n : "";
}

const char *
dr_obj_label(json_t *o, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

static const char *
obj_hash(json_t *o)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(o, "metadata"), "annotations"), DR_HASH_ANNOTATION));
}

void
dr_stamp_objects(json_t *objects)
{
	size_t i;
	json_t *o;
	json_array_foreach(objects, i, o) {
		json_t *md = json_object_get(o, "metadata");
		json_t *ann = json_object_get(md, "annotations");
		if (ann) {
			json_object_del(ann, DR_HASH_ANNOTATION);
			if (json_object_size(ann) == 0) {
				json_object_del(md, "annotations");
				ann = NULL;
			}
		}
		_cleanup_free_ char *canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		char hex[65];
		dr_sha256_hex(canon, strlen(canon), hex);
		if (!ann) {
			ann = json_object();
			json_object_set_new(md, "annotations", ann);
		}
		json_object_set_new(ann, DR_HASH_ANNOTATION, json_string(hex));
	}
}

static bool
same_key(json_t *a, json_t *b)
{
	return strcmp(dr_obj_kind(a), dr_obj_kind(b)) == 0 &&
	       strcmp(dr_obj_name(a), dr_obj_name(b)) == 0 &&
	       strcmp(dr_obj_namespace(a), dr_obj_namespace(b)) == 0;
}

static void
push(dr_plan *p, dr_action a, json_t *o)
{
	p->items = dr_xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
	p->items[p->n].action = a;
	p->items[p->n].obj = json_incref(o);
	p->n++;
	p->count[a]++;
}

dr_plan *
dr_plan_make(json_t *rendered, json_t *live, char *const *scope)
{
	dr_plan *p = dr_xcalloc(1, sizeof(*p));
	size_t i, j;
	json_t *o, *l;
	json_array_foreach(rendered, i, o) {
		json_t *twin = NULL;
		json_array_foreach(live, j, l) {
			if (same_key(o, l)) {
				twin = l;
				break;
			}
		}
		dr_action a = DR_ACTION_CREATE;
		if (twin) {
			const char *h = obj_hash(twin);
			a = h && obj_hash(o) && strcmp(h, obj_hash(o)) == 0 ? DR_ACTION_KEEP
			                                                  : DR_ACTION_UPDATE;
		}
		push(p, a, o);
	}
	/* Deletes: AutoscalingRunnerSets first (the controller needs the rest to clean up), then
	 * the other kinds in reverse apply order. */
	for (int rank = (int)DR_ARRAY_LEN(kinds); rank >= 0; rank--) {
		json_array_foreach(live, j, l) {
			if (dr_kind_apply_rank(dr_obj_kind(l)) != rank)
				continue;
			const char *runner = dr_obj_label(l, "deskrun.io/runner");
			const char *shared = dr_obj_label(l, "deskrun.io/shared");
			bool candidate = runner ? !scope || dr_strv_contains(scope, runner)
			                        : shared && !scope;
			if (!candidate)
				continue;
			bool rendered_too = false;
			json_array_foreach(rendered, i, o) {
				if (same_key(o, l)) {
					rendered_too = true;
					break;
				}
			}
			if (!rendered_too)
				push(p, DR_ACTION_DELETE, l);
		}
	}
	return p;
}

void
dr_plan_free(dr_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		json_decref(p->items[i].obj);
	free(p->items);
	free(p);
}

json_t *
dr_plan_to_apply(const dr_plan *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n; i++)
		if (p->items[i].action == DR_ACTION_CREATE || p->items[i].action == DR_ACTION_UPDATE)
			json_array_append(a, p->items[i].obj);
	return a;
}

char *
dr_plan_text(const dr_plan *p, bool show_unchanged)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	for (size_t i = 0; i < p->n; i++) {
		dr_action a = p->items[i].action;
		if (a == DR_ACTION_KEEP && !show_unchanged)
			continue;
		json_t *o = p->items[i].obj;
		const char *ns = dr_obj_namespace(o);
		dr_buf_printf(&b, "  %-9s %-22s %s%s%s\n", dr_action_name(a), dr_obj_kind(o), ns,
		              *ns ? "/" : "", dr_obj_name(o));
	}
	dr_buf_printf(&b, "%zu to create, %zu to update, %zu to delete, %zu unchanged\n",
	              p->count[DR_ACTION_CREATE], p->count[DR_ACTION_UPDATE],
	              p->count[DR_ACTION_DELETE], p->count[DR_ACTION_KEEP]);
	return dr_buf_steal(&b);
}
