#!/bin/bash
# deskrun image build on a real Docker daemon and on podman: the helper image is FROM scratch
# with the static deskrun, built offline, and runs.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
if [ ! -x "$BUILDDIR/deskrun-static" ]; then
	skip "helper image" "no deskrun-static in this build (sanitizer builds do not link statically)"
	done_testing
	exit
fi
if ! dockerd_available; then
	skip "helper image on Docker" "dockerd cannot run here (needs root and docker.io)"
	done_testing
	exit
fi
start_dockerd img || { not_ok "a private dockerd starts"; done_testing; exit 1; }
run "$DESKRUN" image build --tag deskrun-helper:test
check "image build exits 0" eq "$RC" 0
check "and names the static binary it used" contains "$OUT" "deskrun-static"
run docker image inspect --format '{{json .Config.Entrypoint}} {{len .RootFS.Layers}}' deskrun-helper:test
check "the image's entrypoint is /deskrun, one layer" eq "$OUT" '["/deskrun"] 1'
run docker run --rm --network none deskrun-helper:test version
check "the image runs deskrun" contains "$OUT" "deskrun 0."
docker save deskrun-helper:test | tar -xO --wildcards '*/layer.tar' | tar -t >"$TMP/files"
check "nothing but deskrun and empty directories is in it" eq "$(grep -v '/$' "$TMP/files" | sort | tr '\n' ' ')" "deskrun "
run "$DESKRUN" image build --binary "$DESKRUN" --tag x
if ldd "$DESKRUN" >/dev/null 2>&1; then
	check "a dynamic binary is refused" eq "$RC" 2
	check "with the reason" contains "$ERR" "dynamically linked"
fi
# --dind: deskrun added to a dind image (any base the engine has; here the helper image itself)
# at /usr/local/bin/deskrun, through `docker build -` with the context on stdin.
run "$DESKRUN" image build --dind --from deskrun-helper:test --tag deskrun-dind:test
check "image build --dind exits 0" eq "$RC" 0
check "  and says where deskrun is" contains "$OUT" "deskrun at /usr/local/bin/deskrun"
run docker run --rm --network none --entrypoint /usr/local/bin/deskrun deskrun-dind:test version
check "  the dind image runs its /usr/local/bin/deskrun" contains "$OUT" "deskrun 0."
run docker image inspect --format '{{json .Config.Entrypoint}} {{len .RootFS.Layers}}' deskrun-dind:test
check "  on top of the base, whose entrypoint it keeps" eq "$OUT" '["/deskrun"] 2'
run "$DESKRUN" image build --dind --from nothing-here:1 --tag x
check "a --from image the engine lacks: exit 1" eq "$RC" 1
check "  and the fix is named" contains "$ERR" "pull or load it first"
run "$DESKRUN" image build --from deskrun-helper:test
check "--from without --dind is refused" eq "$RC:$ERR" "2:deskrun: error: --from is the base of a --dind image: add --dind"
run "$DESKRUN" image build --dind --from 'docker:dind x'
check "a --from that is no image reference is refused, named" eq "$RC:$ERR" \
	'2:deskrun: error: --from "docker:dind x": an image reference has no spaces or control characters'

if command -v podman >/dev/null 2>&1; then
	export CONTAINERS_CONF=$TMP/containers.conf
	printf '[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$CONTAINERS_CONF"
	P=(podman --root "$TMP/podman/root" --runroot "$TMP/podman/run" --storage-driver vfs)
	mkdir -p "$TMP/pbin"
	printf '#!/bin/sh\nexec /usr/bin/podman --root %s --runroot %s --storage-driver vfs "$@"\n' "$TMP/podman/root" "$TMP/podman/run" >"$TMP/pbin/podman"
	chmod +x "$TMP/pbin/podman"
	run env PATH="$TMP/pbin:$PATH" "$DESKRUN" image build --engine podman --tag localhost/deskrun-helper:test
	check "image build --engine podman exits 0" eq "$RC" 0
	run "${P[@]}" run --rm --network none localhost/deskrun-helper:test version
	check "the podman image runs deskrun" contains "$OUT" "deskrun 0."
	run env PATH="$TMP/pbin:$PATH" "$DESKRUN" image build --dind --engine podman \
		--from localhost/deskrun-helper:test --tag localhost/deskrun-dind:test
	check "image build --dind --engine podman exits 0" eq "$RC" 0
	run "${P[@]}" run --rm --network none --entrypoint /usr/local/bin/deskrun localhost/deskrun-dind:test version
	check "  the podman dind image runs its /usr/local/bin/deskrun" contains "$OUT" "deskrun 0."
	"${P[@]}" rmi -a -f >/dev/null 2>&1
else
	skip "helper image on podman" "podman is not installed"
fi
done_testing
