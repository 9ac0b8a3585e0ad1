/* validate.h: every rule a runner definition must satisfy. Messages are one line that names
 * the flag and says how to fix it; the code is DR_EXIT_USAGE. Pure. */
#ifndef DESKRUN_VALIDATE_H
#define DESKRUN_VALIDATE_H

#include "lib/common.h"
#include "lib/runner.h"

/* NAME: a DNS-1123 label; with the -N instance suffix at most 45 characters. */
int dr_validate_name(const char *name, int instances, dr_err **err);

/* --repository: https://HOST/OWNER[/REPO] or https://HOST/enterprises/NAME. On success
 * *normalized (owned) has trailing "/" and ".git" removed. */
int dr_validate_repository(const char *url, char **normalized, dr_err **err);

/* --labels L1,L2: split on commas into *labels (owned strv; NULL for ""). */
int dr_parse_labels(const char *spec, char ***labels, dr_err **err);
int dr_validate_labels(char *const *labels, dr_err **err);

/* --cache [SRC:]TARGET and --mount SRC:TARGET[:TYPE] parsers (syntax and paths only). */
int dr_parse_cache(const char *spec, char **source, char **target, dr_err **err);
int dr_parse_mount(const char *spec, char **source, char **target, dr_mount_type *type,
                   dr_err **err);

/* A container path: absolute, no "..", not "/", normalised (no "//" or trailing "/"). */
int dr_validate_target(const char *flag, const char *spec, const char *path, dr_err **err);
/* A node path: absolute, no "..". */
int dr_validate_source(const char *flag, const char *spec, const char *path, dr_err **err);

/* --cpu, --memory, --work-volume-size: a Kubernetes quantity. `example` goes in the message. */
int dr_validate_quantity(const char *flag, const char *value, const char *example, dr_err **err);

/* An image reference: non-empty, no whitespace or control characters. */
int dr_validate_image(const char *flag, const char *image, dr_err **err);

/* --registry-mirror: "auto" (when allow_auto) or an http(s):// URL without credentials. */
int dr_validate_mirror(const char *url, bool allow_auto, dr_err **err);
/* --insecure-registry: HOST[:PORT] or an IPv4 CIDR. */
int dr_validate_insecure_registry(const char *host, dr_err **err);
/* --proxy: http(s)://[USER:PASSWORD@]HOST[:PORT]. */
int dr_validate_proxy(const char *url, dr_err **err);
/* --no-proxy HOSTS: split on commas into *hosts (owned strv). */
int dr_parse_no_proxy(const char *spec, char ***hosts, dr_err **err);

/* The GitHub credentials of the definition. */
int dr_validate_auth(const dr_auth *auth, dr_err **err);

/* Each runner pod (or job pod) runs a dockerd on a /var/lib/docker that outlives it (a cache,
 * hostpath or pvc storage): two such pods at once would share a data root. */
bool dr_runner_persistent_docker(const dr_runner *r);

/* Whole definition: all of the above plus min/max/instances and the mode's own rules. */
int dr_validate_runner(const dr_runner *r, dr_err **err);

/* The node's shared dind-daemonset daemon has one configuration: a new or changed runner r
 * must agree with the other dind-daemonset runners of the config on it. */
struct dr_config;
int dr_check_shared_daemon(const struct dr_config *c, const dr_runner *r, dr_err **err);

/* Settings (cache root, controller namespace and service account). */
int dr_validate_settings(const dr_settings *s, dr_err **err);
/* controller-chart: empty, an absolute path (a chart directory or a .tgz), or oci://... */
int dr_validate_controller_chart(const char *chart, dr_err **err);

#endif
