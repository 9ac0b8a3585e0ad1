#!/bin/bash
# Mode dind-daemonset on a real engine: the pod of the rendered DaemonSet (one node's privileged
# dockerd, its data root and socket directory on hostPaths under the cache root) and the runner
# pods of two sets, each with deskrun's guard in front of that daemon, run under podman. A job's
# Docker steps work from a's runner; b builds the same Dockerfile with every layer from the
# shared daemon's cache; b cannot see, inspect or remove a's container (checked on the daemon
# itself, outside the guards); a pod that ends leaves nothing of its set on the daemon.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"
e2e_pods_folder || not_ok "the node's pods folder is a shared mount"

for s in a b; do
	run dr add "$s" --repository https://github.com/o/r --mode dind-daemonset \
		--auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE" --guard-image "$HELPER_IMAGE" \
		--dind-image "$DIND_IMAGE"
	check "add dind-daemonset runner set $s" eq "$RC" 0
done

# The node's daemon: the DaemonSet's pod. nd runs the docker CLI in it against its own
# socket, outside any guard.
DAEMON=e2e-dds-node
nd() { P exec "$DAEMON-dockerd" docker -H unix:///var/run/dind/docker.sock "$@"; }
pod_yaml "$TMP/daemon.json" --name "$DAEMON" -- --daemon-pod || not_ok "render the daemon pod"
play "$TMP/daemon.json" || not_ok "podman kube play the daemon pod"
for i in $(seq 1 120); do
	nd version >/dev/null 2>&1 && break
	sleep 0.5
done
run nd info --format '{{.DockerRootDir}} {{.LoggingDriver}}'
check "the DaemonSet's pod runs dockerd with the rendered daemon.json" eq "$OUT" "/var/lib/docker json-file"
[ "$RC" = 0 ] || logs "$DAEMON" dockerd
cache_root=$HOSTROOT/node/var/lib/deskrun/cache
check "its socket is in the cache root's daemonset/sock on the node" test -S "$cache_root/daemonset/sock/docker.sock"
check "its data root is daemonset/docker on the node" test -d "$cache_root/daemonset/docker/image"
# The guard refuses `docker load`: the base image is loaded into the shared daemon directly.
P exec -i "$DAEMON-dockerd" docker -H unix:///var/run/dind/docker.sock load -q <"$E2E_DIR/images/base.tar" >/dev/null
check "the shared daemon has the base image" eq "$(nd image inspect --format ok "$BASE_IMAGE" 2>&1)" ok

for s in a b; do
	pod_yaml "$TMP/$s.json" --name "e2e-dds-$s" --sleep runner -- "$s" --runner-pod ||
		not_ok "render $s's runner pod"
	play "$TMP/$s.json" || not_ok "podman kube play $s's runner pod"
done
for s in a b; do
	if wait_docker "e2e-dds-$s" runner; then ok "$s: the runner reaches the shared daemon through its guard"
	else not_ok "$s: the runner reaches the shared daemon through its guard"; logs "e2e-dds-$s" guard; fi
done
daemon_id=$(nd info --format '{{.ID}}')
for s in a b; do
	pexec "e2e-dds-$s" runner sh -c 'echo "$DOCKER_HOST"; find / -path /proc -prune -o -path /sys -prune -o -type s -print 2>/dev/null'
	check "$s: the runner's only Docker socket is its guard's" eq "$OUT" "unix:///run/deskrun/docker.sock
/run/deskrun/docker.sock"
	pexec "e2e-dds-$s" runner docker info --format '{{.ID}}'
	check "$s: and it leads to the DaemonSet's daemon" test -n "$daemon_id" -a "$OUT" = "$daemon_id"
done

workflow e2e-dds-a runner a/app:1
# The runner's own binds reach job containers through the guard and the DaemonSet's daemon.
P exec -i "$DAEMON-dockerd" docker -H unix:///var/run/dind/docker.sock load -q <"$E2E_DIR/images/runner.tar" >/dev/null
runner_binds e2e-dds-a
check "its guard checked at start that the daemon sees the pod's folder and pins" \
	contains "$(P logs e2e-dds-a-guard 2>&1 | grep ' paths: ')" "paths: ok"
read -r cached steps < <(cache_hits)
check "a builds from scratch ($cached of $steps steps cached)" eq "$cached $steps" "0 4"
check "a's image is on the shared daemon, labelled for a" \
	eq "$(nd image inspect --format '{{index .Config.Labels "io.deskrun.tenant"}}' a/app:1 2>&1)" a

workflow e2e-dds-b runner b/app:1
read -r cached steps < <(cache_hits)
check "b builds the same Dockerfile with every layer from the shared cache ($cached of $steps steps)" eq "$cached $steps" "4 4"
pexec e2e-dds-a runner docker image inspect --format '{{.RootFS.Layers}}' a/app:1
layers_a=$OUT
pexec e2e-dds-b runner docker image inspect --format '{{.RootFS.Layers}}' b/app:1
check "b's image shares a's layers" test -n "$layers_a" -a "$OUT" = "$layers_a"
pexec e2e-dds-b runner docker image inspect a/app:1
check "but b cannot see a's image" contains "$ERR" "No such image"

# Objects are not shared: a runs a container that b cannot see, inspect or remove.
pexec e2e-dds-a runner docker run -d --name a-service "$BASE_IMAGE" sleep 600
id=$OUT
check "a starts a long-running container" test "$RC" = 0 -a ${#id} = 64
pexec e2e-dds-a runner docker ps -a --no-trunc --format '{{.ID}}'
check "a's docker ps -a shows it" contains "$OUT" "$id"
pexec e2e-dds-b runner docker ps -a --no-trunc --format '{{.ID}} {{.Names}}'
check "b's docker ps -a does not show it" lacks "$OUT" "${id:0:12}"
check "nor its name" lacks "$OUT" a-service
ghost=$(printf '%s' "$id" | tr 0-9a-f 1-9a-f0)
pexec e2e-dds-b runner docker container inspect "$ghost"
ghost_err=${ERR//$ghost/ID} ghost_rc=$RC
check "(a made-up container ID is missing: $ghost_err)" contains "$ghost_err" "No such container"
pexec e2e-dds-b runner docker container inspect "$id"
check "b's docker inspect of a's container answers as for a missing one" eq "${ERR//$id/ID} $RC" "$ghost_err $ghost_rc"
pexec e2e-dds-b runner docker inspect a-service
check "by name too" contains "$ERR" "No such object: a-service"
pexec e2e-dds-b runner docker rm -f "$ghost"
ghost_err=${ERR//$ghost/ID} ghost_rc=$RC
pexec e2e-dds-b runner docker rm -f "$id"
check "b's docker rm -f of it answers as for a missing one ($ghost_err)" eq "${ERR//$id/ID} $RC" "$ghost_err $ghost_rc"
pexec e2e-dds-b runner docker rm -f a-service
check "by name too" contains "$ERR" "No such container: a-service"
pexec e2e-dds-b runner docker image rm a/app:1
check "b cannot remove a's image" contains "$ERR" "No such image"
pexec e2e-dds-b runner docker tag "$BASE_IMAGE" a/app:1
check "nor overwrite a's tag" contains "$ERR" "Error response from daemon: deskrun guard:"
pexec e2e-dds-b runner docker run -d --name b-priv --privileged "$BASE_IMAGE" sleep 600
check "b's docker run --privileged is refused by its guard" contains "$ERR" "Error response from daemon: deskrun guard:"

# The shared daemon itself, outside the guards.
check "on the daemon, a's container still runs" eq "$(nd inspect --format '{{.State.Running}}' "$id" 2>&1)" true
check "and is a's" eq "$(nd inspect --format '{{index .Config.Labels "io.deskrun.tenant"}}' "$id" 2>&1)" a
check "no container b-priv was created" lacks "$(nd ps -a --format '{{.Names}}')" b-priv
run nd run --rm a/app:1
check "a's image is still a's build" eq "$OUT" "built by deskrun e2e"
check "the daemon keeps b's image too" eq "$(nd image inspect --format ok b/app:1 2>&1)" ok

# a's pod ends: its guard removes a's containers from the shared daemon; b keeps working.
unplay e2e-dds-a
check "when a's pod ends, a's containers are gone from the daemon" \
	eq "$(nd ps -aq --filter label=io.deskrun.tenant=a | wc -l)" 0
pexec e2e-dds-b runner docker run --rm "$BASE_IMAGE" echo b-ok
check "b keeps working" eq "$OUT" b-ok
unplay e2e-dds-b
check "when b's pod ends too, the guards have left no container on the daemon" eq "$(nd ps -aq | wc -l)" 0
check "the pods' folders are removed with the pods" eq "$(ls "$cache_root/pods")" ""
check "no pin is left mounted on the node" eq "$(grep -c " $cache_root/pods/" /proc/self/mountinfo)" 0
unplay "$DAEMON"
check "the shared layers stay on the node's disk" test -d "$cache_root/daemonset/docker/overlay2"
done_testing
