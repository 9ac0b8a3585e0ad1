#!/bin/bash
# --cleanup-on-exit with --session: two pods (sessions) of one tenant share a daemon; when one
# pod's guard gets SIGTERM it removes only that pod's containers, networks and volumes; without
# --session the whole tenant's; --keep-volumes keeps named volumes, while the anonymous volumes
# of the session's containers go even when `docker rm --force` (no -v) left them. Also: the
# guard's state survives a restart (an anonymous volume stays the tenant's).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/guard/lib.sh"

guard_suite_start
start_guard p1 ci --session pod-1 --cleanup-on-exit || exit 1
start_guard p2 ci --session pod-2 --cleanup-on-exit || exit 1
start_guard other other --cleanup-on-exit || exit 1
for p in p1 p2; do
	g $p run -d --name "ci-$p-job" tiny:1 sleep 600 >/dev/null
	g $p network create "ci-$p-net" >/dev/null
	g $p volume create "ci-$p-vol" >/dev/null
done
g other run -d --name other-job tiny:1 sleep 600 >/dev/null
check "objects get the session label" eq "$(d inspect -f '{{index .Config.Labels "io.deskrun.session"}}' ci-p1-job)" "pod-1"
check "pod-2 sees pod-1's containers (same tenant)" contains "$(g p2 ps --format '{{.Names}}')" "ci-p1-job"
# A build through a session's guard: the legacy builder makes every label a LABEL step (a
# container committed each build), so built images get the tenant's label alone; the cleanup
# leaves images, so a session label on them would buy nothing.
mkdir -p "$TMP/bctx"
printf 'FROM tiny:1\nCMD ["/bin/true"]\n' >"$TMP/bctx/Dockerfile"
BLOG=$(DOCKER_HOST="unix://$TMP/g-p1.sock" DOCKER_BUILDKIT=0 docker build -t ci/built:1 "$TMP/bctx" 2>&1)
check "a build through pod-1's guard adds one LABEL step" eq "$(grep -c '^Step .* : LABEL' <<<"$BLOG")" "1"
BLABELS=$(d image inspect -f '{{json .Config.Labels}}' ci/built:1)
check "... the built image has the tenant label" contains "$BLABELS" '"io.deskrun.tenant":"ci"'
check "... and no session label" lacks "$BLABELS" "io.deskrun.session"
stop_guard p1
check "pod-1's cleanup left the tenant's built image" bash -c 'docker -H "unix://$0" image inspect ci/built:1 >/dev/null' "$RAW"
check "SIGTERM on pod-1's guard removed pod-1's container" eq "$(d ps -aq --filter name=ci-p1-job)" ""
check "... its network" bash -c '! docker -H "unix://$0" network inspect ci-p1-net >/dev/null 2>&1' "$RAW"
check "... its volume" bash -c '! docker -H "unix://$0" volume inspect ci-p1-vol >/dev/null 2>&1' "$RAW"
check "... and left pod-2's job running" eq "$(d inspect -f '{{.State.Running}}' ci-p2-job)" "true"
check "... and pod-2's network and volume" bash -c 'docker -H "unix://$0" network inspect ci-p2-net >/dev/null && docker -H "unix://$0" volume inspect ci-p2-vol >/dev/null' "$RAW"
check "... and the other tenant's container" eq "$(d inspect -f '{{.State.Running}}' other-job)" "true"
check "the guard's socket is gone after exit" bash -c '[ ! -e "$0" ]' "$TMP/g-p1.sock"
check "the cleanup was logged" contains "$(cat "$TMP/g-p1.log")" "cleanup: removed 3 objects of session pod-1"

# state across restarts: an anonymous volume is the tenant's through the state file
g p2 run -d --name ci-anon -v /data tiny:1 sleep 600 >/dev/null
ANON=$(d inspect -f '{{range .Mounts}}{{.Name}}{{end}}' ci-anon)
check "the anonymous volume is recorded in the state file" contains "$(cat "$TMP/guard/ci/state.json")" "$ANON"
start_guard p3 ci --session pod-3 || exit 1
run g p3 volume inspect -f '{{.Name}}' "$ANON"
check "a restarted guard of the tenant still owns it" eq "$OUT" "$ANON"
run g other volume inspect "$ANON"
check "another tenant does not" contains "$ERR" "no such volume"
stop_guard p3
check "a guard without --cleanup-on-exit removes nothing" eq "$(d inspect -f '{{.State.Running}}' ci-p2-job)" "true"
stop_guard p2
check "pod-2's guard removed pod-2's objects" eq "$(d ps -aq --filter label=io.deskrun.session=pod-2)" ""

