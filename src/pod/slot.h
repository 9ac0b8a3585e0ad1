/* slot.h: the leased Docker cache pool on a node's disk. A pool is a directory of slots:
 *
 *   <pool>/slot-<k>/lock               the lease: an exclusive flock(2), held for the life of
 *                                      the daemon by the entrypoint and by dockerd (which
 *                                      inherits the descriptor)
 *   <pool>/slot-<k>/deskrun-slot.json  metadata (owner, last lease start/end, size, leases),
 *                                      written atomically by the lease holder only
 *   <pool>/slot-<k>/docker/            dockerd --data-root: the layers that survive leases
 *   <pool>/slot-<k>/exec/              dockerd --exec-root (runtime state, wiped per lease)
 *   <pool>/slot-<k>/dockerd.pid        dockerd --pidfile
 *   <pool>/ephemeral/e-<id>/           fallback data roots when every slot is leased; each
 *                                      has its own lock and is deleted when its lease ends
 *
 * A slot is leased exactly when its lock is held; a killed holder frees it at once. The pure
 * parts (metadata codec, times, slot preference) are separate from the locking. */
#ifndef DESKRUN_POD_SLOT_H
#define DESKRUN_POD_SLOT_H

#include "lib/common.h"

#define DR_POD_CACHE_ROOT "/var/lib/deskrun/cache"
#define DR_POD_SLOT_PREFIX "slot-"
#define DR_POD_SLOT_LOCK "lock"
#define DR_POD_SLOT_META "deskrun-slot.json"
#define DR_POD_SLOT_DATA "docker"
#define DR_POD_SLOT_EXEC "exec"
#define DR_POD_SLOT_PIDFILE "dockerd.pid"
#define DR_POD_EPHEMERAL_DIR "ephemeral"
#define DR_POD_META_VERSION 1
#define DR_POD_MAX_SLOTS 1024

typedef struct dr_pod_slot_meta {
	int version;
	char *owner;          /* owned: the scale set of the last lease; NULL if never leased */
	char *holder;         /* owned: "<hostname>/<pid>" of the last lease; NULL if none */
	int64_t leases;       /* how many times the slot was leased */
	int64_t last_start;   /* unix seconds; 0 = never */
	int64_t last_end;     /* unix seconds; 0 = the last lease has not ended (or crashed) */
	int last_exit;        /* dockerd's status at the last end; -1 unknown */
	int64_t size_bytes;   /* disk use of docker/; -1 unknown */
	int64_t size_at;      /* when size_bytes was measured; 0 = never */
} dr_pod_slot_meta;

#define DR_POD_SLOT_META_INIT { DR_POD_META_VERSION, NULL, NULL, 0, 0, 0, -1, -1, 0 }

void dr_pod_slot_meta_clear(dr_pod_slot_meta *m);
static inline void dr_pod_slot_metap(dr_pod_slot_meta *m) { dr_pod_slot_meta_clear(m); }
#define _cleanup_slot_meta_ __attribute__((cleanup(dr_pod_slot_metap)))

/* The metadata as JSON (owned), and back. Unknown fields are ignored, missing ones get their
 * defaults; a field of the wrong type, or text that is not a JSON object, is an error (code
 * 3: the file is corrupt). */
json_t *dr_pod_slot_meta_json(const dr_pod_slot_meta *m);
char *dr_pod_slot_meta_encode(const dr_pod_slot_meta *m);
int dr_pod_slot_meta_decode(const char *text, dr_pod_slot_meta *m, dr_err **err);

/* "2026-01-02T03:04:05Z" (owned); NULL for 0. */
char *dr_pod_time_text(int64_t unix_seconds);
/* RFC 3339 ("...Z", fractions and +hh:mm offsets allowed) into milliseconds since the epoch;
 * -1 if s is not such a time. Docker's zero time (year 1) gives 0. */
int dr_pod_time_parse_ms(const char *s, int64_t *ms);

/* When a slot was last used: the later of its last lease start and end. */
int64_t dr_pod_slot_last_used(const dr_pod_slot_meta *m);

/* The order in which to try the n slots for a lease by `owner` (may be NULL or ""): first the
 * slots whose last lease was this owner's, most recent first (the warmest cache), then the
 * others least recently used first (never used counts as oldest); ties by slot number.
 * order[] receives the n slot indices. Pure. */
void dr_pod_slot_order(const dr_pod_slot_meta *metas, size_t n, const char *owner,
                       size_t *order);

/* <pool>/slot-<k> (owned). */
char *dr_pod_slot_dir(const char *pool, int k);

/* Read <dir>/deskrun-slot.json. A missing file gives the defaults (return 0); a corrupt one
 * is an error (code 3) and *m holds the defaults. */
int dr_pod_slot_read_meta(const char *dir, dr_pod_slot_meta *m, dr_err **err);
int dr_pod_slot_write_meta(const char *dir, const dr_pod_slot_meta *m, dr_err **err);

/* Try to take the exclusive lock <dir>/lock without waiting (creating the file). 1 and *fd
 * (close-on-exec) when taken, 0 when someone holds it, -1 on error. */
int dr_pod_slot_trylock(const char *dir, int *fd, dr_err **err);
/* Is <dir>/lock held? 1 leased, 0 free, -1 no lock file (never leased), -2 cannot tell (an
 * unreadable lock file). Probes with a non-blocking shared flock, released at once. */
int dr_pod_slot_probe(const char *dir);

#endif
