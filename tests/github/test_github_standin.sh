#!/bin/bash
# The GitHub stand-in (tests/github/standin.py) against ../shared/reference/scaleset-protocol.md:
# (a) raw protocol checks with curl for every endpoint, the error paths included (§2 tokens and
#     the App JWT, §4 service calls, §4.7/§4.8 the long-poll queue, §5 messages, §7 sessions,
#     expiry and Retry-After, §8 the JIT config), driven through ghctl.py;
# (b) the official Go client, github.com/actions/scaleset v0.4.0 (tests/github/goclient, built
#     by build_ghclient.sh into a cache outside the repository): register a scale set, open a
#     session, long-poll, receive and acquire a job, get a JIT config, run it with the runner
#     stand-in, see JobStarted/JobCompleted, delete the session, runners and scale set; also under
#     injected 500/429 faults and an expired queue token, with App credentials and a runner
#     group, and against a 409 session conflict. Skipped with the reason when Go cannot build it.
. "$SRCDIR/tests/lib/tap.sh"
SA=$SRCDIR/tests/github
DATA=$SRCDIR/tests/data
PY=${PYTHON:-/usr/bin/python3}
for t in curl openssl; do
	command -v $t >/dev/null || { skip "GitHub stand-in" "needs $t"; done_testing; exit 0; }
done

PAT=ghp_standinTestToken0000000000000000000
D=$TMP/gh
"$PY" "$SA/standin.py" --dir "$D" --poll-hold 1 --pat "$PAT" --app-id 123 --installation-id 42 \
	--app-key "$DATA/app-key.pem" 2>"$TMP/standin.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null; [ -n "${GPID:-}" ] && kill $GPID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
check "the stand-in starts and writes its URL" test -s "$D/url"
U=$(cat "$D/url")
CA=$D/cert.pem
API=$U/api/v3
G() { "$PY" "$SA/ghctl.py" --dir "$D" "$@"; }

# req METHOD URL [BODY] [AUTHORIZATION] [EXTRA HEADER]: ST status, B body, H headers
req() {
	local args=(-sS --cacert "$CA" -X "$1" -o "$TMP/b" -D "$TMP/h" -w '%{http_code}')
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${4:-}" ] && args+=(-H "Authorization: $4")
	[ -n "${5:-}" ] && args+=(-H "$5")
	: >"$TMP/b"
	: >"$TMP/h"
	ST=$(curl "${args[@]}" "$2" 2>"$TMP/curl.err")
	CURLRC=$?
	B=$(cat "$TMP/b")
	H=$(tr -d '\r' <"$TMP/h")
}
# jb EXPR: a Python expression over d, the last body as JSON (a leading BOM tolerated)
jb() { "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read().lstrip("\ufeff")); print(eval(sys.argv[1]))' "$1" <<<"$B"; }
# jl FILE EXPR: a Python expression over L, the JSON lines of FILE; E their endpoint/event names
jl() {
	"$PY" -c '
import json, sys
from datetime import datetime
hget = lambda e, k: next((v for kk, v in e["headers"].items() if kk.lower() == k.lower()), None)
ts = lambda e: datetime.fromisoformat(e["time"][:-1]).timestamp()
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
E = [e.get("endpoint", e.get("event")) for e in L]
def insub(want, have):
    it = iter(have)
    return all(w in it for w in want)
print(eval(sys.argv[2]))' "$1" "$2"
}
hdr() { printf '%s\n' "$H" | sed -n "s/^$1: //Ip" | head -1; }
mark() { G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])'; }
svc() { req "$1" "$SVC$2" "${3:-}" "Bearer $ADMIN"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
app_jwt() { # app_jwt KEY ISS IAT EXP
	local h p
	h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
	p=$(printf '{"iat":%s,"exp":%s,"iss":"%s"}' "$3" "$4" "$2" | b64url)
	printf '%s.%s.%s' "$h" "$p" "$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$1" -binary | b64url)"
}
NOW=$(date +%s)

# ---------------------------------------------------------------- (a) REST: tokens (§2)
req GET "$API/" "" "Bearer $PAT"
check "GET /api/v3/ with the PAT: 200 and X-OAuth-Scopes" eq "$ST $(hdr X-OAuth-Scopes)" "200 repo, workflow, admin:org"
req GET "$API/" "" "Bearer ghp_wrong"
check "an unknown PAT: 401 Bad credentials" eq "$ST $(jb 'd["message"]')" "401 Bad credentials"
check "REST answers carry X-GitHub-Request-Id and X-RateLimit-*" test -n "$(hdr X-GitHub-Request-Id)" -a -n "$(hdr X-RateLimit-Remaining)"

req POST "$API/orgs/acme/actions/runners/registration-token" "" "Bearer $PAT"
check "registration token (org): 201" eq "$ST" 201
check "with a token and an RFC 3339 expires_at" eq "$(jb 'len(d["token"]) > 20 and d["expires_at"].endswith("Z")')" True
REG=$(jb 'd["token"]')
req POST "$API/repos/acme/app/actions/runners/registration-token" "" "Bearer $PAT"
R1=$ST
req POST "$API/enterprises/big/actions/runners/registration-token" "" "Bearer $PAT"
check "registration token for a repository and an enterprise: 201" eq "$R1 $ST" "201 201"
req POST "$API/orgs/acme/actions/runners/registration-token"
check "registration token without credentials: 401" eq "$ST" 401
req GET "$API/orgs/acme/actions/runners/registration-token" "" "Bearer $PAT"
check "registration token by GET: 404" eq "$ST" 404

