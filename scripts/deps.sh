#!/bin/sh
# Install the Debian packages deskrun needs to build and test, only those that are missing.
set -eu
pkgs="gcc meson ninja-build pkg-config libjansson-dev libyaml-dev libcmocka-dev
      libhttp-parser-dev libnghttp2-dev libssl-dev openssl python3 python3-yaml python3-jsonschema python3-venv scdoc
      clang libclang-rt-14-dev
      docker.io containerd runc busybox-static docker-registry haproxy curl ca-certificates
      podman catatonit debootstrap iproute2 procps psmisc zsh
      containernetworking-plugins conntrack iptables util-linux"
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
