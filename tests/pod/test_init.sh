#!/bin/bash
# dind-entrypoint as an init, with stand-in daemons (shell programs and the fake dockerd), so
# no dockerd is needed: usage errors write nothing; the flags it adds; the child's status is
# passed through (128+N for a signal); not found 127, not executable 126; signals forwarded;
# orphans reaped; leftovers stopped; the lock is held as long as the daemon lives; PID 1 of a
# PID namespace; a stop signal while waiting for a slot.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"

ep() { "$DESKRUN" dind-entrypoint "$@"; }

# ---- usage: exit 2, one line, nothing created ----
usage_case() { # NAME EXPECTED-MESSAGE ARGS...
	local name=$1 msg=$2
	shift 2
	run ep "$@"
	check "usage: $name: exit 2" eq "$RC" 2
	check "usage: $name: says $msg" contains "$ERR" "$msg"
}
usage_case "no --pool" "--pool is required" --slots 2 -- true
usage_case "no --slots" "--slots is required" --pool "$POOL" -- true
usage_case "--slots 0" "give between 1 and 1024 slots" --pool "$POOL" --slots 0 -- true
usage_case "bad --fallback" "use ephemeral or fail" --pool "$POOL" --slots 1 --fallback maybe -- true
usage_case "bad --max-size" "not a size" --pool "$POOL" --slots 1 --max-size 20Gx -- true
usage_case "bad --wait-slot" "not a duration" --pool "$POOL" --slots 1 --wait-slot soon -- true
usage_case "no daemon command" "after \"--\"" --pool "$POOL" --slots 1
usage_case "argument before --" "unexpected argument \"dockerd\"" --pool "$POOL" --slots 1 dockerd
usage_case "--data-root given" "the entrypoint sets the data root" --pool "$POOL" --slots 1 -- dockerd --data-root /var/lib/docker
usage_case "unpingable hosts" "can be checked for readiness" --pool "$POOL" --slots 1 -- dockerd -H fd://
check "usage errors created nothing" test ! -e "$POOL"

# ---- the child's status ----
run ep --pool "$POOL" --slots 1 -- sh -c 'exit 3'
check "exit status passed through" eq "$RC" 3
check "and said once" contains "$ERR" "deskrun: error: passing on dockerd's exit status 3"
run ep --pool "$POOL" --slots 1 -- sh -c 'kill -9 $$'
check "killed by SIGKILL: 128+9" eq "$RC" 137
check "and said so" contains "$ERR" "dockerd was killed by SIGKILL; slot-0 released"
run ep --pool "$POOL" --slots 1 -- /nonexistent/dockerd
check "a daemon that is not there: 127" eq "$RC" 127
printf '#!/bin/sh\n' >"$TMP/noexec"
run ep --pool "$POOL" --slots 1 -- "$TMP/noexec"
check "a daemon that cannot run: 126" eq "$RC" 126
check "the failed starts still ended their leases" eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["leases"], d["last_lease_end"] is not None)' "$POOL/slot-0/deskrun-slot.json")" "4 True"

# ---- what dockerd is given, and the lock it holds ----
export FAKE_DOCKERD_ARGS=$TMP/args
start_ep_cmd f1 --slots 1 -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/f1.sock" --exec-root "$TMP/x1"
wait_ready f1 20
check "the daemon gets --data-root and --pidfile of the slot, and keeps its own --exec-root" \
	eq "$(head -1 "$TMP/args")" "--host unix://$TMP/f1.sock --exec-root $TMP/x1 --data-root $POOL/slot-0/docker --pidfile $POOL/slot-0/dockerd.pid"
check "the ready file names the slot" eq "$(ep_slot f1)" "slot-0"
run "$DESKRUN" wait-docker --host "unix://$TMP/f1.sock" --timeout 5s
check "the daemon answers (it was not started through a shell)" eq "$RC" 0
daemon=$(descendants "$(ep_pid f1)" | head -1)
kill -9 "$(ep_pid f1)"
await "$(ep_pid f1)" 10
sleep 0.2
check "the entrypoint killed alone: the daemon still runs" kill -0 "$daemon"
check "so the slot stays leased (the daemon holds the lock too)" bash -c "! flock -n '$POOL/slot-0/lock' true"
kill -TERM "$daemon"
for _ in $(seq 1 50); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
check "once the daemon is gone the slot is free" lock_free "$POOL/slot-0"

