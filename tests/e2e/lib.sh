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
#   replay_reference / replay_in / replay_compare   the runner's own Docker calls replayed
#                                   (tests/e2e/replay.sh) and compared with a reference run;
#                                   see their section below
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
	_replay_stop_all
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
		docker info --format '{{.Containers}}:{{.DockerRootDir}}'
	check "the job container's /var/run/docker.sock answers" eq "$RC" 0
	check "  and it is the guard (counts zeroed, no data root; the node's daemon shows its root)" \
		eq "$OUT:$(nd info --format '{{if .DockerRootDir}}root{{end}}')" "0::root"
	pexec "$pod" runner docker run --rm -v "/var/run/docker.sock":"/var/run/docker.sock" "$RUNNER_IMAGE" \
		docker run --rm --privileged "$BASE_IMAGE" true
	check "docker run --privileged from inside a job container is refused by the guard" contains "$ERR" "deskrun guard:"
	pexec "$pod" runner docker run --rm -v "/var/run/docker.sock":"/var/run/docker.sock" "$RUNNER_IMAGE" \
		docker run --rm -v /:/host --pid host "$BASE_IMAGE" true
	check "  so are a host bind and the host's PID namespace" contains "$ERR" "deskrun guard:"
	nd create --name "foreign-$pod" "$BASE_IMAGE" true >/dev/null
	pexec "$pod" runner docker run --rm -v "/var/run/docker.sock":"/var/run/docker.sock" "$RUNNER_IMAGE" \
		docker ps -a --format '{{.Names}}'
	check "  and its docker ps shows none of the node's other containers" lacks "$OUT" "foreign-$pod"
	nd rm -f "foreign-$pod" >/dev/null
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

# ---- The runner's own Docker calls, replayed (tests/e2e/replay.sh) ------------------------
#   replay_reference               once per test: replay.sh against a private dockerd that sees
#                                  the runner's directories at the same absolute paths (a mount
#                                  namespace with a tmpfs on /home and /run, and its own network
#                                  namespace), as uid 1001 in group 123 like the official image;
#                                  its key facts and the negative control as TAP checks
#   replay_in NAME POD CONTAINER [--user UID:GID:GROUPS] [--no-registry] [K=V...]
#                                  replay.sh inside a pod's container (as uid 1001, gid 1001, group
#                                  123 unless told), with a registry in the pod's network
#                                  namespace; its transcript is $REPLAY_DIR/NAME.txt
#   replay_compare NAME [--node-daemon]   NAME's transcript equals the reference's (diff as
#                                  TAP diag), and its key facts; --node-daemon for a daemon
#                                  outside the runner's pod (see the function)
#   replay_registry PID LOG        a read-only registry on 127.0.0.1:5000 in PID's network
#                                  namespace (replay_in starts one in the container's own)
# A mode is a few lines: render and play its pod as the other tests do, wait for its daemon,
# then `replay_in NAME POD runner && replay_compare NAME`. The daemon pulls from 127.0.0.1:5000
# in its own network namespace: under DinD that is the pod's, where replay_in puts a registry;
# for a daemon elsewhere (a node's), start one there with replay_registry and pass
# --no-registry to replay_in.
# The runner always pulls, so the images come from a registry on 127.0.0.1:5000 (Debian's
# docker-registry): its storage is filled once per build directory and served read-only by one
# registry process per network namespace, stopped by PID when the test ends.
REPLAY_REG=127.0.0.1:5000
REPLAY_IMAGES=(REPLAY_JOB_IMAGE=$REPLAY_REG/deskrun-e2e/runner:1
	REPLAY_SERVICE_IMAGE=$REPLAY_REG/deskrun-e2e/service:1
	REPLAY_ACTION_IMAGE=$REPLAY_REG/deskrun-e2e/base:1)
REPLAY_STORE=$E2E_DIR/registry
_replay_pids=()

