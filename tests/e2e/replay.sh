#!/bin/bash
# tests/e2e/replay.sh: the GitHub Actions runner's own Docker calls, replayed from the runner's
# side with whatever `docker` and DOCKER_HOST it finds (../shared/reference/runner-docker.md,
# "RD" below: runner v2.336.0). Every docker child is the runner's exact argument list, in its
# order, with stdin closed at once (RD fact 8), env passed by name with the values in the CLI's
# environment (fact 7), and `docker pull` before every create or run of a pulled image (fact 5):
#
#   layout      RD §6 A: WORK, TEMP/_github_{home,workflow}, _runner_file_commands, ACT, TOOL,
#               WS/marker (random), event.json; the key-only label <L> from ROOT/.runner (§1)
#   pre-job     RD §2: `docker pull` of the docker:// image, then `docker build -t <L>:<guid32>
#               -f ACT/o/a/v1/Dockerfile ACT/o/a/v1` of a Dockerfile action
#   container   RD §1.1 "Initialize containers": the version gate with its literal quotes,
#               stale cleanup by label, `network create --label <L>`, pull + create (the 8 -v of
#               the job container, docker.sock first) + start + ps + inspect of the job
#               container, pull + create + start + ps + port of a redis-like service with a
#               health check in `options`, polled with the fact 10 inspect until healthy
#   steps       RD §1.2: `docker exec -i --workdir ... -e "NAME"... <id> sh -e /__w/_temp/<guid>.sh`:
#               step 1 (checks, k=v, /github/home/h, owner; exit 0), step 2 (exit 3), a
#               JavaScript action's OS probe (`docker exec <id> sh -c "cat /etc/*release | ..."`), a
#               step using Docker through the bound /var/run/docker.sock (ps, run --rm, build:
#               the job container has no DOCKER_HOST)
#   actions     RD §2 run: the Dockerfile action (`--rm`, the 6 -v, docker.sock) with
#               --network <net> (INPUT_CODE 0, then 5) and the docker:// action (§6 D)
#   stop        RD §1.3 "Stop containers": rm --force the job container, logs --details and
#               rm --force the service, network rm
#   no-container the same Dockerfile action without --network (0, then 5), as in a job
#               without container:/services:
#   user        RD §4 / §6 E: a step's own `docker run --rm -v "$GITHUB_WORKSPACE":/src`, read
#               (the marker) and written (read back by the runner)
#
# Inputs (env): REPLAY_JOB_IMAGE (sh, tail, id, wget, docker), REPLAY_SERVICE_IMAGE (serves
# PONG over HTTP on 6379 and has wget), REPLAY_ACTION_IMAGE (busybox: the Dockerfile action's
# FROM and the docker:// image); all registry-qualified, as the runner pulls them. ROOT
# (/home/runner, the official image's layout), WORK (ROOT/_work), EXT (ROOT/externals).
# REPLAY_STEPS=user runs only the layout and the user step (the negative control).
# REPLAY_TAG_NS: the namespace of the step's own image (default replay-inner; the tenant
# behind the guard).
#
# stdout: a normalized transcript, one key=value per observation (exit codes, what the
# containers see under /__w, /__e, /github/* as sorted path=sha256[:16] lists, the runner-side
# results, leftovers), with GUIDs, IDs, the label, ports and the marker's random content
# replaced by placeholders: two correct runs on different daemons print the same transcript.
# stderr: every docker call as the runner logs it (##[command]docker ...) and its output.
#
# Deviations, all deliberate: the externals are not written to (the runner never does, and
# under DinD the sidecar has a copy made when the pod started), so /__e is compared with the
# runner's EXT by content; the health poll gives up after ~2 min (the runner has no cap);
# one set_output file serves every step (RD §6's simplification); the inner image built by
# the Docker step, and the anonymous volume the service leaks (counted), are removed again so
# that the leftovers are the runner's own.
set -u
export LC_ALL=C
ROOT=${ROOT:-/home/runner}
WORK=${WORK:-$ROOT/_work}
EXT=${EXT:-$ROOT/externals}
REPO=r
TEMP=$WORK/_temp
ACT=$WORK/_actions
TOOL=${RUNNER_TOOL_CACHE:-$WORK/_tool}
WS=$WORK/$REPO/$REPO
JOBIMG=${REPLAY_JOB_IMAGE:?} SVCIMG=${REPLAY_SERVICE_IMAGE:?} ACTIMG=${REPLAY_ACTION_IMAGE:?}
STEPS=${REPLAY_STEPS:-all}
# The namespace of the image the Docker step builds itself (a user's tag): behind deskrun's
# guard tags must be in the tenant's namespace, so the guarded modes pass the tenant here.
TAGNS=${REPLAY_TAG_NS:-replay-inner}