# the GitHub App: an RS256 JWT checked against the App's key (§2.2)
JWT=$(app_jwt "$DATA/app-key.pem" 123 $((NOW - 60)) $((NOW + 480)))
req POST "$API/app/installations/42/access_tokens" "" "Bearer $JWT"
check "App JWT → installation token: 201 ghs_…" eq "$ST $(jb 'd["token"][:4]')" "201 ghs_"
ITOK=$(jb 'd["token"]')
req GET "$API/app/installations/42" "" "Bearer $JWT"
check "GET the installation (doctor's call): 200 with the account" eq "$ST $(jb 'd["account"]["login"]')" "200 acme"
req POST "$API/app/installations/43/access_tokens" "" "Bearer $JWT"
check "another installation: 404" eq "$ST" 404
req POST "$API/app/installations/42/access_tokens" "" "Bearer $(app_jwt "$DATA/app-key-pkcs8.pem" 123 $((NOW - 60)) $((NOW + 480)))"
check "a JWT signed by another key: 401" eq "$ST $(jb 'd["message"]')" "401 A JSON web token could not be decoded"
req POST "$API/app/installations/42/access_tokens" "" "Bearer $(app_jwt "$DATA/app-key.pem" 123 $((NOW - 700)) $((NOW - 100)))"
check "an expired JWT: 401" eq "$ST" 401
req POST "$API/app/installations/42/access_tokens" "" "Bearer $(app_jwt "$DATA/app-key.pem" 123 $NOW $((NOW + 3600)))"
check "a JWT whose exp is an hour away: 401 too far in the future" contains "$ST $B" "401"
req POST "$API/app/installations/42/access_tokens" "" "Bearer $(app_jwt "$DATA/app-key.pem" 999 $((NOW - 60)) $((NOW + 480)))"
check "a JWT for another app (iss): 401" eq "$ST" 401
req POST "$API/app/installations/42/access_tokens" "" "Bearer $PAT"
check "a PAT where a JWT belongs: 401" eq "$ST" 401
req POST "$API/orgs/acme/actions/runners/registration-token" "" "Bearer $ITOK"
check "the installation token gets a registration token: 201" eq "$ST" 201
G expire installation >/dev/null
req POST "$API/orgs/acme/actions/runners/registration-token" "" "Bearer $ITOK"
check "after ghctl expire installation: 401" eq "$ST" 401

# runner registration → service URL and admin JWT (§2.4, §2.5)
req POST "$API/actions/runner-registration" '{"url":"'"$U"'/acme","runner_event":"register"}' "RemoteAuth $REG"
check "runner-registration: 200" eq "$ST" 200
SVC=$(jb 'd["url"]')
ADMIN=$(jb 'd["token"]')
check "the service URL is a tenant path ending in /" eq "$(jb 'd["url"].startswith("'"$U"'/tenant/") and d["url"].endswith("/")')" True
check "the admin token is a 3-part JWT with a numeric exp about an hour away" eq "$("$PY" -c '
import base64, json, sys, time
p = sys.argv[1].split(".")
c = json.loads(base64.urlsafe_b64decode(p[1] + "=" * (-len(p[1]) % 4)))
print(len(p) == 3 and isinstance(c["exp"], int) and 3500 < c["exp"] - time.time() <= 3600)' "$ADMIN")" True
req POST "$API/actions/runner-registration" '{"url":"'"$U"'/acme","runner_event":"register"}' "RemoteAuth nope"
check "runner-registration with an unknown token: 401" eq "$ST" 401
req POST "$API/actions/runner-registration" '{"runner_event":"register"}' "RemoteAuth $REG"
check "runner-registration without url: 422" eq "$ST" 422
req POST "$API/actions/runner-registration" '{"url":"'"$U"'/a/b/c","runner_event":"register"}' "RemoteAuth $REG"
check "runner-registration with a 3-segment config URL: 422" eq "$ST" 422

# ---------------------------------------------------------------- (a) the service (§4)
req GET "${SVC}_apis/runtime/runnergroups/?groupName=Default&api-version=6.0-preview"
check "a service call without a token: 401 VssUnauthorizedException" eq "$ST $(jb '"VssUnauthorizedException" in d["typeName"]')" "401 True"
svc GET "_apis/runtime/runnergroups/?groupName=Default&api-version=6.0-preview"
check "runner group by name (trailing slash): id 1" eq "$ST $(jb 'd["count"], d["value"][0]["id"], d["value"][0]["isDefaultGroup"]')" "200 (1, 1, True)"
svc GET "_apis/runtime/runnergroups?groupName=nope"
check "an unknown group: count 0" eq "$ST $(jb 'd["count"]')" "200 0"
svc GET "_apis/runtime/runnerscalesets?runnerGroupId=1&name=web&api-version=6.0-preview"
check "scale set by name before it exists: count 0" eq "$ST $(jb 'd["count"], d["value"]')" "200 (0, [])"
CREATE='{"name":"web","runnerGroupId":1,"labels":[{"type":"System","name":"web"},{"name":"linux"}],"RunnerSetting":{"disableUpdate":true},"createdOn":"0001-01-01T00:00:00Z"}'
svc POST "_apis/runtime/runnerscalesets?api-version=6.0-preview" "$CREATE"
check "create a scale set: 200 (not 201)" eq "$ST" 200
SS=$(jb 'd["id"]')
check "it echoes name, group name, labels (type filled) and RunnerSetting" eq "$(jb 'd["name"], d["runnerGroupName"], [(l["type"], l["name"]) for l in d["labels"]], d["RunnerSetting"]')" \
	"('web', 'Default', [('System', 'web'), ('System', 'linux')], {'disableUpdate': True})"
