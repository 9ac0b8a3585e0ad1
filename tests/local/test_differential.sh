#!/bin/bash
# Differential: the official Go client (github.com/actions/scaleset v0.4.0, its listener, through
# tests/github/goclient's `flow`) and `deskrun agent` run the same job script against the GitHub
# stand-in, one after the other: a new scale set (min 0, max 2), a session, two jobs queued
# at once (acquire flow), a runner per job, both jobs completed, the session deleted. The
# stand-in's journal of each run is compared: the calls in protocol order (token calls, find,
# create, session, then per message ack before acquire, JIT configs after acquire, delete
# session), the same number of each state-changing call, the same headers and body keys. The
# batching of messages depends on timing, so runs of polls are collapsed and both sequences
# are printed. Skipped without Go (the helper is built by tests/github/build_ghclient.sh).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
PY=${PYTHON:-/usr/bin/python3}
SA=$SRCDIR/tests/github
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
if ! dockerd_available; then
	skip "differential against the Go client" "needs root and dockerd"
	done_testing
	exit 0
fi
BIN=$("$SA/build_ghclient.sh" 2>"$TMP/build.err") || {
	skip "differential against the Go client" "$(head -c 300 "$TMP/build.err" | tr '\n' ' ')"
	done_testing
	exit 0
}

