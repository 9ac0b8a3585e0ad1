#!/bin/bash
# 20 concurrent `deskrun add`s of different names lose none: the read-modify-write runs under
# the config lock and the file is replaced atomically.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
CFG=$TMP/cfg/config.json
pids=()
for i in $(seq 1 20); do
	"$DESKRUN" --config "$CFG" add "runner-$i" --repository "https://github.com/acme/r$i" \
		--mode dind --cache /var/lib/docker --auth-value-file "$DATA/token" \
		>"$TMP/out.$i" 2>&1 &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
check "all 20 adds exit 0" eq "$fails" 0
run "$DESKRUN" --config "$CFG" list --output json
check "the config holds 20 runners" eq "$(printf '%s' "$OUT" | grep -c '"name": "runner-')" 20
for i in 1 7 20; do
	check "runner-$i kept its repository" contains "$OUT" "\"repository\": \"https://github.com/acme/r$i\""
done
check "the file is valid JSON" /usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$CFG"
check "no temporary files are left" eq "$(find "$TMP/cfg" -name 'config.json.*' ! -name '*.lock' | wc -l)" 0

# Readers never see a half-written file while writers run.
for i in $(seq 21 30); do
	"$DESKRUN" --config "$CFG" add "runner-$i" --repository https://github.com/acme/x \
		--auth-value-file "$DATA/token" >/dev/null 2>&1 &
done
bad=0
for _ in $(seq 1 30); do
	"$DESKRUN" --config "$CFG" list >/dev/null 2>&1 || bad=$((bad + 1))
done
wait
check "30 reads during 10 writes all succeed" eq "$bad" 0
run "$DESKRUN" --config "$CFG" list --output json
check "and all 30 runners are there" eq "$(printf '%s' "$OUT" | grep -c '"name": "runner-')" 30

done_testing
