# tests/pod/lib.sh: helpers for the in-pod suites. Source after tests/lib/tap.sh and
# tests/lib/dockerd.sh.
#
#   need_dockerd                  print a TAP skip and exit unless dockerd can run here
#   start_ep NAME [OPTS...]       start `deskrun dind-entrypoint --pool $POOL OPTS -- dockerd` with
#                                 a private socket $TMP/NAME.sock and the test daemon flags, in
#                                 the background (log $TMP/NAME.log, ready file $TMP/NAME.ready)
#   start_ep_cmd NAME OPTS... -- CMD...  the same with any daemon command (e.g. the fake one)
#   wait_ready NAME [SECONDS]     wait for NAME's ready file; 1 (and its log as diag) if not
#   ep_pid NAME / ep_slot NAME    the entrypoint's pid / the slot it leased ("ephemeral")
#   ep_docker NAME ARGS...        docker against NAME's daemon
#   stop_ep NAME [SIGNAL]         signal it (TERM) and wait up to 60 s; EP_RC = its status
#   await PID [SECONDS]           wait for a child of the test to end; EP_RC = its status
#   descendants PID               PID's process tree (children first is not guaranteed)
#   lock_free DIR                 0 if DIR/lock can be taken right now (flock -n)
#   hold_lock DIR / release_lock  hold DIR/lock from another process, as a lessee would
# Every entrypoint, daemon and mount a suite starts is gone when it exits.

POOL=$TMP/p
FAKE=$SRCDIR/tests/pod/fake_docker.py
declare -A _EP_PID=()
_pod_bounded=$(realpath "$SRCDIR/../shared/tools/runc-bounded" 2>/dev/null)

need_dockerd() {
	if ! dockerd_available; then
		skip "dockerd-backed tests" "needs root and dockerd (uid $(id -u))"
		done_testing
		exit 0
	fi
}

# The flags every test daemon needs: no host networking, and the bounded runtime where the
# machine's capability bounding set needs it.
daemon_flags() {
	printf '%s\n' --bridge=none --iptables=false --ip6tables=false
	if [ -n "$_pod_bounded" ] && [ -x "$_pod_bounded" ]; then
		printf '%s\n' --add-runtime "bounded=$_pod_bounded" --default-runtime bounded
	fi
}

start_ep_cmd() {
	local name=$1
	shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	shift
	rm -f "$TMP/$name.ready"
	"$DESKRUN" dind-entrypoint --pool "$POOL" --ready-file "$TMP/$name.ready" "${opts[@]}" \
		-- "$@" >"$TMP/$name.log" 2>&1 &
	_EP_PID[$name]=$!
}

start_ep() {
	local name=$1
	shift
	local flags
	mapfile -t flags < <(daemon_flags)
	start_ep_cmd "$name" "$@" -- dockerd --host "unix://$TMP/$name.sock" "${flags[@]}"
}

ep_pid() { echo "${_EP_PID[$1]}"; }

wait_ready() {
	local name=$1 secs=${2:-60} i
	for i in $(seq 1 $((secs * 10))); do
		[ -s "$TMP/$name.ready" ] && return 0
		kill -0 "${_EP_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	diag "$name did not become ready; its log:"
	sed 's/^/  /' "$TMP/$name.log" | tail -25 | while IFS= read -r l; do diag "$l"; done
	return 1
}

ep_slot() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("ephemeral" if d["ephemeral"] else d["slot"])' \
		"$TMP/$1.ready" 2>/dev/null
}

ep_docker() {
	local name=$1
	shift
	DOCKER_HOST="unix://$TMP/$name.sock" docker "$@"
}

# await PID [SECONDS]: wait for our child PID to end (default 60 s; then SIGKILL it, so a
# test never hangs); EP_RC = its status.
await() {
	local pid=$1 secs=${2:-60} i
	for i in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	AWAIT_KILLED=0
	if kill -0 "$pid" 2>/dev/null; then
		# What it and its children were doing, for the next person to read the log.
		diag "pid $pid did not end within $secs s: killed; its processes:"
		ps -o pid=,stat=,wchan:24=,args= --pid "$pid" --ppid "$pid" 2>/dev/null |
			while IFS= read -r l; do diag "  $l"; done
		AWAIT_KILLED=1
		kill -KILL "$pid"
	fi
	wait "$pid" 2>/dev/null
	EP_RC=$?
}

stop_ep() {
	local name=$1 sig=${2:-TERM} pid=${_EP_PID[$1]}
	kill -"$sig" "$pid" 2>/dev/null
	await "$pid" 60
	if [ "$AWAIT_KILLED" = 1 ]; then
		diag "$name's log:"
		tail -25 "$TMP/$name.log" | while IFS= read -r l; do diag "  $l"; done
	fi
}

descendants() {
	local p
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$p"
		descendants "$p"
	done
}

lock_free() { flock -n "$1/lock" true; }

# hold_lock DIR: hold DIR/lock from another process (like a lessee) until release_lock.
hold_lock() {
	flock -o "$1/lock" sleep 300 &
	HOLDER=$!
	for _ in $(seq 1 100); do lock_free "$1" || return 0; sleep 0.05; done
	return 1
}
release_lock() {
	local kids
	kids=$(descendants "$HOLDER")
	kill "$HOLDER" $kids 2>/dev/null
	wait "$HOLDER" 2>/dev/null
}

# Processes whose command line names this test's directory: only ours can (it is unique).
_pod_own_pids() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ "$pid" = "$$" ] && continue
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF "$TMP/" && echo "$pid"
	done
}

_pod_cleanup() {
	local n pid pids
	for n in "${!_EP_PID[@]}"; do
		pid=${_EP_PID[$n]}
		kill -0 "$pid" 2>/dev/null || continue
		pids="$pid $(descendants "$pid")"
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL $pids 2>/dev/null
	done
	pids=$(_pod_own_pids)
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	sleep 0.2
	# Mounts left by killed daemons would make rm -rf fail.
	awk -v d="$TMP/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	_dockerd_stop_all
}
trap _pod_cleanup EXIT
