#!/bin/bash
# The guard's relay against a scripted daemon (fakedockerd.py), where the daemon's side can be
# seen: connections to the daemon are reused across client connections and never after the
# daemon closed them or asked to; a client that hangs up while its answer is pending ends the
# exchange and costs no CPU afterwards; concurrent, pipelined, split and bodied requests all
# get their own answers; large bodies arrive byte for byte both ways (spliced and chunked).
# No Docker daemon needed.
. "$SRCDIR/tests/lib/tap.sh"

FAKE=$SRCDIR/tests/guard/fakedockerd.py
CLIENT=$SRCDIR/tests/guard/relayclient.py
LOG=$TMP/fake.log
: >"$LOG"
python3 "$FAKE" "$TMP/fake.sock" "$LOG" t1 &
FAKE_PID=$!
GPID=
trap '[ -n "$GPID" ] && kill $GPID 2>/dev/null; kill $FAKE_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for i in $(seq 1 100); do [ -S "$TMP/fake.sock" ] && break; sleep 0.05; done

start() {
	rm -f "$TMP/g.sock"
	"$DESKRUN" guard --tenant t1 --upstream "unix://$TMP/fake.sock" --listen "$TMP/g.sock" \
		--state-dir "$TMP/state" --socket-mode 0600 "$@" >"$TMP/g.log" 2>&1 &
	GPID=$!
	for i in $(seq 1 100); do [ -S "$TMP/g.sock" ] && break; sleep 0.05; done
	sleep 0.1 # the start-up probe's connection is logged before the tests count
	: >"$LOG"
}
STOP_RCS=
stop() {
	kill -TERM "$GPID"
	wait "$GPID"
	STOP_RCS="$STOP_RCS$?"
	GPID=
}
client() { run python3 "$CLIENT" "$TMP/g.sock" "$@"; }
# connections of the daemon that carried a request of the given target (regex)
conns_for() { awk -v re="$1" '$1 == "req" && $4 ~ re {print $2}' "$LOG" | sort -u | wc -l; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
stopline() { grep ' stop: ' "$TMP/g.log"; }

# ---- reuse of daemon connections ----
start
client seq 20 /v1.41/_ping
check "R01 twenty short client connections are answered" eq "$OUT" "ok 20"
check "R01 ... over one connection to the daemon" eq "$(conns_for _ping)" 1
kill -USR1 $FAKE_PID # the daemon drops its idle connections
for i in $(seq 1 50); do grep -q '^close' "$LOG" && break; sleep 0.05; done
sleep 0.1
client seq 3 /v1.41/_ping
check "R02 after the daemon closed the pooled connection, requests still succeed" eq "$OUT" "ok 3"
check "R02 ... on a new connection" eq "$(conns_for _ping)" 2
client seq 1 /v1.41/version
client seq 2 /v1.41/_ping
check "R03 a connection the daemon answered with Connection: close is not reused" \
	bash -c '[ "$(awk '\''$1 == "req" {print $2}'\'' "$0" | tail -3 | sort -u | wc -l)" = 2 ]' "$LOG"
stop
check "R04 the stop line counts daemon connections opened and reused" \
	contains "$(stopline)" "26 requests; daemon connections: 3 opened, 23 reused"

# ---- a client that hangs up while its answer is pending ----
start
client hold /v1.41/containers/mine-w/wait 0.3
for i in $(seq 1 40); do grep -q '^abandoned' "$LOG" && break; sleep 0.05; done
check "R05 a client hanging up on a pending wait closes the daemon's side" grep -q '^abandoned' "$LOG"
pids=()
for i in 1 2 3; do
	python3 "$CLIENT" "$TMP/g.sock" hold /v1.41/containers/mine-w/wait 0.1 >/dev/null &
	pids+=($!)
done
wait "${pids[@]}"
sleep 0.3
t0=$(cpu_ticks "$GPID")
sleep 1
t1=$(cpu_ticks "$GPID")
check "R05 ... and the guard stays idle afterwards (CPU ticks in 1 s: $((t1 - t0)))" \
	bash -c '[ "$0" -le 5 ]' "$((t1 - t0))"
client seq 2 /v1.41/_ping
check "R05 ... and keeps serving" eq "$OUT" "ok 2"

# ---- a malformed answer from the daemon ----
run python3 "$SRCDIR/tests/guard/rawhttp.py" "$TMP/g.sock" req GET '/v1.41/images/search?term=x'
check "R06 a malformed answer from the daemon becomes a 502" eq "$(printf '%s\n' "$OUT" | head -1)" 502
t0=$(cpu_ticks "$GPID")
sleep 0.5
check "R06 ... and the guard does not spin on it" bash -c '[ "$0" -le 3 ]' "$(($(cpu_ticks "$GPID") - t0))"
client seq 2 /v1.41/_ping
check "R06 ... and keeps serving" eq "$OUT" "ok 2"

# ---- concurrency, pipelining, pieces ----
client mix 16 40
check "R07 16 concurrent clients: pipelined, bodied and split requests get their answers" eq "$OUT" "ok 640"
[ "$RC" = 0 ] || diag "$ERR"

# ---- large bodies, both ways ----
for m in "len 3000017" "chunked 3000017" "len 1" "chunked 70000"; do
	client upload $m
	check "R08 upload ($m) arrives byte for byte" eq "$OUT" "ok"
	[ "$RC" = 0 ] || diag "$ERR"
done
for n in dl-len-3000017 dl-chunked-3000017 dl-eof-1000001 dl-len-10; do
	client download $n
	check "R09 download $n arrives byte for byte" eq "$OUT" "ok"
	[ "$RC" = 0 ] || diag "$ERR"
done
stop
check "R10 under load, request heads were read after their answers" \
	bash -c '[ "$(printf "%s" "$0" | sed -n "s/.*; \([0-9]*\) heads read after.*/\1/p")" -gt 0 ]' "$(stopline)"
check "R10 ... and the guard logged no error but the malformed answer" bash -c '[ "$(grep -ci "error" "$0")" = 1 ]' "$TMP/g.log"
polled() { printf '%s' "$(stopline)" | sed -n 's/.*; \([0-9]*\) event batches found by polling.*/\1/p'; }
check "R12 the stop line counts the event batches found by polling" bash -c '[ -n "$0" ]' "$(polled)"
# ---- --busy-poll 0: the guard sleeps for every event ----
start --busy-poll 0
client seq 50 /v1.41/_ping
check "R12 with --busy-poll 0 requests are answered" eq "$OUT" "ok 50"
stop
check "R12 ... and no event was found by polling" eq "$(polled)" 0
check "R11 every guard exited with status 0 on SIGTERM (no leak under ASan either)" eq "$STOP_RCS" "000"
done_testing
