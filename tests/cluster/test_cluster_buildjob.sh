#!/bin/bash
# `deskrun build-job --apply` on the real cluster (tests/cluster/cluster.sh): the Job deskrun
# renders runs rootless BuildKit in an unprivileged pod on the real kubelet, takes the context
# deskrun streams through `kubectl attach`, builds and pushes to a registry, and deskrun exits
# with the build's result.
#   - the builder image is built here (tests/cluster/builder.sh: buildkitd, buildctl and
#     rootlesskit from their Go modules, moby/buildkit's rootless stage on Debian), since
#     moby/buildkit:*-rootless is on Docker Hub; --builder-image names it;
#   - the registry is Debian's docker-registry (plain HTTP) on the node's address, in the
#     cluster's network namespace; the base image is the cluster's busybox pushed there;
#   - a build with a RUN step and a COPY of the streamed context pushes an image whose
#     manifest the registry then serves; with --cache-repo a second build of the same context
#     imports its layers from the registry cache (CACHED) and pushes the same image;
#   - a Dockerfile whose RUN fails makes build-job exit non-zero with the build's error;
#   - a builder image the node cannot pull fails at once with the kubelet's reason (not at the
#     timeout).
# Skips with the reason when the cluster's build cache is cold (as test_cluster_smoke.sh) or
# the builder image cannot be built (DESKRUN_CLUSTER_BUILD=1 builds it, about 4 minutes cold).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/cluster/lib.sh"
cluster_require "build-job on the real cluster"
command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (scripts/deps.sh installs it)"
dir=$("$HERE/build.sh" --print-dir) ||
	skip_all "the build cache ${DESKRUN_CLUSTER_CACHE:-/var/cache/deskrun-cluster}/$("$HERE/build.sh" --key) is cold (see test_cluster_smoke.sh: DESKRUN_CLUSTER_BUILD=1)"
REG=10.201.0.1:5000
if ! image=$("$HERE/builder.sh" --cached "$REG"); then
	[ "${DESKRUN_CLUSTER_BUILD:-0}" = 1 ] ||
		skip_all "the builder image is not built: tests/cluster/builder.sh $REG (or DESKRUN_CLUSTER_BUILD=1; about 4 minutes cold)"
	s=$(date +%s)
	image=$("$HERE/builder.sh" "$REG" 2>"$TMP/builder.err") ||
		{ not_ok "tests/cluster/builder.sh builds the rootless BuildKit image"; diag "$(tail -20 "$TMP/builder.err")"; done_testing; exit 1; }
	ok "builder image built in $(($(date +%s) - s)) s"
fi
BUILDER=$(sed -n 's/^image //p' "$(dirname "$image")/versions.txt")
ok "builder image $BUILDER: $(grep -E '^(buildkit|rootlesskit) ' "$(dirname "$image")/versions.txt" | tr '\n' ' ')"

cluster_cleanup_hook() { [ -n "${REGPID:-}" ] && kill "$REGPID" 2>/dev/null; }
cluster_start
[ "$DESKRUN_CLUSTER_NODE_IP:5000" = "$REG" ] || { not_ok "the node's address is ${REG%:*}"; done_testing; exit 1; }
export DESKRUN_CONFIG=$TMP/config.json

# The registry, in the cluster's network namespace (started by nsenter itself: $! is its PID).
printf '%s\n' 'version: 0.1' 'log: {level: error, accesslog: {disabled: true}}' \
	"storage: {filesystem: {rootdirectory: $TMP/registry}, delete: {enabled: true}}" "http: {addr: $REG}" >"$TMP/registry.yml"
nsenter -t "$(cat "$C/run/holder.pid")" -n docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
REGPID=$!
reg() { "$HERE/cluster.sh" exec "$C" curl -fsS "$@"; }
for _ in $(seq 1 50); do reg "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
check "the registry answers on the node's address" eq "$(reg "http://$REG/v2/" 2>/dev/null)" "{}"

run ctr -n k8s.io images import "$image"
check "the builder image is imported into the node's containerd" eq "$RC" 0
ctr -n k8s.io images tag "$DESKRUN_CLUSTER_BUSYBOX" "$REG/base/busybox:1" >/dev/null 2>&1
run ctr -n k8s.io images push --plain-http "$REG/base/busybox:1"
check "the cluster's busybox is pushed as the builds' base image" eq "$RC" 0

