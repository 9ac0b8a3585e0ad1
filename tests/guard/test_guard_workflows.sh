#!/bin/bash
# The "must keep working" table (§3.3 of the guard's design brief): each workflow runs with the
# real docker CLI through `deskrun guard` in front of a private dockerd, and shows the same
# result as on the daemon itself.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/guard/lib.sh"

guard_suite_start
start_guard w wf || exit 1
export DOCKER_HOST="unix://$TMP/g-w.sock"

run docker version --format '{{.Server.APIVersion}}'
check "W01 docker version negotiates through the guard" eq "$OUT" "1.41"
run docker info --format '{{.Swarm.LocalNodeState}}'
check "W01 docker info answers (swarm state for compose)" eq "$OUT" "inactive"
run docker run --rm tiny:1 echo hello
check "W02 docker run --rm prints the output" eq "$OUT" "hello"
check "W02 ... and removes the container" eq "$(d ps -aq)" ""
run docker run --rm tiny:1 sh -c 'exit 3'
check "W02 the exit status comes back" eq "$RC" "3"
docker run -d --name wf-logger tiny:1 sh -c 'for i in 1 2 3; do echo line$i; sleep 0.2; done' >/dev/null
run timeout 20 docker logs -f wf-logger
check "W03 docker run -d + logs -f streams until the container exits" eq "$OUT" "line1
line2
line3"
docker run -d --name wf-box tiny:1 sleep 600 >/dev/null
run docker exec wf-box echo no-stdin
check "W04 docker exec without -i prints the output (half-close)" eq "$OUT" "no-stdin"
run_in "piped-in" docker exec -i wf-box cat
check "W04 docker exec -i passes stdin and output" eq "$OUT" "piped-in"
run script -qec "docker exec -it wf-box sh -c 'tty; echo tty-ok'" /dev/null </dev/null
check "W04 docker exec -it gets a TTY" contains "$OUT" "/dev/pts/"
check "W04 ... and its output" contains "$OUT" "tty-ok"
echo "copied-in" >"$TMP/cp-in.txt"
run docker cp "$TMP/cp-in.txt" wf-box:/tmp/cp-in.txt
check "W05 docker cp into a container" eq "$(docker exec wf-box cat /tmp/cp-in.txt)" "copied-in"
run docker cp wf-box:/tmp/cp-in.txt "$TMP/cp-out.txt"
check "W05 docker cp out of a container" eq "$(cat "$TMP/cp-out.txt" 2>/dev/null)" "copied-in"
mkdir -p "$TMP/ctx"
printf 'FROM tiny:1\nRUN echo built-through-guard > /built\nCMD ["cat","/built"]\n' >"$TMP/ctx/Dockerfile"
run env DOCKER_BUILDKIT=0 docker build -q -t wf/app:1 "$TMP/ctx"
check "W06 docker build (legacy builder) with a tag in the tenant's namespace" eq "$RC" "0"
check "W06 ... the image carries the tenant label" eq "$(d image inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' wf/app:1)" "wf"
run docker run --rm wf/app:1
check "W06 ... and runs" eq "$OUT" "built-through-guard"
skip "W07 docker build with BuildKit (buildx)" "the docker 28.2.2 client here has no buildx plugin and Debian ships none; the guard refuses /grpc and /session unless the policy sets \"buildkit\": true"
skip "W08 docker compose up/down" "no compose plugin is installed on this machine (Debian's docker.io 20.10 has none for CLI 28)"

