#!/bin/bash
# deskrun cache ls / prune on the per-instance cache directories of a real cache root
# (<root>/<scale-set>/cache-<i>, <root>/<scale-set>/docker): listed next to the pool slots with
# kind, state, size and last modification; "in use" exactly while some process of this node has
# the directory mounted (here: a bind mount held by a process in a private mount namespace, as
# a pod's container holds its hostPath), and then never pruned; --older-than judges by the
# newest modification inside; --all takes every idle one; --dry-run deletes nothing; the
# directory stays (empty, same mode); NAME picks one definition's sets; --quiet.
. "$SRCDIR/tests/lib/tap.sh"
export NO_COLOR=1
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }
R=$TMP/root
PY=${PYTHON:-/usr/bin/python3}
fill() { mkdir -p "$1" && head -c 1048576 /dev/urandom >"$1/blob"; }
age() { find "$1" -exec touch -h -d "$2" {} +; }
row() { printf '%s\n' "$OUT" | awk -v s="$1" '$2 == s || ($1 "/" $2) == s'; }
prow() { printf '%s\n' "$OUT" | awk -v s="$1" '$2 == s'; }

# A fresh machine: no cache root yet. Nothing to list or prune is not an error.
dk config set cache-root "$TMP/none" >/dev/null
run dk cache ls
check "ls on a machine without a cache root: exit 0, said so" eq "$RC:$OUT" "0:no cache pool at $TMP/none yet: nothing to list"
run dk cache ls --output json
check "  in JSON: an empty list" eq "$RC:$OUT" "0:[]"
run dk cache prune --all
check "prune too" eq "$RC:$OUT" "0:no cache pool at $TMP/none yet: nothing to prune"
run dk cache prune --all --output json
check "  in JSON" eq "$RC:$OUT" "0:[]"
check "  and nothing was made" test ! -e "$TMP/none"
run dk cache ls --pool "$TMP/none"
check "a --pool DIR that does not exist is still an error (the user named it)" eq "$RC" 1
dk config set cache-root /var/lib/deskrun/cache >/dev/null

# web: 2 instances with a cache each; old: a definition since removed (its dirs stay).
dk add web --repository https://github.com/acme/web --mode dind --instances 2 \
	--cache /var/lib/docker --auth-value-file "$SRCDIR/tests/data/token" >/dev/null 2>&1
fill "$R/web-1/cache-0"
fill "$R/web-2/cache-0"
fill "$R/old/cache-0"
fill "$R/old/docker"
mkdir -p "$R/pool/web/slot-0" "$R/mirror/docker" "$R/daemonset/docker" "$R/guard/web" "$R/web-1/not-a-cache"
chmod 0750 "$R/old/cache-0"
age "$R/web-1/cache-0" "10 days ago"
age "$R/old" "30 days ago"

run dk cache ls --pool "$R"
check "ls exits 0" eq "$RC" 0
check "the pool slots come first, as before" eq "$(printf '%s\n' "$OUT" | head -1 | tr -s ' ')" "POOL SLOT STATE OWNER LEASES LAST START LAST END SIZE"
check "then the cache directories, under their own header" contains "$OUT" "SET    CACHE    STATE  RUNNER  HOLDER  LAST USED"
check "every cache directory, and nothing else of the root" eq "$(printf '%s\n' "$OUT" | awk '/^SET /{f=1;next} f{print $1 "/" $2}' | tr '\n' ' ')" "old/cache-0 old/docker web-1/cache-0 web-2/cache-0 "
check "web-1/cache-0: idle, its definition, its size" eq "$(row web-1/cache-0 | awk '{print $3, $4, $5, $(NF-1), $NF}')" "idle web - 1.0 MiB"
check "last used is the newest modification inside" contains "$(row web-1/cache-0)" "$(date -u -d '10 days ago' +%Y-%m-%d)"
check "a removed definition's directory has no runner" eq "$(row old/docker | awk '{print $4}')" "-"

run dk cache ls --pool "$R" --output json
check "json: slots and caches, each with its kind" "$PY" -c '
import json, sys
rows = json.loads(sys.argv[1])
kinds = [r["kind"] for r in rows]
assert kinds == ["slot", "cache", "cache", "cache", "cache"], kinds
c = {r["set"] + "/" + r["cache"]: r for r in rows if r["kind"] == "cache"}
w = c["web-1/cache-0"]
assert w["runner"] == "web" and w["state"] == "idle" and w["holder"] is None, w
assert w["size_bytes"] >= 1048576 and w["last_used"].endswith("Z"), w
assert w["dir"] == sys.argv[2] + "/web-1/cache-0", w' "$OUT" "$R"
run dk cache ls web --pool "$R"
check "ls NAME: that definition's slots and sets only" eq "$(printf '%s\n' "$OUT" | awk '/^SET /{f=1;next} f{print $1}' | tr '\n' ' ')" "web-1 web-2 "
run dk cache ls old --pool "$R"
check "ls NAME of a removed definition: its NAME / NAME-N directories" eq "$(printf '%s\n' "$OUT" | awk '/^SET /{f=1;next} f{print $1 "/" $2}' | tr '\n' ' ')" "old/cache-0 old/docker "
run dk cache ls --pool "$R/pool/web"
check "a pool directory: slots only" lacks "$OUT" "CACHE"

# A pod using web-2's cache: a process of another mount namespace with it bind-mounted.
can_mount=1
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
	[ "$(stat -L -c %i /proc/self/ns/pid)" != 4026531836 ]; then
	can_mount=0
