#!/bin/bash
# CLI end-to-end: add / list / render / remove round trips, bad input of each kind, secrets.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
CFG=$TMP/cfg/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }
TOKEN=$(cat "$DATA/token")

# ---- round trip ----
run dk add web --repository https://github.com/acme/web.git/ --mode dind --cache /var/lib/docker \
	--auth-value-file "$DATA/token"
check "add exits 0" eq "$RC" 0
check "add reports where it saved" contains "$OUT" "added runner web to $CFG"
check "config file is 0600" eq "$(stat -c %a "$CFG")" 600
check "config directory is 0700" eq "$(stat -c %a "$(dirname "$CFG")")" 700
run dk list
check "list shows the runner with its normalised URL and cache" \
	contains "$OUT" "web   dind  https://github.com/acme/web  1    1    1          /var/lib/docker"
run dk render web
check "render shows the scale set" contains "$OUT" "kind: AutoscalingRunnerSet"
check "render keeps the token out" lacks "$OUT" "$TOKEN"
check "render keeps the base64 token out" lacks "$OUT" "$(printf %s "$TOKEN" | base64 -w0)"
run dk render web --include-secrets
check "render --include-secrets has the base64 token" contains "$OUT" "github_token: $(printf %s "$TOKEN" | base64 -w0)"
run dk remove web
check "remove exits 0" eq "$RC" 0
run dk list --output json
check "list is empty after remove" eq "$OUT" "[]"
run dk remove web
check "removing a missing runner exits 2" eq "$RC" 2
check "and says which" eq "$ERR" "deskrun: error: no runner named \"web\" in $CFG (see 'deskrun list')"

# ---- secrets from stdin and the command line ----
run_in "$TOKEN" dk add s1 --repository https://github.com/acme/web --auth-value -
check "--auth-value - reads stdin" eq "$RC" 0
check "the stdin token is stored" contains "$(cat "$CFG")" "\"token\": \"$TOKEN\""
run dk add s2 --repository https://github.com/acme/web --auth-value ghp_cmdline
check "--auth-value VALUE works" eq "$RC" 0
check "--auth-value VALUE warns about shell history and ps" \
	eq "$ERR" "deskrun: warning: --auth-value puts the secret in your shell history and in ps: prefer --auth-value-file PATH or --auth-value - (stdin)"
run dk list
check "list never shows a token" lacks "$OUT" "ghp_"
run dk list --output json
check "list --output json never shows a token" lacks "$OUT" "ghp_"
check "list --output json shows the auth type" contains "$OUT" '"type": "pat"'
run dk add app --repository https://github.com/acme --auth-type github-app --app-id 1 \
	--installation-id 2 --private-key-file "$DATA/app-key.pem"
check "github-app auth is accepted" eq "$RC" 0
run dk list --output json
check "list --output json never shows the private key" lacks "$OUT" "PRIVATE KEY"

# ---- the modes issue's flags ----
run dk add sockrun --repository https://github.com/acme/web --mode docker-socket --no-guard --auth-value-file "$DATA/token"
check "--no-guard works and warns that jobs get root on the node" contains "$ERR" "every job has root on the node"
run dk add prox --repository https://github.com/acme/web --mode dind --proxy http://bot:pw123@proxy.corp:3128 --auth-value-file "$DATA/token"
check "a proxy with credentials warns" contains "$ERR" "--proxy carries credentials"
run dk list --output json
check "list hides the proxy password" contains "$OUT" '"proxy": "http://bot:***@proxy.corp:3128"'
check "and never shows it" lacks "$OUT" "pw123"
run dk render prox
check "render keeps the proxy password out" lacks "$OUT" "pw123"
run dk add cached --repository https://github.com/acme/web --mode dind --docker-storage hostpath --auth-value-file "$DATA/token"
check "a persistent /var/lib/docker defaults to one runner" contains "$ERR" "runs one runner at a time (max 1)"
dk remove sockrun >/dev/null; dk remove prox >/dev/null; dk remove cached >/dev/null

# ---- --force ----
run dk add s1 --repository https://github.com/acme/other --auth-value-file "$DATA/token"
check "adding an existing name exits 2" eq "$RC" 2
check "and tells about --force" contains "$ERR" "use --force to replace it"
run dk add s1 --repository https://github.com/acme/other --mode dind --auth-value-file "$DATA/token" --force
check "--force replaces" eq "$RC" 0
run dk list
check "the replacement is stored" contains "$OUT" "s1    dind"

