#!/bin/bash
# make demo-local: the local provider end to end, offline, as root: a local stand-in for GitHub
# (tests/github/standin.py, not github.com), a private dockerd, a runner stand-in image (the real
# runner image cannot be fetched offline), then the user's commands: cluster create --provider
# local, add, up, two jobs, status, down. --min-runners 1 keeps a runner warm: each job finds an
# idle runner, and a new one replaces it when its ephemeral runner exits. Everything lives under
# a temporary directory and is removed at the end.
set -uo pipefail
DESKRUN=$(realpath "${1:-build/deskrun}")
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "make demo-local: run as root (it starts a private dockerd)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/deskrun-demo-local.XXXXXX)
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
SPID=
STATE=$TMP/state
finish() {
	"$DESKRUN" down >/dev/null 2>&1
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
}
trap finish EXIT
step() { printf '\n$ %s\n' "$*" >&2; "$@"; }
G() { python3 "$SRCDIR/tests/github/ghctl.py" --dir "$TMP/gh" "$@"; }

echo "== a local stand-in for GitHub (not github.com) and a private dockerd" >&2
python3 "$SRCDIR/tests/github/standin.py" --dir "$TMP/gh" --poll-hold 5 2>"$TMP/standin.log" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$TMP/gh/url" ] && break; sleep 0.05; done
U=$(cat "$TMP/gh/url")
start_dockerd demo >/dev/null || { echo "dockerd did not start" >&2; exit 1; }
build_runner_image deskrun-demo-runner:1 3 || { echo "the runner image did not build" >&2; exit 1; }
export DESKRUN_CONFIG=$TMP/config.json SSL_CERT_FILE=$TMP/gh/cert.pem
printf 'ghp_demoTokenNotReal0123456789abcdefghij\n' >"$TMP/token"
chmod 600 "$TMP/token"

step "$DESKRUN" cluster create --provider local --engine "$DOCKER_HOST" --state-dir "$STATE" \
	--network host || exit 1
step "$DESKRUN" add demo --repository "$U/octo-org/octo-repo" --mode docker-socket \
	--min-runners 1 --max-runners 2 --runner-image deskrun-demo-runner:1 \
	--mount "$TMP/gh:/standin" --auth-value-file "$TMP/token" || exit 1
step "$DESKRUN" up || exit 1
for _ in $(seq 1 100); do
	[ -n "$(docker ps -q --filter label=deskrun.io/set=demo --filter status=running)" ] && break
	sleep 0.1
done
step "$DESKRUN" status
pickup() { # pickup REQUEST-ID: seconds from queued to taken by a runner (the stand-in's times)
	G job "$1" | python3 -c '
import json, sys
from datetime import datetime
j = json.load(sys.stdin)
t = lambda s: datetime.fromisoformat(s.rstrip("Z"))
print("%.2f" % (t(j["runnerAssignTime"]) - t(j["queueTime"])).total_seconds())'
}
for n in 1 2; do
	R=$(G queue-job --scale-set demo | python3 -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
	G wait-job "$R" completed --timeout 60 >/dev/null || { echo "job $n did not complete" >&2; exit 1; }
	echo "job $n: completed; a runner took it $(pickup "$R") s after it was queued" >&2
done
step "$DESKRUN" status
step "$DESKRUN" down
echo >&2
echo "the agent's log:" >&2
sed 's/^/  /' "$STATE/agent.log" >&2
