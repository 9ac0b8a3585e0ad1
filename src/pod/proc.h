/* proc.h: an init for one child, in the manner of tini and catatonit. It makes the process a
 * child subreaper (so orphans are reparented to it even when it is not PID 1), takes every
 * signal it cares about through a signalfd, starts the child with posix_spawn (the original
 * signal mask and default dispositions restored), forwards TERM/INT/QUIT/HUP/USR1/USR2/WINCH
 * to it, reaps every zombie, and when the child is gone stops whatever is left (SIGTERM, then
 * SIGKILL) so nothing outlives it. */
#ifndef DESKRUN_POD_PROC_H
#define DESKRUN_POD_PROC_H

#include <signal.h>
#include <sys/types.h>

#include "lib/common.h"
#include "pod/http.h"

typedef struct dr_pod_sup {
	int sfd;            /* the signalfd */
	sigset_t old_mask;  /* the mask we started with, given back to the child */
	bool pid1;          /* PID 1 of a PID namespace: leftovers are stopped with kill(-1) */
	pid_t main_pid;     /* 0 before the spawn */
	bool main_running;
	int main_status;    /* exit code, or 128+N when killed by signal N */
	int main_signal;    /* N when killed by signal N, else 0 */
	int stop_signal;    /* the first SIGTERM/SIGINT/SIGQUIT received, 0 if none */
	unsigned long reaped_others; /* processes other than the main child reaped so far */
} dr_pod_sup;

/* Become a subreaper, block the signals and open the signalfd. Signals stay blocked until the
 * process exits (a late SIGTERM must not turn dockerd's status into 143). */
int dr_pod_sup_init(dr_pod_sup *s, dr_err **err);
void dr_pod_sup_close(dr_pod_sup *s);

/* Start argv[0] (looked up on PATH) as the main child. `inherit_fd` (or -1) stays open in the
 * child; every other descriptor of ours is close-on-exec. Not found: code 127; not
 * executable: 126. */
int dr_pod_sup_spawn(dr_pod_sup *s, char *const *argv, int inherit_fd, dr_err **err);

/* Act on every pending signal: reap, record the main child's status, forward the rest to it.
 * True when the caller should stop what it is doing: a stop signal came or the child ended. */
bool dr_pod_sup_handle(dr_pod_sup *s);
bool dr_pod_sup_stopping(const dr_pod_sup *s);

/* Wait up to timeout_ms (-1: until something happens) for a signal, then handle it. */
void dr_pod_sup_wait(dr_pod_sup *s, long timeout_ms);

/* A cancel for HTTP requests and walks: gives up when dr_pod_sup_handle() says stop. */
dr_pod_cancel dr_pod_sup_cancel(dr_pod_sup *s);

/* After the main child ended: SIGTERM what is left of its tree, SIGKILL it after grace_ms,
 * and reap everything; gives up (with a warning) after max_ms. Returns how many processes
 * ended (and were reaped) meanwhile. */
int dr_pod_sup_finish(dr_pod_sup *s, long grace_ms, long max_ms);

/* "exited with status 3" / "was killed by SIGKILL": how the main child ended (owned). */
char *dr_pod_status_text(const dr_pod_sup *s);
/* "SIGTERM" (owned). */
char *dr_pod_signal_text(int sig);

#endif
