#!/bin/bash
# bench/strategies/run.sh: the Docker strategies side by side (host daemon, guard, fresh DinD,
# leased-pool DinD, privileged job pod) on a real engine; see run.py. Needs root, podman,
# dockerd and debootstrap; prints why and exits 0 where the machine cannot run it.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
why=""
if [ "$(id -u)" -ne 0 ]; then
	why="needs root"
else
	for t in podman dockerd docker debootstrap gnuplot; do
		command -v "$t" >/dev/null 2>&1 || { why="$t is not installed"; break; }
	done
fi
[ -n "$why" ] || [ -x "$(dirname "$DESKRUN")/deskrun-static" ] || why="no deskrun-static beside $DESKRUN"
if [ -n "$why" ]; then
	echo "bench/strategies: skipped: $why"
	exit 0
fi
DESKRUN=$DESKRUN SRCDIR=$SRCDIR exec /usr/bin/python3 "$SRCDIR/bench/strategies/run.py"
