#!/bin/bash
# The runner pod's folders behind the guard (--pod-dir, src/guard/podfs.c), against a private
# dockerd in this mount namespace: binds of the runner's own paths (/home/runner/_work/...,
# /home/runner/externals, /var/run/docker.sock) reach the pod's folder; symlinks, "..", other
# pods' folders and a folder swapped for a symlink after the guard looked (a racing loop, and
# a create/start split) never give a container anything outside the pod's folders, and each
# refusal leaves the daemon as it was; pins are let go when their containers are gone, the pod
# folder goes with the guard, and folders of dead pods are swept.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/guard/lib.sh"
guard_suite_start
RACE_SECONDS=${RACE_SECONDS:-30}

PODS=$TMP/pods
mkdir -p "$PODS" "$TMP/secret"
echo SECRET >"$TMP/secret/marker"

# pod_guard NAME: a guard for pod NAME, its socket in the pod folder's run/ as rendered pods
# have it; GS_NAME is its socket.
pod_guard() {
	local name=$1
	shift
	"$DESKRUN" guard --tenant t1 --session "$name" --upstream "unix://$RAW" \
		--listen "$PODS/$name/run/docker.sock" --state-dir "$TMP/guard/t1" --socket-mode 0666 \
		--pod-dir "$PODS/$name" --cleanup-on-exit "$@" >"$TMP/g-$name.log" 2>&1 &
	_guard_pids+=($!)
	eval "GPID_$name=$!"
	mkdir -p "$TMP/guard"
	local i
	for i in $(seq 1 200); do
		# Serving once it has logged its start (after the check of the folder's paths).
		grep -q ' listening on ' "$TMP/g-$name.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# guard $name did not start:" && sed 's/^/#   /' "$TMP/g-$name.log"
	return 1
}
gp() { local n=$1; shift; DOCKER_HOST="unix://$PODS/$n/run/docker.sock" docker "$@"; }
daemon_state() { d ps -aq --no-trunc | sort | tr '\n' ' '; d volume ls -q | sort | tr '\n' ' '; }

# A pod folder whose guard was killed long ago, and one whose guard is alive (lock held).
mkdir -p "$PODS/dead/work/x" "$PODS/alive/work"
echo old >"$PODS/dead/work/x/file"
touch -d '-20 min' "$PODS/dead/.lock"
touch -d '-20 min' "$PODS/alive/.lock"
# ...and one whose guard is restarting (free lock, touched a minute ago: guards touch it
# every minute), which must stay.
mkdir -p "$PODS/restarting/work" && touch -d '-1 min' "$PODS/restarting/.lock"
(exec 7>"$PODS/alive/.lock" && flock 7 && exec sleep 300) >/dev/null 2>&1 &
holder=$!

mkdir -p "$TMP/guard"
check "the guard starts with --pod-dir" pod_guard p1
check "it swept the folder of a pod whose guard is gone" test ! -e "$PODS/dead"
check "and kept the one whose guard holds its lock" test -d "$PODS/alive/work"
check "and the one whose guard restarts (lock free, touched within 10 minutes)" test -d "$PODS/restarting/work"
rm -rf "$PODS/restarting"
kill "$holder" 2>/dev/null
check "the guard checked that the daemon sees the pod's folder and its pins" \
	contains "$(cat "$TMP/g-p1.log")" "paths: ok"
check "  without leaving a container behind" eq "$(d ps -aq | wc -l)" 0
check "work, externals, run and pins are made" \
	test -d "$PODS/p1/work" -a -d "$PODS/p1/externals" -a -d "$PODS/p1/run" -a -d "$PODS/p1/pins"
check "work is writable by the runner's user, as an emptyDir" eq "$(stat -c %a "$PODS/p1/work")" 777
check "pins are the guard's alone" eq "$(stat -c '%a %u' "$PODS/p1/pins")" "700 0"

WS=$PODS/p1/work/repo/repo
mkdir -p "$WS" "$PODS/p1/work/_temp/_github_home"
echo "workspace-marker" >"$WS/marker"
echo "ext-marker" >"$PODS/p1/externals/marker"
echo "cfg-file" >"$WS/cfg"

