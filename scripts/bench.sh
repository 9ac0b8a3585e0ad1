#!/bin/bash
# make bench: run every bench/<name>/run.sh with the built deskrun; each prints its own table of
# ratios against a baseline measured in the same run. Never part of make check.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
status=0
found=0
for b in bench/*/run.sh; do
	[ -f "$b" ] || continue
	found=1
	echo "== $b"
	DESKRUN=$PWD/$BUILD/deskrun SRCDIR=$PWD bash "$b" || status=1
done
[ "$found" = 1 ] || echo "no benchmarks yet"
exit $status
