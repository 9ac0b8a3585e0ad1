/* kube.h: running kubectl, helm and kind against the recorded cluster. Every call goes through
 * dr_spawn (argv vector, deadline, captured output, allow-listed environment); secrets only ever
 * travel on a child's stdin. */
#ifndef DESKRUN_KUBE_H
#define DESKRUN_KUBE_H

#include "lib/cluster.h"
#include "lib/common.h"
#include "sys/spawn.h"

#define DR_KUBECTL_TIMEOUT_MS 60000
#define DR_HELM_TIMEOUT_MS (10 * 60000)
#define DR_KIND_TIMEOUT_MS (10 * 60000)

#define DR_HINT_KUBECTL "install it from https://kubernetes.io/docs/tasks/tools/"
#define DR_HINT_HELM "install it from https://helm.sh/docs/intro/install/"
#define DR_HINT_KIND "install it from https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
#define DR_HINT_K3S "install it with 'curl -sfL https://get.k3s.io | sh -' (https://docs.k3s.io)"

/* A NULL-terminated argv from the arguments (copied); free with dr_strv_free. */
char **dr_argv(const char *first, ...) __attribute__((sentinel));
void dr_argv_add(char ***argv, const char *arg);

typedef struct dr_call {
	const char *stdin_data; /* NULL: none */
	size_t stdin_len;
	int timeout_ms;         /* 0: the tool's default */
	bool allow_fail;        /* a non-zero exit is returned in res, not as an error */
	bool passthrough;       /* stream the tool's output to ours instead of capturing it */
	size_t max_output;      /* 0: spawn's default cap */
} dr_call;

/* kubectl [--kubeconfig K] [--context C] ARGS... (no --context when C is "") */
int dr_kubectl(const dr_cluster *c, char *const *args, const dr_call *call, dr_spawn_result *res,
               dr_err **err);
/* kubectl ... ARGS... -o json, parsed; *out is a new reference. */
int dr_kubectl_json(const dr_cluster *c, char *const *args, json_t **out, dr_err **err);
/* helm ARGS... --kube-context C [--kubeconfig K] */
int dr_helm(const dr_cluster *c, char *const *args, const dr_call *call, dr_spawn_result *res,
            dr_err **err);
/* kind ARGS... */
int dr_kind(char *const *args, const dr_call *call, dr_spawn_result *res, dr_err **err);
/* Any program (k3s, docker): `hint` says how to install it. */
int dr_run_tool(char *const *argv, const char *hint, const dr_call *call, dr_spawn_result *res,
                dr_err **err);

#endif