# The registry's storage, filled from the e2e images (and a small service image that answers
# PONG over HTTP on 6379 and has a VOLUME, as redis has) by a writable registry in a
# throwaway network namespace.
_replay_fill() {
	local stamp
	stamp=$( (cat "$E2E_DIR/images.stamp"; sed -n '/^_replay_fill/,/^}/p' "$SRCDIR/tests/e2e/lib.sh") | sha256sum | cut -c1-16)
	(
		flock 9
		mkdir -p "$REPLAY_STORE" && _replay_config "$REPLAY_STORE/config.yml" true || exit 1
		[ "$(cat "$REPLAY_STORE/stamp" 2>/dev/null)" = "$stamp" ] && exit 0
		rm -rf "$REPLAY_STORE/storage" "$REPLAY_STORE/service" && mkdir -p "$REPLAY_STORE/service" || exit 1
		echo PONG >"$REPLAY_STORE/service/index.html"
		printf '%s\n' "FROM $BASE_IMAGE" 'COPY index.html /www/index.html' 'VOLUME /data' 'EXPOSE 6379' \
			'CMD ["httpd", "-f", "-p", "6379", "-h", "/www"]' >"$REPLAY_STORE/service/Containerfile"
		P build -q --network none --format docker -t "$E2E_IMG/service:1" "$REPLAY_STORE/service" >/dev/null || exit 1
		_replay_config "$REPLAY_STORE/rw.yml" false
		unshare --net sleep infinity &
		local ns=$! i rc=0
		_replay_wait_ns "$ns" || exit 1
		nsenter --net=/proc/$ns/ns/net ip link set lo up
		nsenter --net=/proc/$ns/ns/net docker-registry serve "$REPLAY_STORE/rw.yml" >"$REPLAY_STORE/fill.log" 2>&1 &
		local reg=$!
		_replay_wait_registry "$ns" || rc=1
		for i in runner base service; do
			[ $rc = 0 ] || break
			nsenter --net=/proc/$ns/ns/net podman --root "$E2E_STORE/root" --runroot "$E2E_STORE/run" \
				--tmpdir "$E2E_STORE/tmp" push -q --tls-verify=false --format v2s2 "$E2E_IMG/$i:1" \
				"docker://$REPLAY_REG/deskrun-e2e/$i:1" >&2 || rc=1
		done
		kill "$reg" "$ns"
		wait "$reg" "$ns" 2>/dev/null
		[ $rc = 0 ] && echo "$stamp" >"$REPLAY_STORE/stamp"
		exit $rc
	) 9>"$E2E_DIR/registry.lock"
}

_replay_config() { # FILE READONLY
	printf '%s\n' 'version: 0.1' 'log:' '  level: warn' '  accesslog:' '    disabled: true' 'storage:' \
		'  filesystem:' "    rootdirectory: $REPLAY_STORE/storage" '  maintenance:' '    uploadpurging:' \
		'      enabled: false' '    readonly:' "      enabled: $2" 'http:' "  addr: $REPLAY_REG" >"$1"
}

_replay_wait_ns() { # PID: until it is in a network namespace of its own
	local i
	for i in $(seq 1 50); do
		[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ] && return 0
		sleep 0.1
	done
	return 1
}

_replay_wait_registry() { # PID in the network namespace
	local i
	for i in $(seq 1 100); do
		nsenter --net=/proc/$1/ns/net wget -q -O /dev/null "http://$REPLAY_REG/v2/" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# the registry in the network namespace of $1 does not answer" >&2
	return 1
}

# replay_registry PID LOG: a read-only registry in PID's network namespace.
replay_registry() {
	nsenter --net=/proc/$1/ns/net docker-registry serve "$REPLAY_STORE/config.yml" >>"$2" 2>&1 &
	_replay_pids+=($!)
	_replay_wait_registry "$1"
}

_replay_stop_all() {
	local p= i
	for p in "${_replay_pids[@]}"; do kill "$p" 2>/dev/null; done
	for i in $(seq 1 75); do
		for p in "${_replay_pids[@]}"; do kill -0 "$p" 2>/dev/null && break; p=; done
		[ -z "$p" ] && break
		sleep 0.2
	done
	for p in "${_replay_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	_replay_pids=()
}

REPLAY_DIR=$TMP/replay
_replay_ns() { nsenter -t "$_replay_ns_pid" -m -n "$@"; }