# A pool so deep that containerd's sockets would not fit under slot-0/exec: a short exec root.
LONG=$TMP/$(printf 'deep%.0s' $(seq 1 18))
POOL=$LONG start_ep_cmd f8 --slots 1 -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/f8.sock"
wait_ready f8 20
check "a deep pool gets a per-slot exec root under /run/deskrun-dind" \
	eq "$(grep -o -- '--exec-root [^ ]*' "$TMP/args" | sed 's/[0-9a-f]\{16\}$/HASH/')" "--exec-root /run/deskrun-dind/HASH"
stop_ep f8
unset FAKE_DOCKERD_ARGS

# ---- readiness: seen within a few milliseconds of the daemon's, and where the start went ----
FAKE_DOCKERD_DELAY=1.6 FAKE_DOCKERD_LISTENED=$TMP/listened start_ep_cmd f9 --slots 1 -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/f9.sock"
wait_ready f9 20
late=$(python3 -c 'import os,sys; print(int((os.stat(sys.argv[1]).st_mtime - float(open(sys.argv[2]).read())) * 1000))' "$TMP/f9.ready" "$TMP/listened")
# A poll that backs off (50 ms doubling to 1 s) would see a daemon listening after 1.6 s only
# at 2.55 s; polling every 10 ms sees it at once, even on a loaded machine.
check "a daemon that answers after 1.6 s: the ready file follows within 0.5 s (${late} ms)" \
	test "$late" -lt 500
check "the start's phases are said in one line" grep -qE \
	"^deskrun: dockerd answers on unix://$TMP/f9.sock after [0-9.]+ s; [0-9.]+ s since the entrypoint's process started \(exec [0-9]+ ms, lease [0-9]+ ms, cleanup [0-9]+ ms, dockerd [0-9.]+ s\)$" "$TMP/f9.log"
stop_ep f9

# ---- signals ----
start_ep_cmd f2 --slots 1 -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/f2.sock"
wait_ready f2 20
stop_ep f2 TERM
check "SIGTERM is forwarded; the daemon's status 0 is the entrypoint's" eq "$EP_RC" 0
check "the ready file is removed when it stops" test ! -e "$TMP/f2.ready"
check "it says why it ended" contains "$(cat "$TMP/f2.log")" "dockerd exited with status 0; slot-0 released"
FAKE_DOCKERD_EXIT=5 start_ep_cmd f3 --slots 1 -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/f3.sock"
wait_ready f3 20
stop_ep f3 INT
check "SIGINT is forwarded too, and the status passed on" eq "$EP_RC" 5
start_ep_cmd f4 --slots 1 -- sh -c 'trap "echo hup >>'"$TMP"'/hups" HUP; while :; do sleep 0.1; done'
for _ in $(seq 1 50); do [ -n "$(descendants "$(ep_pid f4)")" ] && break; sleep 0.1; done
sleep 0.3
kill -HUP "$(ep_pid f4)"
for _ in $(seq 1 50); do [ -s "$TMP/hups" ] && break; sleep 0.1; done
check "SIGHUP reaches the daemon (dockerd reloads its config on it)" eq "$(cat "$TMP/hups" 2>/dev/null)" "hup"
check "and does not stop the entrypoint" kill -0 "$(ep_pid f4)"
stop_ep f4 TERM
check "SIGTERM to a daemon that does not catch it: 128+15" eq "$EP_RC" 143

