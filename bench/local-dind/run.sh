#!/bin/bash
# bench/local-dind: the job's Docker of the local agent by mode, against the GitHub stand-in (a
# local stand-in, not github.com) and a private dockerd on a private bridge, with the runner
# stand-in image, whose job step calls docker. Three sets, --min-runners 0, N jobs each
# (BENCH_LOCAL_JOBS, default 3), one after the other:
#   sock   docker-socket (a guard per runner): the baseline for the time to take a job
#   eph    dind, no cache: a daemon container per runner, data root in the runner's folder
#   pool   dind --cache-pool 1: the daemon leases the same slot every time
# Times: job queued -> taken by its runner (the daemon is started and answering first), and,
# for the dind sets, job queued -> completed when the step needs a 400 MB Debian image (the
# e2e runner image, "pulled" with docker load when its daemon lacks it) and runs a container of
# it: eph loads it every time (the baseline), pool from the second job on finds it in its slot.
# The pool's first job leases its slot cold (empty), the others warm: their times to take a
# job are shown apart. Prints p50 and max, the ratios of p50 against the baseline of the same
# run, and the load average at the end. Root only.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
BUILDDIR=$(dirname "$DESKRUN")
N=${BENCH_LOCAL_JOBS:-3}
why=
if [ "$(id -u)" -ne 0 ] || ! command -v dockerd >/dev/null; then
	why="needs root and dockerd"
elif ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
	why="the dind image is built with podman and debootstrap"
elif [ ! -x "$BUILDDIR/deskrun-static" ]; then
	why="no deskrun-static beside $DESKRUN"
