/* pool.h: what `deskrun cache ls` shows: the slots of a pool, or of every definition's pool
 * under a cache root, each with its lease state (probed on the lock) and its metadata. */
#ifndef DESKRUN_POD_POOL_H
#define DESKRUN_POD_POOL_H

#include "lib/common.h"

/* dir is a pool (it holds slot-<k> directories), a cache root (it holds pool/<definition>/),
 * or the pool/ directory itself. Rows (owned JSON array) are sorted by pool, then slot:
 * {pool, pool_dir, slot, index, dir, state: leased|free|unknown, owner, holder, leases,
 * last_lease_start, last_lease_end, last_exit, size_bytes, size_measured[, error]}. A dir
 * that does not exist is an error (code 1). */
int dr_pod_pool_list(const char *dir, json_t **rows, dr_err **err);

/* What `deskrun cache prune` frees: the data roots (docker/ and exec/) of the slots listed as
 * for dr_pod_pool_list (only pool `only` when non-NULL) that are not leased and were last used
 * at least older_than_s seconds before `now` (every unleased slot with `all`). Each slot's lock
 * is taken without waiting first and held while it is emptied: a slot leased at that moment is
 * skipped, never touched. The slot directory, its lock and its metadata stay (the metadata
 * records size 0). Rows (owned JSON array), one per slot: {pool, slot, dir, action:
 * freed|would-free|kept|skipped|error, reason, bytes}. */
typedef struct dr_pod_prune_opts {
	const char *only;
	int64_t older_than_s;
	bool all;
	bool dry_run;
	int64_t now;
} dr_pod_prune_opts;

int dr_pod_pool_prune(const char *dir, const dr_pod_prune_opts *o, json_t **rows, dr_err **err);

#endif
