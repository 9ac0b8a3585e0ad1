#!/bin/sh
# dockerd-entrypoint.sh: docker:dind's entrypoint contract, reduced: `dockerd ARGS` or `-ARGS`
# run dockerd under the dind wrapper; anything else runs as given.
set -e
case "${1:-}" in
'' | -*) set -- dockerd "$@" ;;
esac
if [ "$1" = dockerd ]; then
	exec /usr/local/bin/dind "$@"
fi
exec "$@"
