#!/bin/bash
# deskrun cache ls: slots of one pool and of every pool under a cache root, leased exactly
# while a lock holder runs (probed with flock), what the metadata recorded, both output
# formats, a corrupt metadata file, and usage errors. Leases come from dind-entrypoint running
# the fake daemon, so no dockerd is needed here.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"

run "$DESKRUN" cache
check "cache without a subcommand: exit 2" eq "$RC:$ERR" "2:deskrun: error: give a subcommand: 'deskrun cache ls'"
run "$DESKRUN" cache rm
check "an unknown subcommand: exit 2" eq "$RC" 2
run "$DESKRUN" cache ls --output yaml
check "an unknown format: exit 2" eq "$RC" 2
run "$DESKRUN" cache ls --pool "$TMP/nothing"
check "a pool that does not exist: exit 1, named" eq "$RC:$ERR" "1:deskrun: error: no cache pool at $TMP/nothing: No such file or directory"

# Two leases by the fake daemon in a pool of three: a by "ci-1", then b by "ci-2".
fake_ep() { # fake_ep NAME OPTS...
	local name=$1
	shift
	start_ep_cmd "$name" "$@" -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/$name.sock"
}
fake_ep a --slots 3 --owner ci-1
wait_ready a 20
stop_ep a
check "a lease by ci-1 ran and ended (exit 0)" eq "$EP_RC" 0
fake_ep b --slots 3 --owner ci-2
wait_ready b 20
check "b leased the least recently used slot" eq "$(ep_slot b)" "slot-1"

run "$DESKRUN" cache ls --pool "$POOL"
check "ls exits 0" eq "$RC" 0
check "ls has a header" eq "$(printf '%s\n' "$OUT" | head -1 | tr -s ' ')" "POOL SLOT STATE OWNER LEASES LAST START LAST END SIZE"
row0=$(printf '%s\n' "$OUT" | awk '$2 == "slot-0"')
row1=$(printf '%s\n' "$OUT" | awk '$2 == "slot-1"')
row2=$(printf '%s\n' "$OUT" | awk '$2 == "slot-2"')
check "slot-0: free, last owner ci-1, one lease" eq "$(echo "$row0" | awk '{print $3, $4, $5}')" "free ci-1 1"
check "slot-1: leased by ci-2 (its lock is held)" eq "$(echo "$row1" | awk '{print $3, $4, $5}')" "leased ci-2 1"
check "slot-1's lease has not ended" eq "$(echo "$row1" | awk '{print $8}')" "-"
check "slot-2: free, never leased" eq "$(echo "$row2" | awk '{print $3, $4, $5}')" "free - 0"
check "the pool column is the pool directory's name" eq "$(echo "$row0" | awk '{print $1}')" "p"

run "$DESKRUN" cache ls --pool "$POOL" --output json
check "json: valid, three slots" eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3
j() { printf '%s' "$OUT" | python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }
check "json: slot-0 ended with dockerd's status 0" eq "$(j 'r[0]["last_exit"], r[0]["state"], r[0]["leases"]')" "0 free 1"
check "json: slot-0 recorded its size" eq "$(j 'type(r[0]["size_bytes"]).__name__')" "int"
check "json: slot-1 is held by this host's entrypoint" eq "$(j 'r[1]["holder"]')" "$(hostname)/$(ep_pid b)"
check "json: slot-1 has a start and no end yet" eq "$(j 'r[1]["last_lease_start"] is not None and r[1]["last_lease_end"] is None')" "True"

# Leased exactly while the lock is held: by whoever holds it.
stop_ep b
check "after b stops, slot-1 is free" eq "$("$DESKRUN" cache ls --pool "$POOL" | awk '$2 == "slot-1" {print $3}')" "free"
hold_lock "$POOL/slot-2"
check "a held lock shows as leased" eq "$("$DESKRUN" cache ls --pool "$POOL" | awk '$2 == "slot-2" {print $3}')" "leased"
release_lock
check "and free the moment its holder dies" eq "$("$DESKRUN" cache ls --pool "$POOL" | awk '$2 == "slot-2" {print $3}')" "free"

# A corrupt metadata file is shown as such, not fatal.
echo '{"leases": "many"' >"$POOL/slot-2/deskrun-slot.json"
run "$DESKRUN" cache ls --pool "$POOL"
check "corrupt metadata: ls still exits 0" eq "$RC" 0
check "corrupt metadata: marked" contains "$(printf '%s\n' "$OUT" | awk '$2 == "slot-2"')" "(bad metadata)"
run "$DESKRUN" cache ls --pool "$POOL" --output json
check "corrupt metadata: json names the problem" contains "$OUT" "deskrun-slot.json"

# A cache root: every definition's pool under root/pool/.
mkdir -p "$TMP/root/pool/alpha/slot-0" "$TMP/root/pool/beta/slot-0" "$TMP/root/pool/beta/slot-1" "$TMP/root/pool/beta/not-a-slot"
run "$DESKRUN" cache ls --pool "$TMP/root"
check "a cache root lists each pool's slots" eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 {print $1 "/" $2}' | tr '\n' ' ')" "alpha/slot-0 beta/slot-0 beta/slot-1 "
run "$DESKRUN" cache ls --pool "$TMP/root/pool"
check "so does the pool/ directory" eq "$(printf '%s\n' "$OUT" | awk 'NR > 1' | wc -l)" 3
done_testing
