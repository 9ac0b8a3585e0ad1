/* fsops.h: what the entrypoint does to a slot's files: find and detach the mounts a killed
 * daemon left behind, delete runtime state without crossing into mounts, and measure a data
 * root's disk use the way `du -sx` does. */
#ifndef DESKRUN_POD_FSOPS_H
#define DESKRUN_POD_FSOPS_H

#include "lib/common.h"
#include "pod/http.h"

/* The mount points in /proc/self/mountinfo text that lie under `dir` (strictly below it, or
 * also `dir` itself when `inclusive`), deepest first; octal escapes (\040) decoded. Owned
 * NULL-terminated vector (never NULL). Pure. */
char **dr_pod_mounts_under(const char *mountinfo, const char *dir, bool inclusive);

/* Detach (umount2 MNT_DETACH) every mount under dir, deepest first. Returns how many were
 * detached, or -1 with err when one could not be. */
int dr_pod_umount_under(const char *dir, bool inclusive, dr_err **err);

/* rm -rf path: never follows symlinks, never crosses into another filesystem (a mount that
 * is still there makes it fail). A missing path is fine. */
int dr_pod_rm_rf(const char *path, dr_err **err);

/* The disk use of the tree at path in bytes (allocated blocks, hard links counted once, other
 * filesystems skipped: du -sx --block-size=1). Stops with ETIMEDOUT after deadline_ms (<= 0:
 * none) and with ECANCELED when `cancel` says so. */
int dr_pod_disk_usage(const char *path, long deadline_ms, const dr_pod_cancel *cancel,
                      uint64_t *bytes, dr_err **err);

/* "1.5 GiB", "980 MiB", "512 B" (owned). */
char *dr_pod_size_text(uint64_t bytes);

#endif
