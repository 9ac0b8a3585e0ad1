#!/bin/bash
# `deskrun agent` against the GitHub stand-in (tests/github/standin.py) and a private dockerd
# (tests/lib/dockerd.sh), with the runner stand-in image (tests/local/runner_image.sh). Two sets:
# web (docker-socket through the guard, min 0, max 2, a PAT) and api (min 1, max 1, a GitHub
# App). Checks: the sets are
# registered and their sessions opened; no runner for web while idle, api's idle runner kept;
# three queued jobs on web -> runner containers (never more than 2) -> jobs completed ->
# containers gone; the runner's Docker is the guard (its /info redacted); api's job runs on its
# idle runner and a new idle one replaces it; a runner killed before taking a job is
# deregistered and replaced; SIGTERM deletes the sessions, removes and deregisters idle runners,
# exits 0, and leaves no container, guard or folder; no secret in the log or in any child's
# argv; SIGKILL mid-job and a restart (adoption, no second runner); the engine restarted
# (dockerd only: dead runners replaced, jobs run again). Measures the time from a job queued to
# its runner container running, and the agent's idle RSS.
#
# LOCAL_ENGINE=podman runs the same against `podman system service` (its Docker-compatible API)
# with a private store; the docker CLI drives both.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
. "$SRCDIR/tests/local/podman_service.sh"
PY=${PYTHON:-/usr/bin/python3}
ENGINE=${LOCAL_ENGINE:-docker}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
if ! dockerd_available; then
	skip "the local agent on $ENGINE" "needs root, dockerd and the docker CLI"
	done_testing
	exit 0
fi
if [ "$ENGINE" = podman ] && ! command -v podman >/dev/null; then
	skip "the local agent on podman" "podman is not installed (apt-get install podman)"
	done_testing
	exit 0
fi
PAT=ghp_localAgentToken000000000000000000000
D=$TMP/gh
SPID= APID=
cleanup() {
	[ -n "$APID" ] && kill -9 "$APID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	stop_podman
	_dockerd_stop_all
}
trap cleanup EXIT
"$PY" "$SRCDIR/tests/github/standin.py" --dir "$D" --poll-hold 2 --pat "$PAT" --app-id 123 \
	--installation-id 42 --app-key "$SRCDIR/tests/data/app-key.pem" 2>"$TMP/standin.err" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
U=$(cat "$D/url")
G() { "$PY" "$SRCDIR/tests/github/ghctl.py" --dir "$D" "$@"; }
if [ "$ENGINE" = podman ]; then
	start_podman || { not_ok "podman's API service starts"; done_testing; exit 1; }
else
	start_dockerd agent || { not_ok "dockerd starts"; done_testing; exit 1; }
fi
diag "engine: $ENGINE $(docker version --format '{{.Server.Version}}' 2>/dev/null) at $DOCKER_HOST"
IMG=deskrun-standin-runner:test
check "the runner stand-in image builds (docker import)" build_runner_image "$IMG" 2

export DESKRUN_CONFIG=$TMP/config.json
printf '%s\n' "$PAT" | "$DESKRUN" add web --repository "$U/acme/web" --mode docker-socket \
	--min-runners 0 --max-runners 2 --auth-value - --runner-image "$IMG" --mount "$D:/standin" >/dev/null
"$DESKRUN" add api --repository "$U/acme/api" --mode docker-socket --min-runners 1 \
	--max-runners 1 --auth-type github-app --app-id 123 --installation-id 42 \
	--auth-value-file "$SRCDIR/tests/data/app-key.pem" --runner-image "$IMG" --mount "$D:/standin" >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add kube --repository "$U/acme/kube" --mode kubernetes \
	--auth-value - >/dev/null

run "$DESKRUN" agent --host "$DOCKER_HOST"
check "a mode that needs Kubernetes is refused, naming the set and the reason (exit 2)" \
	eq "$RC ${ERR#deskrun: error: }" "2 kube: mode kubernetes needs Kubernetes (it runs each job as a pod through ARC's container hooks): locally use --mode docker-socket, dind or dind-daemonset, or a Kubernetes cluster"
