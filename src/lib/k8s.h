/* k8s.h: small builders for Kubernetes object fragments on jansson. Every function that takes
 * a json_t array appends to it; strings are copied. Keys are inserted in the order kubectl
 * prints them, and jansson keeps insertion order, so output is deterministic. */
#ifndef DESKRUN_K8S_H
#define DESKRUN_K8S_H

#include "lib/common.h"

/* {apiVersion, kind, metadata: {name[, namespace]}}; namespace may be NULL. */
json_t *dr_k8s_object(const char *api_version, const char *kind, const char *name,
                      const char *namespace);
json_t *dr_k8s_metadata(json_t *obj); /* borrowed */

/* A JSON array of strings from a NULL-terminated argument list. */
json_t *dr_json_strs(const char *first, ...) __attribute__((sentinel));
json_t *dr_json_strv(char *const *v);

json_t *dr_k8s_container(const char *name, const char *image);
void dr_k8s_env(json_t *env, const char *name, const char *value);
void dr_k8s_env_field(json_t *env, const char *name, const char *field_path);
/* Append a volumeMount; read_only and propagation (NULL = unset) are optional fields. */
void dr_k8s_mount(json_t *mounts, const char *name, const char *path, bool read_only,
                  const char *propagation);
void dr_k8s_volume_empty(json_t *volumes, const char *name);
void dr_k8s_volume_host(json_t *volumes, const char *name, const char *path, const char *type);
void dr_k8s_volume_configmap(json_t *volumes, const char *name, const char *configmap);
/* A policy rule {apiGroups: [group], resources: [resource], verbs: [...]}. */
json_t *dr_k8s_rule(const char *group, const char *resource, const char *const *verbs);

/* Get (creating if absent) the array at obj[key]. Borrowed. */
json_t *dr_json_array_at(json_t *obj, const char *key);
/* Get (creating if absent) the object at obj[key]. Borrowed. */
json_t *dr_json_object_at(json_t *obj, const char *key);

#endif
