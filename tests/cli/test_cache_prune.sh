#!/bin/bash
# deskrun cache prune on real pool directories while a real `deskrun dind-entrypoint` (running
# the fake daemon) holds a lease: the leased slot is skipped and said so, its files and its
# lock untouched; unleased slots are emptied (lock taken first), --older-than keeps recent
# ones, --dry-run deletes nothing, NAME picks one pool; usage errors and typo suggestions.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"

fake_ep() { # fake_ep NAME OPTS...
	local name=$1
	shift
	start_ep_cmd "$name" "$@" -- python3 "$FAKE" --as-dockerd --host "unix://$TMP/$name.sock"
}
fill() { mkdir -p "$1" && head -c 1048576 /dev/urandom >"$1/layer"; }
meta() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$POOL/$1/deskrun-slot.json"; }
row() { printf '%s\n' "$OUT" | awk -v s="$1" '$2 ~ "/"s"$"'; }

run "$DESKRUN" cache prune --pool "$TMP"
check "prune without --older-than or --all: exit 2, one line" eq "$RC:$ERR" "2:deskrun: error: 'deskrun cache prune' needs --older-than DURATION (e.g. 7d) or --all"
run "$DESKRUN" cache prune --older-than soon --pool "$TMP"
check "a bad duration: exit 2 naming the flag" eq "$RC:$ERR" "2:deskrun: error: --older-than \"soon\": not a duration: give e.g. --older-than 7d (or 12h, 90m)"
run "$DESKRUN" cache prnue --all
check "a typo of prune suggests it" eq "$RC:$ERR" "2:deskrun: error: unknown subcommand \"prnue\" for 'deskrun cache': did you mean 'deskrun cache prune'?"
run "$DESKRUN" cache ls --all --pool "$TMP"
check "prune's flags on ls: exit 2" eq "$RC" 2

# slot-0: leased by ci-1 and ended; slot-1: leased by ci-2 right now; slot-2: never leased.
fake_ep a --slots 3 --owner ci-1
wait_ready a 20
stop_ep a
fake_ep b --slots 3 --owner ci-2
wait_ready b 20
check "b holds slot-1" eq "$(ep_slot b)" "slot-1"
fill "$POOL/slot-0/docker"
fill "$POOL/slot-1/docker"
fill "$POOL/slot-2/docker"

run "$DESKRUN" cache prune --all --dry-run --pool "$POOL"
check "dry run exits 0" eq "$RC" 0
check "dry run: slot-0 would be freed, with its size" contains "$(row slot-0)" "would-free p/slot-0  1.0 MiB"
check "dry run: the leased slot is skipped, naming its holder" eq "$(row slot-1)" "skipped    p/slot-1  leased now ($(hostname)/$(ep_pid b))"
check "dry run: the total" eq "$(printf '%s\n' "$OUT" | tail -1)" "would free 2.0 MiB in 2 slots; 1 leased slot skipped"
check "dry run deleted nothing" test -f "$POOL/slot-0/docker/layer" -a -f "$POOL/slot-2/docker/layer"

run "$DESKRUN" cache prune --older-than 7d --pool "$POOL"
check "--older-than 7d exits 0" eq "$RC" 0
check "slot-0, used a moment ago, is kept" contains "$(row slot-0)" "kept       p/slot-0  last used"
check "slot-2, never leased, is freed" contains "$(row slot-2)" "freed      p/slot-2  1.0 MiB"
check "its data root is gone" test ! -e "$POOL/slot-2/docker"
check "the slot itself and its metadata stay" test -d "$POOL/slot-2" -a -f "$POOL/slot-2/deskrun-slot.json"
check "slot-0's data is still there" test -f "$POOL/slot-0/docker/layer"