log() { printf '%s\n' "$*" >&2; }
# A docker child as the runner starts it: logged, stdin closed at once.
dk() {
	log "##[command]docker $(printf '%q ' "$@")"
	docker "$@" </dev/null
}

# Placeholders: every random value is registered with a name, and replaced by <name>.
_tokv=() _tokn=()
tok() { _tokv+=("$1"); _tokn+=("$2"); }
guid() { tr -d - </proc/sys/kernel/random/uuid; }
new32() { printf -v "$1" '%s' "$(guid)"; tok "${!1}" "$2"; }
new6() { local g; g=$(guid); printf -v "$1" '%s' "${g:0:6}"; tok "${!1}" "$2"; }
san() { printf '%s' "$1" | tr -cd 'A-Za-z0-9_' | sed 's/^[0-9]*//'; }
sha() { sha256sum | cut -c1-16; }
norm() {
	local i s=() line
	for i in "${!_tokv[@]}"; do s+=(-e "s/${_tokv[$i]}/<${_tokn[$i]}>/g"); done
	sed -E "${s[@]}" -e 's/[0-9a-f]{64}/<id>/g'
}
kv() { printf '%s=%s\n' "$1" "$2" | norm; }
# The output of a script run in a container: "OBS k=v" and "LS <kind> <path> [sha]" lines
# become PREFIX.k=v and PREFIX.ls.<path>=<sha|dir|missing|link>, sorted; the rest is a
# diagnostic. Only keys are normalized; a sha equal to the marker's reads <marker>.
collect() {
	local p=$1 line k path s
	while IFS= read -r line; do
		case $line in
		"OBS "*) printf '%s.%s\n' "$p" "${line#OBS }" | norm ;;
		"LS "*)
			read -r _ k path s <<<"$line"
			case $k in F) [ "$s" = "$MARKER_SHA" ] && s="<marker>" ;; D) s=dir ;; M) s=missing ;; *) s=other ;; esac
			printf '%s.ls.%s=%s\n' "$p" "$(printf '%s' "$path" | norm)" "$s" ;;
		*) log "  [$p] $line" ;;
		esac
	done | sort
}
# The listing function the container scripts carry: LS lines for each directory given.
LSFN='lst() { for d in "$@"; do if [ -d "$d" ]; then echo "LS D $d"; (cd "$d" && find . ! -name . | while IFS= read -r f; do p="$d/${f#./}"; if [ -L "$f" ]; then echo "LS L $p"; elif [ -d "$f" ]; then echo "LS D $p"; elif [ -f "$f" ]; then echo "LS F $p $(sha256sum <"$f" | cut -c1-16)"; else echo "LS O $p"; fi; done); else echo "LS M $d"; fi; done; }'

log "replay: uid=$(id -u) groups=$(id -G) DOCKER_HOST=${DOCKER_HOST-unset} docker=$(command -v docker) ROOT=$ROOT WORK=$WORK EXT=$EXT"

# ---- A. layout (the harness acting as the runner) ----------------------------------------
[ -s "$ROOT/.runner" ] || { mkdir -p "$ROOT" && printf '{"agentId": %d, "agentName": "replay-%s", "workFolder": "_work"}\n' \
	"$RANDOM" "$(guid)" >"$ROOT/.runner"; }
