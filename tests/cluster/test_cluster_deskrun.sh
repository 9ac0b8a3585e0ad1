#!/bin/bash
# deskrun against the real cluster (tests/cluster/cluster.sh), the real kubectl and the real
# helm (tests/cluster/build.sh), with no stub anywhere:
#  - the controller chart is a CRDs-ONLY STAND-IN for ARC's gha-runner-scale-set-controller
#    chart, made here: ARC 0.14.2's four CRDs (../shared/schemas/arc-0.14.2) under crds/ and a
#    Chart.yaml named gha-runner-scale-set-controller. It has no controller Deployment: ARC's
#    Go module (and with it its chart and controller) is refused by the Go module proxy (403),
#    see test_cluster_arc.sh. deskrun reaches it through the setting controller-chart, as an
#    air-gapped user would reach a copy of the real chart;
#  - the controller upgrade path: the stand-in at 0.13.0 installed first with helm (as an older
#    deskrun did), a chart of the wrong version refused, then `up` upgrades to 0.14.2 from a
#    .tgz, CRDs first (helm never upgrades CRDs: their annotation shows deskrun applied them);
#  - `cluster create --provider existing`, seven runners, one of every mode (dind with a cache
#    and a dind with --instances 3, docker-socket, kubernetes, cached-privileged-kubernetes,
#    dind-daemonset with its DaemonSet, containerd-socket): `up` creates exactly what `render`
#    prints, the real API server validates every AutoscalingRunnerSet against ARC's CRD schema
#    (a bad one is refused) and every other object against its own, the
#    GitHub Secret arrives (on kubectl's stdin: no secret in any argv or environment of the
#    real kubectl and helm, recorded by a pass-through wrapper), a second `up` changes no
#    resourceVersion, `--instances 3` -> `2` prunes exactly ci-3's objects, `down web` removes
#    only web's, a stale object with ARC's finalizer is patched free and pruned, a runner
#    removed from the config is pruned by `up`, `down` removes every object but the namespaces;
#  - `status` and `doctor` from the live API: CRDs established, the controller release at
#    0.14.2 but no controller running (said as such), no listener, 0 runner pods; `up --wait`
#    fails at once saying no controller runs; then, with pods the test places where ARC's
#    controller would (its labels), the real kubelet's and scheduler's states as doctor reports
#    them: a Running listener, an image pull failure, a crash loop with its log tail, a pod no
#    node fits;
#  - kubernetes mode's RBAC, with `kubectl auth can-i --as` the runner's ServiceAccount: the
#    pods, pods/exec, pods/log, secrets and jobs ARC's container hooks create, and nothing more
#    (not other namespaces, not nodes, not RBAC); cached-privileged-kubernetes's the same but
#    Jobs (kubernetes-novolume's hooks); the other modes' ServiceAccount may do nothing;
#    the controller's ServiceAccount may manage the runner namespace through the manager Role.
# What the stand-in cannot prove (no controller, no listener, no runner pod) is printed as skips
# at the end. Skips (TAP, with the reason) when the cluster cannot run or its cache is cold.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/cluster/lib.sh"
t0=$(date +%s)
cluster_require "deskrun on the real cluster"
dir=$("$HERE/build.sh" --print-dir) ||
	skip_all "the build cache ${DESKRUN_CLUSTER_CACHE:-/var/cache/deskrun-cluster}/$("$HERE/build.sh" --key) is cold (see test_cluster_smoke.sh: DESKRUN_CLUSTER_BUILD=1)"
[ -x "$dir/bin/helm" ] || skip_all "helm was not built: $(cat "$dir/status/helm" 2>/dev/null)"
CRDS=$SRCDIR/../shared/schemas/arc-0.14.2
[ -f "$CRDS/actions.github.com_autoscalingrunnersets.yaml" ] || skip_all "ARC 0.14.2's CRDs are not at $CRDS"
TOKEN=$(cat "$SRCDIR/tests/data/token")
TOKEN64=$(printf %s "$TOKEN" | base64 -w0)

cluster_start

