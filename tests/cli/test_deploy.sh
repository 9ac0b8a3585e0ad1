#!/bin/bash
# Deploying, against recording stubs of kind, kubectl, helm and k3s (tests/stubs/fakekube.py),
# kept for what a real cluster cannot show: the exact argv and order of the calls (kind's
# cluster create, ghcr.io's chart and an oci:// mirror with --version, ARS deletes before the
# rest, a finalizer patched before its delete), kind and k3s (not available here), and failure
# injection: a failing kubectl, a missing helm, a stuck finalizer (timeout), a bad
# controller-chart; plus what needs ARC's controller running (a listener, runner counts,
# --wait's success), which the real cluster cannot have (ARC's module is refused by the Go
# module proxy). No secret in any argv or environment of any call, failures included.
#
# The success paths are proven against the real cluster, kubectl and helm by
# tests/cluster/test_cluster_deskrun.sh and no longer asserted here: the objects up creates and
# their Secret, a second up changing nothing, 3 -> 2 instances and down NAME touching only their
# objects, the API server accepting every manifest, the controller upgrade from a local chart
# (and its refusal at the wrong version), cluster status's reachability, runtime and CRDs.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
TOKEN=$(cat "$DATA/token")
TOKEN64=$(printf %s "$TOKEN" | base64 -w0)
PY=${PYTHON:-/usr/bin/python3}

STUB=$TMP/stub
mkdir -p "$STUB"
for t in kubectl helm kind k3s docker; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/$t"; done
export PATH="$STUB:/usr/bin:/bin"
export XDG_CACHE_HOME=$TMP/xdg-cache
# A secret in deskrun's own environment must not reach any child either.
export GITHUB_TOKEN=$TOKEN
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }
calls() { "$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl"; }
reset_calls() { : >"$STUB/calls.jsonl"; }
state() { "$PY" -c "import json,sys; s=json.load(open('$STUB/state.json')); $1"; }
set_state() { "$PY" -c "import json; p='$STUB/state.json'; s=json.load(open(p)); $1; json.dump(s, open(p,'w'))"; }
lines() { printf '%s\n' "$@"; }

K="kubectl --context kind-deskrun"
RES=namespaces,serviceaccounts,secrets,configmaps,persistentvolumeclaims,roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,daemonsets.apps,deployments.apps,services,jobs.batch,autoscalingrunnersets.actions.github.com
GET="$K get $RES --all-namespaces -l app.kubernetes.io/managed-by=deskrun -o json"
WAIT="$K wait --for condition=established --timeout=120s crd/autoscalingrunnersets.actions.github.com crd/autoscalinglisteners.actions.github.com crd/ephemeralrunnersets.actions.github.com crd/ephemeralrunners.actions.github.com"
HSTATUS="helm list --namespace arc-systems --all --filter ^arc$ --output json --kube-context kind-deskrun"
HINSTALL="helm upgrade --install arc --namespace arc-systems --create-namespace oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set-controller --version 0.14.2 --wait --set metrics.controllerManagerAddr=:8080 --set metrics.listenerAddr=:8080 --set metrics.listenerEndpoint=/metrics --kube-context kind-deskrun"
APPLY="$K apply --server-side --field-manager=deskrun --force-conflicts -f -"
DEL="$K delete --ignore-not-found --wait=true --timeout=2m --namespace arc-runners"

# ---- up without a cluster ----
dk add web --repository https://github.com/acme/web --mode dind --cache /var/lib/docker \
	--auth-value-file "$DATA/token" >/dev/null
dk add pods --repository https://github.com/acme/pods --mode kubernetes \
	--auth-value-file "$DATA/token" >/dev/null
# No cluster recorded means the local provider (tests/local/test_provider.sh serves one): the
# kubernetes-mode runner is refused there with the reason, before any engine is asked and
# before the dind runner (which the local agent serves) starts anything, and nothing is
# recorded; Kubernetes needs 'cluster create'.
run dk up
check "up without a recorded cluster: the local provider, which refuses mode kubernetes (exit 2)" eq "$RC" 2
check "the default said in one line on stderr, with how to choose Kubernetes" eq \
	"$(grep -c "^deskrun: no cluster recorded in $CFG: the local provider (the default), .*'deskrun cluster create' records a Kubernetes cluster instead$" <<<"$ERR")" 1
