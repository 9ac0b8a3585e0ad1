# tests/guard/lib.sh: helpers for the guard's shell suites. Source after tests/lib/tap.sh and
# tests/lib/dockerd.sh.
#   guard_suite_start          skip the whole suite (TAP # SKIP) when dockerd cannot run here;
#                              otherwise start a private dockerd (RAW is its socket) and the
#                              busybox image tiny:1
#   start_guard NAME TENANT [ARGS...]   run `deskrun guard` on $TMP/g-NAME.sock with its state
#                              under $TMP/guard/TENANT; stopped when the test exits
#   stop_guard NAME            SIGTERM and wait (cleanup-on-exit runs then)
#   g NAME ARGS...             the docker CLI through guard NAME
#   d ARGS...                  the docker CLI on the raw daemon socket
#   req NAME METHOD PATH [BODY] [-H H]...   one raw request through guard NAME: sets ST, RB
#   rawreq SOCK ...            the same on any socket
RAWHTTP="$SRCDIR/tests/guard/rawhttp.py"
_guard_pids=()
_guard_names=()

_guard_stop_all() {
	local i
	for i in "${!_guard_pids[@]}"; do
		kill -TERM "${_guard_pids[$i]}" 2>/dev/null
	done
	for i in "${!_guard_pids[@]}"; do
		wait "${_guard_pids[$i]}" 2>/dev/null
	done
	_guard_pids=()
	# The daemon leaves the bridges of user-defined networks on the host when it stops; each
	# takes one of the default address pools, and once they are all taken network creation
	# fails on the machine. Note them now, remove them once the daemon is gone.
	local nets="" n
	[ -n "${RAW:-}" ] && [ -S "$RAW" ] &&
		nets=$(DOCKER_HOST="unix://$RAW" docker network ls -q --no-trunc --filter driver=bridge 2>/dev/null)
	_dockerd_stop_all
	for n in $nets; do ip link del "br-${n:0:12}" 2>/dev/null; done
}
trap _guard_stop_all EXIT

guard_suite_start() {
	if ! dockerd_available; then
		skip "guard suite" "needs root and dockerd to start a private Docker daemon"
		done_testing
		exit 0
	fi
	if ! start_dockerd main; then
		not_ok "a private dockerd starts"
		done_testing
		exit 1
	fi
	RAW=${DOCKER_HOST#unix://}
	unset DOCKER_HOST
	export DOCKER_CLI_HINTS=false
	DOCKER_HOST=unix://$RAW import_busybox tiny:1
}

start_guard() {
	local name=$1 tenant=$2
	shift 2
	mkdir -p "$TMP/guard"
	"$DESKRUN" guard --tenant "$tenant" --upstream "unix://$RAW" --listen "$TMP/g-$name.sock" \
		--state-dir "$TMP/guard/$tenant" --socket-mode 0666 "$@" >"$TMP/g-$name.log" 2>&1 &
	_guard_pids+=($!)
	_guard_names+=("$name")
	eval "GPID_$name=$!"
	local i
	for i in $(seq 1 100); do
		[ -S "$TMP/g-$name.sock" ] && return 0
		sleep 0.05
	done
	echo "# guard $name did not start:" && sed 's/^/#   /' "$TMP/g-$name.log"
	return 1
}

stop_guard() {
	local pid
	eval "pid=\$GPID_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

g() {
	local name=$1
	shift
	DOCKER_HOST="unix://$TMP/g-$name.sock" docker "$@"
}

d() { DOCKER_HOST="unix://$RAW" docker "$@"; }

rawreq() {
	local out
	out=$(python3 "$RAWHTTP" "$@")
	ST=$(printf '%s\n' "$out" | head -1)
	RB=$(printf '%s\n' "$out" | tail -n +2)
}

req() {
	local name=$1
	shift
	rawreq "$TMP/g-$name.sock" req "$@"
}

# expect NAME STATUS [SUBSTRING]: the last req answered STATUS (and its body has SUBSTRING)
expect() {
	local name=$1 status=$2 sub=${3-}
	if [ "$ST" = "$status" ] && { [ -z "$sub" ] || case "$RB" in *"$sub"*) true ;; *) false ;; esac; }; then
		ok "$name"
	else
		not_ok "$name"
		diag "expected status $status${sub:+ with \"$sub\"}" "got $ST: $RB"
	fi
}
