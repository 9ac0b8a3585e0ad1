#!/bin/bash
# W09: testcontainers through the guard. The real client, testcontainers-python 4.14.2 from PyPI
# (tests/clients/testcontainers.sh installs it in a cached venv), runs what a job's test suite
# does (tests/guard/tc_job.py) against a guard with a runner pod's folder (--pod-dir) in front of
# a private dockerd. That dockerd has a bridge (docker0) in a network namespace of its own, and
# the client runs in that namespace: it reaches published ports as a runner on the daemon's
# network does.
#  W09a  Ryuk off: start a container, wait for its log line, exec, stop; nothing left behind.
#  W09b  Ryuk on, the client reaching containers by their bridge IP (TESTCONTAINERS_CONNECTION_
#        MODE=bridge_ip, what a runner pod routed to the node's bridges uses): the reaper's
#        docker.sock bind reaches this tenant's guard, never the daemon; once the test process
#        is gone the reaper removes what it left, and itself.
#  W09c  the same through published ports on the daemon's loopback (docker_host) with the
#        socket named /var/run/docker.sock, as a job container sees it.
#  T53   the reaper, speaking for tenant t1, leaves alone containers of tenant t2 and the
#        daemon's own that carry the same session label (Ryuk prunes by label: the guard scopes
#        its list and its deletes to the tenant).
# Ryuk itself is a stand-in (tests/clients/ryuk/main.go): its module is not served by the Go
# module proxy and its image is on Docker Hub. The stand-in makes Ryuk 0.8.1's Engine API calls.
# The client's default connection mode inside a container (gateway_ip: the bridge's gateway
# and the published port) does not work behind the guard, which publishes on 127.0.0.1 only
# (docs/guard.md says which mode to choose).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/guard/lib.sh"

if ! dockerd_available || ! command -v nsenter >/dev/null || ! command -v unshare >/dev/null; then
	skip "testcontainers through the guard" "needs root, dockerd, unshare and nsenter"
	done_testing
	exit 0
fi
TC=$("$SRCDIR/tests/clients/testcontainers.sh" 2>"$TMP/tc-install.log")
if [ -z "$TC" ]; then
	not_ok "the testcontainers client installs: $(tail -1 "$TMP/tc-install.log")"
	done_testing
	exit 1
fi
ok "testcontainers client: $(grep '^testcontainers==' "$TC/versions.txt"), $(grep '^Python' "$TC/versions.txt")"
PYTC=$TC/venv/bin/python