# The real kubectl and helm (cluster.sh's wrappers enter the cluster's namespaces), behind a
# pass-through that records each call's argv and environment for the secret checks: deskrun
# finds these first on PATH.
SPY=$TMP/spy
mkdir -p "$SPY"
for t in kubectl helm; do
	printf '#!/bin/sh\n{ printf "%%s\\n" "%s $*"; env | sed "s/^/  env /"; } | tee -a %s >>%s\nexec %s "$@"\n' \
		"$t" "$SPY/all.log" "$SPY/calls.log" "$C/bin/$t" >"$SPY/$t"
	chmod +x "$SPY/$t"
done
export PATH=$SPY:$PATH
kc() { "$C/bin/kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
hl() { "$C/bin/helm" --kubeconfig "$KUBECONFIG" "$@"; }
CFG=$TMP/config.json
# A secret in deskrun's own environment must not reach the real tools either.
dk() { GITHUB_TOKEN=$TOKEN "$DESKRUN" --config "$CFG" "$@"; }
calls() { grep -v '^  env ' "$SPY/calls.log"; }
RES=namespaces,serviceaccounts,secrets,configmaps,persistentvolumeclaims,roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,daemonsets.apps,deployments.apps,services,jobs.batch,autoscalingrunnersets.actions.github.com
# live: "Kind ns/name resourceVersion" of every object deskrun manages, sorted; for the
# DaemonSet its spec's generation (the controller-manager writes its status, moving its
# resourceVersion, whatever deskrun does)
live() {
	kc get "$RES" -A -l app.kubernetes.io/managed-by=deskrun -o jsonpath='{range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name} {.metadata.resourceVersion} {.metadata.generation}{"\n"}{end}' |
		awk '$1 == "DaemonSet" {print $1, $2, "generation-" $4; next} {print $1, $2, $3}' | sort
}
live_names() { live | awk '{print $1, $2}'; }
rendered_names() {
	dk render --include-secrets -o json | python3 -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    print(o["kind"], o["metadata"].get("namespace", "") + "/" + o["metadata"]["name"])' | sort
}
ars_names() { kc get autoscalingrunnersets.actions.github.com -n arc-runners -o jsonpath='{.items[*].metadata.name}'; }
release() { hl list -n arc-systems --all -o json | python3 -c 'import json,sys; print(" ".join(r["chart"] + " " + r["status"] + " r" + r["revision"] for r in json.load(sys.stdin)))'; }
crd_mark() { kc get crd autoscalingrunnersets.actions.github.com -o jsonpath='{.metadata.annotations.deskrun-test/chart}'; }

# ---- the chart stand-in, at 0.13.0 (a directory) and 0.14.2 (a .tgz, packaged by helm) ----
make_chart() { # make_chart DIR VERSION
	mkdir -p "$1/crds"
	cat >"$1/Chart.yaml" <<EOF
apiVersion: v2
name: gha-runner-scale-set-controller
description: A CRDs-only stand-in for ARC's controller chart (deskrun's tests; no controller)
type: application
version: $2
appVersion: "$2"
EOF
	# each CRD marked with the chart version that brought it (helm never upgrades CRDs)
	for f in "$CRDS"/*.yaml; do
		sed "0,/^  annotations:/s//  annotations:\n    deskrun-test\/chart: \"$2\"/" "$f" >"$1/crds/${f##*/}"
	done
}
make_chart "$TMP/chart-0.13.0" 0.13.0
make_chart "$TMP/chart-0.14.2" 0.14.2
hl package "$TMP/chart-0.14.2" -d "$TMP" >/dev/null
TGZ=$TMP/gha-runner-scale-set-controller-0.14.2.tgz
check "helm packages the 0.14.2 stand-in as a .tgz" test -s "$TGZ"

run hl install arc "$TMP/chart-0.13.0" --namespace arc-systems --create-namespace --wait --timeout 2m
check "an older controller release (stand-in 0.13.0) is installed with helm, as an older deskrun did" eq "$RC" 0
check "with its CRDs" eq "$(crd_mark)" "0.13.0"

