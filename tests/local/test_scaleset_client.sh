#!/bin/bash
# deskrun's scale set client (src/sys/scaleset.c) against the GitHub stand-in
# (tests/github/standin.py), one call at a time through tests/local/sstool: PAT and GitHub App
# auth (§2), runner group, scale set find/create/get/update/delete, sessions (409, refresh on
# 401, eviction, delete), the long poll (202, a dropped connection, cancel), ack, acquire, JIT
# config run by the runner stand-in, runner lookup and removal, the admin token refreshed before
# its exp, transport retries (500, 429 and 503 with Retry-After, 400 not retried), a BOM,
# --proxy, and no secret in any output. Each check reads sstool's JSON lines and the stand-in's
# journal.
. "$SRCDIR/tests/lib/tap.sh"
SA=$SRCDIR/tests/github
DATA=$SRCDIR/tests/data
PY=${PYTHON:-/usr/bin/python3}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
command -v openssl >/dev/null || { skip "scale set client" "needs openssl"; done_testing; exit 0; }

PAT=ghp_localClientToken00000000000000000000
D=$TMP/gh
"$PY" "$SA/standin.py" --dir "$D" --poll-hold 1 --pat "$PAT" --app-id 123 --installation-id 42 \
	--app-key "$DATA/app-key.pem" 2>"$TMP/standin.err" &
