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
# W07/W08: BuildKit and compose with the real clients. Debian's docker 20.10 CLI
# (/usr/bin/docker) drives BuildKit through POST /session + POST /build?version=2; docker buildx
# (the docker driver: the daemon's own BuildKit) and compose (which builds through `buildx bake`)
# through POST /grpc + POST /session. The default policy serves both tunnels, read and
# checked (tests/guard/test_guard_buildkit.sh): a second guard with the default policy (tenant
# wb) builds with each client; a third whose policy says "buildkit": false (tenant wf, socket
# g-wo) refuses them with the reason. The plugins come from
# tests/clients/build.sh's cache: a cold build takes minutes, so this suite only uses a warm
# cache, unless DESKRUN_BUILD_CLIENTS=1 asks it to build. The suite's dockerd has no default
# bridge (--bridge=none), where BuildKit runs RUN steps by default, so every build here says
# --network=none (on the /build query, the buildx flag, compose's build.network).
OLDCLI=/usr/bin/docker
OLDCLI_WHY=""
if [ ! -x "$OLDCLI" ]; then
	OLDCLI_WHY="no Debian docker CLI at $OLDCLI (docker.io)"
else
	case "$("$OLDCLI" version --format '{{.Client.Version}}' 2>/dev/null)" in
	20.10.*) ;;
	*) OLDCLI_WHY="$OLDCLI is not the docker 20.10 CLI (the /session + /build?version=2 path needs a CLI without buildx)" ;;
	esac
fi
CLIENTS_WHY=""
if [ "${DESKRUN_BUILD_CLIENTS:-0}" = 1 ]; then
	CLIENTS=$("$SRCDIR/tests/clients/build.sh" 2>"$TMP/clients.log") ||
		CLIENTS_WHY="tests/clients/build.sh failed: $(grep -v '^go: downloading' "$TMP/clients.log" | tail -1)"
else
	CLIENTS=$("$SRCDIR/tests/clients/build.sh" --cached) ||
		CLIENTS_WHY="docker-buildx and docker-compose are not built: run tests/clients/build.sh (a few minutes, Go module proxy) or set DESKRUN_BUILD_CLIENTS=1"
fi
[ -z "$CLIENTS_WHY" ] && ! "$CLIENTS/docker-buildx" version >/dev/null 2>&1 &&
	CLIENTS_WHY="$CLIENTS/docker-buildx does not run"
# plugin_config DIR: a DOCKER_CONFIG with the built plugins (never the machine's ~/.docker)
plugin_config() {
	mkdir -p "$1/cli-plugins"
	ln -sf "$CLIENTS/docker-buildx" "$1/cli-plugins/docker-buildx"
	ln -sf "$CLIENTS/docker-compose" "$1/cli-plugins/docker-compose"
}
echo '{"buildkit": false}' >"$TMP/policy-nobuildkit.json"
start_guard wb wb || exit 1
start_guard wo wf --policy "$TMP/policy-nobuildkit.json" || exit 1
mkdir -p "$TMP/ctx7"
printf 'FROM tiny:1 AS base\nRUN echo stage-one > /s1\nFROM tiny:1\nCOPY --from=base /s1 /s1\nCMD ["cat","/s1"]\n' >"$TMP/ctx7/Dockerfile"
if [ -n "$OLDCLI_WHY" ]; then
	skip "W07 \"buildkit\": false refuses BuildKit from docker 20.10" "$OLDCLI_WHY"
	skip "W07a docker 20.10 DOCKER_BUILDKIT=1 build through the default guard" "$OLDCLI_WHY"