# ---- deskrun: the cluster and seven runners ----
run dk cluster create --provider existing --kubeconfig "$KUBECONFIG" --context "$DESKRUN_CLUSTER_CONTEXT"
check "cluster create --provider existing --kubeconfig records the live cluster" eq "$RC" 0
A=(--auth-value-file "$SRCDIR/tests/data/token")
dk add web --repository https://github.com/acme/web --mode dind --cache /var/lib/docker "${A[@]}" >/dev/null 2>&1
dk add sock --repository https://github.com/acme/sock --mode docker-socket "${A[@]}" >/dev/null 2>&1
dk add kube --repository https://github.com/acme/kube --mode kubernetes "${A[@]}" >/dev/null 2>&1
dk add ci --repository https://github.com/acme/ci --mode dind --instances 3 "${A[@]}" >/dev/null 2>&1
dk add priv --repository https://github.com/acme/priv --mode cached-privileged-kubernetes --cache /var/lib/docker "${A[@]}" >/dev/null 2>&1
dk add dds --repository https://github.com/acme/dds --mode dind-daemonset "${A[@]}" >/dev/null 2>&1
dk add ctr --repository https://github.com/acme/ctr --mode containerd-socket "${A[@]}" >/dev/null 2>&1
check "seven runners, every mode (dind with a cache and x3, docker-socket, kubernetes, cached-privileged-kubernetes, dind-daemonset, containerd-socket)" \
	eq "$(dk list | awk 'NR>1{print $1 "/" $2 "/" $6}' | tr '\n' ' ')" "ci/dind/3 ctr/containerd-socket/1 dds/dind-daemonset/1 kube/kubernetes/1 priv/cached-privileged-kubernetes/1 sock/docker-socket/1 web/dind/1 "

# ---- a chart of the wrong version is refused before anything changes ----
dk config set controller-chart "$TMP/chart-0.13.0" >/dev/null
run dk up
check "controller-chart at 0.13.0: up refuses it (exit 2)" eq "$RC" 2
check "naming the setting, what the real 'helm show chart' says it is, and the fix" contains "$ERR" "controller-chart \"$TMP/chart-0.13.0\" is chart gha-runner-scale-set-controller 0.13.0, deskrun installs gha-runner-scale-set-controller 0.14.2: set controller-chart to"
check "nothing changed: the release is still 0.13.0, revision 1" eq "$(release)" "gha-runner-scale-set-controller-0.13.0 deployed r1"
check "and no runner object exists" eq "$(live)" ""

# ---- up: upgrade the controller from the .tgz, CRDs first, then apply ----
dk config set controller-chart "$TGZ" >/dev/null
: >"$SPY/calls.log"
run dk up
check "up exits 0" eq "$RC" 0
[ "$RC" = 0 ] || diag "$ERR"
check "it upgraded the controller 0.13.0 -> 0.14.2 from the .tgz" contains "$ERR" "upgrading the ARC controller 0.13.0 -> 0.14.2 from $TGZ (CRDs first)"
check "the real helm release is now the 0.14.2 chart, revision 2" eq "$(release)" "gha-runner-scale-set-controller-0.14.2 deployed r2"
check "the CRDs are 0.14.2's: deskrun applied them (helm upgrade leaves CRDs alone)" eq "$(crd_mark)" "0.14.2"
order=$(calls | grep -nE '^helm (show crds|upgrade)|^kubectl .*apply' | head -3 | sed -E 's/^([0-9]+):(helm show crds|helm upgrade|kubectl).*/\2/' | tr '\n' ',')
check "in order: helm show crds, kubectl apply (the CRDs), helm upgrade" eq "$order" "helm show crds,kubectl,helm upgrade,"
check "helm upgrade from the archive, without --version (a local chart is installed as it is)" \
	eq "$(calls | grep '^helm upgrade' | grep -c -- "$TGZ --wait")" 1

