#!/bin/bash
# deskrun doctor's GitHub checks through an HTTP proxy: a loopback CONNECT proxy
# (tests/cli/connectproxy.py) in front of the loopback HTTPS fake of GitHub
# (tests/stubs/fakegithub.py). The runner's --proxy is used (with its --no-proxy), else
# HTTPS_PROXY/https_proxy with NO_PROXY/no_proxy; the proxy records every CONNECT target, and
# the check still verifies the token's scopes (TLS end to end through the tunnel, the fake's
# certificate trusted through SSL_CERT_FILE). Proxy credentials go only in Proxy-Authorization:
# never in output, errors or JSON.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
TOKEN=$(cat "$DATA/token")
PY=${PYTHON:-/usr/bin/python3}
export NO_COLOR=1
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
command -v openssl >/dev/null || { skip "GitHub checks through a proxy" "needs openssl"; done_testing; exit 0; }

STUB=$TMP/stub
mkdir -p "$STUB" "$TMP/sys/proc/sys/fs/inotify" "$TMP/sys/sys/fs/cgroup"
for t in kubectl helm kind k3s docker; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/$t"; done
echo 524288 >"$TMP/sys/proc/sys/fs/inotify/max_user_watches"
echo 512 >"$TMP/sys/proc/sys/fs/inotify/max_user_instances"
echo "cpu memory pids" >"$TMP/sys/sys/fs/cgroup/cgroup.controllers"
export PATH="$STUB:/usr/bin:/bin" DESKRUN_DOCTOR_SYSROOT=$TMP/sys XDG_CACHE_HOME=$TMP/xdg
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
export SSL_CERT_FILE=$TMP/cert.pem
GH=$TMP/gh
PX=$TMP/px
mkdir -p "$GH" "$PX"
"$PY" "$SRCDIR/tests/stubs/fakegithub.py" --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
	--dir "$GH" --scopes "repo, workflow" --token "$TOKEN" --fine-token none --installation 42 &
FAKE_PID=$!
PROXY_PID=
trap 'kill $FAKE_PID $PROXY_PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -s "$GH/port" ] && break; sleep 0.05; done
GHPORT=$(cat "$GH/port")
API=https://127.0.0.1:$GHPORT/api/v3