# W09/W10: a local registry on loopback
REG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/registry"
cat >"$TMP/registry/config.yml" <<EOF2
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $TMP/registry/data}}
http: {addr: 127.0.0.1:$REG_PORT}
EOF2
docker-registry serve "$TMP/registry/config.yml" >"$TMP/registry/log" 2>&1 &
REG_PID=$!
for i in $(seq 1 50); do curl -fs "http://127.0.0.1:$REG_PORT/v2/" >/dev/null && break; sleep 0.1; done
REG=127.0.0.1:$REG_PORT
run docker login "$REG" -u ci -p secret
check "W09 docker login against the registry" contains "$OUT" "Login Succeeded"
check "W09 the credentials never reach the guard's log" bash -c '! grep -q secret "$0"' "$TMP/g-w.log"
docker tag wf/app:1 "$REG/wf/app:1"
run docker push "$REG/wf/app:1"
check "W10 docker push of an image in the tenant's namespace" eq "$RC" "0"
docker rmi "$REG/wf/app:1" >/dev/null
run docker pull "$REG/wf/app:1"
check "W10 docker pull of it back" eq "$RC" "0"
check "W10 ... the image is there" eq "$(d image inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' "$REG/wf/app:1")" "wf"
docker tag tiny:1 "$REG/library/shared:1" 2>/dev/null
d tag tiny:1 "$REG/library/shared:1" && d push "$REG/library/shared:1" >/dev/null && d rmi "$REG/library/shared:1" >/dev/null
run docker pull "$REG/library/shared:1"
check "W10 docker pull of a shared image" eq "$RC" "0"
run docker images --format '{{.Repository}}:{{.Tag}}'
check "W10 ... it is listed as the tenant's (state)" contains "$OUT" "$REG/library/shared:1"
check "W10 ... the image list hides the node's own images" lacks "$OUT" "tiny:1"
kill "$REG_PID" 2>/dev/null
wait "$REG_PID" 2>/dev/null
run docker tag tiny:1 wf/tiny:copy
check "W11 docker tag into the tenant's namespace" eq "$RC" "0"
run docker tag tiny:1 other:1
check "W11 docker tag outside it is refused with a clear message" contains "$ERR" "Error response from daemon: deskrun guard: tag \"docker.io/library/other:1\": images made here must be tagged in the tenant's namespace"
T0=$(date +%s)
docker run --rm --name wf-evt tiny:1 true >/dev/null
run timeout 20 docker events --since "$T0" --until "$(($(date +%s) + 1))" --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}'
check "W12 docker events shows the tenant's container events" contains "$OUT" "start wf-evt"
run docker system df
check "W13 docker system df" contains "$OUT" "Images"
run docker network create wf-net
check "W14 docker network create" eq "$RC" "0"
run docker network connect wf-net wf-box
check "W14 docker network connect" eq "$RC" "0"
run docker network disconnect wf-net wf-box
check "W14 docker network disconnect" eq "$RC" "0"
run docker network rm wf-net
check "W14 docker network rm" eq "$RC" "0"
run docker volume create wf-vol
check "W14 docker volume create" eq "$RC" "0"
check "W14 ... it carries the tenant label" eq "$(d volume inspect -f '{{index .Labels "io.deskrun.tenant"}}' wf-vol)" "wf"
docker run --rm -v wf-vol:/v tiny:1 sh -c 'echo kept > /v/f'
run docker run --rm -v wf-vol:/v tiny:1 cat /v/f
check "W14 a named volume keeps data between containers" eq "$OUT" "kept"
run docker volume rm wf-vol
check "W14 docker volume rm" eq "$RC" "0"
docker run -d --name wf-data -v /data tiny:1 sh -c 'echo shared > /data/x; sleep 600' >/dev/null
sleep 0.3
run docker run --rm --volumes-from wf-data tiny:1 cat /data/x
check "W17 docker run --volumes-from an own container" eq "$OUT" "shared"
run docker volume ls -q
check "W17 the anonymous volume is the tenant's (state)" bash -c 'docker -H "unix://$1" volume inspect "$0" >/dev/null' "$(d inspect -f '{{range .Mounts}}{{.Name}}{{end}}' wf-data)" "$TMP/g-w.sock"
run docker stats --no-stream --format '{{.Name}}' wf-box
check "W18 docker stats --no-stream" eq "$OUT" "wf-box"
run docker top wf-box
check "W18 docker top" contains "$OUT" "sleep"
docker run -d --name wf-wait tiny:1 sh -c 'exit 7' >/dev/null
run docker wait wf-wait
check "W18 docker wait" eq "$OUT" "7"
# W19: the shape of a GitHub Actions container job: network, service container with an
# alias, job container, exec per step, logs, cleanup
docker network create github_network_0123abc >/dev/null
docker run -d --name svc_redis_0123 --network github_network_0123abc --network-alias redis tiny:1 sh -c 'echo svc-ready; sleep 600' >/dev/null
docker run -d --name job_0123 --network github_network_0123abc -e GITHUB_ACTIONS=true tiny:1 sleep 600 >/dev/null
run docker exec job_0123 sh -c 'echo "step 1: $GITHUB_ACTIONS"'
check "W19 a job step runs with docker exec" eq "$OUT" "step 1: true"
run docker logs svc_redis_0123
check "W19 service container logs" eq "$OUT" "svc-ready"
run docker rm -f svc_redis_0123 job_0123
check "W19 job cleanup" eq "$RC" "0"
run docker network rm github_network_0123abc
check "W19 network cleanup" eq "$RC" "0"
run docker ps -a -q
check "W15 docker ps -a lists the tenant's containers" bash -c '[ -n "$0" ]' "$OUT"
run docker rm -f $(docker ps -aq)
check "W15 docker rm -f \$(docker ps -aq)" eq "$RC" "0"
docker run --name wf-stopped tiny:1 true >/dev/null
run docker container prune -f
check "W16 docker container prune" contains "$OUT" "Total reclaimed space"
run docker system prune -f
check "W16 docker system prune -f (build cache prune is scoped, not refused)" eq "$RC" "0"
check "W16 the node's image survives the tenant's prunes" bash -c 'docker -H "unix://$0" image inspect tiny:1 >/dev/null' "$RAW"
check "the guard logged no error" bash -c '! grep -q " error:" "$0"' "$TMP/g-w.log"
unset DOCKER_HOST
done_testing