L=$(sed '1s/^\xEF\xBB\xBF//' "$ROOT/.runner" | tr 'A-Z' 'a-z' | sha256sum | cut -c1-6)
tok "$L" L
# The runner empties TEMP (contents only) at job start.
mkdir -p "$TEMP" && find "$TEMP" -mindepth 1 -delete 2>/dev/null
mkdir -p "$WS" "$TEMP/_github_home" "$TEMP/_github_workflow" "$TEMP/_runner_file_commands" "$ACT" "$TOOL"
MARKER="marker-$(guid)"
printf '%s\n' "$MARKER" >"$WS/marker"
MARKER_SHA=$(sha <"$WS/marker")
rm -f "$WS/owner" "$WS/written"
printf '{"replay": true, "ref": "refs/heads/main"}\n' >"$TEMP/_github_workflow/event.json"
new32 OG out
OUT=$TEMP/_runner_file_commands/set_output_$OG
touch "$OUT"
kv layout.ext "$([ -d "$EXT" ] && echo present || echo missing)"
# The runner's externals by content, to compare with the job container's /__e.
RUNNER_EXT=$(cd "$EXT" 2>/dev/null && find . ! -name . | while IFS= read -r f; do
	if [ -d "$f" ]; then echo "${f#./}/"; else echo "${f#./}:$(sha <"$f")"; fi; done | sort)
export MARKER

# CMD with the environment K=V... (in a subshell): with_env K=V... -- CMD...
with_env() { (while [ "$1" != -- ]; do export "$1"; shift; done; shift; "$@"); }
# The runner's env for a step in the job container (RD §1.2, container paths)...
ctr_env() {
	with_env GITHUB_WORKSPACE=/__w/$REPO/$REPO RUNNER_WORKSPACE=/__w/$REPO RUNNER_TEMP=/__w/_temp \
		GITHUB_EVENT_PATH=/github/workflow/event.json \
		GITHUB_OUTPUT=/__w/_temp/_runner_file_commands/$(basename "$OUT") \
		GITHUB_ACTIONS=true CI=true REPLAY_LABEL=$L "$@"
}
CTR_NAMES=(-e "GITHUB_WORKSPACE" -e "RUNNER_WORKSPACE" -e "RUNNER_TEMP" -e "GITHUB_EVENT_PATH"
	-e "GITHUB_OUTPUT" -e "GITHUB_ACTIONS" -e "CI" -e "MARKER" -e "REPLAY_LABEL")
# ... and for a container action (RD §2: only these are translated to /github/*).
act_env() {
	with_env GITHUB_WORKSPACE=/github/workspace HOME=/github/home RUNNER_TEMP=/github/runner_temp \
		GITHUB_EVENT_PATH=/github/workflow/event.json \
		GITHUB_OUTPUT=/github/file_commands/$(basename "$OUT") RUNNER_WORKSPACE=$WORK/$REPO "$@"
}
ACT_NAMES=(-e "INPUT_CODE" -e "INPUT_SERVICE" -e "GITHUB_WORKSPACE" -e "HOME" -e "RUNNER_TEMP"
	-e "GITHUB_EVENT_PATH" -e "GITHUB_OUTPUT" -e "RUNNER_WORKSPACE" -e "MARKER")
ACT_VOLS=(-v "/var/run/docker.sock":"/var/run/docker.sock"
	-v "$TEMP":"/github/runner_temp"
	-v "$TEMP/_github_home":"/github/home"
	-v "$TEMP/_github_workflow":"/github/workflow"
	-v "$TEMP/_runner_file_commands":"/github/file_commands"
	-v "$WS":"/github/workspace")

# ---- E / §4. a step's own docker run with the workspace bound (no job container) ----------
user_step() {
	local o rc
	o=$(cd "$WS" && with_env GITHUB_WORKSPACE="$WS" -- dk run --rm -v "$WS":/src "$ACTIMG" cat /src/marker)
	rc=$?
	kv user.marker.rc "$rc"
	kv user.marker "$([ "$o" = "$MARKER" ] && echo match || echo "mismatch")"
	(cd "$WS" && dk run --rm -v "$WS":/src "$ACTIMG" sh -c 'echo written-in-container >/src/written')
	kv user.write.rc "$?"
	kv user.written "$(cat "$WS/written" 2>/dev/null || echo missing)"
	kv user.written.uid "$(stat -c %u "$WS/written" 2>/dev/null || echo none)"
	rm -f "$WS/written"
	kv user.written.runner_deletes "$([ ! -e "$WS/written" ] && echo 1 || echo 0)"
}

if [ "$STEPS" = user ]; then
	user_step
	exit 0
fi

