/* dind.h: `deskrun dind-entrypoint`: lease a slot of the node's cache pool, clean what a
 * killed daemon left in it, supervise dockerd on the slot's data root as an init (signals
 * forwarded, zombies reaped), enforce the slot's quota once the daemon answers, write the
 * ready file, and record the lease in the slot's metadata. The lease is an flock held for
 * the daemon's whole life; see slot.h for the layout. */
#ifndef DESKRUN_POD_DIND_H
#define DESKRUN_POD_DIND_H

#include "lib/common.h"

typedef struct dr_pod_dind_opts {
	const char *pool;            /* the pool directory */
	int slots;                   /* slot-0 .. slot-(slots-1) */
	const char *owner;           /* the scale set, or NULL */
	long wait_slot_ms;           /* how long to wait when every slot is leased */
	bool fallback_fail;          /* then fail (exit 4) instead of an ephemeral data root */
	uint64_t max_size;           /* quota in bytes; 0: none */
	const char *ready_file;      /* or NULL */
	char *const *dockerd_argv;   /* after "--" */
} dr_pod_dind_opts;

/* Run it. Returns 0 with *status = dockerd's exit status (128+N if killed by signal N; 128+N
 * also when signal N stopped us before dockerd started), or -1 with err when it could not
 * run dockerd at all (no slot with --fallback fail: code 4; usage: 2; dockerd missing: 127). */
int dr_pod_dind_run(const dr_pod_dind_opts *o, int *status, dr_err **err);

#endif
