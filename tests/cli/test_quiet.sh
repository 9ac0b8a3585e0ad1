#!/bin/bash
# The global -q/--quiet, before or after the command: add, remove, config set, cluster create,
# up and down (against the recording stubs of kind, kubectl and helm, tests/stubs/fakekube.py)
# print no progress and no informational line ("added ...", the apply plan, "nothing to
# change"), while errors and warnings still print with the same exit status, and the data a
# command is asked for (list, render, up --dry-run's plan, status) is unchanged. doctor's own
# --quiet keeps its meaning, and the global -q before doctor means the same.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
PY=${PYTHON:-/usr/bin/python3}
STUB=$TMP/stub
mkdir -p "$STUB"
for t in kubectl helm kind k3s docker; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/$t"; done
export PATH="$STUB:/usr/bin:/bin" XDG_CACHE_HOME=$TMP/xdg-cache NO_COLOR=1
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }
set_state() { "$PY" -c "import json; p='$STUB/state.json'; s=json.load(open(p)); $1; json.dump(s, open(p,'w'))"; }
ars() { "$PY" -c "import json; s=json.load(open('$STUB/state.json')); print(' '.join(sorted(o['metadata']['name'] for o in s['objects'] if o['kind']=='AutoscalingRunnerSet')))"; }

# ---- help ----
run "$DESKRUN" --help
check "deskrun --help lists -q, --quiet among the global options" contains "$OUT" "  -q, --quiet"
run "$DESKRUN" add --help
check "every command's --help lists it under global options" contains "$(printf '%s\n' "$OUT" | sed -n '/^global options:/,$p')" "-q, --quiet"

# ---- add / remove / config ----
run dk add web --repository https://github.com/acme/web --mode dind --cache /var/lib/docker \
	--auth-value-file "$DATA/token"
check "without -q, add says what it did" contains "$OUT" "added runner web to $CFG"
check "and notes the one-at-a-time rule" contains "$ERR" "runs one runner at a time"
run dk -q add web2 --repository https://github.com/acme/web --mode dind --cache /var/lib/docker \
	--auth-value-file "$DATA/token"
check "-q add: exit 0, nothing on stdout or stderr" eq "$RC:$OUT:$ERR" "0::"
check "and the runner is stored" contains "$(dk list)" "web2"
run dk add api --repository https://github.com/acme/api --auth-value-file "$DATA/token" --quiet
check "--quiet after the command works the same" eq "$RC:$OUT:$ERR" "0::"
run dk add bad --repository https://github.com/acme/web --mode dnd -q \
	--auth-value-file "$DATA/token"
check "-q does not hide an error: exit 2" eq "$RC" 2
check "with its one line" eq "$ERR" "deskrun: error: --mode \"dnd\": unknown mode: did you mean \"dind\"?"
run_in "ghp_abcdefghijklmnopqrstuvwxyz0123456789" dk -q add warned --repository https://github.com/acme/web \
	--auth-value "$(cat "$DATA/token")"
check "-q does not hide a warning (a secret on the command line)" contains "$ERR" "deskrun: warning: --auth-value puts the secret"
run dk -q remove warned
check "-q remove: exit 0, silent" eq "$RC:$OUT:$ERR" "0::"
run dk remove warned
loud="$RC:$ERR"
run dk -q remove warned
check "-q remove of a missing runner: the same exit 2 and error as without" eq "$RC:$ERR" "$loud"
run dk -q config set cache-root /data/deskrun
check "-q config set: silent" eq "$RC:$OUT:$ERR" "0::"
run dk -q config get cache-root
check "-q config get: the value (data) still prints" eq "$OUT" "/data/deskrun"
dk config set cache-root /var/lib/deskrun/cache >/dev/null
run dk -q list
check "-q list: the table still prints" contains "$OUT" "web2"
run dk -q render web
check "-q render: the YAML still prints" contains "$OUT" "kind: AutoscalingRunnerSet"

# ---- cluster create, up, down ----
run dk -q cluster create
check "-q cluster create: exit 0, silent" eq "$RC:$OUT:$ERR" "0::"
check "but it did create the kind cluster" contains "$(cat "$STUB/calls.jsonl")" '"create", "cluster"'
run dk -q up --dry-run
check "-q up --dry-run: the plan (what was asked for) still prints" contains "$OUT" "create    AutoscalingRunnerSet   arc-runners/web"
run dk up -q
check "-q up: exit 0" eq "$RC" 0
check "no plan, no progress lines, no spinner" eq "$OUT:$ERR" ":"
check "the runners are deployed" eq "$(ars)" "api web web2"
run dk -q up
check "-q up with nothing to change: silent" eq "$RC:$OUT:$ERR" "0::"
run dk up
check "without -q the same up says so" contains "$OUT" "nothing to change"
set_state "s['fail'] = {'apply': 'Error from server (Forbidden): nope'}"
dk add web3 --repository https://github.com/acme/web --auth-value-file "$DATA/token" >/dev/null 2>&1
run dk -q up
check "-q up with a failing kubectl: exit 1 as without -q" eq "$RC" 1
check "the error still names the command and what it printed" contains "$ERR" "kubectl --context kind-deskrun apply"
check "and only the error" eq "$(printf '%s\n' "$ERR" | wc -l)" 1
set_state "s['fail'] = {}"
run dk -q down web2
check "-q down NAME: exit 0, silent" eq "$RC:$OUT:$ERR" "0::"
check "web2 is gone from the cluster, the others stay" eq "$(ars)" "api web"
run dk -q down web2
check "-q down of something not deployed: silent" eq "$RC:$OUT:$ERR" "0::"
run dk -q down nosuch
check "-q down of an unknown runner: exit 2 with the error" eq "$RC" 2
check "naming it" contains "$ERR" "no runner named \"nosuch\""
run dk -q status
check "-q status: the table (data) still prints" contains "$OUT" "RUNNER"

# ---- doctor ----
export DESKRUN_DOCTOR_SYSROOT=$TMP/sys
mkdir -p "$TMP/sys/proc/sys/fs/inotify" "$TMP/sys/sys/fs/cgroup"
echo 524288 >"$TMP/sys/proc/sys/fs/inotify/max_user_watches"
echo 512 >"$TMP/sys/proc/sys/fs/inotify/max_user_instances"
echo "cpu memory pids" >"$TMP/sys/sys/fs/cgroup/cgroup.controllers"
run dk doctor --quiet --no-network
check "doctor --quiet keeps its meaning: no ok lines" lacks "$(printf '%s\n' "$OUT" | cut -c1-3)" "ok "
check "but the warnings and the summary" contains "$OUT" "ok, "
run dk -q doctor --no-network
check "-q before doctor means the same: no ok lines" lacks "$(printf '%s\n' "$OUT" | cut -c1-3)" "ok "
check "and the summary" contains "$OUT" "ok, "
done_testing
