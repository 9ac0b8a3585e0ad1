#!/bin/bash
# Mode docker-socket on a real engine: the "node daemon" is this test's own dockerd. The runner
# pods of two sets run under podman, each with deskrun's guard as sidecar in front of the
# node's socket. The runner sees only the guard's socket; a job's Docker steps work through it;
# the other set cannot list, inspect or remove the first one's containers, nor start a
# privileged container (checked on the node's daemon itself, outside the guard); and when a pod
# ends its guard removes what the set left on the node.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"
e2e_pods_folder || not_ok "the node's pods folder is a shared mount"

start_dockerd node || { not_ok "the node's dockerd starts"; done_testing; exit 1; }
NODE_SOCK=$TMP/d-node/docker.sock
# The node's daemon, straight, not through any guard.
nd() { docker -H "unix://$NODE_SOCK" "$@"; }
# The guard refuses `docker load`: the base image is the node's own, loaded beside the guard.
nd load -q -i "$E2E_DIR/images/base.tar" >/dev/null
check "the node daemon has the base image" eq "$(nd image inspect --format ok "$BASE_IMAGE" 2>&1)" ok

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

# The runner's view: DOCKER_HOST is the guard's socket, the only socket in its file system; the
# node's socket is mounted into the guard container and not into the runner container.
pexec e2e-sock-s1 runner sh -c 'echo "$DOCKER_HOST"'
check "the runner's DOCKER_HOST is the guard's socket" eq "$OUT" unix:///run/deskrun/docker.sock
pexec e2e-sock-s1 runner sh -c 'find / -path /proc -prune -o -path /sys -prune -o -type s -print 2>/dev/null'
check "the only socket the runner sees is the guard's" eq "$OUT" /run/deskrun/docker.sock
mounts() { P inspect --format '{{range .Mounts}}{{.Source}}={{.Destination}} {{end}}' "$1"; }
check "the node's socket is not mounted in the runner container" lacks "$(mounts e2e-sock-s1-runner)" "$NODE_SOCK"
check "it is mounted in the guard container" contains "$(mounts e2e-sock-s1-guard)" "$NODE_SOCK=/var/run/docker.sock"
# (by the daemon's ID: the guard blanks DockerRootDir, a path on the node)
pexec e2e-sock-s1 runner docker info --format '{{.ID}}'
check "the guard's socket leads to the node's daemon" eq "$OUT" "$(nd info --format '{{.ID}}')"

# Images a set builds carry its namespace (the guard refuses other tags, so no set can
# overwrite an image another set or the node relies on).
pexec e2e-sock-s1 runner sh -c "mkdir -p /tmp/t && echo 'FROM $BASE_IMAGE' >/tmp/t/Dockerfile && docker build -q -t e2e/app:1 /tmp/t"
check "a tag outside the set's namespace is refused with the guard's reason" contains "$ERR" "tenant's namespace"
workflow e2e-sock-s1 runner s1/app:1
check "s1's image is on the node, labelled for s1" \
	eq "$(nd image inspect --format '{{index .Config.Labels "io.deskrun.tenant"}}' s1/app:1 2>&1)" s1

# The runner's own binds reach job containers through the guard (lib.sh runner_binds).
nd load -q -i "$E2E_DIR/images/runner.tar" >/dev/null
runner_binds e2e-sock-s1
check "its guard checked at start that the daemon sees the pod's folder and pins" \
	contains "$(P logs e2e-sock-s1-guard 2>&1 | grep ' paths: ')" "paths: ok"

# Another pod's runner folders: s2's work folder is its own; s1's is not a path s2 can name.
pexec e2e-sock-s2 runner docker run --rm -v /home/runner/_work:/w "$BASE_IMAGE" ls /w
check "s2's /home/runner/_work is its own pod's folder (s1's checkout is not there)" lacks "$OUT" "r"
pexec e2e-sock-s2 runner docker run --rm -v "$HOSTROOT/node/var/lib/deskrun/cache/pods/e2e-sock-s1/work:/w" "$BASE_IMAGE" ls /w
check "s1's folder by its node path is a host bind, refused" contains "$ERR" "host bind mounts are not allowed"

