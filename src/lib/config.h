/* config.h: the config document (settings + runner definitions) and its JSON form. Pure; the
 * file handling (lock, atomic write) is in sys/config_store.h. */
#ifndef DESKRUN_CONFIG_H
#define DESKRUN_CONFIG_H

#include "lib/common.h"
#include "lib/cluster.h"
#include "lib/runner.h"

#define DR_CONFIG_VERSION 1

typedef struct dr_config {
	dr_settings settings;
	dr_cluster *cluster; /* owned; NULL until `deskrun cluster create` */
	dr_runner **runners; /* owned, sorted by name */
	size_t n_runners;
} dr_config;

dr_config *dr_config_new(void);
void dr_config_free(dr_config *c);
static inline void dr_config_freep(dr_config **c) { dr_config_free(*c); }
#define _cleanup_config_ __attribute__((cleanup(dr_config_freep)))

dr_runner *dr_config_find(const dr_config *c, const char *name);
/* Insert or replace (by name); takes ownership of r. */
void dr_config_put(dr_config *c, dr_runner *r);
/* 0 if removed, -1 if there was no such runner. */
int dr_config_remove(dr_config *c, const char *name);

/* Parse and validate a config document; errors have code DR_EXIT_CONFIG. */
dr_config *dr_config_from_json(json_t *j, dr_err **err);
/* The document as written to disk (secrets included: the file is 0600). */
json_t *dr_config_to_json(const dr_config *c);

#endif