# ---- what the API server holds ----
check "the live objects are exactly what 'deskrun render' prints (kind, namespace, name)" eq "$(live_names)" "$(rendered_names)"
check "every AutoscalingRunnerSet was accepted by the API server (ARC's CRD schema)" eq "$(ars_names)" "ci-1 ci-2 ci-3 ctr dds kube priv sock web"
n_objects=$(live | wc -l)
diag "$n_objects objects: $(live_names | awk '{print $1}' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')"
# The schema is enforced: the same kind of object with a negative minimum is refused.
kc get autoscalingrunnersets.actions.github.com web -n arc-runners -o json |
	python3 -c 'import json,sys; o=json.load(sys.stdin); m=o["metadata"]; o["metadata"]={"name":"bad","namespace":m["namespace"]}; o.pop("status",None); o["spec"]["minRunners"]=-1; print(json.dumps(o))' >"$TMP/bad.json"
run kc apply -f "$TMP/bad.json"
check "(the API server does validate: an ARS with minRunners -1 is refused by the CRD schema)" contains "$RC $ERR" "spec.minRunners: Invalid value: -1"
check "the GitHub Secret holds the token" eq "$(kc get secret web-gha-rs-github-secret -n arc-runners -o jsonpath='{.data.github_token}')" "$TOKEN64"
check "each AutoscalingRunnerSet names its Secret" eq "$(kc get autoscalingrunnersets.actions.github.com kube -n arc-runners -o jsonpath='{.spec.githubConfigSecret}')" "kube-gha-rs-github-secret"
check "the dind-daemonset's DaemonSet (the node's shared daemon) is accepted in deskrun-system" eq "$(kc get daemonset deskrun-dind -n deskrun-system -o jsonpath='{.spec.template.spec.containers[0].securityContext.privileged}')" "true"
check "the dind set's runner template carries the dind sidecar (as applied, through the schema's pruning)" \
	eq "$(kc get autoscalingrunnersets.actions.github.com web -n arc-runners -o jsonpath='{.spec.template.spec.initContainers[?(@.name=="dind")].securityContext.privileged}')" "true"
check "no token in any argv or environment of the real kubectl and helm ($(calls | wc -l) calls)" \
	eq "$(grep -cF -e "$TOKEN" -e "$TOKEN64" "$SPY/calls.log")" 0
check "objects reach kubectl on stdin (apply -f -)" contains "$(calls)" "apply --server-side --field-manager=deskrun --force-conflicts -f -"

# ---- a second up changes nothing ----
before=$(live)
: >"$SPY/calls.log"
run dk up
check "a second up: nothing to change" eq "$RC:$OUT" "0:nothing to change: $n_objects objects are up to date"
check "and no resourceVersion changed" eq "$(live)" "$before"
check "the release stays at revision 2" eq "$(release)" "gha-runner-scale-set-controller-0.14.2 deployed r2"
check "and no mutating call was made" eq "$(calls | grep -cE '^kubectl .* (apply|delete|patch) |^helm (upgrade|install)')" 0

# ---- up --wait: honest without a controller ----
s=$(date +%s)
run dk up --wait 2m
check "up --wait with no controller running fails at once (exit 1, not a 2-minute timeout)" eq "$RC:$(($(date +%s) - s < 30))" "1:1"
check "saying no controller runs" contains "$ERR" "--wait: no ARC controller runs in arc-systems (no Deployment labelled app.kubernetes.io/part-of=gha-rs-controller; did controller-chart install one?)"

# ---- status and doctor, from the live API ----
run dk status --output json
check "status reports every set deployed, 0 runners, no listener" python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert sorted(r["scale_set"] for r in rows) == ["ci-1", "ci-2", "ci-3", "ctr", "dds", "kube", "priv", "sock", "web"], rows
for r in rows:
    assert r["deployed"] is True and r["current"] == 0 and r["listener"] == "none", r' "$OUT"
