/* spawn.h: run a program from an argv vector, never through a shell (git run-command / crun
 * habit). The program is resolved on PATH before forking; stdin bytes are written from memory,
 * stdout and stderr are captured into capped buffers; a deadline ends it with SIGTERM, then
 * SIGKILL; the child is always reaped. The environment is an allow-list, so no secret that
 * happens to be in deskrun's own environment reaches a child. */
#ifndef DESKRUN_SPAWN_H
#define DESKRUN_SPAWN_H

#include "lib/common.h"

typedef struct dr_spawn_opts {
	char *const *argv;      /* argv[0] is looked up on PATH */
	const char *stdin_data; /* NULL: /dev/null */
	size_t stdin_len;
	int timeout_ms;         /* <= 0: no deadline */
	size_t max_output;      /* cap per stream; 0 = 64 MiB */
	const char *install_hint; /* for the "not installed" error, e.g. "see https://kind.sigs.k8s.io" */
	bool passthrough;         /* the child writes to our stdout/stderr (streamed, not captured) */
} dr_spawn_opts;

typedef struct dr_spawn_result {
	int status;     /* exit code, or 128+N when killed by signal N */
	bool timed_out;
	char *out;      /* owned, NUL-terminated */
	size_t out_len;
	char *err;      /* owned, NUL-terminated */
	size_t err_len;
	long elapsed_ms;
} dr_spawn_result;

void dr_spawn_result_clear(dr_spawn_result *r);
static inline void dr_spawn_resultp(dr_spawn_result *r) { dr_spawn_result_clear(r); }
#define _cleanup_spawn_ __attribute__((cleanup(dr_spawn_resultp)))

/* Run the program. Fails (-1) only when it could not be run: not installed (code 127, with
 * the hint), not executable (126), or a system error. A program that ran and failed returns 0
 * with res->status != 0: the caller decides, usually with dr_spawn_check(). */
int dr_spawn(const dr_spawn_opts *o, dr_spawn_result *res, dr_err **err);

/* Turn a failed or timed-out run into an error naming the command and the last lines it
 * printed (code DR_EXIT_FAIL, or DR_EXIT_TIMEOUT). 0 if it succeeded. */
int dr_spawn_check(const dr_spawn_opts *o, const dr_spawn_result *res, dr_err **err);

/* Start a long-lived process (the agent, a runner's guard) that outlives this call: stdin
 * /dev/null, stdout and stderr appended to logpath (created 0600), signals unblocked and at
 * their defaults, with new_session its own session. envp NULL: this process's environment.
 * The caller owns the PID: it reaps the process or leaves it to outlive it, by design. */
int dr_spawn_daemon(const char *exe, char *const *argv, char *const *envp, const char *logpath,
                    bool new_session, pid_t *pid, dr_err **err);

/* "kubectl get pods -o json": the argv shell-quoted for messages (owned). */
char *dr_argv_text(char *const *argv);

/* This program's own path (/proc/self/exe), to start itself again (the agent, a guard);
 * "deskrun" (found on PATH) when it cannot be read. Owned. */
char *dr_self_exe(void);
/* 1 when data (the start of an ELF file, through its program headers) is a statically linked
 * 64-bit executable (no PT_INTERP), 0 when dynamically linked, -1 when not such an ELF. */
int dr_elf_static(const char *data, size_t len);
/* A statically linked deskrun: this one when it is static, else deskrun-static beside it;
 * NULL if neither. Owned. */
char *dr_static_exe(void);

/* Find an executable on PATH; owned path or NULL. */
char *dr_which(const char *name);

#endif
