#!/bin/bash
# make check: build with -Werror and run every test suite, then build with ASan+UBSan (leak
# detection on) and run the unit, golden and CLI suites again. The last line is
# "N passed, N failed" over every TAP test case. The fuzz targets run in between
# (FUZZ_SECONDS each, 60 by default; SKIP_FUZZ=1 skips them).
set -u
cd "$(dirname "$0")/.."
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
status=0

# The real docker buildx/compose plugins of the guard's W07/W08 rows: the suite uses them when
# tests/clients/build.sh's cache is warm and skips them otherwise. A cold build (minutes) runs
# only when asked, here before the suites so no test timeout covers it.
if [ "${DESKRUN_BUILD_CLIENTS:-0}" = 1 ]; then
	tests/clients/build.sh >/dev/null || echo "check: tests/clients/build.sh failed; W07b/W08 will skip" >&2
fi

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" ${MESON_OPTS:-} || exit 1
ninja -C "$BUILD" || exit 1
meson test -C "$BUILD" --print-errorlogs || status=1
logs=("$BUILD/meson-logs/testlog.json")

if [ "$asan" = 1 ]; then
	[ -f "$ASAN_BUILD/build.ninja" ] ||
		meson setup "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
			-Dbuildtype=debug -Dman=disabled || exit 1
	ninja -C "$ASAN_BUILD" || exit 1
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$ASAN_BUILD" --suite unit --suite golden --suite cli --suite guard --suite pod --print-errorlogs || status=1
	logs+=("$ASAN_BUILD/meson-logs/testlog.json")
fi

# Each libFuzzer target for a bounded time (60 s by default, as CI requires).
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	FUZZ_SECONDS=${FUZZ_SECONDS:-60} scripts/fuzz.sh || status=1
fi

"${PYTHON:-/usr/bin/python3}" scripts/test-summary.py "${logs[@]}" || status=1
exit $status
