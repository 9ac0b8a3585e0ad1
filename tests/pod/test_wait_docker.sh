#!/bin/bash
# deskrun wait-docker: each outcome, against fake daemons on unix sockets (ready, a daemon
# error, not HTTP, no answer), a socket nobody listens on, no socket at all, a socket an
# unprivileged user may not open, and a real dockerd; exit 4 at the deadline, exit 2 for bad
# values, and the command run in its place once ready.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"

fakes=()
fake() { # fake NAME ARGS...: serve $TMP/NAME.sock
	local name=$1
	shift
	python3 "$FAKE" "$TMP/$name.sock" "$@" &
	fakes+=($!)
}
wait_sock() { for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
stop_fakes() { for p in "${fakes[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; fakes=(); }

# Usage errors: exit 2, one line, before any waiting.
run "$DESKRUN" wait-docker --host ssh://x
check "an unsupported host is a usage error" eq "$RC" 2
check "naming the flag and the accepted forms" eq "$ERR" "deskrun: error: --host \"ssh://x\": unsupported scheme: use unix:///PATH or tcp://HOST:PORT (e.g. unix:///var/run/docker.sock)"
run env DOCKER_HOST=unix://relative "$DESKRUN" wait-docker
check "a bad DOCKER_HOST is a usage error naming it" eq "$RC:$ERR" "2:deskrun: error: DOCKER_HOST \"unix://relative\": the socket path must be absolute: use unix:///PATH or tcp://HOST:PORT (e.g. unix:///var/run/docker.sock)"
run "$DESKRUN" wait-docker --timeout soon
check "a bad timeout is a usage error" eq "$RC" 2
run "$DESKRUN" wait-docker extra
check "a stray argument is a usage error" eq "$RC" 2

# No socket.
run "$DESKRUN" wait-docker --host "unix://$TMP/none.sock" --timeout 1s
check "no socket: exit 4 (a deadline passed)" eq "$RC" 4
check "no socket: says so" contains "$ERR" "did not answer within 1s: no socket at $TMP/none.sock"
check "no socket: one line" one_line "$ERR"

# A socket file nobody listens on (a daemon that died).
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TMP/stale.sock"
run "$DESKRUN" wait-docker --host "unix://$TMP/stale.sock" --timeout 1s
check "stale socket: exit 4" eq "$RC" 4
check "stale socket: nothing listens" contains "$ERR" "nothing listens on $TMP/stale.sock"

# Ready: a fake daemon answering 200, through --host and through DOCKER_HOST.
fake ok
wait_sock "$TMP/ok.sock"
run "$DESKRUN" wait-docker --host "unix://$TMP/ok.sock" --timeout 10s
check "ready: exit 0" eq "$RC" 0
check "ready: says so on stderr" contains "$ERR" "the Docker daemon at unix://$TMP/ok.sock is ready"
check "ready: nothing on stdout" eq "$OUT" ""
run env DOCKER_HOST="unix://$TMP/ok.sock" "$DESKRUN" wait-docker --timeout 10s
check "DOCKER_HOST is the default host" eq "$RC" 0
run "$DESKRUN" wait-docker --host "unix://$TMP/ok.sock" -- sh -c 'echo "ran with $1"; exit 7' sh arg
check "once ready it runs the command in its place (its status)" eq "$RC:$OUT" "7:ran with arg"
run "$DESKRUN" wait-docker --host "unix://$TMP/ok.sock" -- /nonexistent/program
check "a command that does not exist: 127" eq "$RC" 127

# Permission denied: the same live socket, mode 0600, as an unprivileged user.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 0711 "$TMP"
	chmod 0600 "$TMP/ok.sock"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$DESKRUN" wait-docker --host "unix://$TMP/ok.sock" --timeout 1s
	check "permission denied: exit 4" eq "$RC" 4
	check "permission denied: says so, with the uid" contains "$ERR" "permission denied on $TMP/ok.sock (uid 65534 may not connect"
	chmod 0666 "$TMP/ok.sock"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$DESKRUN" wait-docker --host "unix://$TMP/ok.sock" --timeout 5s
	check "the same user gets through once the socket allows it" eq "$RC" 0
else
	skip "permission denied" "needs root and setpriv to act as an unprivileged user"
	skip "permission denied message" "needs root and setpriv"
	skip "permission control" "needs root and setpriv"
fi

# A daemon that answers with an error.
fake err --status 500 --body '{"message":"Error initializing network controller"}'
wait_sock "$TMP/err.sock"
run "$DESKRUN" wait-docker --host "unix://$TMP/err.sock" --timeout 1s
check "daemon error: exit 4" eq "$RC" 4
check "daemon error: the status and the daemon's words" contains "$ERR" "daemon error: it answered HTTP 500 to /_ping: {\"message\":\"Error initializing network controller\"}"

# Something that is not HTTP, and something that never answers.
fake junk --mode garbage
fake hang --mode hang
wait_sock "$TMP/junk.sock" && wait_sock "$TMP/hang.sock"
run "$DESKRUN" wait-docker --host "unix://$TMP/junk.sock" --timeout 1s
check "not HTTP: exit 4, named" eq "$RC:$(printf '%s' "$ERR" | grep -c 'is not a Docker daemon: ')" "4:1"
run "$DESKRUN" wait-docker --host "unix://$TMP/hang.sock" --timeout 1500ms
check "no answer: exit 4" eq "$RC" 4
check "no answer: says the connection was accepted" contains "$ERR" "accepted the connection but did not answer /_ping"

# Waiting works: the daemon appears after wait-docker started.
fake late --delay 1.5
run "$DESKRUN" wait-docker --host "unix://$TMP/late.sock" --timeout 20s
check "a daemon that comes up later is waited for" eq "$RC" 0
stop_fakes

# A real dockerd.
if dockerd_available && start_dockerd wd; then
	run "$DESKRUN" wait-docker --timeout 30s
	check "a real dockerd (DOCKER_HOST from start_dockerd) is ready" eq "$RC" 0
	stop_dockerd wd
	run "$DESKRUN" wait-docker --timeout 1s
	check "and once it stopped, exit 4" eq "$RC" 4
else
	skip "a real dockerd is ready" "needs root and dockerd"
	skip "a stopped dockerd" "needs root and dockerd"
fi
done_testing