start_proxy() { # start_proxy [--require-auth USER:PASSWORD]
	[ -n "$PROXY_PID" ] && { kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null; }
	rm -f "$PX/port" "$PX/connects.jsonl"
	"$PY" "$SRCDIR/tests/cli/connectproxy.py" --dir "$PX" "$@" &
	PROXY_PID=$!
	for _ in $(seq 1 100); do [ -s "$PX/port" ] && break; sleep 0.05; done
	PPORT=$(cat "$PX/port")
}
connects() { [ -f "$PX/connects.jsonl" ] && "$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    print(e["method"], e["target"], e["status"])' "$PX/connects.jsonl"; }
proxy_auth() { "$PY" -c '
import json, sys, base64
e = json.loads(open(sys.argv[1]).readlines()[-1])
a = e["proxy_authorization"] or ""
print(base64.b64decode(a.split(" ", 1)[1]).decode() if a.startswith("Basic ") else "none")' "$PX/connects.jsonl"; }
line_of() { printf '%s\n' "$OUT" | grep -E "^(ok|warn|fail) +$1 " | head -1; }
fix_of() { printf '%s\n' "$OUT" | grep -A1 -E "^(ok|warn|fail) +$1 " | sed -n '2p' | grep 'fix:'; }
gh_requests() { [ -f "$GH/requests.jsonl" ] && wc -l <"$GH/requests.jsonl" || echo 0; }

# ---- the runner's --proxy ----
start_proxy
dk add web --repository https://github.com/acme/web --proxy "http://127.0.0.1:$PPORT" \
	--auth-value-file "$DATA/token" >/dev/null 2>&1
before=$(gh_requests)
run dk doctor web --github-api-url "$API"
check "through the runner's proxy: ok, the scopes still verified" contains "$(line_of 'runner web/github-token')" "ok    runner web/github-token  token accepted, scopes \"repo, workflow\" include repo (through the proxy http://127.0.0.1:$PPORT)"
check "doctor exits 0" eq "$RC" 0
check "the proxy saw one CONNECT to the API's host:port" eq "$(connects)" "CONNECT 127.0.0.1:$GHPORT 200"
check "without credentials it sent no Proxy-Authorization" eq "$(proxy_auth)" "none"
check "and the request reached GitHub (inside the tunnel)" eq "$(gh_requests)" "$((before + 1))"
check "the token is not in the output" lacks "$OUT$ERR" "$TOKEN"

# A GitHub App's check goes the same way.
dk add app --repository https://github.com/acme/web --auth-type github-app --app-id 123 \
	--installation-id 42 --private-key-file "$DATA/app-key.pem" \
	--proxy "http://127.0.0.1:$PPORT" >/dev/null 2>&1
rm -f "$PX/connects.jsonl"
run dk doctor app --github-api-url "$API"
check "an App's check through the proxy: ok" contains "$(line_of 'runner app/github-app')" "App 123 is installed (installation 42 on acme) (through the proxy http://127.0.0.1:$PPORT)"
check "one CONNECT for it" eq "$(connects)" "CONNECT 127.0.0.1:$GHPORT 200"

# ---- --no-proxy lists ----
dk add direct --repository https://github.com/acme/web --proxy "http://127.0.0.1:$PPORT" \
	--no-proxy "example.com,127.0.0.1" --auth-value-file "$DATA/token" >/dev/null 2>&1
rm -f "$PX/connects.jsonl"
run dk doctor direct --github-api-url "$API"
check "a host in the runner's --no-proxy goes direct: ok" contains "$(line_of 'runner direct/github-token')" 'ok    runner direct/github-token  token accepted, scopes "repo, workflow" include repo'
check "without a proxy note" lacks "$(line_of 'runner direct/github-token')" "through the proxy"
check "and no CONNECT" eq "$(connects)" ""
dk add cidr --repository https://github.com/acme/web --proxy "http://127.0.0.1:$PPORT" \
	--no-proxy "10.0.0.0/8,127.0.0.0/8" --auth-value-file "$DATA/token" >/dev/null 2>&1
run dk doctor cidr --github-api-url "$API"
check "a CIDR in --no-proxy matches the API's address" eq "$(connects)" ""
dk add otherport --repository https://github.com/acme/web --proxy "http://127.0.0.1:$PPORT" \
	--no-proxy "127.0.0.1:1" --auth-value-file "$DATA/token" >/dev/null 2>&1
run dk doctor otherport --github-api-url "$API"
check "a --no-proxy entry for another port does not match" eq "$(connects)" "CONNECT 127.0.0.1:$GHPORT 200"

# ---- proxy credentials ----
PASS='s3cr@t:pw'
start_proxy --require-auth "alice:$PASS"
dk add authd --repository https://github.com/acme/web --proxy "http://alice:s3cr%40t%3Apw@127.0.0.1:$PPORT" \
	--auth-value-file "$DATA/token" >/dev/null 2>&1
run dk doctor authd --github-api-url "$API"
check "a proxy that wants credentials, given in the URL: ok" contains "$(line_of 'runner authd/github-token')" "ok    runner authd/github-token  token accepted"
check "they went as Basic Proxy-Authorization, percent-decoded" eq "$(proxy_auth)" "alice:$PASS"
check "the proxy is shown without them" contains "$OUT" "(through the proxy http://127.0.0.1:$PPORT)"
check "the password is not in the output" lacks "$OUT$ERR" "s3cr"
run dk doctor authd --github-api-url "$API" --output json
check "nor in the JSON" lacks "$OUT$ERR" "s3cr"
check "nor the user" lacks "$OUT$ERR" "alice"
dk add web --force --repository https://github.com/acme/web --proxy "http://127.0.0.1:$PPORT" \
	--auth-value-file "$DATA/token" >/dev/null 2>&1
run dk doctor web --github-api-url "$API"
check "no credentials for a proxy that wants them: warn naming HTTP 407" contains "$(line_of 'runner web/github-token')" "warn  runner web/github-token  cannot reach $API (through the proxy http://127.0.0.1:$PPORT): the proxy http://127.0.0.1:$PPORT wants credentials (HTTP 407): give them as http://USER:PASSWORD@HOST:PORT"
check "the fix points at the proxy settings" contains "$(fix_of 'runner web/github-token')" "check the proxy"
dk add wrong --repository https://github.com/acme/web --proxy "http://alice:hunter2@127.0.0.1:$PPORT" \
	--auth-value-file "$DATA/token" >/dev/null 2>&1
run dk doctor wrong --github-api-url "$API"
check "wrong credentials: warn, the proxy refused them" contains "$(line_of 'runner wrong/github-token')" "it refused the USER:PASSWORD of the proxy URL"
check "the wrong password is not in the output either" lacks "$OUT$ERR" "hunter2"
check "nor in any error line" lacks "$(dk doctor wrong --github-api-url "$API" --output json 2>&1)" "hunter2"

# ---- the environment: HTTPS_PROXY / https_proxy and NO_PROXY / no_proxy ----
start_proxy
dk add plain --repository https://github.com/acme/web --auth-value-file "$DATA/token" >/dev/null 2>&1
run env HTTPS_PROXY="http://127.0.0.1:$PPORT" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "HTTPS_PROXY when the runner has no proxy: ok through it" contains "$(line_of 'runner plain/github-token')" "include repo (through the proxy http://127.0.0.1:$PPORT)"
check "the proxy saw the CONNECT" eq "$(connects)" "CONNECT 127.0.0.1:$GHPORT 200"
rm -f "$PX/connects.jsonl"
run env https_proxy="127.0.0.1:$PPORT" HTTPS_PROXY="http://127.0.0.1:1" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "https_proxy (a bare HOST:PORT) comes before HTTPS_PROXY, as in curl" contains "$(line_of 'runner plain/github-token')" "ok    runner plain/github-token"
check "through it" eq "$(connects)" "CONNECT 127.0.0.1:$GHPORT 200"
rm -f "$PX/connects.jsonl"
run env HTTPS_PROXY="http://127.0.0.1:$PPORT" NO_PROXY="localhost, 127.0.0.1" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "NO_PROXY naming the host: direct, ok" contains "$(line_of 'runner plain/github-token')" "ok    runner plain/github-token"
check "no CONNECT" eq "$(connects)" ""
run env HTTPS_PROXY="http://127.0.0.1:$PPORT" no_proxy="*" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "no_proxy=* bypasses every host" eq "$(connects)" ""
dk add web --force --repository https://github.com/acme/web --proxy "http://127.0.0.1:$PPORT" \
	--auth-value-file "$DATA/token" >/dev/null 2>&1
run env HTTPS_PROXY="http://127.0.0.1:1" "$DESKRUN" --config "$CFG" doctor web --github-api-url "$API"
check "the runner's --proxy comes before HTTPS_PROXY" contains "$(line_of 'runner web/github-token')" "ok    runner web/github-token  token accepted, scopes \"repo, workflow\" include repo (through the proxy http://127.0.0.1:$PPORT)"

# ---- a proxy that is not there, a bad proxy URL ----
run env HTTPS_PROXY="http://bob:pa55word@127.0.0.1:1" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "a dead proxy: warn 'cannot reach' naming the proxy" contains "$(line_of 'runner plain/github-token')" "warn  runner plain/github-token  cannot reach $API (through the proxy http://127.0.0.1:1): the proxy http://127.0.0.1:1: cannot connect to 127.0.0.1:1"
check "its credentials are not in the output" lacks "$OUT$ERR" "pa55word"
run env HTTPS_PROXY="https://127.0.0.1:$PPORT" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "an https:// proxy: fail, saying doctor needs the http:// address" contains "$(line_of 'runner plain/github-token')" "fail  runner plain/github-token  HTTPS_PROXY: an https:// proxy (TLS to the proxy) is not supported"
run env HTTPS_PROXY="http://carol:letmein@bad host:3128" "$DESKRUN" --config "$CFG" doctor plain --github-api-url "$API"
check "a proxy URL that does not parse: fail, without repeating it" contains "$(line_of 'runner plain/github-token')" "fail  runner plain/github-token  HTTPS_PROXY: not a proxy URL"
check "so its password stays out" lacks "$OUT$ERR" "letmein"
rm -f "$PX/connects.jsonl"
run env HTTPS_PROXY="http://127.0.0.1:$PPORT" "$DESKRUN" --config "$CFG" doctor plain --no-network
check "--no-network: no CONNECT" eq "$(connects)" ""
check "--no-network prints no github check" lacks "$OUT" "github-token"
done_testing