start_guard t2 keep --cleanup-on-exit --keep-volumes || exit 1
g t2 run -d --name keep-job -v keep-vol:/v tiny:1 sleep 600 >/dev/null
stop_guard t2
check "without --session the whole tenant's containers go" eq "$(d ps -aq --filter label=io.deskrun.tenant=keep)" ""
check "--keep-volumes keeps its volumes" bash -c 'docker -H "unix://$0" volume inspect keep-vol >/dev/null' "$RAW"
# Anonymous volumes: the runner removes its service containers with `docker rm --force` (no
# -v), which leaves the anonymous volumes of the image's VOLUME behind. The session's cleanup
# removes them even with --keep-volumes (which keeps the volumes the tenant named), and leaves
# a sibling session's.
mkdir -p "$TMP/vctx"
printf 'FROM tiny:1\nVOLUME /data\n' >"$TMP/vctx/Dockerfile"
DOCKER_BUILDKIT=0 d build -q -t withvol:1 "$TMP/vctx" >/dev/null
start_guard va anon --session pod-a --cleanup-on-exit --keep-volumes || exit 1
start_guard vb anon --session pod-b --cleanup-on-exit || exit 1
anon_of() { d inspect -f "{{range .Mounts}}{{if eq .Destination \"$2\"}}{{.Name}}{{end}}{{end}}" "$1"; }
g va volume create anon-named >/dev/null
g va create --name anon-svc -v anon-named:/named withvol:1 sleep 600 >/dev/null
g va start anon-svc >/dev/null
g va run -d --name anon-mnt --mount type=volume,dst=/m tiny:1 sleep 600 >/dev/null
g vb run -d --name anon-b withvol:1 sleep 600 >/dev/null
AVOL=$(anon_of anon-svc /data)
MVOL=$(anon_of anon-mnt /m)
BVOL=$(anon_of anon-b /data)
check "setup: the image's VOLUME gives anon-svc an anonymous volume, without labels" eq "${#AVOL} $(d volume inspect -f '{{len .Labels}}' "$AVOL")" "64 0"
check "setup: --mount without a source gives an anonymous volume with the guard's labels" eq "${#MVOL} $(d volume inspect -f '{{index .Labels "io.deskrun.session"}}' "$MVOL")" "64 pod-a"
check "setup: both are recorded for pod-a in the state" bash -c 'python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[\"volumes\"]; sys.exit(0 if v.get(sys.argv[2]) == v.get(sys.argv[3]) == \"pod-a\" else 1)" "$0" "$1" "$2"' "$TMP/guard/anon/state.json" "$AVOL" "$MVOL"
g va rm --force anon-svc anon-mnt >/dev/null
check "docker rm --force (no -v) leaves the anonymous volumes on the daemon" bash -c 'docker -H "unix://$0" volume inspect "$1" "$2" >/dev/null' "$RAW" "$AVOL" "$MVOL"
stop_guard va
check "pod-a's cleanup removed the anonymous volume of the image's VOLUME, --keep-volumes or not" bash -c '! docker -H "unix://$0" volume inspect "$1" >/dev/null 2>&1' "$RAW" "$AVOL"
check "... and the one of --mount without a source" bash -c '! docker -H "unix://$0" volume inspect "$1" >/dev/null 2>&1' "$RAW" "$MVOL"
check "... kept the named volume (--keep-volumes)" bash -c 'docker -H "unix://$0" volume inspect anon-named >/dev/null' "$RAW"
check "... left pod-b's anonymous volume and container" eq "$(d volume inspect -f '{{.Name}}' "$BVOL" 2>&1) $(d inspect -f '{{.State.Running}}' anon-b)" "$BVOL true"
check "... dropped the removed volumes from the state, kept pod-b's" bash -c 'python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[\"volumes\"]; sys.exit(0 if sys.argv[2] not in v and sys.argv[3] not in v and v.get(sys.argv[4]) == \"pod-b\" else 1)" "$0" "$1" "$2" "$3"' "$TMP/guard/anon/state.json" "$AVOL" "$MVOL" "$BVOL"
check "... and counted them" contains "$(cat "$TMP/g-va.log")" "cleanup: removed 2 objects of session pod-a"
stop_guard vb
check "pod-b's cleanup removed its container and its anonymous volume" eq "$(d ps -aq --filter name=anon-b)$(d volume ls -q --filter name="$BVOL")" ""

stop_guard other
check "the other tenant's guard cleaned up its own" eq "$(d ps -aq)" ""
done_testing
