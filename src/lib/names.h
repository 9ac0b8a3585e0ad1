/* names.h: object names, following the gha-runner-scale-set chart's helpers (arc-spec §2.1). */
#ifndef DESKRUN_NAMES_H
#define DESKRUN_NAMES_H

#include <stddef.h>

#define DR_SCALE_SET_NAME_MAX 45 /* ARC: runnerScaleSetName up to 45 characters */
#define DR_DNS_LABEL_MAX 63
#define DR_DNS_SUBDOMAIN_MAX 253

/* All return a string owned by the caller. */
char *dr_name_scale_set(const char *name, int index); /* name, or name-index when index > 0 */
char *dr_name_fullname(const char *scale_set);        /* <ss>-gha-rs, cut to 63, no trailing - */
char *dr_name_github_secret(const char *fullname);    /* <fullname>-github-secret */
char *dr_name_no_permission(const char *fullname);    /* <fullname>-no-permission */
char *dr_name_kube_mode(const char *fullname);        /* <fullname>-kube-mode */
char *dr_name_manager(const char *fullname);          /* <fullname>-manager */
char *dr_name_hook_extension(const char *scale_set);  /* <ss>-hook-extension */

/* Longest definition name whose scale set names fit ARC's limit with `instances` sets. */
size_t dr_name_max_len(int instances);

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
int dr_is_dns_label(const char *s);
/* DNS-1123 subdomain: dot-separated labels, at most 253. */
int dr_is_dns_subdomain(const char *s);

#endif
