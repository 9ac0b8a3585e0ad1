#!/bin/bash
# Golden tests: each tests/golden/cases/<case>.cmd is a list of deskrun invocations (one per
# line, without "deskrun --config"; @DATA@ is tests/data). The last line renders; its output must
# equal <case>.yaml byte for byte. UPDATE_GOLDEN=1 rewrites the .yaml files for review.
# Then every case's objects are checked by tests/schema/validate.py: the YAML reads back as the
# JSON output (with PyYAML, a YAML 1.1 reader), and every object, secrets included, validates
# against ../shared/schemas.
. "$SRCDIR/tests/lib/tap.sh"

cases=$SRCDIR/tests/golden/cases
data=$SRCDIR/tests/data
for cmdfile in "$cases"/*.cmd; do
	name=$(basename "$cmdfile" .cmd)
	dir=$TMP/$name
	mkdir -p "$dir"
	cfg=$dir/config.json
	mapfile -t lines < <(grep -v '^[[:space:]]*\(#\|$\)' "$cmdfile")
	last=$((${#lines[@]} - 1))
	failed=
	for ((i = 0; i < last; i++)); do
		eval "set -- ${lines[$i]//@DATA@/$data}"
		if ! "$DESKRUN" --config "$cfg" "$@" >"$dir/setup.out" 2>&1; then
			failed="setup line $((i + 1)) failed: $(cat "$dir/setup.out")"
			break
		fi
	done
	if [ -n "$failed" ]; then
		not_ok "$name"
		diag "$failed"
		continue
	fi
	eval "set -- ${lines[$last]//@DATA@/$data}"
	"$DESKRUN" --config "$cfg" "$@" >"$dir/render.yaml" 2>"$dir/render.err"
	rc=$?
	"$DESKRUN" --config "$cfg" "$@" >"$dir/render2.yaml" 2>/dev/null
	"$DESKRUN" --config "$cfg" "$@" --output json >"$dir/render.json" 2>/dev/null
	"$DESKRUN" --config "$cfg" "$@" --output json --include-secrets >"$dir/secrets.json" 2>/dev/null
	expected=$cases/$name.yaml
	if [ "$rc" -ne 0 ]; then
		not_ok "$name: render exits 0"
		diag "$(cat "$dir/render.err")"
	elif [ "${UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$dir/render.yaml" "$expected"
		ok "$name: golden file rewritten (UPDATE_GOLDEN=1), review it with git diff"
	elif [ ! -f "$expected" ]; then
		not_ok "$name: no golden file $expected (run with UPDATE_GOLDEN=1)"
	elif diff -u "$expected" "$dir/render.yaml" >"$dir/diff"; then
		ok "$name: render equals the golden file"
	else
		not_ok "$name: render equals the golden file"
		diag "$(head -60 "$dir/diff")"
	fi
	if cmp -s "$dir/render.yaml" "$dir/render2.yaml"; then
		ok "$name: render is byte-identical across runs"
	else
		not_ok "$name: render is byte-identical across runs"
	fi
done

# Schema and YAML checks, renumbered into this TAP stream.
while IFS= read -r line; do
	case $line in
	"ok - "*"# SKIP "*) rest=${line#ok - }; skip "${rest%% # SKIP *}" "${rest#* # SKIP }" ;;
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < <("${PYTHON:-/usr/bin/python3}" "$SRCDIR/tests/schema/validate.py" "$TMP"/*/ 2>&1)

done_testing