check "and the refusal names the runner, the mode and the way out" contains "$ERR" \
	"pods: mode kubernetes needs Kubernetes (it runs each job as a pod through ARC's container hooks): locally use --mode docker-socket, dind or dind-daemonset, or a Kubernetes cluster"
check "nothing was recorded" "$PY" -c 'import json,sys; assert "cluster" not in json.load(open(sys.argv[1]))' "$CFG"
run dk up --dry-run
check "up --dry-run without a cluster plans for the local provider: the same refusal" eq \
	"$RC $(grep -c 'mode kubernetes needs Kubernetes' <<<"$ERR")" "2 1"
dk remove pods >/dev/null
run dk status
check "status without a cluster: the local provider's table, the agent not running" eq \
	"$RC $(grep -c "^agent: not running" <<<"$OUT")" "0 1"
run dk down
check "down without a cluster: nothing to stop (exit 0)" eq "$RC $OUT" "0 nothing to stop: the agent is not running"
check "and ran no tool" eq "$(calls)" ""

# ---- fresh cluster create + up of two runners ----
run dk cluster create
check "cluster create exits 0" eq "$RC" 0
check "cluster create calls kind to list, then create with the config on stdin" eq "$(calls)" "$(lines \
	"kind get clusters" \
	"kind create cluster --name deskrun --config - --wait 120s")"
check "the kind config mounts the host cache dir at the cache root" eq "$("$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl" stdin 2)" "$(lines \
	"kind: Cluster" \
	"apiVersion: kind.x-k8s.io/v1alpha4" \
	"name: deskrun" \
	"nodes:" \
	"- role: control-plane" \
	"  extraMounts:" \
	"  - hostPath: $XDG_CACHE_HOME/deskrun/cache" \
	"    containerPath: /var/lib/deskrun/cache")"
check "the host cache directory exists" test -d "$XDG_CACHE_HOME/deskrun/cache"
check "the cluster is recorded in the config" contains "$(cat "$CFG")" '"context": "kind-deskrun"'
run dk up --install-unit
check "up --install-unit on kind: refused, it is for the local provider (exit 2)" \
	eq "$RC $(grep -c -- '--install-unit is for the local provider' <<<"$ERR")" "2 1"
run dk up --metrics-addr 127.0.0.1:9102
check "up --metrics-addr on kind: refused (exit 2)" eq "$RC $(grep -c -- '--metrics-addr is for the local provider' <<<"$ERR")" "2 1"
dk add api --repository https://github.com/acme/api --auth-value-file "$DATA/token" >/dev/null
reset_calls
run dk up
check "up exits 0" eq "$RC" 0
check "up installs the controller, waits for CRDs, reads, applies" eq "$(calls)" "$(lines \
	"$HSTATUS" "$HINSTALL" "$WAIT" "$GET" "$APPLY")"
check "up prints what it creates" contains "$OUT" "14 to create, 0 to update, 0 to delete, 0 unchanged"
check "up shows progress with elapsed time on stderr" contains "$ERR" "] installing the ARC controller 0.14.2"

# ---- instances 3 -> 2 prunes the third set, and only that ----
dk add ci --repository https://github.com/acme/ci --mode dind --instances 3 --auth-value-file "$DATA/token" >/dev/null
dk up >/dev/null 2>&1
dk add ci --force --repository https://github.com/acme/ci --mode dind --instances 2 --auth-value-file "$DATA/token" >/dev/null
reset_calls
run dk up
check "up after 3 -> 2 exits 0" eq "$RC" 0
check "up deletes ci-3's set, re-reads, and deletes what ARC left (its daemon.json)" eq "$(calls)" "$(lines \
	"$HSTATUS" "$WAIT" "$GET" "$DEL autoscalingrunnersets.actions.github.com/ci-3" "$GET" \
	"$DEL configmaps/ci-3-dockerd")"

# An object left behind with a finalizer (its set stays) gets the finalizer removed first.
set_state "s['objects'].append({'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'old-hook','namespace':'arc-runners','labels':{'app.kubernetes.io/managed-by':'deskrun','deskrun.io/runner':'web'},'finalizers':['actions.github.com/cleanup-protection']}})"
reset_calls
run dk up web
check "up web prunes web's stale object" eq "$(calls)" "$(lines "$HSTATUS" "$WAIT" "$GET" \
	"$K patch configmaps old-hook --type=merge -p {\"metadata\":{\"finalizers\":null}} --namespace arc-runners" \
	"$DEL configmaps/old-hook")"

