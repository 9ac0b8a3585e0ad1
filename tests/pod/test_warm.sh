#!/bin/bash
# The warm cache: a multi-stage Dockerfile built in one lease of a slot is built again in a
# fresh lease of the same slot (same owner) with every step from the cache (the legacy
# builder's "Using cache"), and in another slot with none. A lease starts with dockerd's
# default networks only: the networks an earlier lease's job created are gone, its images stay.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/pod/lib.sh"
need_dockerd

mkdir -p "$TMP/ctx"
cat >"$TMP/ctx/Dockerfile" <<'EOF'
FROM base:warm AS build
RUN mkdir /out && for i in 1 2 3 4; do dd if=/dev/urandom of=/out/f$i bs=64k count=8 2>/dev/null; done
RUN cd /out && tar cf all.tar f1 f2 f3 f4 && gzip -9 all.tar
RUN cd /out && sha256sum all.tar.gz >sum
FROM base:warm
COPY --from=build /out/all.tar.gz /out/sum /app/
RUN cd /app && sha256sum -c sum && gunzip -c all.tar.gz | tar tf - >list
EOF
steps=5 # RUN, RUN, RUN, COPY, RUN: each one can come from the cache
build() { DOCKER_BUILDKIT=0 ep_docker "$1" build -t app:warm "$TMP/ctx" 2>&1; }
hits() { printf '%s\n' "$1" | grep -c -- '---> Using cache'; }

start_ep w1 --slots 2 --owner ci-1
wait_ready w1
slot=$(ep_slot w1)
DOCKER_HOST=unix://$TMP/w1.sock import_busybox base:warm
out=$(build w1)
check "the first build succeeds" contains "$out" "Successfully tagged app:warm"
check "the first build is cold: no step from the cache" eq "$(hits "$out")" 0
first=$(ep_docker w1 image inspect -f '{{.Id}}' app:warm)
stop_ep w1
check "the first lease ends cleanly" eq "$EP_RC" 0

start_ep w2 --slots 2 --owner ci-1
wait_ready w2
check "the owner's next lease gets the same slot" eq "$(ep_slot w2)" "$slot"
out=$(build w2)
check "the same Dockerfile in the re-leased slot builds" contains "$out" "Successfully tagged app:warm"
check "with every one of its $steps steps from the cache" eq "$(hits "$out")" "$steps"
check "into the very same image" eq "$(ep_docker w2 image inspect -f '{{.Id}}' app:warm)" "$first"

# Meanwhile the same owner gets the other slot (its warm one is leased): no cache there.
start_ep w3 --slots 2 --owner ci-1
wait_ready w3
check "a second lease at the same time gets the other slot" test "$(ep_slot w3)" != "$slot"
DOCKER_HOST=unix://$TMP/w3.sock import_busybox base:warm
out=$(build w3)
check "the build in the other slot succeeds" contains "$out" "Successfully tagged app:warm"
check "but nothing comes from the cache there" eq "$(hits "$out")" 0
stop_ep w3
stop_ep w2
check "both stop cleanly" eq "$EP_RC" 0

# Networks: dockerd with its default bridge and iptables, so in a network namespace of its own.
start_ep_netns() { # NAME OPTS...
	local name=$1 rt=()
	shift
	[ -n "$_pod_bounded" ] && [ -x "$_pod_bounded" ] && rt=(--add-runtime "bounded=$_pod_bounded" --default-runtime bounded)
	rm -f "$TMP/$name.ready"
	unshare --net -- "$DESKRUN" dind-entrypoint --pool "$TMP/pn" --ready-file "$TMP/$name.ready" "$@" \
		-- dockerd --host "unix://$TMP/$name.sock" "${rt[@]}" >"$TMP/$name.log" 2>&1 &
	_EP_PID[$name]=$!
}
start_ep_netns n1 --slots 1
wait_ready n1
DOCKER_HOST=unix://$TMP/n1.sock import_busybox base:warm
ep_docker n1 network create job-net-1 >/dev/null
ep_docker n1 run --rm --network job-net-1 base:warm true
check "a job's network works in a lease" eq "$(ep_docker n1 network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "bridge host job-net-1 none "
stop_ep n1
start_ep_netns n2 --slots 1
wait_ready n2
check "the next lease has the default networks only" eq "$(ep_docker n2 network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "bridge host none "
check "but the images of the earlier lease" eq "$(ep_docker n2 image ls --format '{{.Repository}}:{{.Tag}}' base:warm)" "base:warm"
check "and containers run on its default bridge" eq "$(ep_docker n2 run --rm base:warm echo ok)" "ok"
check "without a warning" lacks "$(cat "$TMP/n2.log")" "warning: remove the network store"
stop_ep n2
check "it stops cleanly" eq "$EP_RC" 0
done_testing
