#!/bin/bash
# bench/buildkit/run.sh: a BuildKit multi-stage build with the real docker buildx (docker
# driver: the daemon's own BuildKit, over /grpc + /session), timed on one private dockerd two
# ways in this one run:
#   raw     the daemon's own socket
#   guard   the same daemon behind `deskrun guard` with the policy {"buildkit": true}
# Each round, for each path (the order alternates): the build cache and the images are removed
# (through the raw socket), a cold build, then a warm one after a source change in the last
# stages (the dependency stage and its cache mount come from the cache). BENCH_BK_ROUNDS
# (default 3) rounds after one warm-up of each path; medians, their ratio, the spread. Then
# the guard's memory: its RSS idle, and its peak while 4 builds run at once through it
# (sampled every 20 ms from /proc).
# Needs root, dockerd and buildx from tests/clients/build.sh's cache (`make clients`); DESKRUN
# and SRCDIR as set by scripts/bench.sh.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
ROUNDS=${BENCH_BK_ROUNDS:-3}
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
dockerd_available || { echo "bench/buildkit: needs root and dockerd; skipped"; exit 0; }
CLIENTS=$("$SRCDIR/tests/clients/build.sh" --cached) ||
	{ echo "bench/buildkit: docker buildx is not built (make clients); skipped"; exit 0; }
mkdir -p "$TMP/cfg/cli-plugins"
ln -s "$CLIENTS/docker-buildx" "$TMP/cfg/cli-plugins/docker-buildx"
export DOCKER_CONFIG=$TMP/cfg DOCKER_CLI_HINTS=false

