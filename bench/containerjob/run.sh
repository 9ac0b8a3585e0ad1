#!/bin/bash
# bench/containerjob/run.sh: the GitHub runner's container job, replayed call for call
# (tests/e2e/replay.sh: a job container with a service and its health checks, steps by docker
# exec, a Dockerfile action built and run twice with the /github/* binds, a docker:// action,
# docker inside the job container, the user's `docker run -v $GITHUB_WORKSPACE`), timed on one
# private dockerd two ways in this one run:
#   raw     the runner's folders at their own paths on the daemon's file system, the daemon's
#           own socket (what a per-pod DinD gives: the reference of the e2e replay)
#   guard   the same daemon behind `deskrun guard --pod-dir`: the runner's folders in a pod
#           folder, every bind below them opened, pinned and rewritten, docker.sock binds
#           pointed at the guard (what docker-socket and dind-daemonset do)
# The paths alternate round by round (BENCH_REPLAY_ROUNDS, default 3, after one warm-up run of
# each: the first pulls the images); the medians and their ratio are printed, then the spread.
# Needs root, dockerd, docker-registry, podman and debootstrap (the e2e images); DESKRUN and
# SRCDIR as set by scripts/bench.sh.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
ROUNDS=${BENCH_REPLAY_ROUNDS:-3}
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
for t in docker-registry podman debootstrap unshare nsenter setpriv; do
	command -v "$t" >/dev/null || { echo "bench/containerjob: needs $t; skipped"; exit 0; }
done
dockerd_available || { echo "bench/containerjob: needs root and dockerd; skipped"; exit 0; }
STATIC=$(dirname "$DESKRUN")/deskrun-static
IMG=$TMP/images
DESKRUN=$DESKRUN DESKRUN_STATIC=$STATIC "$SRCDIR/tests/e2e/images/build.sh" "$IMG" >&2 || exit 1

# One mount and network namespace: tmpfs on /home and /run (the runner's folders and
# /var/run/docker.sock are this daemon's alone), loopback up, a registry on 127.0.0.1:5000.
unshare --mount --net --propagation private sh -c 'mount -t tmpfs -o mode=755 tmpfs /home &&
	mount -t tmpfs -o mode=755 tmpfs /run && ip link set lo up && touch /run/.ready &&
	exec sleep infinity' &