PAT=ghp_localDiffToken0000000000000000000000
D=$TMP/gh
SPID= APID= GPID=
RPIDS=()
cleanup() {
	[ -n "$APID" ] && kill -9 "$APID" 2>/dev/null
	[ -n "$GPID" ] && kill -9 "$GPID" 2>/dev/null
	for p in "${RPIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
}
trap cleanup EXIT
"$PY" "$SA/standin.py" --dir "$D" --poll-hold 1 --pat "$PAT" 2>"$TMP/standin.err" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
U=$(cat "$D/url")
CA=$D/cert.pem
G() { "$PY" "$SA/ghctl.py" --dir "$D" "$@"; }
mark() { G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])'; }
start_dockerd diff || { not_ok "dockerd starts"; done_testing; exit 1; }
IMG=deskrun-standin-runner:diff
build_runner_image "$IMG" 1 || { not_ok "the runner image builds"; done_testing; exit 1; }
WAIT_FOR_STEP=0.1 # wait_for (tests/lib/tap.sh) polls every 0.1 s here, as this test always did
completed() { G jobs --state completed | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# ---------------------------------------------------------------- the Go client
S_GO=$(mark)
"$BIN" flow -ca "$CA" -timeout 60s -url "$U/acme/go" -pat "$PAT" -name go -min 0 -max 2 -jobs 2 \
	>"$TMP/go.jsonl" 2>"$TMP/go.log" &
GPID=$!
wait_for 30 grep -q '"event":"session"' "$TMP/go.jsonl"
G queue-job --scale-set go >/dev/null
G queue-job --scale-set go >/dev/null
for i in 1 2; do
	wait_for 30 eval '[ "$(grep -c "\"event\":\"jit\"" "$TMP/go.jsonl")" -ge '$i' ]'
	ACTIONS_RUNNER_INPUT_JITCONFIG=$(grep '"event":"jit"' "$TMP/go.jsonl" | sed -n "${i}p" |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["jitconfig"])') \
		"$PY" "$SA/ghctl.py" --cacert "$CA" run-runner --wait 30 --job-seconds 1 2>>"$TMP/go.runner" &
	RPIDS+=($!)
done
wait "$GPID"
GRC=$?
GPID=
wait "${RPIDS[@]}"
RPIDS=()
check "the Go client's flow: exit 0, two jobs completed" eq "$GRC $(completed)" "0 2"
E_GO=$(mark)

# ---------------------------------------------------------------- deskrun agent
export DESKRUN_CONFIG=$TMP/config.json
printf '%s\n' "$PAT" | "$DESKRUN" add dr --repository "$U/acme/dr" --mode docker-socket \
	--min-runners 0 --max-runners 2 --auth-value - --runner-image "$IMG" --mount "$D:/standin" >/dev/null
S_DR=$(mark)
SSL_CERT_FILE=$CA "$DESKRUN" agent --host "$DOCKER_HOST" --network host --state-dir "$TMP/nested/dir/agent" \
	--drain 10s 2>"$TMP/agent.log" &
APID=$!
wait_for 30 grep -q "dr: session open" "$TMP/agent.log"
G queue-job --scale-set dr >/dev/null
G queue-job --scale-set dr >/dev/null
check "deskrun agent: both jobs completed" wait_for 60 eval '[ "$(completed)" = 4 ]'
wait_for 20 eval '[ -z "$(docker ps -aq --filter label=deskrun.io/set=dr)" ]'
kill -TERM "$APID"
wait "$APID"
ARC=$?
APID=
check "deskrun agent: exit 0 on SIGTERM" eq "$ARC" "0"
E_DR=$(mark)

# ---------------------------------------------------------------- the comparison
G journal --since "$S_GO" >"$TMP/journal.jsonl"
# cmp EXPR: a Python expression over go and dr (the journal entries of each run) printing the
# same thing for both; prints "GO-RESULT | DR-RESULT"
cmp() {
	"$PY" - "$TMP/journal.jsonl" "$S_GO" "$E_GO" "$S_DR" "$E_DR" "$1" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s_go, e_go, s_dr, e_dr = map(int, sys.argv[2:6])
go = [e for e in L if s_go < e["seq"] < e_go]
dr = [e for e in L if s_dr < e["seq"] < e_dr]
TOKENS = {"registration-token", "runner-registration", "app-access-token"}
def seq(run):
    """The calls in order: polls and acks collapsed into one "poll"/"ack" per run, token calls
    kept only before the first service call."""
    out, seen_service = [], False
    for e in run:
        n = e["endpoint"]
        if n in TOKENS:
            if seen_service:
                continue
        else:
            seen_service = True
        if n == "get-message":
            n = "poll"
        if n == "delete-message":
            n = "ack"
        if out and out[-1] == n and n in ("poll", "ack"):
            continue
        out.append(n)
    return out
def count(run, n):
    return sum(e["endpoint"] == n and e["status"] < 300 for e in run)
def hdr(e, k):
    return next((v for kk, v in e["headers"].items() if kk.lower() == k.lower()), None)
def first(run, n):
    return next(e for e in run if e["endpoint"] == n)
def order_ok(run):
    """Each acquire follows an ack; every JIT config follows the first acquire; the session is
    deleted last of the service calls."""
    names = [e["endpoint"] for e in run]
    acq = [i for i, n in enumerate(names) if n == "acquire-jobs"]
    acks = [i for i, n in enumerate(names) if n == "delete-message"]
    jits = [i for i, n in enumerate(names) if n == "generate-jitconfig"]
    svc = [i for i, n in enumerate(names) if n not in TOKENS]
    return (all(any(a < q for a in acks) for q in acq) and bool(acq) and bool(jits)
            and min(jits) > min(acq) and names[svc[-1]] == "delete-session")
f = eval("lambda run: " + sys.argv[6])
print("%s | %s" % (f(go), f(dr)))
PY
}
same() { # same NAME EXPR: a check that EXPR is the same for both runs
	local r
	r=$(cmp "$2")
	check "$1 (go | deskrun: $r)" test "${r%% | *}" = "${r#* | }"
}
diag "Go:      $(cmp '" ".join(seq(run))' | cut -d'|' -f1)"
diag "deskrun: $(cmp '" ".join(seq(run))' | cut -d'|' -f2)"
same "the opening: token calls, find, create, session" '" ".join(seq(run)[:5])'
same "the protocol order: ack before acquire, JIT configs after acquire, delete session last" 'order_ok(run)'
same "one scale set created, one session opened and deleted" '[count(run, n) for n in ("create-scaleset", "create-session", "delete-session")]'
same "two JIT configs, for two distinct runners" '(count(run, "generate-jitconfig"), len({e["body"]["name"] for e in run if e["endpoint"] == "generate-jitconfig"}))'
same "the jobs acquired: both request ids, once each" 'sorted(x for e in run if e["endpoint"] == "acquire-jobs" for x in e["body"]) == sorted({x for e in run if e["endpoint"] == "acquire-jobs" for x in e["body"]}) and len({x for e in run if e["endpoint"] == "acquire-jobs" for x in e["body"]})'
same "every message acked once" '(count(run, "delete-message") == len({e["path"] for e in run if e["endpoint"] == "delete-message"}))'
same "the long poll's X-ScaleSetMaxCapacity" 'sorted({hdr(e, "X-ScaleSetMaxCapacity") for e in run if e["endpoint"] == "get-message"})'
same "lastMessageId only after the first message" '(first(run, "get-message")["query"] in (None, "", {}), any("lastMessageId" in json.dumps(e["query"]) for e in run if e["endpoint"] == "get-message"))'
same "service calls carry api-version=6.0-preview and Content-Type application/json" 'all("6.0-preview" in json.dumps(e["query"]) and (hdr(e, "Content-Type") or "").startswith("application/json") for e in run if e["endpoint"] in ("list-scalesets", "create-scaleset", "create-session", "generate-jitconfig", "delete-session"))'
same "the registration body: url and runner_event" 'sorted(first(run, "runner-registration")["body"]) '
same "the create body: name, runnerGroupId, labels (the name), RunnerSetting.disableUpdate" '(first(run, "create-scaleset")["body"]["runnerGroupId"], [l["name"] for l in first(run, "create-scaleset")["body"]["labels"]] == [first(run, "create-scaleset")["body"]["name"]], first(run, "create-scaleset")["body"]["RunnerSetting"])'
same "the session body: the zero sessionId and an ownerName" '(first(run, "create-session")["body"]["sessionId"], "ownerName" in first(run, "create-session")["body"])'
same "the JIT body keys" 'sorted(first(run, "generate-jitconfig")["body"])'
same "no call failed" '[e["endpoint"] + ":" + str(e["status"]) for e in run if e["status"] >= 400]'

done_testing
