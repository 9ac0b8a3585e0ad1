#!/bin/bash
# tests/clients/testcontainers.sh: the testcontainers client the guard's W09 rows drive
# (testcontainers-python from PyPI, pinned in testcontainers/requirements.txt, in a venv) and
# a stand-in for its reaper Ryuk (ryuk/, Go standard library only: the real Ryuk's module
# github.com/testcontainers/moby-ryuk is not served by the Go module proxy, and its image is on
# Docker Hub; see ryuk/main.go for what it keeps of Ryuk 0.8.1), cached outside the repository.
#
#   tests/clients/testcontainers.sh            install what the cache lacks; print its folder
#   tests/clients/testcontainers.sh --cached   print the folder if complete, else exit 1
#   tests/clients/testcontainers.sh --key      print the cache key
#
# The folder holds venv/ (bin/python with testcontainers importable), ryuk (a static binary)
# and versions.txt. Cache: $DESKRUN_CLIENTS_CACHE (default /var/cache/deskrun-clients)/
# testcontainers-<key>, <key> hashing this script, the pins, the stand-in's source, Python's and
# Go's versions.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${DESKRUN_CLIENTS_CACHE:-/var/cache/deskrun-clients}
GO=${GO:-/usr/local/go/bin/go}
PY=${PYTHON:-/usr/bin/python3}
die() { echo "tests/clients/testcontainers.sh: $*" >&2; exit 1; }

key() {
	{
		cat "${BASH_SOURCE[0]}" "$HERE/testcontainers/requirements.txt" "$HERE/ryuk/go.mod" "$HERE/ryuk/main.go"
		"$PY" --version 2>&1
		"$GO" env GOVERSION 2>/dev/null || echo none
	} | sha256sum | cut -c1-16
}

complete() { [ -x "$1/venv/bin/python" ] && [ -x "$1/ryuk" ] && [ -f "$1/versions.txt" ]; }

install() {
	local dir tmp t0
	dir=$ROOT/testcontainers-$(key)
	complete "$dir" && { echo "$dir"; return 0; }
	mkdir -p "$ROOT"
	exec 9>"$ROOT/.lock-testcontainers"
	flock 9
	complete "$dir" && { echo "$dir"; return 0; }
	[ -x "$GO" ] || die "no Go toolchain at $GO (for the Ryuk stand-in)"
	"$PY" -c 'import venv, ensurepip' 2>/dev/null || die "python3-venv is not installed"
	tmp=$ROOT/.tmp-testcontainers-$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	t0=$(date +%s)
	# The venv is made at its final path (a venv's scripts name their own path), then checked.
	rm -rf "$dir"
	"$PY" -m venv "$dir/venv" >"$tmp/venv.log" 2>&1 || { cat "$tmp/venv.log" >&2; die "python3 -m venv failed"; }
	"$dir/venv/bin/pip" install -q --disable-pip-version-check --no-deps \
		-r "$HERE/testcontainers/requirements.txt" >"$tmp/pip.log" 2>&1 ||
		{ tail -5 "$tmp/pip.log" >&2; rm -rf "$dir" "$tmp"; die "pip install of testcontainers/requirements.txt failed (PyPI)"; }
	"$dir/venv/bin/python" -c 'import testcontainers.core.container' ||
		{ rm -rf "$dir" "$tmp"; die "testcontainers does not import"; }
	(cd "$HERE/ryuk" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-modcacherw -buildvcs=false" \
		"$GO" build -trimpath -ldflags "-s -w" -o "$tmp/ryuk" .) >"$tmp/go.log" 2>&1 ||
		{ cat "$tmp/go.log" >&2; rm -rf "$dir" "$tmp"; die "the Ryuk stand-in did not build"; }
	mv "$tmp/ryuk" "$dir/ryuk"
	{
		grep -v '^#' "$HERE/testcontainers/requirements.txt"
		"$PY" --version
		"$GO" env GOVERSION
		echo "seconds $(($(date +%s) - t0))"
	} >"$dir/versions.txt"
	rm -rf "$tmp"
	echo "$dir"
}

case "${1:-}" in
"") install ;;
--cached)
	dir=$ROOT/testcontainers-$(key)
	complete "$dir" || exit 1
	echo "$dir" ;;
--key) key ;;
*) die "usage: tests/clients/testcontainers.sh [--cached|--key]" ;;
esac
