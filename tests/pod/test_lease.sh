#!/bin/bash
# Leasing with real dockerds: three entrypoints on a pool of two slots (two distinct slots, the
# third waits, then runs on an ephemeral data root and says so; with --fallback fail it exits
# 4), a waiter that gets the slot freed meanwhile, and the slot preference (this owner's most
# recent slot, else the least recently used one).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"
need_dockerd

root_of() { ep_docker "$1" info --format '{{.DockerRootDir}}' 2>/dev/null; }

start_ep e1 --slots 2 --owner ci-1
start_ep e2 --slots 2 --owner ci-2
wait_ready e1 && wait_ready e2
s1=$(ep_slot e1)
s2=$(ep_slot e2)
check "two entrypoints lease two distinct slots" eq "$(printf '%s\n' "$s1" "$s2" | sort | tr '\n' ' ')" "slot-0 slot-1 "
check "e1's daemon runs on its slot's data root" eq "$(root_of e1)" "$POOL/$s1/docker"
check "e2's daemon runs on its slot's data root" eq "$(root_of e2)" "$POOL/$s2/docker"
check "both slots show as leased" eq "$("$DESKRUN" cache ls --pool "$POOL" | awk 'NR > 1 {print $3}' | tr '\n' ' ')" "leased leased "

# The third waits for --wait-slot, then falls back to an ephemeral data root.
start_ep e3 --slots 2 --owner ci-3 --wait-slot 8s
for _ in $(seq 1 300); do grep -qs "waiting up to" "$TMP/e3.log" && break; sleep 0.1; done
check "the third says it waits for a slot" contains "$(cat "$TMP/e3.log")" "all 2 slots of $POOL are leased: waiting up to 8s for one"
check "and is not ready while it waits" test ! -e "$TMP/e3.ready"
wait_ready e3 60
check "after the wait it runs anyway, on an ephemeral data root" eq "$(ep_slot e3)" "ephemeral"
check "and says so on stderr" contains "$(cat "$TMP/e3.log")" "deskrun: warning: all 2 slots of $POOL are still leased after 8s: running dockerd on the ephemeral data root $POOL/ephemeral/e-"
eroot=$(root_of e3)
check "its daemon's data root is under the pool's ephemeral/" contains "$eroot" "$POOL/ephemeral/e-"
check "it works" bash -c "DOCKER_HOST=unix://$TMP/e3.sock docker info >/dev/null"
stop_ep e3
check "the ephemeral daemon stops with status 0" eq "$EP_RC" 0
check "and its data root is deleted" test ! -e "$(dirname "$eroot")"
check "the slots were never touched by it" eq "$("$DESKRUN" cache ls --pool "$POOL" --output json | python3 -c 'import json,sys; print(sum(r["leases"] for r in json.load(sys.stdin)))')" 2

# With --fallback fail it gives up with exit 4 and starts nothing.
mapfile -t flags < <(daemon_flags)
run "$DESKRUN" dind-entrypoint --pool "$POOL" --slots 2 --wait-slot 1s --fallback fail \
	-- dockerd --host "unix://$TMP/e4.sock" "${flags[@]}"
check "--fallback fail: exit 4 once the wait is over" eq "$RC" 4
check "--fallback fail: says why" contains "$ERR" "deskrun: error: all 2 slots of $POOL are still leased after 1s (--fallback fail)"
check "--fallback fail: no daemon was started" test ! -e "$TMP/e4.sock"

# A waiter gets the slot that frees up while it waits.
start_ep e5 --slots 2 --owner ci-5 --wait-slot 60s
for _ in $(seq 1 300); do grep -qs "waiting up to" "$TMP/e5.log" && break; sleep 0.1; done
stop_ep e1
check "e1 stops cleanly" eq "$EP_RC" 0
wait_ready e5 60
check "the waiter leases the slot e1 freed" eq "$(ep_slot e5)" "$s1"
check "it logs the slot's previous lease" contains "$(cat "$TMP/e5.log")" "leased $POOL/$s1 (lease 2; last used"
check "e5's daemon starts on that slot" eq "$(root_of e5)" "$POOL/$s1/docker"

# Preference: stop e5 (s1, ci-5) then e2 (s2, ci-2): s2 is now the most recently used.
stop_ep e5
stop_ep e2
sleep 1 # slots record their lease times in whole seconds: e6's must come after e2's end
start_ep e6 --slots 2 --owner ci-5
wait_ready e6
check "an owner gets back the slot it used last (not the least recently used)" eq "$(ep_slot e6)" "$s1"
stop_ep e6
start_ep e7 --slots 2 --owner ci-new
wait_ready e7
check "a new owner gets the least recently used slot" eq "$(ep_slot e7)" "$s2"
stop_ep e7
run "$DESKRUN" cache ls --pool "$POOL" --output json
check "the metadata counts every lease" eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join("%s:%s:%d:%s" % (r["slot"], r["owner"], r["leases"], r["state"]) for r in json.load(sys.stdin)))')" \
	"$(if [ "$s1" = slot-0 ]; then echo "slot-0:ci-5:3:free slot-1:ci-new:2:free"; else echo "slot-0:ci-new:2:free slot-1:ci-5:3:free"; fi)"
check "no daemon, mount or ephemeral root is left" eq "$(grep -c " $POOL" /proc/self/mountinfo):$(ls "$POOL/ephemeral" | wc -l)" "0:0"
done_testing