run dk cluster status
check "cluster status: ARC's CRDs established" contains "$OUT" "ARC CRDs:    4/4 established"
check "cluster status: the release, and that no controller runs" contains "$OUT" "controller:  arc 0.14.2 in arc-systems, but no controller Deployment"
run dk doctor --no-network
line_of() { printf '%s\n' "$OUT" | grep -E "^(ok|warn|fail) +$1 " | head -1; }
check "doctor exits 1 (no controller)" eq "$RC" 1
check "doctor: 4 of 4 ARC CRDs established" contains "$(line_of cluster/arc-crds)" "ok    cluster/arc-crds            4 of 4 ARC CRDs established"
check "doctor: the controller release is 0.14.2 (helm list)" contains "$(line_of cluster/controller-version)" "ok    cluster/controller-version  controller 0.14.2"
check "doctor: no controller Deployment, said as such" contains "$(line_of cluster/controller-ready)" "fail  cluster/controller-ready    no controller Deployment (app.kubernetes.io/part-of=gha-rs-controller) in arc-systems"
check "doctor: each set is deployed" eq "$(printf '%s\n' "$OUT" | grep -cE '^ok +runner [a-z0-9-]+/deployed ')" 9
check "doctor: no listener because no controller runs (not 'the controller has not started one')" \
	eq "$(printf '%s\n' "$OUT" | grep -cE '^fail +runner [a-z0-9-]+/listener +no listener pod: no ARC controller runs to start one$')" 9
check "doctor: 0 runner pods" eq "$(printf '%s\n' "$OUT" | grep -cE '^ok +runner [a-z0-9-]+/runner-pods +0 runner pod\(s\), none failing$')" 9
check "doctor: the node's runtime is read (containerd: docker-socket's set is told it needs Docker nodes)" contains "$(line_of cluster/node-runtime)" "mode docker-socket needs Docker nodes"

# ---- doctor and status read the real kubelet's pod states ----
# No controller can start listeners and runner pods here, so the test puts pods where ARC's
# controller would, with the labels it gives them (a listener in arc-systems; runner pods with
# the template's deskrun.io/scale-set label), and lets the real kubelet and scheduler fail them:
# an image that cannot be pulled, a crash loop, a pod no node fits.
tpod() { # tpod NAME NAMESPACE LABELS_JSON IMAGE COMMAND_JSON [SPEC_EXTRA_JSON]
	local policy=Always
	[ "$4" = "$DESKRUN_CLUSTER_BUSYBOX" ] && policy=Never
	kc apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$1", "namespace": "$2", "labels": $3},
 "spec": {"terminationGracePeriodSeconds": 0, ${6:+$6,}
   "containers": [{"name": "runner", "image": "$4", "imagePullPolicy": "$policy", "command": $5}]}}
EOF
}
tpod kube-754b578d-listener arc-systems '{"app.kubernetes.io/component": "runner-scale-set-listener", "actions.github.com/scale-set-name": "kube", "actions.github.com/scale-set-namespace": "arc-runners"}' \
	"$DESKRUN_CLUSTER_BUSYBOX" '["sleep", "3600"]'
RL='{"deskrun.io/scale-set": "ctr", "app.kubernetes.io/component": "runner"}'
tpod ctr-runner-pull arc-runners "$RL" 127.0.0.1:1/deskrun/no-such-image:1 '["true"]'
tpod ctr-runner-crash arc-runners "$RL" "$DESKRUN_CLUSTER_BUSYBOX" '["sh", "-c", "echo deskrun-crash-marker; exit 3"]'
tpod ctr-runner-pending arc-runners "$RL" "$DESKRUN_CLUSTER_BUSYBOX" '["true"]' '"nodeSelector": {"deskrun.io/no-such-node": "x"}'
jp() { kc get pod "$1" -n "$2" -o jsonpath="$3" 2>/dev/null; }
pull_failed() { case $(jp ctr-runner-pull arc-runners '{.status.containerStatuses[0].state.waiting.reason}') in ErrImagePull | ImagePullBackOff) echo yes ;; esac; }
until_eq() { # until_eq SECONDS WANT CMD...: poll until CMD prints WANT
	local end=$(($(date +%s) + $1)) want=$2
	shift 2
	while [ "$("$@")" != "$want" ]; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 1
	done
}
check "the listener pod runs" until_eq 60 Running jp kube-754b578d-listener arc-systems '{.status.phase}'
check "the kubelet cannot pull 127.0.0.1:1/... (ErrImagePull or ImagePullBackOff)" until_eq 60 yes pull_failed
restarted() { [ "$(jp ctr-runner-crash arc-runners '{.status.containerStatuses[0].restartCount}')" -ge 1 ] 2>/dev/null && echo yes; }
check "the crashing pod is restarted by the kubelet (its crash loop has begun)" until_eq 90 yes restarted
check "the scheduler finds no node for the pending pod" until_eq 30 Unschedulable jp ctr-runner-pending arc-runners '{.status.conditions[?(@.type=="PodScheduled")].reason}'
run dk doctor --no-network ctr
check "doctor ctr: an image pull failure with the kubelet's reason and the fix" \
	eq "$(printf '%s\n' "$OUT" | grep -A1 -E '^fail +runner ctr/runner-pod +pod ctr-runner-pull container runner: (ErrImagePull|ImagePullBackOff): ' | sed -n '2s/^ *//p')" \
	"fix: check the image name and that the node can pull it (--runner-image, --dind-image, --helper-image; a private registry needs an imagePullSecret; kind: 'deskrun image build' loads the helper)"
