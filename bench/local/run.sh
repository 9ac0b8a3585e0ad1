#!/bin/bash
# bench/local: the local provider's agent against the GitHub stand-in (a local stand-in, not
# github.com) and a private dockerd, with the runner stand-in image:
#   cold   --min-runners 0: a job queued -> its runner container running (JIT config, guard,
#          create, start), and -> the job taken by that runner
#   warm   --min-runners 1: a job queued -> taken by the idle runner kept warm
#   idle   the agent's resident memory (RSS, anonymous, PSS) and CPU over 10 s, two sets,
#          after the jobs and 35 s quiet, the stand-in holding long polls 20 s (GitHub: 50 s;
#          what a poll touches is the same), so polls have come back since the agent trimmed
# N jobs each (BENCH_LOCAL_JOBS, default 3) per round, one after the other; p50 and max. In the
# same run, in interleaved rounds (BENCH_LOCAL_ROUNDS, default 2): the baseline agent keeps the
# pages its start-up touched (DESKRUN_AGENT_NO_TRIM=1), the agent as shipped drops them once
# quiet; ratios agent/baseline; the idle figures are the last round's.
# Root only.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
N=${BENCH_LOCAL_JOBS:-3}
ROUNDS=${BENCH_LOCAL_ROUNDS:-2}
[ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null || { echo "bench/local: skipped (needs root and dockerd)"; exit 0; }
TMP=$(mktemp -d /tmp/deskrun-bench-local.XXXXXX)
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
SPID= APID=
finish() {
	[ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	_dockerd_stop_all
}
trap finish EXIT
G() { python3 "$SRCDIR/tests/github/ghctl.py" --dir "$TMP/gh" "$@"; }
python3 "$SRCDIR/tests/github/standin.py" --dir "$TMP/gh" --poll-hold 20 2>"$TMP/standin.log" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$TMP/gh/url" ] && break; sleep 0.05; done
U=$(cat "$TMP/gh/url")
start_dockerd bench >/dev/null || { echo "bench/local: dockerd did not start"; exit 1; }
build_runner_image deskrun-bench-runner:1 0 || { echo "bench/local: no runner image"; exit 1; }
export DESKRUN_CONFIG=$TMP/config.json SSL_CERT_FILE=$TMP/gh/cert.pem
printf 'ghp_benchTokenNotReal0123456789abcdefghi\n' >"$TMP/token"
for s in cold:0 warm:1; do
	"$DESKRUN" add "${s%:*}" --repository "$U/acme/${s%:*}" --mode docker-socket --min-runners "${s#*:}" \
		--max-runners 1 --runner-image deskrun-bench-runner:1 --mount "$TMP/gh:/standin" \
		--auth-value-file "$TMP/token" >/dev/null || exit 1
done
ms() { date +%s%3N; }
# the set's running runner container (not the short-lived externals copy: deskrun.io/role)
running() { docker ps --filter "label=deskrun.io/set=$1" --filter status=running --format '{{.ID}} {{.Label "deskrun.io/role"}}' | awk 'NF == 1 {print $1; exit}'; }
taken_ms() { # the stand-in's runnerAssignTime - queueTime of request $1, in ms
	G job "$1" | python3 -c '
import json, sys
from datetime import datetime
j = json.load(sys.stdin)
t = lambda s: datetime.fromisoformat(s.rstrip("Z"))
print(round((t(j["runnerAssignTime"]) - t(j["queueTime"])).total_seconds() * 1000))'
}
p50() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
pmax() { sort -n | tail -1; }
# serve LABEL [ENV...]: an agent serving both sets through N cold and N warm jobs, then its
# idle resident memory once it has been quiet 35 s (it trims its start-up pages after 10 s
# quiet; DESKRUN_AGENT_NO_TRIM=1 keeps them: the baseline), then stopped.
serve() {
	local l=$1 i t0 R
	shift
	env "$@" "$DESKRUN" agent --host "$DOCKER_HOST" --network host --state-dir "$TMP/agent-$l" \
		--drain 5s 2>"$TMP/agent-$l.log" &
	APID=$!
	for _ in $(seq 1 300); do [ "$(grep -c "session open" "$TMP/agent-$l.log")" = 2 ] && break; sleep 0.1; done
	for i in $(seq 1 "$N"); do
		# cold: nothing runs for the set until the job comes
		for _ in $(seq 1 300); do [ -z "$(docker ps -aq --filter label=deskrun.io/set=cold)" ] && break; sleep 0.05; done
		t0=$(ms)
		R=$(G queue-job --scale-set cold | python3 -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
		while [ -z "$(running cold)" ]; do sleep 0.01; done
		echo $(($(ms) - t0)) >>"$TMP/$l.cold.run"
		G wait-job "$R" completed --timeout 60 >/dev/null
		taken_ms "$R" >>"$TMP/$l.cold.taken"
		# warm: the idle runner is up before the job comes
		for _ in $(seq 1 300); do [ -n "$(running warm)" ] && break; sleep 0.05; done
		sleep 0.5
		R=$(G queue-job --scale-set warm | python3 -c 'import json,sys; print(json.load(sys.stdin)["runnerRequestId"])')
		G wait-job "$R" completed --timeout 60 >/dev/null
		taken_ms "$R" >>"$TMP/$l.warm.taken"
	done
	# idle: both sets' runners settled, then 35 s quiet: the agent has trimmed (after 10 s)
	# and each set's long poll (held 20 s) has come back and been sent again since, on a new
	# TLS connection: the steady state, not the low point right after the trim.
	sleep 35
	awk '/VmRSS/ {print $2}' "/proc/$APID/status" >"$TMP/$l.rss"
	awk '/RssAnon/ {print $2}' "/proc/$APID/status" >"$TMP/$l.anon"
	awk '/^Pss:/ {print $2}' "/proc/$APID/smaps_rollup" >"$TMP/$l.pss"
	local c0 c1
	c0=$(awk '{print $14 + $15}' "/proc/$APID/stat")
	sleep 10
	c1=$(awk '{print $14 + $15}' "/proc/$APID/stat")
	echo $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) )) >"$TMP/$l.cpu"
	kill "$APID" && wait "$APID" 2>/dev/null
	APID=
}
# Interleaved rounds (base, agent, base, agent, ...): the machine's load drifts alike for both.
for l in base trim; do : >"$TMP/$l.cold.run" && : >"$TMP/$l.cold.taken" && : >"$TMP/$l.warm.taken"; done
for _ in $(seq 1 "$ROUNDS"); do
	serve base DESKRUN_AGENT_NO_TRIM=1
	serve trim
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf (b > 0 ? "%.2f" : "-"), a / b}'; }
row() { # row TEXT FILE-SUFFIX
	local b t
	b=$(p50 <"$TMP/base.$2") t=$(p50 <"$TMP/trim.$2")
	printf '%-52s %8s %8s %6s %8s\n' "$1" "$b" "$t" "$(ratio "$t" "$b")" "$(pmax <"$TMP/trim.$2")"
}
printf '%-52s %8s %8s %6s %8s\n' "local agent ($((N * ROUNDS)) jobs each; p50 ms)" baseline agent ratio "max"
row "cold: job queued -> runner container running" cold.run
row "cold: job queued -> taken by its runner" cold.taken
row "warm (--min-runners 1): job queued -> taken" warm.taken
printf '%-52s %8s %8s %6s\n' "idle agent (2 sets, quiet 35 s): RSS (kB)" "$(cat "$TMP/base.rss")" "$(cat "$TMP/trim.rss")" "$(ratio "$(cat "$TMP/trim.rss")" "$(cat "$TMP/base.rss")")"
printf '%-52s %8s %8s %6s\n' "idle agent: anonymous (kB)" "$(cat "$TMP/base.anon")" "$(cat "$TMP/trim.anon")" "$(ratio "$(cat "$TMP/trim.anon")" "$(cat "$TMP/base.anon")")"
printf '%-52s %8s %8s %6s\n' "idle agent: PSS (kB)" "$(cat "$TMP/base.pss")" "$(cat "$TMP/trim.pss")" "$(ratio "$(cat "$TMP/trim.pss")" "$(cat "$TMP/base.pss")")"
printf '%-52s %8s %8s\n' "idle agent: CPU over 10 s (ms)" "$(cat "$TMP/base.cpu")" "$(cat "$TMP/trim.cpu")"
printf '(baseline: the same agent with DESKRUN_AGENT_NO_TRIM=1, keeping its start-up pages; target RSS < 8192 kB)\n'
