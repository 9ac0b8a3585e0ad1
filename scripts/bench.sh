#!/bin/bash
# make bench: run every bench/<name>/run.sh with the built deskrun; each prints its own table of
# ratios against a baseline measured in the same run. Never part of make check.
#   BENCH_ONLY=strategies,cache   run only these (names of directories under bench/)
# bench/strategies regenerates its section of docs/BENCHMARKS.md and docs/bench-strategies.png
# (BENCH_DOC=0 leaves them alone); the others print their tables only.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
# The benchmarks' own packages (make check does not need them): gnuplot draws the charts.
missing=""
for p in gnuplot-nox e2fsprogs util-linux bc; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bench: installing$missing" >&2
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		echo "bench: could not install$missing" >&2
fi
status=0
found=0
t_all=$(date +%s)
for b in bench/*/run.sh; do
	[ -f "$b" ] || continue
	name=$(basename "$(dirname "$b")")
	if [ -n "${BENCH_ONLY:-}" ] && [[ ",$BENCH_ONLY," != *",$name,"* ]]; then
		continue
	fi
	found=1
	echo "== $b"
	t0=$(date +%s)
	DESKRUN=$PWD/$BUILD/deskrun SRCDIR=$PWD bash "$b" || status=1
	echo "== $b: $(($(date +%s) - t0)) s"
done
[ "$found" = 1 ] || echo "no benchmarks${BENCH_ONLY:+ named $BENCH_ONLY}"
echo "== make bench: $(($(date +%s) - t_all)) s"
exit $status
