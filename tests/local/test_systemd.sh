#!/bin/bash
# The agent under a real systemd: systemd boots as PID 1 in a podman container (a Debian rootfs
# from debootstrap, tests/local/systemd_image.sh), sharing the host's network and this test's
# folder (same paths). There the user runs `deskrun up --install-unit`: the unit is written into
# the container's /etc/systemd/system, enabled and started by systemd; its agent serves a set of
# the GitHub stand-in on a private dockerd of the host (its socket in the shared folder). A job
# runs; a second up goes through systemctl; `kill -9` of the main PID is restarted
# (Restart=on-failure); `systemctl stop` drains. The stand-in's certificate is the container's
# system trust store (the unit's agent does not inherit the caller's SSL_CERT_FILE).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
. "$SRCDIR/tests/local/systemd_image.sh"
PY=${PYTHON:-/usr/bin/python3}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
if ! dockerd_available; then
	skip "the agent under systemd" "needs root and dockerd"
	done_testing
	exit 0
fi
for t in podman debootstrap; do
	if ! command -v $t >/dev/null; then
		skip "the agent under systemd" "$t is not installed"
		done_testing
		exit 0
	fi
done
PAT=ghp_systemdUnitToken000000000000000000000
D=$TMP/gh
STATE=$TMP/state
CT=deskrun-systemd-test-$$
SPID=
cleanup() {
	podman rm -f -t 0 "$CT" >/dev/null 2>&1
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
}
trap cleanup EXIT
if ! build_systemd_image 2>"$TMP/image.err"; then
	skip "the agent under systemd" "the systemd image cannot be built (podman or debootstrap cannot run): $(tail -1 "$TMP/image.err")"
	done_testing
	exit 0
fi
"$PY" "$SRCDIR/tests/github/standin.py" --dir "$D" --poll-hold 2 --session-ttl 8 --pat "$PAT" 2>"$TMP/standin.err" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
U=$(cat "$D/url")
G() { "$PY" "$SRCDIR/tests/github/ghctl.py" --dir "$D" "$@"; }
start_dockerd sd || { not_ok "dockerd starts"; done_testing; exit 1; }
IMG=deskrun-standin-runner:systemd
build_runner_image "$IMG" 1 || { not_ok "the runner image builds"; done_testing; exit 1; }
runners() { docker ps -q --filter label=deskrun.io/set=web --filter label=deskrun.io/agent | wc -l; }
# web's session at the stand-in (its id, or None). A killed agent's session stays until the
# stand-in expires it (--session-ttl 8: a live agent polls every 2 s), as GitHub's does.
session() { G state | "$PY" -c 'import json,sys; print(next(s["session"] for s in json.load(sys.stdin)["scalesets"] if s["name"] == "web"))'; }

EXE=$(readlink -f "$DESKRUN")
export DESKRUN_CONFIG=$TMP/config.json
"$DESKRUN" cluster create --provider local --engine "$DOCKER_HOST" --state-dir "$STATE" --network host >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add web --repository "$U/acme/web" --mode docker-socket \
	--min-runners 1 --max-runners 2 --auth-value - --runner-image "$IMG" --mount "$D:/standin" >/dev/null

# systemd as PID 1. $TMP is shared rshared: the guards' mounts in it must reach the engine.
# podman's default ulimits cannot be set on this kind of machine (as in tests/e2e/lib.sh).
podman run -d --name "$CT" --privileged --systemd=always --network host \
	--ulimit nofile=16384:16384 --ulimit nproc=16384:16384 \
	-v "$TMP:$TMP:rshared" -v "$EXE:$EXE:ro" -v "$D/cert.pem:/etc/ssl/certs/ca-certificates.crt:ro" \
	"$SYSTEMD_IMAGE" /sbin/init >/dev/null 2>"$TMP/podman.err" ||
	{ not_ok "systemd boots in podman: $(cat "$TMP/podman.err")"; done_testing; exit 1; }
X() { podman exec -e "DESKRUN_CONFIG=$DESKRUN_CONFIG" "$CT" "$@"; }
SC() { X /usr/bin/systemctl "$@"; }
prop() { SC show -p "$1" --value deskrun-agent.service; }
booted() { BOOT=$(SC is-system-running 2>/dev/null); [ "$BOOT" = running ] || [ "$BOOT" = degraded ]; }
T0=$SECONDS
check "systemd boots as PID 1 in the container" eval 'wait_for 60 booted && [ "$(X /usr/bin/cat /proc/1/comm)" = systemd ]'
diag "systemd booted ($BOOT) in $((SECONDS - T0)) s; failed units: $(SC list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"

run X "$EXE" up --install-unit
check "up --install-unit under systemd: the unit written, the agent started by systemd, the session open" \
	eq "$RC $(head -1 <<<"$OUT")|$(sed -n 2p <<<"$OUT" | cut -d' ' -f1-4)|$(tail -1 <<<"$OUT")" \
	"0 unit /etc/systemd/system/deskrun-agent.service written|agent started by systemd:|every scale set has a session: jobs are picked up"
