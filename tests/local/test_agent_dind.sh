#!/bin/bash
# `deskrun agent` with the job's Docker of modes dind and dind-daemonset, against the GitHub
# stand-in (tests/github/standin.py) and a private dockerd (tests/lib/dockerd.sh, privileged
# containers through ../shared/tools/runc-bounded), with the runner stand-in image
# (tests/local/runner_image.sh), whose job step (/standin/step) really calls docker, and the
# e2e dind image (tests/e2e/images/build.sh: Debian's dockerd 20.10, built offline).
#
# dind (web: --cache-pool 2, max 2): a queued job -> a runner container and a privileged dind
# container (labelled, the runner in its network namespace, sharing /var/run and the work
# folder; the runner image's externals copied for the daemon) -> the step loads an image into
# its daemon and runs a container there, binding the externals as /__e -> the job
# succeeds -> both containers and the runner's folder are gone, the slot released; a second job
# leases the same slot and finds the image (warm); the dind container killed mid-job fails the
# runner cleanly; the agent SIGKILLed mid-job and restarted adopts the pair, and removes a dind
# container whose runner is gone; the JIT config is only in the runner's environment.
# eph (dind, no cache): the image's own entrypoint runs dockerd on /var/lib/docker in the
# runner's folder, removed with it.
# dind-daemonset (d1, d2): two runners of two sets run at once on one shared daemon (a single
# container, its data root under <cache-root>/daemonset), each through its own guard, and each
# job sees only its own volumes; SIGTERM leaves nothing (the shared daemon stopped).
# The daemons need a network: a private bridge (dockerd --bridge=BR --iptables=false), on
# which the stand-in listens.
#
# LOCAL_ENGINE=podman runs the same against `podman system service` (its Docker-compatible API,
# privileged containers as they are) with a private store, its default network a CNI bridge on
# the same private bridge (no masquerade, no firewall plugin).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/local/runner_image.sh"
. "$SRCDIR/tests/local/dind_images.sh"
. "$SRCDIR/tests/local/podman_service.sh"
PY=${PYTHON:-/usr/bin/python3}
ENGINE=${LOCAL_ENGINE:-docker}
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
why=
if ! dockerd_available; then
	why="needs root, dockerd and the docker CLI"
elif ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
	why="the dind image is built with podman and debootstrap (apt-get install podman debootstrap)"
elif [ "$ENGINE" = podman ] && [ ! -x /usr/lib/cni/bridge ]; then
	why="podman's test network needs the CNI plugins (apt-get install containernetworking-plugins)"
elif [ ! -x "$BUILDDIR/deskrun-static" ]; then
	why="no deskrun-static in this build (sanitizer builds do not link statically)"
fi
if [ -n "$why" ]; then
	skip "the local agent's dind modes" "$why"
	done_testing
	exit 0
fi

# The e2e images (tests/local/dind_images.sh), once per build and change of their sources.
IMGDIR=$BUILDDIR/local-dind-images
build_dind_images "$IMGDIR"
check "the e2e dind image is built (tests/e2e/images/build.sh)" test -s "$IMGDIR/dind.tar"

