#!/bin/bash
# help, --help and the man pages stay in step: every option a command accepts is documented in
# its man page; usage errors exit 2 with one line.
. "$SRCDIR/tests/lib/tap.sh"

run "$DESKRUN" help
check "deskrun help exits 0" eq "$RC" 0
check "deskrun help lists add" contains "$OUT" "  add "
run "$DESKRUN" --help
check "deskrun --help exits 0" eq "$RC" 0
run "$DESKRUN"
check "deskrun without a command exits 2" eq "$RC" 2
check "with one line" one_line "$ERR"
run "$DESKRUN" frobnicate
check "an unknown command exits 2" eq "$RC" 2
check "and names it" eq "$ERR" "deskrun: error: unknown command \"frobnicate\" (see 'deskrun help')"
run "$DESKRUN" stauts
check "a typo of a command: exit 2, suggesting the closest" eq "$RC:$ERR" "2:deskrun: error: unknown command \"stauts\": did you mean 'deskrun status'? (see 'deskrun help')"
run "$DESKRUN" docter
check "docter -> doctor" contains "$ERR" "did you mean 'deskrun doctor'?"
run "$DESKRUN" up --dry-rn
check "a typo of a flag: exit 2, suggesting the closest" eq "$RC:$ERR" "2:deskrun: error: unknown option --dry-rn for 'deskrun up': did you mean --dry-run? (see 'deskrun up --help')"
run "$DESKRUN" add web --mdoe dind
check "--mdoe -> --mode" contains "$ERR" "did you mean --mode?"
run "$DESKRUN" help frobnicate
check "help for an unknown command exits 2" eq "$RC" 2
run "$DESKRUN" version
check "version names deskrun and ARC" contains "$OUT" "actions-runner-controller 0.14.2"
run "$DESKRUN" --version
check "--version works too" contains "$OUT" "deskrun 0."

for cmd in $("$DESKRUN" help | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}'); do
	run "$DESKRUN" "$cmd" --help
	h1=$OUT
	check "$cmd --help exits 0 with a usage line" contains "$OUT" "usage: deskrun $cmd"
	run "$DESKRUN" help "$cmd"
	check "help $cmd equals $cmd --help" eq "$OUT" "$h1"
	page=$SRCDIR/docs/man/deskrun-$cmd.1.scd
	if [ ! -f "$page" ]; then
		not_ok "$cmd has a man page ($page)"
		continue
	fi
	ok "$cmd has a man page"
	missing=
	for opt in $(printf '%s\n' "$h1" | sed -n '/^options:/,/^$/p' | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "\*$opt\*" "$page" || missing="$missing $opt"
	done
	check "every option of $cmd is in its man page" eq "${missing:-none}" "none"
	# Every flag in the code (the command's option table in src/cmd/) is in --help.
	src=$SRCDIR/src/cmd/${cmd//-/_}.c
	undocumented=
	for opt in $(grep -oE "\{ \"[a-z][a-z0-9-]*\", (0|'[a-zA-Z]')," "$src" 2>/dev/null | sed -E 's/^\{ "([^"]*)".*/\1/'); do
		printf '%s\n' "$h1" | grep -q -- "--$opt\b" || undocumented="$undocumented --$opt"
	done
	check "every flag in $cmd's option table is in its --help" eq "${undocumented:-none}" "none"
	run "$DESKRUN" "$cmd" --no-such-option
	check "$cmd rejects an unknown option with exit 2" eq "$RC" 2
	check "$cmd's unknown-option error is one line naming it" contains "$ERR" "--no-such-option"
done
check "deskrun(1) lists every command" bash -c '
	for c in $("$DESKRUN" help | awk "/^commands:/{f=1;next} f&&/^  [a-z]/{print \$1}"); do
		grep -qF "*deskrun-$c*(1)" "$SRCDIR/docs/man/deskrun.1.scd" || exit 1
	done'
check "deskrun(1) documents every exit status" bash -c '
	for c in 0 1 2 3 4 126 127; do grep -q "^\*$c\*" "$SRCDIR/docs/man/deskrun.1.scd" || exit 1; done'

done_testing