# ---- orphans and leftovers ----
start_ep_cmd f5 --slots 1 -- sh -c 'for i in 1 2 3 4 5; do (sleep 0.2 &); done; sleep 30'
for _ in $(seq 1 50); do [ -n "$(descendants "$(ep_pid f5)")" ] && break; sleep 0.1; done
sleep 1.5
zombies=$(ps -o stat= --ppid "$(ep_pid f5)" | grep -c '^Z')
check "orphans reparented to the entrypoint are reaped (no zombies)" eq "$zombies" 0
check "the daemon is still its only child" eq "$(ps -o pid= --ppid "$(ep_pid f5)" | wc -l)" 1
stop_ep f5 TERM
start_ep_cmd f6 --slots 1 -- sh -c 'sleep 300 & echo $! >'"$TMP"'/left; (trap "" TERM; exec sleep 301) & echo $! >>'"$TMP"'/left; exit 0'
await "$(ep_pid f6)" 30
check "a daemon that leaves processes behind: the entrypoint still ends, with its status" eq "$EP_RC" 0
alive=0
for p in $(cat "$TMP/left"); do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "what it left is stopped, even what ignores SIGTERM" eq "$alive" 0
check "and it says how many" contains "$(cat "$TMP/f6.log")" "stopped 2 processes dockerd left behind"

# ---- PID 1 of a PID namespace, as in the dind container ----
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	run unshare --pid --fork --mount-proc "$DESKRUN" dind-entrypoint --pool "$POOL" --slots 1 \
		-- sh -c 'for i in 1 2 3; do (sleep 0.1 &); done; (sleep 300 &); sleep 0.5; exit 4'
	check "as PID 1: the daemon's status (orphans reaped, the rest stopped)" eq "$RC" 4
	check "as PID 1: it stopped the one left" contains "$ERR" "stopped 1 process dockerd left behind"
else
	skip "as PID 1" "needs root and unshare"
	skip "as PID 1: leftovers" "needs root and unshare"
fi

# ---- abandoned ephemeral data roots, and simultaneous starts ----
P2=$TMP/p2
mkdir -p "$P2/ephemeral/e-gone1/docker/layer" "$P2/ephemeral/e-held1" "$P2/ephemeral/.new-fresh1"
touch "$P2/ephemeral/e-gone1/lock"
hold_lock "$P2/ephemeral/e-held1"
run ep --pool "$P2" --slots 1 -- sh -c 'exit 0'
check "an abandoned ephemeral root (lock free) is deleted by the next entrypoint" test ! -e "$P2/ephemeral/e-gone1"
check "and it says so" contains "$ERR" "removed the abandoned ephemeral data root $P2/ephemeral/e-gone1"
check "one still leased is kept" test -d "$P2/ephemeral/e-held1"
check "so is one being created" test -d "$P2/ephemeral/.new-fresh1"
release_lock
P3=$TMP/p3
for i in 1 2 3 4 5; do
	POOL=$P3 start_ep_cmd "m$i" --slots 2 --wait-slot 0s -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/m$i.sock"
done
ready=0
for i in 1 2 3 4 5; do wait_ready "m$i" 30 && ready=$((ready + 1)); done
check "five simultaneous starts on two slots all run" eq "$ready" 5
check "two on the slots, three on ephemeral roots, none shared" eq "$(for i in 1 2 3 4 5; do python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["data_root"])' "$TMP/m$i.ready"; done | sort -u | sed "s|$P3/||; s|/e-[^/]*/|/e-X/|" | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')" \
	"3xephemeral/e-X/docker 1xslot-0/docker 1xslot-1/docker "
for i in 1 2 3 4 5; do stop_ep "m$i"; done
check "their ephemeral roots are gone when they stop" eq "$(ls -A "$P3/ephemeral")" ""

# ---- a stop signal while waiting for a slot ----
hold_lock "$POOL/slot-0"
export FAKE_DOCKERD_ARGS=$TMP/args7
start_ep_cmd f7 --slots 1 --wait-slot 60s -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/f7.sock"
for _ in $(seq 1 50); do grep -qs "waiting up to 1m" "$TMP/f7.log" && break; sleep 0.1; done
check "all slots leased: it says it waits" contains "$(cat "$TMP/f7.log")" "all 1 slots of $POOL are leased: waiting up to 1m for one"
stop_ep f7 TERM
check "SIGTERM while waiting: 128+15 at once" eq "$EP_RC" 143
check "and no daemon was started" test ! -e "$TMP/args7"
unset FAKE_DOCKERD_ARGS
release_lock
done_testing
