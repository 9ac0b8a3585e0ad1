#!/bin/bash
# build_ghclient.sh: build the Go test helper tests/github/goclient (the official scale set client,
# github.com/actions/scaleset at the version go.mod pins) into a cache outside the repository and
# print the binary's path. The cache is keyed by the helper's sources, go.mod/go.sum (the pin) and
# the Go version, so a warm run builds nothing. Exit 77 with the reason on stderr when it cannot
# be built (no Go, the module proxy unreachable); the suite turns that into a TAP skip.
#   DESKRUN_GITHUB_CACHE   cache directory (default /var/cache/deskrun-github, or
#                          ${XDG_CACHE_HOME:-~/.cache}/deskrun-github when that is not writable)
#   GO                     the go command (default: go in PATH, else /usr/local/go/bin/go)
set -u
src=$(cd "$(dirname "$0")/goclient" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || { echo "no Go toolchain (looked for go in PATH and /usr/local/go/bin/go)" >&2; exit 77; }
cache=${DESKRUN_GITHUB_CACHE:-/var/cache/deskrun-github}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/deskrun-github
	mkdir -p "$cache" || { echo "cannot create a cache directory" >&2; exit 77; }
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
gover=$("$GO" env GOVERSION 2>/dev/null) || { echo "$GO does not run" >&2; exit 77; }
pin=$(sed -n 's/^require github.com\/actions\/scaleset \(v[^ ]*\)$/\1/p' "$src/go.mod")
key=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)
bin=$cache/ghclient-scaleset-$pin-$gover-$key
if [ ! -x "$bin" ]; then
	log=$cache/build-$key.log
	if ! (cd "$src" && "$GO" build -trimpath -o "$bin.tmp.$$" .) >"$log" 2>&1; then
		rm -f "$bin.tmp.$$"
		echo "go build of the scale set client failed ($(grep -m1 -E 'dial|proxy|no such host|timeout|error|cannot' "$log" || tail -1 "$log"))" >&2
		exit 77
	fi
	mv "$bin.tmp.$$" "$bin"
fi
echo "$bin"
