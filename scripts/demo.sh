#!/bin/bash
# make demo: define a dind runner whose daemon keeps /var/lib/docker on the node, show it, and
# render its ARC objects, then the plan of `up` (no cluster recorded: the local provider, the
# agent on this host's engine), all offline, in a throwaway config under build/demo/.
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
step "$DESKRUN" up --dry-run
printf '\nrendered %d objects to %s (config: %s)\n' \
	"$(grep -c '^kind:' "$dir/demo.yaml")" "$dir/demo.yaml" "$DESKRUN_CONFIG" >&2