check "createdOn is RFC 3339 with a zone" eq "$(jb 'd["createdOn"].endswith("Z") and not d["createdOn"].startswith("0001")')" True
svc POST "_apis/runtime/runnerscalesets" "$CREATE"
check "the same name again: 409 …ExistsException" eq "$ST $(jb '"ExistsException" in d["typeName"]')" "409 True"
svc POST "_apis/runtime/runnerscalesets" '{"runnerGroupId":1}'
check "a scale set without a name: 400" eq "$ST" 400
svc GET "_apis/runtime/runnerscalesets?runnerGroupId=1&name=WEB"
check "found by name (case-insensitive): count 1, same id" eq "$(jb 'd["count"], d["value"][0]["id"]')" "(1, $SS)"
svc GET "_apis/runtime/runnerscalesets/$SS"
check "GET by id: 200 with statistics" eq "$ST $(jb 'sorted(d["statistics"])')" "200 ['totalAcquiredJobs', 'totalAssignedJobs', 'totalAvailableJobs', 'totalBusyRunners', 'totalIdleRunners', 'totalRegisteredRunners', 'totalRunningJobs']"
svc GET "_apis/runtime/runnerscalesets/999"
check "an unknown id: 404 RunnerScaleSetNotFoundException" eq "$ST $(jb '"RunnerScaleSetNotFoundException" in d["typeName"]')" "404 True"
svc PATCH "_apis/runtime/runnerscalesets/$SS" '{"runnerGroupId":0,"RunnerSetting":{},"createdOn":"0001-01-01T00:00:00Z"}'
check "PATCH with zero fields changes nothing (labels kept)" eq "$ST $(jb 'd["name"], len(d["labels"]), d["runnerGroupId"]')" "200 ('web', 2, 1)"
GID=$(G group linux-group | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
svc PATCH "_apis/runtime/runnerscalesets/$SS" '{"runnerGroupId":'"$GID"',"runnerSetting":{},"createdOn":"0001-01-01T00:00:00Z"}'
check "PATCH runnerGroupId moves it and echoes the new group name" eq "$ST $(jb 'd["runnerGroupId"], d["runnerGroupName"]')" "200 ($GID, 'linux-group')"
svc PATCH "_apis/runtime/runnerscalesets/$SS" '{"runnerGroupId":1}'
req GET "${SVC}/_apis//runtime/runnerscalesets/$SS?api-version=6.0-preview" "" "Bearer $ADMIN"
check "// in the path is collapsed (§1.3)" eq "$ST" 200

# sessions (§4.6, §7.1)
svc POST "_apis/runtime/runnerscalesets/$SS/sessions?api-version=6.0-preview" '{"sessionId":"00000000-0000-0000-0000-000000000000","ownerName":"curl"}'
check "create a session: 200" eq "$ST" 200
check "a UUID, the scale set, the queue URL and token, seven statistics" eq "$(jb 'len(d["sessionId"]) == 36 and d["sessionId"] != "0"*8 + "-0000-0000-0000-" + "0"*12, d["runnerScaleSet"]["id"], d["messageQueueUrl"], bool(d["messageQueueAccessToken"]), len(d["statistics"])')" \
	"(True, $SS, '$U/scalesets/message', True, 7)"
SID=$(jb 'd["sessionId"]')
QURL=$(jb 'd["messageQueueUrl"]')
QT=$(jb 'd["messageQueueAccessToken"]')
svc POST "_apis/runtime/runnerscalesets/$SS/sessions" '{"ownerName":"second"}'
check "a second session: 409 RunnerScaleSetSessionConflictException naming the holder" eq "$ST $(jb 'd["typeName"] == "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException" and "curl" in d["message"]')" "409 True"
svc POST "_apis/runtime/runnerscalesets/999/sessions" '{"ownerName":"x"}'
check "a session for an unknown scale set: 404 RunnerScaleSetNotFoundException" eq "$ST $(jb '"RunnerScaleSetNotFoundException" in d["typeName"]')" "404 True"

# the queue (§4.7, §4.8, §5)
req GET "$QURL"
check "GET the queue without its token: 401" eq "$ST" 401
req GET "$QURL" "" "Bearer $ADMIN"
check "GET the queue with the admin token: 401" eq "$ST" 401
T0=$(date +%s%N)
req GET "$QURL" "" "Bearer $QT" "X-ScaleSetMaxCapacity: 10"
T1=$(date +%s%N)
check "an empty queue: 202 with an empty body after the hold (1 s here)" eq "$ST ${#B} $(((T1 - T0) >= 900000000))" "202 0 1"
JOB=$(G queue-job --labels linux | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
req GET "$QURL" "" "Bearer $QT"
check "a queued job (acquire flow): 200 at once" eq "$ST" 200
check "envelope: RunnerScaleSetJobMessages, body a JSON string of [JobAvailable]" eq "$(jb 'd["messageType"], [(m["messageType"], m["runnerRequestId"], m["requestLabels"]) for m in json.loads(d["body"])]')" \
	"('RunnerScaleSetJobMessages', [('JobAvailable', $JOB, ['linux'])])"
check "the JobAvailable has acquireJobUrl, a string jobId and RFC 3339 queueTime" eq "$(jb '[m["acquireJobUrl"].endswith("/acquirejobs") and isinstance(m["jobId"], str) and m["queueTime"].endswith("Z") for m in json.loads(d["body"])][0]')" True
check "statistics: totalAvailableJobs 1; messageId above INT32_MAX" eq "$(jb 'd["statistics"]["totalAvailableJobs"], d["messageId"] > 2147483647')" "(1, True)"
M1=$(jb 'd["messageId"]')
req GET "$QURL" "" "Bearer $QT"
check "unacknowledged, it is delivered again" eq "$ST $(jb 'd["messageId"]')" "200 $M1"
svc GET "_apis/runtime/runnerscalesets/$SS/acquirablejobs"
check "acquirablejobs lists it" eq "$ST $(jb '[j["runnerRequestId"] for j in d["value"]]')" "200 [$JOB]"
req DELETE "$QURL/$M1" "" "Bearer $QT"
check "DELETE the message (ack): 204" eq "$ST" 204
req DELETE "$QURL/1" "" "Bearer $QT"
check "DELETE a message that never was: 404" eq "$ST" 404
svc POST "_apis/runtime/runnerscalesets/$SS/acquirejobs" "[$JOB]"
check "acquirejobs with the admin token: 401 (it takes the queue token)" eq "$ST" 401
req POST "${SVC}_apis/runtime/runnerscalesets/$SS/acquirejobs?api-version=6.0-preview" "[$JOB, 424242]" "Bearer $QT"
check "acquirejobs with the queue token: 200, only the available job" eq "$ST $(jb 'd')" "200 {'count': 1, 'value': [$JOB]}"
req GET "$QURL?lastMessageId=$M1" "" "Bearer $QT"
check "then JobAssigned, totalAssignedJobs 1" eq "$(jb '[m["messageType"] for m in json.loads(d["body"])], d["statistics"]["totalAssignedJobs"], d["statistics"]["totalAcquiredJobs"]')" "(['JobAssigned'], 1, 1)"
M2=$(jb 'd["messageId"]')
req DELETE "$QURL/$M2" "" "Bearer $QT"
svc GET "_apis/runtime/runnerscalesets/$SS/acquirablejobs"
check "acquirablejobs when none: 204" eq "$ST" 204

# JIT config and runners (§4.11–4.14, §8)
svc POST "_apis/runtime/runnerscalesets/$SS/generatejitconfig?api-version=6.0-preview" '{"name":"web-r1","workFolder":""}'
check "generatejitconfig: 200 with runner {id>0, name, runnerScaleSetId}" eq "$ST $(jb 'd["runner"]["id"] > 0, d["runner"]["name"], d["runner"]["runnerScaleSetId"]')" "200 (True, 'web-r1', $SS)"
RID=$(jb 'd["runner"]["id"]')
JIT=$(jb 'd["encodedJITConfig"]')
run G decode-jit "$JIT"
check "the JIT config decodes (base64 JSON of base64 files) to .runner, .credentials, .credentials_rsaparams" eq "$("$PY" -c '
import json, sys
f = json.loads(sys.argv[1]); r = f[".runner"]
print(sorted(f)[:3], r["AgentId"], r["AgentName"], r["Ephemeral"], r["WorkFolder"], r["ServerUrl"] == sys.argv[2])' "$OUT" "$SVC")" \
	"['.credentials', '.credentials_rsaparams', '.runner'] $RID web-r1 True _work True"
svc POST "_apis/runtime/runnerscalesets/$SS/generatejitconfig" '{"name":"web-r1","workFolder":""}'
check "the same runner name again: 409 AgentExistsException" eq "$ST $(jb '"AgentExistsException" in d["typeName"]')" "409 True"
svc POST "_apis/runtime/runnerscalesets/$SS/generatejitconfig" '{"workFolder":""}'
check "no runner name: 400" eq "$ST" 400
svc GET "_apis/distributedtask/pools/0/agents?agentName=web-r1"
check "runner by name: count 1 with its id" eq "$(jb 'd["count"], d["value"][0]["id"]')" "(1, $RID)"
svc GET "_apis/distributedtask/pools/0/agents/$RID"
check "runner by id: 200" eq "$ST $(jb 'd["name"]')" "200 web-r1"
svc GET "_apis/distributedtask/pools/0/agents/777777"
check "an unknown runner: 404 AgentNotFoundException" eq "$ST $(jb '"AgentNotFoundException" in d["typeName"]')" "404 True"
G runner "$RID" online >/dev/null
svc GET "_apis/runtime/runnerscalesets/$SS"
check "an online runner counts as registered and idle" eq "$(jb 'd["statistics"]["totalRegisteredRunners"], d["statistics"]["totalIdleRunners"]')" "(1, 1)"
run G runner "$RID" busy
check "the runner takes the assigned job (ghctl runner busy)" eq "$RC $("$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["runnerRequestId"], j["state"])' "$OUT")" "0 $JOB running"
req GET "$QURL?lastMessageId=$M2" "" "Bearer $QT"
check "JobStarted with runnerId and runnerName, totalRunningJobs 1" eq "$(jb '[(m["messageType"], m["runnerId"], m["runnerName"]) for m in json.loads(d["body"])], d["statistics"]["totalRunningJobs"], d["statistics"]["totalBusyRunners"]')" \
	"([('JobStarted', $RID, 'web-r1')], 1, 1)"
M3=$(jb 'd["messageId"]')
req DELETE "$QURL/$M3" "" "Bearer $QT"
svc DELETE "_apis/distributedtask/pools/0/agents/$RID"
check "DELETE a runner that runs a job: 400 JobStillRunningException" eq "$ST $(jb '"JobStillRunningException" in d["typeName"]')" "400 True"
G runner "$RID" finish --result succeeded >/dev/null
req GET "$QURL?lastMessageId=$M3" "" "Bearer $QT"
check "JobCompleted result succeeded, totalAssignedJobs back to 0" eq "$(jb '[(m["messageType"], m["result"], m["runnerName"], bool(m["finishTime"])) for m in json.loads(d["body"])], d["statistics"]["totalAssignedJobs"], d["statistics"]["totalRegisteredRunners"]')" \
	"([('JobCompleted', 'succeeded', 'web-r1', True)], 0, 0)"
M4=$(jb 'd["messageId"]')
req DELETE "$QURL/$M4" "" "Bearer $QT"
svc GET "_apis/distributedtask/pools/0/agents/$RID"
check "the ephemeral runner is deregistered after its job: 404" eq "$ST" 404
svc DELETE "_apis/distributedtask/pools/0/agents/$RID"
R1=$ST
svc DELETE "_apis/distributedtask/pools/0/agents/888888"
check "DELETE a runner already gone, or never there: 204 (§4.14)" eq "$R1 $ST" "204 204"
run G runner "$RID" online
check "a finished runner reporting again is refused (410)" contains "$ERR" "HTTP 410"

# assign flow and X-ScaleSetMaxCapacity (§4.7)
req GET "$QURL?lastMessageId=$M4" "" "Bearer $QT" "X-ScaleSetMaxCapacity: 0"
J2=$(G queue-job --scale-set web --flow assign | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
check "with max capacity 0 an assign-flow job stays queued" eq "$(G job "$J2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])')" queued
req GET "$QURL?lastMessageId=$M4" "" "Bearer $QT" "X-ScaleSetMaxCapacity: 3"
check "capacity 3: JobAssigned directly (no JobAvailable)" eq "$ST $(jb '[(m["messageType"], m["runnerRequestId"]) for m in json.loads(d["body"])]')" "200 [('JobAssigned', $J2)]"
M5=$(jb 'd["messageId"]')
req DELETE "$QURL/$M5" "" "Bearer $QT"
G cancel-job "$J2" --requeue >/dev/null
req GET "$QURL?lastMessageId=$M5" "" "Bearer $QT"
check "reassignment: JobCompleted canceled, then JobAssigned again (§5.2)" eq "$(jb '[(m["messageType"], m.get("result")) for m in json.loads(d["body"])]')" "[('JobCompleted', 'canceled'), ('JobAssigned', None)]"
M6=$(jb 'd["messageId"]')
req DELETE "$QURL/$M6" "" "Bearer $QT"
G cancel-job "$J2" >/dev/null
req GET "$QURL?lastMessageId=$M6" "" "Bearer $QT"
M7=$(jb 'd["messageId"]')
req DELETE "$QURL/$M7" "" "Bearer $QT"
G stats-message web >/dev/null
req GET "$QURL?lastMessageId=$M7" "" "Bearer $QT"
check "a statistics-only message: empty body string, statistics present" eq "$ST $(jb 'd["body"] == "", d["statistics"]["totalAssignedJobs"]')" "200 (True, 0)"
M8=$(jb 'd["messageId"]')
req DELETE "$QURL/$M8" "" "Bearer $QT"