fi
HOLDER=
if [ $can_mount = 1 ]; then
	mkdir -p "$TMP/pod"
	unshare -m --propagation private sh -c "mount --bind '$R/web-2/cache-0' '$TMP/pod' && echo up >'$TMP/pod.ready' && exec sleep 300" &
	HOLDER=$!
	trap 'kill $HOLDER 2>/dev/null; rm -rf "$TMP"' EXIT
	for _ in $(seq 1 100); do [ -s "$TMP/pod.ready" ] && break; sleep 0.05; done
	run dk cache ls --pool "$R"
	check "a mounted cache directory is in use, naming the process" eq "$(row web-2/cache-0 | awk '{print $3, $5}')" "in-use sleep/$HOLDER"
	check "an unmounted one is idle" eq "$(row web-1/cache-0 | awk '{print $3}')" "idle"
else
	skip "a mounted cache directory is in use" "needs root, unshare and the host's PID namespace"
	skip "an unmounted one is idle" "needs root, unshare and the host's PID namespace"
fi

# ---- prune ----
run dk cache prune --pool "$R" --older-than 7d --dry-run
check "dry run exits 0" eq "$RC" 0
check "dry run: the 10-day-old cache would be freed, with its size" eq "$(prow web-1/cache-0)" "would-free web-1/cache-0  1.0 MiB  not mounted by any process"
check "dry run: a removed definition's old caches too" contains "$(prow old/docker)" "would-free old/docker  1.0 MiB"
if [ $can_mount = 1 ]; then
	check "dry run: the mounted one is skipped, naming its process" eq "$(prow web-2/cache-0)" "skipped    web-2/cache-0  in use: mounted by process $HOLDER (sleep)"
fi
check "dry run: the total counts slots and directories" eq "$(printf '%s\n' "$OUT" | tail -1)" "would free 3.0 MiB in 1 slot and 3 cache directories; 0 leased slots and $([ $can_mount = 1 ] && echo 1 || echo 0) cache director$([ $can_mount = 1 ] && echo y || echo ies) in use skipped"
check "dry run deleted nothing" test -f "$R/web-1/cache-0/blob" -a -f "$R/old/docker/blob"

run dk cache prune web --pool "$R" --older-than 7d
check "prune web --older-than 7d exits 0" eq "$RC" 0
check "web-1's old cache is freed" eq "$(prow web-1/cache-0)" "freed      web-1/cache-0  1.0 MiB  not mounted by any process"
check "its contents are gone" test ! -e "$R/web-1/cache-0/blob"
check "the directory itself stays, empty" eq "$(ls -A "$R/web-1/cache-0" | wc -l)" 0
check "nothing is left beside it" eq "$(ls -A "$R/web-1" | tr '\n' ' ')" "cache-0 not-a-cache "
check "old (not web) is untouched" test -f "$R/old/docker/blob"
if [ $can_mount = 1 ]; then
	check "the mounted cache is skipped" contains "$(prow web-2/cache-0)" "skipped    web-2/cache-0  in use"
	run dk cache prune --pool "$R" --all
	check "--all still skips the mounted cache" contains "$(prow web-2/cache-0)" "skipped    web-2/cache-0  in use: mounted by process $HOLDER (sleep)"
	check "and keeps its data" test -f "$R/web-2/cache-0/blob"
	check "the pod still sees it" test -f "/proc/$HOLDER/root$TMP/pod/blob"
	check "--all frees the idle ones" eq "$(prow old/cache-0 | awk '{print $1}')" "freed"
	check "an emptied directory keeps its mode" eq "$(stat -c %a "$R/old/cache-0")" 750
	kill "$HOLDER"; wait "$HOLDER" 2>/dev/null; HOLDER=
	run dk cache ls --pool "$R"
	check "once the pod is gone, the directory is idle" eq "$(row web-2/cache-0 | awk '{print $3}')" "idle"
fi
fill "$R/web-2/cache-0"
run dk cache prune --pool "$R" --older-than 7d
check "a recently written cache is kept under --older-than" eq "$(prow web-2/cache-0 | awk '{print $1, $3, $4}')" "kept last modified"
run dk cache prune --pool "$R" --all --output json
check "prune --all --output json: one row per slot and directory, with kind" "$PY" -c '
import json, sys
rows = json.loads(sys.argv[1])
c = {r["set"] + "/" + r["cache"]: r for r in rows if r["kind"] == "cache"}
assert c["web-2/cache-0"]["action"] == "freed" and c["web-2/cache-0"]["bytes"] >= 1048576, c
assert sorted(c) == ["old/cache-0", "old/docker", "web-1/cache-0", "web-2/cache-0"], c
assert [r["kind"] for r in rows if "slot" in r] == ["slot"], rows' "$OUT"
check "the reserved directories of the root are never touched" test -d "$R/mirror/docker" -a -d "$R/daemonset/docker" -a -d "$R/guard/web"

# --quiet: only errors (and a dry run's answer).
fill "$R/old/docker"
run dk -q cache prune --pool "$R" --all
check "-q prune: exit 0 and nothing printed" eq "$RC:$OUT:$ERR" "0::"
check "-q prune still prunes" test ! -e "$R/old/docker/blob"
fill "$R/old/docker"
run dk cache prune --pool "$R" --all --dry-run --quiet
check "--quiet --dry-run prints what would be freed, no kept lines or total" eq "$(printf '%s\n' "$OUT" | awk '{print $1}' | sort -u | tr '\n' ' ')" "would-free "
run dk cache prune gamma --all --pool "$R"
check "an unknown NAME: exit 1, named" eq "$RC:$ERR" "1:deskrun: error: no cache pool or cache directory of \"gamma\" under $R (see 'deskrun cache ls')"
done_testing