PAT=ghp_localDindToken0000000000000000000000
D=$TMP/gh
BR=drl$((RANDOM % 90000 + 10000))
NET=10.$((RANDOM % 50 + 200)).$((RANDOM % 250 + 1))
GW=$NET.1
SPID= APID= CACHE=
# start_podman_cni: podman's service (tests/local/podman_service.sh) with its default network a
# CNI bridge on the private bridge, as the dockerd of this test has
start_podman_cni() {
	mkdir -p "$TMP/pm/cni" "$TMP/pm/ipam"
	cat >"$TMP/pm/cni/$BR.conflist" <<-EOF
	{"cniVersion": "0.4.0", "name": "$BR", "plugins": [{"type": "bridge", "bridge": "$BR",
	 "isGateway": true, "ipMasq": false, "hairpinMode": true, "ipam": {"type": "host-local",
	 "dataDir": "$TMP/pm/ipam", "routes": [{"dst": "0.0.0.0/0"}],
	 "ranges": [[{"subnet": "$NET.0/24", "gateway": "$GW"}]]}}]}
	EOF
	start_podman '[network]' 'network_backend = "cni"' "network_config_dir = \"$TMP/pm/cni\"" \
		"default_network = \"$BR\""
}
cleanup() {
	[ -n "$APID" ] && kill -9 "$APID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	stop_podman 5
	[ -n "${KEEP_LOGS:-}" ] && cp "$TMP"/agent*.log "$TMP/standin.err" "$D/steps.log" "$KEEP_LOGS/" 2>/dev/null
	_dockerd_stop_all_but_rm
	ip link del "$BR" 2>/dev/null
	grep -o " ${TMP}[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$TMP" "$CACHE"
}
trap cleanup EXIT
ip link add "$BR" type bridge && ip addr add "$GW/24" dev "$BR" && ip link set "$BR" up ||
	{ not_ok "a private bridge $BR"; done_testing; exit 1; }
"$PY" "$SRCDIR/tests/github/standin.py" --dir "$D" --host "$GW" --san "IP:$GW" --poll-hold 2 \
	--pat "$PAT" 2>"$TMP/standin.err" &
SPID=$!
for _ in $(seq 1 100); do [ -s "$D/url" ] && break; sleep 0.05; done
U=$(cat "$D/url")
G() { "$PY" "$SRCDIR/tests/github/ghctl.py" --dir "$D" "$@"; }
if [ "$ENGINE" = podman ]; then
	start_podman_cni || { not_ok "podman's API service starts"; done_testing; exit 1; }
else
	# The last --bridge wins: the daemon's default network is the private bridge.
	start_dockerd dind --bridge="$BR" --ip-masq=false || { not_ok "dockerd starts"; done_testing; exit 1; }
fi
diag "engine: $ENGINE $(docker version --format '{{.Server.Version}}') at $DOCKER_HOST, bridge $BR ($GW)"
IMG=deskrun-standin-runner:test
DIND=localhost/deskrun-e2e/dind:1
check "the runner stand-in image builds (docker import)" build_runner_image "$IMG" 0
check "the dind image loads" eval 'docker load -q -i "$IMGDIR/dind.tar" >/dev/null'
cp "$IMGDIR/base.tar" "$D/base.tar"

export DESKRUN_CONFIG=$TMP/config.json
# Not under /tmp: the dind wrapper (as docker:dind's) mounts a tmpfs there, over the pool.
CACHE=$(mktemp -d /var/tmp/deskrun-dind-cache.XXXXXX)
"$DESKRUN" config set cache-root "$CACHE" >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add web --repository "$U/acme/web" --mode dind --cache-pool 2 \
	--min-runners 0 --max-runners 2 --auth-value - --runner-image "$IMG" --dind-image "$DIND" \
	--mount "$D:/standin" >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add eph --repository "$U/acme/eph" --mode dind \
	--min-runners 0 --max-runners 1 --auth-value - --runner-image "$IMG" --dind-image "$DIND" \
	--mount "$D:/standin" >/dev/null
printf '%s\n' "$PAT" | "$DESKRUN" add hp --repository "$U/acme/hp" --mode dind \
	--docker-storage hostpath --min-runners 0 --max-runners 1 --auth-value - --runner-image "$IMG" \
	--dind-image "$DIND" --mount "$D:/standin" >/dev/null
for s in d1 d2; do
	printf '%s\n' "$PAT" | "$DESKRUN" add $s --repository "$U/acme/$s" --mode dind-daemonset \
		--min-runners 0 --max-runners 1 --auth-value - --runner-image "$IMG" \
		--dind-image "$DIND" --mount "$D:/standin" >/dev/null