# The daemon's network namespace, with a loopback, and the daemon in it with its bridge.
unshare --net sh -c 'ip link set lo up && exec sleep infinity' &
NSPID=$!
_tc_cleanup() {
	kill "$NSPID" 2>/dev/null
	_guard_stop_all
}
trap _tc_cleanup EXIT
for _ in $(seq 1 50); do
	[ "$(readlink /proc/$NSPID/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] && break
	sleep 0.05
done
DOCKERD_WRAP=(nsenter --net=/proc/$NSPID/ns/net)
if ! start_dockerd tc --bridge=docker0; then
	not_ok "a private dockerd with a bridge starts"
	done_testing
	exit 1
fi
DOCKERD_WRAP=()
RAW=${DOCKER_HOST#unix://}
unset DOCKER_HOST
export DOCKER_CLI_HINTS=false
DOCKER_HOST=unix://$RAW import_busybox tiny:1
mkdir -p "$TMP/ryuk-root/bin"
cp "$TC/ryuk" "$TMP/ryuk-root/bin/ryuk"
RYUK_IMAGE=deskrun-test/ryuk-standin:0.8.1
tar -C "$TMP/ryuk-root" -c . | d import -c 'LABEL org.testcontainers.ryuk=true' \
	-c 'CMD ["/bin/ryuk"]' - "$RYUK_IMAGE" >/dev/null
check "the Ryuk stand-in's image is on the daemon" test -n "$(d image inspect -f '{{.Id}}' "$RYUK_IMAGE")"

# The tenant's guard, its socket in the pod folder's run/ as a rendered runner pod has it.
PODS=$TMP/pods
GS=$PODS/tc/run/docker.sock
mkdir -p "$PODS/tc/run" "$TMP/guard"
"$DESKRUN" guard --tenant t1 --session tc --upstream "unix://$RAW" --listen "$GS" \
	--state-dir "$TMP/guard/t1" --socket-mode 0666 --pod-dir "$PODS/tc" --cleanup-on-exit \
	>"$TMP/g-tc.log" 2>&1 &
_guard_pids+=($!)
for _ in $(seq 1 200); do
	grep -q ' listening on ' "$TMP/g-tc.log" 2>/dev/null && break
	sleep 0.05
done
check "the guard serves the runner pod's socket" test -S "$GS"
start_guard other t2 || not_ok "a second tenant's guard starts"

# tc_job MODE WHAT [ENV...]: the client in the daemon's network namespace, through the guard
tc_job() {
	local mode=$1 what=$2
	shift 2
	run env DOCKER_HOST="unix://$GS" TESTCONTAINERS_CONNECTION_MODE="$mode" \
		RYUK_CONTAINER_IMAGE="$RYUK_IMAGE" "$@" \
		timeout 120 nsenter --net=/proc/$NSPID/ns/net "$PYTC" "$SRCDIR/tests/guard/tc_job.py" "$what" tiny:1
}
field() { sed -n "s/^$1=//p" <<<"$OUT" | head -1; }
raw_names() { d ps -a --format '{{.Names}}' | sort | tr '\n' ' '; }
# gone ID SECONDS: the container has left the daemon within SECONDS
gone() {
	local i
	for i in $(seq 1 $(($2 * 5))); do
		d inspect "$1" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	return 1
}
# the reaper of session $1 (testcontainers names it after the session; its image labels it)
ryuk_id() { d ps -aq --filter "name=testcontainers-ryuk-$1" --filter label=org.testcontainers.ryuk=true; }
# ryuk_log ID NAME: keep the reaper's log (it removes itself) for a failing check to show
ryuk_log() { d logs -f "$1" >"$TMP/ryuk-$2.log" 2>&1 & }
# reaper_diag NAME: what the reaper and the guard said
reaper_diag() {
	diag "the reaper's log:" "$(tail -20 "$TMP/ryuk-$1.log" 2>/dev/null)"
	diag "the guard's refusals:" "$(grep -v ' allow ' "$TMP/g-tc.log" | tail -10)"
}

# ---- W09a: Ryuk off ----
tc_job docker_host run TESTCONTAINERS_RYUK_DISABLED=true
check "W09a the client's run succeeds through the guard" eq "$RC" 0 || diag "$(tail -5 <<<"$ERR")"
check "W09a it waited for the container's log line" eq "$(field ready)" 1
check "W09a exec in the container" eq "$(field exec)" "0 exec-ok"
check "W09a stop" eq "$(field stopped)" 1
check "W09a nothing left on the daemon" eq "$(raw_names)" ""

# ---- W09b: Ryuk on, bridge IPs ----
tc_job bridge_ip leave RYUK_RECONNECTION_TIMEOUT=1s
check "W09b with Ryuk the client starts its container" eq "$(field ready)" 1 || diag "$(tail -5 <<<"$ERR")"
left=$(field container)
session=$(field session)
rid=$(ryuk_id "$session")
ryuk_log "$rid" b
check "W09b the reaper ran as this tenant" eq "$(d inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' "$rid" 2>/dev/null)" t1
check "W09b its docker.sock is the tenant's guard, not the daemon" eq \
	"$(d inspect -f '{{range .Mounts}}{{if eq .Destination "/var/run/docker.sock"}}{{.Source}}{{end}}{{end}}' "$rid" 2>/dev/null)" "$GS"
check "W09b the container the test left is the tenant's" eq "$(d inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' "$left" 2>/dev/null)" t1
check "W09b once the test process is gone, the reaper removes what it left" gone "$left" 60 || reaper_diag b
check "W09b and itself" gone "$rid" 60
check "W09b the daemon is as before" eq "$(raw_names)" ""

# ---- W09c + T53: Ryuk on, published ports on loopback, the job's socket path ----
# testcontainers-python 4.14.2 does not wait for the reaper's "Started!" (it sets that wait
# strategy after starting the container) and, through a published port, docker-proxy accepts
# the connection before the reaper listens: when the reaper is slow to start, the client's
# label never reaches it, the client does not notice, and nothing is reaped (upstream issue
# testcontainers/testcontainers-python#1114, open). That is the client's race, not the guard's:
# a run whose reaper never registered the label is set aside (its containers removed) and the
# job runs again, up to three times; the rows below judge a run that registered.
registered=0
for attempt in 1 2 3; do
	tc_job docker_host leave RYUK_RECONNECTION_TIMEOUT=4s TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE=/var/run/docker.sock
	left=$(field container)
	session=$(field session)
	rid=$(ryuk_id "$session")
	[ -n "$rid" ] && ryuk_log "$rid" "c$attempt"
	[ "$(field ready)" = 1 ] && [ -n "$rid" ] || break
	for _ in $(seq 1 50); do
		grep -q 'Adding ' "$TMP/ryuk-c$attempt.log" 2>/dev/null && { registered=1; break; }
		sleep 0.2
	done
	[ "$registered" = 1 ] && break
	diag "W09c run $attempt: the reaper never got the client's label (testcontainers-python#1114: the client connected through docker-proxy before the reaper listened); again"
	d rm -f "$rid" "$left" >/dev/null 2>&1
done
check "W09c with Ryuk over published ports the client starts its container" eq "$(field ready)" 1 || diag "$(tail -5 <<<"$ERR")"
check "W09c the reaper got the client's label (in at most three runs; see testcontainers-python#1114)" eq "$registered" 1 ||
	reaper_diag "c$attempt"
# Before the reaper's delay is over: a container of tenant t2 and one of the daemon's own,
# both labelled with this session.
g other create --label "org.testcontainers.session-id=$session" --name t2-same-session tiny:1 true >/dev/null
d create --label "org.testcontainers.session-id=$session" --name admin-same-session tiny:1 true >/dev/null
check "W09c a socket bind named /var/run/docker.sock reaches the guard too" eq \
	"$(d inspect -f '{{range .Mounts}}{{if eq .Destination "/var/run/docker.sock"}}{{.Source}}{{end}}{{end}}' "$rid" 2>/dev/null)" "$GS"
check "W09c the reaper removes what the test left" gone "$left" 60 || reaper_diag "c$attempt"
check "W09c and itself" gone "$rid" 60
check "T53 the reaper left tenant t2's container with the same session label" \
	eq "$(d inspect -f '{{.Name}}' t2-same-session 2>/dev/null)" /t2-same-session
check "T53 and the daemon's own" eq "$(d inspect -f '{{.Name}}' admin-same-session 2>/dev/null)" /admin-same-session
check "T53 the daemon holds exactly those two" eq "$(raw_names)" "admin-same-session t2-same-session "
d rm -f t2-same-session admin-same-session >/dev/null 2>&1
done_testing
