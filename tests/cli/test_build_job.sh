#!/bin/bash
# deskrun build-job: the Job for each builder and context kind (schema-valid), and --apply
# against the recording kubectl stub: create, stream the context, follow the log, wait.
. "$SRCDIR/tests/lib/tap.sh"
PY=${PYTHON:-/usr/bin/python3}
STUB=$TMP/stub
mkdir -p "$STUB" "$TMP/ctx/sub"
for t in kubectl kind helm; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/$t"; done
export PATH="$STUB:/usr/bin:/bin"
printf 'FROM busybox\nRUN echo hi\n' >"$TMP/ctx/Dockerfile"
printf 'FROM busybox\n' >"$TMP/ctx/sub/Other.Dockerfile"
echo data >"$TMP/ctx/file.txt"
export DESKRUN_CONFIG=$TMP/config.json
calls() { "$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl"; }

run "$DESKRUN" build-job --context "$TMP/ctx" --destination registry.local:5000/app:1.0
check "build-job prints a Job" contains "$OUT" "kind: Job"
check "buildkit is the default builder" contains "$OUT" "image: moby/buildkit:v0.17.3-rootless"
check "a directory context arrives on the context container's stdin" contains "$OUT" "- name: context"
check "the builder runs without a shell" contains "$OUT" "- buildctl-daemonless.sh"
run "$DESKRUN" build-job --context "$TMP/ctx" --destination registry.local:5000/app:1.0
first=$OUT
run "$DESKRUN" build-job --context "$TMP/ctx" --destination registry.local:5000/app:1.0
check "the same build gets the same Job name" eq "$OUT" "$first"
"$DESKRUN" build-job --context "$TMP/ctx" --destination r/app:1 >"$TMP/bk-dir.yaml"
"$DESKRUN" build-job --context https://github.com/acme/web.git#main --dockerfile sub/Other.Dockerfile \
	--destination r/app:1 --cache-repo r/cache --registry-secret push-creds --namespace ci >"$TMP/bk-git.yaml"
"$DESKRUN" build-job --builder kaniko --context "$TMP/ctx" --destination r/app:1 >"$TMP/kaniko-dir.yaml"
"$DESKRUN" build-job --builder kaniko --context git@github.com:acme/web.git --destination r/app:1 \
	--cache-repo r/cache --registry-secret push-creds >"$TMP/kaniko-git.yaml"
check "kaniko reads a directory context from stdin" grep -q -- "--context=tar://stdin" "$TMP/kaniko-dir.yaml"
check "kaniko fetches git contexts as git://" grep -q -- "--context=git://github.com/acme/web.git" "$TMP/kaniko-git.yaml"
check "kaniko gets the push credentials" grep -q "mountPath: /kaniko/.docker" "$TMP/kaniko-git.yaml"
check "buildkit fetches a git context itself" grep -q -- "- context=https://github.com/acme/web.git#main" "$TMP/bk-git.yaml"
check "the registry cache is exported and imported" grep -q -- "- type=registry,ref=r/cache,mode=max" "$TMP/bk-git.yaml"
check "--namespace sets the Job's namespace" grep -q "namespace: ci" "$TMP/bk-git.yaml"
while IFS= read -r line; do
	case $line in
	"ok - "*"# SKIP "*) rest=${line#ok - }; skip "${rest%% # SKIP *}" "${rest#* # SKIP }" ;;
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < <("$PY" "$SRCDIR/tests/schema/validate.py" --manifests "$TMP"/bk-*.yaml "$TMP"/kaniko-*.yaml 2>&1)

run "$DESKRUN" build-job --context "$TMP/nope" --destination r/a:1
check "a missing context exits 2" eq "$RC" 2
run "$DESKRUN" build-job --context "$TMP/ctx" --dockerfile Missing --destination r/a:1
check "a missing Dockerfile exits 2" eq "$RC" 2
run "$DESKRUN" build-job --context "$TMP/ctx"
check "a missing destination exits 2" eq "$RC" 2
check "naming the flag" contains "$ERR" "--destination is missing"
run "$DESKRUN" build-job --context "$TMP/ctx" --destination r/a:1 --builder docker
check "an unknown builder exits 2" eq "$RC" 2

# ---- --apply (no cluster recorded: kubectl's own context, as inside a runner pod) ----
run "$DESKRUN" build-job --context "$TMP/ctx" --destination r/app:1 --name build-app --apply
check "build-job --apply exits 0 when the Job succeeds" eq "$RC" 0
check "it creates the Job, waits for the pod, streams the context, waits for the builder, follows the log, reads the result" \
	eq "$(calls)" "$(printf '%s\n' \
	"kubectl apply -f -" \
	"kubectl get pods -l job-name=build-app -o json" \
	"kubectl attach -i -c context build-app-x7k2p" \
	"kubectl get pods -l job-name=build-app -o json" \
	"kubectl logs -f job/build-app -c builder --pod-running-timeout=5m" \
	"kubectl get job build-app -o json")"
check "the build log is streamed to stdout" contains "$OUT" "#5 pushing layers done"
"$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl" stdin 3 >"$TMP/context.tgz"
check "the streamed context is a tar.gz of the directory's entries (not of '.', which the builder's user cannot touch)" bash -c "tar -tzf '$TMP/context.tgz' | grep -q '^./Dockerfile$' && tar -tzf '$TMP/context.tgz' | grep -q '^./sub/Other.Dockerfile$' && ! tar -tzf '$TMP/context.tgz' | grep -qx './'"
: >"$STUB/calls.jsonl"
"$PY" -c "import json; p='$STUB/state.json'; s=json.load(open(p)); s['build_result']='failed'; json.dump(s, open(p,'w'))"
run "$DESKRUN" build-job --builder kaniko --context https://github.com/acme/web --destination r/app:2 --name build-fail --apply
check "a failed build exits 1" eq "$RC" 1
check "and says so" contains "$ERR" "build Job build-fail failed"
check "a git context is not streamed" eq "$(calls | grep -c attach)" 0

# The context container fails to unpack (as GNU tar did on '.' as a non-root user): the reason
# at once, from its log, not the timeout.
: >"$STUB/calls.jsonl"
"$PY" -c "import json; p='$STUB/state.json'; s=json.load(open(p)); s['build_result']='failed'; s['context_exit']=2; s.setdefault('logs', {})['build-ctx-x7k2p']='tar: ./x: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors'; json.dump(s, open(p,'w'))"
run timeout 60 "$DESKRUN" build-job --context "$TMP/ctx" --destination r/app:3 --name build-ctx --apply --timeout 5m
check "a context container that fails ends build-job at once (exit 1)" eq "$RC" 1
check "with its log's last lines" contains "$ERR" "the build's context container failed (exit 2): tar: ./x: Cannot open: Permission denied tar: Exiting with failure status due to previous errors"
check "and no log following of a builder that never starts" eq "$(calls | grep -c 'logs -f')" 0

done_testing