# ---- pre-job (RD §2): pulls first, then builds ----------------------------------------------
dk pull "$ACTIMG" >&2
kv prejob.pull.docker_action "$?"
mkdir -p "$ACT/o/a/v1"
printf 'FROM %s\nCOPY e.sh /e.sh\nENTRYPOINT ["/e.sh"]\n' "$ACTIMG" >"$ACT/o/a/v1/Dockerfile"
cat >"$ACT/o/a/v1/e.sh" <<EOF
#!/bin/sh
$LSFN
lst /github/workspace /github/home /github/workflow /github/file_commands
echo "OBS marker=\$([ "\$(cat /github/workspace/marker 2>/dev/null)" = "\$MARKER" ] && echo match || echo mismatch)"
echo "OBS home=\$HOME workspace=\$GITHUB_WORKSPACE output=\${GITHUB_OUTPUT%_*} cwd=\$(pwd)"
echo "OBS sock=\$([ -S /var/run/docker.sock ] && echo socket || echo none)"
# (busybox wget without -T: its timeout option crashes this busybox)
[ -z "\$INPUT_SERVICE" ] || echo "OBS service=\$(wget -q -O - http://\$INPUT_SERVICE:6379/ 2>&1)"
echo r=1 >>"\$GITHUB_OUTPUT"
exit "\$INPUT_CODE"
EOF
chmod 0755 "$ACT/o/a/v1/e.sh"
new32 BG build
AIMG=$L:$BG
(cd "$ACT/o/a/v1" && dk build -t "$AIMG" -f "$ACT/o/a/v1/Dockerfile" "$ACT/o/a/v1" >&2)
kv prejob.build "$?"

# ---- B. "Initialize containers" (RD §1.1) ------------------------------------------------
cd "$WS" || exit 1
gate() { # the version gate: '1.NN' with its literal quotes, NN >= 35
	local v
	v=$(dk version --format "'{{.$1.APIVersion}}'")
	log "  version $1: $v"
	case $v in "'1."[0-9]*"'") v=${v#"'1."} && v=${v%"'"} && [ "$v" -ge 35 ] && echo ok && return ;; esac
	echo "bad"
}
# Fact 4: container jobs are refused where a line of /proc/1/cgroup has ":/docker/".
kv init.cgroup "$(grep -q ':/docker/' /proc/1/cgroup 2>/dev/null && echo refused || echo passes)"
kv init.gate.server "$(gate Server)"
kv init.gate.client "$(gate Client)"
stale=$(dk ps --all --quiet --no-trunc --filter "label=$L")
for id in $stale; do dk rm --force "$id" >&2; done
kv init.stale "$(printf '%s' "$stale" | grep -c .)"
dk network prune --force --filter "label=$L" >&2
kv init.prune "$?"
new32 NG network
NET=github_network_$NG
dk network create --label "$L" "$NET" >&2
kv init.network.create "$?"

dk pull "$JOBIMG" >&2
kv job.pull "$?"
new32 JA job_alias
new6 JH job_h6
J=$(dk create --name "${JA}_$(san "$JOBIMG")_$JH" --label "$L" --workdir "/__w/$REPO/$REPO" --network "$NET" \
	-e "HOME=/github/home" -e GITHUB_ACTIONS=true -e CI=true \
	-v "/var/run/docker.sock":"/var/run/docker.sock" \
	-v "$WORK":"/__w" \
	-v "$EXT":"/__e":ro \
	-v "$TEMP":"/__w/_temp" \
	-v "$ACT":"/__w/_actions" \
	-v "$TOOL":"$(case $TOOL/ in "$WORK"/*) echo /__w/_tool ;; *) echo /__t ;; esac)" \
	-v "$TEMP/_github_home":"/github/home" \
	-v "$TEMP/_github_workflow":"/github/workflow" \
	--entrypoint "tail" "$JOBIMG" "-f" "/dev/null")
kv job.create "$?"
tok "$J" job_id
dk start "$J" >&2
kv job.start "$?"
running() { # RD §1.1 5.5: the ps line must start with the ID
	local o
	o=$(dk ps --all --filter id="$1" --filter status=running --no-trunc --format "{{.ID}} {{.Status}}")
	case $o in "$1"*) echo 1 ;; *) echo 0; dk ps --all --filter id="$1" --no-trunc --format "{{.ID}} {{.Status}}" >&2; dk logs --details "$1" >&2 ;; esac
}
kv job.running "$(running "$J")"
jenv=$(dk inspect --format "{{range .Config.Env}}{{println .}}{{end}}" "$J")
kv job.inspect "$?"
kv job.env.HOME "$(printf '%s\n' "$jenv" | sed -n 's/^HOME=//p')"
kv job.env.PATH "$(printf '%s\n' "$jenv" | sed -n 's/^PATH=//p')"
kv job.env.CI "$(printf '%s\n' "$jenv" | sed -n 's/^CI=//p')"

