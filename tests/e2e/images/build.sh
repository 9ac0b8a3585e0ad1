#!/bin/bash
# tests/e2e/images/build.sh: the local images the engine tests run, built without any registry.
#
#   build.sh OUTDIR
#
# Writes into OUTDIR (docker-archive tarballs, loadable by podman and docker):
#   runner.tar   localhost/deskrun-e2e/runner:1  Debian bookworm + docker.io (docker CLI, ctr),
#                                                 /home/runner/externals, like the runner image
#   dind.tar     localhost/deskrun-e2e/dind:1    the same rootfs + the `dind` wrapper and an
#                                                 entrypoint that runs `dockerd ARGS` like docker:dind
#   helper.tar   localhost/deskrun-e2e/helper:1  FROM scratch + the static deskrun (deskrun image build)
#   base.tar     localhost/deskrun-e2e/base:1    busybox, the FROM of the test Dockerfiles
#
# The Debian rootfs comes from debootstrap (minbase + docker.io) against the machine's own apt
# mirror and is cached as a tarball under DESKRUN_E2E_CACHE (default /var/cache/deskrun-e2e),
# keyed by its package list, so CI builds it once. An image made by `docker import` has no PATH
# of its own: each gets ENV PATH.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
cache=${DESKRUN_E2E_CACHE:-/var/cache/deskrun-e2e}
pkgs="docker.io,ca-certificates,iproute2,procps,wget"
key=$(printf '%s\n' "bookworm minbase $pkgs v1" | sha256sum | cut -c1-12)
rootfs_tar=$cache/bookworm-docker-$key.tar
mkdir -p "$cache" "$out"

mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | grep /debian | head -1 | awk '{print $2}')
	echo "${m:-http://deb.debian.org/debian}"
}

if [ ! -s "$rootfs_tar" ]; then
	work=$(mktemp -d "$cache/rootfs.XXXXXX")
	# debootstrap mounts /proc and /sys in the target: unmount before removing anything.
	cleanup_work() {
		local m
		for m in $(grep -o " $work/[^ ]*" /proc/self/mounts | sort -r || true); do
			umount -l "$m" || true
		done
		rm -rf --one-file-system "$work"
	}
	trap cleanup_work EXIT
	echo "# debootstrap bookworm minbase + $pkgs (cached as $rootfs_tar)" >&2
	debootstrap --variant=minbase --include="$pkgs" bookworm "$work/root" "$(mirror)" \
		>"$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
	rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
	tar -C "$work/root" --numeric-owner --one-file-system -cf "$work/rootfs.tar" .
	mv "$work/rootfs.tar" "$rootfs_tar"
	cleanup_work
	trap - EXIT
fi

# Images go through a throwaway podman store: import, add files, save as docker-archive.
store=$(mktemp -d)
trap 'podman --root "$store/root" --runroot "$store/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1; rm -rf "$store"' EXIT
P=(podman --root "$store/root" --runroot "$store/run" --storage-driver vfs)
path='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# runner and dind: the rootfs as one layer, then their own files in a second one.
"${P[@]}" import -q -c "$path" - localhost/deskrun-e2e/debian:1 <"$rootfs_tar" >/dev/null
mkdir -p "$store/runner/externals/node20"
printf '#!/bin/sh\necho "run.sh: no GitHub here; the e2e tests replace this command" >&2\nexec sleep infinity\n' \
	>"$store/runner/run.sh"
chmod 0755 "$store/runner/run.sh"
echo "stand-in for the runner's externals" >"$store/runner/externals/README"
cat >"$store/runner/Containerfile" <<'CF'
FROM localhost/deskrun-e2e/debian:1
COPY run.sh /home/runner/run.sh
COPY externals /home/runner/externals
WORKDIR /home/runner
CMD ["/home/runner/run.sh"]
CF
"${P[@]}" build -q --network none -t localhost/deskrun-e2e/runner:1 "$store/runner" >/dev/null

mkdir -p "$store/dind"
install -m 0755 "$here/dind" "$here/dockerd-entrypoint.sh" "$store/dind/"
cat >"$store/dind/Containerfile" <<'CF'
FROM localhost/deskrun-e2e/debian:1
COPY dind dockerd-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/dockerd-entrypoint.sh"]
CMD []
CF
"${P[@]}" build -q --network none -t localhost/deskrun-e2e/dind:1 "$store/dind" >/dev/null

# base: busybox-static, what the test Dockerfiles build FROM.
mkdir -p "$store/base/bin" "$store/base/etc" "$store/base/tmp" "$store/base/var/www"
cp /bin/busybox "$store/base/bin/busybox"
for a in $("$store/base/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$store/base/bin/$a"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$store/base/etc/passwd"
echo "root:x:0:" >"$store/base/etc/group"
tar -C "$store/base" --numeric-owner -c . | "${P[@]}" import -q -c 'ENV PATH=/bin' \
	- localhost/deskrun-e2e/base:1 >/dev/null

for i in runner dind base; do
	rm -f "$out/$i.tar"
	"${P[@]}" save -q --format docker-archive -o "$out/$i.tar" "localhost/deskrun-e2e/$i:1" >/dev/null
done

# helper: deskrun's own FROM scratch image, built by `deskrun image build --engine podman`.
if [ -n "${DESKRUN_STATIC:-}" ]; then
	mkdir -p "$store/bin"
	printf '#!/bin/sh\nexec /usr/bin/podman --root %s --runroot %s --storage-driver vfs "$@"\n' \
		"$store/root" "$store/run" >"$store/bin/podman"
	chmod +x "$store/bin/podman"
	PATH="$store/bin:$PATH" "${DESKRUN:?}" image build --engine podman --binary "$DESKRUN_STATIC" \
		--tag localhost/deskrun-e2e/helper:1 >/dev/null
	rm -f "$out/helper.tar"
	"${P[@]}" save -q --format docker-archive -o "$out/helper.tar" localhost/deskrun-e2e/helper:1 >/dev/null
fi
