#!/bin/bash
# make fuzz: build each libFuzzer target under fuzz/ with clang (-fsanitize=fuzzer,address,
# undefined) straight from the sources it needs, run the targets side by side, each for
# FUZZ_SECONDS (default 60) on a copy of its seed corpus fuzz/corpus/<target>/, and print one
# line per target:
#   fuzz <target>: N runs in S s, no crash
# Exits non-zero when a target fails to build or crashes (the crashing input is kept in
# $FUZZ_OUT, default build-fuzz/).
set -u
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
OUT=${FUZZ_OUT:-build-fuzz}
CC=${FUZZ_CC:-clang}
mkdir -p "$OUT"
# The guard's pure sources and the few lib helpers they use.
SOURCES="src/guard/http.c src/guard/gjson.c src/guard/decide.c src/guard/decide_containers.c
	src/guard/decide_exec.c src/guard/decide_images.c src/guard/decide_netvol.c src/guard/policy.c
	src/guard/decide_grpc.c src/guard/h2grpc.c src/guard/dockerfile.c src/lib/xalloc.c src/lib/err.c src/lib/buf.c"
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-fno-omit-frame-pointer -D_GNU_SOURCE -std=gnu11 -I. -Isrc"
status=0
built=()
for t in http_request policy_json h2grpc dockerfile; do
	# shellcheck disable=SC2086
	if ! "$CC" $FLAGS "fuzz/fuzz_$t.c" $SOURCES -lhttp_parser -ljansson -lnghttp2 -o "$OUT/fuzz_$t" \
		>"$OUT/build-$t.log" 2>&1; then
		echo "fuzz $t: build failed (see $OUT/build-$t.log)"
		sed 's/^/  /' "$OUT/build-$t.log" | tail -20
		status=1
		continue
	fi
	built+=("$t")
done

# The targets run side by side (sharing the cores), each for the whole time.
fuzz_one() {
	local t=$1 start rc secs runs
	rm -rf "$OUT/corpus-$t"
	mkdir -p "$OUT/corpus-$t"
	cp fuzz/corpus/"$t"/* "$OUT/corpus-$t/" 2>/dev/null
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$OUT/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$OUT/crash-$t-" "$OUT/corpus-$t" \
		>"$OUT/run-$t.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/run-$t.log" | grep -o '[0-9]*$' | tail -1)
	if [ "$rc" = 0 ]; then
		echo "fuzz $t: ${runs:-0} runs in $secs s, no crash" >"$OUT/result-$t"
	else
		{
			echo "fuzz $t: CRASH after ${runs:-?} runs in $secs s (exit $rc; input and log in $OUT/)"
			grep -E 'ERROR|SUMMARY|runtime error' "$OUT/run-$t.log" | head -5 | sed 's/^/  /'
		} >"$OUT/result-$t"
		return 1
	fi
}
pids=()
for t in "${built[@]}"; do
	fuzz_one "$t" &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || status=1
	cat "$OUT/result-${built[$i]}"
done
exit $status