VOLS_BEFORE=$(dk volume ls -q | sort)
dk pull "$SVCIMG" >&2
kv service.pull "$?"
new32 SA service_alias
new6 SH service_h6
# options: --health-cmd "wget -q -O /dev/null http://127.0.0.1:6379/" --health-interval 2s
S=$(dk create --name "${SA}_$(san "$SVCIMG")_$SH" --label "$L" --network "$NET" --network-alias redis -p 6379 \
	--health-cmd "wget -q -O /dev/null http://127.0.0.1:6379/" --health-interval 2s \
	-e GITHUB_ACTIONS=true -e CI=true "$SVCIMG")
kv service.create "$?"
tok "$S" service_id
dk start "$S" >&2
kv service.start "$?"
kv service.running "$(running "$S")"
ports=$(dk port "$S")
kv service.port.rc "$?"
log "  port: $ports"
# job.services.redis.ports: container port -> host port, the last line of a port winning.
kv service.ports "$(printf '%s\n' "$ports" | sed -n 's|^\([0-9]*\)/tcp -> .*|\1|p' | sort -u | paste -sd,)"
PORT=$(printf '%s\n' "$ports" | sed -n 's|^6379/tcp -> .*:\([0-9]*\)$|\1|p' | tail -1)
# RD §1.1 step 6 / fact 10: poll while "starting", back-off 2 s doubling to 32 s.
wait_s=2 waited=0
while :; do
	health=$(dk inspect --format="{{if .Config.Healthcheck}}{{print .State.Health.Status}}{{end}}" "$S")
	[ "$health" = starting ] && [ "$waited" -lt 120 ] || break
	sleep "$wait_s"
	waited=$((waited + wait_s))
	wait_s=$((wait_s * 2 > 32 ? 32 : wait_s * 2))
done
kv service.health "$health"
[ "$health" = healthy ] || [ -z "$health" ] || dk logs --details "$S" >&2
kv service.from_runner "$(env -u http_proxy -u HTTP_PROXY wget -q -O - -T 5 "http://127.0.0.1:$PORT/" 2>&1)"