# token expiry and session refresh (§7.2)
G expire queue >/dev/null
req GET "$QURL?lastMessageId=$M8" "" "Bearer $QT"
check "an expired queue token: 401" eq "$ST" 401
svc PATCH "_apis/runtime/runnerscalesets/$SS/sessions/$SID?api-version=6.0-preview"
check "refresh the session: 200, the whole session again with a new token" eq "$ST $(jb 'd["sessionId"], d["runnerScaleSet"]["id"], d["messageQueueUrl"], len(d["statistics"])')" \
	"200 ('$SID', $SS, '$QURL', 7)"
check "the new token differs from the old" test "$(jb 'd["messageQueueAccessToken"]')" != "$QT"
QT=$(jb 'd["messageQueueAccessToken"]')
req GET "$QURL?lastMessageId=$M8" "" "Bearer $QT"
check "the queue answers the new token (202)" eq "$ST" 202
svc PATCH "_apis/runtime/runnerscalesets/$SS/sessions/0f0f0f0f-0000-0000-0000-000000000000"
check "refresh an unknown session: 404 RunnerAdminException" eq "$ST $(jb '"RunnerAdminException" in d["typeName"]')" "404 True"
G expire admin >/dev/null
svc GET "_apis/runtime/runnerscalesets/$SS"
check "an expired admin token: 401 (clients refresh before exp, not after a 401)" eq "$ST" 401
req POST "$API/orgs/acme/actions/runners/registration-token" "" "Bearer $PAT"
REG=$(jb 'd["token"]')
req POST "$API/actions/runner-registration" '{"url":"'"$U"'/acme","runner_event":"register"}' "RemoteAuth $REG"
ADMIN=$(jb 'd["token"]')
check "the same config URL gets the same service URL back" eq "$(jb 'd["url"]')" "$SVC"
svc GET "_apis/runtime/runnerscalesets/$SS"
check "a fresh admin token works" eq "$ST" 200
G session web evict >/dev/null
svc PATCH "_apis/runtime/runnerscalesets/$SS/sessions/$SID"
check "a session evicted server-side: refresh gets 404 RunnerAdminException" eq "$ST $(jb '"RunnerAdminException" in d["typeName"]')" "404 True"
G session web phantom --owner listener-pod-old >/dev/null
svc POST "_apis/runtime/runnerscalesets/$SS/sessions" '{"ownerName":"new"}'
check "a phantom holder (ghctl session S phantom): 409 naming it" eq "$ST $(jb '"listener-pod-old" in d["message"]')" "409 True"
G session web evict >/dev/null
svc POST "_apis/runtime/runnerscalesets/$SS/sessions" '{"ownerName":"curl"}'
SID=$(jb 'd["sessionId"]')
svc DELETE "_apis/runtime/runnerscalesets/$SS/sessions/$SID"
R1=$ST
svc DELETE "_apis/runtime/runnerscalesets/$SS/sessions/$SID"
check "DELETE the session: 204, then 404" eq "$R1 $ST" "204 404"

