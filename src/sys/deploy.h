/* deploy.h: the cluster-side steps `up`, `down`, `status` and `cluster` share: the ARC
 * controller (helm), its CRDs, the live objects deskrun manages, apply and ordered deletion. */
#ifndef DESKRUN_DEPLOY_H
#define DESKRUN_DEPLOY_H

#include "lib/common.h"
#include "lib/config.h"
#include "lib/plan.h"
#include "sys/progress.h"

#define DR_CONTROLLER_RELEASE "arc"
#define DR_CONTROLLER_CHART \
	"oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set-controller"
#define DR_CONTROLLER_SELECTOR "app.kubernetes.io/part-of=gha-rs-controller"
#define DR_MANAGED_SELECTOR "app.kubernetes.io/managed-by=deskrun"
#define DR_CRD_WAIT_TIMEOUT "120s"

typedef struct dr_deploy {
	const dr_config *config;
	const dr_cluster *cluster;
	dr_progress *progress;
} dr_deploy;

/* The controller's Helm release: installed chart version (owned) or NULL when absent;
 * "<version> (<status>)" when the release is not deployed (failed, pending). */
int dr_controller_version(const dr_deploy *d, char **version, dr_err **err);
/* The chart deskrun installs: the setting controller-chart, else DR_CONTROLLER_CHART. */
const char *dr_controller_chart(const dr_settings *s);
/* A controller-chart setting names ARC's controller chart at DR_ARC_VERSION (helm show chart):
 * a local chart is installed whatever its version, and a wrong one would be upgraded on every
 * `up`. Errors name the setting and the fix (exit 2). Nothing to check for the default. */
int dr_controller_chart_check(const dr_settings *s, dr_err **err);
/* The controller's Deployments (DR_CONTROLLER_SELECTOR in the controller namespace): how many,
 * and their wanted and ready replicas. */
int dr_controller_replicas(const dr_deploy *d, size_t *deployments, long *want, long *ready,
                           dr_err **err);
/* Install the controller, or upgrade it (CRDs first: Helm never upgrades CRDs) when its chart
 * version is not deskrun's pinned one. Does nothing when it is. *changed tells. */
int dr_controller_ensure(const dr_deploy *d, bool *changed, dr_err **err);
/* Wait until ARC's four CRDs are Established. */
int dr_crds_wait(const dr_deploy *d, dr_err **err);
/* Every object deskrun manages on the cluster (label app.kubernetes.io/managed-by=deskrun),
 * optionally narrowed by an extra label selector ("deskrun.io/runner=web"). New array. */
int dr_live_objects(const dr_deploy *d, const char *extra_selector, json_t **items, dr_err **err);
/* Server-side apply of the objects, as YAML on kubectl's stdin (secrets never in argv). */
int dr_apply_objects(const dr_deploy *d, json_t *objects, dr_err **err);
/* Carry out the plan's deletes: AutoscalingRunnerSets first, waiting up to timeout_ms for ARC's
 * finalizers to clear, then the rest. */
int dr_delete_planned(const dr_deploy *d, const dr_plan *p, long timeout_ms, dr_err **err);

#endif
