#!/bin/bash
# Signals with real dockerds: SIGTERM to the entrypoint stops dockerd cleanly (its containers
# too) within a deadline and nothing of its tree remains, zombies or otherwise; SIGINT does the
# same; as PID 1 of a PID namespace (the dind container) SIGTERM works too. Containers that
# exit while the daemon runs leave no zombie behind (their shims are reparented to the
# entrypoint, a subreaper).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"
need_dockerd

alive_of() { local n=0 p; for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo "$n"; }

start_ep s1 --slots 2
wait_ready s1
DOCKER_HOST=unix://$TMP/s1.sock import_busybox bb:sig
for i in 1 2 3; do ep_docker s1 run --rm bb:sig true; done
ep_docker s1 run -d --stop-timeout 3 --name long bb:sig sleep 300 >/dev/null
sleep 0.5
ep=$(ep_pid s1)
check "containers that ended left no zombie under the entrypoint" eq "$(ps -o stat= --ppid "$ep" | grep -c '^Z')" 0
check "their shims were reparented to it (it is a subreaper)" test "$(ps -o pid= --ppid "$ep" | wc -l)" -ge 2
tree=$(descendants "$ep")
start=$(date +%s)
stop_ep s1 TERM
took=$(($(date +%s) - start))
check "SIGTERM: the entrypoint ends within 60 s (took ${took}s)" bash -c "! kill -0 $ep 2>/dev/null"
check "with dockerd's status 0" eq "$EP_RC" 0
check "dockerd shut down cleanly" contains "$(cat "$TMP/s1.log")" "Daemon shutdown complete"
check "nothing of its tree remains, not even a zombie" eq "$(alive_of $tree)" 0
check "no mount is left" eq "$(grep -c " $POOL/" /proc/self/mountinfo)" 0
check "the slot is free" lock_free "$POOL/slot-0"

start_ep s2 --slots 2
wait_ready s2
tree=$(descendants "$(ep_pid s2)")
stop_ep s2 INT
check "SIGINT: dockerd stops cleanly too" eq "$EP_RC:$(grep -c 'Daemon shutdown complete' "$TMP/s2.log")" "0:1"
check "SIGINT: nothing remains" eq "$(alive_of $tree)" 0

if command -v unshare >/dev/null; then
	mapfile -t flags < <(daemon_flags)
	rm -f "$TMP/s3.ready"
	unshare --pid --fork --mount-proc "$DESKRUN" dind-entrypoint --pool "$POOL" --slots 2 \
		--ready-file "$TMP/s3.ready" -- dockerd --host "unix://$TMP/s3.sock" "${flags[@]}" \
		>"$TMP/s3.log" 2>&1 &
	upid=$!
	_EP_PID[s3]=$upid
	wait_ready s3
	check "as PID 1: a container runs (the slot of s1 kept its image)" eq "$(ep_docker s3 run -d bb:sig sleep 300 >/dev/null 2>&1; echo $?)" 0
	init=$(ps -o pid= --ppid "$upid" | tr -d ' ')
	kill -TERM "$init"
	await "$upid" 60
	check "as PID 1 of a PID namespace: SIGTERM stops dockerd, status 0" eq "$EP_RC" 0
	check "as PID 1: dockerd shut down cleanly" contains "$(cat "$TMP/s3.log")" "Daemon shutdown complete"
else
	skip "as PID 1" "needs unshare"
	skip "as PID 1: clean" "needs unshare"
fi
done_testing