SPID=$!
PXPID=
trap 'kill $SPID 2>/dev/null; [ -n "$PXPID" ] && kill $PXPID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
check "the stand-in starts" test -s "$D/url"
U=$(cat "$D/url")
export SSL_CERT_FILE=$D/cert.pem SSTOOL_PAT=$PAT SSTOOL_JIT=$TMP/jit
G() { "$PY" "$SA/ghctl.py" --dir "$D" "$@"; }
mark() { G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])'; }
# ss STEP...: run sstool on the repository URL; OUT its lines
ss() { run "$SSTOOL" --url "$U/acme/web" --backoff-ms 200 "$@"; printf '%s\n' "$OUT" >>"$TMP/all.out"; }
# f N EXPR: a Python expression over d, the Nth (1-based) line of OUT as JSON
f() { printf '%s\n' "$OUT" | sed -n "${1}p" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)' "$2"; }
# ends SINCE: the endpoints the journal saw after seq SINCE, space-separated
ends() { G journal --since "$1" | "$PY" -c '
import json, sys
L = [json.loads(l) for l in sys.stdin if l.strip()]
print(" ".join(e["endpoint"] + ("" if e["status"] < 300 else ":%d" % e["status"]) for e in L))'; }

# ---------------------------------------------------------------- PAT auth, the set (§2, §4.1-4.5)
S=$(mark)
ss admin group:default group:linux find:web create:web:self-hosted,linux get update:web
check "PAT: registration token then runner registration give the service URL" \
	eq "$(f 1 'd["ok"], d["service"].endswith("/tenant/1/"), d["exp"] > 0')" "True True True"
check "the default group is id 1 without a call" eq "$(f 2 'd["id"], d["requests"]')" "1 0"
check "an unknown runner group is an error naming it" \
	eq "$(f 3 'd["ok"], "runner group linux: not found" in d["error"]')" "False True"
check "find: no set yet (count 0)" eq "$(f 4 'd["ok"], d["id"]')" "True 0"
check "create: 200, the labels as System labels" \
	eq "$(f 5 'd["ok"], d["id"], [l["name"] for l in d["set"]["labels"]]')" "True 1 ['self-hosted', 'linux']"
check "get and update answer the set" eq "$(f 6 'd["set"]["name"]') $(f 7 'd["ok"]')" "web True"
J=$(G journal --since "$S")
check "the journal: registration-token, runner-registration (RemoteAuth), then the service calls" \
	eq "$(ends "$S")" "registration-token runner-registration runner-groups list-scalesets create-scaleset get-scaleset update-scaleset"
check "service calls carry api-version=6.0-preview and the admin Bearer" "$PY" -c '
import json, sys
L = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
j = [e for e in L if e["endpoint"] in ("create-scaleset", "get-scaleset")]
assert j and all("6.0-preview" in json.dumps(e["query"]) and e["authorization"].startswith("Bearer ey") for e in j), j
r = [e for e in L if e["endpoint"] == "runner-registration"][0]
assert r["authorization"].startswith("RemoteAuth "), r
assert r["body"]["url"].endswith("/acme/web") and r["body"]["runner_event"] == "register", r' "$J"

# ---------------------------------------------------------------- sessions, queue, JIT (§4.6-4.14)
ss find:web session:host-a
check "session: created with a UUID" eq "$(f 2 'd["ok"], len(d["sessionId"])')" "True 36"
ss find:web session:host-b
check "a second session for the set: 409, errnum EBUSY, the typeName in the message" \
	eq "$(f 2 'd["ok"], d["errnum"], "RunnerScaleSetSessionConflictException" in d["error"]')" "False EBUSY True"
G session web evict >/dev/null
G queue-job --scale-set web >/dev/null
ss find:web session poll:5000 ack acquire poll:5000 ack jit:web-r1 runner:web-r1
check "the long poll: JobAvailable, id above 2^31" eq "$(f 3 'd["types"], d["messageId"] > 2**31')" "['JobAvailable'] True"
check "ack 204, acquire answers the request id" eq "$(f 4 'd["ok"]') $(f 5 'd["acquired"]["count"]')" "True 1"
check "then JobAssigned, totalAssignedJobs 1" eq "$(f 6 'd["types"], d["assigned"]')" "['JobAssigned'] 1"
check "JIT config: a runner id; found again by name" eq "$(f 8 'd["runnerId"] > 0, d["runnerId"]') $(f 9 'd["id"]')" "True $(f 8 'd["runnerId"]') $(f 8 'd["runnerId"]')"
check "the JIT blob file is 0600" eq "$(stat -c %a "$TMP/jit")" "600"
RID=$(f 8 'd["runnerId"]')
ACTIONS_RUNNER_INPUT_JITCONFIG=$(cat "$TMP/jit") run "$PY" "$SA/ghctl.py" run-runner --wait 10
check "the runner stand-in runs the JIT config and finishes the job" test "$RC" = 0
G session web evict >/dev/null
ss find:web session poll:5000 ack poll:5000 ack runner:web-r1 remove:$RID
check "JobStarted then JobCompleted arrive" \
	eq "$(f 3 'd["types"]' | tr -d '[],') $(f 5 'd.get("types", "")' | tr -d '[],')" "'JobStarted' 'JobCompleted' "
check "the finished runner is deregistered; DELETE of its id is still 204" eq "$(f 7 'd["id"]') $(f 8 'd["ok"]')" "0 True"
G fault --path generatejitconfig --status 409 --type-name AgentExistsException --times 1 >/dev/null
G fault --path 'agents/' --method DELETE --status 400 --type-name JobStillRunningException --times 1 >/dev/null
G session web evict >/dev/null
ss find:web jit:web-r2 remove:5
check "409 AgentExistsException on JIT: errnum EEXIST" eq "$(f 2 'd["errnum"]')" "EEXIST"
check "400 JobStillRunningException on remove: errnum EAGAIN, not retried" eq "$(f 3 'd["errnum"], d["requests"]')" "EAGAIN 1"

# ---------------------------------------------------------------- queue token 401, eviction (§7.2)
G session web evict >/dev/null
G config queue_token_ttl=2 >/dev/null
S=$(mark)
ss find:web session sleep:3 poll:5000 close
G config queue_token_ttl=3000 >/dev/null
check "an expired queue token: 401, one session refresh, the poll retried" \
	eq "$(ends "$S")" "registration-token runner-registration list-scalesets create-session get-message:401 refresh-session get-message delete-session"
check "and the poll succeeds (202)" eq "$(f 4 'd["ok"], d.get("empty")')" "True True"
ss find:web poll:5000
check "a poll with no session is refused without a request" eq "$(f 2 'd["ok"], d["requests"]')" "False 0"
G fault --path 'message' --method GET --status 401 --times 1 >/dev/null
G fault --path 'sessions/' --method PATCH --status 404 --type-name RunnerAdminException --message "session ID doesn't exist" --times 1 >/dev/null
ss find:web session poll:5000
check "an evicted session: the poll's 401, then the refresh's 404 RunnerAdminException is an error" \
	eq "$(f 3 'd["ok"], d["requests"], "the queue token was refused" in d["error"] and "RunnerAdminException" in d["error"]')" "False 2 True"

# ---------------------------------------------------------------- retries (§3)
G session web evict >/dev/null 2>&1
G fault --path 'sessions$' --method POST --status 500 --times 2 >/dev/null
ss admin find:web session close
check "500 twice on create session: retried, the third attempt succeeds" eq "$(f 3 'd["ok"], d["requests"]')" "True 3"
G fault --path 'runnerscalesets$' --method GET --status 429 --retry-after 2 --times 1 >/dev/null
T0=$(date +%s%N)
ss admin find:web
T1=$(date +%s%N)
check "429 with Retry-After 2: waited about 2 s (the base backoff is 0.2 s), then succeeded" \
	eq "$(f 2 'd["ok"], d["requests"]') $(( (T1 - T0) / 1000000 >= 1900 ))" "True 2 1"
G fault --path 'runnerscalesets$' --method GET --status 503 --retry-after 1 --times 1 >/dev/null
T0=$(date +%s%N)
ss admin find:web
T1=$(date +%s%N)
check "503 with Retry-After 1: waited about 1 s" eq "$(f 2 'd["ok"], d["requests"]') $(( (T1 - T0) / 1000000 >= 900 ))" "True 2 1"
G fault --path 'runnerscalesets$' --method GET --status 502 --times 0 >/dev/null
ss admin find:web
G clear-faults >/dev/null
check "502 forever: five attempts, then the error names the call and the status" \
	eq "$(f 2 'd["ok"], d["requests"], d["error"].split(" (")[0]')" "False 5 find the scale set: HTTP 502"
G fault --path 'runnerscalesets$' --method GET --status 400 --times 1 --message 'bad name' >/dev/null
ss admin find:web
check "400 is not retried" eq "$(f 2 'd["ok"], d["requests"], "HTTP 400" in d["error"] and "bad name" in d["error"]')" "False 1 True"
G fault --path 'message' --method GET --status 0 --times 1 >/dev/null
ss find:web session poll:5000 close
check "a dropped long poll (connection closed, no answer): retried, then 202" \
	eq "$(f 3 'd["ok"], d["requests"], d.get("empty")')" "True 2 True"
G config poll_hold=5 >/dev/null
T0=$(date +%s%N)
ss find:web session cancel-after:300 poll:60000 close
T1=$(date +%s%N)
G config poll_hold=1 >/dev/null
check "a long poll given up by its caller (a signal): ECANCELED well before the server's hold" \
	eq "$(f 4 'd["ok"], d["errnum"]') $(( (T1 - T0) / 1000000 < 4000 ))" "False ECANCELED 1"
G config poll_hold=5 >/dev/null
ss find:web session poll:1500 close
G config poll_hold=1 >/dev/null
check "a long poll past its own deadline fails with ETIMEDOUT (after the transport's retries)" \
	eq "$(f 3 'd["ok"], d["errnum"], d["requests"]')" "False ETIMEDOUT 5"

# ---------------------------------------------------------------- token refresh, App auth, BOM
G config admin_token_ttl=62 >/dev/null
S=$(mark)
ss admin find:web sleep:3 find:web
G config admin_token_ttl=3600 >/dev/null
check "an admin token within 60 s of exp is refreshed before the next call" \
	eq "$(ends "$S")" "registration-token runner-registration list-scalesets registration-token runner-registration list-scalesets"
G fault --path 'runnerscalesets$' --method GET --status 401 --times 1 >/dev/null
ss admin find:web
check "401 on an admin call is an error: no reactive refresh, no retry (§7.2)" \
	eq "$(f 2 'd["ok"], d["requests"], "HTTP 401" in d["error"]')" "False 1 True"
S=$(mark)
run env -u SSTOOL_PAT "$SSTOOL" --url "$U/acme/web" --app-id 123 --installation-id 42 --key "$DATA/app-key.pem" admin find:web
check "GitHub App: installation token (201), registration token, runner registration" \
	eq "$(f 1 'd["ok"]') $(ends "$S")" "True app-access-token registration-token runner-registration list-scalesets"
run env -u SSTOOL_PAT "$SSTOOL" --url "$U/acme/web" --app-id 999 --installation-id 42 --key "$DATA/app-key.pem" admin
check "a wrong App id: the installation token call fails (401), not retried" \
	eq "$(f 1 'd["ok"], d["requests"], "installation token: HTTP 401" in d["error"]')" "False 1 True"
G config bom=1 >/dev/null
ss find:web get
G config bom=0 >/dev/null
check "answers with a UTF-8 BOM decode" eq "$(f 1 'd["ok"], d["id"]') $(f 2 'd["set"]["name"]')" "True 1 web"

# ---------------------------------------------------------------- URLs, proxy, secrets
run "$SSTOOL" --url "$U/a/b/c" admin
check "a URL with three path segments is refused, naming the forms" \
	eq "$(f 1 'd["ok"], "not a repository (HOST/OWNER/REPO)" in d["error"]')" "False True"
S=$(mark)
run "$SSTOOL" --url "$U/acme" admin
run "$SSTOOL" --url "$U/enterprises/acme" admin
check "organization and enterprise URLs use orgs/ and enterprises/ registration tokens" "$PY" -c '
import json, sys
p = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
p = [e["path"] for e in p if e["endpoint"] == "registration-token"]
assert p == ["/api/v3/orgs/acme/actions/runners/registration-token", "/api/v3/enterprises/acme/actions/runners/registration-token"], p' "$(G journal --since "$S")"
PX=$TMP/px
mkdir -p "$PX"
"$PY" "$SRCDIR/tests/cli/connectproxy.py" --dir "$PX" --require-auth 'u:p@ss' &
PXPID=$!
for _ in $(seq 1 100); do [ -s "$PX/port" ] && break; sleep 0.05; done
ss --proxy "http://u:p%40ss@127.0.0.1:$(cat "$PX/port")" find:web
check "--proxy: every call through CONNECT with the proxy's credentials" "$PY" -c '
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
assert len(c) == 3 and all(e["method"] == "CONNECT" and e["status"] == 200 for e in c), c' "$PX/connects.jsonl"
check "and the call succeeds" eq "$(f 1 'd["ok"], d["id"]')" "True 1"
check "no secret (PAT, admin or queue token, JIT blob) in any output" "$PY" -c '
import json, sys
out = open(sys.argv[1]).read()
toks = [sys.argv[2], open(sys.argv[3]).read().strip()]
assert all(t and t not in out for t in toks), "leak"
assert "Bearer" not in out and "RemoteAuth" not in out' "$TMP/all.out" "$PAT" "$TMP/jit"

done_testing
