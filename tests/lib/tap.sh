# tests/lib/tap.sh: a small TAP library for the shell suites (bubblewrap's libtest habit).
# Source it; it sets TMP (removed on exit), and provides:
#   run CMD...           run CMD, capture OUT, ERR and RC
#   ok/not_ok/skip/diag  emit TAP lines;  check NAME CMD... runs CMD as the test's condition
#   todo_check NAME REASON CMD...   a known bug (TAP TODO): "not ok ... # TODO REASON" while CMD
#                        fails, which fails nothing; once CMD passes, "ok ... # TODO", which
#                        meson and scripts/test-summary.py count as a failure (an unexpected
#                        pass): then make it a check
#   done_testing         print the plan and exit non-zero if anything failed
set -u
_tap_n=0
_tap_fail=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/deskrun-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
OUT= ERR= RC=0

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

run() {
	OUT=$("$@" 2>"$TMP/.stderr")
	RC=$?
	ERR=$(cat "$TMP/.stderr")
}

# run with stdin from a string: run_in STRING CMD...
run_in() {
	local input=$1
	shift
	OUT=$(printf '%s' "$input" | "$@" 2>"$TMP/.stderr")
	RC=$?
	ERR=$(cat "$TMP/.stderr")
}

check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name"
		diag "condition: $*" "rc: $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}

todo_check() {
	local name=$1 why=$2
	shift 2
	_tap_n=$((_tap_n + 1))
	if "$@"; then
		echo "ok $_tap_n - $name # TODO $why"
	else
		echo "not ok $_tap_n - $name # TODO $why"
		diag "condition: $*" "rc: $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}

eq() { [ "$1" = "$2" ] || { diag "expected: $2" "got:      $1"; return 1; }; }
contains() { case "$1" in *"$2"*) return 0 ;; esac; diag "missing: $2"; return 1; }
lacks() { case "$1" in *"$2"*) diag "unexpected: $2"; return 1 ;; esac; return 0; }
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_fail" -eq 0 ]
}
# wait_for SECONDS CMD...: until CMD succeeds (every $WAIT_FOR_STEP s, default 0.2); 1 if it
# still fails after SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep "${WAIT_FOR_STEP:-0.2}"
	done
}