# ---- down NAME deletes only NAME's objects ----
reset_calls
run dk down web
check "down web exits 0" eq "$RC" 0
check "down web reads, deletes web's set, re-reads, deletes the rest" eq "$(calls)" "$(lines "$GET" \
	"$DEL autoscalingrunnersets.actions.github.com/web" "$GET" "$DEL configmaps/web-dockerd")"
run dk down nosuch
check "down of an unknown runner exits 2" eq "$RC" 2

# ---- a stuck finalizer: exit 4, naming what is stuck ----
set_state "s['stuck'] = ['ci-1']"
run dk down ci --timeout 5s
check "a stuck set makes down exit 4" eq "$RC" 4
check "and the error names it" contains "$ERR" "deleting AutoscalingRunnerSet arc-runners/ci-1 did not finish within 5s: ARC's finalizers are still on it"
set_state "s['stuck'] = []"

# ---- status ----
set_state "[o.__setitem__('status', {'currentRunners': 2, 'runningEphemeralRunners': 1, 'pendingEphemeralRunners': 1, 'failedEphemeralRunners': 0}) for o in s['objects'] if o['kind']=='AutoscalingRunnerSet' and o['metadata']['name']=='api']"
set_state "s['listeners'] = [{'apiVersion':'v1','kind':'Pod','metadata':{'name':'api-754b578d-listener','namespace':'arc-systems','labels':{'app.kubernetes.io/component':'runner-scale-set-listener','actions.github.com/scale-set-name':'api','actions.github.com/scale-set-namespace':'arc-runners'}},'status':{'phase':'Running'}}]"
set_state "s['events'] = [{'kind':'Event','metadata':{'name':'e1'},'type':'Warning','reason':'FailedCreate','message':'quota exceeded','lastTimestamp':'2026-11-22T07:00:00Z','involvedObject':{'kind':'AutoscalingRunnerSet','name':'api','namespace':'arc-runners'}}]"
run dk status --output json
check "status exits 0" eq "$RC" 0
check "status reports counts, listener and last error" "$PY" -c '
import json, sys
rows = {r["scale_set"]: r for r in json.loads(sys.argv[1])}
a = rows["api"]
assert a["deployed"] and a["min_runners"] == 1 and a["max_runners"] == 5, a
assert (a["current"], a["running"], a["pending"], a["failed"]) == (2, 1, 1, 0), a
assert a["listener"] == "Running" and a["last_error"] == "FailedCreate: quota exceeded", a
assert rows["web"]["deployed"] is False
assert rows["ci-1"]["listener"] == "none"' "$OUT"
run dk status api
check "status table has the api row" contains "$OUT" "Running           FailedCreate: quota exceeded"
run dk status web
check "status marks an undeployed runner" contains "$OUT" "not deployed"
run timeout -s INT 5 "$DESKRUN" --config "$CFG" status --watch
check "status --watch repeats until interrupted" test "$(printf '%s\n' "$OUT" | grep -c '^RUNNER')" -ge 2

# ---- up --wait ----
reset_calls
run dk up api --wait 30s
check "up --wait returns once the listener and runners are there" eq "$RC" 0
check "up --wait polls listeners and sets" contains "$(calls)" "$K get autoscalinglisteners.actions.github.com --namespace arc-systems -o json"
run dk up web --wait 3s
check "up --wait times out with exit 4" eq "$RC" 4
check "naming the set that is not ready" contains "$ERR" "arc-runners/web (no listener yet)"

# ---- cluster status ----
run dk cluster status
check "cluster status exits 0" eq "$RC" 0
check "cluster status reports the controller" contains "$OUT" "controller:  arc 0.14.2 in arc-systems, 1/1 ready"

# ---- kind nodes get deskrun's helper image when a mode runs the guard ----
dk add sock --repository https://github.com/acme/web --mode docker-socket --auth-value-file "$DATA/token" >/dev/null
if [ ! -x "$BUILDDIR/deskrun-static" ]; then
	# (sanitizer builds have no static twin: the image is there already)
	set_state "s['docker_images'] = ['deskrun-helper:0.1.0']"
