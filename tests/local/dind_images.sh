# tests/local/dind_images.sh: the e2e images the local agent's dind mode runs, built offline
# (tests/e2e/images/build.sh: Debian's dockerd 20.10 from a rootfs cached under
# /var/cache/deskrun-e2e, built with podman and debootstrap), once per build folder and change
# of their sources; not the helper image (the agent bind-mounts deskrun-static). Shared by
# tests/local/test_agent_dind.sh, bench/local-dind/run.sh and scripts/demo-local.sh. Source it.
#
#   build_dind_images DIR     builds DIR/dind.tar (localhost/deskrun-e2e/dind:1), base.tar
#                             and runner.tar unless DIR/stamp matches the sources; concurrent
#                             callers wait on DIR/lock. Status: DIR/dind.tar is there.
build_dind_images() {
	local dir=$1 stamp
	stamp=$(cat "$SRCDIR"/tests/e2e/images/* | sha256sum | cut -c1-16)
	mkdir -p "$dir"
	(
		flock 9
		if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
			DESKRUN_STATIC= "$SRCDIR/tests/e2e/images/build.sh" "$dir" >&2 &&
				echo "$stamp" >"$dir/stamp"
		fi
	) 9>"$dir/lock"
	[ -s "$dir/dind.tar" ]
}
