#!/bin/bash
# Mode dind on a real engine: the rendered runner pod (dind sidecar, daemon.json ConfigMap,
# /var/lib/docker on a hostPath) runs under podman; a job's Docker steps work from the runner
# container; a second pod, after the first is gone, builds with every layer cached. Then the
# same with --cache-pool: two pods at once lease two slots, and a later pod gets a warm one.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"
IMAGES=(--runner-image "$RUNNER_IMAGE" --dind-image "$DIND_IMAGE" --helper-image "$HELPER_IMAGE")

run dr add d1 --repository https://github.com/o/r --mode dind --cache /var/lib/docker \
	--auth-value-file "$TMP/pat" --mtu 1400 "${IMAGES[@]}"
check "add a dind runner with a persistent /var/lib/docker" eq "$RC" 0

for i in 1 2; do
	pod_yaml "$TMP/p$i.json" --name "e2e-dind-$i" --sleep runner -- d1 --runner-pod ||
		not_ok "render the runner pod"
	play "$TMP/p$i.json" || not_ok "podman kube play the runner pod"
	if ! wait_docker "e2e-dind-$i" runner; then
		not_ok "e2e-dind-$i: the runner reaches the dind daemon"
		logs "e2e-dind-$i" dind
		continue
	fi
	ok "e2e-dind-$i: the runner reaches the dind daemon"
	if [ "$i" = 1 ]; then
		pexec e2e-dind-1 runner docker info --format '{{.DockerRootDir}} {{.LoggingDriver}}'
		check "dockerd runs with the rendered daemon.json" eq "$OUT" "/var/lib/docker json-file"
		pexec e2e-dind-1 runner sh -c 'docker network inspect bridge --format "{{index .Options \"com.docker.network.driver.mtu\"}}"'
		check "--mtu reaches the daemon's bridge" eq "$OUT" 1400
		load_base e2e-dind-1 runner
	fi
	workflow "e2e-dind-$i" runner "e2e/app:$i"
	read -r cached steps < <(cache_hits)
	if [ "$i" = 1 ]; then
		check "the first pod builds from scratch" eq "$cached" 0
	else
		pexec e2e-dind-2 runner docker image inspect --format ok "$BASE_IMAGE"
		check "the second pod finds the base image the first one loaded" eq "$OUT" ok
		check "the second pod builds with every layer cached ($cached of $steps steps)" eq "$cached $steps" "4 4"
	fi
	unplay "e2e-dind-$i"
done
check "the daemon's layers are on the node's disk" test -d "$HOSTROOT/node/var/lib/deskrun/cache/d1/cache-0/overlay2"

# --cache-pool: any number of runners, each daemon on a leased slot.
run dr add p1 --repository https://github.com/o/r --mode dind --cache-pool 2 \
	--auth-value-file "$TMP/pat" "${IMAGES[@]}"
check "add a dind runner with a cache pool of 2" eq "$RC" 0
pool=$HOSTROOT/node/var/lib/deskrun/cache/pool/p1
for i in 1 2; do
	pod_yaml "$TMP/q$i.json" --name "e2e-pool-$i" --sleep runner -- p1 --runner-pod
	play "$TMP/q$i.json" || not_ok "podman kube play pool pod $i"
done
for i in 1 2; do
	if wait_docker "e2e-pool-$i" runner; then ok "e2e-pool-$i: its daemon runs on a leased slot"
	else not_ok "e2e-pool-$i: its daemon runs on a leased slot"; logs "e2e-pool-$i" dind; fi
done
pexec e2e-pool-1 runner docker info --format '{{.DockerRootDir}}'
r1=$OUT
pexec e2e-pool-2 runner docker info --format '{{.DockerRootDir}}'
r2=$OUT
check "two pods at once lease two different slots ($r1, $r2)" test -n "$r1" -a -n "$r2" -a "$r1" != "$r2"
load_base e2e-pool-1 runner
workflow e2e-pool-1 runner e2e/pool:1
# The idle pod ends first; the one that built ends last, so its slot is the set's most
# recently used one, which dind-entrypoint prefers (lease times have 1 s resolution).
unplay e2e-pool-2
sleep 1.2
unplay e2e-pool-1
pod_yaml "$TMP/q3.json" --name e2e-pool-3 --sleep runner -- p1 --runner-pod
play "$TMP/q3.json"
if wait_docker e2e-pool-3 runner; then
	pexec e2e-pool-3 runner docker info --format '{{.DockerRootDir}}'
	check "a later pod leases the slot its set released last, the warm one" eq "$OUT" "$r1"
	workflow e2e-pool-3 runner e2e/pool:3
	read -r cached steps < <(cache_hits)
	check "and builds with every layer cached ($cached of $steps steps)" eq "$cached $steps" "4 4"
else
	not_ok "e2e-pool-3: its daemon runs"
	logs e2e-pool-3 dind
fi
unplay e2e-pool-3
check "the slots live on the node's disk" test -d "$pool/slot-0" -a -d "$pool/slot-1"

# --dind-image-has-deskrun: the dind image holds deskrun (deskrun image build --dind, into this
# test's podman store), so the pool's pod has no init container copying it from the helper.
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexec /usr/bin/podman --root %s --runroot %s --tmpdir %s "$@"\n' \
	"$E2E_STORE/root" "$E2E_STORE/run" "$E2E_STORE/tmp" >"$TMP/bin/podman"
chmod +x "$TMP/bin/podman"
DIND_DESKRUN=localhost/deskrun-e2e/dind-deskrun:1
run env PATH="$TMP/bin:$PATH" "$DESKRUN" image build --dind --engine podman --from "$DIND_IMAGE" \
	--binary "$BUILDDIR/deskrun-static" --tag "$DIND_DESKRUN"
check "image build --dind: $DIND_DESKRUN FROM $DIND_IMAGE" eq "$RC" 0
P run --rm --network none --entrypoint /usr/local/bin/deskrun "$DIND_DESKRUN" version >"$TMP/v.out" 2>&1
check "the dind image runs its deskrun" contains "$(cat "$TMP/v.out")" "deskrun"
run dr add p2 --repository https://github.com/o/r --mode dind --cache-pool 1 \
	--auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE" --dind-image "$DIND_DESKRUN" \
	--dind-image-has-deskrun
check "add a pool runner with --dind-image-has-deskrun" eq "$RC" 0
pod_yaml "$TMP/r1.json" --name e2e-pool-img --sleep runner -- p2 --runner-pod
inits=$(/usr/bin/python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(" ".join(c["name"] for c in p["spec"].get("initContainers", [])) or "none")' "$TMP/r1.json.render")
check "its pod has no deskrun-bin init container (init containers: $inits)" lacks "$inits" deskrun-bin
play "$TMP/r1.json" || not_ok "podman kube play the pool pod with deskrun in its dind image"
if wait_docker e2e-pool-img runner; then
	pexec e2e-pool-img runner docker info --format '{{.DockerRootDir}}'
	check "its daemon runs on a leased slot ($OUT), deskrun from the dind image" contains "$OUT" \
		"/pool/p2/slot-0"
	load_base e2e-pool-img runner
	workflow e2e-pool-img runner e2e/pool-img:1
else
	not_ok "e2e-pool-img: its daemon runs"
	logs e2e-pool-img dind
fi
unplay e2e-pool-img
P rmi -f "$DIND_DESKRUN" >/dev/null 2>&1
done_testing
