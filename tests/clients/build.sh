#!/bin/bash
# tests/clients/build.sh: the real Docker CLI plugins the workflow tests drive (docker buildx,
# docker compose v2), built from pinned Go modules through the Go module proxy into a cache
# outside the repository, and reused across runs.
#
#   tests/clients/build.sh             build what the cache lacks; print the binaries' folder
#   tests/clients/build.sh --cached    print the folder if both binaries are there, else exit 1
#                                      (never builds; what the test suites call by default)
#   tests/clients/build.sh --plugins DIR   build if needed, then make DIR a DOCKER_CONFIG with
#                                      cli-plugins/docker-buildx and cli-plugins/docker-compose
#   tests/clients/build.sh --key       print the cache key
#   tests/clients/build.sh --regen     rewrite the wrapper modules (buildx/, compose/ beside this
#                                      script: go.mod, go.sum) from the pins below; commit them
#
# Each client builds inside its own wrapper module whose only tool is the client's main package,
# with the client's own `go` line and `exclude` directives, so the build list is the one the
# client's go.mod selects (--regen checks that). `go install MODULE@VERSION` cannot be used for
# compose: its go.mod has exclude directives, which go install refuses. The committed go.sum
# files pin every module's hash, so the build needs the module proxy but not the checksum
# database. Version stamps follow upstream: buildx's Dockerfile (-X version.Version/Package,
# -s -w, -trimpath, CGO off) and compose's Makefile (-w -X internal.Version, -tags e2e).
#
# Cache: $DESKRUN_CLIENTS_CACHE (default /var/cache/deskrun-clients)/<key>/ holds the binaries,
# where <key> hashes this script, the wrapper modules and the Go version. The Go module and build
# caches are shared under .../go/ (both are content-addressed). A lock serialises builds.
set -euo pipefail

BUILDX_MODULE=github.com/docker/buildx
BUILDX_VERSION=v0.38.2
BUILDX_MAIN=github.com/docker/buildx/cmd/buildx
COMPOSE_MODULE=github.com/docker/compose/v5
COMPOSE_VERSION=v5.6.0
COMPOSE_MAIN=github.com/docker/compose/v5/cmd

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${DESKRUN_CLIENTS_CACHE:-/var/cache/deskrun-clients}
GO=${GO:-/usr/local/go/bin/go}
export GOTOOLCHAIN=local GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0
export GOMODCACHE=$ROOT/go/mod GOCACHE=$ROOT/go/build
unset GOPATH GOBIN GOOS GOARCH 2>/dev/null || true

die() { echo "tests/clients/build.sh: $*" >&2; exit 1; }

key() {
	local gov
	gov=$("$GO" env GOVERSION 2>/dev/null) || gov=none
	{
		cat "${BASH_SOURCE[0]}"
		echo "$gov"
		cat "$HERE/buildx/go.mod" "$HERE/buildx/go.sum" "$HERE/compose/go.mod" "$HERE/compose/go.sum"
	} 2>/dev/null | sha256sum | cut -c1-16
}

# regen NAME MODULE VERSION MAIN: a fresh wrapper module for one client
regen() {
	local name=$1 mod=$2 ver=$3 main=$4 dir up tmp
	tmp=$(mktemp -d)
	dir=$tmp/$name
	mkdir -p "$dir"
	(cd "$dir" && "$GO" mod download -json "$mod@$ver" >"$tmp/dl.json") || die "cannot download $mod@$ver"
	up=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
	[ -d "$up" ] || die "no source folder for $mod@$ver"
	(
		cd "$dir"
		"$GO" mod init "deskrun.test/clients/$name" 2>/dev/null
		"$GO" mod edit -go="$("$GO" mod edit -json "$up/go.mod" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Go"])')"
		# the client's exclude directives (main-module only, so they must be repeated here)
		"$GO" mod edit -json "$up/go.mod" | python3 -c '
