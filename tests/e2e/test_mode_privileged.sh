#!/bin/bash
# Mode cached-privileged-kubernetes on a real engine: the job pod ARC's container hooks would
# create, with deskrun's hook extension merged (privileged root job container, the host's /sys,
# cgroups and /dev, /var/lib/docker on a node hostPath), runs under podman. The job starts its
# own dockerd (overlay2) on the cached data root and runs a workflow's Docker steps; a second
# job pod on the same node finds the image and builds with every layer cached.
#
# podman ignores hostPID, so the host's /proc cannot be coherent inside the pod (pids from
# getpid() would name other processes): this test drops that one mount, and keeps the rest.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"

run dr add pv --repository https://github.com/o/r --mode cached-privileged-kubernetes \
	--cache /var/lib/docker --auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE"
check "add a cached-privileged-kubernetes runner with a /var/lib/docker cache" eq "$RC" 0
run dr render pv --job-pod --job-image "$DIND_IMAGE"
check "the job pod runs in the host's PID and IPC namespaces" contains "$OUT" "hostPID: true"
HOSTMAP=(--map /sys=/sys --map /dev=/dev --drop-mount /proc)

for i in 1 2; do
	pod=e2e-priv-$i
	pod_yaml "$TMP/j$i.json" --name "$pod" --sleep job "${HOSTMAP[@]}" -- pv --job-pod --job-image "$DIND_IMAGE" ||
		not_ok "render the job pod"
	play "$TMP/j$i.json" || not_ok "podman kube play job pod $i"
	pexec "$pod" job sh -c 'id -u; ls /__e/README'
	check "$pod: the job runs as root, with the externals fs-init copied" eq "$OUT" "0
/__e/README"
	# What a job's first step does in this mode: start its own daemon on the cached data root.
	P exec -d "$pod-job" sh -c '/usr/local/bin/dind dockerd --storage-driver overlay2 >/var/log/dockerd.log 2>&1'
	if ! wait_docker "$pod" job; then
		not_ok "$pod: the job's own dockerd starts"
		P exec "$pod-job" tail -20 /var/log/dockerd.log | sed 's/^/#   /'
		continue
	fi
	ok "$pod: the job's own dockerd starts"
	pexec "$pod" job docker info --format '{{.Driver}} {{.DockerRootDir}}'
	check "$pod: it runs overlay2 on /var/lib/docker" eq "$OUT" "overlay2 /var/lib/docker"
	if [ "$i" = 1 ]; then
		load_base "$pod" job
	else
		pexec "$pod" job docker image inspect --format ok "$BASE_IMAGE"
		check "$pod: the base image the first job loaded is still there" eq "$OUT" ok
	fi
	workflow "$pod" job "e2e/priv:$i"
	read -r cached steps < <(cache_hits)
	if [ "$i" = 1 ]; then
		check "the first job builds from scratch" eq "$cached" 0
	else
		check "the second job builds with every layer cached ($cached of $steps steps)" eq "$cached $steps" "4 4"
	fi
	pexec "$pod" job sh -c 'kill $(cat /var/run/docker.pid); for i in $(seq 50); do [ -e /var/run/docker.pid ] || exit 0; sleep 0.2; done; exit 1'
	check "$pod: the job's dockerd stops cleanly" eq "$RC" 0
	unplay "$pod"
done
check "the cache is on the node's disk" test -d "$HOSTROOT/node/var/lib/deskrun/cache/pv/cache-0/overlay2"
done_testing
