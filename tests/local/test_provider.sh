#!/bin/bash
# The local provider end to end with the user's commands, against the GitHub stand-in and a
# private dockerd: `cluster create --provider local` (the engine checked and recorded; kube
# flags refused), `up` (the agent as a daemon, waiting for the sessions), `status` (table and
# JSON from the agent's report), a job run, `up` again while a job runs (the agent restarted,
# the busy runner handed over and adopted), `down NAME` (the others keep being served), `down`
# (the agent stopped, nothing left), `cluster delete`.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
PY=${PYTHON:-/usr/bin/python3}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
if ! dockerd_available; then
	skip "the local provider" "needs root and dockerd"
	done_testing
	exit 0
fi
PAT=ghp_localProviderToken00000000000000000
D=$TMP/gh
SPID=
STATE=$TMP/state
cleanup() {
	local pid
	pid=$(cat "$STATE/agent.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	pkill -9 -f "guard --tenant (web|api) --session .* --listen $STATE/" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
}
trap cleanup EXIT
"$PY" "$SRCDIR/tests/github/standin.py" --dir "$D" --poll-hold 2 --pat "$PAT" 2>"$TMP/standin.err" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
U=$(cat "$D/url")
G() { "$PY" "$SRCDIR/tests/github/ghctl.py" --dir "$D" "$@"; }
start_dockerd prov || { not_ok "dockerd starts"; done_testing; exit 1; }
IMG=deskrun-standin-runner:prov
build_runner_image "$IMG" 1 || { not_ok "the runner image builds"; done_testing; exit 1; }
export DESKRUN_CONFIG=$TMP/config.json SSL_CERT_FILE=$D/cert.pem
wait_for() { # wait_for SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
running() { docker ps -q --filter "label=deskrun.io/set=$1" --filter status=running | wc -l; }
# js EXPR: a Python expression over d, OUT as JSON
js() { printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)' "$1"; }
set_of() { printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
s = next(x for x in d["sets"] if x["name"] == sys.argv[1])
r = eval(sys.argv[2])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)' "$1" "$2"; }

run "$DESKRUN" cluster create --provider local --engine "unix://$TMP/nowhere.sock"
check "cluster create --provider local: an engine that does not answer is an error (exit 1)" \
	eq "$RC $(grep -c "does not answer" <<<"$ERR")" "1 1"
run "$DESKRUN" cluster create --provider local --context kind-x
check "a Kubernetes flag is refused for local (exit 2)" eq "$RC" "2"
run "$DESKRUN" cluster create --provider local --engine "$DOCKER_HOST" --state-dir "$STATE" --network host
check "cluster create --provider local records the engine" eq "$RC $OUT" "0 local provider recorded (engine $DOCKER_HOST); next: 'deskrun up' starts the agent"
check "the config holds provider local, the engine, the folder, the network" "$PY" -c '
import json, sys
c = json.load(open(sys.argv[1]))["cluster"]
assert c["provider"] == "local" and c["engine"] == sys.argv[2] and c["state_dir"] == sys.argv[3] and c["network"] == "host", c' \
	"$DESKRUN_CONFIG" "$DOCKER_HOST" "$STATE"
run "$DESKRUN" cluster status
check "cluster status: the engine's version, the agent not running" eq "$RC $(grep -c 'agent:       not running' <<<"$OUT")" "0 1"

printf '%s\n' "$PAT" | "$DESKRUN" add web --repository "$U/acme/web" --mode docker-socket \
	--min-runners 1 --max-runners 2 --auth-value - --runner-image "$IMG" --mount "$D:/standin" >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add api --repository "$U/acme/api" --mode docker-socket \
	--min-runners 0 --max-runners 1 --auth-value - --runner-image "$IMG" --mount "$D:/standin" >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add kube --repository "$U/acme/kube" --mode dind --auth-value - >/dev/null
run "$DESKRUN" up
check "up refuses a definition the local agent cannot serve, naming it (exit 2)" \
	eq "$RC $(grep -c 'kube: mode dind is not served by the local agent' <<<"$ERR")" "2 1"
"$DESKRUN" remove kube >/dev/null
echo 6 >"$D/job-seconds" # each job takes 6 s (read when a runner starts)
run "$DESKRUN" up --dry-run
check "up --dry-run lists what the agent would serve" eq "$RC $(grep -c '^  serve ' <<<"$OUT")" "0 2"
run "$DESKRUN" up
check "up starts the agent and waits until both sets have a session" \
	eq "$RC $(tail -1 <<<"$OUT")" "0 every scale set has a session: jobs are picked up"
APID=$(cat "$STATE/agent.pid")
check "the agent runs in its own session (a daemon), logging to the folder" \
	eval '[ "$(ps -o sid= -p "$APID" | tr -d " ")" = "$APID" ] && grep -q "serving 2 scale set" "$STATE/agent.log"'
check "web's idle runner (min 1) starts" wait_for 30 eval '[ "$(running web)" = 1 ]'
sleep 1.5
run "$DESKRUN" status -o json
check "status -o json: the agent, web with 1 idle runner and its session open, api none" \
	eq "$(js 'd["provider"], d["agentRunning"]') $(set_of web 's["session"], s["idle"], s["busy"], s["min"], s["max"]') $(set_of api 's["session"], s["idle"]')" \
	"local True open 1 0 1 2 open 0"
timeout --preserve-status -s INT 3 "$DESKRUN" status --watch >"$TMP/watch.out" 2>&1
check "status --watch: a table every 2 s until interrupted (exit 0)" \
	eq "$? $(grep -c '^agent: running' "$TMP/watch.out")" "0 2"
run "$DESKRUN" status
check "status: a table row per set" eq "$RC $(grep -cE '^(web|api) ' <<<"$OUT") $(head -1 <<<"$OUT")" "0 2 agent: running on $DOCKER_HOST"

# ---------------------------------------------------------------- a job, and up while one runs
R=$(G queue-job --scale-set api | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
check "a job on api completes" eval 'G wait-job "$R" completed --timeout 40 >/dev/null'
R=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
G wait-job "$R" running --timeout 30 >/dev/null
BUSY=$(docker ps -q --filter label=deskrun.io/set=web --filter status=running)
run "$DESKRUN" up
check "up again: the agent restarted while a job runs" eq "$RC $(head -1 <<<"$OUT" | cut -d: -f1)" "0 agent restarted"
check "the new agent is another process" test "$(cat "$STATE/agent.pid")" != "$APID"
check "the busy runner was handed over and adopted" eval 'grep -q "handing busy runners over" "$STATE/agent.log" && grep -q "web: runner web-.* adopted" "$STATE/agent.log"'
check "its job completes" eval 'G wait-job "$R" completed --timeout 40 >/dev/null'
rm -f "$D/job-seconds"

# ---------------------------------------------------------------- down
run "$DESKRUN" down api
check "down api: the agent keeps serving web" eq "$RC $(tail -1 <<<"$OUT" | cut -c1-30)" "0 agent restarted, serving 1 run"
run "$DESKRUN" status -o json
check "status: api is not up, web still has its session" eq "$(set_of api 's["session"]') $(set_of web 's["session"]')" "not up open"
run "$DESKRUN" down
check "down: the agent stops" eq "$RC $OUT" "0 agent stopped: sessions deleted, idle runners removed"
check "no runner container, no guard, no agent left" \
	eq "$(docker ps -aq --filter label=deskrun.io/agent | wc -l) $(pgrep -fc "guard --tenant (web|api) ") $(cat "$STATE/agent.pid" 2>/dev/null | wc -l)" "0 0 0"
run "$DESKRUN" status
check "status: the agent is not running" eq "$RC $(head -1 <<<"$OUT")" "0 agent: not running ('deskrun up' starts it) on $DOCKER_HOST"
run "$DESKRUN" down
check "down again: nothing to stop" eq "$RC $OUT" "0 nothing to stop: the agent is not running"
run "$DESKRUN" cluster delete
check "cluster delete forgets the local provider" eq "$RC $OUT" "0 forgot the local provider"

done_testing