# The runner's own paths, as its docker CLI sends them.
run gp p1 run --rm -v /home/runner/_work/repo/repo:/src tiny:1 cat /src/marker
check "a folder below the work folder reaches the container" eq "$OUT" workspace-marker
run gp p1 run --rm -v "/home/runner/_work":"/__w" -v "/home/runner/externals":"/__e":ro tiny:1 \
	sh -c 'cat /__w/repo/repo/marker /__e/marker; touch /__e/x 2>/dev/null && echo writable'
check "the work folder and externals (read-only) as the runner binds them" \
	eq "$OUT" "workspace-marker
ext-marker"
run gp p1 run --rm -v /home/runner/_work/repo/repo/cfg:/etc/cfg:ro tiny:1 cat /etc/cfg
check "a file below the work folder" eq "$OUT" cfg-file
run gp p1 run --rm -v /home/runner/_work/repo/repo:/src tiny:1 sh -c 'echo from-container >/src/out'
check "a container writes into the workspace and the runner reads it" eq "$(cat "$WS/out" 2>&1)" from-container
run gp p1 run --rm --mount type=bind,source=/home/runner/_work/repo/repo,target=/m tiny:1 cat /m/marker
check "--mount type=bind of the runner's path (the Mounts API)" eq "$OUT" workspace-marker
run gp p1 run --rm -v /home/runner/_work/new/dir:/n tiny:1 sh -c 'ls -a /n | wc -l'
check "a missing folder is made in the pod's folder, as the daemon makes it" \
	test "$OUT" = 2 -a -d "$PODS/p1/work/new/dir"
run gp p1 create -v "/var/run/docker.sock":"/var/run/docker.sock" tiny:1 test -S /var/run/docker.sock
sock_ctr=$OUT
check "the runner's docker.sock bind is accepted" eq "$RC" 0
check "and reaches the daemon as the guard's socket in the pod's folder" \
	eq "$(d inspect --format '{{range .Mounts}}{{.Source}}{{end}}' "$sock_ctr")" "$PODS/p1/run/docker.sock"
run d start -a "$sock_ctr"
check "the container sees a socket there" eq "$RC" 0
d rm -f "$sock_ctr" >/dev/null
pins=$(d inspect --format '{{range .Mounts}}{{.Source}}{{end}}' "$(gp p1 create -v /home/runner/_work/repo/repo:/src tiny:1 true)")
check "a folder below the roots is given to the daemon as a pin in the pod's folder" \
	contains "$pins" "$PODS/p1/pins/"

# Refusals: symlinks anywhere on the path, "..", paths outside the runner's folders, another
# pod's folder. Each leaves the daemon as it was.
ln -s / "$PODS/p1/work/root-link"
ln -s "$TMP/secret" "$PODS/p1/work/secret-link"
mkdir -p "$PODS/p2/work" && echo p2 >"$PODS/p2/work/marker"
ln -s "$PODS/p2/work" "$PODS/p1/work/p2-link"
ln -s "$PODS/p1/run" "$PODS/p1/work/run-link"
before=$(daemon_state)
for src in /home/runner/_work/root-link /home/runner/_work/root-link/etc \
	/home/runner/_work/secret-link /home/runner/_work/p2-link /home/runner/_work/run-link \
	/home/runner/_work/../../../etc /home/runner/_work/./repo /home/runner//_work/repo \
	"$PODS/p2/work" "$PODS/p1/pins" /etc; do
	run gp p1 run --rm -v "$src:/x" tiny:1 cat /x/marker
	check "bind of $src is refused" test "$RC" -ne 0 -a -z "$OUT"
	check "  with the guard's reason" contains "$ERR" "deskrun guard:"
done
run gp p1 run --rm -v /home/runner/_work/secret-link:/x tiny:1 true
check "a symlink is named as the reason" contains "$ERR" "symbolic link"
run gp p1 run --rm --mount type=bind,source=/home/runner/_work/secret-link,target=/x tiny:1 true
check "the Mounts API is held to the same rule" contains "$ERR" "symbolic link"
check "the daemon has no new container or volume after the refusals" eq "$(daemon_state)" "$before"