# (whatever moment of the loop doctor looks at: waiting in CrashLoopBackOff, exited again, or
# just restarted; before deskrun knew the last two, it called such a pod fine now and then)
check "doctor ctr: the crash loop with its restarts and exit code" \
	test "$(printf '%s\n' "$OUT" | grep -cE '^fail +runner ctr/runner-pod +pod ctr-runner-crash container runner: (CrashLoopBackOff \([0-9]+ restarts, last exit 3 Error\)|restarting after crashes \([0-9]+ restarts, last exit 3 Error; (exited again, to be restarted|running again)\))$')" = 1
check "and the log tail of the crashed container (kubectl logs --previous)" contains "$OUT" "deskrun-crash-marker"
check "doctor ctr: the pending pod with the scheduler's words" \
	test "$(printf '%s\n' "$OUT" | grep -cE "^fail +runner ctr/runner-pod +pod ctr-runner-pending is Pending: Unschedulable: 0/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity/selector")" = 1
diag "$(printf '%s\n' "$OUT" | grep -A1 'runner ctr/runner-pod ')"
run dk doctor --no-network kube
check "doctor kube: the listener pod is Running" contains "$OUT" "ok    runner kube/listener        pod kube-754b578d-listener Running"
run dk status kube --output json
check "status kube: listener Running" python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r[0]["listener"] == "Running", r' "$OUT"

# ---- kubernetes mode: the runner's ServiceAccount may do what ARC's container hooks do ----
KSA=system:serviceaccount:arc-runners:$(kc get autoscalingrunnersets.actions.github.com kube -n arc-runners -o jsonpath='{.spec.template.spec.serviceAccountName}')
check "the kubernetes set's runner runs as its kube-mode ServiceAccount" eq "$KSA" "system:serviceaccount:arc-runners:kube-gha-rs-kube-mode"
can() { kc auth can-i --as="$1" "${@:2}" >/dev/null 2>&1; }
cannot() { ! can "$@"; }
for v in "create pods" "get pods" "list pods" "delete pods" "create pods --subresource=exec" \
	"get pods --subresource=exec" "get pods --subresource=log" "watch pods --subresource=log" \
	"create secrets" "get secrets" "list secrets" "delete secrets" "create jobs.batch" \
	"get jobs.batch" "delete jobs.batch"; do
	# shellcheck disable=SC2086
	check "kube-mode SA may $v in arc-runners" can "$KSA" $v -n arc-runners
done
for v in "update pods -n arc-runners" "patch secrets -n arc-runners" "create pods --subresource=attach -n arc-runners" \
	"get configmaps -n arc-runners" "create serviceaccounts -n arc-runners" \
	"create rolebindings.rbac.authorization.k8s.io -n arc-runners" "create deployments.apps -n arc-runners" \
	"create pods -n default" "get secrets -n kube-system" "get secrets -n arc-systems" \
	"list secrets --all-namespaces" "delete nodes" "list namespaces"; do
	# shellcheck disable=SC2086
	check "kube-mode SA may not $v" cannot "$KSA" $v