run "$DESKRUN" agent --set nope
check "--set of an unknown definition: exit 2" eq "$RC" "2"
run "$DESKRUN" agent --set web --host "$DOCKER_HOST" --state-dir "$TMP/agent-x" --metrics-addr 0.0.0.0:9100
check "--metrics-addr off loopback is refused (exit 2)" \
	eq "$RC ${ERR#deskrun: error: }" "2 --metrics-addr 0.0.0.0:9100: metrics are served on loopback only (127.0.0.0/8); put a proxy in front to publish them"
rm -rf "$TMP/agent-x"

# start_agent LOG: the agent for web and api in the background (APID)
start_agent() {
	AGENT_LOG=$1
	SSL_CERT_FILE=$D/cert.pem "$DESKRUN" agent --set web --set api --host "$DOCKER_HOST" \
		--network host --state-dir "$TMP/agent" --drain 20s --owner test-host \
		--metrics-addr 127.0.0.1:0 2>"$AGENT_LOG" &
	APID=$!
}
TSTART=$(date +%s)
start_agent "$TMP/agent.log"
# rids FILTER...: the ids of runner containers, not the agent's others (the short-lived copy of
# the runner's externals carries deskrun.io/role)
rids() { docker ps --format '{{.ID}} {{.Label "deskrun.io/role"}}' "$@" | awk 'NF == 1 {print $1}'; }
# cnt SET: the set's runner containers (any state)
cnt() { rids -a --filter "label=deskrun.io/set=$1" | wc -l; }
running() { rids --filter "label=deskrun.io/set=$1" --filter status=running | wc -l; }
logged() { grep -q -- "$1" "$AGENT_LOG"; }
check "both sessions open" wait_for 30 eval 'logged "web: session open" && logged "api: session open"'
check "api: its idle runner (min 1) is running" wait_for 30 eval '[ "$(running api)" = 1 ]'
sleep 1
check "web: no runner while no job is assigned (min 0)" eq "$(cnt web)" "0"
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$APID/status")
ANON=$(awk '/RssAnon/ {print $2}' "/proc/$APID/status")
PSS=$(awk '/^Pss:/ {print $2}' "/proc/$APID/smaps_rollup")
T0=$(awk '{print $14 + $15}' "/proc/$APID/stat")
sleep 5
T1=$(awk '{print $14 + $15}' "/proc/$APID/stat")
diag "agent idle, two sets with sessions open: RSS ${RSS} kB (anonymous ${ANON} kB, PSS ${PSS} kB), CPU $(( (T1 - T0) * 1000 / $(getconf CLK_TCK) )) ms over 5 s"
check "api authenticates as the GitHub App: installation tokens (201), web with the PAT" "$PY" -c '
import json, sys
L = [json.loads(l) for l in sys.stdin if l.strip()]
apps = [e for e in L if e["endpoint"] == "app-access-token"]
regs = [e["path"] for e in L if e["endpoint"] == "registration-token"]
assert apps and all(e["status"] == 201 for e in apps), apps
assert any("/repos/acme/api/" in p for p in regs) and any("/repos/acme/web/" in p for p in regs), regs' < <(G journal)
check "the scale sets were created with their labels" "$PY" -c '
import json, sys
s = json.load(sys.stdin)
names = sorted(x["name"] for x in s["scalesets"].values()) if isinstance(s["scalesets"], dict) else sorted(x["name"] for x in s["scalesets"])
assert names == ["api", "web"], names' < <(G state)