# The race, made certain: the guard looks at create; the folder is swapped for a symlink to
# the secret before start. The container gets what the guard looked at.
mkdir -p "$PODS/p1/work/swap" && echo good >"$PODS/p1/work/swap/marker"
run gp p1 create -v /home/runner/_work/swap:/x tiny:1 cat /x/marker
cid=$OUT
mv "$PODS/p1/work/swap" "$PODS/p1/work/swap.old" && ln -s "$TMP/secret" "$PODS/p1/work/swap"
run gp p1 start -a "$cid"
check "a folder swapped for a symlink between create and start: the container sees the folder" eq "$OUT" good
rm -f "$PODS/p1/work/swap" && mv "$PODS/p1/work/swap.old" "$PODS/p1/work/swap"

# The race as a loop: a job flips the folder and a symlink to the secret as fast as it can
# while containers bind it, for RACE_SECONDS.
flipper() {
	local w=$PODS/p1/work
	mkdir -p "$w/flip.dir" && echo good >"$w/flip.dir/marker"
	ln -sfn "$TMP/secret" "$w/flip.link"
	mkdir -p "$w/flip" && echo good >"$w/flip/marker"
	while :; do
		mv -T "$w/flip" "$w/flip.tmp" 2>/dev/null
		mv -T "$w/flip.link" "$w/flip" 2>/dev/null
		mv -T "$w/flip" "$w/flip.link" 2>/dev/null
		mv -T "$w/flip.tmp" "$w/flip" 2>/dev/null
	done
}
flipper >/dev/null 2>&1 &
fpid=$!
end=$((SECONDS + RACE_SECONDS))
runs=0 good=0 secret=0 refused=0
while [ $SECONDS -lt $end ]; do
	out=$(gp p1 run --rm -v /home/runner/_work/flip:/x tiny:1 cat /x/marker 2>&1)
	runs=$((runs + 1))
	case "$out" in
	good) good=$((good + 1)) ;;
	*SECRET*) secret=$((secret + 1)) ;;
	*) refused=$((refused + 1)) ;;
	esac
done
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
diag "race for ${RACE_SECONDS}s: $runs runs, $good saw the folder, $refused refused, $secret saw the secret"
check "racing a symlink swap for ${RACE_SECONDS}s never shows a container the secret" eq "$secret" 0
check "  (and the race was run: $runs binds)" test "$runs" -gt 5 -a "$good" -gt 0

# Another pod of the same tenant: its runner paths are its own folder.
check "a second pod's guard starts" pod_guard p2
run gp p2 run --rm -v /home/runner/_work:/w tiny:1 cat /w/marker
check "the same runner path in another pod is that pod's folder" eq "$OUT" p2
run gp p2 run --rm -v /home/runner/_work/repo/repo:/src tiny:1 cat /src/marker
check "it cannot reach the first pod's workspace" test "$RC" -ne 0 -o "$OUT" != workspace-marker

# Pins go when their containers are gone: the next create sweeps them, and the guard's exit
# takes the rest and the pod's folder.
gp p1 ps -aq | xargs -r docker -H "unix://$PODS/p1/run/docker.sock" rm -f >/dev/null
sleep 6
gp p1 run --rm -v /home/runner/_work/repo/repo:/src tiny:1 true >/dev/null 2>&1
left=$(grep -c " $PODS/p1/pins/" /proc/self/mountinfo)
check "pins of removed containers are let go at the next create ($left left)" test "$left" -le 1
stop_guard p1
check "the guard's exit leaves no pin mounted" eq "$(grep -c " $PODS/p1/" /proc/self/mountinfo)" 0
check "and removes the pod's folder (--cleanup-on-exit)" test ! -e "$PODS/p1"
check "the other pod's folder stays" test -d "$PODS/p2/work"
stop_guard p2

