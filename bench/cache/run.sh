#!/bin/bash
# bench/cache/run.sh: what the leased cache pool buys. In one run: a cold build of
# bench/cache/Dockerfile in a fresh slot, against the same build in a re-leased slot (the
# owner's previous lease built it), each lease started by deskrun dind-entrypoint on real
# dockerds. Prints a table of medians (cold s, warm s, ratio). Needs root and dockerd; never
# part of `make check`. BENCH_RUNS (default 3) sets the repetitions.
set -u
: "${DESKRUN:?set DESKRUN to the built deskrun}" "${SRCDIR:?set SRCDIR to the source tree}"
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"
RUNS=${BENCH_RUNS:-3}
CTX=$SRCDIR/bench/cache

if ! dockerd_available; then
	echo "bench/cache: skipped: needs root and dockerd"
	exit 0
fi

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# lease NAME POOL: start an entrypoint on POOL (owner bench) and wait until it is ready;
# LEASED = the seconds from start to ready.
lease() {
	local t0
	t0=$(now)
	POOL=$2 start_ep "$1" --slots 2 --owner bench
	wait_ready "$1" 120 || { echo "bench/cache: $1 did not start" >&2; exit 1; }
	LEASED=$(secs "$t0" "$(now)")
}

# build NAME: the Dockerfile with the legacy builder; prints seconds and checks the cache hits.
build() {
	local t0 out
	t0=$(now)
	out=$(DOCKER_BUILDKIT=0 ep_docker "$1" build -t bench-app "$CTX" 2>&1) || {
		echo "bench/cache: build in $1 failed:" >&2
		printf '%s\n' "$out" | tail -5 >&2
		exit 1
	}
	echo "$(secs "$t0" "$(now)") $(printf '%s\n' "$out" | grep -c -- '---> Using cache')"
}

cold=() warm=() cold_lease=() warm_lease=() cold_hits=0 warm_hits=0
steps=$(grep -cE '^(RUN|COPY)' "$CTX/Dockerfile")
for r in $(seq 1 "$RUNS"); do
	# Cold: a fresh pool, so a fresh slot with nothing but the base image.
	pool=$TMP/cold$r
	lease "c$r" "$pool"
	cold_lease+=("$LEASED")
	DOCKER_HOST=unix://$TMP/c$r.sock import_busybox bench-base
	read -r t hits < <(build "c$r")
	cold+=("$t")
	cold_hits=$((cold_hits + hits))
	stop_ep "c$r"
	# Warm: the same slot leased again by the same owner.
	lease "w$r" "$pool"
	warm_lease+=("$LEASED")
	read -r t hits < <(build "w$r")
	warm+=("$t")
	warm_hits=$((warm_hits + hits))
	stop_ep "w$r"
done

c=$(median "${cold[@]}")
w=$(median "${warm[@]}")
cl=$(median "${cold_lease[@]}")
wl=$(median "${warm_lease[@]}")
echo "deskrun leased cache pool: bench/cache/Dockerfile ($steps cacheable steps), median of $RUNS, $(nproc) cores"
printf '%-34s %8s %8s %8s\n' "" "cold s" "warm s" "ratio"
printf '%-34s %8.2f %8.2f %7.1fx\n' "docker build (legacy builder)" "$c" "$w" "$(awk -v a="$c" -v b="$w" 'BEGIN { print a / b }')"
printf '%-34s %8.2f %8.2f %7.1fx\n' "lease start to ready" "$cl" "$wl" "$(awk -v a="$cl" -v b="$wl" 'BEGIN { print a / b }')"
ct=$(awk -v a="$c" -v b="$cl" 'BEGIN { print a + b }')
wt=$(awk -v a="$w" -v b="$wl" 'BEGIN { print a + b }')
printf '%-34s %8.2f %8.2f %7.1fx\n' "lease + build" "$ct" "$wt" "$(awk -v a="$ct" -v b="$wt" 'BEGIN { print a / b }')"
printf '%-34s %8d %8d\n' "steps from the cache (all runs)" "$cold_hits" "$warm_hits"
[ "$warm_hits" -eq $((steps * RUNS)) ] || { echo "bench/cache: the warm builds missed the cache" >&2; exit 1; }
