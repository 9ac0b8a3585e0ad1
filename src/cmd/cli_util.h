/* cli_util.h: small helpers the command files share: loading the config named by --config,
 * and picking definitions by name. */
#ifndef DESKRUN_CLI_UTIL_H
#define DESKRUN_CLI_UTIL_H

#include "cmd/cmd.h"
#include "lib/config.h"

/* Resolve the config path and load it. *path (owned) is set even when loading fails. */
int dr_cli_load_config(dr_cli *cli, char **path, dr_config **config, dr_err **err);

/* The definitions named in names (all when n == 0), in config order; usage error naming an
 * unknown one. *out is a borrowed-pointer array owned by the caller (free it). */
int dr_cli_select(const dr_config *c, const char *path, char *const *names, size_t n,
                  const dr_runner ***out, size_t *n_out, dr_err **err);

#endif
