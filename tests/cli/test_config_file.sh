#!/bin/bash
# The config file: where it lives, corrupt or newer files (exit 3, left untouched), permissions,
# and `deskrun config`.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
R=(--repository https://github.com/acme/web --auth-value-file "$DATA/token")

# ---- location ----
run env -u DESKRUN_CONFIG HOME="$TMP/home" XDG_CONFIG_HOME= "$DESKRUN" add a "${R[@]}"
check "default path is ~/.config/deskrun/config.json" test -f "$TMP/home/.config/deskrun/config.json"
run env -u DESKRUN_CONFIG HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/xdg" "$DESKRUN" add b "${R[@]}"
check "XDG_CONFIG_HOME moves it" test -f "$TMP/xdg/deskrun/config.json"
run env DESKRUN_CONFIG="$TMP/env.json" HOME="$TMP/home" "$DESKRUN" add c "${R[@]}"
check "DESKRUN_CONFIG names it" test -f "$TMP/env.json"
run env DESKRUN_CONFIG="$TMP/env.json" "$DESKRUN" --config "$TMP/flag.json" add d "${R[@]}"
check "--config wins over DESKRUN_CONFIG" test -f "$TMP/flag.json"
run env DESKRUN_CONFIG="$TMP/env.json" "$DESKRUN" list --config="$TMP/flag.json"
check "--config=PATH after the command works too" contains "$OUT" "d "
run env -u DESKRUN_CONFIG -u HOME -u XDG_CONFIG_HOME "$DESKRUN" list
check "no HOME and no --config exits 3" eq "$RC" 3
check "and says how to fix it" contains "$ERR" "give --config PATH or set DESKRUN_CONFIG"

# ---- corrupt, newer, unknown: exit 3 and the file is left untouched ----
untouched() {
	local label=$1 file=$2 want=$3
	cp "$file" "$TMP/orig"
	local cmd
	for cmd in "add z ${R[*]}" "list" "render" "remove a" "config set cache-root /x"; do
		# shellcheck disable=SC2086
		run "$DESKRUN" --config "$file" $cmd
		if [ "$RC" -eq 3 ] && one_line "$ERR" && contains "$ERR" "$want" >/dev/null &&
			cmp -s "$file" "$TMP/orig"; then
			ok "$label: '${cmd%% *}' exits 3 with a clear error, file untouched"
		else
			not_ok "$label: '${cmd%% *}' exits 3 with a clear error, file untouched"
			diag "rc=$RC" "stderr: $ERR"
		fi
	done
}
printf '{"version": 1, "runners": {' >"$TMP/corrupt.json"
chmod 600 "$TMP/corrupt.json"
untouched "truncated JSON" "$TMP/corrupt.json" "is not valid JSON (line 1 column 27"
printf '{"version": 7, "runners": {}}\n' >"$TMP/newer.json"
chmod 600 "$TMP/newer.json"
untouched "newer version" "$TMP/newer.json" "written by a newer deskrun (format version 7; this deskrun reads version 1): upgrade deskrun"
printf '{"version": 1, "runners": {"a": {"repository": "https://github.com/a/b", "mode": "dind", "auth": {"type": "pat", "token": "t"}, "gpus": 2}}}\n' >"$TMP/unknown.json"
chmod 600 "$TMP/unknown.json"
untouched "unknown field" "$TMP/unknown.json" 'unknown field "gpus"'
printf '{"version": 1, "runners": {"a": {"repository": "https://github.com/a/b", "mode": "dind", "auth": {"type": "pat"}}}}\n' >"$TMP/invalid.json"
chmod 600 "$TMP/invalid.json"
untouched "invalid definition" "$TMP/invalid.json" 'runner "a": no GitHub token'
printf '{"version": 1, "version": 1}\n' >"$TMP/dup.json"
chmod 600 "$TMP/dup.json"
untouched "duplicate keys" "$TMP/dup.json" "duplicate object key"
mkdir -p "$TMP/dir.json"
run "$DESKRUN" --config "$TMP/dir.json" list
check "a directory as config exits 3" eq "$RC" 3
check "and says it is unreadable" contains "$ERR" "is unreadable"

# ---- permissions ----
CFG=$TMP/perm/config.json
"$DESKRUN" --config "$CFG" add a "${R[@]}" >/dev/null
chmod 644 "$CFG"
run "$DESKRUN" --config "$CFG" list
check "a config readable by others gets a warning" contains "$ERR" "accessible to other users (mode 0644)"
"$DESKRUN" --config "$CFG" add b "${R[@]}" >/dev/null 2>&1
check "the next write makes it 0600 again" eq "$(stat -c %a "$CFG")" 600
check "no temporary files are left" eq "$(find "$TMP/perm" -name 'config.json.*' ! -name '*.lock' | wc -l)" 0

# ---- deskrun config ----
CFG=$TMP/settings.json
run "$DESKRUN" --config "$CFG" config show
check "config show lists the defaults" contains "$OUT" "cache-root                   /var/lib/deskrun/cache"
run "$DESKRUN" --config "$CFG" config set cache-root /data/cache
check "config set exits 0" eq "$RC" 0
run "$DESKRUN" --config "$CFG" config get cache-root
check "config get reads it back" eq "$OUT" "/data/cache"
cp "$CFG" "$TMP/settings.orig"
run "$DESKRUN" --config "$CFG" config set cache-root relative
check "an invalid setting exits 2" eq "$RC" 2
check "and leaves the file alone" cmp -s "$CFG" "$TMP/settings.orig"
run "$DESKRUN" --config "$CFG" config set colour red
check "an unknown setting exits 2" eq "$RC" 2
check "and names it" eq "$ERR" "deskrun: error: no setting \"colour\": 'deskrun config show' lists them"
run "$DESKRUN" --config "$CFG" config set cache-root
check "config set without a value exits 2" eq "$RC" 2

# controller-chart: where up takes ARC's controller chart from (empty: ghcr.io's)
run "$DESKRUN" --config "$CFG" config get controller-chart
check "controller-chart is empty by default (ghcr.io's chart)" eq "$RC:$OUT" "0:"
run "$DESKRUN" --config "$CFG" config set controller-chart /srv/charts/gha-runner-scale-set-controller-0.14.2.tgz
check "config set controller-chart takes an absolute archive path" eq "$RC" 0
check "and writes it to the file" contains "$(cat "$CFG")" '"controller_chart": "/srv/charts/gha-runner-scale-set-controller-0.14.2.tgz"'
cp "$CFG" "$TMP/settings.orig"
run "$DESKRUN" --config "$CFG" config set controller-chart ./charts/arc
check "a relative chart path exits 2" eq "$RC" 2
check "with one line naming the setting and the fix" eq "$ERR" "deskrun: error: controller-chart \"./charts/arc\": give an absolute path to a chart directory or .tgz archive, or an oci://HOST/PATH/gha-runner-scale-set-controller reference (empty: ghcr.io's chart)"
check "and leaves the file alone" cmp -s "$CFG" "$TMP/settings.orig"
run "$DESKRUN" --config "$CFG" config set controller-chart oci://mirror.local:5000/charts/gha-runner-scale-set-controller
check "an oci:// mirror is accepted" eq "$RC" 0
run "$DESKRUN" --config "$CFG" config set controller-chart ""
check "'' goes back to ghcr.io's chart" eq "$RC:$("$DESKRUN" --config "$CFG" config get controller-chart)" "0:"

done_testing