# injected failures and Retry-After (§3, §7.3)
G fault --path 'runnerscalesets$' --method GET --status 500 >/dev/null
svc GET "_apis/runtime/runnerscalesets?name=web"
R1=$ST
svc GET "_apis/runtime/runnerscalesets?name=web"
check "a 500 fault fires once, then the real answer" eq "$R1 $ST" "500 200"
G fault --path generatejitconfig --status 429 --retry-after 7 >/dev/null
svc POST "_apis/runtime/runnerscalesets/$SS/generatejitconfig" '{"name":"x"}'
check "429 with Retry-After: 7" eq "$ST $(hdr Retry-After)" "429 7"
G fault --path registration-token --status 403 --retry-after 30 --message "API rate limit exceeded for installation" >/dev/null
req POST "$API/orgs/acme/actions/runners/registration-token" "" "Bearer $PAT"
check "a REST rate limit: 403 with X-RateLimit-Remaining 0 and Retry-After" eq "$ST $(hdr X-RateLimit-Remaining) $(hdr Retry-After) $(jb 'd["message"]')" "403 0 30 API rate limit exceeded for installation"
G fault --path sessions --status 409 --type-name GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException >/dev/null
svc POST "_apis/runtime/runnerscalesets/$SS/sessions" '{"ownerName":"x"}'
check "an injected typeName reaches the body" eq "$ST $(jb 'd["typeName"]')" "409 GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException"
G fault --path /scalesets/message --status 0 >/dev/null
req GET "$QURL" "" "Bearer x"
check "status 0 drops the connection without an answer" test "$CURLRC" -ne 0 -a "$ST" = 000
G fault --path runnergroups --status 503 --times 2 >/dev/null
svc GET "_apis/runtime/runnergroups?groupName=Default"
R1=$ST
svc GET "_apis/runtime/runnergroups?groupName=Default"
R2=$ST
svc GET "_apis/runtime/runnergroups?groupName=Default"
check "--times 2: two 503s, then 200" eq "$R1 $R2 $ST" "503 503 200"
check "ghctl faults shows the hits" eq "$(G faults | "$PY" -c 'import json,sys; print([f["hits"] for f in json.load(sys.stdin)])')" "[1, 1, 1, 1, 1, 2]"
G clear-faults
G config bom=1 >/dev/null
svc GET "_apis/runtime/runnerscalesets/$SS"
check "config bom=1: service bodies start with a UTF-8 BOM (§3)" eq "$(head -c3 "$TMP/b" | od -An -tx1 | tr -d ' ')" efbbbf
G config bom=0 >/dev/null

