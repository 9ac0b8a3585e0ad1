#!/bin/bash
# bench/guard/run.sh: the guard against the raw socket and against an HAProxy path-filtering
# proxy (Tecnativa/docker-socket-proxy style ACLs), all measured in this one run on a private
# dockerd: /_ping and /containers/json round trips (p50/p99, one connection; the list also
# with the guard's label filter sent on every path), 64 concurrent clients on /_ping, a new
# connection per request, `docker run --rm` wall time, streaming a 1 GiB `docker save` and a
# 1 GiB build context (with Content-Length, and chunked the way the docker CLI sends it), the
# guard's idle RSS and its CPU use while idle. Prints a Markdown table of medians and ratios,
# then the spread of every row over the rounds.
#
# Noise: this is meant for small shared VMs, where one run of one path can be off by 2x.
# Every measurement is repeated in rounds; in each round the three paths run back to back,
# in an order that rotates from round to round, so drift and load hit all of them alike; the
# median over the rounds is reported (BENCH_ROUNDS, default 5, for the round trips;
# BENCH_RUN_ROUNDS, default 11, for `docker run`; BENCH_STREAM_ROUNDS, default 3, for the
# streams).
# Needs root (dockerd); DESKRUN and SRCDIR as set by scripts/bench.sh; BENCH_MIB (default
# 1024) sets the stream size; BENCH_GUARD_ARGS adds options to the guard (e.g. --busy-poll 0).
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
MIB=${BENCH_MIB:-1024}
ROUNDS=${BENCH_ROUNDS:-5}
SROUNDS=${BENCH_STREAM_ROUNDS:-3}
RROUNDS=${BENCH_RUN_ROUNDS:-11}
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
if ! dockerd_available || ! command -v haproxy >/dev/null; then
	echo "bench/guard: needs root, dockerd and haproxy; skipped"
	exit 0
fi
start_dockerd bench >/dev/null || exit 1
RAW=${DOCKER_HOST#unix://}
import_busybox tiny:1
cc -O2 -pthread -o "$TMP/loadgen" "$SRCDIR/bench/guard/loadgen.c" || exit 1
L=$TMP/loadgen

# launch_guard BIN NAME: BIN's guard for tenant bench on $TMP/NAME.sock, its log $TMP/NAME.log;
# sets LAUNCHED to its pid. rss PID: its VmRSS in KiB. wait_sock PATH: until PATH is a socket.
launch_guard() {
	"$1" guard --tenant bench --upstream "unix://$RAW" --listen "$TMP/$2.sock" \
		--state-dir "$TMP/state-$2" --socket-mode 0666 ${BENCH_GUARD_ARGS:-} >"$TMP/$2.log" 2>&1 &
	LAUNCHED=$!
}
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
wait_sock() {
	local i
	for i in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}
launch_guard "$DESKRUN" guard
GUARD_PID=$LAUNCHED
cat >"$TMP/haproxy.cfg" <<EOF2
global
    maxconn 4000
    log stdout format raw local0 err
defaults
    mode http
    timeout connect 10s
    timeout client 2m
    timeout server 2m
    timeout tunnel 1h
frontend dockerfrontend
    bind unix@$TMP/haproxy.sock mode 666
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/_ping }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/version }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/info }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/events }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/exec }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/images }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/build }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/networks }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/volumes }
    http-request deny
    default_backend dockerbackend
backend dockerbackend
    server dockersocket $RAW
EOF2
haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!
trap 'kill $GUARD_PID $HAPROXY_PID 2>/dev/null; wait $GUARD_PID $HAPROXY_PID 2>/dev/null; _dockerd_stop_all' EXIT
wait_sock "$TMP/guard.sock"
wait_sock "$TMP/haproxy.sock"
sleep 0.3
IDLE_RSS=$(rss $GUARD_PID)
# The pods run the guard from deskrun-static (no libssl/libcrypto mapped: doctor's TLS is not in
# it), so its idle RSS is what a node pays per runner; measured the same way, then stopped.
STATIC_RSS=""
STATIC=$(dirname "$DESKRUN")/deskrun-static
if [ -x "$STATIC" ]; then
	launch_guard "$STATIC" guard-static
	wait_sock "$TMP/guard-static.sock"
	sleep 0.3
	STATIC_RSS=$(rss $LAUNCHED)
	kill $LAUNCHED; wait $LAUNCHED 2>/dev/null
