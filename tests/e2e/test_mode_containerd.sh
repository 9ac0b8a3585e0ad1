#!/bin/bash
# Mode containerd-socket on a real engine: the "node's containerd" is this test's own
# containerd (private root, state and socket, CRI plugin off). The runner pods of two sets run
# under podman with the node socket hostPath mapped onto it; from inside, ctr (with the
# CONTAINERD_ADDRESS/CONTAINERD_NAMESPACE the mode sets) imports, tags and unpacks an image in
# its set's namespace, and the other set's namespace does not see it. The node's containerd
# runs a container from the image the set imported. The docker CLI does not speak this socket.
#
# Found and asserted: `ctr run` (and `nerdctl run`) mount the image's rootfs in the client to
# read its users and groups, which an unprivileged runner cannot do (and the snapshot's paths
# are the node's, not the pod's); the README's mode table says so. The namespace is a
# convention, not a boundary: a set that names another set's namespace reaches it (the README
# says "none against the node's containerd: trusted jobs only").
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	skip "containerd-socket" "containerd is not installed (apt-get install containerd)"
	done_testing
	exit 0
fi
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"

# The node's containerd, private to this test: its root, state, sockets and opt directory are
# under $CD, nothing under the machine's /var/lib/containerd, /run/containerd or
# /opt/containerd (but the shims' sockets, which containerd 1.6 always puts in
# /run/containerd/s and removes when the shim exits).
CD=$TMP/ctrd
mkdir -p "$CD"
cat >"$CD/config.toml" <<TOML
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD/containerd.sock"
[ttrpc]
  address = "$CD/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"