# ---- bad input: exit 2, one line naming the flag, nothing written ----
cp "$CFG" "$TMP/before.json"
bad() {
	local flag=$1
	shift
	run dk "$@"
	if [ "$RC" -eq 2 ] && one_line "$ERR" && contains "$ERR" "$flag" >/dev/null &&
		cmp -s "$CFG" "$TMP/before.json"; then
		ok "bad input names $flag: $*"
	else
		not_ok "bad input names $flag: $*"
		diag "rc=$RC" "stderr: $ERR"
	fi
}
R=(--repository https://github.com/acme/web --auth-value-file "$DATA/token")
bad "NAME is missing" add --repository https://github.com/acme/web
bad 'NAME "Web"' add Web "${R[@]}"
bad "NAME" add abcdefghij-abcdefghij-abcdefghij-abcdefghij-xyz "${R[@]}"
bad "--repository is missing" add x --auth-value-file "$DATA/token"
bad "--repository" add x --repository http://github.com/a/b --auth-value-file "$DATA/token"
bad "--repository" add x --repository https://github.com/a/b/c --auth-value-file "$DATA/token"
bad "--mode" add x "${R[@]}" --mode podman
bad "--min-runners" add x "${R[@]}" --min-runners two
bad "--min-runners" add x "${R[@]}" --min-runners 6
bad "--max-runners" add x "${R[@]}" --max-runners -1
bad "--instances" add x "${R[@]}" --instances 0
bad "--max-runners" add x "${R[@]}" --instances 2 --max-runners 3
bad "--labels" add x "${R[@]}" --labels a,,b
bad "--cache" add x "${R[@]}" --cache relative/path
bad "--cache" add x "${R[@]}" --cache /nix/store
bad "--cache" add x "${R[@]}" --cache /a/../b
bad "--mount" add x "${R[@]}" --mount /a:/b:File
bad "--mount" add x "${R[@]}" --mount /only-target
bad "--mount" add x "${R[@]}" --cache /data --mount /srv:/data
bad "--auth-type" add x "${R[@]}" --auth-type oauth
bad "--cpu" add x "${R[@]}" --cpu "2 cores"
bad "--memory" add x "${R[@]}" --memory 4GB
bad "--namespace" add x "${R[@]}" --namespace Arc_Runners
bad "--runner-image" add x "${R[@]}" --runner-image ""
bad "--storage-class" add x "${R[@]}" --storage-class "Fast SSD"
bad "--work-volume-size" add x "${R[@]}" --work-volume-size lots
bad "--auth-value-file" add x --repository https://github.com/acme/web
bad "--auth-value-file" add x --repository https://github.com/acme/web --auth-value-file /nonexistent/token
bad "--auth-value-file" add x "${R[@]}" --auth-value tok
bad "--app-id" add x --repository https://github.com/acme --auth-type github-app --private-key-file "$DATA/app-key.pem"
bad "--installation-id" add x --repository https://github.com/acme --auth-type github-app --app-id 1 --private-key-file "$DATA/app-key.pem"
bad "--private-key-file" add x --repository https://github.com/acme --auth-type github-app --app-id 1 --installation-id 2 --private-key-file "$DATA/token"
bad "--private-key-file" add x "${R[@]}" --private-key-file "$DATA/app-key.pem"
bad "--bogus" add x "${R[@]}" --bogus
bad "--repository needs a value" add x --repository
bad "--force takes no value" add x "${R[@]}" --force=yes
bad "unexpected argument" add x y "${R[@]}"
bad "--cache /var/run" add x "${R[@]}" --mode dind --cache /var/run
bad "--registry-mirror" add x "${R[@]}" --mode dind --registry-mirror mirror.gcr.io
bad "--registry-mirror" add x "${R[@]}" --registry-mirror https://mirror.gcr.io
bad "--insecure-registry" add x "${R[@]}" --mode dind --insecure-registry http://r.local
bad "--mtu" add x "${R[@]}" --mode dind --mtu 67
bad "--mtu" add x "${R[@]}" --mode dind --mtu 70000
bad "--mtu" add x "${R[@]}" --mode dind --mtu 0
bad "--dockerd-cpu" add x "${R[@]}" --mode dind --dockerd-cpu lots
bad "--dockerd-memory" add x "${R[@]}" --mode dind --dockerd-memory 2GB
bad "--docker-storage" add x "${R[@]}" --mode dind --docker-storage nfs
bad "--docker-storage-size" add x "${R[@]}" --mode dind --docker-storage-size 10Gi
bad "--docker-storage pvc" add x "${R[@]}" --mode dind --docker-storage pvc --cache /var/lib/docker
bad "--max-runners 3" add x "${R[@]}" --mode dind --docker-storage pvc --max-runners 3
bad "--docker-storage pvc" add x "${R[@]}" --mode dind-daemonset --docker-storage pvc
bad "--cluster-builds" add x "${R[@]}" --mode dind --cluster-builds
bad "--cache-pool" add x "${R[@]}" --mode dind --cache-pool 2 --instances 3
bad "--cache-pool" add x "${R[@]}" --mode dind --cache-pool 0
bad "--cache-pool" add x "${R[@]}" --mode cached-privileged-kubernetes --cache-pool 2
bad "--cache-max-size" add x "${R[@]}" --mode dind --cache-max-size 10Gi
bad "--buildkit" add x "${R[@]}" --mode kubernetes --buildkit
bad "--no-guard" add x "${R[@]}" --mode dind-daemonset --no-guard
bad "--guard-image" add x "${R[@]}" --mode dind --guard-image g:1
bad "--proxy" add x "${R[@]}" --proxy proxy.corp:3128
bad "--no-proxy" add x "${R[@]}" --no-proxy .corp
bad "--no-proxy" add x "${R[@]}" --proxy http://p:3128 --no-proxy "a,,b"

run "$DESKRUN" add x "${R[@]}" --mode dindd
check "a typo of a mode: exit 2, suggesting the closest" eq "$RC:$ERR" '2:deskrun: error: --mode "dindd": unknown mode: did you mean "dind"?'
run "$DESKRUN" add x "${R[@]}" --mode podman
check "an unknown mode lists the modes" contains "$ERR" "use kubernetes|dind|"

done_testing