else
	run env DOCKER_BUILDKIT=1 DOCKER_HOST="unix://$TMP/g-wo.sock" "$OLDCLI" build --network=none -t wf/bk:1 "$TMP/ctx7"
	# The CLI opens /session and sends /build?version=2 at once; both are refused, and it
	# prints whichever refusal comes back first.
	check "W07 \"buildkit\": false refuses docker 20.10's BuildKit build, and the CLI says so" \
		bash -c 'case "$0" in *"failed to dial gRPC: unable to upgrade to h2c, received 403"*|*"deskrun guard: build remote: "*|*"BuildKit is off for this tenant"*) ;; *) exit 1 ;; esac' "$ERR"
	check "W07 ... the guard logs why (/session)" \
		grep -q '/session: BuildKit is off for this tenant (its policy says "buildkit": false); use DOCKER_BUILDKIT=0' "$TMP/g-wo.log"
	run env DOCKER_BUILDKIT=1 DOCKER_HOST="unix://$TMP/g-wb.sock" "$OLDCLI" build --network=none -t wb/old:1 "$TMP/ctx7"
	check "W07a docker 20.10 DOCKER_BUILDKIT=1 builds a multi-stage Dockerfile through the default guard" \
		eq "$RC" "0"
	run g wb run --rm --pull never wb/old:1
	check "W07a ... and the image runs" eq "$OUT" "stage-one"
	check "W07a ... and carries the tenant label (the guard adds it to the /build labels)" \
		eq "$(d image inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' wb/old:1)" "wb"
fi
if [ -n "$CLIENTS_WHY" ]; then
	skip "W07 \"buildkit\": false keeps buildx off the daemon's BuildKit" "$CLIENTS_WHY"
	skip "W07b docker buildx build --load (docker driver) through the default guard" "$CLIENTS_WHY"
	skip "W08 docker compose up --build --wait, ps, logs, exec, down -v" "$CLIENTS_WHY"
else
	plugin_config "$TMP/cfg-w"
	plugin_config "$TMP/cfg-wb"
	# Refused /grpc, buildx does not get the daemon's BuildKit and makes its default builder a
	# docker-container one (it would pull moby/buildkit and run it privileged): list, no build.
	run env DOCKER_CONFIG="$TMP/cfg-w" DOCKER_HOST="unix://$TMP/g-wo.sock" docker buildx ls
	check "W07 \"buildkit\": false keeps buildx off the daemon's BuildKit (default builder: docker-container)" \
		bash -c 'printf "%s\n" "$0" | grep -Eq "^default\*? +docker-container"' "$OUT"
	check "W07 ... the guard logs why (/grpc)" \
		grep -q '/grpc: BuildKit is off for this tenant (its policy says "buildkit": false); use DOCKER_BUILDKIT=0' "$TMP/g-wo.log"
	export DOCKER_CONFIG="$TMP/cfg-wb" DOCKER_HOST="unix://$TMP/g-wb.sock"
	run docker buildx ls
	check "W07b with the default policy buildx uses the daemon's BuildKit (docker driver)" \
		bash -c 'printf "%s\n" "$0" | grep -Eq "^default\*? +docker +"' "$OUT"
	mkdir -p "$TMP/ctx7b"
	cat >"$TMP/ctx7b/Dockerfile" <<'EOF2'
FROM tiny:1 AS base
ARG GREETING=unset
RUN --mount=type=cache,target=/cache echo "$GREETING" > /greeting && echo run >> /cache/runs && wc -l < /cache/runs | tr -d ' ' > /runs
RUN --mount=type=secret,id=x md5sum /run/secrets/x | cut -c1-32 > /secret.md5
FROM tiny:1 AS app
COPY --from=base /greeting /runs /secret.md5 /
CMD ["cat", "/greeting", "/secret.md5"]
FROM app AS extra
RUN echo not-the-target > /extra
EOF2
	echo "w07b-secret-$$" >"$TMP/secret.txt"
	secret_md5=$(md5sum "$TMP/secret.txt" | cut -c1-32)
	# the flags docker/build-push-action passes (--iidfile, --metadata-file, --provenance, --label)
	bx_build() {
		run docker buildx build --load --network=none --progress=plain --build-arg GREETING=hello \
			--secret "id=x,src=$TMP/secret.txt" --target app --iidfile "$TMP/iid" \
			--metadata-file "$TMP/meta.json" --provenance=false \
			--label org.opencontainers.image.source=https://example.invalid/wb/app "$@" "$TMP/ctx7b"
	}
	bx_build -t wb/app:1
	check "W07b docker buildx build --load: multi-stage, cache mount, build-arg, secret, target" eq "$RC" "0"
	iid=$(cat "$TMP/iid" 2>/dev/null)
	check "W07b ... --iidfile names the image" eq "$iid" "$(d image inspect -f '{{.Id}}' wb/app:1 2>/dev/null)"
	check "W07b ... --metadata-file has its digest and the build ref" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["containerimage.digest"] == sys.argv[2], m
