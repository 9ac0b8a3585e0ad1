#!/bin/bash
# bench/strategies/images.sh: the images the strategy benchmark needs, built without a registry.
#
#   images.sh OUTDIR
#
# Writes into OUTDIR (docker-archive tarballs):
#   runner.tar dind.tar helper.tar base.tar   the e2e images (tests/e2e/images/build.sh):
#                                             localhost/deskrun-e2e/{runner,dind,helper,base}:1
#   gcc.tar                                   localhost/deskrun-bench/gcc:1, the workload's build
#                                             stage: Debian bookworm minbase + gcc, libc6-dev, make
#   gcc.tar.gz base.tar.gz                    the two images the workload builds FROM, gzipped as
#                                             registry layers are: what a job "pulls" (docker load)
#
# Both Debian rootfs tarballs come from debootstrap against the machine's apt mirror and are
# cached: the e2e one under DESKRUN_E2E_CACHE (default /var/cache/deskrun-e2e), the gcc one
# under DESKRUN_BENCH_CACHE (default /var/cache/deskrun-bench), keyed by their package lists.
# Nothing is rebuilt when OUTDIR's stamp matches the inputs. Needs DESKRUN and DESKRUN_STATIC.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${DESKRUN_BENCH_CACHE:-/var/cache/deskrun-bench}
pkgs="gcc,libc6-dev,make"
key=$(printf '%s\n' "bookworm minbase $pkgs slim v1" | sha256sum | cut -c1-12)
rootfs_tar=$cache/bookworm-gcc-$key.tar
mkdir -p "$cache" "$out"

stamp=$(cat "$src"/tests/e2e/images/* "$here/images.sh" "${DESKRUN_STATIC:?}" | sha256sum | cut -c1-16)
if [ "$(cat "$out/images.stamp" 2>/dev/null)" = "$stamp-$key" ] &&
	[ -s "$out/gcc.tar.gz" ] && [ -s "$out/base.tar.gz" ] && [ -s "$out/runner.tar" ]; then
	exit 0
fi

mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | grep /debian | head -1 | awk '{print $2}')
	echo "${m:-http://deb.debian.org/debian}"
}

if [ ! -s "$rootfs_tar" ]; then
	work=$(mktemp -d "$cache/rootfs.XXXXXX")
	cleanup_work() {
		{ grep -o " $work/[^ ]*" /proc/self/mounts || :; } | sort -r | while read -r m; do umount -l "$m"; done
		rm -rf --one-file-system "$work"
	}
	trap cleanup_work EXIT
	echo "# debootstrap bookworm minbase + $pkgs (cached as $rootfs_tar)" >&2
	debootstrap --variant=minbase --include="$pkgs" bookworm "$work/root" "$(mirror)" \
		>"$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
	# slim, as Debian's -slim images are: no apt caches, docs, man pages or locales
	rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
		"$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/info" \
		"$work/root/usr/share/locale"
	tar -C "$work/root" --numeric-owner --one-file-system -cf "$work/rootfs.tar" .
	mv "$work/rootfs.tar" "$rootfs_tar"
	cleanup_work
	trap - EXIT
fi

echo "# bench images: the e2e images and localhost/deskrun-bench/gcc:1 into $out" >&2
DESKRUN=${DESKRUN:?} DESKRUN_STATIC=$DESKRUN_STATIC "$src/tests/e2e/images/build.sh" "$out"

store=$(mktemp -d)
trap 'podman --root "$store/root" --runroot "$store/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1; rm -rf "$store"' EXIT
P=(podman --root "$store/root" --runroot "$store/run" --storage-driver vfs)
"${P[@]}" import -q -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	- localhost/deskrun-bench/gcc:1 <"$rootfs_tar" >/dev/null
rm -f "$out/gcc.tar"
"${P[@]}" save -q --format docker-archive -o "$out/gcc.tar" localhost/deskrun-bench/gcc:1 >/dev/null
for i in gcc base; do
	gzip -6 -c "$out/$i.tar" >"$out/$i.tar.gz.tmp"
	mv "$out/$i.tar.gz.tmp" "$out/$i.tar.gz"
done
echo "$stamp-$key" >"$out/images.stamp"
