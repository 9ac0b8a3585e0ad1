/* plan.h: what `up` must do to make the cluster match the rendered objects. Pure.
 *
 * Each rendered object is stamped with the annotation deskrun.io/applied-hash (SHA-256 of the
 * object without it). A live object with the same key (kind, namespace, name) and hash is
 * unchanged; with another hash it is updated; a rendered object with no live twin is created.
 * A live object labelled deskrun.io/runner=R that is no longer rendered is deleted when R is in
 * scope (all runners when scope is NULL). Cluster-wide objects (label deskrun.io/shared: the
 * dind DaemonSet, the registry mirror) are deleted only when the scope is all runners.
 * Namespaces carry neither label: never deleted. */
#ifndef DESKRUN_PLAN_H
#define DESKRUN_PLAN_H

#include "lib/common.h"

#define DR_HASH_ANNOTATION "deskrun.io/applied-hash"

typedef enum dr_action {
	DR_ACTION_CREATE = 0,
	DR_ACTION_UPDATE,
	DR_ACTION_KEEP,
	DR_ACTION_DELETE,
} dr_action;

typedef struct dr_plan_item {
	dr_action action;
	json_t *obj; /* owned reference: rendered (create/update/keep) or live (delete) */
} dr_plan_item;

typedef struct dr_plan {
	dr_plan_item *items; /* creates/updates/keeps in apply order, then deletes in delete order */
	size_t n;
	size_t count[4]; /* per dr_action */
} dr_plan;

/* Add the applied-hash annotation to every object of the array. */
void dr_stamp_objects(json_t *objects);
dr_plan *dr_plan_make(json_t *rendered, json_t *live, char *const *scope);
void dr_plan_free(dr_plan *p);
static inline void dr_plan_freep(dr_plan **p) { dr_plan_free(*p); }
#define _cleanup_plan_ __attribute__((cleanup(dr_plan_freep)))

/* The objects to apply (creates and updates), in apply order: new JSON array. */
json_t *dr_plan_to_apply(const dr_plan *p);
/* "create   AutoscalingRunnerSet  arc-runners/web" lines, then a summary; owned. */
char *dr_plan_text(const dr_plan *p, bool show_unchanged);

const char *dr_action_name(dr_action a);
/* kubectl's resource name for a kind: "autoscalingrunnersets.actions.github.com". */
const char *dr_kind_resource(const char *kind);
/* The kinds deskrun renders, as one comma-separated kubectl resource list. */
const char *dr_managed_resources(void);
/* Rank of a kind in apply order (lower applies first). */
int dr_kind_apply_rank(const char *kind);

const char *dr_obj_kind(json_t *o);
const char *dr_obj_name(json_t *o);
const char *dr_obj_namespace(json_t *o); /* "" for cluster-scoped */
const char *dr_obj_label(json_t *o, const char *key);

#endif
