#!/bin/bash
# Mode cached-privileged-kubernetes on a real engine: the job pod that ARC's container hooks
# create, with deskrun's hook extension merged (privileged root `job` container, the node's
# /sys, /sys/fs/cgroup, /dev, /dev/pts, /dev/shm and the /var/lib/docker cache as hostPaths),
# runs under podman with the dind image as the job image. The job starts its own dockerd
# (overlay2 on the cached data root) and does a workflow's Docker steps; the pod is removed
# the way the hook removes it (dockerd is killed, not stopped); a second job pod on the same
# node finds the base image and builds with every layer cached, from the node's disk.
#
# What podman cannot honour, and what the test does about it:
#   * hostPID (and hostIPC) are ignored by podman, so the job has its own PID namespace. The
#     node's /proc mounted over the job's /proc then shows host PIDs that are not the job's:
#     containerd fails to start shims ("set shim OOM score: open /proc/N/oom_score_adj") and
#     dockerd cannot find its own network namespace (/proc/N/task/M/ns/net). So the /proc
#     mount is dropped (kube.py --drop-mount /proc); on Kubernetes, hostPID makes it right.
#   * /sys, /sys/fs/cgroup, /dev, /dev/pts and /dev/shm work and are kept: they are the
#     machine's own (kube.py --map PATH=PATH keeps a hostPath on the real host path).
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/e2e/lib.sh"
e2e_require
e2e_setup || { not_ok "the e2e images are built and loaded"; done_testing; exit 1; }
printf 'ghp_e2e\n' >"$TMP/pat" && chmod 600 "$TMP/pat"

# The job's dockerd, as a workflow step starts it: overlay2, data root = the cached
# /var/lib/docker, the default socket and exec root, which are the job container's own.
start_job_dockerd() {
	P exec -d "$1-job" sh -c 'exec /usr/local/bin/dind dockerd --storage-driver overlay2 \
		--data-root /var/lib/docker --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1' >/dev/null
}

# The hook deletes the job pod; when its PID 1 (tail -f /dev/null upstream, kube.py's sleep
# here) ends, everything in the pod, dockerd included, is killed with it.
unplay_now() { P pod rm -f -t 1 "$1" >/dev/null 2>&1; }

# The node's identity of a path: device and inode.
ident() { stat -c '%n %d:%i' "$@" 2>&1; }

run dr add pv --repository https://github.com/o/r --mode cached-privileged-kubernetes \
	--cache /var/lib/docker --auth-value-file "$TMP/pat" --runner-image "$RUNNER_IMAGE"
check "add a cached-privileged-kubernetes runner with a /var/lib/docker cache" eq "$RC" 0

HOST_MOUNTS=(/sys /sys/fs/cgroup /dev /dev/pts /dev/shm)
host_ids=$(ident "${HOST_MOUNTS[@]}")
# The node's Docker socket and exec root, whatever they are (usually absent here): the job's
# dockerd must not touch them.
host_docker=$(ident /var/run/docker.sock /var/run/docker.pid /var/run/docker)
# The node's mounts on /sys and /dev: /sys/fs/cgroup is Bidirectional in the job, so a mount
# the job made there would show up here.
host_mounts() { awk '$2 ~ "^/(sys|dev)(/|$)" {print $1, $2, $3}' /proc/self/mounts; }
host_mounts_before=$(host_mounts)
cache=$HOSTROOT/node/var/lib/deskrun/cache/pv/cache-0

for i in 1 2; do
	pod=e2e-priv-$i
	if ! pod_yaml "$TMP/j$i.json" --name "$pod" --sleep job --drop-mount /proc \
		--map /sys=/sys --map /dev=/dev -- pv --job-pod --job-image "$DIND_IMAGE"; then
		not_ok "$pod: render the job pod"
		continue
	fi
	if [ "$i" = 1 ]; then
		# The job pod as deskrun renders it (before kube.py), field by field.
		run /usr/bin/python3 -c '
import sys, yaml
pod = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Pod"][0]
s = pod["spec"]
job = [c for c in s["containers"] if c["name"] == "job"][0]
sc = job["securityContext"]
vols = {v["name"]: v for v in s["volumes"]}
print("privileged=%s uid=%s gid=%s hostPID=%s hostIPC=%s image=%s" % (sc.get("privileged"),
      sc.get("runAsUser"), sc.get("runAsGroup"), s.get("hostPID"), s.get("hostIPC"), job["image"]))
for m in job["volumeMounts"]:
    hp = vols[m["name"]].get("hostPath")
    if hp:
        print("%s<-%s%s" % (m["mountPath"], hp["path"],
              ":" + m["mountPropagation"] if "mountPropagation" in m else ""))
