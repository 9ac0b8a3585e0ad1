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

#endif