fi
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Five containers, created through the guard so every path lists the same five. `docker run
# -d` leaves a `wait` request behind on a connection the CLI then closes: the guard must not
# spend CPU on it (measured below).
for i in 1 2 3 4 5; do DOCKER_HOST=unix://$TMP/guard.sock docker run -d --name "bench-$i" tiny:1 sleep 3600 >/dev/null; done
sleep 0.5
t0=$(cpu_ticks $GUARD_PID)
sleep 2
IDLE_CPU=$(( ($(cpu_ticks $GUARD_PID) - t0) * 10 / 2 )) # ms of CPU per second

declare -A RES LO HI
SOCKS=(raw guard haproxy)
sock() { case $1 in raw) echo "$RAW" ;; guard) echo "$TMP/guard.sock" ;; haproxy) echo "$TMP/haproxy.sock" ;; esac; }
# the paths in round r's order: rotated by r
order() { local r=$1 i; for i in 0 1 2; do echo "${SOCKS[$(( (i + r) % 3 ))]}"; done; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# keep KEY FILE: median, min and max of the numbers in FILE
keep() {
	RES[$1]=$(median <"$2")
	LO[$1]=$(sort -n "$2" | head -1)
	HI[$1]=$(sort -n "$2" | tail -1)
}

# The guard asks the daemon for the tenant's containers only (a label filter HAProxy does not
# add); jsonf sends that same filter on every path, so the daemon does the same work on all.
JSONF='/v1.41/containers/json?filters=%7B%22label%22%3A%7B%22io.deskrun.tenant%3Dbench%22%3Atrue%7D%7D'
for metric in ping json jsonf c64 conn; do
	for p in "${SOCKS[@]}"; do for f in p50 p99 rps mean; do : >"$TMP/$metric-$p.$f"; done; done
	for round in $(seq 1 "$ROUNDS"); do
		for p in $(order "$round"); do
			case $metric in
			ping) out=$($L rt "$(sock $p)" /_ping 4000 1) ;;
			json) out=$($L rt "$(sock $p)" /v1.41/containers/json 2000 1) ;;
			jsonf) out=$($L rt "$(sock $p)" "$JSONF" 2000 1) ;;
			c64) out=$($L rt "$(sock $p)" /_ping 25600 64) ;;
			conn) out=$($L conn "$(sock $p)" /_ping 2000) ;;
			esac
			set -- $out
			echo "$1" >>"$TMP/$metric-$p.p50"
			echo "$2" >>"$TMP/$metric-$p.p99"
			echo "$3" >>"$TMP/$metric-$p.rps"
			echo "$4" >>"$TMP/$metric-$p.mean"
		done
	done
	for p in "${SOCKS[@]}"; do
		for f in p50 p99 rps mean; do keep "$metric-$p-$f" "$TMP/$metric-$p.$f"; done
	done
done

for p in "${SOCKS[@]}"; do : >"$TMP/run-$p"; done
DOCKER_HOST=unix://$RAW docker run --rm tiny:1 true # warm-up, not timed
for round in $(seq 1 "$RROUNDS"); do
	for p in $(order "$round"); do
		t0=$(date +%s%N)
		DOCKER_HOST=unix://$(sock $p) docker run --rm tiny:1 true
		echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$TMP/run-$p"
	done
done
for p in "${SOCKS[@]}"; do keep "run-$p" "$TMP/run-$p"; done

# a MIB MiB image for docker save
mkdir -p "$TMP/big"
head -c "$((MIB * 1024 * 1024))" /dev/urandom >"$TMP/big/blob"
tar -C "$TMP/big" -c blob | docker import - bench/big:1 >/dev/null
rm -f "$TMP/big/blob"
mibs() { awk -v b="$1" -v s="$2" 'BEGIN{printf "%.0f\n", b/1048576/s}'; }
for p in "${SOCKS[@]}"; do : >"$TMP/save-$p"; : >"$TMP/build-$p"; : >"$TMP/chunked-$p"; done
# Warm-up, not timed: the first export reads the image from disk and the first build is
# slower; whichever path ran first would carry that.
$L stream "$RAW" /v1.41/images/bench%2Fbig:1/get >/dev/null
$L build "$RAW" "$MIB" bench/ctx-warm >/dev/null
GUARD_T0=$(cpu_ticks $GUARD_PID)
# stream OUT LOADGEN-ARGS...: MiB/s appended to OUT; a stream that fails (a reset, a stall
# that the proxy times out) is said on stderr and counted in STREAM_FAILS instead of ending
# the whole run.
STREAM_FAILS=""
stream() {
	local out=$1 r
	shift
	if r=$($L "$@") && [ -n "$r" ]; then
		set -- $r
		mibs "$1" "$2" >>"$out"
	else
		echo "bench/guard: failed: loadgen $*" >&2
		STREAM_FAILS="$STREAM_FAILS $(basename "$out")"
	fi
}
for round in $(seq 1 "$SROUNDS"); do
	for p in $(order "$round"); do
		stream "$TMP/save-$p" stream "$(sock $p)" /v1.41/images/bench%2Fbig:1/get
	done
	for p in $(order "$round"); do
		stream "$TMP/build-$p" build "$(sock $p)" "$MIB" "bench/ctx-$p"
	done
	for p in $(order "$round"); do
		stream "$TMP/chunked-$p" build "$(sock $p)" "$MIB" "bench/ctx-$p" chunked
	done
