# tests/local/runner_image.sh: the runner stand-in image for the local agent's tests. The real
# runner image (ghcr.io/actions/actions-runner) cannot be fetched here, and the real runner
# needs GitHub's broker anyway (scaleset-protocol.md §8), so the image runs
# tests/github/ghctl.py run-runner instead: it reads ACTIONS_RUNNER_INPUT_JITCONFIG from its
# environment as the runner does, reports online to the stand-in, takes a job and exits.
# Made with `docker import` from the host's python3 (its libraries found with ldd), no registry.
# Source after tests/lib/tap.sh; needs DOCKER_HOST set.
#
#   build_runner_image TAG [JOB_SECONDS]
#                             /home/runner/run.sh runs the stand-in runner; SSL_CERT_FILE is
#                             /standin/cert.pem (mount the stand-in's folder there).
#                             STANDIN_WAIT (600) bounds the wait for a job, JOB_SECONDS (0) is
#                             each job's length (/standin/job-seconds, if present, overrides).
#                             With DOCKER_HOST=unix://... it first prints
#                             "docker-info: status=N root=..." from GET /info on that socket.
#                             The image has the host's docker CLI (/usr/bin/docker) and
#                             busybox (/bin/sh ...): when /standin/step exists, the stand-in
#                             runs it as the job's step (JOB_ID set; non-zero fails the job),
#                             so a test's job really calls its Docker.

build_runner_image() {
	local tag=$1 root=$TMP/runner-rootfs py
	py=$(readlink -f /usr/bin/python3)
	local ver=${py##*/}
	rm -rf "$root"
	mkdir -p "$root/home/runner" "$root/opt/standin" "$root/usr/bin" "$root/tmp" "$root/etc"
	chmod 1777 "$root/tmp"
	cp "$py" "$root/usr/bin/$ver"
	mkdir -p "$root/bin"
	cp /usr/bin/docker "$root/usr/bin/docker"
	cp /bin/busybox "$root/bin/busybox"
	local a
	for a in sh cat cp echo grep ls mkdir sleep test true false tr wc head tail; do ln -s busybox "$root/bin/$a"; done
	mkdir -p "$root/home/runner/externals"
	echo "the runner stand-in's externals" >"$root/home/runner/externals/README"
	ln -s "$ver" "$root/usr/bin/python3"
	tar -C / -cf - --exclude="usr/lib/$ver/test" --exclude="usr/lib/$ver/idlelib" \
		--exclude="usr/lib/$ver/tkinter" --exclude="usr/lib/$ver/ensurepip" \
		--exclude="usr/lib/$ver/lib2to3" "usr/lib/$ver" | tar -C "$root" -xf -
	local lib
	for lib in $( { ldd "$py"; ldd /usr/bin/docker; ldd /usr/lib/"$ver"/lib-dynload/*.so; } 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	echo 'root:x:0:0:root:/root:/bin/false' >"$root/etc/passwd"
	cp "$SRCDIR/tests/github/ghctl.py" "$root/opt/standin/ghctl.py"
	cat >"$root/home/runner/run.sh" <<'PY'
#!/usr/bin/python3
"""The runner stand-in's /home/runner/run.sh (tests/local/runner_image.sh)."""
import json, os, socket, sys
dh = os.environ.get("DOCKER_HOST", "")
if dh.startswith("unix://"):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(dh[len("unix://"):])
        s.sendall(b"GET /info HTTP/1.0\r\nHost: docker\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        info = json.loads(body)
        print("docker-info: status=%s root=%r" % (head.split()[1].decode(), info.get("DockerRootDir")), flush=True)
    except Exception as e:
        print("docker-info: error %s" % e, flush=True)
js = os.environ.get("STANDIN_JOB_SECONDS", "0")
try:  # a test may set each job's length at run time
    js = open("/standin/job-seconds").read().strip() or js
except OSError:
    pass
step = ["--step", "/standin/step"] if os.path.exists("/standin/step") else []
os.execv("/usr/bin/python3", ["python3", "/opt/standin/ghctl.py", "run-runner",
         "--wait", os.environ.get("STANDIN_WAIT", "600"),
         "--job-seconds", js] + step)
PY
	chmod 755 "$root/home/runner/run.sh"
	tar -C "$root" -cf - . | docker import --change 'ENV SSL_CERT_FILE=/standin/cert.pem' \
		--change 'ENV PATH=/usr/bin:/bin' \
		--change "ENV STANDIN_JOB_SECONDS=${2:-0}" --change 'CMD ["/home/runner/run.sh"]' - "$tag" >/dev/null
	local rc=$?
	rm -rf "$root"
	return $rc
}