done
# (rows of resources start the line; non-resource URLs are indented)
rules=$(kc auth can-i --list -n arc-runners --as="$KSA" | sed -n -E '2,$ s/^([a-z][^ ]*) .*(\[[^]]*\]) *$/\1 \2/p' | grep -v '^selfsubject' | sort)
check "its resource rules in arc-runners are exactly ARC's kube-mode Role's" eq "$rules" "$(printf '%s\n' \
	'jobs.batch [get list create delete]' 'pods [get list create delete]' 'pods/exec [get create]' \
	'pods/log [get list watch]' 'secrets [get list create delete]')"
# cached-privileged-kubernetes runs kubernetes-novolume's hooks (container steps as pods): the
# same Role without batch/jobs (arc-spec 2.6).
PSA=system:serviceaccount:arc-runners:$(kc get autoscalingrunnersets.actions.github.com priv -n arc-runners -o jsonpath='{.spec.template.spec.serviceAccountName}')
check "the privileged set's runner runs as its kube-mode ServiceAccount" eq "$PSA" "system:serviceaccount:arc-runners:priv-gha-rs-kube-mode"
hooks_can() { can "$1" create pods -n arc-runners && can "$1" create pods --subresource=exec -n arc-runners && can "$1" get pods --subresource=log -n arc-runners; }
check "which may create the job pod, exec into it and read its log" hooks_can "$PSA"
check "and may not create Jobs (novolume's hooks make none)" cannot "$PSA" create jobs.batch -n arc-runners
rules=$(kc auth can-i --list -n arc-runners --as="$PSA" | sed -n -E '2,$ s/^([a-z][^ ]*) .*(\[[^]]*\]) *$/\1 \2/p' | grep -v '^selfsubject' | sort)
check "its resource rules are exactly ARC's kubernetes-novolume Role's" eq "$rules" "$(printf '%s\n' \
	'pods [get list create delete]' 'pods/exec [get create]' 'pods/log [get list watch]' \
	'secrets [get list create delete]')"
NSA=system:serviceaccount:arc-runners:web-gha-rs-no-permission
check "the dind set's no-permission SA may not read pods" cannot "$NSA" get pods -n arc-runners
check "nor secrets" cannot "$NSA" get secrets -n arc-runners
CSA=system:serviceaccount:arc-systems:arc-gha-rs-controller
check "the controller's SA may create runner pods in arc-runners (the manager Role)" can "$CSA" create pods -n arc-runners
check "and their secrets" can "$CSA" create secrets -n arc-runners
check "but not in other namespaces" cannot "$CSA" create pods -n default

# ---- --instances 3 -> 2 prunes exactly one set ----
before=$(live)
dk add ci --force --repository https://github.com/acme/ci --mode dind --instances 2 "${A[@]}" >/dev/null 2>&1
run dk up
check "up after --instances 3 -> 2 exits 0" eq "$RC" 0
check "the plan deletes ci-3's 6 objects and nothing else" eq "$(printf '%s\n' "$OUT" | grep '^  delete' | awk '{print $3}' | sed 's|.*/||; s/-gha-rs.*//; s/-dockerd//' | sort | uniq -c | awk '{print $1, $2}')" "6 ci-3"
check "the sets left are ci-1 ci-2 ctr dds kube priv sock web" eq "$(ars_names)" "ci-1 ci-2 ctr dds kube priv sock web"
check "every other object is untouched (same resourceVersions)" eq "$(live)" "$(printf '%s\n' "$before" | grep -v ' arc-runners/ci-3')"
check "and the live objects are again what render prints" eq "$(live_names)" "$(rendered_names)"

# ---- a stale object with ARC's finalizer (its set stays): finalizer patched off, then deleted ----
kc apply -f - >/dev/null <<'EOF'
{"apiVersion": "v1", "kind": "ConfigMap",
 "metadata": {"name": "web-old-hook", "namespace": "arc-runners",
   "labels": {"app.kubernetes.io/managed-by": "deskrun", "deskrun.io/runner": "web"},
   "finalizers": ["actions.github.com/cleanup-protection"]}}
