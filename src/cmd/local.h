/* local.h: the local provider's `cluster create`, `up`, `status` and `down` (local.c), and the
 * rule of which runner definitions the local agent serves. */
#ifndef DESKRUN_CMD_LOCAL_H
#define DESKRUN_CMD_LOCAL_H

#include "lib/common.h"
#include "lib/config.h"

#include <netinet/in.h>

/* Usage error naming the definition and the reason when the local agent cannot serve it. */
int dr_local_check(const dr_runner *d, bool unix_engine, dr_err **err);
/* The cluster record of the local provider, after checking that the engine answers. */
int dr_local_create(const char *engine, const char *state_dir, const char *network,
                    dr_cluster **out, dr_err **err);
#define DR_AGENT_UNIT "deskrun-agent.service"
#define DR_UNIT_DIR "/etc/systemd/system"
#define DR_AGENT_DRAIN_MS (5L * 60 * 1000) /* the agent's default --drain */

typedef struct dr_local_up_opts {
	char **names;             /* serve these too (NULL: every runner) */
	long wait_ms;             /* for the sessions (<= 0: 30 s) */
	bool record;              /* no cluster was recorded: record the local provider */
	bool install_unit;        /* write the systemd unit (and start it when systemd runs) */
	const char *unit_dir;     /* NULL: DR_UNIT_DIR */
	const char *metrics_addr; /* NULL: as recorded; "off": none; else 127.0.0.1:PORT */
} dr_local_up_opts;

/* --metrics-addr ADDR: 127.0.0.1:PORT (any 127.0.0.0/8 address; port 0 picks one), the
 * agent's metrics are for this host only; into *out when out is not NULL. off_ok: the usage
 * error also offers "off" (up). */
int dr_local_metrics_addr(const char *addr, bool off_ok, struct sockaddr_in *out, dr_err **err);
int dr_local_up(const char *config_path, const dr_config *c, const dr_local_up_opts *o,
                dr_err **err);
/* The text of deskrun-agent.service for this config (its absolute path) and cluster (owned),
 * or NULL with *err. */
char *dr_local_unit_text(const char *config_path, const dr_cluster *cl, dr_err **err);
int dr_local_down(const char *config_path, const dr_config *c, char **names, long timeout_ms,
                  dr_err **err);
int dr_local_status(const dr_config *c, const char *name, bool json, dr_err **err);
int dr_local_cluster_status(const dr_config *c, dr_err **err);
int dr_local_cluster_delete(const char *path, const dr_config *c, dr_err **err);
/* No cluster recorded: the local provider is the default. Sets c->cluster to it (the engine of
 * $DOCKER_HOST or the default socket, the default folder) and says so in one line on stderr.
 * A recorded cluster is left as it is. dr_local_up with record (up on the default) checks that
 * the engine answers and records the provider, so the line is said once. */
int dr_local_default(const char *path, dr_config *c, dr_err **err);

#endif
