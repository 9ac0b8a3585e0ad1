# tests/e2e/lib.sh: run what deskrun renders under `podman kube play` and drive a workflow's
# Docker steps from inside the runner or job container. Source after tests/lib/tap.sh and
# tests/lib/dockerd.sh.
#
#   e2e_require                    skip the whole test (and exit) when the machine cannot run it
#   e2e_setup                      build/load the test images (tests/e2e/images/build.sh) into a
#                                  podman store shared by the e2e tests of this build
#   dr ARGS...                     deskrun with this test's config file
#   pod_yaml OUT KUBE_ARGS -- RENDER_ARGS   render a pod and make it runnable (tests/e2e/kube.py)
#   play FILE / unplay POD          podman kube play / remove the pod
#   pexec POD CONTAINER CMD...      podman exec (run's OUT/ERR/RC are set)
#   wait_docker POD CONTAINER       until `docker info` answers inside the container (60 s)
#   load_base POD CONTAINER         docker load the busybox base image into the daemon it sees
#   workflow POD CONTAINER TAG      a job's Docker steps: info, two-stage build, run, a service
#                                   container over a user network; each step a TAP check
#   cache_hits                      "N M": the last workflow build's cached steps, of M cacheable
#
# Images: localhost/deskrun-e2e/{runner,dind,helper,base}:1. The podman store lives under
# $BUILDDIR/e2e-podman so the tests of one build load the images once; the Debian rootfs is
# cached under DESKRUN_E2E_CACHE (default /var/cache/deskrun-e2e) across builds.

E2E_IMG=localhost/deskrun-e2e
RUNNER_IMAGE=$E2E_IMG/runner:1
DIND_IMAGE=$E2E_IMG/dind:1
HELPER_IMAGE=$E2E_IMG/helper:1
BASE_IMAGE=$E2E_IMG/base:1
E2E_DIR=${BUILDDIR:?}/e2e
E2E_STORE=$E2E_DIR/podman
_e2e_pods=()

e2e_require() {
	local why=""
	if [ "$(id -u)" -ne 0 ]; then
		why="needs root"
	elif ! command -v podman >/dev/null 2>&1; then
		why="podman is not installed (apt-get install podman catatonit)"
	elif ! command -v debootstrap >/dev/null 2>&1; then
		why="debootstrap is not installed"
	elif ! dockerd_available; then
		why="dockerd cannot run here"
	elif [ ! -x "$BUILDDIR/deskrun-static" ]; then
		why="no deskrun-static in this build (sanitizer builds do not link statically)"
	fi
	if [ -n "$why" ]; then
		skip "$(basename "$0" .sh)" "$why"
		echo "# e2e: $(basename "$0" .sh) skipped: $why" >&2
		done_testing
		exit 0
	fi
}

# Its own --tmpdir too: podman keeps its liveness files there, and another podman store's
# `system reset` with the default tmpdir would pull them from under running pods.
P() { podman --root "$E2E_STORE/root" --runroot "$E2E_STORE/run" --tmpdir "$E2E_STORE/tmp" "$@"; }

