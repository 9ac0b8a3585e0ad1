#!/bin/bash
# tests/cluster/builder.sh: the rootless BuildKit image that `deskrun build-job` runs on the real
# cluster, built here as moby/buildkit's own "rootless" Dockerfile stage describes it, from
# pinned Go modules and Debian packages (moby/buildkit:*-rootless is on Docker Hub):
#   buildkitd, buildctl      github.com/moby/buildkit BUILDKIT_VERSION (the version buildx
#                            v0.38.2, the clients' pin, requires), built in the module's own
#                            directory with its go.mod and go.sum (-mod=readonly)
#   rootlesskit              github.com/rootless-containers/rootlesskit/v3 ROOTLESSKIT_VERSION
#                            (the version that module's Dockerfile builds)
#   buildctl-daemonless.sh   from the same buildkit module (examples/buildctl-daemonless/)
#   rootfs                   Debian bookworm minbase + uidmap, runc, ca-certificates
#                            (debootstrap), user 1000 with /etc/subuid and /etc/subgid ranges,
#                            newuidmap/newgidmap with file capabilities instead of setuid root
#                            (as Alpine's shadow-uidmap; setuid-root newuidmap needs
#                            CAP_SYS_ADMIN, which a pod does not get), and a buildkitd.toml
#                            naming REGISTRY (host:port) a plain-HTTP registry
# The image is an OCI archive (tests/cluster/ociimage.py) named IMAGE, User 1000:1000, the
# rootless stage's environment.
#
#   builder.sh REGISTRY         build what is missing; print the image archive's path
#   builder.sh --cached REGISTRY   print it if built, else exit 1
# Cache: ${DESKRUN_CLUSTER_CACHE:-/var/cache/deskrun-cluster}/builder-<key>/, <key> hashing this
# script, ociimage.py, REGISTRY and the Go version; Go's module and build caches are the
# cluster tier's (gomod/, gocache/).
set -euo pipefail
BUILDKIT_VERSION=v0.34.2
ROOTLESSKIT_VERSION=v3.2.0
IMAGE=deskrun.test/buildkit:${BUILDKIT_VERSION#v}-rootless
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x /usr/local/go/bin/go ] && PATH=/usr/local/go/bin:$PATH
CACHE_ROOT=${DESKRUN_CLUSTER_CACHE:-/var/cache/deskrun-cluster}
export GOTOOLCHAIN=local GOMODCACHE=$CACHE_ROOT/gomod GOCACHE=$CACHE_ROOT/gocache
export GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0
unset GOPATH GOBIN 2>/dev/null || true
die() { echo "builder.sh: $*" >&2; exit 1; }

cached=0
[ "${1:-}" = --cached ] && { cached=1; shift; }
REGISTRY=${1:?usage: builder.sh [--cached] REGISTRY}
key=$({ cat "${BASH_SOURCE[0]}" "$HERE/ociimage.py"; echo "$REGISTRY"; go env GOVERSION 2>/dev/null; } |
	sha256sum | cut -c1-16)
DIR=$CACHE_ROOT/builder-$key
if [ -s "$DIR/image.tar" ]; then
	echo "$DIR/image.tar"
	exit 0
fi
[ "$cached" = 1 ] && exit 1
command -v go >/dev/null || die "no Go toolchain"
command -v debootstrap >/dev/null || die "debootstrap is not installed"
command -v setcap >/dev/null || die "setcap is not installed (libcap2-bin)"
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock-builder"
flock 9
[ -s "$DIR/image.tar" ] && { echo "$DIR/image.tar"; exit 0; }
t0=$(date +%s)
WORK=$CACHE_ROOT/.builder-$$
rm -rf "$WORK"
mkdir -p "$WORK/bin"
cleanup() {
	local m
	for m in $(grep -o " $WORK/[^ ]*" /proc/self/mounts | sort -r || true); do umount -l "$m" || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "builder.sh: buildkit $BUILDKIT_VERSION, rootlesskit $ROOTLESSKIT_VERSION ($(go env GOVERSION))" >&2
src=$(cd "$WORK" && go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || die "github.com/moby/buildkit@$BUILDKIT_VERSION: no module source"
(cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w -X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION" \
	-o "$WORK/bin/" ./cmd/buildkitd ./cmd/buildctl) >&2 || die "buildkitd/buildctl did not build"
GOBIN=$WORK/bin go install -trimpath -ldflags "-s -w" \
	"github.com/rootless-containers/rootlesskit/v3/cmd/rootlesskit@$ROOTLESSKIT_VERSION" >&2 ||
	die "rootlesskit did not build"
install -m 0755 "$src/examples/buildctl-daemonless/buildctl-daemonless.sh" "$WORK/bin/"

mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
	grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | grep /debian | head -1 | awk '{print $2}' || true)
R=$WORK/rootfs
debootstrap --variant=minbase --include=uidmap,runc,ca-certificates bookworm "$R" \
	"${mirror:-http://deb.debian.org/debian}" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail -5 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
for m in $(grep -o " $R/[^ ]*" /proc/self/mounts | sort -r || true); do umount -l "$m" || true; done
chroot "$R" useradd --create-home --home-dir /home/user --uid 1000 -s /bin/sh user
mkdir -p "$R/run/user/1000" "$R/home/user/.local/tmp" "$R/home/user/.local/share/buildkit" \
	"$R/home/user/.config/buildkit"
printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$REGISTRY" >"$R/home/user/.config/buildkit/buildkitd.toml"
chroot "$R" chown -R user:user /run/user/1000 /home/user
echo user:100000:65536 >"$R/etc/subuid"
echo user:100000:65536 >"$R/etc/subgid"
chmod u-s "$R/usr/bin/newuidmap" "$R/usr/bin/newgidmap"
setcap cap_setuid+ep "$R/usr/bin/newuidmap"
setcap cap_setgid+ep "$R/usr/bin/newgidmap"
cp "$WORK/bin/"* "$R/usr/bin/"
rm -rf "$R/var/cache/apt/archives/"*.deb "$R/var/lib/apt/lists/"*
python3 "$HERE/ociimage.py" --name "$IMAGE" --rootfs "$R" --out "$WORK/image.tar" --keep-owners \
	--user 1000:1000 --env HOME=/home/user --env USER=user --env XDG_RUNTIME_DIR=/run/user/1000 \
	--env TMPDIR=/home/user/.local/tmp --env BUILDKIT_HOST=unix:///run/user/1000/buildkit/buildkitd.sock \
	--entrypoint '["rootlesskit", "buildkitd"]' || die "the image archive was not written"
mkdir -p "$DIR"
mv "$WORK/image.tar" "$DIR/image.tar.tmp"
{
	echo "image $IMAGE"
	echo "buildkit $BUILDKIT_VERSION"
	echo "rootlesskit $ROOTLESSKIT_VERSION"
	echo "go $(go env GOVERSION)"
	echo "seconds $(($(date +%s) - t0))"
} >"$DIR/versions.txt"
mv "$DIR/image.tar.tmp" "$DIR/image.tar"
echo "builder.sh: built in $(($(date +%s) - t0)) s" >&2
echo "$DIR/image.tar"