# ---- steps in the job container (RD §1.2) ------------------------------------------------
step() { # NAME BODY: written to TEMP/<guid>.sh, run with docker exec; OBS/LS lines collected
	local name=$1 g o rc
	new32 g "$name"
	printf '%s\n' "$2" >"$TEMP/$g.sh"
	o=$(ctr_env -- dk exec -i --workdir "/__w/$REPO/$REPO" "${CTR_NAMES[@]}" "$J" sh -e "/__w/_temp/$g.sh")
	rc=$?
	LAST_OUT=$o
	kv "$name.rc" "$rc"
	printf '%s\n' "$o" | collect "$name"
}
step step1 "$LSFN
lst /__w /__e /github/home /github/workflow
echo \"OBS marker=\$([ \"\$(cat /__w/$REPO/$REPO/marker)\" = \"\$MARKER\" ] && echo match || echo mismatch)\"
echo \"OBS ext_readonly=\$(touch /__e/x 2>/dev/null && echo 0 || echo 1)\"
echo \"OBS event=\$(sha256sum <\"\$GITHUB_EVENT_PATH\" | cut -c1-16)\"
echo \"OBS service=\$(wget -q -O - -T 5 http://redis:6379/ 2>&1)\"
echo \"OBS home=\$HOME cwd=\$(pwd) uid=\$(id -u)\"
echo k=v >>\"\$GITHUB_OUTPUT\"
echo hi >/github/home/h
id -u >\"\$GITHUB_WORKSPACE/owner\"
[ \"\$(cat /__w/$REPO/$REPO/marker)\" = \"\$MARKER\" ]"
# What the job container saw at /__e, in the form of RUNNER_EXT.
JOB_EXT=$(printf '%s\n' "$LAST_OUT" | sed -n -e 's|^LS D /__e/\(.*\)|\1/|p' -e 's|^LS F /__e/\([^ ]*\) \(.*\)|\1:\2|p' | sort)
step step2 "exit 3"
# A JavaScript action's first call (RD §1.2): the OS probe, with empty exec options. (Its node
# is /__e/node20/bin/node: the e2e externals stand-in has the directory, no node.)
kv js.release "$(dk exec "$J" sh -c "cat /etc/*release | grep ^ID" | paste -sd,)"

# ---- container actions in the container job (RD §2), on the job's network -----------------
action() { # NAME IMAGE NETWORK(or "") CODE [ARGS...]
	local name=$1 img=$2 net=$3 code=$4 h o rc
	shift 4
	new6 h "$name"
	o=$(act_env INPUT_CODE="$code" INPUT_SERVICE="${net:+redis}" -- dk run --name "$(san "$img")_$h" --label "$L" \
		--workdir /github/workspace --rm "${ACT_NAMES[@]}" -e GITHUB_ACTIONS=true -e CI=true \
		${net:+--network "$net"} "${ACT_VOLS[@]}" "$img" "$@")
	rc=$?
	kv "$name.rc" "$rc"
	printf '%s\n' "$o" | collect "$name"
}
action action_net_0 "$AIMG" "$NET" 0
action action_net_5 "$AIMG" "$NET" 5
action docker_action "$ACTIMG" "$NET" 0 sh -c "test -f /github/workspace/marker && echo d=1 >> \$GITHUB_OUTPUT"

# A step that uses Docker itself, through the bound socket (no DOCKER_HOST in the container).
step step_docker "echo \"OBS docker_host=\${DOCKER_HOST:-unset} sock=\$([ -S /var/run/docker.sock ] && echo socket || echo none)\"
docker ps --all --filter \"label=\$REPLAY_LABEL\" --format '{{.Image}} {{.State}}' | sed 's/^/OBS ps=/'
echo \"OBS run=\$(docker run --rm $ACTIMG echo ran-inner)\"
mkdir -p /tmp/inner && printf 'FROM $ACTIMG\nRUN echo built-inner >/b\nCMD [\"cat\", \"/b\"]\n' >/tmp/inner/Dockerfile
docker build -t $TAGNS/\$REPLAY_LABEL:1 /tmp/inner >&2 && b=0 || b=\$?
echo \"OBS build=\$b\"
echo \"OBS built=\$(docker run --rm $TAGNS/\$REPLAY_LABEL:1)\"
docker rmi $TAGNS/\$REPLAY_LABEL:1 >/dev/null || :"

# ---- "Stop containers" (RD §1.3): per container in list order, logs (services) and rm ------
dk rm --force "$J" >&2
kv stop.rm.job "$?"
dk logs --details "$S" >/dev/null 2>&1
kv stop.logs.service "$?"
dk rm --force "$S" >&2
kv stop.rm.service "$?"
dk network rm "$NET" >&2
kv stop.network.rm "$?"
# Fact 6: rm --force without -v leaks the service's anonymous volume (its VOLUME /data). The
# replay counts it, then removes it so that the daemon is left as it was.
leaked=$(dk volume ls -q | sort | comm -13 <(printf '%s\n' "$VOLS_BEFORE") -)
kv stop.leaked_volumes "$(printf '%s' "$leaked" | grep -c .)"
for v in $leaked; do dk volume rm "$v" >&2; done

# ---- the same Dockerfile action in a job without container:/services: --------------------
action action_0 "$AIMG" "" 0
action action_5 "$AIMG" "" 5

user_step

# ---- afterwards: the runner-side results --------------------------------------------------
kv result.output "$(paste -sd, "$OUT")"
kv result.home.h "$(cat "$TEMP/_github_home/h" 2>/dev/null || echo missing)"
kv result.owner "$(cat "$WS/owner" 2>/dev/null || echo missing)"
rm -f "$WS/owner"
kv result.owner.runner_deletes "$([ ! -e "$WS/owner" ] && echo 1 || echo 0)"
kv result.ext.same_as_job "$([ -n "$RUNNER_EXT" ] && [ "$RUNNER_EXT" = "$JOB_EXT" ] && echo 1 || echo 0)"
kv left.containers "$(dk ps -aq --filter "label=$L" | grep -c .)"
kv left.networks "$(dk network ls -q --filter "label=$L" | grep -c .)"
kv left.images "$(dk images --format '{{.Repository}}:{{.Tag}}' | grep -E "^($L:|$TAGNS/$L)" | norm | sort | paste -sd,)"
