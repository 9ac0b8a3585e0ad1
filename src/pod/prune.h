/* prune.h: a slot's size quota (dind-entrypoint --max-size). Once the daemon answers, the
 * data root's disk use is measured (du -sx); while it is over the quota, stopped containers
 * left by earlier leases are removed, then images no container uses and build-cache records
 * not in use, least recently used first, until it is under. An image whose layers are all
 * shared with other images frees nothing and is kept (a base image under a built one). */
#ifndef DESKRUN_POD_PRUNE_H
#define DESKRUN_POD_PRUNE_H

#include "lib/common.h"
#include "pod/http.h"

typedef enum dr_pod_prune_kind {
	DR_POD_PRUNE_IMAGE,
	DR_POD_PRUNE_BUILD_CACHE,
} dr_pod_prune_kind;

typedef struct dr_pod_prune_item {
	dr_pod_prune_kind kind;
	char *id;             /* owned */
	char *name;           /* owned: a tag or description, for the log */
	int64_t last_used_ms; /* since the epoch */
	int64_t size;         /* bytes removing it alone frees (an estimate) */
} dr_pod_prune_item;

/* The candidates in a GET /system/df answer, least recently used first (ties by id). An
 * image's last use is the later of its Created time and last_used[id] (milliseconds, e.g. its
 * Metadata.LastTagTime; last_used may be NULL); a build-cache record's is LastUsedAt (else
 * CreatedAt). Images with containers (or an unknown count), images that free nothing, and
 * build cache in use are left out. Pure; owned array, count in *n. */
dr_pod_prune_item *dr_pod_prune_plan(json_t *df, json_t *last_used, size_t *n);
void dr_pod_prune_items_free(dr_pod_prune_item *items, size_t n);

typedef struct dr_pod_quota_result {
	uint64_t before;  /* disk use when the daemon came up */
	uint64_t after;   /* after pruning */
	size_t removed;   /* containers, images and cache records removed */
	bool within;      /* after <= the quota */
} dr_pod_quota_result;

/* Enforce the quota on the daemon at ep whose data root is data_root. Every step is logged.
 * Fails (ECANCELED) when `cancel` says so; other request failures are logged and skipped. */
int dr_pod_quota_enforce(const dr_pod_endpoint *ep, const char *data_root, uint64_t max,
                         const dr_pod_cancel *cancel, dr_pod_quota_result *res, dr_err **err);

#endif
