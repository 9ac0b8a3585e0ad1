#!/bin/bash
# deskrun doctor's GitHub credential checks against a loopback HTTPS fake of GitHub's REST API
# (tests/stubs/fakegithub.py, a self-signed certificate made here by openssl and trusted through
# SSL_CERT_FILE): a classic token's X-OAuth-Scopes against what the runner URL needs, a
# fine-grained token, a rejected token; a GitHub App's RS256 JWT, verified here with
# `openssl dgst -sha256 -verify`, and its installation; an untrusted certificate and a closed
# port. The credential travels only in the Authorization header, never in output.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
TOKEN=$(cat "$DATA/token")
PY=${PYTHON:-/usr/bin/python3}
export NO_COLOR=1
command -v openssl >/dev/null || { skip "GitHub checks" "needs openssl"; done_testing; exit 0; }

# Keep every other check quiet and deterministic: stub tools, a fake /proc and /sys.
STUB=$TMP/stub
mkdir -p "$STUB" "$TMP/sys/proc/sys/fs/inotify" "$TMP/sys/sys/fs/cgroup"
for t in kubectl helm kind k3s docker; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/$t"; done
echo 524288 >"$TMP/sys/proc/sys/fs/inotify/max_user_watches"
echo 512 >"$TMP/sys/proc/sys/fs/inotify/max_user_instances"
echo "cpu memory pids" >"$TMP/sys/sys/fs/cgroup/cgroup.controllers"
export PATH="$STUB:/usr/bin:/bin" DESKRUN_DOCTOR_SYSROOT=$TMP/sys XDG_CACHE_HOME=$TMP/xdg
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }

# A self-signed certificate for 127.0.0.1, made on the fly.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
FINE=github_pat_11AAAAAAA0fine0grained0token0for0tests
GH=$TMP/gh
mkdir -p "$GH"
start_fake() { # start_fake SCOPES
	[ -n "${FAKE_PID:-}" ] && { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; }
	rm -f "$GH/port" "$GH/requests.jsonl" "$GH/jwt"
	"$PY" "$SRCDIR/tests/stubs/fakegithub.py" --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
		--dir "$GH" --scopes "$1" --token "$TOKEN" --fine-token "$FINE" --installation 42 &
	FAKE_PID=$!
	for _ in $(seq 1 100); do [ -s "$GH/port" ] && break; sleep 0.05; done
	API=https://127.0.0.1:$(cat "$GH/port")/api/v3
}
trap '[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
export SSL_CERT_FILE=$TMP/cert.pem
line_of() { printf '%s\n' "$OUT" | grep -E "^(ok|warn|fail) +$1 " | head -1; }
fix_of() { printf '%s\n' "$OUT" | grep -A1 -E "^(ok|warn|fail) +$1 " | sed -n '2p' | grep 'fix:'; }

# ---- a classic token ----
start_fake "repo, workflow"
dk add web --repository https://github.com/acme/web --auth-value-file "$DATA/token" >/dev/null 2>&1
run dk doctor web --github-api-url "$API"
check "a token with repo for a repository runner: ok" contains "$(line_of 'runner web/github-token')" 'ok    runner web/github-token  token accepted, scopes "repo, workflow" include repo'
check "doctor exits 0" eq "$RC" 0
check "the token was sent as a Bearer Authorization header" eq "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["authorization"])' "$GH/requests.jsonl")" "Bearer $TOKEN"
check "to the API root" eq "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["path"])' "$GH/requests.jsonl")" "/api/v3/"
check "the token is not in the output" lacks "$OUT$ERR" "$TOKEN"

start_fake "read:org, gist"
run dk doctor web --github-api-url "$API"
check "a token without repo: fail, exit 1" eq "$RC" 1
check "naming its scopes and the one needed" contains "$(line_of 'runner web/github-token')" 'the token'"'"'s scopes are "read:org, gist"; runners for a repository need repo'
check "the fix says how to get one" contains "$(fix_of 'runner web/github-token')" "create a token with the repo scope"
dk add org --repository https://github.com/acme --auth-value-file "$DATA/token" >/dev/null 2>&1
start_fake "repo"
run dk doctor org --github-api-url "$API"
check "an organization runner needs admin:org" contains "$(line_of 'runner org/github-token')" "runners for an organization need admin:org"