TOML
host_run=$(ls -A /run/containerd 2>/dev/null | grep -vx s)
containerd --config "$CD/config.toml" >"$CD/log" 2>&1 &
cpid=$!
stop_containerd() {
	kill "$cpid" 2>/dev/null
	local i
	for i in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	grep -o " $CD/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	# ctr puts a container's cgroup under /<namespace>/<id>: runc removes the container's,
	# the namespace's parent stays (empty) unless removed.
	rmdir /sys/fs/cgroup/*/deskrun-c1 /sys/fs/cgroup/deskrun-c1 2>/dev/null
}
# Before _e2e_cleanup, which removes the pods and then $TMP (containerd's root).
cleanup() { stop_containerd; _e2e_cleanup; }
trap cleanup EXIT
NODE=(ctr --address "$CD/containerd.sock")
for _ in $(seq 100); do "${NODE[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
run "${NODE[@]}" version
check "the node's containerd starts" eq "$RC" 0
run stat -c '%a %U:%G' "$CD/containerd.sock"
check "its socket is root:root 0660, as a node's is" eq "$OUT" "660 root:root"

for s in c1 c2; do
	run dr add "$s" --repository https://github.com/o/r --mode containerd-socket \
		--auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE"
	check "add containerd-socket runner set $s" eq "$RC" 0
	pod_yaml "$TMP/$s.json" --name "e2e-ctrd-$s" --sleep runner \
		--map "/run/containerd/containerd.sock=$CD/containerd.sock" -- "$s" --runner-pod ||
		not_ok "render $s's pod"
	play "$TMP/$s.json" || not_ok "podman kube play $s's runner pod"
done
# What deskrun rendered for each set (before kube.py): the env and the socket hostPath.
rendered() {
	/usr/bin/python3 -c '
import sys, yaml
pod = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Pod"][0]
s = pod["spec"]
env = {e["name"]: e.get("value") for e in s["containers"][0].get("env", [])}
hp = [v["hostPath"] for v in s["volumes"] if "hostPath" in v][0]
print(env.get("CONTAINERD_ADDRESS"), env.get("CONTAINERD_NAMESPACE"), hp["path"], hp["type"],
      s["securityContext"]["supplementalGroups"])' "$1"
}
check "c1 is rendered with the node socket and namespace deskrun-c1" \
	eq "$(rendered "$TMP/c1.json.render")" "/run/containerd/containerd.sock deskrun-c1 /run/containerd/containerd.sock Socket [0]"
check "c2 is rendered with namespace deskrun-c2" \
	eq "$(rendered "$TMP/c2.json.render" | cut -d' ' -f2)" deskrun-c2

pexec e2e-ctrd-c1 runner sh -c 'echo "$CONTAINERD_ADDRESS $CONTAINERD_NAMESPACE"'
check "the c1 runner gets the node socket and its set's namespace" eq "$OUT" "/run/containerd/containerd.sock deskrun-c1"
pexec e2e-ctrd-c2 runner sh -c 'echo "$CONTAINERD_ADDRESS $CONTAINERD_NAMESPACE"'
check "the c2 runner gets its own namespace" eq "$OUT" "/run/containerd/containerd.sock deskrun-c2"
pexec e2e-ctrd-c1 runner ctr version
check "ctr in the runner reaches the node's containerd" contains "$OUT" "Server:"
# The socket is group root: a non-root runner (the real runner image is uid 1001) reaches it
# through group 0 only, which the pod's supplementalGroups give it on Kubernetes. podman exec
# does not apply the pod's supplemental groups, so group 0 is given as the primary group here.
run P exec --user 1001:1001 e2e-ctrd-c1-runner ctr version
check "uid 1001 without group 0 is refused by the socket" contains "$ERR" "permission denied"
run P exec --user 1001:0 e2e-ctrd-c1-runner ctr version
check "uid 1001 in group 0 reaches it" contains "$OUT" "Server:"

run P exec -i e2e-ctrd-c1-runner ctr images import --all-platforms - <"$E2E_DIR/images/base.tar"
check "c1 imports the base image through the socket" eq "$RC" 0
pexec e2e-ctrd-c1 runner ctr images ls -q
check "c1 lists it" eq "$OUT" "$BASE_IMAGE"
run "${NODE[@]}" -n deskrun-c1 images ls -q
check "on the node it is in namespace deskrun-c1" eq "$OUT" "$BASE_IMAGE"
pexec e2e-ctrd-c1 runner ctr images tag "$BASE_IMAGE" localhost/e2e/app:1
check "c1 tags it in its namespace" eq "$RC" 0
pexec e2e-ctrd-c1 runner ctr snapshots ls
check "c1's import unpacked the image on the node's snapshotter" contains "$OUT" Committed
# ctr run (and nerdctl run) mount the image's rootfs in the client to read its users and
# groups: an unprivileged runner cannot (the README says so).
pexec e2e-ctrd-c1 runner ctr run --rm --null-io "$BASE_IMAGE" job1 /bin/true
check "ctr run from the runner needs mount privilege, as documented" contains "$ERR" "operation not permitted"
# The node's containerd runs what the set imported, in the set's namespace.
# (Its FIFOs and runc state under $CD, not the node's /run/containerd.)
run "${NODE[@]}" -n deskrun-c1 run --rm --fifo-dir "$CD/fifo" --runc-root "$CD/runc" \
	localhost/e2e/app:1 e2e-run sh -c 'echo "pid $$: $(cat /etc/passwd)"'
check "the node's containerd runs a container from c1's image" eq "$OUT" "pid 1: root:x:0:0:root:/root:/bin/sh"

pexec e2e-ctrd-c2 runner ctr images ls -q
check "c2's namespace does not see c1's image" eq "$OUT" ""
pexec e2e-ctrd-c2 runner ctr snapshots ls
check "nor its snapshots" lacks "$OUT" Committed
# Each set has its own copy of a name: c2 imports and tags the same names, c1 removes its tag.
run P exec -i e2e-ctrd-c2-runner ctr images import --all-platforms - <"$E2E_DIR/images/base.tar"
check "c2 imports the same image into its namespace" eq "$RC" 0
pexec e2e-ctrd-c2 runner ctr images tag "$BASE_IMAGE" localhost/e2e/app:1
check "c2 tags the same name without a conflict" eq "$RC" 0
pexec e2e-ctrd-c1 runner ctr images rm localhost/e2e/app:1
pexec e2e-ctrd-c2 runner ctr images ls -q
check "c1 removing its tag leaves c2's" eq "$(printf '%s\n' "$OUT" | tr '\n' ' ')" "$BASE_IMAGE localhost/e2e/app:1 "
run "${NODE[@]}" namespaces ls -q
check "the node's containerd has exactly the namespaces deskrun rendered" eq "$(printf '%s\n' "$OUT" | tr '\n' ' ')" "deskrun-c1 deskrun-c2 "
pexec e2e-ctrd-c2 runner ctr -n deskrun-c1 images ls -q
check "the namespace is a convention, not a boundary: c2 naming deskrun-c1 reaches it" eq "$OUT" "$BASE_IMAGE"

pexec e2e-ctrd-c1 runner docker -H unix:///run/containerd/containerd.sock version
check "the docker CLI does not speak the containerd socket (as the README says)" test "$RC" -ne 0
# The runners' command is kube.py's sleep, which ends on SIGTERM: no grace period to wait for.
P pod rm -f -t 1 e2e-ctrd-c1 e2e-ctrd-c2 >/dev/null 2>&1
check "the node's /run/containerd is as it was (but for the shims' sockets in s/)" \
	eq "$(ls -A /run/containerd 2>/dev/null | grep -vx s)" "$host_run"
done_testing