' "$TMP/j1.json.render"
		check "the job pod: privileged root job container in the host PID and IPC namespaces" \
			eq "$(printf '%s\n' "$OUT" | head -1)" \
			"privileged=True uid=0 gid=0 hostPID=True hostIPC=True image=$DIND_IMAGE"
		check "the job pod mounts the node's /sys, /sys/fs/cgroup (Bidirectional), /proc, /dev, /dev/pts, /dev/shm and the cache" \
			eq "$(printf '%s\n' "$OUT" | tail -n +2 | tr '\n' ' ')" \
			"/sys<-/sys /sys/fs/cgroup<-/sys/fs/cgroup:Bidirectional /proc<-/proc /dev<-/dev /dev/pts<-/dev/pts /dev/shm<-/dev/shm /var/lib/docker<-/var/lib/deskrun/cache/pv/cache-0 "
	fi
	if ! play "$TMP/j$i.json"; then
		not_ok "$pod: podman kube play the job pod"
		continue
	fi
	start_job_dockerd "$pod"
	if ! wait_docker "$pod" job; then
		not_ok "$pod: the job's own dockerd starts"
		P exec "$pod-job" tail -20 /var/log/dockerd.log 2>&1 | sed 's/^/#   /'
		unplay_now "$pod"
		continue
	fi
	ok "$pod: the job's own dockerd starts"
	pexec "$pod" job docker info --format '{{.Driver}} {{.DockerRootDir}}'
	check "$pod: docker info reports overlay2 on /var/lib/docker" eq "$OUT" "overlay2 /var/lib/docker"
	if [ "$i" = 1 ]; then
		pexec "$pod" job ls /__e
		check "$pod: the hook's fs-init copied the runner's externals into the job" contains "$OUT" node20
		pexec "$pod" job sh -c "$(printf 'stat -c "%%n %%d:%%i" %s 2>&1;' "${HOST_MOUNTS[@]}")"
		check "$pod: /sys, /sys/fs/cgroup, /dev, /dev/pts, /dev/shm are the node's own" eq "$OUT" "$host_ids"
		pexec "$pod" job findmnt -no PROPAGATION /sys/fs/cgroup
		diag "$pod: propagation of the mounts on /sys/fs/cgroup in the job: $(printf "%s\n" "$OUT" | paste -sd" ")"
		pexec "$pod" job cat /proc/1/comm
		check "$pod: /proc is the job's own (host /proc dropped: podman ignores hostPID)" test -n "$OUT" -a "$OUT" != "$(cat /proc/1/comm)"
		pexec "$pod" job stat -c '%n %d:%i' /var/run/docker.sock
		check "$pod: the job's Docker socket is its own, not the node's" test -n "$OUT" -a "$(ident /var/run/docker.sock)" != "$OUT"
		load_base "$pod" job
		check "$pod: the base image is loaded into the job's daemon" eq "$?" 0
	else
		pexec "$pod" job docker image inspect --format ok "$BASE_IMAGE"
		check "$pod: the second job pod finds the base image the first one loaded" eq "$OUT" ok
	fi
	workflow "$pod" job "e2e/priv:$i"
	run P inspect -f '{{.State.Status}}' "$pod-job"
	if ! check "$pod: the job container runs on after the workflow" eq "$OUT" running; then
		P inspect -f '{{json .State}}' "$pod-job" 2>&1 | sed 's/^/#   /'
		logs "$pod" job
		P exec "$pod-job" tail -20 /var/log/dockerd.log 2>&1 | sed 's/^/#   /'
	fi
	read -r cached steps < <(cache_hits)
	if [ "$i" = 1 ]; then
		check "$pod: the first job builds from scratch" eq "$cached" 0
		# The job's containers are accounted in the node's cgroup tree (the host
		# /sys/fs/cgroup), and leave nothing there when they are removed.
		pexec "$pod" job docker run -d --name probe "$BASE_IMAGE" sleep 300
		probe=$OUT
		check "$pod: a job container's cgroup is in the node's tree" test -n "$probe" -a -d "/sys/fs/cgroup/memory/docker/$probe"
		pexec "$pod" job docker rm -f probe
		check "$pod: and is gone from it when the container is removed" test -n "$probe" -a ! -e "/sys/fs/cgroup/memory/docker/$probe"
		# The job's processes as the node sees them (host PIDs and names).
		procs=$(for p in $(P top "$pod-job" hpid 2>/dev/null | grep -Ex ' *[0-9]+ *'); do
			echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"
		done)
		check "$pod: the job's dockerd and containerd are processes of the pod" \
			test -n "$(contains "$procs" dockerd >/dev/null && contains "$procs" containerd >/dev/null && echo y)"
	else
		check "$pod: the second job builds with every layer cached ($cached of $steps steps)" eq "$cached" 4
	fi
	unplay_now "$pod"
	if [ "$i" = 1 ]; then
		left=$(printf '%s\n' "$procs" | while read -r p name; do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$name" ] && echo "$p $name"
		done)
		check "removing the job pod ends them all ($(printf '%s\n' "$procs" | awk '{print $2}' | paste -sd' '))" eq "${left:-none}" none
	fi
done
check "the node's mounts on /sys and /dev are as they were" eq "$(host_mounts)" "$host_mounts_before"
check "the node's Docker socket and exec root are untouched" eq "$(ident /var/run/docker.sock /var/run/docker.pid /var/run/docker)" "$host_docker"
check "the job's layers are on the node's disk" test -d "$cache/overlay2" -a -d "$cache/image/overlay2/layerdb"
repos=$(cat "$cache/image/overlay2/repositories.json" 2>/dev/null)
check "the images both jobs built are in the cache's image store" test -n "$(contains "$repos" '"e2e/priv:1"' >/dev/null && contains "$repos" '"e2e/priv:2"' >/dev/null && echo y)"
done_testing
