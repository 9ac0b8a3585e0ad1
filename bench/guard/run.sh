#!/bin/bash
# bench/guard/run.sh: the guard against the raw socket and against an HAProxy path-filtering
# proxy (Tecnativa/docker-socket-proxy style ACLs), all measured in this one run on a private
# dockerd: /_ping and /containers/json round trips (p50/p99, one connection), 64 concurrent
# clients on /_ping, `docker run --rm` wall time, streaming a 1 GiB `docker save` and a 1 GiB
# build context, and the guard's idle RSS. Prints a Markdown table of times and ratios.
# Needs root (dockerd); DESKRUN and SRCDIR as set by scripts/bench.sh; BENCH_MIB (default
# 1024) sets the stream size.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DESKRUN=${DESKRUN:-$SRCDIR/build/deskrun}
MIB=${BENCH_MIB:-1024}
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

"$DESKRUN" guard --tenant bench --upstream "unix://$RAW" --listen "$TMP/guard.sock" \
	--state-dir "$TMP/state-bench" --socket-mode 0666 >"$TMP/guard.log" 2>&1 &
GUARD_PID=$!
cat >"$TMP/haproxy.cfg" <<EOF2
global
    maxconn 4000
    log stdout format raw local0 err
defaults
    mode http
    timeout connect 10s
    timeout client 10m
    timeout server 10m
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
for i in $(seq 1 100); do [ -S "$TMP/guard.sock" ] && [ -S "$TMP/haproxy.sock" ] && break; sleep 0.05; done
sleep 0.3
IDLE_RSS=$(awk '/VmRSS/{print $2}' /proc/$GUARD_PID/status)

# five containers, created through the guard so every path lists the same five
for i in 1 2 3 4 5; do DOCKER_HOST=unix://$TMP/guard.sock docker run -d --name "bench-$i" tiny:1 sleep 3600 >/dev/null; done

declare -A RES
SOCKS=(raw guard haproxy)
sock() { case $1 in raw) echo "$RAW" ;; guard) echo "$TMP/guard.sock" ;; haproxy) echo "$TMP/haproxy.sock" ;; esac; }
# Rounds alternate the paths so drift on this shared machine hits all of them alike; the
# median of the rounds is kept.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for metric in ping json c64; do
	for p in "${SOCKS[@]}"; do : >"$TMP/$metric-$p.p50"; : >"$TMP/$metric-$p.p99"; : >"$TMP/$metric-$p.rps"; done
	for round in 1 2 3 4 5; do
		for p in "${SOCKS[@]}"; do
			case $metric in
			ping) out=$($L rt "$(sock $p)" /_ping 4000 1) ;;
			json) out=$($L rt "$(sock $p)" /v1.41/containers/json 2000 1) ;;
			c64) out=$($L rt "$(sock $p)" /_ping 12800 64) ;;
			esac
			set -- $out
			echo "$1" >>"$TMP/$metric-$p.p50"
			echo "$2" >>"$TMP/$metric-$p.p99"
			echo "$3" >>"$TMP/$metric-$p.rps"
		done
	done
	for p in "${SOCKS[@]}"; do
		RES[$metric-$p-p50]=$(median <"$TMP/$metric-$p.p50")
		RES[$metric-$p-p99]=$(median <"$TMP/$metric-$p.p99")
		RES[$metric-$p-rps]=$(median <"$TMP/$metric-$p.rps")
	done
done

for p in "${SOCKS[@]}"; do : >"$TMP/run-$p"; done
for round in 1 2 3 4 5; do
	for p in "${SOCKS[@]}"; do
		t0=$(date +%s%N)
		DOCKER_HOST=unix://$(sock $p) docker run --rm tiny:1 true
		echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$TMP/run-$p"
	done
done
for p in "${SOCKS[@]}"; do RES[run-$p]=$(median <"$TMP/run-$p"); done

# a MIB MiB image for docker save
mkdir -p "$TMP/big"
head -c "$((MIB * 1024 * 1024))" /dev/urandom >"$TMP/big/blob"
tar -C "$TMP/big" -c blob | docker import - bench/big:1 >/dev/null
rm -f "$TMP/big/blob"
for p in "${SOCKS[@]}"; do : >"$TMP/save-$p"; : >"$TMP/build-$p"; done
for round in 1 2; do
	for p in "${SOCKS[@]}"; do
		set -- $($L stream "$(sock $p)" /v1.41/images/bench%2Fbig:1/get)
		awk -v b="$1" -v s="$2" 'BEGIN{printf "%.0f\n", b/1048576/s}' >>"$TMP/save-$p"
		set -- $($L build "$(sock $p)" "$MIB" "bench/ctx-$p")
		awk -v b="$1" -v s="$2" 'BEGIN{printf "%.0f\n", b/1048576/s}' >>"$TMP/build-$p"
	done
done
for p in "${SOCKS[@]}"; do
	RES[save-$p]=$(sort -n "$TMP/save-$p" | tail -1)
	RES[build-$p]=$(sort -n "$TMP/build-$p" | tail -1)
done
LOAD_RSS=$(awk '/VmRSS/{print $2}' /proc/$GUARD_PID/status)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else print "-" }'; }
row() { # name unit raw guard haproxy (lower is better: 1, higher is better: 0)
	printf '| %s | %s %s | %s %s | %s %s | %s | %s |\n' "$1" "$3" "$2" "$4" "$2" "$5" "$2" \
		"$(ratio "$4" "$3")" "$(ratio "$5" "$3")"
}
echo "| measure | raw socket | deskrun guard | HAProxy path filter | guard / raw | HAProxy / raw |"
echo "|---|---|---|---|---|---|"
row "/_ping round trip p50 (1 conn)" µs "${RES[ping-raw-p50]}" "${RES[ping-guard-p50]}" "${RES[ping-haproxy-p50]}"
row "/_ping round trip p99 (1 conn)" µs "${RES[ping-raw-p99]}" "${RES[ping-guard-p99]}" "${RES[ping-haproxy-p99]}"
row "/containers/json p50 (1 conn, 5 containers)" µs "${RES[json-raw-p50]}" "${RES[json-guard-p50]}" "${RES[json-haproxy-p50]}"
row "/containers/json p99 (1 conn)" µs "${RES[json-raw-p99]}" "${RES[json-guard-p99]}" "${RES[json-haproxy-p99]}"
row "/_ping, 64 concurrent clients: p50" µs "${RES[c64-raw-p50]}" "${RES[c64-guard-p50]}" "${RES[c64-haproxy-p50]}"
row "/_ping, 64 concurrent clients: p99" µs "${RES[c64-raw-p99]}" "${RES[c64-guard-p99]}" "${RES[c64-haproxy-p99]}"
row "/_ping, 64 concurrent clients: throughput" req/s "${RES[c64-raw-rps]}" "${RES[c64-guard-rps]}" "${RES[c64-haproxy-rps]}"
row "docker run --rm tiny:1 true (median of 5)" ms "${RES[run-raw]}" "${RES[run-guard]}" "${RES[run-haproxy]}"
row "docker save, $MIB MiB image (best of 2)" MiB/s "${RES[save-raw]}" "${RES[save-guard]}" "${RES[save-haproxy]}"
row "build context upload, $MIB MiB (best of 2)" MiB/s "${RES[build-raw]}" "${RES[build-guard]}" "${RES[build-haproxy]}"
echo
echo "guard RSS: idle ${IDLE_RSS} KiB at start, ${LOAD_RSS} KiB after the runs"