done
GUARD_STREAM_CPU=$(( ($(cpu_ticks $GUARD_PID) - GUARD_T0) * 10 ))
for p in "${SOCKS[@]}"; do
	keep "save-$p" "$TMP/save-$p"
	keep "build-$p" "$TMP/build-$p"
	keep "chunked-$p" "$TMP/chunked-$p"
done
LOAD_RSS=$(rss $GUARD_PID)
kill -TERM $GUARD_PID
wait $GUARD_PID

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else print "-" }'; }
ROWS=()
row() { # name unit key
	ROWS+=("$1|$2|$3")
	printf '| %s | %s %s | %s %s | %s %s | %s | %s |\n' "$1" "${RES[${3/@/raw}]}" "$2" \
		"${RES[${3/@/guard}]}" "$2" "${RES[${3/@/haproxy}]}" "$2" \
		"$(ratio "${RES[${3/@/guard}]}" "${RES[${3/@/raw}]}")" \
		"$(ratio "${RES[${3/@/haproxy}]}" "${RES[${3/@/raw}]}")"
}
echo "| measure | raw socket | deskrun guard | HAProxy path filter | guard / raw | HAProxy / raw |"
echo "|---|---|---|---|---|---|"
row "/_ping round trip p50 (1 conn)" µs "ping-@-p50"
row "/_ping round trip p99 (1 conn)" µs "ping-@-p99"
row "/containers/json p50 (1 conn, 5 containers)" µs "json-@-p50"
row "/containers/json p99 (1 conn)" µs "json-@-p99"
row "/containers/json with the guard's label filter on every path: p50" µs "jsonf-@-p50"
row "/containers/json with the guard's label filter on every path: p99" µs "jsonf-@-p99"
row "/_ping, 64 concurrent clients: p50" µs "c64-@-p50"
row "/_ping, 64 concurrent clients: p99" µs "c64-@-p99"
row "/_ping, 64 concurrent clients: mean (= 64 / throughput)" µs "c64-@-mean"
row "/_ping, 64 concurrent clients: throughput" req/s "c64-@-rps"
row "/_ping, new connection per request: p50" µs "conn-@-p50"
row "docker run --rm tiny:1 true (median of $RROUNDS)" ms "run-@"
row "docker save, $MIB MiB image (median of $SROUNDS)" MiB/s "save-@"
row "build context upload, $MIB MiB, Content-Length (median of $SROUNDS)" MiB/s "build-@"
row "build context upload, $MIB MiB, chunked like the CLI (median of $SROUNDS)" MiB/s "chunked-@"
echo
echo "guard RSS: idle ${IDLE_RSS} KiB at start${STATIC_RSS:+ (${STATIC_RSS} KiB for deskrun-static, the binary the pods run)}, ${LOAD_RSS} KiB after the runs;" \
	"guard CPU while idle (5 abandoned \`wait\` requests): ${IDLE_CPU} ms/s;" \
	"guard CPU for all the streams: ${GUARD_STREAM_CPU} ms"
sed -n 's/.* stop: stopped by signal [0-9]* (\(.*\))$/guard counters: \1/p' "$TMP/guard.log"
[ -z "$STREAM_FAILS" ] || echo "streams that failed (left out of their medians):$STREAM_FAILS"
echo
echo "Spread over the rounds (min..max of the per-round values; $ROUNDS rounds, $RROUNDS for" \
	"\`docker run\`, $SROUNDS for streams):"
echo
echo "| measure | raw socket | deskrun guard | HAProxy path filter |"
echo "|---|---|---|---|"
for r in "${ROWS[@]}"; do
	IFS='|' read -r name unit key <<<"$r"
	k() { echo "${key/@/$1}"; }
	printf '| %s | %s..%s | %s..%s | %s..%s |\n' "$name" "${LO[$(k raw)]}" "${HI[$(k raw)]}" \
		"${LO[$(k guard)]}" "${HI[$(k guard)]}" "${LO[$(k haproxy)]}" "${HI[$(k haproxy)]}"
done
# A failed stream fails the run (make bench reports it) after the tables are out.
[ -z "$STREAM_FAILS" ]
