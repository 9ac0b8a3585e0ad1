#!/bin/bash
# ARC 0.14.2's real controller against the real cluster (tests/cluster/cluster.sh):
#  1. the four CRDs from ARC's chart (gha-runner-scale-set-controller/crds) created with kubectl;
#  2. the manager (built by build.sh with build.Version=0.14.2) run out of cluster with the admin
#     kubeconfig: the AutoscalingRunnerSet that `deskrun render` prints is accepted by the real
#     CRD schema, the controller keeps it (its version label matches) and adds its finalizer,
#     then fails only at the GitHub call (a closed port on the node: no traffic leaves); an ARS
#     labelled 0.12.0 is deleted by the same controller; deleting ours completes;
#  3. helm installs ARC's controller chart from its directory, with the controller image built
#     here (static /manager and /ghalistener) and imported: the Deployment becomes ready in the
#     cluster and `deskrun doctor` finds the CRDs, the controller's version and its readiness.
# Skips with the reason when the build cache is cold or ARC could not be built (build.sh writes
# why in <cache>/status/arc: on 2026-12-06 the Go module proxy refused ARC's 0.14.2
# pseudo-version, so ARC is not built and this test skips, saying so).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/cluster/lib.sh"
ARC_IMAGE=ghcr.io/actions/gha-runner-scale-set-controller:0.14.2
cluster_require "ARC on the real cluster"
dir=$("$HERE/build.sh" --print-dir) ||
	skip_all "the build cache ${DESKRUN_CLUSTER_CACHE:-/var/cache/deskrun-cluster}/$("$HERE/build.sh" --key) is cold (see test_cluster_smoke.sh: DESKRUN_CLUSTER_BUILD=1)"
[ -x "$dir/bin/manager" ] && [ -x "$dir/bin/ghalistener" ] ||
	skip_all "ARC's controller was not built: $(cat "$dir/status/arc" 2>/dev/null || echo "no status")"
[ -x "$dir/bin/helm" ] || skip_all "helm was not built: $(cat "$dir/status/helm" 2>/dev/null)"
CHARTS=$dir/arc-charts
CRDS=$CHARTS/gha-runner-scale-set-controller/crds
[ -d "$CRDS" ] || skip_all "no chart directory at $CHARTS"
ok "ARC built: $(cat "$dir/status/arc")"