# 20 pods come and go, half of them killed (SIGKILL: no cleanup, pins left mounted); the next
# guard on the node sweeps what the killed ones left. Nothing leaks.
for i in $(seq 1 20); do
	pod_guard "k$i" >/dev/null || not_ok "guard k$i starts"
	mkdir -p "$PODS/k$i/work/ws"
	gp "k$i" create -v /home/runner/_work/ws:/ws tiny:1 true >/dev/null
	eval "pid=\$GPID_k$i"
	if [ $((i % 2)) = 0 ]; then kill -KILL "$pid"; else kill -TERM "$pid"; fi
	wait "$pid" 2>/dev/null
done
killed_pins=$(grep -c " $PODS/k[0-9]*/pins/" /proc/self/mountinfo)
check "10 killed guards left their pins mounted ($killed_pins)" eq "$killed_pins" 10
check "and their folders; the 10 stopped ones removed theirs" eq "$(ls -d "$PODS"/k* 2>/dev/null | wc -l)" 10
touch -d '-20 min' "$PODS"/k*/.lock
check "the next pod's guard starts" pod_guard next
check "it swept the folders of the killed pods" eq "$(ls -d "$PODS"/k* 2>/dev/null | wc -l)" 0
check "and their pins" eq "$(grep -c " $PODS/k[0-9]*/" /proc/self/mountinfo)" 0
stop_guard next
d ps -aq --filter label=io.deskrun.tenant=t1 | xargs -r docker -H "unix://$RAW" rm -f >/dev/null

# --unrestricted (docker-socket --no-guard): nothing checked, the runner's folders still mapped.
check "an unrestricted guard starts" pod_guard open --unrestricted
mkdir -p "$PODS/open/work/ws" && echo open-ws >"$PODS/open/work/ws/marker"
run gp open run --rm -v /home/runner/_work/ws:/src tiny:1 cat /src/marker
check "it maps a folder below the work folder" eq "$OUT" open-ws
run gp open run --rm -v /etc/hostname:/h:ro tiny:1 cat /h
check "and passes a node path unchecked" eq "$OUT" "$(cat /etc/hostname)"
run gp open create --cap-add SYS_ADMIN tiny:1 true
check "and options the guard refuses otherwise" eq "$RC" 0
d rm -f "$OUT" >/dev/null 2>&1
stop_guard open

# A guard told the wrong daemon path says so in its log (doctor reads that line).
pod_guard wrong --daemon-pod-dir /nonexistent/pods/wrong >/dev/null
check "a wrong --daemon-pod-dir is reported at start" \
	contains "$(cat "$TMP/g-wrong.log")" "paths: FAIL: the daemon does not see the pod's folder at /nonexistent/pods/wrong"
stop_guard wrong

# Without the mount privilege the guard refuses binds below the roots rather than pass them.
if command -v setpriv >/dev/null; then
	mkdir -p "$PODS/p3/work/repo" && echo p3 >"$PODS/p3/work/repo/marker"
	before=$(daemon_state)
	# setpriv itself in the background (not a function: $! would be a subshell's PID).
	setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$DESKRUN" guard --tenant t1 --session p3 --upstream "unix://$RAW" \
		--listen "$PODS/p3/run/docker.sock" --state-dir "$TMP/guard/t1" --socket-mode 0666 \
		--pod-dir "$PODS/p3" >"$TMP/g-p3.log" 2>&1 &
	_guard_pids+=($!)
	GPID_p3=$!
	for i in $(seq 1 100); do grep -q listening "$TMP/g-p3.log" 2>/dev/null && break; sleep 0.05; done
	run gp p3 run --rm -v /home/runner/_work/repo:/x tiny:1 cat /x/marker
	check "a guard that cannot mount refuses a folder below the roots" contains "$ERR" "pin"
	run gp p3 run --rm -v /home/runner/_work:/x tiny:1 cat /x/repo/marker
	check "and still gives the work folder itself" eq "$OUT" p3
	stop_guard p3
else
	skip "a guard without the mount privilege" "setpriv is not installed"
fi
done_testing