done
for m in kubernetes cached-privileged-kubernetes containerd-socket; do
	printf '%s\n' "$PAT" | "$DESKRUN" add "no-$m" --repository "$U/acme/x" --mode $m --auth-value - >/dev/null
	run "$DESKRUN" agent --set "no-$m" --host "$DOCKER_HOST" --state-dir "$TMP/agent-x"
	check "mode $m is refused locally with the reason (exit 2)" \
		eval '[ "$RC" = 2 ] && [[ "$ERR" == "deskrun: error: no-$m: mode $m needs Kubernetes ("*"): locally use --mode docker-socket, dind or dind-daemonset, or a Kubernetes cluster" ]]'
	"$DESKRUN" remove "no-$m" >/dev/null
done
rm -rf "$TMP/agent-x"

# The job's step (the runner stand-in runs /standin/step in the runner container).
cat >"$D/step" <<'SH'
#!/bin/sh
# dind: the job's own daemon. dind-daemonset: the shared one through the guard.
L=/standin/steps.log
if [ "$DOCKER_HOST" = unix:///var/run/docker.sock ]; then
	echo "job $JOB_ID root $(docker info --format '{{.DockerRootDir}}')" >>$L
	if docker image inspect warm/app:1 >/dev/null 2>&1; then
		echo "job $JOB_ID warm" >>$L
	else
		docker load -q -i /standin/base.tar >/dev/null && docker tag localhost/deskrun-e2e/base:1 warm/app:1 || exit 1
		echo "job $JOB_ID cold" >>$L
	fi
	echo "job $JOB_ID run $(docker run --rm --network none warm/app:1 echo ran-in-dind)" >>$L
	echo "job $JOB_ID ext $(docker run --rm --network none -v /home/runner/externals:/__e warm/app:1 cat /__e/README)" >>$L
	echo "job $JOB_ID work $(ls -ld /home/runner/_work >/dev/null && echo ok)" >>$L
	i=0
	while [ -e /standin/hold ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
else
	docker volume create "vol-$JOB_ID" >/dev/null || exit 1
	touch "/standin/created-$JOB_ID"
	i=0
	while [ "$(ls /standin | grep -c '^created-')" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	docker volume ls --format '{{.Name}}' | grep '^vol-' | tr '\n' ' ' >"/standin/vols-$JOB_ID"
	i=0
	while [ -e /standin/hold ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	docker volume rm "vol-$JOB_ID" >/dev/null
fi
SH
chmod 755 "$D/step"

start_agent() {
	AGENT_LOG=$1
	shift
	SSL_CERT_FILE=$D/cert.pem ${AGENT_WRAP:-} "$DESKRUN" agent --host "$DOCKER_HOST" --state-dir "$TMP/agent" \
		--drain 20s --owner test-host "$@" 2>"$AGENT_LOG" &
	APID=$!
}
cnt() { docker ps -aq --filter "label=deskrun.io/set=$1" | wc -l; }
running() { docker ps -q --filter "label=deskrun.io/set=$1" --filter status=running | wc -l; }
logged() { grep -q -- "$1" "$AGENT_LOG"; }
# qjob SET: queue a job; prints "REQUEST-ID JOB-ID" (the step sees JOB-ID as JOB_ID)
qjob() { G queue-job --scale-set "$1" | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["runnerRequestId"], j["jobId"])'; }
result() { G job "$1" | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j.get("state"), j.get("result"))'; }

# ---------------------------------------------------------------- dind with a cache pool
start_agent "$TMP/agent.log" --set web --set eph --set hp
check "web, eph and hp: the sessions open" wait_for 30 eval 'logged "web: session open" && logged "eph: session open" && logged "hp: session open"' 
T0=$(date +%s%N)
read -r Q1 J1 < <(qjob web)
wait_for 60 eval '[ "$(running web)" = 2 ]'
T1=$(date +%s%N)
check "a queued job gets a runner and its dind container, both running" eq "$(running web)" "2"
diag "job queued -> runner and dind running: $(( (T1 - T0) / 1000000 )) ms (dind started and answering first)"
DC=$(docker ps -q --filter label=deskrun.io/set=web --filter label=deskrun.io/role=dind)
RC_=$(docker ps -q --filter label=deskrun.io/set=web | grep -v "^$DC")
check "the dind container is privileged and labelled (agent, set, runner, role)" \
	eq "$(docker inspect -f '{{.HostConfig.Privileged}} {{index .Config.Labels "deskrun.io/agent"}} {{index .Config.Labels "deskrun.io/role"}} {{index .Config.Labels "deskrun.io/runner-name"}}' "$DC")" \
	"true test-host dind $(docker inspect -f '{{index .Config.Labels "deskrun.io/runner-name"}}' "$RC_")"
check "the runner joins the dind container's network namespace, as in a pod" \
	eq "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$RC_")" "container:$(docker inspect -f '{{.Id}}' "$DC")"
check "the JIT config is in the runner's environment only, not the daemon's" \
	eval 'docker inspect -f "{{.Config.Env}}" "$RC_" | grep -q ACTIONS_RUNNER_INPUT_JITCONFIG && ! docker inspect -f "{{.Config.Env}} {{.Config.Cmd}} {{.Config.Entrypoint}}" "$DC" | grep -q JITCONFIG'
check "the dind container runs deskrun dind-entrypoint on the pool, from the agent's static binary" \
	eval 'docker inspect -f "{{json .Config.Entrypoint}} {{json .HostConfig.Binds}}" "$DC" | grep -q "\"/opt/deskrun/deskrun\",\"dind-entrypoint\",\"--pool\",\"$CACHE/pool/web\",\"--slots\",\"2\".*deskrun-static:/opt/deskrun/deskrun:ro"'
check "job 1 succeeds" eval 'G wait-job "$Q1" completed --timeout 60 >/dev/null && [ "$(result "$Q1")" = "completed succeeded" ]'
check "its step ran docker against its own daemon on a pool slot, cold, and ran a container there" \
	eval 'grep -q "^job $J1 root $CACHE/pool/web/slot-[01]/docker$" "$D/steps.log" && grep -q "^job $J1 cold$" "$D/steps.log" && grep -q "^job $J1 run ran-in-dind$" "$D/steps.log" && grep -q "^job $J1 work ok$" "$D/steps.log"'
check "a job container of its daemon binds the runner's externals (/__e), copied from the runner image" \
	grep -q "^job $J1 ext the runner stand-in's externals$" "$D/steps.log"
check "the runner and its dind container are gone" wait_for 40 eval '[ "$(cnt web)" = 0 ]'
check "and the runner's folder" wait_for 10 eval '[ -z "$(ls "$TMP/agent" | grep "^web-")" ]'
leased() { "$DESKRUN" cache ls --pool "$CACHE/pool/web" --output json | "$PY" -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x.get("state") == "leased"))'; }
check "the pool slot is released" eq "$(leased)" "0"
read -r Q2 J2 < <(qjob web)
check "job 2 succeeds" eval 'G wait-job "$Q2" completed --timeout 90 >/dev/null && [ "$(result "$Q2")" = "completed succeeded" ]'
R1=$(sed -n "s/^job $J1 root //p" "$D/steps.log")
check "job 2 leased the same slot and found job 1's image there (warm)" \
	eval 'grep -q "^job $J2 root $R1$" "$D/steps.log" && grep -q "^job $J2 warm$" "$D/steps.log"'
check "all containers gone after job 2" wait_for 40 eval '[ "$(cnt web)" = 0 ]'

# dind without a cache: the daemon keeps its data root in the runner's folder, gone with it.
read -r Q5 J5 < <(qjob eph)
check "eph (no cache): the job succeeds on the image's entrypoint (dockerd ARGS)" \
	eval 'G wait-job "$Q5" completed --timeout 60 >/dev/null && [ "$(result "$Q5")" = "completed succeeded" ]'
check "its daemon's data root was /var/lib/docker, cold, and ran a container" \
	eval 'grep -q "^job $J5 root /var/lib/docker$" "$D/steps.log" && grep -q "^job $J5 cold$" "$D/steps.log" && grep -q "^job $J5 run ran-in-dind$" "$D/steps.log"'
check "the pair and the runner's folder (with the data root) are gone" \
	wait_for 40 eval '[ "$(cnt eph)" = 0 ] && [ -z "$(ls "$TMP/agent" | grep "^eph-")" ]'

# dind with --docker-storage hostpath: the data root is <cache-root>/<set>/docker, kept.
read -r Q6 J6 < <(qjob hp)
check "hp (hostpath): the job succeeds" \
	eval 'G wait-job "$Q6" completed --timeout 60 >/dev/null && [ "$(result "$Q6")" = "completed succeeded" ]'
check "its daemon kept its data root on the host, under the cache root, after the pair went" \
	eval 'grep -q "^job $J6 cold$" "$D/steps.log" && wait_for 40 eval "[ \"\$(cnt hp)\" = 0 ]" && [ -d "$CACHE/hp/docker/image" ]'

# The dind container dies mid-job: the runner is failed and removed with it.
touch "$D/hold"
read -r Q3 J3 < <(qjob web)
wait_for 60 eval 'grep -q "^job $J3 work" "$D/steps.log"'
DC=$(docker ps -q --filter label=deskrun.io/set=web --filter label=deskrun.io/role=dind)
RN=$(docker inspect -f '{{index .Config.Labels "deskrun.io/runner-name"}}' "$DC")
docker kill "$DC" >/dev/null
check "the dind container killed mid-job: its runner is removed with it" \
	wait_for 30 eval '[ -z "$(docker ps -aq --filter "label=deskrun.io/runner-name=$RN")" ]'
check "the agent says why" logged "runner $RN: its Docker daemon (dind container) is not running: the runner is removed, its job fails"
rm -f "$D/hold"
G complete-job "$Q3" --result failed >/dev/null # GitHub fails a job whose runner vanished
check "once the job is failed, nothing is left and no slot is leased" \
	wait_for 30 eval '[ "$(cnt web)" = 0 ] && [ "$(leased)" = 0 ]'

# SIGKILL mid-job, restart: the pair is adopted; a dind container without its runner is removed.
touch "$D/hold"
G config session_ttl=5 >/dev/null
read -r Q4 J4 < <(qjob web)
wait_for 60 eval 'grep -q "^job $J4 work" "$D/steps.log"'
kill -KILL "$APID"
wait "$APID" 2>/dev/null
APID=
check "SIGKILL: the runner and its dind container outlive the agent" eq "$(running web)" "2"
# An orphan: a dind container of a runner that is gone (labelled as the agent labels them).
docker run -d --init --name web-orphan0-dind --label deskrun.io/agent=test-host --label deskrun.io/set=web \
	--label deskrun.io/runner-name=web-orphan0 --label deskrun.io/role=dind "$IMG" /bin/sleep 600 >/dev/null
start_agent "$TMP/agent2.log" --set web
check "the restarted agent adopts the runner and its dind container" \
	wait_for 30 eval 'logged "web: runner web-.* adopted" && logged "web: runner web-.*: its dind container .* adopted"'
check "and removes the orphan dind container" wait_for 30 eval '! docker inspect web-orphan0-dind >/dev/null 2>&1'
rm -f "$D/hold"
check "the adopted job completes" eval 'G wait-job "$Q4" completed --timeout 60 >/dev/null && [ "$(result "$Q4")" = "completed succeeded" ]'
check "the adopted pair is removed after it" wait_for 40 eval '[ "$(cnt web)" = 0 ]'
kill -TERM "$APID"
wait "$APID"
ARC=$?
APID=
check "SIGTERM: exit 0, nothing left (containers, folders, leases)" \
	eq "$ARC $(docker ps -aq --filter label=deskrun.io/agent | wc -l) $(ls -A "$TMP/agent" | grep -vc '^status' ) $(leased)" "0 0 0 0"
check "no secret in the agent's log" eval '! grep -q "$PAT" "$TMP/agent.log" "$TMP/agent2.log" && ! grep -qi "jitconfig=" "$TMP/agent.log" "$TMP/agent2.log"'

# ---------------------------------------------------------------- dind-daemonset: one daemon, two sets
# The user's path this time: cluster create --provider local, up, up again mid-job (the busy
# runners, their guards and the shared daemon handed over), down.
rm -f "$D"/created-* "$D"/vols-*
STATE=$TMP/state
"$DESKRUN" cluster create --provider local --engine "$DOCKER_HOST" --state-dir "$STATE" >/dev/null
SSL_CERT_FILE=$D/cert.pem run "$DESKRUN" up d1 d2
AGENT_LOG=$STATE/agent.log
check "up serves d1 and d2 (dind-daemonset) with the local agent: sessions open" \
	eval '[ "$RC" = 0 ] && logged "d1: session open" && logged "d2: session open"'
touch "$D/hold"
read -r P1 K1 < <(qjob d1)
read -r P2 K2 < <(qjob d2)
wait_for 90 eval '[ -s "$D/vols-$K1" ] && [ -s "$D/vols-$K2" ]'
check "both volumes are on the one shared daemon, owned by their sets" \
	eq "$(docker -H "unix://$CACHE/daemonset/sock/docker.sock" volume ls --filter name=vol- --format '{{.Name}} {{.Label "io.deskrun.tenant"}}' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "vol-$K1 d1" "vol-$K2 d2" | sort | tr '\n' ' ')"
SSL_CERT_FILE=$D/cert.pem run "$DESKRUN" up d1 d2
check "up again mid-job: the new agent adopts both busy runners and the shared daemon" \
	eval '[ "$RC" = 0 ] && logged "d1: runner d1-.* adopted" && logged "d2: runner d2-.* adopted" && logged "the shared daemon (deskrun-dind) adopted"'
rm -f "$D/hold"
check "both jobs succeed" eval 'G wait-job "$P1" completed --timeout 120 >/dev/null && G wait-job "$P2" completed --timeout 120 >/dev/null && [ "$(result "$P1") $(result "$P2")" = "completed succeeded completed succeeded" ]'
check "they ran at once on one shared daemon container" \
	eq "$(docker ps -q --filter label=deskrun.io/role=dind-daemonset | wc -l) $(grep -c 'the shared daemon (deskrun-dind) started' "$AGENT_LOG")" "1 1"
check "whose data root is under the cache root" test -d "$CACHE/daemonset/docker/image"
check "each job sees only its own volume through its guard" \
	eq "$(cat "$D/vols-$K1")|$(cat "$D/vols-$K2")" "vol-$K1 |vol-$K2 "
check "the runners' containers are gone" wait_for 40 eval '[ "$(cnt d1) $(cnt d2)" = "0 0" ]'
check "and their folders (run/ and work/, which the agent made for them)" \
	wait_for 10 eval '[ -z "$(ls "$STATE" | grep "^d[12]-")" ]' || diag "$(ls -R "$STATE" | head -20)"
run "$DESKRUN" down
check "down: exit 0, the shared daemon stopped, nothing left" \
	eq "$RC $(docker ps -aq --filter label=deskrun.io/agent | wc -l) $(pgrep -fc "guard --tenant d[12] .*--listen $TMP/")" "0 0 0"
check "the agent logged the shared daemon's stop" logged "the shared daemon (deskrun-dind) stopped"

done_testing
