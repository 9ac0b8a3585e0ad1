#!/bin/bash
# make demo-local: the local provider end to end, offline, as root: a local stand-in for GitHub
# (tests/github/standin.py, not github.com), a private dockerd, a runner stand-in image (the real
# runner image cannot be fetched offline) and the e2e dind image (Debian's dockerd 20.10), both
# built locally (tests/local/runner_image.sh, tests/local/dind_images.sh; the first run builds
# the dind image, a few minutes, later runs reuse build/local-dind-images), then the user's
# commands: cluster create --provider local, add --mode dind --cache-pool 1, up, two jobs,
# status, cache ls, down. Each job's runner gets its own privileged dind container, whose
# daemon leases the pool's one slot: job 1's step finds no image there and loads one (a 400 MB
# Debian image, "pulled" with docker load: no registry offline), job 2 leases the same slot warm
# and finds it. Everything lives under temporary directories and is removed at the end.
set -uo pipefail
echo "make demo-local: about 40 s (the first run builds the dind image into build/local-dind-images first: a few minutes more)" >&2
DESKRUN=$(realpath "${1:-build/deskrun}")
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=$(dirname "$DESKRUN")
[ "$(id -u)" -eq 0 ] || { echo "make demo-local: run as root (it starts a private dockerd)" >&2; exit 1; }
[ -x "$BUILDDIR/deskrun-static" ] || { echo "make demo-local: no deskrun-static beside $DESKRUN (the dind container runs it)" >&2; exit 1; }
for c in podman debootstrap; do
	command -v $c >/dev/null || { echo "make demo-local: the dind image is built with podman and debootstrap (apt-get install podman debootstrap)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/deskrun-demo-local.XXXXXX)
# Not under /tmp: the dind wrapper (as docker:dind's) mounts a tmpfs there, over the pool.
CACHE=$(mktemp -d /var/tmp/deskrun-demo-cache.XXXXXX)
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
. "$SRCDIR/tests/local/dind_images.sh"
SPID=
STATE=$TMP/state
finish() {
	"$DESKRUN" down >/dev/null 2>&1
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
	rm -rf "$CACHE"
}
trap finish EXIT
step() { printf '\n$ %s\n' "$*" >&2; "$@"; }
G() { python3 "$SRCDIR/tests/github/ghctl.py" --dir "$TMP/gh" "$@"; }

echo "== the dind image (build/local-dind-images; built once, offline)" >&2
build_dind_images "$BUILDDIR/local-dind-images" || { echo "the dind image did not build" >&2; exit 1; }
echo "== a local stand-in for GitHub (not github.com) and a private dockerd" >&2
python3 "$SRCDIR/tests/github/standin.py" --dir "$TMP/gh" --poll-hold 5 2>"$TMP/standin.log" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$TMP/gh/url" ] && break; sleep 0.05; done
U=$(cat "$TMP/gh/url")
start_dockerd demo >/dev/null || { echo "dockerd did not start" >&2; exit 1; }
build_runner_image deskrun-demo-runner:1 0 || { echo "the runner image did not build" >&2; exit 1; }
docker load -q -i "$BUILDDIR/local-dind-images/dind.tar" >/dev/null || { echo "the dind image did not load" >&2; exit 1; }
ln "$BUILDDIR/local-dind-images/runner.tar" "$TMP/gh/debian.tar" 2>/dev/null ||
	cp "$BUILDDIR/local-dind-images/runner.tar" "$TMP/gh/debian.tar"
# The job's step (the runner stand-in runs /standin/step): docker against the job's own daemon.
cat >"$TMP/gh/step" <<'SH'
#!/bin/sh
L=/standin/steps.log
echo "job $JOB_ID: its daemon's data root: $(docker info --format '{{.DockerRootDir}}')" >>$L
if docker image inspect localhost/deskrun-e2e/runner:1 >/dev/null 2>&1; then
	echo "job $JOB_ID: the Debian image is already there (warm): no pull" >>$L
else
	t0=$(date +%s)
	docker load -q -i /standin/debian.tar >/dev/null || exit 1
	echo "job $JOB_ID: no Debian image there (cold): loaded it in $(($(date +%s) - t0)) s" >>$L
fi
echo "job $JOB_ID: $(docker run --rm --network none localhost/deskrun-e2e/runner:1 sh -c '. /etc/os-release; echo ran a container of $PRETTY_NAME')" >>$L
SH
chmod 755 "$TMP/gh/step"
export DESKRUN_CONFIG=$TMP/config.json SSL_CERT_FILE=$TMP/gh/cert.pem
printf 'ghp_demoTokenNotReal0123456789abcdefghij\n' >"$TMP/token"
chmod 600 "$TMP/token"
"$DESKRUN" config set cache-root "$CACHE" >/dev/null

step "$DESKRUN" cluster create --provider local --engine "$DOCKER_HOST" --state-dir "$STATE" \
	--network host || exit 1
step "$DESKRUN" add demo --repository "$U/octo-org/octo-repo" --mode dind --cache-pool 1 \
	--min-runners 0 --max-runners 1 --runner-image deskrun-demo-runner:1 \
	--dind-image localhost/deskrun-e2e/dind:1 --mount "$TMP/gh:/standin" \
	--auth-value-file "$TMP/token" || exit 1
step "$DESKRUN" up || exit 1
for _ in $(seq 1 100); do grep -q "demo: session open" "$STATE/agent.log" 2>/dev/null && break; sleep 0.1; done
step "$DESKRUN" status
secs() { # secs REQUEST-ID FIELD: seconds from queued to FIELD (the stand-in's times)
	G job "$1" | python3 -c '
import json, sys
from datetime import datetime
j = json.load(sys.stdin)
t = lambda s: datetime.fromisoformat(s.rstrip("Z"))
print("%.1f" % (t(j[sys.argv[1]]) - t(j["queueTime"])).total_seconds())' "$2"
}
ms() { date +%s%3N; }
gone() { # the runner and its dind container removed: the slot is free again
	for _ in $(seq 1 300); do [ -z "$(docker ps -aq --filter label=deskrun.io/set=demo)" ] && break; sleep 0.1; done
}
for n in 1 2; do
	gone
	echo >&2
	echo "== job $n queued" >&2
	t0=$(ms)
	J=$(G queue-job --scale-set demo)
	R=$(printf '%s' "$J" | python3 -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
	JID=$(printf '%s' "$J" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
	G wait-job "$R" completed --timeout 300 >/dev/null || { echo "job $n did not complete" >&2; exit 1; }
	t=$(($(ms) - t0))
	res=$(G job "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')
	grep "^job $JID: " "$TMP/gh/steps.log" | sed "s/^job $JID: /  /" >&2
	printf 'job %s: %s; a runner took it %s s after it was queued, done %d.%d s after\n' \
		"$n" "$res" "$(secs "$R" runnerAssignTime)" $((t / 1000)) $((t % 1000 / 100)) >&2
	[ "$res" = succeeded ] || exit 1
	slot[n]=$(sed -n "s|^job $JID: its daemon's data root: $CACHE/pool/demo/\(slot-[0-9]*\)/docker$|\1|p" "$TMP/gh/steps.log")
	warm[n]=$(grep -c "^job $JID: .*(warm)" "$TMP/gh/steps.log")
	took[n]=$(printf '%d.%d s' $((t / 1000)) $((t % 1000 / 100)))
done
echo >&2
if [ -n "${slot[1]}" ] && [ "${slot[1]}" = "${slot[2]}" ] && [ "${warm[1]} ${warm[2]}" = "0 1" ]; then
	echo "job 2 leased the same pool slot as job 1 (${slot[1]}) and found its Debian image there: ${took[1]} cold, ${took[2]} warm" >&2
else
	echo "job 2 did not find job 1's image in the same slot (slots: ${slot[1]:-?} ${slot[2]:-?})" >&2
	exit 1
fi
gone
step "$DESKRUN" cache ls demo
step "$DESKRUN" status
step "$DESKRUN" down
echo >&2
echo "the agent's log:" >&2
sed 's/^/  /' "$STATE/agent.log" >&2
