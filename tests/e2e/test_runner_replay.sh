#!/bin/bash
# The GitHub runner's own Docker calls, replayed: tests/e2e/replay.sh issues what the runner
# issues (../shared/reference/runner-docker.md §1, §2, §4, §6) from the runner's side, once
# against a reference (a private dockerd that sees the runner's directories at the same
# absolute paths) and once in each mode's rendered pod; each mode's normalized transcript must
# equal the reference's, and its key facts are checked on their own.
#
# Modes: dind (the runner container, DOCKER_HOST of the pod), dind --cache-pool 2 (the same on
# a leased slot), the job pod of cached-privileged-kubernetes, and the two shared-daemon modes
# behind the guard, docker-socket and dind-daemonset (the runner's folders in the pod's folder
# on the node; the one line that differs by design, the service's port seen from the runner,
# is checked for what it is: published on the node's loopback only). In that mode the runner
# makes no Docker call of its own (ARC's container hooks run the job); the job container has
# its own dockerd, and a workflow step that drives Docker there sees the runner's work volume
# at /__w and the externals at /__e. So the replay runs inside the job container, as root (the
# job container's user), with WORK=/__w and EXT=/__e: GITHUB_WORKSPACE is /__w/r/r, as a step
# there has it. Everything else (ROOT/.runner under /home/runner, the container-side paths)
# is as in the other modes, and the transcript must be the same.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
for t in docker-registry unshare nsenter setpriv ip wget; do
	command -v "$t" >/dev/null || { skip runner-replay "$t is not installed"; done_testing; exit 0; }
done
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"
IMAGES=(--runner-image "$RUNNER_IMAGE" --dind-image "$DIND_IMAGE" --helper-image "$HELPER_IMAGE")

replay_reference

# dind and dind --cache-pool 2: the runner container of the rendered runner pod.
dind_replay() { # NAME SET
	local pod=e2e-replay-$1
	pod_yaml "$TMP/$1.json" --name "$pod" --sleep runner -- "$2" --runner-pod &&
		play "$TMP/$1.json" && wait_docker "$pod" runner || {
		not_ok "$1: the runner pod runs and reaches its daemon"
		logs "$pod" dind
		return 1
	}
	replay_in "$1" "$pod" runner
	replay_compare "$1"
	unplay "$pod"
}
run dr add rd --repository https://github.com/o/r --mode dind --auth-value-file "$TMP/pat" "${IMAGES[@]}"
check "add a dind runner" eq "$RC" 0
dind_replay dind rd
run dr add rp --repository https://github.com/o/r --mode dind --cache-pool 2 --auth-value-file "$TMP/pat" "${IMAGES[@]}"
check "add a dind runner with a cache pool of 2" eq "$RC" 0
dind_replay dind-pool rp

# cached-privileged-kubernetes: the job pod, its dockerd started as a workflow step starts it
# (test_mode_privileged.sh), the replay in the job container.
run dr add rv --repository https://github.com/o/r --mode cached-privileged-kubernetes \
	--cache /var/lib/docker --auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE"
check "add a cached-privileged-kubernetes runner" eq "$RC" 0
pod=e2e-replay-priv
if pod_yaml "$TMP/priv.json" --name "$pod" --sleep job --drop-mount /proc --map /sys=/sys --map /dev=/dev \
	-- rv --job-pod --job-image "$DIND_IMAGE" && play "$TMP/priv.json"; then
	P exec -d "$pod-job" sh -c 'exec /usr/local/bin/dind dockerd --storage-driver overlay2 \
		--data-root /var/lib/docker --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1' >/dev/null
	if wait_docker "$pod" job; then
		replay_in privileged "$pod" job --user 0:0:0 WORK=/__w EXT=/__e
		replay_compare privileged
	else
		not_ok "privileged: the job's own dockerd starts"
		P exec "$pod-job" tail -20 /var/log/dockerd.log 2>&1 | sed 's/^/#   /'
	fi
	P pod rm -f -t 1 "$pod" >/dev/null 2>&1
else
	not_ok "privileged: the job pod runs"
fi

# docker-socket and dind-daemonset: a shared daemon outside the runner's pod, reached through
# the guard, which maps the runner's folders to the pod's folder on the node and pins them.
e2e_pods_folder || not_ok "the node's pods folder is a shared mount"
# guarded_replay NAME POD SET [KUBE_ARGS...]: SET's runner pod, the replay in its runner
# container through its guard (the daemon pulls from its own registry; the step's image in
# the tenant's namespace), compared with the reference.
guarded_replay() {
	local name=$1 pod=$2 set=$3
	shift 3
	if pod_yaml "$TMP/$pod.json" --name "$pod" --sleep runner "$@" -- "$set" --runner-pod &&
		play "$TMP/$pod.json" && wait_docker "$pod" runner; then
		replay_in "$name" "$pod" runner --no-registry REPLAY_TAG_NS="$set"
		replay_compare "$name" --node-daemon
		unplay "$pod"
	else
		not_ok "$name: the runner pod runs and reaches the daemon through the guard"
		logs "$pod" guard
	fi
}
# docker-socket: the node's daemon is this test's dockerd, in a network namespace of its own
# where the registry is (the runner's pulls are the daemon's).
unshare --net sh -c 'ip link set lo up && exec sleep infinity' &
node_ns=$!
_replay_pids+=($node_ns)
_replay_wait_ns "$node_ns" && replay_registry "$node_ns" "$REPLAY_DIR/node-registry.log" ||
	not_ok "docker-socket: a registry in the node daemon's network namespace"
DOCKERD_WRAP=(nsenter --net=/proc/$node_ns/ns/net)
if start_dockerd node; then
	run dr add rs --repository https://github.com/o/r --mode docker-socket --auth-value-file "$TMP/pat" \
		--runner-image "$RUNNER_IMAGE" --guard-image "$HELPER_IMAGE"
	check "add a docker-socket runner" eq "$RC" 0
	guarded_replay docker-socket e2e-replay-sock rs --map "/var/run/docker.sock=$TMP/d-node/docker.sock"
else
	not_ok "docker-socket: the node's dockerd starts"
fi
DOCKERD_WRAP=()

# dind-daemonset: the DaemonSet's pod runs the shared daemon (the registry in its network
# namespace), the runner pod reaches it through its guard.
run dr add rds --repository https://github.com/o/r --mode dind-daemonset --auth-value-file "$TMP/pat" \
	--runner-image "$RUNNER_IMAGE" --guard-image "$HELPER_IMAGE" --dind-image "$DIND_IMAGE"
check "add a dind-daemonset runner" eq "$RC" 0
dpod=e2e-replay-dds
if pod_yaml "$TMP/dds.json" --name "$dpod" -- --daemon-pod && play "$TMP/dds.json"; then
	for i in $(seq 1 120); do
		P exec "$dpod-dockerd" docker -H unix:///var/run/dind/docker.sock version >/dev/null 2>&1 && break
		sleep 0.5
	done
	replay_registry "$(P inspect -f '{{.State.Pid}}' "$dpod-dockerd")" "$REPLAY_DIR/dds-registry.log" ||
		not_ok "dind-daemonset: a registry in the daemon pod's network namespace"
	guarded_replay dind-daemonset e2e-replay-ddsr rds
	unplay "$dpod"
else
	not_ok "dind-daemonset: the DaemonSet's pod runs"
fi

# REPLAY_KEEP=DIR keeps the transcripts, diffs and replay.sh stderr for a look afterwards.
[ -n "${REPLAY_KEEP:-}" ] && rm -rf "$REPLAY_KEEP" && cp -r "$REPLAY_DIR" "$REPLAY_KEEP"
done_testing