EOF
before=$(live | grep -v ' arc-runners/web-old-hook ')
run dk up web --timeout 20s
check "up web prunes web's stale object that carries ARC's finalizer (exit 0)" eq "$RC" 0
check "it is gone, not left terminating" eq "$(kc get configmap web-old-hook -n arc-runners --ignore-not-found -o name)" ""
check "nothing else changed" eq "$(live)" "$before"

# ---- down NAME removes only NAME's objects ----
before=$(live)
run dk down web
check "down web exits 0" eq "$RC" 0
check "web's objects are gone" eq "$(kc get "$RES" -A -l deskrun.io/runner=web -o name | wc -l)" 0
check "the others are untouched (same resourceVersions)" eq "$(live)" "$(printf '%s\n' "$before" | grep -v -E ' arc-runners/web[- ]')"
check "the config keeps web" contains "$(dk list)" "web "
check "the controller release is left alone" eq "$(release)" "gha-runner-scale-set-controller-0.14.2 deployed r2"

# ---- a runner removed from the config: up (all runners) prunes all its objects ----
before=$(live)
dk remove sock >/dev/null 2>&1
run dk up
check "up after 'remove sock' exits 0" eq "$RC" 0
check "sock's objects are pruned" eq "$(live | grep -cE ' arc-runners/sock[- ]')" 0
check "every other object is untouched (same resourceVersions)" eq "$(comm -23 <(printf '%s\n' "$before" | grep -vE ' arc-runners/sock[- ]') <(live))" ""
check "and web (downed, still defined) is deployed again: the live objects are what render prints" eq "$(live_names)" "$(rendered_names)"

# ---- down without NAME: every object deskrun deployed, but the namespaces (kept by design) ----
run dk down
check "down exits 0" eq "$RC" 0
check "only the two namespaces are left" eq "$(live_names)" "$(printf '%s\n' 'Namespace /arc-runners' 'Namespace /deskrun-system')"
check "the config keeps its runners" eq "$(dk list | awk 'NR>1{print $1}' | tr '\n' ' ')" "ci ctr dds kube priv web "
check "and the controller release stays" eq "$(release)" "gha-runner-scale-set-controller-0.14.2 deployed r2"

check "over the whole test, no token in any argv or environment of the real kubectl and helm ($(grep -vc '^  env ' "$SPY/all.log") calls)" \
	eq "$(grep -cF -e "$TOKEN" -e "$TOKEN64" "$SPY/all.log")" 0
check "(the spy did see deskrun's calls, deletes included, and their environments)" \
	test "$(grep -c '^kubectl .* delete ' "$SPY/all.log")" -ge 2 -a "$(grep -c '^  env PATH=' "$SPY/all.log")" -ge 10

# ---- what this test cannot prove (ARC's controller and listener cannot be built) ----
why="ARC's module is refused by the Go module proxy (403): no controller, listener or runner image"
for what in "the controller accepts each AutoscalingRunnerSet and starts its listener" \
	"up --wait returns once listeners and minimum runners are up" \
	"runner pods from deskrun's templates start on the real kubelet (dind sidecar, guard, caches)" \
	"status reports runner counts (the set's status, written by the controller)" \
	"a job through the GitHub stand-in scales an EphemeralRunnerSet and runs" \
	"dind-daemonset's node daemon starts from its DaemonSet (no dind image can be pulled here)"; do
	skip "$what" "$why"
done

cluster_stop
check "cluster.sh stop" grep -q "cluster: stopped" "$TMP/stop.out"
printf '%s/\n' "$C" >"$TMP/pattern" # by file: grep's own argv must not match
check "no process names the cluster's directory (the DaemonSet's pod went with it)" eq "$(grep -lsF -f "$TMP/pattern" /proc/[0-9]*/cmdline | wc -l)" 0
check "no mount under the cluster's directory" eq "$(grep -c "$C" /proc/self/mountinfo)" 0
diag "wall time: $(($(date +%s) - t0))s"
done_testing
