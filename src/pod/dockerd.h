/* dockerd.h: the dockerd command line of a lease, and the stale state a killed daemon leaves.
 *
 * The caller's dockerd arguments are passed through; the entrypoint adds --data-root (the
 * slot's), and --exec-root and --pidfile (the slot's) unless the caller set them. It reads the
 * --host/-H flags to find the socket to ping: the first unix:// host, else the first plain
 * tcp:// one; with no host at all, dockerd's default unix:///var/run/docker.sock. */
#ifndef DESKRUN_POD_DOCKERD_H
#define DESKRUN_POD_DOCKERD_H

#include "lib/common.h"

typedef struct dr_pod_dockerd {
	char **argv;         /* owned: the caller's argv plus the added flags */
	char **added;        /* owned: just the added flags */
	char *ping_url;      /* owned: the host to ping */
	char **unix_sockets; /* owned: the path of every unix:// host */
	char *exec_root;     /* owned: the effective exec root */
	char *pidfile;       /* owned: the effective pidfile */
	bool own_exec_root;  /* added by us: wiped before and after each lease */
	bool own_pidfile;
} dr_pod_dockerd;

void dr_pod_dockerd_clear(dr_pod_dockerd *d);
static inline void dr_pod_dockerdp(dr_pod_dockerd *d) { dr_pod_dockerd_clear(d); }
#define _cleanup_dockerd_ __attribute__((cleanup(dr_pod_dockerdp)))

/* Build the command line. `user` is the argv after "--" (user[0] is the program). A
 * --data-root (or the old -g/--graph) among them is a usage error: the slot decides it. So is
 * a set of hosts of which none can be pinged (only fd://, or tcp:// with TLS). Pure. */
int dr_pod_dockerd_prepare(char *const *user, const char *data_root, const char *exec_root,
                           const char *pidfile, dr_pod_dockerd *d, dr_err **err);

/* Remove what a killed daemon of this slot left behind, before a start (`at_start`) or after
 * the daemon ended: mounts under the data root (and the data root's own bind mount when the
 * old exec root's unmount-on-shutdown marker says dockerd made it), our exec root (containerd
 * state, netns files, its sockets) entirely, our pidfile (the caller's only if its pid is
 * gone) and, at start, unix sockets nobody listens on. A socket that answers means another
 * daemon serves it: an error. The layers under the data root are never touched. `removed`
 * (may be NULL) gets a short account of what was removed (owned). */
int dr_pod_dockerd_clean(const dr_pod_dockerd *d, const char *data_root, bool at_start,
                         char **removed, dr_err **err);

#endif
