#!/bin/bash
# Mode containerd-socket on a real engine: the "node's containerd" is this test's own
# containerd. The runner pods of two sets run under podman with the node socket mounted; from
# inside, ctr (with the CONTAINERD_ADDRESS/CONTAINERD_NAMESPACE the mode sets) imports, tags
# and unpacks an image in its set's namespace, and the other set's namespace does not see it.
# The docker CLI does not speak this socket.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
if ! command -v containerd >/dev/null 2>&1; then
	skip "containerd-socket" "containerd is not installed"
	done_testing
	exit 0
fi
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"

# The node's containerd, private to this test.
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
TOML
containerd --config "$CD/config.toml" >"$CD/log" 2>&1 &
cpid=$!
stop_containerd() {
	kill "$cpid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$cpid" 2>/dev/null
	grep -o " $CD[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
}
cleanup() { _e2e_cleanup; stop_containerd; rm -rf "$TMP"; }
trap cleanup EXIT
for _ in $(seq 100); do ctr --address "$CD/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.2; done
run ctr --address "$CD/containerd.sock" version
check "the node's containerd starts" eq "$RC" 0

for s in c1 c2; do
	run dr add "$s" --repository https://github.com/o/r --mode containerd-socket \
		--auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE"
	check "add containerd-socket runner set $s" eq "$RC" 0
	pod_yaml "$TMP/$s.json" --name "e2e-ctrd-$s" --sleep runner \
		--map "/run/containerd/containerd.sock=$CD/containerd.sock" -- "$s" --runner-pod ||
		not_ok "render $s's pod"
	play "$TMP/$s.json" || not_ok "podman kube play $s's runner pod"
done

pexec e2e-ctrd-c1 runner sh -c 'echo "$CONTAINERD_ADDRESS $CONTAINERD_NAMESPACE"'
check "the runner gets the node socket and its set's namespace" eq "$OUT" "/run/containerd/containerd.sock deskrun-c1"
pexec e2e-ctrd-c1 runner ctr version
check "ctr in the runner reaches the node's containerd" contains "$OUT" "Server:"
run P exec -i e2e-ctrd-c1-runner ctr images import --all-platforms - <"$E2E_DIR/images/base.tar"
check "c1 imports an image" eq "$RC" 0
pexec e2e-ctrd-c1 runner ctr images ls -q
check "c1 lists it" contains "$OUT" "$BASE_IMAGE"
run ctr --address "$CD/containerd.sock" -n deskrun-c1 images ls -q
check "on the node it is in namespace deskrun-c1" contains "$OUT" "$BASE_IMAGE"
pexec e2e-ctrd-c1 runner ctr images tag "$BASE_IMAGE" localhost/c1/app:1
check "c1 tags it in its namespace" eq "$RC" 0
run ctr --address "$CD/containerd.sock" -n deskrun-c1 images ls -q
check "and the node has the tag there" contains "$OUT" localhost/c1/app:1
pexec e2e-ctrd-c1 runner ctr snapshots ls
check "c1's import unpacked the image on the node's snapshotter" contains "$OUT" Committed
# ctr run (and nerdctl run) mount the image's rootfs in the client to read its users and
# groups: an unprivileged runner cannot (the README says so).
pexec e2e-ctrd-c1 runner ctr run --rm --null-io "$BASE_IMAGE" job1 /bin/true
check "ctr run needs mount privilege in the runner, as documented" contains "$ERR" "operation not permitted"
pexec e2e-ctrd-c2 runner ctr images ls -q
check "c2's namespace does not see c1's image" eq "$OUT" ""
pexec e2e-ctrd-c2 runner ctr snapshots ls
check "nor its snapshots" lacks "$OUT" Committed
pexec e2e-ctrd-c2 runner sh -c 'echo $CONTAINERD_NAMESPACE'
check "c2 works in its own namespace" eq "$OUT" deskrun-c2
pexec e2e-ctrd-c1 runner docker -H unix:///run/containerd/containerd.sock version
check "the docker CLI does not speak the containerd socket (as the README says)" test "$RC" -ne 0
unplay e2e-ctrd-c1
unplay e2e-ctrd-c2
done_testing