import json, sys
for e in json.load(sys.stdin).get("Exclude") or []:
    print("-exclude=%s@%s" % (e["Path"], e["Version"]))' | xargs -r "$GO" mod edit
		"$GO" get -tool "$main@$ver"
		"$GO" mod tidy
	) >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; die "regen of $name failed"; }
	# The build list of the main package must be the one the client's own go.mod selects.
	(cd "$dir" && "$GO" list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' "$main" | sort -u |
		grep -v "^$mod ") >"$tmp/wrap.txt"
	(cd "$up" && "$GO" list -deps \
		-f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' "./${main#"$mod"/}" | sort -u |
		grep -v "^$mod \?$") >"$tmp/up.txt"
	diff -u "$tmp/up.txt" "$tmp/wrap.txt" >&2 || die "$name: the wrapper's build list differs from $mod@$ver's"
	mkdir -p "$HERE/$name"
	cp "$dir/go.mod" "$dir/go.sum" "$HERE/$name/"
	echo "$name: $mod@$ver, $(wc -l <"$tmp/wrap.txt") modules in the build list, as upstream's" >&2
	rm -rf "$tmp"
}

# build NAME MAIN OUT LDFLAGS [GOFLAGS...]
build_one() {
	local name=$1 main=$2 out=$3 ldflags=$4
	shift 4
	(cd "$HERE/$name" && "$GO" build -mod=readonly -trimpath "$@" -ldflags "$ldflags" -o "$out" "$main")
}

build() {
	local k dir tmp t0 t1
	[ -x "$GO" ] || die "no Go toolchain at $GO"
	k=$(key)
	dir=$ROOT/$k
	if [ -x "$dir/docker-buildx" ] && [ -x "$dir/docker-compose" ]; then
		echo "$dir"
		return 0
	fi
	mkdir -p "$ROOT"
	exec 9>"$ROOT/.lock"
	flock 9
	if [ -x "$dir/docker-buildx" ] && [ -x "$dir/docker-compose" ]; then
		echo "$dir"
		return 0
	fi
	tmp=$ROOT/.tmp-$k-$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	t0=$(date +%s)
	echo "tests/clients/build.sh: building docker-buildx $BUILDX_VERSION and docker-compose $COMPOSE_VERSION into $dir ($("$GO" env GOVERSION))" >&2
	build_one buildx "$BUILDX_MAIN" "$tmp/docker-buildx" \
		"-s -w -X $BUILDX_MODULE/version.Version=$BUILDX_VERSION -X $BUILDX_MODULE/version.Package=$BUILDX_MODULE" ||
		{ rm -rf "$tmp"; die "docker-buildx $BUILDX_VERSION did not build"; }
	build_one compose "$COMPOSE_MAIN" "$tmp/docker-compose" \
		"-w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -tags e2e ||
		{ rm -rf "$tmp"; die "docker-compose $COMPOSE_VERSION did not build"; }
	t1=$(date +%s)
	{
		echo "buildx $BUILDX_MODULE@$BUILDX_VERSION"
		echo "compose $COMPOSE_MODULE@$COMPOSE_VERSION"
		echo "go $("$GO" env GOVERSION)"
		echo "seconds $((t1 - t0))"
	} >"$tmp/versions.txt"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	echo "tests/clients/build.sh: built in $((t1 - t0)) s" >&2
	echo "$dir"
}

case "${1:-}" in
"") build ;;
--cached)
	dir=$ROOT/$(key)
	[ -x "$dir/docker-buildx" ] && [ -x "$dir/docker-compose" ] || exit 1
	echo "$dir"
	;;
--plugins)
	[ -n "${2:-}" ] || die "--plugins needs a folder"
	dir=$(build)
	mkdir -p "$2/cli-plugins"
	ln -sf "$dir/docker-buildx" "$2/cli-plugins/docker-buildx"
	ln -sf "$dir/docker-compose" "$2/cli-plugins/docker-compose"
	echo "$2"
	;;
--key) key ;;
--regen)
	regen buildx "$BUILDX_MODULE" "$BUILDX_VERSION" "$BUILDX_MAIN"
	regen compose "$COMPOSE_MODULE" "$COMPOSE_VERSION" "$COMPOSE_MAIN"
	;;
*) die "unknown argument: $1 (see the comment at the top)" ;;
esac