# Isolation: s1 runs a container; s2 cannot see it, and touching it answers as for a
# container that does not exist (compared with the answer for a made-up ID).
pexec e2e-sock-s1 runner docker run -d --name s1-service "$BASE_IMAGE" sleep 600
id=$OUT
check "s1 starts a long-running container" test "$RC" = 0 -a ${#id} = 64
pexec e2e-sock-s1 runner docker ps -a --no-trunc --format '{{.ID}}'
check "s1's docker ps -a shows it" contains "$OUT" "$id"
pexec e2e-sock-s2 runner docker ps -a --no-trunc --format '{{.ID}} {{.Names}}'
check "s2's docker ps -a does not show it" lacks "$OUT" "${id:0:12}"
check "nor its name" lacks "$OUT" s1-service
ghost=$(printf '%s' "$id" | tr 0-9a-f 1-9a-f0)
pexec e2e-sock-s2 runner docker container inspect "$ghost"
ghost_err=${ERR//$ghost/ID} ghost_rc=$RC
check "(a made-up container ID is missing: $ghost_err)" contains "$ghost_err" "No such container"
pexec e2e-sock-s2 runner docker container inspect "$id"
check "s2's docker inspect of s1's container answers as for a missing one" eq "${ERR//$id/ID} $RC" "$ghost_err $ghost_rc"
pexec e2e-sock-s2 runner docker inspect s1-service
check "by name too" contains "$ERR" "No such object: s1-service"
pexec e2e-sock-s2 runner docker rm -f "$ghost"
ghost_err=${ERR//$ghost/ID} ghost_rc=$RC
pexec e2e-sock-s2 runner docker rm -f "$id"
check "s2's docker rm -f of it answers as for a missing one ($ghost_err)" eq "${ERR//$id/ID} $RC" "$ghost_err $ghost_rc"
pexec e2e-sock-s2 runner docker rm -f s1-service
check "by name too" contains "$ERR" "No such container: s1-service"
pexec e2e-sock-s2 runner docker stop s1-service
check "s2 cannot stop it" contains "$ERR" "No such container"

# Privilege: refused by s2's guard with a 403 the CLI prints, and the guard logs the denial.
pexec e2e-sock-s2 runner docker run -d --name s2-priv --privileged "$BASE_IMAGE" sleep 600
check "s2's docker run --privileged fails" test "$RC" -ne 0
check "with the guard's message" contains "$ERR" "Error response from daemon: deskrun guard:"
check "naming the privileged flag" contains "$ERR" rivileged
check "s2's guard answered it with a 403" \
	contains "$(P logs e2e-sock-s2-guard 2>&1 | grep ' deny ' | grep -i privileged)" "status=403"
pexec e2e-sock-s2 runner docker run --rm -v /:/host "$BASE_IMAGE" true
check "nor can s2 bind-mount the node's root" contains "$ERR" "deskrun guard:"

# The node's daemon itself, outside the guard: nothing of the above reached it.
check "on the node, s1's container still runs" eq "$(nd inspect --format '{{.State.Running}}' "$id" 2>&1)" true
check "and is s1's" eq "$(nd inspect --format '{{index .Config.Labels "io.deskrun.tenant"}}' "$id" 2>&1)" s1
check "no container s2-priv was created" lacks "$(nd ps -a --format '{{.Names}}')" s2-priv
priv=$(nd ps -aq | xargs -r docker -H "unix://$NODE_SOCK" inspect --format '{{.HostConfig.Privileged}}' | grep -c true)
check "no privileged container exists on the node" eq "$priv" 0
check "the node keeps its base image's tag" eq "$(nd image inspect --format ok "$BASE_IMAGE" 2>&1)" ok

# The pod ends: its guard (--cleanup-on-exit) removes what the set left on the node.
unplay e2e-sock-s1
check "when s1's pod ends, its containers are gone from the node" \
	eq "$(nd ps -aq --filter label=io.deskrun.tenant=s1 | wc -l)" 0
pexec e2e-sock-s2 runner docker info --format ok
check "s2 keeps working" eq "$OUT" ok
unplay e2e-sock-s2

# --no-guard: the guard checks nothing (--unrestricted) but still maps the runner's folders,
# so a container job sees the checkout; deskrun warned when the set was added.
run dr add s3 --repository https://github.com/o/r --mode docker-socket --no-guard \
	--auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE" --guard-image "$HELPER_IMAGE"
check "add a --no-guard set: it warns that jobs are root on the node" contains "$ERR" "root on the node"
pod_yaml "$TMP/s3.json" --name e2e-sock-s3 --sleep runner --map "/var/run/docker.sock=$NODE_SOCK" \
	-- s3 --runner-pod && play "$TMP/s3.json" && wait_docker e2e-sock-s3 runner
pexec e2e-sock-s3 runner sh -c 'mkdir -p /home/runner/_work/r/r && echo s3-marker >/home/runner/_work/r/r/marker'
pexec e2e-sock-s3 runner docker run --rm -v /home/runner/_work/r/r:/src "$BASE_IMAGE" cat /src/marker
check "--no-guard: docker run -v \$GITHUB_WORKSPACE:/src sees the checkout" eq "$OUT" s3-marker
pexec e2e-sock-s3 runner docker run --rm --privileged "$BASE_IMAGE" true
check "--no-guard: and nothing is checked (a privileged container runs)" eq "$RC" 0
unplay e2e-sock-s3
check "the pods' folders are removed with the pods" eq "$(ls "$HOSTROOT/node/var/lib/deskrun/cache/pods")" ""
check "no pin is left mounted on the node" eq "$(grep -c " $HOSTROOT/node/var/lib/deskrun/cache/pods/" /proc/self/mountinfo)" 0
done_testing
