# tests/lib/dockerd.sh: a private Docker daemon for a test, and a busybox image without any
# registry. Source after tests/lib/tap.sh (it uses $TMP and $SRCDIR).
#
#   start_dockerd NAME [DOCKERD_ARGS...]   start dockerd with its own data root, exec root,
#                                          pidfile and unix socket under $TMP/d-NAME; sets
#                                          DOCKER_HOST; it is stopped when the test exits.
#                                          DOCKERD_WRAP=(CMD...) runs it under CMD (e.g.
#                                          nsenter into a network namespace)
#   stop_dockerd NAME                      stop it (SIGTERM, then SIGKILL after 15 s) and
#                                          delete the br-* links of its bridge networks
#   dockerd_available                      0 if dockerd can run here (root, binary present)
#   import_busybox TAG                     `docker import` a busybox-static rootfs as TAG
#
# The daemon never touches the host network (--bridge=none --iptables=false). Where
# ../shared/tools/runc-bounded exists (machines whose capability bounding set lacks
# CAP_SYS_RESOURCE), it is the default runtime so privileged containers work.

_dockerd_names=()
DOCKERD_WRAP=()

dockerd_available() {
	[ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1
}

_dockerd_stop_all_but_rm() {
	local n
	for n in "${_dockerd_names[@]}"; do stop_dockerd "$n"; done
}
_dockerd_stop_all() {
	_dockerd_stop_all_but_rm
	rm -rf "$TMP"
}
trap _dockerd_stop_all EXIT

start_dockerd() {
	local name=$1
	shift
	local dir=$TMP/d-$name
	mkdir -p "$dir"
	local rt=()
	local bounded
	bounded=$(realpath "$SRCDIR/../shared/tools/runc-bounded" 2>/dev/null)
	[ -n "$bounded" ] && [ -x "$bounded" ] && rt=(--add-runtime "bounded=$bounded" --default-runtime bounded)
	"${DOCKERD_WRAP[@]}" dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/pid" \
		--host "unix://$dir/docker.sock" --bridge=none --iptables=false --ip6tables=false \
		"${rt[@]}" "$@" >"$dir/log" 2>&1 &
	_dockerd_names+=("$name")
	local i
	for i in $(seq 1 150); do
		if [ -S "$dir/docker.sock" ] && DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1; then
			export DOCKER_HOST="unix://$dir/docker.sock"
			return 0
		fi
		sleep 0.2
	done
	echo "# dockerd $name did not start:" && sed 's/^/#   /' "$dir/log" | tail -20
	return 1
}

stop_dockerd() {
	local dir=$TMP/d-$1
	[ -f "$dir/pid" ] || return 0
	local pid nets n
	pid=$(cat "$dir/pid")
	# User-defined bridge networks are br-<id> links in the host's namespace (--bridge=none
	# only removes docker0), and a stopped daemon leaves them: note them while it answers.
	nets=$(timeout 10 docker -H "unix://$dir/docker.sock" network ls -q --no-trunc \
		--filter driver=bridge 2>/dev/null)
	kill "$pid" 2>/dev/null
	local i
	for i in $(seq 1 75); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$dir/pid"
	for n in $nets; do ip link del "br-${n:0:12}" 2>/dev/null; done
	# Mounts a killed daemon leaves behind would make rm -rf fail.
	grep -o " $dir[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
}

import_busybox() {
	local tag=$1 root=$TMP/busybox-root
	if [ ! -d "$root" ]; then
		mkdir -p "$root/bin" "$root/tmp" "$root/etc"
		cp /bin/busybox "$root/bin/busybox"
		local a
		for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
		echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	fi
	tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - "$tag" >/dev/null
}