run "$DESKRUN" cache prune --all --pool "$POOL" --output json
check "--all --output json: valid" python3 -c '
import json, sys
rows = {r["slot"]: r for r in json.loads(sys.argv[1])}
assert rows["slot-0"]["action"] == "freed" and rows["slot-0"]["bytes"] >= 1048576, rows
assert rows["slot-1"]["action"] == "skipped" and rows["slot-1"]["reason"].startswith("leased now"), rows
assert rows["slot-2"]["action"] == "freed" and rows["slot-2"]["bytes"] == 0, rows' "$OUT"
check "slot-0 emptied" test ! -e "$POOL/slot-0/docker"
check "slot-0's metadata records size 0" eq "$(meta slot-0 '["size_bytes"]')" 0
check "slot-0 keeps its lease history" eq "$(meta slot-0 '["owner"], d["leases"]' 2>/dev/null || meta slot-0 '["owner"]')" "ci-1"
check "the leased slot's data is untouched" test -f "$POOL/slot-1/docker/layer"
check "its lease still holds: the lock is taken" bash -c "! flock -n '$POOL/slot-1/lock' true"
check "and its entrypoint still runs" kill -0 "$(ep_pid b)"
check "cache ls still shows slot-1 leased by ci-2" eq "$("$DESKRUN" cache ls --pool "$POOL" | awk '$2 == "slot-1" {print $3, $4}')" "leased ci-2"

stop_ep b
check "b ended cleanly" eq "$EP_RC" 0
run "$DESKRUN" cache prune --all --pool "$POOL"
check "once the lease ended, slot-1 is freed" contains "$(row slot-1)" "freed      p/slot-1"
check "its data root is gone" test ! -e "$POOL/slot-1/docker"
check "and its lock file stays" test -f "$POOL/slot-1/lock"

# A held lock (a lessee of another kind) protects the slot just the same.
fill "$POOL/slot-2/docker"
hold_lock "$POOL/slot-2"
run "$DESKRUN" cache prune --all --pool "$POOL"
check "a slot whose lock is held is skipped" contains "$(row slot-2)" "skipped    p/slot-2  leased now"
check "and keeps its data" test -f "$POOL/slot-2/docker/layer"
release_lock

# NAME: one definition's pool under a cache root.
mkdir -p "$TMP/root/pool/alpha/slot-0" "$TMP/root/pool/beta/slot-0"
fill "$TMP/root/pool/alpha/slot-0/docker"
fill "$TMP/root/pool/beta/slot-0/docker"
run "$DESKRUN" cache prune beta --all --pool "$TMP/root"
check "prune beta frees beta's slot only" eq "$(printf '%s\n' "$OUT" | head -1 | awk '{print $1, $2}')" "freed beta/slot-0"
check "alpha's slot is untouched" test -f "$TMP/root/pool/alpha/slot-0/docker/layer"
run "$DESKRUN" cache ls alpha --pool "$TMP/root"
check "ls alpha lists alpha's slots only" eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 {print $1}' | sort -u)" "alpha"
run "$DESKRUN" cache prune gamma --all --pool "$TMP/root"
check "an unknown pool: exit 1, named" eq "$RC:$ERR" "1:deskrun: error: no cache pool or cache directory of \"gamma\" under $TMP/root (see 'deskrun cache ls')"

# Without --pool: the config's cluster decides where the caches are.
mkdir -p "$TMP/stub"
ln -s "$SRCDIR/tests/stubs/fakekube.py" "$TMP/stub/kubectl"
echo '{"contexts": ["prod"]}' >"$TMP/stub/state.json"
PATH="$TMP/stub:$PATH" "$DESKRUN" --config "$TMP/cfg.json" cluster create --provider existing --context prod >/dev/null 2>&1
"$DESKRUN" --config "$TMP/cfg.json" config set cache-root /data/deskrun >/dev/null 2>&1
"$DESKRUN" --config "$TMP/cfg.json" add web --repository https://github.com/acme/web --mode dind \
	--cache-pool 2 --auth-value-file "$SRCDIR/tests/data/token" >/dev/null 2>&1
run "$DESKRUN" --config "$TMP/cfg.json" cache ls
check "an existing cluster: exit 0" eq "$RC" 0
check "says the caches are on its nodes" contains "$OUT" "the caches of cluster \"prod\" are on its nodes, not on this host"
check "and how to look on a node" contains "$OUT" "'deskrun cache ls --pool /data/deskrun'"
check "and the node paths of each pool" contains "$OUT" "/data/deskrun/pool/web/slot-0..1"
done_testing