[ "$RC" = 0 ] || diag "up: $ERR"
check "nothing is said about starting it by hand (systemd runs)" eq "$(grep -c 'systemctl daemon-reload' <<<"$ERR")" "0"
check "the unit is enabled and active" eq "$(SC is-enabled deskrun-agent) $(SC is-active deskrun-agent)" "enabled active"
MAIN=$(prop MainPID)
check "its main process is the agent, in the unit's cgroup, with the recorded arguments" \
	eq "$(X /usr/bin/cat "/proc/$MAIN/cmdline" | tr '\0' ' ')|$(X /usr/bin/cat "/proc/$MAIN/cgroup" | grep -q '/system.slice/deskrun-agent.service$' && echo in-unit)" \
	"$EXE --config $DESKRUN_CONFIG agent --state-dir $STATE --host $DOCKER_HOST --drain 300s --network host |in-unit"
JOURNAL=$(X /usr/bin/journalctl -b --no-pager -o cat)
check "the boot's journal is read and has the unit's start (so the next row reads something)" \
	eval '[ "$(grep -c "Started deskrun-agent.service" <<<"$JOURNAL")" -ge 1 ]'
check "systemd applied the unit's settings (no option refused or ignored in its journal)" \
	eq "$(grep -ciE 'deskrun-agent.service:.*(unknown|ignoring|failed to|invalid)' <<<"$JOURNAL")" "0"
check "the agent's session is open at the stand-in" eval '[ "$(session)" != None ]'
check "the idle runner (min 1) starts on the host's engine" wait_for 30 eval '[ "$(runners)" -ge 1 ]'

R=$(G queue-job --scale-set web | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
check "a queued job completes through a runner container" eval 'G wait-job "$R" completed --timeout 45 >/dev/null'
check "it succeeded" eq "$(G job "$R" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["result"])')" "succeeded"

agents() { X /usr/bin/ps -eo args= | grep -c "^$EXE --config .* agent "; }
run X "$EXE" up
check "a second up goes through systemctl: the unit's agent restarted by systemd" \
	eq "$RC $(grep -c '^agent restarted by systemd:' <<<"$OUT") $(tail -1 <<<"$OUT")" \
	"0 1 every scale set has a session: jobs are picked up"
MAIN2=$(prop MainPID)
check "one agent, the unit's new main process (no second, daemon agent)" \
	eval '[ "$(agents)" = 1 ] && [ "$MAIN2" != "$MAIN" ] && [ "$MAIN2" -gt 0 ] && [ "$(SC is-active deskrun-agent)" = active ]'

SID=$(session)
X /usr/bin/kill -9 "$MAIN2"
check "kill -9 of the agent: Restart=on-failure starts it again (RestartSec=5s)" \
	wait_for 20 eval '[ "$(prop NRestarts)" = 1 ] && [ "$(SC is-active deskrun-agent)" = active ] && [ "$(prop MainPID)" != "$MAIN2" ]'
check "the restarted agent opens a new session (after the stand-in expired the killed one's); one agent" \
	wait_for 40 eval 'N=$(session); [ "$N" != None ] && [ "$N" != "$SID" ] && [ "$(agents)" = 1 ]'
check "and it serves: the idle runner is there" wait_for 30 eval '[ "$(runners)" -ge 1 ]'

S=$(G state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
T0=$SECONDS
run SC stop deskrun-agent
T=$((SECONDS - T0))
check "systemctl stop drains within TimeoutStopSec (330 s): took ${T} s" eval '[ "$RC" = 0 ] && [ "$T" -lt 330 ]'
check "the agent exited clean on SIGTERM (Result=success, status 0), the unit inactive" \
	eq "$(prop Result) $(prop ExecMainStatus) $(SC is-active deskrun-agent)" "success 0 inactive"
G journal --since "$S" >"$TMP/journal.stop"
G state >"$TMP/state.stop"
check "its session was deleted at the stand-in (DELETE 204), none left open" "$PY" -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
d = [e["status"] for e in L if e["endpoint"] == "delete-session"]
assert d == [204], d
s = json.load(open(sys.argv[2]))
assert all(x["session"] is None for x in s["scalesets"]), s["scalesets"]' "$TMP/journal.stop" "$TMP/state.stop"
X /usr/bin/journalctl -u deskrun-agent --no-pager -o cat >"$TMP/agent.journal" 2>&1
grep -q delete-session "$TMP/journal.stop" || diag "the agent's journal, last lines:" "$(tail -8 "$TMP/agent.journal")"
check "its idle runners were removed from the engine; no agent left" eq "$(runners) $(agents)" "0 0"
check "no secret in the unit" eq "$(X /usr/bin/grep -c "$PAT" /etc/systemd/system/deskrun-agent.service)" "0"
done_testing
