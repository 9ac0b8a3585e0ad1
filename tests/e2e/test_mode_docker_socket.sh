#!/bin/bash
# Mode docker-socket on a real engine: the "node daemon" is this test's own dockerd. Two runner
# pods of two sets run under podman, each with deskrun's guard as sidecar in front of the node
# socket. The runner sees only the guard's socket; a job's Docker steps work through it; the
# other set cannot list, inspect or remove the first one's containers, nor start a privileged
# container; and when a pod ends its guard removes what the set left on the node.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"

start_dockerd node || { not_ok "the node's dockerd starts"; done_testing; exit 1; }
NODE_SOCK=$TMP/d-node/docker.sock
docker load -q -i "$E2E_DIR/images/base.tar" >/dev/null
check "the node daemon has the base image" eq "$(docker image inspect --format ok "$BASE_IMAGE" 2>&1)" ok

for s in s1 s2; do
	run dr add "$s" --repository https://github.com/o/r --mode docker-socket \
		--auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE" --guard-image "$HELPER_IMAGE"
	check "add docker-socket runner set $s" eq "$RC" 0
	pod_yaml "$TMP/$s.json" --name "e2e-sock-$s" --sleep runner --map "/var/run/docker.sock=$NODE_SOCK" \
		-- "$s" --runner-pod || not_ok "render $s's runner pod"
	play "$TMP/$s.json" || not_ok "podman kube play $s's runner pod"
done
for s in s1 s2; do
	if wait_docker "e2e-sock-$s" runner; then ok "$s: the runner reaches the node daemon through the guard"
	else not_ok "$s: the runner reaches the node daemon through the guard"; logs "e2e-sock-$s" guard; fi
done

pexec e2e-sock-s1 runner sh -c 'echo $DOCKER_HOST; grep -c docker.sock /proc/mounts; test -e /var/run/docker.sock && echo raw'
check "the runner has only the guard's socket, not the node's" eq "$OUT" "unix:///run/deskrun/docker.sock
0"
pexec e2e-sock-s1 runner docker info --format '{{.DockerRootDir}}'
check "and that socket leads to the node's daemon" eq "$OUT" "$TMP/d-node/data"

# Images a set builds carry its namespace (the guard refuses other tags, so no set can
# overwrite an image another set or the node relies on).
pexec e2e-sock-s1 runner sh -c "mkdir -p /tmp/t && echo 'FROM $BASE_IMAGE' >/tmp/t/Dockerfile && docker build -q -t e2e/app:1 /tmp/t"
check "a tag outside the set's namespace is refused with the guard's reason" contains "$ERR" "tenant's namespace"
workflow e2e-sock-s1 runner s1/app:1

pexec e2e-sock-s1 runner docker run -d --name s1-service "$BASE_IMAGE" sleep 600
id=$OUT
check "s1 starts a long-running container" test -n "$id" -a "$RC" = 0
pexec e2e-sock-s2 runner docker ps -a --format '{{.ID}}'
check "s2's docker ps -a does not show it" lacks "$OUT" "${id:0:12}"
pexec e2e-sock-s2 runner docker inspect "$id"
check "s2's docker inspect answers as for a missing object" contains "$ERR" "No such object"
pexec e2e-sock-s2 runner docker inspect s1-service
check "by name too" contains "$ERR" "No such object"
pexec e2e-sock-s2 runner docker rm -f "$id"
check "s2 cannot remove it" contains "$ERR" "No such container"
pexec e2e-sock-s2 runner docker stop s1-service
check "nor stop it by name" contains "$ERR" "No such container"
pexec e2e-sock-s2 runner docker run --rm --privileged "$BASE_IMAGE" true
check "s2 cannot start a privileged container (403 from the guard)" contains "$ERR" "deskrun guard"
pexec e2e-sock-s2 runner docker run --rm -v /:/host "$BASE_IMAGE" true
check "nor bind-mount the node's root" contains "$ERR" "deskrun guard"
check "on the node, s1's container still runs" eq "$(docker inspect --format '{{.State.Running}}' "$id")" true
priv=$(docker ps -aq | xargs -r docker inspect --format '{{.HostConfig.Privileged}}' | grep -c true)
check "and no privileged container exists" eq "$priv" 0
check "the node keeps its base image's tag" eq "$(docker image inspect --format ok "$BASE_IMAGE" 2>&1)" ok

# The pod ends: its guard (--cleanup-on-exit) removes what the set left on the node.
unplay e2e-sock-s1
left=$(docker ps -aq | xargs -r docker inspect --format '{{.Name}}' | grep -c s1-service)
check "when s1's pod ends, its containers are gone from the node" eq "$left" 0
pexec e2e-sock-s2 runner docker info --format ok
check "s2 keeps working" eq "$OUT" ok
unplay e2e-sock-s2
done_testing
