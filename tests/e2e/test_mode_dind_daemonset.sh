#!/bin/bash
# Mode dind-daemonset on a real engine: the node's daemon pod from the DaemonSet template and
# the runner pods of two sets, each reaching it only through its guard sidecar, all under
# podman on one "node" directory. The sets share the daemon's layer cache (the second set's
# build is fully cached) and cannot touch each other's objects.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"

for s in a b; do
	run dr add "$s" --repository https://github.com/o/r --mode dind-daemonset --auth-value-file "$TMP/pat" \
		--runner-image "$RUNNER_IMAGE" --guard-image "$HELPER_IMAGE" --dind-image "$DIND_IMAGE"
	check "add dind-daemonset runner set $s" eq "$RC" 0
done

# The node's daemon: one pod of the DaemonSet.
pod_yaml "$TMP/node.json" --name e2e-dsd-node -- --daemon-pod || not_ok "render the daemon pod"
play "$TMP/node.json" || not_ok "podman kube play the daemon pod"
ND=(P exec e2e-dsd-node-dockerd docker -H unix:///var/run/dind/docker.sock)
for i in $(seq 1 120); do "${ND[@]}" info >/dev/null 2>&1 && break; sleep 0.5; done
run "${ND[@]}" info --format '{{.DockerRootDir}} {{.LoggingDriver}}'
check "the node's daemon runs with the rendered daemon.json" eq "$OUT" "/var/lib/docker json-file"
[ "$RC" = 0 ] || logs e2e-dsd-node dockerd
P exec -i e2e-dsd-node-dockerd docker -H unix:///var/run/dind/docker.sock load -q <"$E2E_DIR/images/base.tar" >/dev/null
check "the node's daemon has the base image" eq "$("${ND[@]}" image inspect --format ok "$BASE_IMAGE" 2>&1)" ok

for s in a b; do
	pod_yaml "$TMP/$s.json" --name "e2e-dsd-$s" --sleep runner -- "$s" --runner-pod || not_ok "render $s's pod"
	play "$TMP/$s.json" || not_ok "podman kube play $s's runner pod"
done
for s in a b; do
	if wait_docker "e2e-dsd-$s" runner; then ok "$s: the runner reaches the node's daemon through its guard"
	else not_ok "$s: the runner reaches the node's daemon through its guard"; logs "e2e-dsd-$s" guard; fi
done
pexec e2e-dsd-a runner sh -c 'echo $DOCKER_HOST; test -e /var/run/dind/docker.sock && echo raw'
check "the runner has only its guard's socket" eq "$OUT" "unix:///run/deskrun/docker.sock"

workflow e2e-dsd-a runner a/app:1
read -r cached steps < <(cache_hits)
check "set a builds from scratch" eq "$cached" 0
workflow e2e-dsd-b runner b/app:1
read -r cached steps < <(cache_hits)
check "set b's build of the same Dockerfile takes every layer from the shared cache ($cached of $steps steps)" eq "$cached $steps" "4 4"

pexec e2e-dsd-a runner docker run -d --name a-service "$BASE_IMAGE" sleep 600
id=$OUT
check "set a starts a long-running container" test -n "$id" -a "$RC" = 0
pexec e2e-dsd-b runner docker ps -a --format '{{.ID}}'
check "set b's docker ps -a does not show it" lacks "$OUT" "${id:0:12}"
pexec e2e-dsd-b runner docker inspect a-service
check "set b's docker inspect answers as for a missing object" contains "$ERR" "No such object"
pexec e2e-dsd-b runner docker rm -f "$id"
check "set b cannot remove it" contains "$ERR" "No such container"
pexec e2e-dsd-b runner docker image rm a/app:1
check "nor remove set a's image" contains "$ERR" "No such image"
pexec e2e-dsd-b runner docker tag "$BASE_IMAGE" a/app:1
check "nor overwrite set a's tag" contains "$ERR" "deskrun guard"
pexec e2e-dsd-b runner docker run --rm --privileged "$BASE_IMAGE" true
check "nor start a privileged container" contains "$ERR" "deskrun guard"
check "on the node's daemon, a's container still runs" eq "$("${ND[@]}" inspect --format '{{.State.Running}}' "$id")" true
run "${ND[@]}" run --rm a/app:1
check "and a's image is still a's" eq "$OUT" "built by deskrun e2e"
check "the daemon's layers are on the node's disk" test -d "$HOSTROOT/node/var/lib/deskrun/cache/daemonset/docker/overlay2"

unplay e2e-dsd-a
unplay e2e-dsd-b
run "${ND[@]}" ps -aq
check "when the runner pods end, their guards leave no container behind" eq "$OUT" ""
unplay e2e-dsd-node
done_testing