svc DELETE "_apis/runtime/runnerscalesets/$SS?api-version=6.0-preview"
R1=$ST
svc GET "_apis/runtime/runnerscalesets/$SS"
check "DELETE the scale set: 204, then GET 404" eq "$R1 $ST" "204 404"
svc POST "_apis/runtime/runnerscalesets/$SS/sessions" '{"ownerName":"x"}'
check "a session on a deleted scale set: 404 RunnerScaleSetNotFoundException (§7.2)" eq "$ST $(jb '"RunnerScaleSetNotFoundException" in d["typeName"]')" "404 True"
req GET "$API/nothing/here" "" "Bearer $PAT"
R1=$ST
svc GET "_apis/nothing"
check "unknown REST and service paths: 404" eq "$R1 $ST" "404 404"

# the journal
G journal >"$TMP/journal.jsonl"
check "every request is in the journal, control calls left out" eq "$(jl "$TMP/journal.jsonl" '"control" not in E and all(e["status"] for e in L if e["fault"] is None)')" True
check "the journal records method, path, query, Authorization and body" eq "$(jl "$TMP/journal.jsonl" '[(e["method"], e["query"].get("api-version"), e["authorization"][:7], e["body"]["name"]) for e in L if e["endpoint"] == "create-scaleset" and e["status"] == 200][0]')" \
	"('POST', '6.0-preview', 'Bearer ', 'web')"
check "the journal file holds the same lines" eq "$(wc -l <"$D/journal.jsonl")" "$(wc -l <"$TMP/journal.jsonl")"

# ---------------------------------------------------------------- (b) the official Go client
T0=$(date +%s)
BIN=$("$SA/build_ghclient.sh" 2>"$TMP/build.err")
BRC=$?
if [ $BRC -ne 0 ]; then
	skip "the official Go client (github.com/actions/scaleset) against the stand-in" "$(head -c 300 "$TMP/build.err" | tr '\n' ' ')"
	done_testing
	exit
fi
diag "Go client helper ready in $(($(date +%s) - T0)) s: $BIN"
G reset
wait_ev() { # wait_ev FILE EVENT [SECONDS]
	for _ in $(seq 1 $((${3:-30} * 20))); do
		grep -q "\"event\":\"$2\"" "$1" 2>/dev/null && return 0
		kill -0 "$GPID" 2>/dev/null || { grep -q "\"event\":\"$2\"" "$1"; return; }
		sleep 0.05
	done
	return 1
}
ev() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == sys.argv[2]:
        print(eval(sys.argv[3])); break' "$1" "$2" "$3"; }
