#!/bin/bash
# podman's API service (its Docker-compatible API) on a private store and socket under $TMP/pm,
# for the local agent's tests on podman (LOCAL_ENGINE=podman). Sourced after tests/lib/tap.sh.
PODMAN_PID=
P() { podman --root "$TMP/pm/root" --runroot "$TMP/pm/run" --tmpdir "$TMP/pm/tmp" "$@"; }
# start_podman [CONF-LINE...]: write its containers.conf (no systemd here: cgroupfs and a file
# event log; the default ulimits fail on this machine; then the lines given), start the service
# and set DOCKER_HOST to it; 1 if it never answers
start_podman() {
	mkdir -p "$TMP/pm"
	export CONTAINERS_CONF=$TMP/pm/containers.conf
	printf '%s\n' '[containers]' 'default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]' \
		'[engine]' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' "$@" >"$CONTAINERS_CONF"
	P system service --time=0 "unix://$TMP/pm/podman.sock" >"$TMP/pm/service.log" 2>&1 &
	PODMAN_PID=$!
	export DOCKER_HOST=unix://$TMP/pm/podman.sock
	local i
	for i in $(seq 1 100); do
		docker version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# stop_podman [STOP-TIMEOUT]: remove every container (stopped with that timeout, 0 by default),
# stop the service and unmount what it left under $TMP/pm
stop_podman() {
	[ -n "$PODMAN_PID" ] || return 0
	P rm -af -t "${1:-0}" >/dev/null 2>&1
	kill "$PODMAN_PID" 2>/dev/null
	wait "$PODMAN_PID" 2>/dev/null
	PODMAN_PID=
	grep -o " $TMP/pm[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
}
