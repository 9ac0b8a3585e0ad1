#!/bin/bash
# Source rules the compiler cannot check: banned functions, file comments, no exit() outside
# main.c.
. "$SRCDIR/tests/lib/tap.sh"
cd "$SRCDIR" || exit 1
hits=$(grep -nE '\b(system|popen|strcpy|strcat|sprintf|vsprintf|strtok|gmtime|localtime|atoi|gets)\s*\(' \
	$(git ls-files 'src/*.c' 'src/*.h' 2>/dev/null || find src -name '*.[ch]') | grep -v '^\s*/\?\*')
check "no banned function (system, popen, strcpy, sprintf, strtok, atoi, ...)" eq "${hits:-none}" "none"
hits=$(grep -nE '\b(exit|_exit)\s*\(' $(find src -name '*.c' ! -name main.c) | grep -v 'dr_exit' | grep -v '^src/sys/spawn.c:.*_exit(127); */\* forked child \*/')
check "only main.c exits" eq "${hits:-none}" "none"
missing=
for f in $(find src -name '*.c' -o -name '*.h'); do
	head -1 "$f" | grep -q '^/\*' || missing="$missing $f"
done
check "every source file opens with a comment saying what it is for" eq "${missing:-none}" "none"
done_testing
