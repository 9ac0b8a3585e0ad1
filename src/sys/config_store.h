/* config_store.h: the config file on disk. Readers load without a lock (writes are atomic
 * renames, so a reader sees a whole old or a whole new file). Writers take an exclusive flock
 * on <path>.lock for the whole read-modify-write, so concurrent `deskrun add`s lose nothing.
 * The directory is created 0700 and the file written 0600: it holds secrets. */
#ifndef DESKRUN_CONFIG_STORE_H
#define DESKRUN_CONFIG_STORE_H

#include "lib/config.h"

#define DR_CONFIG_MAX_BYTES (16u << 20)
#define DR_CONFIG_LOCK_TIMEOUT_MS 30000

/* --config PATH, else $DESKRUN_CONFIG, else ${XDG_CONFIG_HOME:-~/.config}/deskrun/config.json */
int dr_config_path(const char *flag, char **out, dr_err **err);

/* A missing file is an empty config; a corrupt, invalid or newer one is DR_EXIT_CONFIG. */
int dr_config_load(const char *path, dr_config **out, dr_err **err);

typedef int (*dr_config_edit_fn)(dr_config *c, void *arg, dr_err **err);
/* Lock, load, let fn change the config, write it back atomically. If fn fails nothing is
 * written. */
int dr_config_edit(const char *path, dr_config_edit_fn fn, void *arg, dr_err **err);

#endif