fi
[ -z "$why" ] || { echo "bench/local-dind: skipped ($why)"; exit 0; }
TMP=$(mktemp -d /tmp/deskrun-bench-dind.XXXXXX)
CACHE=$(mktemp -d /var/tmp/deskrun-bench-dind-cache.XXXXXX) # not under /tmp: dind mounts a tmpfs there
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
. "$SRCDIR/tests/local/dind_images.sh"
BR=drb$((RANDOM % 90000 + 10000))
NET=10.$((RANDOM % 50 + 200)).$((RANDOM % 250 + 1))
GW=$NET.1
SPID= APID=
finish() {
	[ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
	ip link del "$BR" 2>/dev/null
	rm -rf "$CACHE"
}
trap finish EXIT
IMGDIR=$BUILDDIR/local-dind-images # shared with tests/local/test_agent_dind.sh
build_dind_images "$IMGDIR" || { echo "bench/local-dind: the dind image did not build"; exit 1; }
ip link add "$BR" type bridge && ip addr add "$GW/24" dev "$BR" && ip link set "$BR" up ||
	{ echo "bench/local-dind: no private bridge"; exit 1; }
G() { python3 "$SRCDIR/tests/github/ghctl.py" --dir "$TMP/gh" "$@"; }
python3 "$SRCDIR/tests/github/standin.py" --dir "$TMP/gh" --host "$GW" --san "IP:$GW" \
	--poll-hold 50 2>"$TMP/standin.log" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$TMP/gh/url" ] && break; sleep 0.05; done
U=$(cat "$TMP/gh/url")
start_dockerd bench --bridge="$BR" --ip-masq=false >/dev/null || { echo "bench/local-dind: dockerd did not start"; exit 1; }
build_runner_image deskrun-bench-runner:1 0 || { echo "bench/local-dind: no runner image"; exit 1; }
docker load -q -i "$IMGDIR/dind.tar" >/dev/null || exit 1
ln "$IMGDIR/runner.tar" "$TMP/gh/debian.tar" 2>/dev/null || cp "$IMGDIR/runner.tar" "$TMP/gh/debian.tar"
cat >"$TMP/gh/step" <<'SH'
#!/bin/sh
# sock: the guard answers; dind: a Debian image (pulled = loaded when missing) runs a container.
[ "$DOCKER_HOST" = unix:///var/run/docker.sock ] || exec docker version >/dev/null
docker image inspect localhost/deskrun-e2e/runner:1 >/dev/null 2>&1 ||
	docker load -q -i /standin/debian.tar >/dev/null || exit 1
docker run --rm --network none localhost/deskrun-e2e/runner:1 true
SH
chmod 755 "$TMP/gh/step"
export DESKRUN_CONFIG=$TMP/config.json SSL_CERT_FILE=$TMP/gh/cert.pem
"$DESKRUN" config set cache-root "$CACHE" >/dev/null
printf 'ghp_benchTokenNotReal0123456789abcdefghi\n' >"$TMP/token"
common=(--min-runners 0 --max-runners 1 --runner-image deskrun-bench-runner:1
	--mount "$TMP/gh:/standin" --auth-value-file "$TMP/token")
dind=(--dind-image localhost/deskrun-e2e/dind:1)
"$DESKRUN" add sock --repository "$U/acme/sock" --mode docker-socket "${common[@]}" >/dev/null &&
	"$DESKRUN" add eph --repository "$U/acme/eph" --mode dind "${dind[@]}" "${common[@]}" >/dev/null &&
	"$DESKRUN" add pool --repository "$U/acme/pool" --mode dind --cache-pool 1 "${dind[@]}" \
		"${common[@]}" >/dev/null || exit 1
"$DESKRUN" agent --host "$DOCKER_HOST" --state-dir "$TMP/agent" --drain 5s 2>"$TMP/agent.log" &
APID=$!
for _ in $(seq 1 300); do [ "$(grep -c "session open" "$TMP/agent.log")" = 3 ] && break; sleep 0.1; done
ms() { date +%s%3N; }
taken_ms() { # the stand-in's runnerAssignTime - queueTime of request $1, in ms
	G job "$1" | python3 -c '
import json, sys
from datetime import datetime
j = json.load(sys.stdin)
t = lambda s: datetime.fromisoformat(s.rstrip("Z"))
print(round((t(j["runnerAssignTime"]) - t(j["queueTime"])).total_seconds() * 1000))'
}
for s in sock eph pool; do : >"$TMP/$s.taken"; : >"$TMP/$s.done"; done
for i in $(seq 1 "$N"); do
	for s in sock eph pool; do
		for _ in $(seq 1 600); do [ -z "$(docker ps -aq --filter label=deskrun.io/set=$s)" ] && break; sleep 0.05; done
		t0=$(ms)
		R=$(G queue-job --scale-set $s | python3 -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
		G wait-job "$R" completed --timeout 300 >/dev/null || { echo "bench/local-dind: job $R of $s did not complete"; tail -5 "$TMP/agent.log"; exit 1; }
		echo $(($(ms) - t0)) >>"$TMP/$s.done"
		taken_ms "$R" >>"$TMP/$s.taken"
		[ "$(G job "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')" = succeeded ] ||
			{ echo "bench/local-dind: job $R of $s failed"; exit 1; }
	done
done
p50() { sort -n "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
mx() { sort -n "$1" | tail -1; }
# after the first job the pool's slot is warm: its p50 over jobs 2..N
tail -n +2 "$TMP/pool.done" >"$TMP/pool.warm"
head -1 "$TMP/pool.taken" >"$TMP/pool.cold"
tail -n +2 "$TMP/pool.taken" >"$TMP/pool.warmtaken"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
row() { printf '%-66s %7s %7s %s\n' "$1" "$(p50 "$2")" "$(mx "$2")" "${3:-}"; }
printf '%-66s %7s %7s %s\n' "local agent, job's Docker by mode ($N jobs each, ms)" p50 max "ratio of p50"
row "docker-socket: job queued -> taken by its runner (baseline)" "$TMP/sock.taken"
row "dind: job queued -> taken (daemon container started first)" "$TMP/eph.taken" \
	"$(ratio "$(p50 "$TMP/eph.taken")" "$(p50 "$TMP/sock.taken")") the baseline"
row "dind --cache-pool 1: queued -> taken, job 1 (its slot leased cold)" "$TMP/pool.cold" \
	"$(ratio "$(p50 "$TMP/pool.cold")" "$(p50 "$TMP/sock.taken")") the baseline"
row "dind --cache-pool 1: queued -> taken, jobs 2..N (slot leased warm)" "$TMP/pool.warmtaken" \
	"$(ratio "$(p50 "$TMP/pool.warmtaken")" "$(p50 "$TMP/sock.taken")") the baseline"
row "dind: queued -> completed, step pulls a 400 MB image (baseline)" "$TMP/eph.done"
row "dind --cache-pool 1: the same, the image in its slot (jobs 2..N)" "$TMP/pool.warm" \
	"$(ratio "$(p50 "$TMP/eph.done")" "$(p50 "$TMP/pool.warm")") faster"
echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