printf '%s' "$FINE" >"$TMP/fine"
dk add fine --repository https://github.com/acme/web --auth-value-file "$TMP/fine" >/dev/null 2>&1
run dk doctor fine --github-api-url "$API"
check "a fine-grained token (no X-OAuth-Scopes): warn" contains "$(line_of 'runner fine/github-token')" "warn  runner fine/github-token  no X-OAuth-Scopes header: a fine-grained token"
printf 'ghp_revoked000000000000000000000000000000' >"$TMP/bad"
dk add bad --repository https://github.com/acme/web --auth-value-file "$TMP/bad" >/dev/null 2>&1
run dk doctor bad --github-api-url "$API"
check "a rejected token: fail (HTTP 401)" contains "$(line_of 'runner bad/github-token')" "fail  runner bad/github-token  GitHub rejected the token (HTTP 401)"

# ---- a GitHub App: RS256 JWT and the installation ----
dk add app --repository https://github.com/acme/web --auth-type github-app --app-id 123 \
	--installation-id 42 --private-key-file "$DATA/app-key.pem" >/dev/null 2>&1
run dk doctor app --github-api-url "$API"
check "an installed App: ok, naming the account" contains "$(line_of 'runner app/github-app')" "App 123 is installed (installation 42 on acme)"
check "it asked for /app/installations/42" contains "$(cat "$GH/requests.jsonl")" '"path": "/api/v3/app/installations/42"'
JWT=$(cat "$GH/jwt")
b64url_decode() { local s=${1//-/+}; s=${s//_//}; while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf '%s' "$s" | base64 -d; }
IFS=. read -r H C S <<<"$JWT"
printf '%s.%s' "$H" "$C" >"$TMP/jwt.input"
b64url_decode "$S" >"$TMP/jwt.sig"
openssl pkey -in "$DATA/app-key.pem" -pubout -out "$TMP/app-pub.pem" 2>/dev/null
run openssl dgst -sha256 -verify "$TMP/app-pub.pem" -signature "$TMP/jwt.sig" "$TMP/jwt.input"
check "the JWT's RS256 signature verifies with the App's public key (openssl)" eq "$OUT" "Verified OK"
check "its header is RS256" eq "$(b64url_decode "$H")" '{"alg":"RS256","typ":"JWT"}'
check "its claims: iss the App ID, 10 minutes, issued 60 s back" "$PY" -c '
import json, sys, time
c = json.loads(sys.argv[1])
assert c["iss"] == 123 and c["exp"] - c["iat"] == 600, c
assert abs(c["iat"] + 60 - time.time()) < 30, c' "$(b64url_decode "$C")"
printf 'tampered' >>"$TMP/jwt.input"
run openssl dgst -sha256 -verify "$TMP/app-pub.pem" -signature "$TMP/jwt.sig" "$TMP/jwt.input"
check "and the same check rejects a changed input" eq "$RC" 1
check "the private key is not in the output" lacks "$(dk doctor app --github-api-url "$API" 2>&1)" "PRIVATE KEY"

dk add app8 --repository https://github.com/acme/web --auth-type github-app --app-id Iv1.abc123 \
	--installation-id 42 --private-key-file "$DATA/app-key-pkcs8.pem" >/dev/null 2>&1
run dk doctor app8 --github-api-url "$API"
check "a PKCS#8 key and a client ID work too" contains "$(line_of 'runner app8/github-app')" "ok    runner app8/github-app"
check "the client ID is the iss, as a string" eq "$("$PY" -c 'import json,sys,base64; p=open(sys.argv[1]).read().split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["iss"])' "$GH/jwt")" "Iv1.abc123"

dk add app404 --repository https://github.com/acme/web --auth-type github-app --app-id 123 \
	--installation-id 7 --private-key-file "$DATA/app-key.pem" >/dev/null 2>&1
run dk doctor app404 --github-api-url "$API"
check "an installation the App does not have: fail (404)" contains "$(line_of 'runner app404/github-app')" "installation 7 of App 123 not found (HTTP 404)"
check "with the fix" contains "$(fix_of 'runner app404/github-app')" "install the App on the organization or repository"

# ---- TLS and network failures are warnings naming the cause ----
run env -u SSL_CERT_FILE "$DESKRUN" --config "$CFG" doctor web --github-api-url "$API"
check "an untrusted certificate: warn, naming why" contains "$(line_of 'runner web/github-token')" "certificate not trusted"
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=
run dk doctor web --github-api-url "$API"
check "a closed port: warn 'cannot reach'" contains "$(line_of 'runner web/github-token')" "warn  runner web/github-token  cannot reach $API: cannot connect to 127.0.0.1"
check "with the fix naming --no-network" contains "$(fix_of 'runner web/github-token')" "--no-network skips this check"
run dk doctor web --no-network
check "--no-network: no GitHub check at all" lacks "$OUT" "github-token"
done_testing
