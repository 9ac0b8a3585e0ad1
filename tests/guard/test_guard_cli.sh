#!/bin/bash
# `deskrun guard` usage errors (exit 2, one line naming the flag) and start-up failures, without
# a Docker daemon.
. "$SRCDIR/tests/lib/tap.sh"

run "$DESKRUN" guard
check "without --tenant: exit 2" eq "$RC" 2
check "... naming --tenant" contains "$ERR" "--tenant is required"
run "$DESKRUN" guard --tenant Bad_Name
check "an invalid tenant: exit 2" eq "$RC" 2
check "... one line naming it" one_line "$ERR"
run "$DESKRUN" guard --tenant t --upstream tcp://1.2.3.4:2375
check "a non-unix upstream: exit 2" eq "$RC" 2
run "$DESKRUN" guard --tenant t --allow-bind relative/path
check "a relative --allow-bind: exit 2" eq "$RC" 2
run "$DESKRUN" guard --tenant t --log-format xml
check "an unknown --log-format: exit 2" eq "$RC" 2
run "$DESKRUN" guard --tenant t --keep-volumes
check "--keep-volumes without --cleanup-on-exit: exit 2" eq "$RC" 2
echo '{"capabilities":["NET_ADMIN"],"no_such_key":1}' >"$TMP/p.json"
run "$DESKRUN" guard --tenant t --policy "$TMP/p.json" --listen "$TMP/s.sock" --state-dir "$TMP/st"
check "a policy with an unknown key: exit 2" eq "$RC" 2
check "... naming the key" contains "$ERR" "no_such_key"
echo '{"capabilities":"NET_ADMIN"}' >"$TMP/p.json"
run "$DESKRUN" guard --tenant t --policy "$TMP/p.json" --listen "$TMP/s.sock" --state-dir "$TMP/st"
check "a policy value of the wrong type: exit 2" eq "$RC" 2
echo '{"subnets":["10.201.0.0/16","10.201.0.0/33"]}' >"$TMP/p.json"
run "$DESKRUN" guard --tenant t --policy "$TMP/p.json" --listen "$TMP/s.sock" --state-dir "$TMP/st"
check "a policy with a bad CIDR in \"subnets\": exit 2" eq "$RC" 2
check "... one line naming the key and the CIDR" bash -c '[ "$(printf "%s\n" "$0" | wc -l)" = 1 ] && case "$0" in *"\"subnets\": \"10.201.0.0/33\" is not a CIDR"*) true ;; *) false ;; esac' "$ERR"
echo '{"a":1,"a":2}' >"$TMP/p.json"
run "$DESKRUN" guard --tenant t --policy "$TMP/p.json" --listen "$TMP/s.sock" --state-dir "$TMP/st"
check "a policy with a duplicate key: exit 2" eq "$RC" 2
touch "$TMP/notasocket"
run "$DESKRUN" guard --tenant t --listen "$TMP/notasocket" --state-dir "$TMP/st" --upstream "unix://$TMP/none.sock"
check "--listen on a regular file: exit 1" eq "$RC" 1
check "... saying so" contains "$ERR" "not a socket"
mkdir -p "$TMP/st2"
echo '{"version":1,"tenant":"someone","volumes":{},"images":{}}' >"$TMP/st2/state.json"
run "$DESKRUN" guard --tenant t --listen "$TMP/s2.sock" --state-dir "$TMP/st2"
check "a state directory of another tenant: exit 2" eq "$RC" 2
"$DESKRUN" guard --tenant t --listen "$TMP/s3.sock" --state-dir "$TMP/st3" --upstream "unix://$TMP/none.sock" 2>"$TMP/g.log" &
pid=$!
for i in $(seq 1 50); do [ -S "$TMP/s3.sock" ] && break; sleep 0.05; done
run python3 "$SRCDIR/tests/guard/rawhttp.py" "$TMP/s3.sock" req GET /_ping
check "with the daemon down a request gets a JSON 502" contains "$OUT" "502"
check "... naming the daemon" contains "$OUT" "cannot connect to the Docker daemon"
kill -TERM $pid
wait $pid
check "SIGTERM stops the guard with status 0" eq "$?" 0
check "... and removes its socket" bash -c '[ ! -e "$0" ]' "$TMP/s3.sock"
check "the start-up warned about the unreachable daemon" contains "$(cat "$TMP/g.log")" "not reachable"

# The runner pod's folders (--pod-dir): usage errors name the flag and the fix.
run "$DESKRUN" guard --tenant t --pod-map /home/runner/_work=work
check "--pod-map without --pod-dir: exit 2" eq "$RC" 2
check "... naming both" contains "$ERR" "need --pod-dir"
run "$DESKRUN" guard --tenant t --pod-dir /a/../b
check "--pod-dir with ..: exit 2, one line" eq "$RC:$(printf '%s\n' "$ERR" | wc -l)" "2:1"
run "$DESKRUN" guard --tenant t --pod-dir "$TMP/pod" --pod-map work
check "--pod-map without =: exit 2 with an example" eq "$RC" 2
check "... e.g." contains "$ERR" "e.g. /home/runner/_work=work"
run "$DESKRUN" guard --tenant t --pod-dir "$TMP/pod" --pod-map /home/runner/_work=pins \
	--listen "$TMP/s4.sock" --state-dir "$TMP/st4" --upstream "unix://$TMP/none.sock"
check "--pod-map onto the guard's own pins folder: exit 2" eq "$RC" 2
check "... saying which names are taken" contains "$ERR" "not run or pins"
mkdir -p "$TMP/pod2"
ln -s / "$TMP/pod2/work"
run "$DESKRUN" guard --tenant t --pod-dir "$TMP/pod2" --listen "$TMP/s5.sock" --state-dir "$TMP/st5" \
	--upstream "unix://$TMP/none.sock"
check "a pod folder whose work is a symlink: exit 1" eq "$RC" 1
check "... it must be a folder" contains "$ERR" "it must be a folder"
done_testing
