#!/bin/bash
# Crashes with real dockerds. kill -9 of a leased entrypoint's daemon: the entrypoint ends with
# 128+9, everything the daemon started is gone and the slot is leasable at once; the next
# daemon on it cleans the stale socket and still has the images. A killed pod (the entrypoint
# as PID 1 of a PID namespace, SIGKILLed with everything in it): the slot is free at once, the
# pidfile, socket and exec root it left are cleaned by the next lease, and the layers survive.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"
need_dockerd

alive_of() { local n=0 p; for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo "$n"; }

start_ep c1 --slots 2 --owner ci-1
wait_ready c1
slot=$(ep_slot c1)
SD=$POOL/$slot
DOCKER_HOST=unix://$TMP/c1.sock import_busybox bb:crash
ep_docker c1 run -d --name sleeper bb:crash sleep 300 >/dev/null
check "a container runs in c1's daemon" eq "$(ep_docker c1 inspect -f '{{.State.Running}}' sleeper)" "true"

# ---- kill -9 of the daemon ----
tree=$(descendants "$(ep_pid c1)")
dpid=$(cat "$SD/dockerd.pid")
check "the pidfile is the slot's and names the entrypoint's child" contains " $(echo $tree) " " $dpid "
kill -9 "$dpid"
await "$(ep_pid c1)" 30
check "the entrypoint ends with the daemon's status, 128+9" eq "$EP_RC" 137
check "the slot is leasable again at once" lock_free "$SD"
check "nothing the daemon started survives it (containerd, shims, the container)" eq "$(alive_of $tree)" 0
check "no mount is left under the slot" eq "$(grep -c " $SD/" /proc/self/mountinfo)" 0
check "the lease's end and status are recorded" eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["last_exit"], d["last_lease_end"] is not None)' "$SD/deskrun-slot.json")" "137 True"
check "its socket is left behind, stale" test -S "$TMP/c1.sock"

start_ep c1 --slots 2 --owner ci-1
wait_ready c1
check "the next lease by the same owner gets the same slot" eq "$(ep_slot c1)" "$slot"
check "it removed the stale socket before starting" contains "$(cat "$TMP/c1.log")" "removed the stale state of a daemon that did not stop cleanly: the socket $TMP/c1.sock"
check "the daemon starts and still holds the image" eq "$(ep_docker c1 image inspect -f ok bb:crash 2>&1)" "ok"
check "and the container, now stopped" eq "$(ep_docker c1 inspect -f '{{.State.Running}}' sleeper 2>&1)" "false"
check "containers run again" eq "$(ep_docker c1 run --rm bb:crash echo hello 2>&1)" "hello"
stop_ep c1
check "a clean stop: status 0" eq "$EP_RC" 0

# ---- a killed pod ----
if command -v unshare >/dev/null; then
	mapfile -t flags < <(daemon_flags)
	rm -f "$TMP/p1.ready"
	unshare --pid --fork --mount-proc "$DESKRUN" dind-entrypoint --pool "$POOL" --slots 2 \
		--owner ci-1 --ready-file "$TMP/p1.ready" \
		-- dockerd --host "unix://$TMP/p1.sock" "${flags[@]}" >"$TMP/p1.log" 2>&1 &
	upid=$!
	_EP_PID[p1]=$upid
	wait_ready p1
	check "the pod's entrypoint (PID 1 of its namespace) leased the same slot" eq "$(ep_slot p1)" "$slot"
	mkdir -p "$TMP/ctx"
	printf 'FROM bb:crash\nRUN echo built >/built\n' >"$TMP/ctx/Dockerfile"
	DOCKER_BUILDKIT=0 ep_docker p1 build -q -t made:inpod "$TMP/ctx" >/dev/null 2>&1
	check "it built an image" eq "$(ep_docker p1 image inspect -f ok made:inpod 2>&1)" "ok"
	ep_docker p1 run -d --name pod-sleeper bb:crash sleep 300 >/dev/null
	check "and runs a container" eq "$(ep_docker p1 inspect -f '{{.State.Running}}' pod-sleeper 2>&1)" "true"
	init=$(ps -o pid= --ppid "$upid" | tr -d ' ')
	tree=$(descendants "$init")
	kill -9 "$init"
	await "$upid" 30
	check "the pod's init is gone, and everything in it died with it" eq "$(alive_of $init $tree)" 0
	check "the slot is leasable again at once" lock_free "$SD"
	check "it left its pidfile" test -s "$SD/dockerd.pid"
	check "its socket" test -S "$TMP/p1.sock"
	check "and containerd's state in its exec root" test -d "$SD/exec/containerd"
	check "its lease never recorded an end" eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last_lease_end"])' "$SD/deskrun-slot.json")" "None"

	start_ep p1 --slots 2 --owner ci-1
	wait_ready p1
	check "the next pod leases the slot" eq "$(ep_slot p1)" "$slot"
	check "after removing the stale pidfile, exec root and socket" contains "$(cat "$TMP/p1.log")" "the exec root, the pidfile, the socket $TMP/p1.sock"
	check "the image built before the crash is there" eq "$(ep_docker p1 run --rm made:inpod cat /built 2>&1)" "built"
	check "and reused: its build is all cache" eq "$(DOCKER_BUILDKIT=0 ep_docker p1 build -t made:inpod "$TMP/ctx" 2>&1 | grep -c 'Using cache')" 1
	stop_ep p1
	check "the pod stops cleanly" eq "$EP_RC" 0
else
	skip "a killed pod" "needs unshare"
fi
check "no mount is left under the pool" eq "$(grep -c " $POOL/" /proc/self/mountinfo)" 0
done_testing
