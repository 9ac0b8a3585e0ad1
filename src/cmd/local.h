/* local.h: the local provider's `cluster create`, `up`, `status` and `down` (local.c), and the
 * rule of which runner definitions the local agent serves. */
#ifndef DESKRUN_CMD_LOCAL_H
#define DESKRUN_CMD_LOCAL_H

#include "lib/common.h"
#include "lib/config.h"

/* Usage error naming the definition and the reason when the local agent cannot serve it. */
int dr_local_check(const dr_runner *d, bool unix_engine, dr_err **err);
/* The cluster record of the local provider, after checking that the engine answers. */
int dr_local_create(const char *engine, const char *state_dir, const char *network,
                    dr_cluster **out, dr_err **err);
int dr_local_up(const char *config_path, const dr_config *c, char **names, long wait_ms,
                dr_err **err);
int dr_local_down(const char *config_path, const dr_config *c, char **names, long timeout_ms,
                  dr_err **err);
int dr_local_status(const dr_config *c, const char *name, bool json, dr_err **err);
int dr_local_cluster_status(const dr_config *c, dr_err **err);
int dr_local_cluster_delete(const char *path, const dr_config *c, dr_err **err);

#endif