fi
reset_calls
run dk up sock
check "up with a guard mode exits 0" eq "$RC" 0
if [ -x "$BUILDDIR/deskrun-static" ]; then
	check "up builds the missing helper image offline and loads it into the node" eq "$(calls | grep -E '^(docker|kind)')" "$(lines \
		"docker image inspect --format {{.Id}} deskrun-helper:0.1.0" \
		"docker import --change ENTRYPOINT [\"/deskrun\"] --change LABEL org.opencontainers.image.version=0.1.0 - deskrun-helper:0.1.0" \
		"kind load docker-image deskrun-helper:0.1.0 --name deskrun")"
else
	skip "up builds the missing helper image" "no deskrun-static in a sanitizer build"
fi
check "the helper image is on the node now" contains "$(state "print(s['nodes'])")" "docker.io/library/deskrun-helper:0.1.0"
reset_calls
dk up sock >/dev/null 2>&1
check "a second up does not load it again" eq "$(calls | grep -cE '^(docker|kind)')" 0
dk down sock >/dev/null 2>&1

# ---- controller upgrade when the pinned version changes ----
set_state "s['helm']['arc']['version'] = '0.13.1'"
reset_calls
run dk up
check "an old controller is upgraded, CRDs first" eq "$(calls | head -4)" "$(lines "$HSTATUS" \
	"helm show crds oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set-controller --version 0.14.2" \
	"$APPLY" "$HINSTALL")"

# ---- controller-chart: not a chart (failures), an OCI mirror (argv: --version) ----
HTAIL="--wait --set metrics.controllerManagerAddr=:8080 --set metrics.listenerAddr=:8080 --set metrics.listenerEndpoint=/metrics --kube-context kind-deskrun"
CHART_FIX="set controller-chart to ARC's gha-runner-scale-set-controller chart 0.14.2 (a directory, a .tgz or an oci:// mirror), or to '' for ghcr.io's"
set_state "s['helm']['arc']['version'] = '0.13.1'"
dk config set controller-chart "$TMP/missing" >/dev/null
run dk up
check "a chart path that does not exist: exit 2, the setting and the fix" eq "$RC:$ERR" "2:deskrun: error: controller-chart \"$TMP/missing\": No such file or directory: $CHART_FIX"
dk config set controller-chart "$TMP" >/dev/null
run dk up
check "a directory that is no chart: exit 2" eq "$RC:$ERR" "2:deskrun: error: controller-chart \"$TMP\": no Chart.yaml in it, not a Helm chart: $CHART_FIX"
MIRROR=oci://mirror.local:5000/charts/gha-runner-scale-set-controller
dk config set controller-chart "$MIRROR" >/dev/null
set_state "del s['helm']['arc']"
reset_calls
run dk up
check "up installs from an OCI mirror at the pinned version" eq "$(calls | head -3)" "$(lines "$HSTATUS" \
	"helm show chart $MIRROR --version 0.14.2" \
	"helm upgrade --install arc --namespace arc-systems --create-namespace $MIRROR --version 0.14.2 $HTAIL")"
set_state "del s['helm']['arc']"
set_state "s['fail'] = {'show': 'Error: failed to do request: Head \"https://mirror.local:5000/v2/charts/gha-runner-scale-set-controller/manifests/0.14.2\": dial tcp: lookup mirror.local: no such host'}"
run dk up
check "an unreachable mirror: exit 1, naming the setting and helm's words" eq "$RC:$ERR" "1:deskrun: error: controller-chart \"$MIRROR\": 'helm show chart $MIRROR --version 0.14.2' failed (exit 1): Error: failed to do request: Head \"https://mirror.local:5000/v2/charts/gha-runner-scale-set-controller/manifests/0.14.2\": dial tcp: lookup mirror.local: no such host"
set_state "s['fail'] = {}"
run dk up --dry-run
check "up --dry-run names the chart it would install from" contains "$OUT" "install   ARC controller 0.14.2 from $MIRROR"
dk config set controller-chart "" >/dev/null
dk up >/dev/null 2>&1