NS=$!
pids=($NS)
cleanup() {
	local k p i
	# Last started, first stopped (the guard before the daemon it cleans up on), each waited
	# for up to 15 s.
	for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
		p=${pids[$k]}
		kill "$p" 2>/dev/null || continue
		for i in $(seq 1 75); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null
	done
	grep -o " $TMP/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
ns() { nsenter -t "$NS" -m -n "$@"; }
for i in $(seq 1 50); do ns test -e /run/.ready 2>/dev/null && break; sleep 0.1; done
printf '%s\n' 'version: 0.1' 'log: {level: error, accesslog: {disabled: true}}' \
	"storage: {filesystem: {rootdirectory: $TMP/registry}}" 'http: {addr: 127.0.0.1:5000}' >"$TMP/registry.yml"
# Background processes are started by nsenter itself, not through the ns function, so $! is
# theirs (a function in the background would be a subshell, and killing it leaves them).
nsenter -t "$NS" -m -n docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
pids+=($!)
bounded=$(realpath "$SRCDIR/../shared/tools/runc-bounded" 2>/dev/null)
rt=()
[ -n "$bounded" ] && [ -x "$bounded" ] && rt=(--add-runtime "bounded=$bounded" --default-runtime bounded)
nsenter -t "$NS" -m -n dockerd --data-root "$TMP/data" --exec-root "$TMP/exec" --pidfile "$TMP/dockerd.pid" \
	--host unix:///var/run/docker.sock --host "unix://$TMP/docker.sock" --group 123 "${rt[@]}" \
	>"$TMP/dockerd.log" 2>&1 &
pids+=($!)
for i in $(seq 1 150); do ns docker version >/dev/null 2>&1 && break; sleep 0.2; done
ns docker version >/dev/null 2>&1 || { echo "bench/containerjob: dockerd did not start"; tail "$TMP/dockerd.log"; exit 1; }

# The replay's images in the registry (the runner pulls every time).
REG=127.0.0.1:5000/deskrun-e2e
for i in runner base; do ns docker load -q -i "$IMG/$i.tar" >/dev/null && ns docker tag "localhost/deskrun-e2e/$i:1" "$REG/$i:1"; done
mkdir -p "$TMP/svc" && echo PONG >"$TMP/svc/index.html"
printf '%s\n' "FROM localhost/deskrun-e2e/base:1" 'COPY index.html /www/index.html' 'VOLUME /data' \
	'EXPOSE 6379' 'CMD ["httpd", "-f", "-p", "6379", "-h", "/www"]' >"$TMP/svc/Dockerfile"
DOCKER_BUILDKIT=0 ns docker build -q -t "$REG/service:1" "$TMP/svc" >/dev/null || exit 1
for i in runner base service; do ns docker push -q "$REG/$i:1" >/dev/null || exit 1; done
ns docker rmi -f "$REG/runner:1" "$REG/base:1" "$REG/service:1" >/dev/null
IMAGES=(REPLAY_JOB_IMAGE=$REG/runner:1 REPLAY_SERVICE_IMAGE=$REG/service:1 REPLAY_ACTION_IMAGE=$REG/base:1)
# The runner image's externals, where the runner has them.
ns sh -c "mkdir -p /home/runner && chmod 777 /home/runner"
ns docker run --rm "localhost/deskrun-e2e/runner:1" tar -C /home/runner -c externals | ns tar -C /home/runner -x

# The guard, with a pod folder whose work and externals the runner sees at its own paths
# (another mount namespace inside this one, as the runner container is in its pod).
POD=$TMP/pods/bench-pod
mkdir -p "$TMP/pods" "$TMP/guard"
nsenter -t "$NS" -m -n "$DESKRUN" guard --tenant bench --session bench-pod --upstream "unix://$TMP/docker.sock" \
	--listen "$POD/run/docker.sock" --state-dir "$TMP/guard" --socket-group 123 \
	--pod-dir "$POD" --cleanup-on-exit >"$TMP/guard.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do grep -q 'listening on' "$TMP/guard.log" && break; sleep 0.05; done
ns sh -c "cp -a /home/runner/externals/. '$POD/externals/'"

# replay PATH: one replay.sh run as the runner (uid 1001, group 123); prints seconds.
replay() {
	local t0 t1 rc
	t0=$(date +%s.%N)
	if [ "$1" = raw ]; then
		ns sh -c "rm -rf /home/runner/_work" &&
			ns setpriv --reuid 1001 --regid 1001 --groups 123 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				HOME=/home/runner "${IMAGES[@]}" bash "$SRCDIR/tests/e2e/replay.sh" >"$TMP/raw.txt" 2>"$TMP/raw.err"
	else
		ns sh -c "find '$POD/work' -mindepth 1 -delete" &&
			ns unshare --mount --propagation private sh -c "mkdir -p /home/runner/_work &&
				mount --bind '$POD/work' /home/runner/_work &&
				mount --bind '$POD/run' /var/run && exec setpriv --reuid 1001 --regid 1001 --groups 123 \
				env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/runner REPLAY_TAG_NS=bench \
				$(printf '%q ' "${IMAGES[@]}") bash '$SRCDIR/tests/e2e/replay.sh'" >"$TMP/guard.txt" 2>"$TMP/guard.err"
	fi
	rc=$?
	t1=$(date +%s.%N)
	[ $rc = 0 ] && grep -q '^left\.images=' "$TMP/$1.txt" || { echo "bench/containerjob: the $1 replay failed" >&2; tail -5 "$TMP/$1.err" >&2; return 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b-a}'
}

replay raw >/dev/null && replay guard >/dev/null || exit 1
# The two transcripts must agree, but for the images left: the runner never removes the
# action images it builds, so on one daemon they pile up run after run, and the raw socket
# lists every run's while the guard lists the tenant's.
if ! diff -q <(grep -v '^left\.images=' "$TMP/raw.txt") <(grep -v '^left\.images=' "$TMP/guard.txt") >/dev/null; then
	echo "bench/containerjob: the transcripts differ:"
	diff "$TMP/raw.txt" "$TMP/guard.txt" | head -20
	exit 1
fi
raw=() guard=()
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		raw+=("$(replay raw)") && guard+=("$(replay guard)") || exit 1
	else
		guard+=("$(replay guard)") && raw+=("$(replay raw)") || exit 1
	fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
mr=$(median "${raw[@]}") mg=$(median "${guard[@]}")
pins=$(ns grep -c " $POD/pins/" /proc/self/mountinfo)
echo
echo "| the runner's container job, replayed ($ROUNDS rounds, median) | raw socket, folders in place | guard, pod folder and pins | guard / raw |"
echo "|---|---|---|---|"
awk -v r="$mr" -v g="$mg" 'BEGIN{printf "| whole job (%s) | %.2f s | %.2f s | %.2fx |\n", "job container, service, 3 steps, 2 actions x 2, user step", r, g, g/r}'
echo
echo "spread: raw ${raw[*]} s; guard ${guard[*]} s; transcripts equal ($(wc -l <"$TMP/raw.txt") lines); pins mounted at the end: $pins"