# go_flow NAME ARGS...: start the helper's flow in the background; events in $TMP/NAME.jsonl
go_flow() {
	local n=$1
	shift
	"$BIN" flow -ca "$CA" -timeout 60s "$@" >"$TMP/$n.jsonl" 2>"$TMP/$n.log" &
	GPID=$!
}
# run_jobs NAME COUNT [QUEUE-JOB ARGS...]: queue COUNT jobs, run a runner for each JIT config
run_jobs() {
	local n=$1 k=$2 i
	shift 2
	for i in $(seq 1 "$k"); do G queue-job "$@" >/dev/null; done
	for i in $(seq 1 "$k"); do
		for _ in $(seq 1 400); do [ "$(grep -c '"event":"jit"' "$TMP/$n.jsonl")" -ge "$i" ] && break; sleep 0.05; done
		ACTIONS_RUNNER_INPUT_JITCONFIG=$(grep '"event":"jit"' "$TMP/$n.jsonl" | sed -n "${i}p" |
			"$PY" -c 'import json,sys; print(json.load(sys.stdin)["jitconfig"])') \
			"$PY" "$SA/ghctl.py" --cacert "$CA" run-runner --wait 30 --root "$TMP/$n-root-$i" 2>>"$TMP/$n.runner" &
		RPIDS+=($!)
	done
}
RPIDS=()
finish_flow() { # the helper's exit status in FRC; the runners are waited for too
	wait "$GPID"
	FRC=$?
	GPID=
	[ ${#RPIDS[@]} -gt 0 ] && wait "${RPIDS[@]}"
	RPIDS=()
}

# the main flow: PAT, acquire flow, one job
M=$(mark)
go_flow pat -url "$U/acme" -pat "$PAT" -name arc-web -labels linux,x64 -remove-runners -delete-scaleset
wait_ev "$TMP/pat.jsonl" session 30
check "Go client: GetRunnerScaleSet found none, CreateRunnerScaleSet made it" eq "$(ev "$TMP/pat.jsonl" scaleset 'e["created"], e["name"], e["runnerGroupName"]')" "(True, 'arc-web', 'Default')"
check "Go client: MessageSessionClient opened a session" eq "$(ev "$TMP/pat.jsonl" session 'len(e["sessionId"]), e["queueUrl"]')" "(36, '$U/scalesets/message')"
run_jobs pat 1 --labels linux
finish_flow
check "Go client flow exits 0" eq "$FRC" 0
check "the listener acquired the job, the scaler got a JIT config, the runner ran it" eq "$(jl "$TMP/pat.jsonl" 'insub(["desired", "jit", "jobStarted", "jobCompleted", "listened", "sessionDeleted", "runnerRemoved", "scalesetDeleted", "done"], E)')" True
check "JobStarted/JobCompleted name the JIT runner; result succeeded" eq "$(ev "$TMP/pat.jsonl" jobCompleted 'e["runnerName"], e["result"]') $(ev "$TMP/pat.jsonl" jobStarted 'e["runnerName"], e["repository"], e["labels"]')" \
	"('arc-web-runner-1', 'succeeded') ('arc-web-runner-1', 'acme/app', ['linux'])"
check "the runner stand-in wrote the JIT files into its root" test -s "$TMP/pat-root-1/.runner" -a -s "$TMP/pat-root-1/.credentials"
G journal --since "$M" >"$TMP/j1.jsonl"
check "wire order: tokens, scale set, session, poll, ack, acquire, JIT, …, delete session, runner, scale set" eq "$(jl "$TMP/j1.jsonl" 'insub(["registration-token", "runner-registration", "list-scalesets", "create-scaleset", "create-session", "get-message", "delete-message", "acquire-jobs", "generate-jitconfig", "get-message", "delete-message", "delete-session", "delete-runner", "delete-scaleset"], E)')" True
check "the client acked before it acquired (§6: DELETE first)" eq "$(jl "$TMP/j1.jsonl" 'E.index("delete-message") < E.index("acquire-jobs")')" True
check "acquirejobs carried the runnerRequestId, with the queue token" eq "$(jl "$TMP/j1.jsonl" '[(e["body"], e["authorization"][7:11]) for e in L if e["endpoint"] == "acquire-jobs"][0]')" "([100001], 'mqt_')"
check "session create body: the zero UUID and the owner (§4.6)" eq "$(jl "$TMP/j1.jsonl" '[e["body"]["sessionId"] for e in L if e["endpoint"] == "create-session"][0]')" "00000000-0000-0000-0000-000000000000"
check "createscaleset body: labels typed System, RunnerSetting, zero createdOn (§4.4)" eq "$(jl "$TMP/j1.jsonl" '[([(l["type"], l["name"]) for l in e["body"]["labels"]], e["body"]["RunnerSetting"], e["body"]["createdOn"]) for e in L if e["endpoint"] == "create-scaleset"][0]')" \
	"([('System', 'linux'), ('System', 'x64')], {'disableUpdate': True}, '0001-01-01T00:00:00Z')"
check "every service call had api-version=6.0-preview and Content-Type json (§2.6)" eq "$(jl "$TMP/j1.jsonl" 'all(e["query"].get("api-version") == "6.0-preview" and hget(e, "Content-Type") == "application/json" for e in L if e["path"].startswith("/tenant/"))')" True
check "polls carried X-ScaleSetMaxCapacity and the queue token, lastMessageId after the first" eq "$(jl "$TMP/j1.jsonl" '(lambda g: (hget(g[0], "X-ScaleSetMaxCapacity"), g[0]["authorization"][7:11], "lastMessageId" in g[0]["query"], all("lastMessageId" in x["query"] for x in g[1:] if x["status"] == 200)))([e for e in L if e["endpoint"] == "get-message"])')" \
	"('10', 'mqt_', False, True)"
check "User-Agent is the client's JSON object (kind scaleset)" eq "$(jl "$TMP/j1.jsonl" 'json.loads(hget(L[-1], "User-Agent"))["kind"]')" scaleset
check "runner-registration body: the config URL and runner_event register (§2.4)" eq "$(jl "$TMP/j1.jsonl" '[sorted(e["body"].items()) for e in L if e["endpoint"] == "runner-registration"][0]')" "[('runner_event', 'register'), ('url', '$U/acme')]"

# faults under the real client: 500 on create session, 429 + Retry-After on the JIT call,
# the queue token expired while it listens (refresh and retry once, §7.2); assign flow, 2 jobs
G config flow=assign >/dev/null
G fault --path '/sessions$' --method POST --status 500 >/dev/null
G fault --path generatejitconfig --status 429 --retry-after 2 >/dev/null
M=$(mark)
go_flow faults -url "$U/acme/app" -pat "$PAT" -name faulty -jobs 2 -max 2
wait_ev "$TMP/faults.jsonl" session 30
G expire queue >/dev/null
sleep 1.2
run_jobs faults 2 --scale-set faulty
finish_flow
check "Go client under faults: flow exits 0 with two jobs completed" eq "$FRC $(ev "$TMP/faults.jsonl" listened 'e["completed"]')" "0 2"
G journal --since "$M" >"$TMP/j2.jsonl"
check "the 500 on POST sessions was retried (transport retry, §3)" eq "$(jl "$TMP/j2.jsonl" '[e["status"] for e in L if e["path"].endswith("/sessions")]')" "[500, 200]"
check "the 429 was retried after Retry-After: 2 s" eq "$(jl "$TMP/j2.jsonl" '(lambda g: (g[0]["status"], g[1]["status"], ts(g[1]) - ts(g[0]) >= 1.9))([e for e in L if "generatejitconfig" in e["path"]])')" "(429, 200, True)"
check "the expired queue token got a 401, a session refresh (PATCH), then the retry" eq "$(jl "$TMP/j2.jsonl" 'insub(["get-message!", "refresh-session", "get-message"], [e["endpoint"] + ("!" if e["status"] == 401 else "") for e in L if e["endpoint"] in ("get-message", "refresh-session")])')" True
check "assign flow: no acquirejobs call, JobAssigned drove the count" eq "$(jl "$TMP/j2.jsonl" '"acquire-jobs" in E') $(jl "$TMP/faults.jsonl" 'max(e["assigned"] for e in L if e["event"] == "desired")')" "False 2"
G config flow=acquire >/dev/null

# a GitHub App and a runner group; the admin token lives 61 s, so the client refreshes it
# before every service call (now + 60 s > exp, §2.5)
G group arc-group >/dev/null
G config admin_token_ttl=61 >/dev/null
M=$(mark)
go_flow app -url "$U/enterprises/big" -app-id 123 -installation-id 42 -app-key "$DATA/app-key.pem" \
	-name app-set -group arc-group -delete-scaleset
wait_ev "$TMP/app.jsonl" session 30
sleep 1.1
run_jobs app 1 --scale-set app-set
finish_flow
G config admin_token_ttl=3600 >/dev/null
check "Go client with App credentials and a runner group: flow exits 0" eq "$FRC $(ev "$TMP/app.jsonl" runnergroup 'e["name"]') $(ev "$TMP/app.jsonl" scaleset 'e["runnerGroupName"]')" "0 arc-group arc-group"
G journal --since "$M" >"$TMP/j3.jsonl"
check "App path: JWT → installation token → registration token → runner-registration" eq "$(jl "$TMP/j3.jsonl" 'insub(["app-access-token", "registration-token", "runner-registration", "runner-groups", "list-scalesets", "create-scaleset"], E) and all(e["status"] in (200, 201) for e in L if e["endpoint"] in ("app-access-token", "registration-token"))')" True
check "the enterprise scope: /enterprises/big/actions/runners/registration-token" eq "$(jl "$TMP/j3.jsonl" '[e["path"] for e in L if e["endpoint"] == "registration-token"][0]')" /api/v3/enterprises/big/actions/runners/registration-token
check "a short-lived admin token is refreshed proactively: again before acquirejobs, a second later" eq "$(jl "$TMP/j3.jsonl" 'E.count("runner-registration") >= 2 and E.index("runner-registration", E.index("create-session")) < E.index("acquire-jobs") and E.count("app-access-token") == E.count("runner-registration")')" True

# a session conflict: the Go client gets the 409 and does not retry it (§7.1)
M=$(mark)
"$BIN" flow -ca "$CA" -url "$U/acme" -pat "$PAT" -name held -timeout 20s >"$TMP/held.jsonl" 2>"$TMP/held.log" &
GPID=$!
wait_ev "$TMP/held.jsonl" session 30
SSID=$(ev "$TMP/held.jsonl" scaleset 'e["id"]')
run "$BIN" session -ca "$CA" -url "$U/acme" -pat "$PAT" -id "$SSID" -timeout 20s
check "Go client: a second session fails with RunnerScaleSetSessionConflictException" eq "$RC $(printf '%s' "$OUT" | "$PY" -c 'import json,sys; e=json.load(sys.stdin); print(e["step"], "RunnerScaleSetSessionConflictException" in e["error"])')" "1 session True"
G journal --since "$M" >"$TMP/j4.jsonl"
check "the 409 was not retried: two POST sessions in all" eq "$(jl "$TMP/j4.jsonl" '[e["status"] for e in L if e["endpoint"] == "create-session"]')" "[200, 409]"
G session held evict >/dev/null
finish_flow
check "the listener whose session was evicted exits with an error (401, then refresh 404)" eq "$FRC $(jl "$TMP/held.jsonl" 'L[-1]["step"]')" "1 listen"
run "$BIN" session -ca "$CA" -url "$U/acme" -pat "$PAT" -id "$SSID" -timeout 20s
check "after the eviction a new session opens and closes" eq "$RC $(printf '%s\n' "$OUT" | tail -1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["event"])')" "0 sessionDeleted"

kill -0 $SPID 2>/dev/null
check "the stand-in is still up, with nothing on stderr" eq "$? $(cat "$TMP/standin.err" | grep -vc '^github stand-in on')" "0 0"
done_testing