start_dockerd bk >/dev/null || { echo "bench/buildkit: dockerd did not start"; exit 1; }
RAW=${DOCKER_HOST#unix://}
unset DOCKER_HOST
d() { DOCKER_HOST="unix://$RAW" docker "$@"; }
DOCKER_HOST=unix://$RAW import_busybox tiny:1
echo '{"buildkit": true}' >"$TMP/policy.json"
mkdir -p "$TMP/guard"
"$DESKRUN" guard --tenant bk --upstream "unix://$RAW" --listen "$TMP/g.sock" \
	--state-dir "$TMP/guard" --socket-mode 0666 --policy "$TMP/policy.json" >"$TMP/g.log" 2>&1 &
GPID=$!
stop_all() {
	kill "$GPID" 2>/dev/null
	wait "$GPID" 2>/dev/null
	_dockerd_stop_all
}
trap stop_all EXIT
for _ in $(seq 1 100); do [ -S "$TMP/g.sock" ] && break; sleep 0.05; done
[ -S "$TMP/g.sock" ] || { echo "bench/buildkit: the guard did not start"; sed 's/^/  /' "$TMP/g.log"; exit 1; }

# The workload: a dependency stage (a cache mount filled with 12 MiB, a 32 MiB layer), a build
# stage over the sources, a final image from both.
CTX=$TMP/ctx
mkdir -p "$CTX/src"
cat >"$CTX/Dockerfile" <<'EOF2'
FROM tiny:1 AS deps
RUN --mount=type=cache,target=/cache i=0; while [ $i -lt 48 ]; do [ -f /cache/f$i ] || dd if=/dev/urandom of=/cache/f$i bs=256k count=1 2>/dev/null; i=$((i+1)); done; cat /cache/f* | sha256sum > /deps.sum
RUN dd if=/dev/zero of=/blob bs=1M count=32 2>/dev/null && sha256sum /blob > /blob.sum
FROM tiny:1 AS build
COPY --from=deps /deps.sum /blob.sum /
COPY src/ /src/
RUN i=0; while [ $i -lt 200 ]; do cat /src/* /deps.sum | sha256sum > /app.sum; i=$((i+1)); done
FROM tiny:1
COPY --from=build /app.sum /
COPY --from=deps /blob /blob
CMD ["cat", "/app.sum"]
EOF2
for i in 1 2 3 4 5 6 7 8; do head -c 65536 /dev/urandom | od -An -tx1 >"$CTX/src/part$i.txt"; done

now() { date +%s.%N; }
# build SOCKET TAG: one buildx build --load; prints its seconds
build() {
	local t0 t1
	t0=$(now)
	DOCKER_HOST="unix://$1" docker buildx build --load --network=none --progress=quiet \
		--provenance=false -t "$2" "$CTX" >/dev/null 2>"$TMP/build.err" ||
		{ echo "bench/buildkit: build through $1 failed:" >&2; tail -5 "$TMP/build.err" >&2; return 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
reset() {
	d image ls -q --filter reference='bk/*' | sort -u | xargs -r docker -H "unix://$RAW" rmi -f >/dev/null 2>&1
	d builder prune -af >/dev/null 2>&1
}
declare -A cold warm
run_path() {
	local name=$1 sock=$2 c w
	reset
	c=$(build "$sock" "bk/app:cold") || return 1
	echo "change $RANDOM $(now)" >>"$CTX/src/part8.txt"
	w=$(build "$sock" "bk/app:warm") || return 1
	cold[$name]+="$c "
	warm[$name]+="$w "
}
# warm-up: one of each, not counted
run_path raw "$RAW" && run_path guard "$TMP/g.sock" || exit 1
cold=([raw]= [guard]=)
warm=([raw]= [guard]=)
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="raw guard"; else order="guard raw"; fi
	for p in $order; do
		if [ "$p" = raw ]; then run_path raw "$RAW" || exit 1; else run_path guard "$TMP/g.sock" || exit 1; fi
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f..%.2f", lo, hi}'; }
cr=$(median <<<"${cold[raw]}"); cg=$(median <<<"${cold[guard]}")
wr=$(median <<<"${warm[raw]}"); wg=$(median <<<"${warm[guard]}")

# The guard's memory: idle, then its peak while 4 builds run through it at once.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$GPID/status" 2>/dev/null; }
idle=$(rss_kib)
peak=$idle
for i in 1 2 3 4; do cp -r "$CTX" "$TMP/ctx$i" && echo "concurrent $i" >>"$TMP/ctx$i/src/part8.txt"; done
pids=()
for i in 1 2 3 4; do
	DOCKER_HOST="unix://$TMP/g.sock" docker buildx build --load --network=none --progress=quiet \
		--provenance=false -t "bk/c:$i" "$TMP/ctx$i" >/dev/null 2>"$TMP/c$i.err" &
	pids+=($!)
done
while :; do
	running=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
	v=$(rss_kib)
	[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
	[ "$running" = 1 ] || break
	sleep 0.02
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done

ver=$("$CLIENTS/docker-buildx" version 2>/dev/null | awk '{print $2}')
printf 'bench/buildkit: docker buildx %s (docker driver) on dockerd %s, a multi-stage build (cache mount, 32 MiB layer), %d rounds after a warm-up, medians (min..max)\n' \
	"$ver" "$(d version -f '{{.Server.Version}}')" "$ROUNDS"
printf '| build | raw socket | guard | guard / raw |\n|---|---|---|---|\n'
printf '| cold (no build cache) | %.2f s (%s) | %.2f s (%s) | %.2fx |\n' "$cr" "$(spread <<<"${cold[raw]}")" \
	"$cg" "$(spread <<<"${cold[guard]}")" "$(echo "$cg / $cr" | bc -l)"
printf '| warm (a source change) | %.2f s (%s) | %.2f s (%s) | %.2fx |\n' "$wr" "$(spread <<<"${warm[raw]}")" \
	"$wg" "$(spread <<<"${warm[guard]}")" "$(echo "$wg / $wr" | bc -l)"
printf 'guard RSS: %.1f MiB idle, %.1f MiB peak with 4 concurrent BuildKit builds through it (%d of 4 failed)\n' \
	"$(echo "$idle / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "$failed"
[ "$failed" = 0 ]