# ---------------------------------------------------------------- jobs on web
T0=$(date +%s%N)
J1=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
wait_for 30 eval '[ "$(running web)" -ge 1 ]'
T1=$(date +%s%N)
check "a queued job gets a runner container" test "$(running web)" -ge 1
PICKUP_MS=$(( (T1 - T0) / 1000000 ))
diag "job queued -> runner container running: ${PICKUP_MS} ms (cold: JIT config, guard, create, start)"
CID=$(rids --filter label=deskrun.io/set=web | head -1)
wait_for 10 eval 'docker logs "$CID" 2>&1 | grep -q docker-info'
check "the runner's Docker is its guard: /info answers 200 with DockerRootDir redacted" \
	eq "$(docker logs "$CID" 2>&1 | grep -o 'docker-info:.*')" "docker-info: status=200 root=''"
check "the runner container is labelled" eq "$(docker inspect -f '{{index .Config.Labels "deskrun.io/agent"}} {{index .Config.Labels "deskrun.io/set"}}' "$CID")" "test-host web"
# Its pod folder's externals/: the runner image's, copied before it started; a container job's
# /home/runner/externals bind, sent through its guard, is that folder (/__e).
RN=$(docker inspect -f '{{.Name}}' "$CID")
RN=${RN#/}
check "the runner's externals/ holds the runner image's externals; the copy container is gone" \
	eq "$(cat "$TMP/agent/$RN/externals/README" 2>&1) $(docker ps -aq --filter label=deskrun.io/role=externals --filter "label=deskrun.io/runner-name=$RN" | wc -l)" "the runner stand-in's externals 0"
run env DOCKER_HOST="unix://$TMP/agent/$RN/run/docker.sock" docker run --rm --network none \
	-v /home/runner/externals:/__e:ro --entrypoint /bin/cat "$IMG" /__e/README
check "a job container started through the runner's guard reads them at /__e" \
	eq "$RC $OUT" "0 the runner stand-in's externals"
J2=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
J3=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
MAXSEEN=0
for _ in $(seq 1 60); do
	n=$(cnt web)
	[ "$n" -gt "$MAXSEEN" ] && MAXSEEN=$n
	st=$(G jobs --state completed | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$st" = 3 ] && break
	sleep 0.5
done
check "three jobs complete" eq "$st" "3"
check "never more than --max-runners 2 containers at once (saw $MAXSEEN)" test "$MAXSEEN" -le 2 -a "$MAXSEEN" -ge 1
check "the completed jobs' containers are gone" wait_for 20 eval '[ "$(cnt web)" = 0 ]'
check "and their guards' folders" wait_for 5 eval '[ -z "$(ls "$TMP/agent" | grep "^web-")" ]'
check "the log names each runner started and exited" eval 'logged "web: runner web-.* started" && logged "web: runner web-.* exited (code 0): container removed"'
# What the externals copy adds to a runner's start: its container's create -> destroy (the
# agent waits for it before it creates the runner), per runner so far.
EXT_MS=$(docker events --since "$TSTART" --until "$(date +%s)" --filter label=deskrun.io/role=externals \
	--format '{{.TimeNano}} {{.Action}} {{.Actor.ID}}' 2>/dev/null |
	awk '$2 == "create" {c[$3] = $1} ($2 == "destroy" || $2 == "remove") && ($3 in c) {print int(($1 - c[$3]) / 1000000)}' | sort -n)
if [ -n "$EXT_MS" ]; then
	diag "the externals copy (create -> removed), ms per runner: $(tr '\n' ' ' <<<"$EXT_MS")(p50 $(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' <<<"$EXT_MS"))"
else
	diag "the externals copy: not measured (no create/destroy events from this engine)"
fi

MPORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$AGENT_LOG" | head -1)
M=$(curl -sS "http://127.0.0.1:$MPORT/metrics")
metric() { printf '%s\n' "$M" | sed -n "s/^$1{name=\"$2\"[^}]*} //p"; }
check "metrics (ARC's names): web's jobs started and completed, its min/max, api's min" \
	eq "$(metric gha_started_jobs_total web) $(metric gha_completed_jobs_total web) $(metric gha_min_runners web) $(metric gha_max_runners web) $(metric gha_min_runners api)" "3 3 0 2 1"
check "metrics carry the runner URL's labels and TYPE lines" eval 'printf "%s\n" "$M" | grep -q "^gha_assigned_jobs{name=\"web\",namespace=\"\",enterprise=\"\",organization=\"acme\",repository=\"web\"} 0$" && printf "%s\n" "$M" | grep -q "^# TYPE gha_completed_jobs_total counter$"'
check "anything but /metrics is 404" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" "404"

# ---------------------------------------------------------------- api: min 1
A1=$(rids --filter label=deskrun.io/set=api)
G queue-job --scale-set api >/dev/null
check "api's job completes on its idle runner" wait_for 30 eval '[ "$(G jobs --state completed | "$PY" -c "import json,sys; print(len(json.load(sys.stdin)))")" = 4 ]'
check "a new idle runner replaces it (min 1)" wait_for 30 eval 'A2=$(rids --filter label=deskrun.io/set=api --filter status=running); [ -n "$A2" ] && [ "$A2" != "$A1" ]'
A2=$(rids --filter label=deskrun.io/set=api --filter status=running)
A2ID=$(docker inspect -f '{{index .Config.Labels "deskrun.io/runner-id"}}' "$A2")
S=$(G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
docker kill "$A2" >/dev/null
check "a runner killed before taking a job is deregistered" wait_for 20 eval 'G journal --since "$S" | grep -q "\"path\": \"[^\"]*/agents/$A2ID"'
check "and replaced" wait_for 30 eval 'A3=$(rids --filter label=deskrun.io/set=api --filter status=running); [ -n "$A3" ] && [ "$A3" != "$A2" ]'
check "the agent logs it" logged "exited before taking a job"

# ---------------------------------------------------------------- secrets, shutdown
check "no secret in the agent's log" eval '! grep -q "$PAT" "$AGENT_LOG" && ! grep -qi "bearer\|jitconfig=" "$AGENT_LOG"'
ARGVS=
for p in $(pgrep -P "$APID"); do ARGVS+="$(tr '\0' ' ' <"/proc/$p/cmdline") | "; done
check "the agent's children are the runners' guards" eval '[[ "$ARGVS" == *"guard --tenant api --session api-"* ]]'
check "no secret in their argv" eval '[[ "$ARGVS" != *"$PAT"* && "$ARGVS" != *eyJ* ]]'
S=$(G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
LIVE=$(G state | "$PY" -c 'import json,sys; print(" ".join(sorted(str(r["id"]) for r in json.load(sys.stdin)["runners"] if r["status"] in ("registered", "online", "busy"))))')
kill -TERM "$APID"
wait_for 40 eval '! kill -0 $APID 2>/dev/null'
wait "$APID"
ARC=$?
APID=
check "SIGTERM: the agent exits 0" eq "$ARC" "0"
J=$(G journal --since "$S")
check "its sessions were deleted" eq "$(printf '%s\n' "$J" | "$PY" -c '
import json, sys
L = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(e["endpoint"] == "delete-session" and e["status"] == 204 for e in L))')" "2"
# Each runner live at SIGTERM (the idle api one) deregistered, and only those: a runner
# that exits on its own while the agent drains may be deleted twice (204 again, as GitHub).
check "the idle api runner was deregistered" eq "$(printf '%s\n' "$J" | "$PY" -c '
import json, sys
L = [json.loads(l) for l in sys.stdin if l.strip()]
print(" ".join(sorted({e["path"].split("?")[0].rstrip("/").rsplit("/", 1)[1] for e in L if e["endpoint"] == "delete-runner" and e["status"] == 204})))') $(G state | "$PY" -c 'import json,sys; print(sum(r["status"] in ("registered", "online", "busy") for r in json.load(sys.stdin)["runners"]))')" "$LIVE 0"
check "no runner container is left" eq "$(docker ps -aq --filter label=deskrun.io/agent | wc -l)" "0"
check "no guard process is left" eval '! pgrep -f "guard --tenant (web|api) .*--listen $TMP/" >/dev/null'
check "the state directory is empty" eq "$(ls -A "$TMP/agent")" ""

# ---------------------------------------------------------------- SIGKILL mid-job, restart
echo 6 >"$D/job-seconds"
G config session_ttl=5 >/dev/null # a session without polls for 5 s is dropped, as GitHub does
start_agent "$TMP/agent2.log"
check "a new agent opens its sessions" wait_for 30 eval 'logged "web: session open" && logged "api: session open"'
wait_for 30 eval '[ "$(running api)" = 1 ]'
R=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
check "a long job starts on web" eval 'G wait-job "$R" running --timeout 30 >/dev/null'
kill -KILL "$APID"
wait "$APID" 2>/dev/null || true
APID=
check "SIGKILL: the runner container outlives the agent" eq "$(running web)" "1"
check "and so does its guard (the job's Docker)" eval 'pgrep -f "guard --tenant web --session web-.*--listen $TMP/" >/dev/null'
S=$(G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
start_agent "$TMP/agent3.log"
check "the restarted agent adopts the running runners" wait_for 30 eval 'logged "web: runner web-.* adopted" && logged "api: runner api-.* adopted"'
check "the job completes" eval 'G wait-job "$R" completed --timeout 40 >/dev/null'
check "its container is removed" wait_for 20 eval '[ "$(cnt web)" = 0 ]'
check "no second runner for the job, none for api's adopted idle one: no JIT config since the restart" \
	eq "$(G journal --since "$S" | grep -c '"endpoint": "generate-jitconfig"')" "0"
check "the killed agent's sessions held the sets (409) until they expired; then new ones open" \
	wait_for 30 eval 'grep -q "web: error: create the message session: HTTP 409" "$AGENT_LOG" && logged "web: session open"' 

# ---------------------------------------------------------------- the engine restarted
if [ "$ENGINE" = docker ]; then
	wait_for 30 eval '[ "$(running api)" = 1 ]'
	OLDAPI=$(rids --filter label=deskrun.io/set=api --filter status=running)
	stop_dockerd agent
	sleep 2
	check "the agent outlives its engine" kill -0 "$APID"
	start_dockerd agent || not_ok "dockerd restarts"
	check "after the engine restarted: api's dead runner is replaced by a running one" \
		wait_for 40 eval 'N=$(rids --filter label=deskrun.io/set=api --filter status=running); [ -n "$N" ] && [ "$N" != "$OLDAPI" ]'
	check "the dead one was removed (only one api container left)" wait_for 10 eval '[ "$(cnt api)" = 1 ]'
	check "the engine's absence is logged a few times, not every second" \
		eval '[ "$(grep -c "error: the engine at" "$AGENT_LOG")" -le 6 ]'
	R=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
	check "and jobs run again" eval 'G wait-job "$R" completed --timeout 40 >/dev/null'
else
	skip "the engine restarted under the agent" "dockerd only: podman's API service is not the containers' parent"
fi
G config poll_hold=30 >/dev/null
sleep 3 # the next polls are held 30 s by the stand-in
T0=$(date +%s%N)
kill -TERM "$APID"
wait "$APID"
ARC=$?
T1=$(date +%s%N)
APID=
check "SIGTERM again: exit 0" eq "$ARC" "0"
check "a long poll in flight does not delay the stop (took $(( (T1 - T0) / 1000000 )) ms)" \
	test $(( (T1 - T0) / 1000000 )) -lt 5000
check "nothing left: containers, guards (its own and the adopted ones), folders" \
	eq "$(docker ps -aq --filter label=deskrun.io/agent | wc -l) $(pgrep -fc "guard --tenant (web|api) .*--listen $TMP/") $(ls -A "$TMP/agent" | wc -l)" "0 0 0"

done_testing
