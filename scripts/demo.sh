#!/bin/bash
# make demo: define a dind runner whose daemon keeps /var/lib/docker on the node, show it, and
# render its ARC objects; then the local provider's plan for a docker-socket runner (no cluster
# recorded: local is the default). All offline, in a throwaway config under build/demo/.
set -euo pipefail
DESKRUN=${1:-build/deskrun}
dir=$(dirname "$DESKRUN")/demo
rm -rf "$dir"
mkdir -p "$dir"
export DESKRUN_CONFIG=$dir/config.json
# A stand-in token: render never prints it, and nothing here talks to GitHub.
printf 'ghp_demoTokenNotReal0123456789abcdefghij\n' >"$dir/token"
chmod 600 "$dir/token"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; "$@"; }
[ -n "${NO_COLOR:-}" ] || [ ! -t 2 ] && step() { printf '\n$ %s\n' "$*" >&2; "$@"; }

step "$DESKRUN" add demo --repository https://github.com/octo-org/octo-repo --mode dind \
	--cache /var/lib/docker --labels linux,docker --auth-value-file "$dir/token"
step "$DESKRUN" list
step "$DESKRUN" render demo | tee "$dir/demo.yaml"
# No cluster is recorded, so 'up' serves runners with the local provider (the agent on this
# host's engine): a dind runner needs Kubernetes ('deskrun cluster create'), a docker-socket one
# is served locally. The plan, offline:
step "$DESKRUN" add here --repository https://github.com/octo-org/octo-repo --mode docker-socket \
	--max-runners 2 --auth-value-file "$dir/token"
step "$DESKRUN" up --dry-run here
printf '\nrendered %d objects to %s (config: %s)\n' \
	"$(grep -c '^kind:' "$dir/demo.yaml")" "$dir/demo.yaml" "$DESKRUN_CONFIG" >&2
