#!/bin/bash
# list and render on the built binary: formats, selection by name, errors.
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }

run dk list
check "list with no runners exits 0" eq "$RC" 0
check "and says how to add one" contains "$ERR" "add one with 'deskrun add NAME --repository URL'"
run dk render
check "render with no runners exits 1" eq "$RC" 1
check "and explains" contains "$ERR" "nothing to render"

dk add b-web --repository https://github.com/acme/web --mode dind --instances 2 \
	--cache /var/lib/docker --auth-value-file "$DATA/token" >/dev/null
dk add a-api --repository https://github.com/acme/api --cache /root/.cache \
	--auth-value-file "$DATA/token" >/dev/null
run dk list
check "list has a header" contains "$OUT" "NAME   MODE        REPOSITORY"
check "list is sorted by name" eq "$(printf '%s\n' "$OUT" | awk 'NR>1{print $1}' | tr '\n' ' ')" "a-api b-web "
check "list shows instances" contains "$OUT" "b-web  dind        https://github.com/acme/web  1    1    2          /var/lib/docker"
run dk list -o json
check "list json has the scale set names" contains "$OUT" '"b-web-1"'
check "list json is valid JSON" /usr/bin/python3 -c 'import json,sys; json.loads(sys.argv[1])' "$OUT"
run dk list --output yaml
check "an unknown list format exits 2" eq "$RC" 2

run dk render b-web
check "render NAME renders only that runner" lacks "$OUT" "a-api"
check "render NAME renders every instance" contains "$OUT" "name: b-web-2"
check "render says how up creates the secret" contains "$OUT" "# Secret b-web-1-gha-rs-github-secret (the GitHub credentials) is not rendered"
run dk render nope
check "render of an unknown name exits 2" eq "$RC" 2
check "and names it" contains "$ERR" 'no runner named "nope"'
run dk render -o json
check "render -o json is a v1 List" /usr/bin/python3 -c '
import json,sys
d = json.loads(sys.argv[1])
assert d["apiVersion"] == "v1" and d["kind"] == "List"
kinds = [i["kind"] for i in d["items"]]
assert kinds[0] == "Namespace" and kinds[-1] == "AutoscalingRunnerSet"
assert "Secret" not in kinds' "$OUT"
run dk render -o json --include-secrets
check "render -o json --include-secrets has the Secrets" contains "$OUT" '"kind": "Secret"'
run dk render -o xml
check "an unknown render format exits 2" eq "$RC" 2
run dk render a-api b-web
r1=$OUT
run dk render b-web a-api
check "the order of names does not change the output" eq "$OUT" "$r1"

done_testing