assert m["buildx.build.ref"].startswith("default/default/"), m' "$TMP/meta.json" "$iid"
	run docker run --rm wb/app:1
	check "W07b ... the image runs (build-arg, secret read in RUN)" eq "$OUT" "hello
$secret_md5"
	check "W07b ... --label is on the image" eq "$(d image inspect -f '{{index .Config.Labels "org.opencontainers.image.source"}}' wb/app:1)" "https://example.invalid/wb/app"
	check "W07b ... --target stopped at the app stage" bash -c '! docker run --rm wb/app:1 test -e /extra'
	check "W07b ... the secret is in no layer" bash -c '! docker -H "unix://$0" save wb/app:1 | grep -aq "$1"' "$RAW" "w07b-secret-$$"
	bx_build --build-arg GREETING=again -t wb/app:2
	check "W07b ... the cache mount outlives the build (the step re-run for a new build-arg sees the first run's file)" \
		eq "$(docker run --rm wb/app:2 cat /greeting /runs)" "again
2"
	check "W07b ... the image carries the tenant label (the guard adds it to the Solve)" \
		eq "$(d image inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' wb/app:1)" "wb"
	# W08: compose v2 with a build, a named volume, a network, healthchecks for --wait
	mkdir -p "$TMP/proj/web"
	printf 'FROM tiny:1 AS content\nRUN mkdir -p /www && echo hello-from-web > /www/index.html\nFROM tiny:1\nCOPY --from=content /www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n' >"$TMP/proj/web/Dockerfile"
	cat >"$TMP/proj/compose.yaml" <<'EOF2'
name: wbproj
services:
  web:
    build: {context: ./web, network: none}
    image: wb/web:1
    networks: [back]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 30
  client:
    image: tiny:1
    command: ["sh", "-c", "until wget -q -O /data/got http://web:8080/; do sleep 0.2; done; cat /data/got; exec sleep 600"]
    depends_on:
      web: {condition: service_healthy}
    networks: [back]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "test", "-s", "/data/got"]
      interval: 1s
      retries: 30
networks:
  back: {}
volumes:
  data: {}
EOF2
	compose() { docker compose --project-directory "$TMP/proj" -f "$TMP/proj/compose.yaml" --progress plain "$@"; }
	run timeout 180 docker compose --project-directory "$TMP/proj" -f "$TMP/proj/compose.yaml" --progress plain up -d --build --wait
	check "W08 docker compose up -d --build --wait (build through buildx bake, network, volume, healthchecks)" eq "$RC" "0"
	run compose ps --format '{{.Service}} {{.State}} {{.Health}}'
	check "W08 docker compose ps" eq "$(printf '%s\n' "$OUT" | sort)" "client running healthy
web running healthy"
	run compose logs --no-log-prefix client
	check "W08 docker compose logs" eq "$OUT" "hello-from-web"
	run compose exec -T client cat /data/got
	check "W08 docker compose exec (the client fetched the built web over the project network)" eq "$OUT" "hello-from-web"
	run compose down -v
	check "W08 docker compose down -v" eq "$RC" "0"
	check "W08 ... no container, network or volume of the project is left" eq \
		"$(d ps -aq --filter label=com.docker.compose.project=wbproj; d network ls -q --filter label=com.docker.compose.project=wbproj; d volume ls -q --filter label=com.docker.compose.project=wbproj)" ""
	check "W08 ... nor under its names" eq "$(d ps -a --format '{{.Names}}' | grep wbproj; d network ls --format '{{.Name}}' | grep wbproj; d volume ls --format '{{.Name}}' | grep wbproj)" ""
	run docker rmi wb/web:1 wb/app:1 wb/app:2
	check "W08 the built images are removed through the guard (down -v keeps images)" eq "$RC" "0"
	check "the default guard (BuildKit on) logged no error" bash -c '! grep -q " error:" "$0"' "$TMP/g-wb.log"
	unset DOCKER_CONFIG
	export DOCKER_HOST="unix://$TMP/g-w.sock"
fi

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