# ---- a builder image the node cannot get: the kubelet's reason, at once ----
mkdir -p "$TMP/small" && echo 'FROM scratch' >"$TMP/small/Dockerfile"
s=$(date +%s)
run timeout 300 "$DESKRUN" build-job --context "$TMP/small" --destination "$REG/t/none:1" \
	--builder-image deskrun.test/no-such-builder:1 --name build-noimage --apply --timeout 4m
check "a builder image the node cannot pull: build-job fails with the kubelet's reason" \
	contains "$ERR" "container cannot start: ImagePullBackOff"
check "... long before its timeout" test $(($(date +%s) - s)) -lt 120
kc delete job build-noimage --wait=false >/dev/null 2>&1

# ---- a build: a RUN step and the streamed context ----
CTX=$TMP/ctx
mkdir -p "$CTX/src"
echo "from-the-context $$" >"$CTX/src/msg.txt"
cat >"$CTX/Dockerfile" <<EOF2
FROM $REG/base/busybox:1
COPY src/ /src/
RUN cat /src/msg.txt > /built && echo built-by-rootless-buildkit >> /built
CMD ["cat", "/built"]
EOF2
s=$(date +%s)
run timeout 600 "$DESKRUN" build-job --context "$CTX" --destination "$REG/t/app:1" \
	--builder-image "$BUILDER" --name build-app --apply --timeout 8m
check "build-job --apply: the build Job succeeds on the real kubelet" eq "$RC" 0 ||
	diag "$(kc describe pods -l job-name=build-app 2>&1 | tail -25)"
diag "build-job --apply took $(($(date +%s) - s)) s"
check "... and deskrun streamed the build's log" contains "$OUT$ERR" "RUN cat /src/msg.txt"
run reg -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	"http://$REG/v2/t/app/manifests/1"
check "the registry serves the pushed image's manifest" contains "$OUT" '"layers"'
check "the Job ran as deskrun rendered it (unprivileged, uid 1000)" eq \
	"$(kc get job build-app -o 'jsonpath={.spec.template.spec.containers[0].securityContext.runAsUser} {.spec.template.spec.containers[0].securityContext.privileged}')" "1000 "
check "the Job is complete" eq "$(kc get job build-app -o 'jsonpath={.status.succeeded}')" 1

# The image runs: a pod from it prints what the RUN step wrote (the node's containerd pulls it
# over plain HTTP with ctr first: its CRI config knows no insecure registry).
ctr -n k8s.io images pull --plain-http "$REG/t/app:1" >/dev/null 2>&1
kc run built --image "$REG/t/app:1" --restart Never >/dev/null 2>&1
for _ in $(seq 1 120); do
	[ "$(kc get pod built -o 'jsonpath={.status.phase}' 2>/dev/null)" = Succeeded ] && break
	sleep 0.5
done
check "a pod of the pushed image prints what its RUN step wrote" eq "$(kc logs built 2>/dev/null)" "from-the-context $$
built-by-rootless-buildkit"

# ---- the registry cache: a second build of the same context finds its layers ----
run timeout 600 "$DESKRUN" build-job --context "$CTX" --destination "$REG/t/app:2" --cache-repo "$REG/t/cache" \
	--builder-image "$BUILDER" --name build-cache-1 --apply --timeout 8m
check "build-job --cache-repo: the first build exports its cache" eq "$RC" 0
run reg "http://$REG/v2/t/cache/tags/list"
check "... the cache is in the registry" contains "$OUT" '"tags"'
run timeout 600 "$DESKRUN" build-job --context "$CTX" --destination "$REG/t/app:3" --cache-repo "$REG/t/cache" \
	--builder-image "$BUILDER" --name build-cache-2 --apply --timeout 8m
check "the second build of the same context succeeds" eq "$RC" 0
check "... and takes its RUN step from the registry cache" bash -c \
	'printf "%s\n" "$0" | grep -A3 "RUN cat /src/msg.txt" | grep -q CACHED' "$OUT$ERR"

# ---- a failing build ----
mkdir -p "$TMP/bad"
printf 'FROM %s/base/busybox:1\nRUN echo about-to-fail && exit 7\n' "$REG" >"$TMP/bad/Dockerfile"
run timeout 600 "$DESKRUN" build-job --context "$TMP/bad" --destination "$REG/t/bad:1" \
	--builder-image "$BUILDER" --name build-bad --apply --timeout 8m
check "a failing RUN makes build-job --apply exit non-zero" test "$RC" -ne 0
check "... saying why" contains "$OUT$ERR" "about-to-fail"
run reg "http://$REG/v2/t/bad/tags/list"
check "... and nothing is pushed" bash -c '! printf "%s" "$0" | grep -q "\"1\""' "$OUT"
done_testing
