#!/bin/bash
# --max-size with a real dockerd: a slot over its quota is pruned below it once the daemon
# answers: stopped containers first, then unused images least recently used first, keeping
# images other images are built on; the size is recorded; a slot within its quota is left
# alone.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"
need_dockerd

MiB=$((1024 * 1024))
du_bytes() { du -sx --block-size=1 "$1" | cut -f1; }

start_ep q1 --slots 1 --owner ci-1
wait_ready q1
DOCKER_HOST=unix://$TMP/q1.sock import_busybox base:q
# Three images of 8 MiB each (incompressible), built a second apart: t1 is the oldest.
for t in t1 t2 t3; do
	mkdir -p "$TMP/ctx-$t"
	printf 'FROM base:q\nRUN dd if=/dev/urandom of=/blob bs=1M count=8 2>/dev/null && echo %s >/name\n' "$t" >"$TMP/ctx-$t/Dockerfile"
	DOCKER_BUILDKIT=0 ep_docker q1 build -q -t "$t:latest" "$TMP/ctx-$t" >/dev/null 2>&1
	sleep 1.1
done
ep_docker q1 create --name left-behind t3:latest true >/dev/null
check "three images built" eq "$(ep_docker q1 images --format '{{.Repository}}' | sort | tr '\n' ' ')" "base t1 t2 t3 "
stop_ep q1
before=$(du_bytes "$POOL/slot-0/docker")
quota=$((before - 12 * MiB)) # removing t1 (8 MiB) is not enough; t1 and t2 are
diag "slot size $before bytes, quota $quota bytes"

start_ep q2 --slots 1 --owner ci-1 --max-size "$quota"
wait_ready q2 120
log=$(cat "$TMP/q2.log")
check "it notices the slot is over its quota" contains "$log" "over its"
check "it removes the stopped container left by an earlier lease first" contains "$log" "removed 1 stopped container"
check "it removes the oldest image" contains "$log" "removed t1:latest"
check "then the next oldest" contains "$log" "removed t2:latest"
check "in that order" test "$(printf '%s\n' "$log" | grep -n 'removed t1:latest' | cut -d: -f1)" -lt "$(printf '%s\n' "$log" | grep -n 'removed t2:latest' | cut -d: -f1)"
check "and stops once under the quota: t3 and the base image stay" eq "$(ep_docker q2 images --format '{{.Repository}}' | sort | tr '\n' ' ')" "base t3 "
check "it says it is within the quota now" contains "$log" "within its"
after=$(du_bytes "$POOL/slot-0/docker")
check "the data root is below the quota (du: $after <= $quota)" test "$after" -le "$quota"
recorded=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size_bytes"])' "$POOL/slot-0/deskrun-slot.json")
check "the slot's metadata records the pruned size ($recorded <= $quota)" test "$recorded" -le "$quota"
check "what is left still works" eq "$(ep_docker q2 run --rm t3:latest cat /name 2>&1)" "t3"
stop_ep q2
check "it stops cleanly" eq "$EP_RC" 0

# Within the quota: nothing is touched.
start_ep q3 --slots 1 --owner ci-1 --max-size 10Gi
wait_ready q3
check "a slot within its quota says so" contains "$(cat "$TMP/q3.log")" "within its 10 GiB quota"
check "and keeps everything" eq "$(ep_docker q3 images --format '{{.Repository}}' | sort | tr '\n' ' ')" "base t3 "
stop_ep q3
done_testing