replay_reference() {
	local d=$REPLAY_DIR/reference
	mkdir -p "$d"
	if ! _replay_fill; then
		not_ok "reference: the registry's storage is filled from the e2e images"
		return 1
	fi
	# The runner image's externals, which the runner has at ROOT/externals.
	if ! P run --rm --network none "$RUNNER_IMAGE" tar -C /home/runner -c externals >"$d/externals.tar"; then
		not_ok "reference: the runner image's externals are copied out"
		return 1
	fi
	# A mount namespace where /home and /run are tmpfs (so /home/runner/_work and
	# /var/run/docker.sock are the daemon's and the runner's alone), in its own network namespace.
	unshare --mount --net --propagation private sh -c 'mount -t tmpfs -o mode=755 tmpfs /home &&
		mount -t tmpfs -o mode=755 tmpfs /run && ip link set lo up && touch /run/.ready &&
		exec sleep infinity' &
	_replay_ns_pid=$!
	_replay_pids+=($!)
	local i
	for i in $(seq 1 50); do _replay_ns test -e /run/.ready && break; sleep 0.1; done
	replay_registry "$_replay_ns_pid" "$d/registry.log" || { not_ok "reference: its registry answers"; return 1; }
	local bounded rt=()
	bounded=$(realpath "$SRCDIR/../shared/tools/runc-bounded" 2>/dev/null)
	[ -n "$bounded" ] && [ -x "$bounded" ] && rt=(--add-runtime "bounded=$bounded" --default-runtime bounded)
	nsenter -t "$_replay_ns_pid" -m -n dockerd --data-root "$d/data" --host unix:///var/run/docker.sock --host "unix://$d/docker.sock" \
		--group 123 "${rt[@]}" >"$d/dockerd.log" 2>&1 &
	_replay_dockerd=$!
	_replay_pids+=($!)
	for i in $(seq 1 150); do
		_replay_ns docker version >/dev/null 2>&1 && break
		sleep 0.2
	done
	if ! _replay_ns docker version >/dev/null 2>&1; then
		not_ok "reference: the private dockerd starts"
		tail -20 "$d/dockerd.log" | sed 's/^/#   /'
		return 1
	fi
	_replay_ns sh -c "mkdir -p /home/runner && chmod 777 /home/runner && tar -C /home/runner -xf '$d/externals.tar' &&
		cat >/run/replay.sh" <"$SRCDIR/tests/e2e/replay.sh"
	_replay_ns setpriv --reuid 1001 --regid 1001 --groups 123 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/home/runner "${REPLAY_IMAGES[@]}" bash /run/replay.sh >"$REPLAY_DIR/reference.txt" 2>"$d/stderr"
	check "reference: replay.sh runs to its end" eq "$(grep -c '^left\.images=' "$REPLAY_DIR/reference.txt")" 1 ||
		tail -30 "$d/stderr" | sed 's/^/#   /'
	replay_facts reference
	# Negative control: the runner's directories where the daemon has none (another mount
	# namespace with its own /home, the daemon reached by its second socket): the bind is an
	# empty directory made by the daemon, and the marker check fails.
	unshare --mount --propagation private sh -c "mount -t tmpfs tmpfs /home &&
		exec env DOCKER_HOST=unix://$d/docker.sock ROOT=/home/neg REPLAY_STEPS=user $(printf '%q ' "${REPLAY_IMAGES[@]}") \
		bash '$SRCDIR/tests/e2e/replay.sh'" >"$REPLAY_DIR/negative.txt" 2>"$d/negative.stderr"
	check "negative control: a workspace bind the daemon cannot see fails the marker check" \
		eq "$(grep -E '^user\.(marker|written)=' "$REPLAY_DIR/negative.txt" | paste -sd' ')" "user.marker=mismatch user.written=missing"
}