e2e_setup() {
	export CONTAINERS_CONF=$E2E_DIR/containers.conf
	mkdir -p "$E2E_DIR"
	# podman's default ulimits fail on this kind of machine; cgroupfs and a file event log
	# because there is no systemd.
	printf '%s\n' '[containers]' 'default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]' \
		'[engine]' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' >"$CONTAINERS_CONF"
	local stamp
	stamp=$(cat "$SRCDIR"/tests/e2e/images/* "$BUILDDIR/deskrun-static" | sha256sum | cut -c1-16)
	(
		flock 9
		if [ "$(cat "$E2E_DIR/images.stamp" 2>/dev/null)" != "$stamp" ]; then
			DESKRUN=$DESKRUN DESKRUN_STATIC=$BUILDDIR/deskrun-static \
				"$SRCDIR/tests/e2e/images/build.sh" "$E2E_DIR/images" >&2 || exit 1
			local i
			for i in runner dind helper base; do
				P load -q -i "$E2E_DIR/images/$i.tar" >/dev/null || exit 1
			done
			echo "$stamp" >"$E2E_DIR/images.stamp"
		fi
	) 9>"$E2E_DIR/lock" || return 1
	HOSTROOT=$TMP/host
	mkdir -p "$HOSTROOT"
	export DESKRUN_CONFIG=$TMP/config.json
	trap _e2e_cleanup EXIT
}

_e2e_cleanup() {
	local p
	for p in "${_e2e_pods[@]}"; do P pod rm -f -t 5 "$p" >/dev/null 2>&1; done
	_dockerd_stop_all_but_rm
	[ -n "${_e2e_shared:-}" ] && umount -R "$_e2e_shared" 2>/dev/null
	rm -rf "$TMP"
}

# The node's pods folder (<cache-root>/pods), where docker-socket and dind-daemonset pods keep
# the runner's folders: a shared mount, as / is on a systemd node, so the guard's pins
# (Bidirectional) reach the node's mount namespace and the daemon. Also says where the
# docker-socket daemon (this machine's) sees the cache root.
e2e_pods_folder() {
	_e2e_shared=$HOSTROOT/node/var/lib/deskrun/cache/pods
	mkdir -p "$_e2e_shared"
	mount --bind "$_e2e_shared" "$_e2e_shared" && mount --make-rshared "$_e2e_shared" || return 1
	dr config set daemon-cache-root "$HOSTROOT/node/var/lib/deskrun/cache" >/dev/null
}

dr() { "$DESKRUN" "$@"; }

# pod_yaml OUT [kube.py args...] -- [deskrun render args...]
pod_yaml() {
	local out=$1
	shift
	local kargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do kargs+=("$1"); shift; done
	shift
	"$DESKRUN" render "$@" --legacy-sidecars >"$out.render" 2>"$out.err" || { cat "$out.err" >&2; return 1; }
	/usr/bin/python3 "$SRCDIR/tests/e2e/kube.py" --hostroot "$HOSTROOT" "${kargs[@]}" <"$out.render" >"$out"
}

play() {
	local name
	name=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["name"])' "$1")
	_e2e_pods+=("$name")
	P kube play --network none "$1" >"$TMP/play.out" 2>&1 || { cat "$TMP/play.out" >&2; return 1; }
}

unplay() { P pod rm -f -t 10 "$1" >/dev/null 2>&1; }

pexec() {
	local pod=$1 c=$2
	shift 2
	run P exec "$pod-$c" "$@"
}

logs() { P logs "$1-$2" 2>&1 | tail -${3:-20} | sed 's/^/#   /'; }

wait_docker() {
	local i
	for i in $(seq 1 120); do
		P exec "$1-$2" docker info >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

load_base() { P exec -i "$1-$2" docker load -q <"$E2E_DIR/images/base.tar" >/dev/null; }

DOCKERFILE='FROM localhost/deskrun-e2e/base:1 AS build
RUN mkdir -p /out && echo "built by deskrun e2e" >/out/msg && sleep 1
RUN cp /bin/busybox /out/busybox && sha256sum /out/busybox >/out/sum
FROM localhost/deskrun-e2e/base:1
COPY --from=build /out /app
CMD ["/bin/cat", "/app/msg"]'

# workflow POD CONTAINER TAG: the Docker steps of a job, as `run:` steps would do them.
workflow() {
	local pod=$1 c=$2 tag=$3
	local net=${tag//[^a-z0-9]/-}
	pexec "$pod" "$c" docker info --format '{{.ServerVersion}} {{.Driver}}'
	check "$pod: docker info answers" eq "$RC" 0
	pexec "$pod" "$c" sh -c "mkdir -p /tmp/ctx && printf '%s\n' '$DOCKERFILE' >/tmp/ctx/Dockerfile && cd /tmp/ctx && DOCKER_BUILDKIT=0 docker build -t $tag ."
	BUILD_OUT=$OUT
	check "$pod: docker build of a two-stage Dockerfile" eq "$RC" 0
	pexec "$pod" "$c" docker run --rm "$tag"
	check "$pod: docker run --rm of the result" eq "$OUT" "built by deskrun e2e"
	pexec "$pod" "$c" docker network create "$net"
	check "$pod: a job network is created" eq "$RC" 0
	pexec "$pod" "$c" docker run -d --name "$net-svc" --network "$net" "$BASE_IMAGE" \
		/bin/sh -c 'echo service-ok >/var/www/index.html && exec httpd -f -p 8080 -h /var/www'
	check "$pod: a service container starts" eq "$RC" 0
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pexec "$pod" "$c" docker run --rm --network "$net" "$BASE_IMAGE" wget -qO- "http://$net-svc:8080/"
		[ "$OUT" = service-ok ] && break
		sleep 0.5
	done
	check "$pod: a job container reaches the service by name" eq "$OUT" service-ok
	pexec "$pod" "$c" docker rm -f "$net-svc"
	pexec "$pod" "$c" docker network rm "$net"
	check "$pod: the service and its network are removed" eq "$RC" 0
}

# The guard's ownership labels are build steps of their own (LABEL io.deskrun.*), metadata
# that differs per set and pod: they are not the Dockerfile's layers.
cache_hits() { # "CACHED CACHEABLE": steps taken from the cache, and the Dockerfile's non-FROM steps
	local total froms labels cached
	total=$(printf '%s\n' "$BUILD_OUT" | sed -n 's|^Step 1/\([0-9]*\) .*|\1|p' | head -1)
	froms=$(printf '%s\n' "$BUILD_OUT" | grep -c '^Step [0-9]*/[0-9]* : FROM ')
	labels=$(printf '%s\n' "$BUILD_OUT" | grep -c '^Step [0-9]*/[0-9]* : LABEL io\.deskrun\.')
	cached=$(printf '%s\n' "$BUILD_OUT" | grep -c 'Using cache')
	echo "$cached $((${total:-0} - froms - labels))"
}

# runner_binds POD: the runner's own binds (runner-docker.md sections 1, 2 and 4) from POD's
# runner container: its work folder, externals and /var/run/docker.sock, as the runner names
# them, reach the containers it starts; nested docker in a job container is the pod's guard;
# a symlink planted in the workspace is refused, leaving the daemon as it was. The daemon must
# have $RUNNER_IMAGE (a job image with the docker CLI) and $BASE_IMAGE; nd is the docker CLI on
# the node's daemon itself.
runner_binds() {
	local pod=$1
	pexec "$pod" runner sh -c 'mkdir -p /home/runner/_work/r/r && echo ws-marker >/home/runner/_work/r/r/marker'
	pexec "$pod" runner docker run --rm -v /home/runner/_work/r/r:/src "$BASE_IMAGE" cat /src/marker
	check "docker run -v \$GITHUB_WORKSPACE:/src sees the checkout" eq "$OUT" ws-marker
	pexec "$pod" runner docker run --rm -v "/home/runner/_work":"/__w" -v "/home/runner/externals":"/__e":ro \
		"$BASE_IMAGE" sh -c 'cat /__w/r/r/marker /__e/README && echo from-job >/__w/r/r/out'
	check "the work folder and the runner's externals, as a container job binds them" \
		eq "$OUT" "$(printf '%s\n' ws-marker "stand-in for the runner's externals")"
	pexec "$pod" runner cat /home/runner/_work/r/r/out
	check "a file the container wrote is in the runner's workspace" eq "$OUT" from-job
	pexec "$pod" runner docker run --rm -v "/var/run/docker.sock":"/var/run/docker.sock" "$RUNNER_IMAGE" \
		docker info --format '{{.ID}} {{.Containers}}'
	check "the job container's /var/run/docker.sock answers" eq "$RC" 0
	check "  and it is the guard (its counts are the guard's, not the node's)" contains "$OUT" " 0"
	pexec "$pod" runner docker run --rm -v "/var/run/docker.sock":"/var/run/docker.sock" "$RUNNER_IMAGE" \
		docker run --rm --privileged "$BASE_IMAGE" true
	check "docker run --privileged from inside a job container is refused by the guard" contains "$ERR" "deskrun guard:"
	local before
	before=$(nd ps -aq --no-trunc; nd volume ls -q)
	pexec "$pod" runner sh -c 'ln -sfn / /home/runner/_work/r/escape && mkdir -p /home/runner/_work/r/d && ln -sfn /etc /home/runner/_work/r/d/etc'
	pexec "$pod" runner docker run --rm -v /home/runner/_work/r/escape:/x "$BASE_IMAGE" ls /x/etc
	check "a symlink planted in the workspace is not followed to the node's /" contains "$ERR" "symbolic link"
	pexec "$pod" runner docker run --rm -v /home/runner/_work/r/d/etc/shadow:/x "$BASE_IMAGE" cat /x
	check "nor one on the way to a file" contains "$ERR" "symbolic link"
	pexec "$pod" runner docker run --rm -v /home/runner/_work/../../../etc:/x "$BASE_IMAGE" ls /x
	check "a path with .. is refused" contains "$ERR" "clean absolute path"
	check "the refusals left the node daemon's containers and volumes as they were" \
		eq "$(nd ps -aq --no-trunc; nd volume ls -q)" "$before"
}
