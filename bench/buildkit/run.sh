#!/bin/bash
# bench/buildkit/run.sh: BuildKit builds with the real buildx (docker driver) through the guard
# with its default policy (BuildKit on: it reads the /grpc tunnel, every call's method, the
# Solve's request message, the tenant label added, and the /session tunnel frame by frame, the
# Dockerfile's transfer checked), against the raw socket, on a private dockerd, in this one
# run: a multi-stage build with a 32 MiB context, a RUN with a cache mount and a COPY --from,
# cold (--no-cache), warm (everything cached) and with the context changed (the 32 MiB file
# sent again through /session); then the guard's RSS while 4 such builds run at once. Prints a
# Markdown table of medians and ratios, then the spread of every row. Rounds alternate the
# order of the two paths (BENCH_BK_ROUNDS, default 8; the warm row has BENCH_BK_WARM pairs,
# default 22; both rounded up to even).
# Needs root, dockerd and the buildx of tests/clients/build.sh's cache (else it says why and
# skips); DESKRUN and SRCDIR as set by scripts/bench.sh.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
ROUNDS=${BENCH_BK_ROUNDS:-8}
WARM=${BENCH_BK_WARM:-22}
# even counts: each path goes first in half the rounds (the second build of a pair was
# measured slower, by up to 1.5x for cold builds on a loaded machine)
ROUNDS=$(((ROUNDS + 1) / 2 * 2))
WARM=$(((WARM + 1) / 2 * 2))
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
if ! dockerd_available; then
	echo "bench/buildkit: needs root and dockerd; skipped"
	exit 0
fi
CLIENTS=$("$SRCDIR/tests/clients/build.sh" --cached 2>/dev/null) && "$CLIENTS/docker-buildx" version >/dev/null 2>&1 || {
	echo "bench/buildkit: docker-buildx is not built (tests/clients/build.sh); skipped"
	exit 0
}
start_dockerd bench >/dev/null || exit 1
RAW=${DOCKER_HOST#unix://}
unset DOCKER_HOST
DOCKER_HOST=unix://$RAW import_busybox tiny:1
mkdir -p "$TMP/cfg/cli-plugins"
ln -sf "$CLIENTS/docker-buildx" "$TMP/cfg/cli-plugins/docker-buildx"
export DOCKER_CONFIG=$TMP/cfg DOCKER_CLI_HINTS=false
"$DESKRUN" guard --tenant bench --upstream "unix://$RAW" --listen "$TMP/guard.sock" \
	--state-dir "$TMP/state" --socket-mode 0666 >"$TMP/guard.log" 2>&1 &
GUARD_PID=$!
trap 'kill $GUARD_PID 2>/dev/null; wait $GUARD_PID 2>/dev/null; _dockerd_stop_all' EXIT
for i in $(seq 1 100); do [ -S "$TMP/guard.sock" ] && break; sleep 0.05; done
mkdir -p "$TMP/ctx"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$TMP/ctx/blob"
cat >"$TMP/ctx/Dockerfile" <<'EOF2'
FROM tiny:1 AS base
COPY blob /blob
RUN --mount=type=cache,target=/cache md5sum /blob > /sum && cp /sum /cache/sum
FROM tiny:1
COPY --from=base /sum /sum
CMD ["cat", "/sum"]
EOF2
sock_of() { case $1 in raw) echo "$RAW" ;; guard) echo "$TMP/guard.sock" ;; esac; }
# build PATH TAG [ARGS...]: wall time in ms (or FAIL)
build() {
	local sock t0 t1
	sock=$(sock_of "$1")
	t0=$(date +%s%N)
	DOCKER_HOST="unix://$sock" docker buildx build --load --network=none --progress=quiet -t "bench/$2" "${@:3}" \
		"$TMP/ctx" >/dev/null 2>"$TMP/build.err" || { echo FAIL; return; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A T
KINDS="cold warm ctx"
for kind in $KINDS; do
	for p in raw guard; do T[$kind-$p]=""; done
done
build raw warmup:1 >/dev/null
build guard warmup:2 >/dev/null
for r in $(seq 1 "$ROUNDS"); do
	order="raw guard"
	[ $((r % 2)) = 0 ] && order="guard raw"
	for p in $order; do
		T[cold-$p]="${T[cold-$p]} $(build "$p" "c$r:1" --no-cache)"
		# a new first MiB: the whole file is sent again, through /session
		head -c 1048576 /dev/urandom | dd of="$TMP/ctx/blob" conv=notrunc status=none
		T[ctx-$p]="${T[ctx-$p]} $(build "$p" "x$r:1")"
	done
done
for r in $(seq 1 "$WARM"); do
	order="raw guard"
	[ $((r % 2)) = 0 ] && order="guard raw"
	for p in $order; do T[warm-$p]="${T[warm-$p]} $(build "$p" "w$r:1")"; done
done
if grep -q FAIL <<<"${T[*]}"; then
	echo "bench/buildkit: a build failed: $(tail -3 "$TMP/build.err")"
	exit 1
fi
# RSS of the guard, sampled every 50 ms while 4 builds run at once through it
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
idle=$(rss "$GUARD_PID")
pids=()
for k in 1 2 3 4; do
	(DOCKER_HOST="unix://$TMP/guard.sock" docker buildx build --load --network=none --progress=quiet \
		--no-cache -t "bench/par$k:1" "$TMP/ctx" >/dev/null 2>&1 || echo FAIL >"$TMP/par$k.fail") &
	pids+=($!)
done
peak=$idle
while kill -0 "${pids[@]}" 2>/dev/null; do
	v=$(rss "$GUARD_PID")
	[ "$v" -gt "$peak" ] && peak=$v
	sleep 0.05
done
wait "${pids[@]}"
par_ok=yes
ls "$TMP"/par*.fail >/dev/null 2>&1 && par_ok=no
echo
echo "| BuildKit build (buildx $("$CLIENTS/docker-buildx" version | awk '{print $2}')), median | raw socket | guard | ratio |"
echo "|---|---|---|---|"
for kind in $KINDS; do
	a=$(median <<<"${T[$kind-raw]}")
	b=$(median <<<"${T[$kind-guard]}")
	case $kind in
	cold) what="cold (--no-cache), $ROUNDS rounds" ;;
	warm) what="warm (cached), $WARM pairs" ;;
	ctx) what="context changed (32 MiB sent through /session), $ROUNDS rounds" ;;
	esac
	echo "| multi-stage, 32 MiB context, $what | $a ms | $b ms | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2fx", b/a}') |"
done
echo "| guard RSS, idle / peak during 4 concurrent builds (all built: $par_ok) | | $idle / $peak KiB | |"
echo
echo "spread (ms per round):"
for kind in $KINDS; do
	for p in raw guard; do echo "  $kind $p:${T[$kind-$p]}"; done
done
echo "gRPC calls the guard read: $(grep -c 'allow: grpc ' "$TMP/guard.log"), refused: $(grep -c 'deny: grpc ' "$TMP/guard.log"); Dockerfiles checked: $(grep -c 'allow: session: a Dockerfile file' "$TMP/guard.log")"
