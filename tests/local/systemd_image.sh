# tests/local/systemd_image.sh: a Debian bookworm image that boots systemd as PID 1 under
# podman, for tests/local/test_systemd.sh. Built offline from debootstrap against the machine's
# apt mirror (no registry), cached as a rootfs tarball under DESKRUN_E2E_CACHE (default
# /var/cache/deskrun-e2e) keyed by its package list, then `podman import`ed once per key.
# It holds the shared libraries of the host's (dynamic) deskrun: the static twin has no HTTPS
# client, so it cannot run the agent. Source it.
#
#   build_systemd_image        sets SYSTEMD_IMAGE (localhost/deskrun-e2e/systemd:KEY) and
#                              returns 0 once podman has it; concurrent callers wait on a lock.
build_systemd_image() {
	local cache=${DESKRUN_E2E_CACHE:-/var/cache/deskrun-e2e}
	local pkgs="systemd,systemd-sysv,dbus,procps,ca-certificates,libjansson4,libyaml-0-2,libhttp-parser2.9,libnghttp2-14,libssl3"
	local key
	key=$(printf '%s\n' "bookworm minbase $pkgs systemd v3" | sha256sum | cut -c1-12)
	local tar=$cache/bookworm-systemd-$key.tar
	SYSTEMD_IMAGE=localhost/deskrun-e2e/systemd:$key
	mkdir -p "$cache"
	(
		flock 9
		if [ ! -s "$tar" ]; then
			local work m mirror
			work=$(mktemp -d "$cache/rootfs.XXXXXX")
			mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
				grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | grep /debian | head -1 | awk '{print $2}')
			echo "# debootstrap bookworm minbase + $pkgs (cached as $tar)" >&2
			if debootstrap --variant=minbase --include="$pkgs" bookworm "$work/root" \
				"${mirror:-http://deb.debian.org/debian}" >"$work/log" 2>&1; then
				rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
				# No getty on a console nobody reads; no machine-id (systemd makes one at boot)
				# and no first-boot wizard, which would wait on that console and hold the boot.
				# No systemd-networkd: the container has the host's network, which it must not
				# manage, and its wait-online (pulled in by network-online.target when a unit
				# wants it) would wait 120 s for links it does not manage.
				rm -f "$work/root/etc/systemd/system/getty.target.wants/"* "$work/root/etc/machine-id"
				for m in systemd-firstboot.service systemd-networkd.service systemd-networkd.socket \
					systemd-networkd-wait-online.service; do
					ln -sf /dev/null "$work/root/etc/systemd/system/$m"
				done
				tar -C "$work/root" --numeric-owner --one-file-system -cf "$work/rootfs.tar" . &&
					mv "$work/rootfs.tar" "$tar"
			else
				tail -20 "$work/log" | sed 's/^/# /' >&2
			fi
			# debootstrap mounts /proc and /sys in the target: unmount before removing.
			for m in $(grep -o " $work/[^ ]*" /proc/self/mounts | sort -r || true); do umount -l "$m" || true; done
			rm -rf --one-file-system "$work"
		fi
		[ -s "$tar" ] || exit 1
		podman image exists "$SYSTEMD_IMAGE" ||
			podman import -q -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
				-c 'CMD ["/sbin/init"]' - "$SYSTEMD_IMAGE" <"$tar" >/dev/null
	) 9>"$cache/systemd.lock"
}
