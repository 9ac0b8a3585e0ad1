#!/bin/bash
# The real-cluster smoke test: Kubernetes built from its Go modules (tests/cluster/build.sh),
# started privately (tests/cluster/cluster.sh), then a pod from a locally built busybox image
# runs to completion and its log is read with the real kubectl, a Service ClusterIP reaches a
# pod and the kubernetes Service is reachable from a pod (kube-proxy's iptables rules), deskrun
# records the cluster (--provider existing) and its doctor talks to the live API; after stop,
# nothing is left: processes, mounts, links, iptables chains, cgroups, sysctls.
#
# Skips (TAP, with the reason) when not root, when a program is missing, or when the build cache
# is cold and DESKRUN_CLUSTER_BUILD=1 is not set: a cold build compiles Kubernetes on 2 cores.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/cluster/lib.sh"
cluster_require "real cluster"

# ---- build, or reuse the cache ----
if [ -n "${DESKRUN_CLUSTER_BIN:-}" ]; then
	ok "binaries from DESKRUN_CLUSTER_BIN=$DESKRUN_CLUSTER_BIN"
elif dir=$("$HERE/build.sh" --print-dir); then
	ok "build cache warm: $dir ($(cat "$dir/done"))"
elif [ "${DESKRUN_CLUSTER_BUILD:-0}" = 1 ]; then
	[ -x /usr/local/go/bin/go ] || command -v go >/dev/null ||
		skip_all "no Go toolchain to build Kubernetes (go* machine kinds have one)"
	s=$(date +%s)
	if "$HERE/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"; then
		ok "cold build in $(($(date +%s) - s))s"
	else
		not_ok "build.sh failed"
		diag "$(tail -n 40 "$TMP/build.err")"
		done_testing
		exit 1
	fi
else
	skip_all "the build cache ${DESKRUN_CLUSTER_CACHE:-/var/cache/deskrun-cluster}/$("$HERE/build.sh" --key) is cold; set DESKRUN_CLUSTER_BUILD=1 to build Kubernetes, etcd and helm from the Go module proxy (about 11 minutes on 2 cores, once; later runs reuse it)"
fi

# ---- before: what the host has ----
chains_before=$(iptables-save 2>/dev/null | grep -E '^:(KUBE|CNI)' | sort)
sysctl_before=$(cat /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic /proc/sys/kernel/panic_on_oops)
# Host paths some components use whatever their flags say: cluster.sh binds its own over them.
host_paths="/var/lib/cni /var/lib/kubelet /usr/libexec/kubernetes /etc/kubernetes /opt/cni /run/netns"
paths_state() { for p in $host_paths; do [ -e "$p" ] && echo "$p $(ls -A "$p" | wc -l)" || echo "$p absent"; done; }
paths_before=$(paths_state)

stopped=0
cluster_stop() {
	[ "$stopped" = 1 ] && return
	stopped=1
	"$HERE/cluster.sh" stop "$C" >"$TMP/stop.out" 2>&1
}
trap 'cluster_stop; rm -rf "$TMP"' EXIT

# ---- start ----
run "$HERE/cluster.sh" start "$C"
if [ "$RC" = 0 ]; then
	ok "cluster.sh start: ${OUT##*started in }"
	diag "$OUT"