# ---- a failing kubectl: clear error, non-zero exit, config untouched ----
dk add extra --repository https://github.com/acme/extra --auth-value-file "$DATA/token" >/dev/null
cp "$CFG" "$TMP/config.before"
set_state "s['fail'] = {'apply': 'Error from server (Forbidden): autoscalingrunnersets.actions.github.com \"extra\" is forbidden: User \"dev\" cannot patch resource'}"
run dk up
check "a failing kubectl apply exits 1" eq "$RC" 1
check "the error names the command and what it printed" contains "$ERR" "apply: 'kubectl --context kind-deskrun apply --server-side --field-manager=deskrun --force-conflicts -f -' failed (exit 1): Error from server (Forbidden)"
check "the error is one line" eq "$(printf '%s\n' "$ERR" | grep -c "^deskrun: error:")" 1
check "the config is untouched" cmp -s "$CFG" "$TMP/config.before"
set_state "s['fail'] = {}"

# ---- no secret in any argv or environment ----
leaks=$("$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl" leaks "$TOKEN" "$TOKEN64")
check "no secret appears in any recorded argv or environment" eq "${leaks:-none}" "none"
check "the environment of children is an allow-list" bash -c "! grep -q GITHUB_TOKEN '$STUB/calls.jsonl'"

# ---- a missing helm ----
rm "$STUB/helm"
CFG2=$TMP/fresh.json
"$DESKRUN" --config "$CFG2" cluster create --name other >/dev/null 2>&1
"$DESKRUN" --config "$CFG2" add x --repository https://github.com/acme/x --auth-value-file "$DATA/token" >/dev/null
run "$DESKRUN" --config "$CFG2" up
check "a missing helm exits 127" eq "$RC" 127
check "naming helm and how to install it" eq "$ERR" "deskrun: error: helm is not installed (not found on PATH): install it from https://helm.sh/docs/intro/install/"
ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/helm"

# ---- k3s and existing clusters ----
printf 'apiVersion: v1\nkind: Config\n' >"$TMP/k3s.yaml"
set_state "s['contexts'].append('default'); s['contexts'].append('prod')"
reset_calls
run "$DESKRUN" --config "$TMP/k3s.json" cluster create --provider k3s --kubeconfig "$TMP/k3s.yaml"
check "k3s: checks k3s and its kubeconfig" eq "$(calls)" "$(lines "k3s --version" \
	"kubectl --kubeconfig $TMP/k3s.yaml --context default version --output json")"
check "k3s: recorded with its kubeconfig" contains "$(cat "$TMP/k3s.json")" "\"kubeconfig\": \"$TMP/k3s.yaml\""
reset_calls
run "$DESKRUN" --config "$TMP/existing.json" cluster create --provider existing --context prod
check "existing: checks the context answers" eq "$(calls)" "kubectl --context prod version --output json"
run "$DESKRUN" --config "$TMP/existing2.json" cluster create --provider existing
check "existing without --context exits 2" eq "$RC" 2
run "$DESKRUN" --config "$TMP/existing3.json" cluster create --provider existing --context nowhere
check "an unknown context fails clearly" contains "$ERR" "the cluster (context nowhere) does not answer"
run "$DESKRUN" --config "$TMP/existing.json" cluster delete
check "deleting an existing cluster only forgets it" contains "$OUT" "forgot existing cluster"

# ---- kind: delete ----
# The spinner: on a terminal only, turned while a child runs and erased when it ends.
run dk up
check "off a terminal, progress has no spinner" lacks "$ERR" $'\r'
if command -v script >/dev/null 2>&1; then
	script -qec "$DESKRUN --config $CFG up" "$TMP/typescript" >/dev/null 2>&1
	tty_out=$(cat "$TMP/typescript")
	check "on a terminal, a spinner turns while the tools run" contains "$tty_out" $'\r|'
	check "and is erased when each ends" contains "$tty_out" $'\r \r'
	check "and the result is still printed" contains "$tty_out" "nothing to change"
	TERM=dumb script -qec "$DESKRUN --config $CFG up" "$TMP/typescript-dumb" >/dev/null 2>&1
	check "TERM=dumb turns it off" lacks "$(cat "$TMP/typescript-dumb")" $'\r|'
else
	skip "spinner on a terminal" "script(1) is not installed"
fi
reset_calls
run dk cluster delete
check "cluster delete deletes the kind cluster" eq "$(calls)" "kind delete cluster --name deskrun"
check "and forgets it" lacks "$(cat "$CFG")" '"cluster"'

done_testing
