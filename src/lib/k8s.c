/* k8s.c: Kubernetes object fragments (see k8s.h). */
#include "lib/common.h"
#include "lib/k8s.h"

json_t *
dr_k8s_object(const char *api_version, const char *kind, const char *name, const char *namespace)
{
	json_t *o = json_object();
	json_object_set_new(o, "apiVersion", json_string(api_version));
	json_object_set_new(o, "kind", json_string(kind));
	json_t *md = json_object();
	json_object_set_new(md, "name", json_string(name));
	if (namespace)
		json_object_set_new(md, "namespace", json_string(namespace));
	json_object_set_new(o, "metadata", md);
	return o;
}

json_t *
dr_k8s_metadata(json_t *obj)
{
	return json_object_get(obj, "metadata");
}

json_t *
dr_json_strs(const char *first, ...)
{
	json_t *a = json_array();
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		json_array_append_new(a, json_string(s));
	va_end(ap);
	return a;
}

json_t *
dr_json_strv(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *
dr_k8s_container(const char *name, const char *image)
{
	json_t *c = json_object();
	json_object_set_new(c, "name", json_string(name));
	json_object_set_new(c, "image", json_string(image));
	return c;
}

void
dr_k8s_env(json_t *env, const char *name, const char *value)
{
	json_t *e = json_object();
	json_object_set_new(e, "name", json_string(name));
	json_object_set_new(e, "value", json_string(value));
	json_array_append_new(env, e);
}

void
dr_k8s_env_field(json_t *env, const char *name, const char *field_path)
{
	json_t *e = json_object();
	json_object_set_new(e, "name", json_string(name));
	json_t *ref = json_object();
	json_object_set_new(ref, "fieldPath", json_string(field_path));
	json_t *from = json_object();
	json_object_set_new(from, "fieldRef", ref);
	json_object_set_new(e, "valueFrom", from);
	json_array_append_new(env, e);
}

void
dr_k8s_mount(json_t *mounts, const char *name, const char *path, bool read_only,
             const char *propagation)
{
	json_t *m = json_object();
	json_object_set_new(m, "name", json_string(name));
	json_object_set_new(m, "mountPath", json_string(path));
	if (read_only)
		json_object_set_new(m, "readOnly", json_true());
	if (propagation)
		json_object_set_new(m, "mountPropagation", json_string(propagation));
	json_array_append_new(mounts, m);
}

void
dr_k8s_volume_empty(json_t *volumes, const char *name)
{
	json_t *v = json_object();
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "emptyDir", json_object());
	json_array_append_new(volumes, v);
}

void
dr_k8s_volume_host(json_t *volumes, const char *name, const char *path, const char *type)
{
	json_t *hp = json_object();
	json_object_set_new(hp, "path", json_string(path));
	if (type)
		json_object_set_new(hp, "type", json_string(type));
	json_t *v = json_object();
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "hostPath", hp);
	json_array_append_new(volumes, v);
}

void
dr_k8s_volume_configmap(json_t *volumes, const char *name, const char *configmap)
{
	json_t *cm = json_object();
	json_object_set_new(cm, "name", json_string(configmap));
	json_t *v = json_object();
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "configMap", cm);
	json_array_append_new(volumes, v);
}

json_t *
dr_k8s_rule(const char *group, const char *resource, const char *const *verbs)
{
	json_t *r = json_object();
	json_object_set_new(r, "apiGroups", dr_json_strs(group, NULL));
	json_object_set_new(r, "resources", dr_json_strs(resource, NULL));
	json_t *v = json_array();
	for (size_t i = 0; verbs[i]; i++)
		json_array_append_new(v, json_string(verbs[i]));
	json_object_set_new(r, "verbs", v);
	return r;
}

json_t *
dr_json_array_at(json_t *obj, const char *key)
{
	json_t *a = json_object_get(obj, key);
	if (!a) {
		a = json_array();
		json_object_set_new(obj, key, a);
	}
	return a;
}

json_t *
dr_json_object_at(json_t *obj, const char *key)
{
	json_t *o = json_object_get(obj, key);
	if (!o) {
		o = json_object();
		json_object_set_new(obj, key, o);
	}
	return o;
}
