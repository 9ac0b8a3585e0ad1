#!/bin/bash
# BuildKit's wire through the guard, threat rows against a real dockerd (issue 16): a tenant
# whose policy says "buildkit": true attacks through its guard, and every refused request is
# followed by a look at the daemon itself (raw socket) to show that nothing changed.
#   B01  a connection that opens with the HTTP/2 preface (prior-knowledge h2c, which Docker
#        >= 29.2 serves on its API socket) is refused, and nothing after it reaches the daemon
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/guard/lib.sh"

guard_suite_start
echo '{"buildkit": true}' >"$TMP/policy-buildkit.json"
start_guard b bk --policy "$TMP/policy-buildkit.json" || exit 1

# ---- B01: the HTTP/2 connection preface ----
# The preface, an empty SETTINGS frame, then an HTTP/1.1 create smuggled behind them.
SMUGGLE='{"Image":"tiny:1"}'
rawreq "$TMP/g-b.sock" raw "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00POST /v1.41/containers/create?name=bk-h2smuggle HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${#SMUGGLE}\r\n\r\n$SMUGGLE"
check "B01 the HTTP/2 preface is answered 505 in HTTP/1.1, with the reason" \
	bash -c 'case "$0" in "HTTP/1.1 505 "*"HTTP/2 is not served on this socket"*) ;; *) exit 1 ;; esac' "$ST$RB"
check "B01 ... the guard closed the connection: one answer, nothing for the smuggled create" \
	eq "$(printf '%s' "$ST$RB" | grep -c '^HTTP/1')" "1"
check "B01 ... the daemon has no container of the smuggled request" eq "$(d ps -aq --filter name=bk-h2smuggle)" ""
check "B01 ... the guard logs it once" eq "$(grep -c 'deny: HTTP/2 connection preface refused' "$TMP/g-b.log")" "1"
req b GET /_ping
expect "B01 ... and the guard still serves HTTP/1.1" 200 "OK"

done_testing