cluster_start
# until SECONDS CMD...: poll CMD
until_ok() {
	local end=$(($(date +%s) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 1
	done
}

# ---- 1. the CRDs from the chart ----
run kc create -f "$CRDS"
check "ARC's 4 CRDs are created from the chart ($(ls "$CRDS" | tr '\n' ' '))" eq "$RC" 0
run kc wait --for condition=established --timeout 60s -f "$CRDS"
check "and established" eq "$RC" 0

# ---- 2. the manager out of cluster ----
kc create namespace arc-systems >/dev/null
"$HERE/cluster.sh" exec "$C" env CONTROLLER_MANAGER_POD_NAMESPACE=arc-systems \
	CONTROLLER_MANAGER_CONTAINER_IMAGE=$ARC_IMAGE "$dir/bin/manager" \
	--auto-scaling-runner-set-only --kubeconfig "$KUBECONFIG" --metrics-addr=0 \
	--listener-metrics-addr=0 --listener-metrics-endpoint= --log-level debug \
	</dev/null >"$TMP/manager.log" 2>&1 &
manager=$!
check "the manager starts its AutoscalingRunnerSet controller" until_ok 60 grep -q 'Starting workers.*autoscalingrunnerset' "$TMP/manager.log"

CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }
# A GHES-style URL on the node's address, a closed port: the controller's GitHub call fails
# at once inside the cluster's network namespace.
printf 'token' | dk add smoke --repository "https://$DESKRUN_CLUSTER_NODE_IP:9/acme/web" --mode kubernetes --auth-value - >/dev/null 2>&1
dk render smoke --include-secrets -o json >"$TMP/smoke.json"
run kc apply --server-side --field-manager deskrun-test -f "$TMP/smoke.json"
check "the objects deskrun renders are accepted by the real API and ARC's CRD schema" eq "$RC" 0
[ "$RC" = 0 ] || diag "$ERR"
fin() { kc -n arc-runners get autoscalingrunnersets.actions.github.com "$1" -o 'jsonpath={.metadata.finalizers}'; }
has_fin() { fin "$1" | grep -q 'autoscalingrunnerset.actions.github.com/finalizer'; }
check "the controller adds its finalizer to the ARS (version 0.14.2 allowed)" until_ok 60 has_fin smoke
check "then calls GitHub (the fake URL), and fails there" until_ok 60 grep -q "$DESKRUN_CLUSTER_NODE_IP:9" "$TMP/manager.log"
sleep 3
run kc -n arc-runners get autoscalingrunnersets.actions.github.com smoke -o name
check "the ARS is kept" eq "$OUT" "autoscalingrunnerset.actions.github.com/smoke"

# The same object labelled with another minor: the controller deletes it (the version check).
python3 - "$TMP/smoke.json" >"$TMP/old.json" <<'EOF'
import json, sys
for o in json.load(open(sys.argv[1]))["items"]:
    if o["kind"] == "AutoscalingRunnerSet":
        o["metadata"]["name"] = "smoke-old"
        o["metadata"]["labels"]["app.kubernetes.io/version"] = "0.12.0"
        o["spec"]["runnerScaleSetName"] = "smoke-old"
        print(json.dumps(o))
EOF
kc apply -f "$TMP/old.json" >/dev/null
gone() { ! kc -n arc-runners get autoscalingrunnersets.actions.github.com "$1" >/dev/null 2>&1; }
check "an ARS labelled 0.12.0 is deleted by the 0.14.2 controller" until_ok 60 gone smoke-old
kc -n arc-runners delete autoscalingrunnersets.actions.github.com smoke --wait=false >/dev/null 2>&1
check "deleting the ARS completes (no scale set id: the controller drops its finalizer)" until_ok 60 gone smoke
kill "$manager" 2>/dev/null
wait "$manager" 2>/dev/null
diag "manager log (tail):" "$(tail -n 5 "$TMP/manager.log" | cut -c1-300)"

# ---- 3. helm installs the controller chart, with a locally built image ----
mkdir -p "$TMP/img/rootfs"
cp "$dir/bin/manager" "$dir/bin/ghalistener" "$TMP/img/rootfs/"
python3 "$HERE/ociimage.py" --name "$ARC_IMAGE" --rootfs "$TMP/img/rootfs" --entrypoint '["/manager"]' \
	--out "$TMP/img/arc.tar" && ctr -n k8s.io images import "$TMP/img/arc.tar" >/dev/null
check "the controller image $ARC_IMAGE is built and imported" eq "$?" 0
run helm --kubeconfig "$KUBECONFIG" install arc "$CHARTS/gha-runner-scale-set-controller" --namespace arc-systems --wait --timeout 3m
check "helm installs the controller chart from its directory, and the controller becomes ready" eq "$RC" 0
[ "$RC" = 0 ] || diag "$OUT" "$ERR" "$(kc -n arc-systems get pods -o wide 2>&1)" "$(kc -n arc-systems describe pods 2>&1 | tail -n 20)"
run dk cluster create --provider existing --kubeconfig "$KUBECONFIG" --context "$DESKRUN_CLUSTER_CONTEXT"
run dk doctor --no-network
line_of() { printf '%s\n' "$OUT" | grep -E "^(ok|warn|fail) +$1 " | head -1; }
check "doctor: ARC's CRDs established" contains "$(line_of cluster/arc-crds)" "ok    cluster/arc-crds            4 of 4"
# Found here: real helm's (3.21.4) 'status -o json' prints no "chart" (name, info, manifest,
# version, namespace); deskrun reads the chart column of 'helm list -o json' (found by
# test_cluster_deskrun.sh: a chart without templates has no manifest labels either).
check "doctor: the controller's version (from helm)" contains "$(line_of cluster/controller-version)" "ok    cluster/controller-version  controller 0.14.2"
check "doctor: the controller is ready" eq "$(line_of cluster/controller-ready | awk '{print $1}')" ok
diag "$(printf '%s\n' "$OUT" | grep cluster/)"
# The in-cluster controller (in-cluster config through the kubernetes Service) reconciles too.
kc apply --server-side --field-manager deskrun-test -f "$TMP/smoke.json" >/dev/null 2>&1
check "the in-cluster controller adds its finalizer to a new ARS" until_ok 60 has_fin smoke

cluster_stop
check "cluster.sh stop" grep -q "cluster: stopped" "$TMP/stop.out"
done_testing
