#!/bin/bash
# bench/strategies/run.sh: the Docker strategies side by side (host daemon, guard, fresh DinD,
# leased-pool DinD, privileged job pod) on a real engine (run.py), then where a dind pod's
# start goes (start.py; BENCH_START=0 skips it) and a registry pull over a slow link with and
# without the pull-through mirror (pull.py; BENCH_PULL=0 skips it), then the seed's KPI table
# from the three (kpi.py, docs/BENCHMARKS.md's bench-kpi section). Needs root, podman,
# dockerd and debootstrap (pull.py: docker-registry); prints why and exits 0 where the
# machine cannot run it.
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
export DESKRUN SRCDIR
/usr/bin/python3 "$SRCDIR/bench/strategies/run.py" || exit 1
status=0
if [ "${BENCH_START:-1}" != 0 ]; then
	echo "== bench/strategies/start.py"
	/usr/bin/python3 "$SRCDIR/bench/strategies/start.py" || status=1
fi
if [ "${BENCH_PULL:-1}" != 0 ]; then
	echo "== bench/strategies/pull.py"
	if command -v docker-registry >/dev/null 2>&1; then
		/usr/bin/python3 "$SRCDIR/bench/strategies/pull.py" || status=1
	else
		echo "bench/strategies/pull.py: skipped: docker-registry is not installed"
	fi
fi
echo "== bench/strategies/kpi.py"
/usr/bin/python3 "$SRCDIR/bench/strategies/kpi.py" || status=1
exit $status