else
	not_ok "cluster.sh start (exit $RC)"
	diag "$ERR"
	for l in "$C"/log/*.log; do [ -s "$l" ] && diag "== $l" "$(tail -n 15 "$l")"; done
	done_testing
	exit 1
fi
holder=$(cat "$C/run/holder.pid")
id=$(cat "$C/run/id")
pids=$(cat "$C"/run/*.pid)
eval "$("$HERE/cluster.sh" env "$C")"
kc() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }

run kc get node "$DESKRUN_CLUSTER_NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}'
check "the node is Ready, kubelet v1.35 on Debian's containerd" contains "$OUT" "True v1.35."
diag "node: $OUT"
run kc version -o json
check "the real kubectl talks to the API server" contains "$OUT" '"gitVersion": "v1.35.'

# wait_phase POD PHASE SECONDS
wait_phase() {
	local end=$(($(date +%s) + $3)) ph=""
	while [ "$(date +%s)" -lt "$end" ]; do
		ph=$(kc get pod "$1" -o 'jsonpath={.status.phase}' 2>/dev/null)
		[ "$ph" = "$2" ] && return 0
		[ "$ph" = Failed ] && [ "$2" != Failed ] && break
		sleep 1
	done
	diag "pod $1: phase '$ph', wanted $2" "$(kc describe pod "$1" 2>&1 | tail -n 15)"
	return 1
}

pod() { # pod NAME ARGS_JSON [IMAGE]
	cat <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$1", "namespace": "default", "labels": {"app": "$1"}},
 "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
   "containers": [{"name": "main", "image": "${3:-$DESKRUN_CLUSTER_BUSYBOX}", "imagePullPolicy": "Never",
                   "command": $2}]}}
EOF
}

# ---- a pod runs to completion; its log through the real kubectl (apiserver -> kubelet) ----
pod hello '["/bin/sh", "-c", "echo hello from $(hostname) in the deskrun cluster"]' >"$TMP/hello.json"
run kc apply -f "$TMP/hello.json"
check "a busybox pod is created" eq "$RC" 0
check "it runs to completion (Succeeded)" wait_phase hello Succeeded 120
run kc logs hello
check "its log is read with kubectl logs" eq "$OUT" "hello from hello in the deskrun cluster"

# ---- Services through kube-proxy ----
pod web '["/bin/sh", "-c", "mkdir -p /tmp/www && echo served-by-web >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]' >"$TMP/web.json"
cat >"$TMP/svc.json" <<'EOF'
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
 "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
EOF
kc apply -f "$TMP/web.json" >/dev/null && kc apply -f "$TMP/svc.json" >/dev/null
check "a web pod runs" wait_phase web Running 60
svc_ip=$(kc get service web -o 'jsonpath={.spec.clusterIP}')
pod client "[\"/bin/sh\", \"-c\", \"for i in 1 2 3 4 5 6 7 8 9 10; do timeout 3 wget -q -O- http://$svc_ip/ && break; sleep 1; done; kubectl get --raw /version\"]" "$DESKRUN_CLUSTER_KUBECTL" >"$TMP/client.json"
kc apply -f "$TMP/client.json" >/dev/null
wait_phase client Succeeded 90
run kc logs client
check "a pod reaches the web pod through its Service ClusterIP $svc_ip" contains "$OUT" "served-by-web"
check "kubectl in a pod reaches the API server (in-cluster config: token, kube-root-ca.crt, the kubernetes Service)" contains "$OUT" '"gitVersion": "v1.35.'

# ---- deskrun against the live cluster ----
CFG=$TMP/config.json
run "$DESKRUN" --config "$CFG" cluster create --provider existing --kubeconfig "$KUBECONFIG" --context "$DESKRUN_CLUSTER_CONTEXT"
check "deskrun cluster create --provider existing records it (exit 0)" eq "$RC" 0
run "$DESKRUN" --config "$CFG" cluster status
check "deskrun cluster status: reachable" contains "$OUT" "reachable:   yes, Kubernetes v1.35."
check "cluster status on a fresh cluster: 0/4 CRDs (exit 0)" eq "$RC:$(printf '%s\n' "$OUT" | grep '^ARC CRDs:')" "0:ARC CRDs:    0/4 established"
check "and the controller not installed" contains "$OUT" "controller:  not installed ('deskrun up' installs ARC 0.14.2)"
diag "$OUT"
run "$DESKRUN" --config "$CFG" doctor --no-network
line_of() { printf '%s\n' "$OUT" | grep -E "^(ok|warn|fail) +$1 " | head -1; }
check "doctor: the cluster is reachable, Kubernetes v1.35" contains "$(line_of cluster/reachable)" "ok"
check "doctor: the node runs containerd" contains "$(line_of cluster/node-runtime)" "$DESKRUN_CLUSTER_NODE containerd://1.6"
# (exactly: the real kubectl prints nothing at all for 'get NAME... --ignore-not-found -o json'
# when none exists, which deskrun once took for invalid JSON and printed after this text)
check "doctor: ARC's CRDs are read from the API (none yet)" eq "$(line_of cluster/arc-crds)" "fail  cluster/arc-crds            0 of 4 ARC CRDs established"
check "doctor: no controller release (helm list)" eq "$(line_of cluster/controller-version)" "fail  cluster/controller-version  the ARC controller is not installed"
diag "$OUT"

# ---- stop: nothing left ----
ns_links=$("$HERE/cluster.sh" exec "$C" ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -vx lo)
cluster_stop
check "cluster.sh stop" grep -q "cluster: stopped" "$TMP/stop.out"
left=""
for p in $holder $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "no process it started is left" eq "$left" ""
# (Namespace inode numbers are reused at once by other engineers' new namespaces, so the
# check is by what the processes run: every component names the cluster's directory, and the
# containers were in the cgroups checked below.)
printf '%s/\n' "$C" >"$TMP/pattern" # by file: grep's own argv must not match
check "no process names the cluster's directory" eq "$(grep -lsF -f "$TMP/pattern" /proc/[0-9]*/cmdline | wc -l)" 0
check "no mount under the cluster's directory" eq "$(grep -c "$C" /proc/self/mountinfo)" 0
# Its links lived in its network namespace (gone, checked above); none of them is on the host.
host_links=$(ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}')
check "none of its links (${ns_links//$'\n'/ }) is on the host" eq "$(printf '%s\n' "$host_links" | grep -cxF -f <(printf '%s\n' "$ns_links") || true)" 0
check "no KUBE-/CNI- iptables chain on the host" eq "$(iptables-save 2>/dev/null | grep -E '^:(KUBE|CNI)' | sort)" "$chains_before"
check "the kubelet's cgroups are removed" eq "$(ls -d /sys/fs/cgroup/*/deskrun-cluster-"$id" 2>/dev/null)" ""
check "kernel sysctls unchanged (overcommit, panic, panic_on_oops)" eq "$(cat /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic /proc/sys/kernel/panic_on_oops)" "$sysctl_before"
check "host paths as before ($host_paths)" eq "$(paths_state)" "$paths_before"
done_testing