# replay_in NAME POD CONTAINER [--user UID:GID:GROUPS] [K=V...]: replay.sh in POD's CONTAINER
# as the runner: by default uid 1001, gid 1001, in group 123 (the socket's), with /home/runner
# mode 777, as in the official image (the e2e runner image has no such user: setpriv).
replay_in() {
	local name=$1 pod=$2 c=$3
	shift 3
	local user=1001:1001:123 env=() a pid reg=1
	while [ $# -gt 0 ]; do
		case $1 in
		--user) user=$2; shift 2 ;;
		--no-registry) reg=; shift ;;
		*) env+=(--env "$1"); shift ;;
		esac
	done
	local IFS=:
	set -- $user
	unset IFS
	for a in "${REPLAY_IMAGES[@]}"; do env+=(--env "$a"); done
	mkdir -p "$REPLAY_DIR/$name"
	pid=$(P inspect -f '{{.State.Pid}}' "$pod-$c")
	if [ -n "$reg" ] && ! replay_registry "$pid" "$REPLAY_DIR/$name/registry.log"; then
		not_ok "$name: its registry answers"
		return 1
	fi
	P exec -i "$pod-$c" sh -c 'cat >/tmp/replay.sh && mkdir -p /home/runner && chmod 777 /home/runner' \
		<"$SRCDIR/tests/e2e/replay.sh"
	P exec --env HOME=/home/runner "${env[@]}" "$pod-$c" setpriv --reuid "$1" --regid "$2" --groups "$3" \
		bash /tmp/replay.sh \
		>"$REPLAY_DIR/$name.txt" 2>"$REPLAY_DIR/$name/stderr"
}

_replay_has_all() { # STRING PART...
	local s=$1 p r=0
	shift
	for p in "$@"; do contains "$s" "$p" || r=1; done
	return $r
}

_rv() { sed -n "s/^$2=//p" "$REPLAY_DIR/$1.txt" | head -1; }

# The key facts of one transcript.
replay_facts() {
	local n=$1
	check "$n: exit codes of step 1, step 2, the action with INPUT_CODE 0 and 5, the docker:// action" \
		eq "$(_rv "$n" step1.rc),$(_rv "$n" step2.rc),$(_rv "$n" action_net_0.rc),$(_rv "$n" action_net_5.rc),$(_rv "$n" docker_action.rc)" "0,3,0,5,0"
	local o
	o=",$(_rv "$n" result.output),"
	check "$n: k=v, r=1 and d=1 in the runner-side output file ($(_rv "$n" result.output))" \
		_replay_has_all "$o" ,k=v, ,r=1, ,d=1,
	check "$n: the owner file the job container wrote says 0" eq "$(_rv "$n" result.owner)" 0
	check "$n: no container or network is left with label <L>" \
		eq "$(_rv "$n" left.containers),$(_rv "$n" left.networks)" "0,0"
	if [ "${2:-}" = --node-daemon ]; then
		check "$n: the service's port is published on the node's loopback only (the guard's rule)" \
			eq "$(grep -oE '6379/tcp -> [0-9.:]+:' "$REPLAY_DIR/$n/stderr" | sort -u)" "6379/tcp -> 127.0.0.1:"
	else
		check "$n: the service's published port answers the runner" eq "$(_rv "$n" service.from_runner)" PONG
	fi
}

# replay_compare NAME [--node-daemon]: with --node-daemon (docker-socket, dind-daemonset) the
# daemon is not in the runner's pod, so the runner cannot reach a published port at localhost
# (nor at the node's address: the guard publishes on the node's loopback only). That one line
# is left out of the comparison and checked for what it is instead.
replay_compare() {
	local n=$1 node=${2:-} ex='^$'
	[ "$node" = --node-daemon ] && ex='^service\.from_runner='
	if [ ! -s "$REPLAY_DIR/reference.txt" ]; then
		not_ok "$n: the transcript equals the reference's (no reference transcript)"
	elif diff -u <(grep -v "$ex" "$REPLAY_DIR/reference.txt") <(grep -v "$ex" "$REPLAY_DIR/$n.txt") \
		>"$REPLAY_DIR/$n.diff"; then
		ok "$n: the transcript equals the reference's ($(grep -vc "$ex" "$REPLAY_DIR/$n.txt") lines)"
	else
		not_ok "$n: the transcript equals the reference's"
		diag "$(cat "$REPLAY_DIR/$n.diff")" "stderr of replay.sh (tail):" "$(tail -20 "$REPLAY_DIR/$n/stderr")"
	fi
	replay_facts "$n" "$node"
}
