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
# ours: the pids of the guards and agents this test started (their argv names $STATE/), read
# from /proc: never a match on other engineers' processes.
ours() {
	local f c
	for f in /proc/[0-9]*/cmdline; do
		c=$(tr '\0' ' ' <"$f" 2>/dev/null)
		[[ $c == *" $STATE/"* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
	done
}
cleanup() {
	local pid
	pid=$(cat "$STATE/agent.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	pid=$(cat "$TMP/d.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	for pid in $(ours); do kill -9 "$pid" 2>/dev/null; done
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
# the set's running runner containers (not the short-lived externals copy: deskrun.io/role)
running() { docker ps --filter "label=deskrun.io/set=$1" --filter status=running --format '{{.ID}} {{.Label "deskrun.io/role"}}' | awk 'NF == 1' | wc -l; }
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
printf '%s\n' "$PAT" | "$DESKRUN" add kube --repository "$U/acme/kube" --mode cached-privileged-kubernetes --auth-value - >/dev/null
run "$DESKRUN" up
check "up refuses a definition the local agent cannot serve, naming it (exit 2)" \
	eq "$RC $(grep -c 'kube: mode cached-privileged-kubernetes needs Kubernetes' <<<"$ERR")" "2 1"
"$DESKRUN" remove kube >/dev/null
echo 6 >"$D/job-seconds" # each job takes 6 s (read when a runner starts)
run "$DESKRUN" up --dry-run
check "up --dry-run lists what the agent would serve" eq "$RC $(grep -c '^  serve ' <<<"$OUT")" "0 2"
run "$DESKRUN" up --timeout 1m
check "up --timeout has no meaning locally: refused with the reason (exit 2)" \
	eq "$RC ${ERR#deskrun: error: }" "2 --timeout has no meaning on the local provider (no finalizers to wait for): leave it out"
run "$DESKRUN" up --metrics-addr 0.0.0.0:9100
check "up --metrics-addr off loopback is refused before anything starts (exit 2)" \
	eq "$RC $(grep -c 'metrics are served on loopback only' <<<"$ERR") $(cat "$STATE/agent.pid" 2>/dev/null | wc -l)" "2 1 0"
MPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run "$DESKRUN" up --metrics-addr "127.0.0.1:$MPORT"
check "up starts the agent and waits until both sets have a session" \
	eq "$RC $(tail -1 <<<"$OUT")" "0 every scale set has a session: jobs are picked up"
check "up says where the metrics are" eq "$(grep '^metrics:' <<<"$OUT")" "metrics: http://127.0.0.1:$MPORT/metrics"
check "the metrics address is recorded for later ups and the unit" "$PY" -c '
import json, sys
assert json.load(open(sys.argv[1]))["cluster"]["metrics_addr"] == sys.argv[2]' "$DESKRUN_CONFIG" "127.0.0.1:$MPORT"
M=$(curl -sS "http://127.0.0.1:$MPORT/metrics")
check "the agent started by up serves ARC's metric names for both sets" eval \
	'grep -q "^gha_max_runners{name=\"web\",.*} 2$" <<<"$M" && grep -q "^gha_min_runners{name=\"api\",.*} 0$" <<<"$M" && grep -q "^# TYPE gha_idle_runners gauge$" <<<"$M"'
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

check "once quiet 10 s, the agent releases its start-up pages (logged); the jobs below run after" \
	wait_for 40 grep -q "quiet: start-up pages released, RSS [0-9]* -> [0-9]* kB" "$STATE/agent.log"

# ---------------------------------------------------------------- a container job's binds
# The runner's `docker create` of a job container (runner-docker.md §1.1: its own paths, the
# docker.sock bind), replayed through web's guard as the runner sends it: the guard maps them
# to the runner's pod folder on this host, so the job container and the runner share the work
# folder, and nested docker reaches the same guard.
RN=$(docker ps --filter label=deskrun.io/set=web --filter status=running --format '{{.Names}} {{.Label "deskrun.io/role"}}' | awk 'NF == 1 {print $1; exit}')
PD=$STATE/$RN
check "the runner's pod folder: run/ (the guard's socket), work/, externals/, pins/" \
	eval '[ -S "$PD/run/docker.sock" ] && [ -d "$PD/work" ] && [ -d "$PD/externals" ] && [ -d "$PD/pins" ]'
check "externals/ holds the runner image's externals (copied before the runner started), 0777 root as the guard made it" \
	eq "$(cat "$PD/externals/README" 2>&1) $(stat -c '%a %u' "$PD/externals")" "the runner stand-in's externals 777 0"
check "the externals copy container is gone" \
	eq "$(docker ps -aq --filter label=deskrun.io/role=externals --filter "label=deskrun.io/runner-name=$RN" | wc -l)" "0"
check "the runner binds the guard's run/ read-only at /run/deskrun and work/ at its _work" \
	eq "$(docker inspect --format '{{range .HostConfig.Binds}}{{println .}}{{end}}' "$RN" | grep -v -e /standin -e '^$' | sort | tr '\n' ' ')" \
	"$PD/run:/run/deskrun:ro $PD/work:/home/runner/_work "
RPY() { docker exec "$RN" /usr/bin/python3 -c "$1"; }
RPY 'import os; os.makedirs("/home/runner/_work/repo/repo", exist_ok=True); open("/home/runner/_work/repo/repo/marker", "w").write("from-runner")'
GS=unix://$PD/run/docker.sock
# shellcheck disable=SC2016
JOB='import os, socket
print(open("/__w/repo/repo/marker").read())
open("/__w/repo/repo/back", "w").write("from-job")
s = socket.socket(socket.AF_UNIX); s.connect("/var/run/docker.sock")
s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n"); print(s.recv(4096).split(b"\r\n")[0].decode())
print(os.path.isdir("/github/workflow"), open("/__e/README").read().strip())'
run env DOCKER_HOST="$GS" docker create --name "job-$RN" --network none \
	-v "/var/run/docker.sock":"/var/run/docker.sock" -v "/home/runner/_work":"/__w" \
	-v "/home/runner/externals":"/__e":ro -v "/home/runner/_work/_temp":"/__w/_temp" \
	-v "/home/runner/_work/_actions":"/__w/_actions" -v "/home/runner/_work/_tool":"/__w/_tool" \
	-v "/home/runner/_work/_temp/_github_home":"/github/home" \
	-v "/home/runner/_work/_temp/_github_workflow":"/github/workflow" \
	--entrypoint /usr/bin/python3 "$IMG" -c "$JOB"
check "the runner's docker create of a container job is accepted by its guard" eq "$RC" 0
JC=$OUT
run env DOCKER_HOST="$GS" docker start -a "$JC"
check "the job container reads the runner's file, reaches the guard through its docker.sock, sees the runner image's externals at /__e" \
	eq "$RC $(tr '\n' ' ' <<<"$OUT")" "0 from-runner HTTP/1.0 200 OK True the runner stand-in's externals "
check "and the runner reads what the job wrote in /__w" \
	eq "$(RPY 'print(open("/home/runner/_work/repo/repo/back").read())')" "from-job"
check "the job container's work bind is the runner's work folder on this host" \
	eq "$(docker inspect --format '{{range .Mounts}}{{if eq .Destination "/__w"}}{{.Source}}{{end}}{{end}}' "$JC")" "$PD/work"
run env DOCKER_HOST="$GS" docker create --network none -v /etc:/host-etc "$IMG"
check "a host path outside the runner's folders is still refused (403)" eq "$RC $(grep -c 'Error response from daemon' <<<"$ERR")" "1 1"
env DOCKER_HOST="$GS" docker rm -f "$JC" >/dev/null 2>&1

# ---------------------------------------------------------------- a job, and up while one runs
R=$(G queue-job --scale-set api | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
check "a job on api completes" eval 'G wait-job "$R" completed --timeout 40 >/dev/null'
R=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
G wait-job "$R" running --timeout 30 >/dev/null
run "$DESKRUN" up
check "up again: the agent restarted while a job runs" eq "$RC $(head -1 <<<"$OUT" | cut -d: -f1)" "0 agent restarted"
check "the new agent is another process" test "$(cat "$STATE/agent.pid")" != "$APID"
check "the busy runner was handed over and adopted" eval 'grep -q "handing busy runners over" "$STATE/agent.log" && grep -q "web: runner web-.* adopted" "$STATE/agent.log"'
check "its job completes" eval 'G wait-job "$R" completed --timeout 40 >/dev/null'
rm -f "$D/job-seconds"

# ---------------------------------------------------------------- the systemd unit
# No systemd is PID 1 here: the unit is written (and checked with systemd-analyze verify), the
# agent started as a daemon as by a plain up. The refusals run as nobody, on a copy of the
# config that nobody can read.
NB=$(mktemp -d /tmp/deskrun-unit.XXXXXX)
cp "$DESKRUN_CONFIG" "$NB/config.json"
mkdir -p "$NB/units" "$TMP/units"
chown -R 65534:65534 "$NB/config.json"
chmod 755 "$NB"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
run as_nobody "$DESKRUN" --config "$NB/config.json" up --install-unit
check "up --install-unit as non-root is refused with the fix (exit 2)" \
	eq "$RC ${ERR#deskrun: error: }" "2 --install-unit writes /etc/systemd/system/deskrun-agent.service: run it as root (sudo deskrun up --install-unit), or give --unit-dir DIR"
run as_nobody "$DESKRUN" --config "$NB/config.json" up --install-unit --unit-dir "$NB/units"
check "an unwritable --unit-dir is refused, naming it (exit 2)" \
	eq "$RC $(grep -c "$NB/units is not writable" <<<"$ERR") $(ls "$NB/units" | wc -l)" "2 1 0"
rm -rf "$NB"
run "$DESKRUN" up --unit-dir "$TMP/units"
check "--unit-dir without --install-unit is refused (exit 2)" eq "$RC $(grep -c 'is for --install-unit' <<<"$ERR")" "2 1"
run "$DESKRUN" up --dry-run --install-unit --unit-dir "$TMP/units"
check "up --dry-run --install-unit prints the unit and writes nothing" \
	eq "$RC $(grep -c '^ExecStart=' <<<"$OUT") $(grep -c "^  write     $TMP/units/deskrun-agent.service:$" <<<"$OUT") $(ls "$TMP/units" | wc -l)" "0 1 1 0"
DRY=$OUT
APID=$(cat "$STATE/agent.pid")
run "$DESKRUN" up --install-unit --unit-dir "$TMP/units"
U1="$TMP/units/deskrun-agent.service"
check "the unit is the one --dry-run printed" eq "$(cat "$U1")" "$(sed -n '/^# deskrun-agent.service/,/^WantedBy=/p' <<<"$DRY")"
check "up --install-unit writes the unit and (re)starts the agent" \
	eq "$RC $(head -1 <<<"$OUT")|$(sed -n 2p <<<"$OUT" | cut -d' ' -f1-5)" "0 unit $TMP/units/deskrun-agent.service written|agent restarted: serving 2 runner(s)"
check "and says how to start it where systemd runs" contains "$ERR" "systemctl daemon-reload && systemctl enable --now deskrun-agent.service"
check "the unit runs the agent with the recorded engine, folder, network and metrics" \
	eq "$(grep '^ExecStart=' "$U1")" "ExecStart=$(readlink -f "$DESKRUN") --config $(readlink -f "$DESKRUN_CONFIG") agent --state-dir $STATE --host $DOCKER_HOST --drain 300s --network host --metrics-addr 127.0.0.1:$MPORT"
check "restarts on failure, drains on SIGTERM within TimeoutStopSec (drain 300 s + 30 s)" \
	eq "$(grep -E '^(Restart|KillSignal|KillMode|TimeoutStopSec)=' "$U1" | tr '\n' ' ')" \
	"Restart=on-failure KillSignal=SIGTERM KillMode=process TimeoutStopSec=330 "
check "hardened without a mount namespace (the guards' pins must reach the engine), for multi-user.target" \
	eval 'grep -qx NoNewPrivileges=yes "$U1" && grep -qx RestrictNamespaces=yes "$U1" && ! grep -qE "^(ProtectSystem|ProtectHome|PrivateTmp|ReadWritePaths|ProtectKernel[A-Za-z]*|ProtectControlGroups|PrivateDevices|MountFlags)=" "$U1" && grep -qx WantedBy=multi-user.target "$U1"'
check "no secret in the unit, and it is 0644" eq "$(grep -c "$PAT" "$U1") $(stat -c %a "$U1")" "0 644"
if command -v systemd-analyze >/dev/null; then
	run systemd-analyze verify --man=no "$U1"
	check "systemd-analyze verify accepts the unit, without a warning" eq "$RC:$ERR" "0:"
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi
M1=$(stat -c %Y.%i "$U1")
sleep 1
run "$DESKRUN" up --install-unit --unit-dir "$TMP/units"
check "a second up --install-unit leaves the unit as it is (same mtime and inode)" \
	eq "$RC $(head -1 <<<"$OUT") $(stat -c %Y.%i "$U1")" "0 unit $TMP/units/deskrun-agent.service unchanged $M1"
check "the agent serves after the unit is installed" eq "$(tail -1 <<<"$OUT")" "every scale set has a session: jobs are picked up"

# ---------------------------------------------------------------- down
run "$DESKRUN" down api
check "down api: the agent keeps serving web" eq "$RC $(tail -1 <<<"$OUT" | cut -c1-30)" "0 agent restarted, serving 1 run"
run "$DESKRUN" status -o json
check "status: api is not up, web still has its session" eq "$(set_of api 's["session"]') $(set_of web 's["session"]')" "not up open"
run "$DESKRUN" down
check "down: the agent stops" eq "$RC $OUT" "0 agent stopped: sessions deleted, idle runners removed"
check "no runner container, no guard, no agent left" \
	eq "$(docker ps -aq --filter label=deskrun.io/agent | wc -l) $(ours | wc -l) $(cat "$STATE/agent.pid" 2>/dev/null | wc -l)" "0 0 0"
check "the runners' pod folders are gone, no pin or mount of them left" \
	eq "$(find "$STATE" -mindepth 1 -maxdepth 1 -type d | wc -l) $(grep -c " $STATE/" /proc/self/mountinfo)" "0 0"
run "$DESKRUN" status
check "status: the agent is not running" eq "$RC $(head -1 <<<"$OUT")" "0 agent: not running ('deskrun up' starts it) on $DOCKER_HOST"
run "$DESKRUN" down
check "down again: nothing to stop" eq "$RC $OUT" "0 nothing to stop: the agent is not running"
run "$DESKRUN" cluster delete
check "cluster delete forgets the local provider" eq "$RC $OUT" "0 forgot the local provider"

# ---------------------------------------------------------------- no cluster recorded: local
# The default folder /var/lib/deskrun/agent is on a tmpfs private to these commands (a mount
# namespace): the host's is not touched. api (min 0) starts no runner container, whose guard
# folder the engine (outside the namespace) would bind.
cat >"$TMP/default.sh" <<'SH'
set -u
mount -t tmpfs tmpfs /var/lib || exit 99
"$DESKRUN" up api >"$TMP/d.up.out" 2>"$TMP/d.up.err"; echo $? >"$TMP/d.up.rc"
cat /var/lib/deskrun/agent/agent.pid >"$TMP/d.pid" 2>/dev/null
"$DESKRUN" status -o json >"$TMP/d.status.out" 2>"$TMP/d.status.err"
"$DESKRUN" down >"$TMP/d.down.out" 2>"$TMP/d.down.err"; echo $? >"$TMP/d.down.rc"
SH
DESKRUN=$DESKRUN TMP=$TMP unshare -m --propagation private bash "$TMP/default.sh"
DPID=$(cat "$TMP/d.pid" 2>/dev/null)
check "up with no cluster recorded: the local provider serves api on \$DOCKER_HOST" \
	eq "$(cat "$TMP/d.up.rc") $(tail -1 "$TMP/d.up.out")" "0 every scale set has a session: jobs are picked up"
check "said in one line on stderr" eq "$(cat "$TMP/d.up.err")" \
	"deskrun: no cluster recorded in $DESKRUN_CONFIG: the local provider (the default), 'deskrun agent' on $DOCKER_HOST; 'deskrun cluster create' records a Kubernetes cluster instead"
check "and recorded, so it is said once: status says nothing on stderr" \
	eq "$(cat "$TMP/d.status.err")" ""
OUT=$(cat "$TMP/d.status.out")
check "status: the agent in the default folder, api's session open" \
	eq "$(js 'd["provider"], d["engine"], d["agentRunning"]') $(set_of api 's["session"]')" "local $DOCKER_HOST True open"
check "the config records the local provider with the engine, no folder (the default)" "$PY" -c '
import json, sys
c = json.load(open(sys.argv[1]))["cluster"]
assert c["provider"] == "local" and c["engine"] == sys.argv[2] and "state_dir" not in c, c' \
	"$DESKRUN_CONFIG" "$DOCKER_HOST"
check "down stops it" eq "$(cat "$TMP/d.down.rc") $(cat "$TMP/d.down.out")" "0 agent stopped: sessions deleted, idle runners removed"
check "the agent is gone" eval '[ -n "$DPID" ] && ! kill -0 "$DPID" 2>/dev/null'

done_testing
