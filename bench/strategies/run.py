#!/usr/bin/python3
"""bench/strategies/run.py: the Docker strategies side by side, on a real engine, in one run.

The same CI job (bench/strategies/job.sh on bench/strategies/workload: a two-stage build of a C
program, a `docker run` of the result, a service container started and probed on a job
network) runs BENCH_JOBS times in a row (the first cold, the others warm) under each strategy:

  host        the host's dockerd through its raw socket (a docker-socket --no-guard runner pod):
              the physical limit, every other strategy is a ratio to it
  guard       the same daemon through deskrun's guard (a docker-socket runner pod)
  dind        a dind runner pod per job with a fresh data root (ARC's default dind)
  pool        a dind runner pod per job on deskrun's leased cache pool (--cache-pool 2), its
              dind image holding deskrun (`deskrun image build --dind`,
              --dind-image-has-deskrun): no init container copies it from the helper image
              (start.py also starts `pool-init`, the pool with that init container, deskrun's
              default that keeps upstream images unchanged)
  privileged  a cached-privileged-kubernetes job pod per job, running its own dockerd on the
              node's hostPath cache

Pods are what `deskrun render NAME --runner-pod|--job-pod --legacy-sidecars` prints, made
runnable by tests/e2e/kube.py and started with `podman kube play --network none`, in a podman
store of the benchmark's own. The host daemons are private dockerds started like
tests/lib/dockerd.sh does. Every data root, slot, cache and emptyDir is on one disk: the root
filesystem (BENCH_DISK=root, default) or a journaled ext4 image on a loop device
(BENCH_DISK=loop-ext4, BENCH_LOOP_SIZE, default 24G).

A job's time is what a job pays: for dind, pool and privileged the pod's start and its daemon's
readiness, then (all strategies) getting the two base images (`docker load` of their tarballs
by the host's CLI when the daemon lacks them, a stand-in for a pull: the guard refuses `docker
load`, and a pull writes to the node's daemon anyway), then job.sh's steps as timed inside the
container. The guard's runner pod starts before the jobs (one per run, as an idle runner waits
for its job) and is not counted. The host's runner pod (docker-socket --no-guard as rendered:
its externals init container, its guard and runner containers) is started for each job
(BENCH_HOST_POD_PER_JOB=0: once per run) and its start, from `kube play` to the runner
container running, is counted as the job's start: the like-for-like baseline of a pod per job
(--min-runners 0) on every side; the jobs' times without it are the idle-runner baseline. Each job also records its CPU seconds and peak
memory from the cgroups, by side (see cgroup_dir).

BENCH_RUNS (default 2: all of `make bench` took 24 minutes on a 2-core machine, 2026-12-07)
runs, each running every strategy once in an order rotated from run to run; BENCH_JOBS
(default 5) jobs per strategy and run; BENCH_STRATEGIES (comma list) picks strategies.
Results go to BENCH_DIR (default /var/tmp/deskrun-bench)/results-DISK.json; with BENCH_DOC=1
(the default) also to bench/strategies/results-DISK.json, and the section of
docs/BENCHMARKS.md and the chart docs/bench-strategies.png are regenerated from the results
files there (report.py).

Needs root, podman, dockerd, debootstrap; DESKRUN (the built deskrun, with deskrun-static
beside it) and SRCDIR."""
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

SRC = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DESKRUN = os.environ.get("DESKRUN") or os.path.join(SRC, "build/deskrun")
STATIC = os.path.join(os.path.dirname(DESKRUN), "deskrun-static")
HERE = os.path.join(SRC, "bench/strategies")
RUNS = int(os.environ.get("BENCH_RUNS", "2"))
JOBS = int(os.environ.get("BENCH_JOBS", "5"))
DISK = os.environ.get("BENCH_DISK", "root")
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp/deskrun-bench")
LOOP_SIZE = os.environ.get("BENCH_LOOP_SIZE", "24G")
WRITE_DOC = os.environ.get("BENCH_DOC", "1") != "0"
ALL = ["host", "guard", "dind", "pool", "privileged"]
HOST_PER_JOB = os.environ.get("BENCH_HOST_POD_PER_JOB", "1") != "0"
STRATEGIES = [s for s in os.environ.get("BENCH_STRATEGIES", ",".join(ALL)).split(",") if s]

IMAGES = os.path.join(BENCH_DIR, "images")
E2E = "localhost/deskrun-e2e"
RUNNER_IMAGE, DIND_IMAGE, HELPER_IMAGE, BASE_IMAGE = (E2E + "/runner:1", E2E + "/dind:1",
                                                      E2E + "/helper:1", E2E + "/base:1")
DIND_DESKRUN_IMAGE = "localhost/deskrun-bench/dind-deskrun:1"  # DIND_IMAGE + deskrun (setup)
GCC_IMAGE = "localhost/deskrun-bench/gcc:1"
PULLS = [(GCC_IMAGE, "gcc.tar.gz"), (BASE_IMAGE, "base.tar.gz")]
SETS = {"host": "bench-host", "guard": "bench-guard", "dind": "bench-dind", "pool": "bench-pool",
        "privileged": "bench-priv", "pool-init": "bench-pool-init"}
DOCKERD_ARGS = ["--storage-driver=overlay2", "--log-driver=json-file"]
CLK_TCK = os.sysconf("SC_CLK_TCK")

DATA = HOSTROOT = STORE = None
LOOPDEV = None
_cleanups = []


def log(*a):
    print("#", *a, file=sys.stderr, flush=True)


def die(msg):
    log("bench/strategies:", msg)
    sys.exit(1)


def now():
    return time.monotonic()


def boottime():
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def sh(cmd, check=True, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    r = subprocess.run(cmd, text=True, **kw)
    if check and r.returncode != 0:
        die("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    return r


def podman(*args, check=True):
    return sh(["podman", "--root", STORE + "/root", "--runroot", STORE + "/run"] + list(args), check=check)


# ---------------------------------------------------------------------------------- processes

def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_start(pid):
    """The process's start, in CLOCK_BOOTTIME seconds (10 ms resolution)."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return int(s[s.rindex(")") + 2:].split()[19]) / CLK_TCK


def procs(pred):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
            if pred(int(d), comm):
                out.append((int(d), comm))
        except OSError:
            pass
    return out


def mntns(pid):
    try:
        return os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return None


def daemon_procs_of(ctr_pid):
    """dockerd and containerd processes in the mount namespace of a container's init."""
    ns = mntns(ctr_pid)
    return procs(lambda p, c: c in ("dockerd", "containerd") and mntns(p) == ns)


def daemon_rss(plist):
    """KiB: dockerd's VmHWM plus its containerd's (the daemon's peak, both processes)."""
    return sum(proc_status(p, "VmHWM") for p, _ in plist)


# ------------------------------------------------------------------- CPU and memory (cgroup v1)
#
# Per job: CPU seconds (cpuacct.usage) and peak memory (memory.max_usage_in_bytes: resident
# memory and page cache charged to the cgroup) of the daemon's side and of the runner's side.
# A dind or job pod's containers are podman's cgroups; dockerd in them puts its containers in
# cgroups below its own container's, and a cgroup's counters include its children's (those
# removed too), so the daemon container's numbers are the daemon's and its containers'. The
# pod's cgroup (their parent) adds the runner, the infra and the init containers. The host
# daemon runs in a cpuacct cgroup of its own with its containers below it (--cgroup-parent),
# so its CPU is counted the same way; its memory is its containers' cgroup plus the peak RSS
# (VmHWM, reset before each job through clear_refs) of dockerd and containerd, which stay in
# the memory cgroup they were started in: their page cache is not in it. On cgroup v2 (no
# cpuacct) these are left out.

def cgroup_dir(pid, ctrl):
    """The v1 cgroup directory of a process for a controller, or None."""
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if ctrl in ctrls.split(","):
                    for mnt in (ctrls, ctrl):
                        d = os.path.join("/sys/fs/cgroup", mnt, path.lstrip("/"))
                        if os.path.isdir(d):
                            return d
    except (OSError, ValueError):
        pass
    return None


def cg_int(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError, TypeError):
        return None


def cg_reset_peak(d):
    try:
        with open(os.path.join(d, "memory.max_usage_in_bytes"), "w") as f:
            f.write("0")
    except (OSError, TypeError):
        pass


def ctr_cgroups(ctr):
    """(cpuacct dir, memory dir) of a running container of ours, or (None, None)."""
    pid = ctr_pid(ctr)
    return (cgroup_dir(pid, "cpuacct"), cgroup_dir(pid, "memory")) if pid else (None, None)


def cg_sample(cpu_dir, mem_dir):
    """(CPU seconds, peak MiB) of a cgroup now."""
    u, m = cg_int(cpu_dir, "cpuacct.usage"), cg_int(mem_dir, "memory.max_usage_in_bytes")
    return (None if u is None else u / 1e9, None if m is None else m / 2**20)


def reset_hwm(pid):
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass


# ----------------------------------------------------------------------------------- the API

def http(sock, method, path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall(("%s %s HTTP/1.0\r\nHost: docker\r\n\r\n" % (method, path)).encode())
        head = s.recv(64)
        return int(head.split()[1]) if head.startswith(b"HTTP/") else 0
    finally:
        s.close()


def wait_ping(sock, timeout=120.0, interval=0.005):
    """Poll /_ping until it answers 200; returns the CLOCK_BOOTTIME and monotonic of that answer."""
    end = now() + timeout
    while now() < end:
        try:
            if http(sock, "GET", "/_ping", timeout=2.0) == 200:
                return boottime(), now()
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(sock)


def pull(sock):
    """The job's base images: loaded from their tarballs when the daemon lacks them."""
    for image, tar in PULLS:
        if http(sock, "GET", "/images/%s/json" % image.replace("/", "%2F")) != 200:
            sh(["docker", "-H", "unix://" + sock, "load", "-q", "-i", os.path.join(IMAGES, tar)])


# ----------------------------------------------------------------------------- host dockerd

class HostDaemon:
    """A private dockerd like tests/lib/dockerd.sh starts (own data root, exec root, pidfile and
    socket, runc-bounded as the default runtime where it exists), but in a network namespace of
    its own, so that it keeps a node daemon's default bridge and iptables without touching the
    host's network: with --bridge=none its containers would get no network at all and skip the
    veth and iptables work every other strategy's daemon does for each container."""

    def __init__(self, name):
        self.dir = os.path.join(DATA, "daemons", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "docker.sock")
        rt = []
        bounded = os.path.realpath(os.path.join(SRC, "../shared/tools/runc-bounded"))
        if os.access(bounded, os.X_OK):
            rt = ["--add-runtime", "bounded=" + bounded, "--default-runtime", "bounded"]
        # To count its CPU: the daemon and everything it starts (containerd, shims, runc) in a
        # cpuacct cgroup of its own, its containers below it (--cgroup-parent, made by runc in
        # every controller).
        self.cgroup = "/deskrun-bench-%d-%s" % (os.getpid(), name)
        cpu_cg = self.cg("cpuacct", "")
        try:
            os.makedirs(cpu_cg, exist_ok=True)
        except OSError:
            cpu_cg = None
        args = ["unshare", "--net", "--", "dockerd", "--data-root", self.dir + "/data",
                "--exec-root", self.dir + "/exec", "--pidfile", self.dir + "/pid",
                "--host", "unix://" + self.sock, "--cgroup-parent", self.cgroup + "/containers"] + DOCKERD_ARGS + rt

        def enter():
            if cpu_cg:
                with open(os.path.join(cpu_cg, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
        self.log = open(self.dir + ".log", "w")
        t0 = boottime()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=enter)
        _cleanups.append(self.stop)
        try:
            ready, _ = wait_ping(self.sock, 60)
        except TimeoutError:
            die("host dockerd did not start; see %s.log" % self.dir)
        self.ready = ready - max(t0, proc_start(self.proc.pid))

    def daemon_pids(self):
        pid = self.proc.pid
        return [pid] + [p for p, _ in procs(lambda p, c: c == "containerd" and proc_ppid(p) == pid)]

    def rss(self):
        return daemon_rss([(p, "") for p in self.daemon_pids()])

    def cg(self, ctrl, sub="containers"):
        return os.path.join("/sys/fs/cgroup", ctrl, self.cgroup.lstrip("/"), sub)

    def job_begin(self):
        """Reset the peaks; the CPU counter so far."""
        for p in self.daemon_pids():
            reset_hwm(p)
        cg_reset_peak(self.cg("memory"))
        return cg_int(self.cg("cpuacct", ""), "cpuacct.usage")

    def job_end(self, begin):
        """(CPU seconds, peak MiB) of the daemon's side since job_begin: the daemon's cpuacct
        cgroup (dockerd, containerd, shims, runc, containers); the peak RSS of dockerd and
        containerd plus the containers' memory cgroup."""
        u = cg_int(self.cg("cpuacct", ""), "cpuacct.usage")
        cpu = None if u is None or begin is None else (u - begin) / 1e9
        peak = self.rss() / 1024 + (cg_int(self.cg("memory"), "memory.max_usage_in_bytes") or 0) / 2**20
        return cpu, peak

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.terminate()  # its network namespace, bridges included, goes with it
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        umount_under(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        for ctrl in os.listdir("/sys/fs/cgroup"):
            d = self.cg(ctrl, "")
            if os.path.isdir(d):
                for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
                    try:
                        os.rmdir(sub)
                    except OSError:
                        pass


def proc_ppid(pid):
    return proc_status(pid, "PPid")


def umount_under(path):
    with open("/proc/self/mounts") as f:
        mounts = [l.split()[1] for l in f if l.split()[1].startswith(path + "/")]
    for m in sorted(mounts, reverse=True):
        sh(["umount", "-l", m], check=False)


# ----------------------------------------------------------------------------------- pods

def render(strategy, pod, extra):
    name = SETS[strategy]
    kind = "--job-pod" if strategy == "privileged" else "--runner-pod"
    r = sh([DESKRUN, "render", name, kind, "--legacy-sidecars"])
    kargs = ["--hostroot", HOSTROOT, "--name", pod] + extra
    if kind == "--runner-pod":
        kargs += ["--sleep", "runner"]
    k = sh(["/usr/bin/python3", os.path.join(SRC, "tests/e2e/kube.py")] + kargs, input=r.stdout)
    spec = json.loads(k.stdout)
    if strategy == "host":
        # docker-socket --no-guard still puts an unrestricted guard in front of the node's
        # socket (it maps the runner's folders); the physical limit is the raw socket: the
        # runner container gets the node's socket itself.
        for c in spec["spec"]["containers"]:
            if c["name"] == "runner":
                c["volumeMounts"].append({"name": "docker-sock", "mountPath": "/var/run/docker.sock"})
                for e in c["env"]:
                    if e["name"] == "DOCKER_HOST":
                        e["value"] = "unix:///var/run/docker.sock"
    if strategy == "privileged":
        # The job's first step starts its own dockerd (the job pod of this mode is privileged
        # for that); a TERM to the pod stops it cleanly, as a post step would.
        for c in spec["spec"]["containers"]:
            if c["name"] == "job":
                c["command"] = ["/bin/sh", "-c",
                                "dockerd --host=unix:///var/run/docker.sock %s >/__w/dockerd.log 2>&1 & "
                                "d=$!; trap 'kill -TERM $d; wait $d' TERM; wait $d" % " ".join(DOCKERD_ARGS)]
    path = os.path.join(DATA, "pods", pod + ".json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def play(path, pod):
    _cleanups.append(lambda: podman("pod", "rm", "-f", "-t", "5", pod, check=False))
    podman("kube", "play", "--network", "none", path)


def wait_running(ctr, timeout):
    """Until podman says the container runs (kube play returns once it started it: this is the
    check, not a wait, unless podman changes that)."""
    end = now() + timeout
    while now() < end:
        r = podman("inspect", "--format", "{{.State.Running}}", ctr, check=False)
        if r.stdout.strip() == "true":
            return
        time.sleep(0.005)
    die("%s never ran" % ctr)


def ctr_pid(ctr):
    r = podman("inspect", "--format", "{{.State.Pid}}", ctr, check=False)
    return int(r.stdout.strip() or 0) if r.returncode == 0 else 0


def unplay(pod, sleeper):
    # The runner container only sleeps (no GitHub here) and ignores TERM as pid 1: kill it, then
    # stop the pod as the kubelet does (TERM, then KILL after a grace period), so the guard
    # cleans up and the daemons shut down.
    if sleeper:
        podman("stop", "-t", "0", pod + "-" + sleeper, check=False)
    t = now()
    podman("pod", "rm", "-f", "-t", "10", pod, check=False)
    t_rm = now() - t
    for d in [os.path.join(HOSTROOT, kind, pod) for kind in ("emptydir", "configMap", "secret")] + [pods_dir(pod)]:
        umount_under(d)
        shutil.rmtree(d, ignore_errors=True)
    return t_rm


def pods_dir(pod):
    """The socket modes' per-pod folder on the node (<cache-root>/pods/POD: the runner's work
    folder, externals and the guard's socket, mounted with subPathExpr)."""
    return os.path.join(HOSTROOT, "node/var/lib/deskrun/cache/pods", pod)


def prepare_work(pod, version, sub, socket_mode=False):
    """The job's checkout in the pod's work folder (an emptyDir, or the socket modes' folder on
    the node): the workload, this job's version.h, job.sh."""
    work = os.path.join(pods_dir(pod), "work") if socket_mode else os.path.join(HOSTROOT, "emptydir", pod, "work")
    ctx = os.path.join(work, sub)
    shutil.copytree(os.path.join(HERE, "workload"), ctx)
    with open(os.path.join(ctx, "app/version.h"), "w") as f:
        f.write('#define VERSION "%s"\n' % version)
    shutil.copy(os.path.join(HERE, "job.sh"), os.path.join(work, "job.sh"))
    return ctx


def build_hits(ctx):
    """(steps from the cache, cacheable steps) of the job's build: the Dockerfile's steps but
    FROM; the LABEL steps the guard has the builder add (its ownership labels) are left out."""
    with open(os.path.join(ctx, "build.log")) as f:
        out = f.read()
    cached = steps = 0
    for block in re.split(r"^Step \d+/\d+ : ", out, flags=re.M)[1:]:
        if block.startswith(("FROM ", "LABEL ")):
            continue
        steps += 1
        cached += "---> Using cache" in block
    return cached, steps


# ------------------------------------------------------------------------------- one job

def pod_extra(strategy, host):
    if strategy in ("host", "guard"):
        return ["--map", "/var/run/docker.sock=" + host.sock]
    if strategy == "privileged":
        # The node's /sys and cgroups as rendered; podman cannot honour a host /proc (hostPID is
        # ignored) and gives a privileged container the host's devices itself.
        return ["--map", "/sys=/sys", "--drop-mount", "/proc", "--drop-mount", "/dev",
                "--drop-mount", "/dev/pts", "--drop-mount", "/dev/shm"]
    return []


def run_job(strategy, run, j, res, host=None, runner_pod=None, pod_start=0.0):
    """One job. The socket strategies run theirs in a runner pod started by the caller
    (runner_pod; pod_start is its start when it was started for this job, 0 for the run's idle
    runner); the others start a pod per job here and count it."""
    set_name = SETS[strategy]
    version = "r%d-j%d" % (run, j)
    container = "job" if strategy == "privileged" else "runner"
    workdir = "/__w" if strategy == "privileged" else "/home/runner/_work"
    rec = {"run": run, "job": j, "cold": j == 0}
    if runner_pod:
        pod = runner_pod
        ctx = prepare_work(pod, version, "ctx-j%d" % j, socket_mode=True)
        sock = host.sock
        rec["start"] = pod_start
    else:
        pod = "b-%s-%s" % (strategy, version)
        path = render(strategy, pod, pod_extra(strategy, host))
        ctx = prepare_work(pod, version, "ctx")
        t0 = now()
        play(path, pod)
        daemon_ctr = pod + ("-job" if strategy == "privileged" else "-dind")
        pid1 = ctr_pid(daemon_ctr)
        if strategy == "privileged":
            sock = "/proc/%d/root/run/docker.sock" % pid1  # /var/run is a link to /run
        else:
            sock = os.path.join(HOSTROOT, "emptydir", pod, "dind-sock/docker.sock")
        try:
            ready_boot, ready_mono = wait_ping(sock, 120)
        except TimeoutError:
            sh(["sh", "-c", "podman --root %s --runroot %s logs %s | tail -20 >&2" % (
                STORE + "/root", STORE + "/run", daemon_ctr)], check=False)
            die("%s: the daemon never answered" % pod)
        rec["start"] = ready_mono - t0
        rec["ready"] = ready_boot - proc_start(pid1)
        dockerds = [p for p, c in daemon_procs_of(pid1) if c == "dockerd"]
        if dockerds:
            rec["ready_dockerd"] = ready_boot - proc_start(dockerds[0])
    side = {}  # the persistent runner pod's containers: their counters before the job
    if runner_pod:
        begin = host.job_begin()
        for part in ("runner", "guard"):
            cpu_dir, mem_dir = ctr_cgroups(runner_pod + "-" + part)
            if cpu_dir:
                cg_reset_peak(mem_dir)
                side[part] = (cpu_dir, mem_dir, cg_int(cpu_dir, "cpuacct.usage") or 0)
    t = now()
    pull(sock)
    rec["pull"] = now() - t
    r = podman("exec", pod + "-" + container, "sh", workdir + "/job.sh",
               workdir + "/" + os.path.basename(ctx), "%s/app:%s" % (set_name, version),
               "%s-%s" % (set_name, version), BASE_IMAGE, check=False)
    if r.returncode != 0:
        die("%s: the job failed:\n%s%s" % (pod, r.stdout[-2000:], r.stderr[-2000:]))
    m = re.search(r"build (\d+) run (\d+) service (\d+)", r.stdout)
    rec["build"], rec["run_"], rec["service"] = (int(x) / 1e9 for x in m.groups())
    rec["total"] = rec["start"] + rec["pull"] + rec["build"] + rec["run_"] + rec["service"]
    rec["cached"], rec["cacheable"] = build_hits(ctx)
    # CPU seconds and peak MiB of the job (see cgroup_dir), by side and in all
    cpu, mem = {}, {}
    if runner_pod:
        cpu["daemon"], mem["daemon"] = host.job_end(begin)
        for part, (cpu_dir, mem_dir, u0) in side.items():
            u = cg_int(cpu_dir, "cpuacct.usage")
            cpu[part] = None if u is None else (u - u0) / 1e9
            mem[part] = cg_sample(None, mem_dir)[1]
        cpu["total"] = sum(v for v in cpu.values() if v is not None)
        mem["total"] = sum(v for v in mem.values() if v is not None)  # a sum of peaks
    else:
        cpu_dir, mem_dir = ctr_cgroups(daemon_ctr)
        if cpu_dir:
            cpu["daemon"], mem["daemon"] = cg_sample(cpu_dir, mem_dir)
            cpu["total"], mem["total"] = cg_sample(os.path.dirname(cpu_dir), os.path.dirname(mem_dir))
        if strategy != "privileged":
            cpu["runner"], mem["runner"] = cg_sample(*ctr_cgroups(pod + "-runner"))
    rec["cpu_s"], rec["mem_mib"] = cpu, mem
    rec["teardown"] = 0.0
    if not runner_pod:
        res["daemon_rss_kib"].append(daemon_rss(daemon_procs_of(pid1)))
        res["ready"].append(rec["ready"])
        t = now()
        rec["teardown_pod"] = unplay(pod, None if strategy == "privileged" else "runner")
        rec["teardown"] = now() - t
    res["jobs"].append(rec)
    log("%-10s run %d job %d: %5.2f s (start %.2f, images %.2f, build %.2f, run %.2f, service %.2f; "
        "%d/%d steps cached; teardown %.2f, pod %.2f; CPU %s s, peak %s MiB)" % (
            strategy, run, j, rec["total"], rec["start"], rec["pull"], rec["build"], rec["run_"],
            rec["service"], rec["cached"], rec["cacheable"], rec["teardown"], rec.get("teardown_pod", 0),
            "%.2f" % cpu["total"] if cpu.get("total") is not None else "?",
            "%.0f" % mem["total"] if mem.get("total") is not None else "?"))


def run_strategy(strategy, run, res):
    # Every run starts cold: a fresh node daemon, pool or cache.
    node = os.path.join(HOSTROOT, "node/var/lib/deskrun/cache")
    for d in ("pool/" + SETS[strategy], SETS[strategy], "guard/" + SETS[strategy]):
        umount_under(os.path.join(node, d))
        shutil.rmtree(os.path.join(node, d), ignore_errors=True)
    host = runner_pod = None
    per_job = strategy == "host" and HOST_PER_JOB
    if strategy in ("host", "guard"):
        host = HostDaemon("%s-r%d" % (strategy, run))
        res["ready"].append(host.ready)
    if strategy in ("host", "guard") and not per_job:
        # The run's runner pod, up before its jobs as ARC's idle runners are (not counted).
        runner_pod = "b-%s-r%d" % (strategy, run)
        play(render(strategy, runner_pod, pod_extra(strategy, host)), runner_pod)
        wait_ping(host.sock if strategy == "host" else
                  os.path.join(pods_dir(runner_pod), "run/docker.sock"), 60)
    try:
        for j in range(JOBS):
            other_load(res)
            if per_job:
                # The host daemon with a runner pod started for the job: its start is the
                # job's, as the dind pods' are (the daemon itself is up, as a node's is).
                pod = "b-%s-r%d-j%d" % (strategy, run, j)
                path = render(strategy, pod, pod_extra(strategy, host))
                t0 = now()
                play(path, pod)
                wait_running(pod + "-runner", 60)
                start = now() - t0
                try:
                    run_job(strategy, run, j, res, host, pod, start)
                finally:
                    t = now()
                    t_rm = unplay(pod, "runner")
                    if res["jobs"]:
                        res["jobs"][-1].update(teardown_pod=t_rm, teardown=now() - t)
            else:
                run_job(strategy, run, j, res, host, runner_pod)
    finally:
        if runner_pod:
            if strategy == "guard":
                res["guard_rss_kib"].append(proc_status(ctr_pid(runner_pod + "-guard"), "VmHWM"))
            unplay(runner_pod, "runner")
        if host:
            res["daemon_rss_kib"].append(host.rss())
            host.stop()


def other_load(res):
    """Other Docker daemons on the machine (not this benchmark's) at the start of a job."""
    mine = set()
    for p, c in procs(lambda p, c: c in ("dockerd", "conmon")):
        try:
            with open("/proc/%d/cmdline" % p) as f:
                cmd = f.read()
        except OSError:
            continue
        if DATA in cmd or STORE in cmd:
            mine.add(p)
    others = 0
    for p, c in procs(lambda p, c: c == "dockerd"):
        if p in mine:
            continue
        # a dockerd inside one of our pods is a child of one of our conmons' containers
        q, ours = p, False
        for _ in range(8):
            q = proc_ppid(q)
            if q in mine:
                ours = True
                break
            if q <= 1:
                break
        others += 0 if ours else 1
    res.setdefault("other_dockerds", []).append(others)


# -------------------------------------------------------------------------------- setup

def setup_disk():
    global DATA, LOOPDEV
    if DISK == "root":
        DATA = os.path.join(BENCH_DIR, "data")
    elif DISK == "loop-ext4":
        DATA = os.path.join(BENCH_DIR, "loop")
        img = os.path.join(BENCH_DIR, "ext4.img")
        os.makedirs(DATA, exist_ok=True)
        umount_under(os.path.dirname(DATA) + "/loop")
        sh(["umount", DATA], check=False)
        if os.path.exists(img):
            os.unlink(img)
        sh(["truncate", "-s", LOOP_SIZE, img])
        sh(["mkfs.ext4", "-q", "-F", "-J", "size=128", img])
        LOOPDEV = sh(["losetup", "-f", "--show", img]).stdout.strip()
        sh(["mount", LOOPDEV, DATA])

        def unloop():
            umount_under(DATA)
            sh(["umount", "-l", DATA], check=False)
            sh(["losetup", "-d", LOOPDEV], check=False)
            os.unlink(img)
        _cleanups.append(unloop)
    else:
        die("BENCH_DISK is root or loop-ext4, not %r" % DISK)
    if os.path.isdir(DATA):
        umount_under(DATA)
        for e in os.listdir(DATA):
            if e != "lost+found":
                p = os.path.join(DATA, e)
                if e == "podman" and os.path.isdir(p):
                    sh(["podman", "--root", p + "/root", "--runroot", p + "/run", "pod", "rm", "-a", "-f", "-t", "0"], check=False)
                    sh(["podman", "--root", p + "/root", "--runroot", p + "/run", "system", "reset", "-f"], check=False)
                    umount_under(p)
                shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)
    os.makedirs(DATA, exist_ok=True)


def disk_info():
    st = os.stat(DATA)
    dev = "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    src = fstype = opts = "?"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if parts[2] == dev:
                sep = parts.index("-")
                src, fstype, opts = parts[sep + 2], parts[sep + 1], parts[5]
    name = os.path.basename(src)
    journal = os.path.isdir("/proc/fs/jbd2/%s-8" % name)
    return {"source": src, "fstype": fstype, "journal": journal, "mount": DATA,
            "options": opts, "loop_size": LOOP_SIZE if DISK == "loop-ext4" else None}


def setup():
    global HOSTROOT, STORE
    if os.geteuid() != 0:
        die("needs root")
    for tool in ("podman", "dockerd", "docker", "debootstrap"):
        if not shutil.which(tool):
            die("%s is not installed" % tool)
    if not os.access(STATIC, os.X_OK):
        die("no %s (a sanitizer build does not link it)" % STATIC)
    os.makedirs(BENCH_DIR, exist_ok=True)
    t = now()
    sh([os.path.join(HERE, "images.sh"), IMAGES], stdout=None, stderr=None,
       env=dict(os.environ, DESKRUN=DESKRUN, DESKRUN_STATIC=STATIC))
    images_s = now() - t
    setup_disk()
    HOSTROOT = os.path.join(DATA, "host")
    STORE = os.path.join(DATA, "podman")
    for d in (HOSTROOT, STORE, os.path.join(DATA, "pods"), os.path.join(DATA, "daemons")):
        os.makedirs(d, exist_ok=True)
    conf = os.path.join(DATA, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]\n'
                '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    os.environ["CONTAINERS_CONF"] = conf
    t = now()
    for i in ("runner", "dind", "helper"):
        podman("load", "-q", "-i", os.path.join(IMAGES, i + ".tar"))
    # The pool's dind image with deskrun in it, built by deskrun into this store.
    pbin = os.path.join(DATA, "bin")
    os.makedirs(pbin, exist_ok=True)
    with open(os.path.join(pbin, "podman"), "w") as f:
        f.write('#!/bin/sh\nexec %s --root %s/root --runroot %s/run "$@"\n'
                % (shutil.which("podman"), STORE, STORE))
    os.chmod(os.path.join(pbin, "podman"), 0o755)
    sh([DESKRUN, "image", "build", "--dind", "--engine", "podman", "--from", DIND_IMAGE,
        "--binary", STATIC, "--tag", DIND_DESKRUN_IMAGE],
       env=dict(os.environ, PATH=pbin + ":" + os.environ.get("PATH", "/usr/bin:/bin")))
    load_s = now() - t
    os.environ["DESKRUN_CONFIG"] = os.path.join(DATA, "config.json")
    pat = os.path.join(DATA, "pat")
    with open(pat, "w") as f:
        f.write("ghp_bench\n")
    os.chmod(pat, 0o600)
    common = ["--repository", "https://github.com/o/r", "--auth-value-file", pat,
              "--runner-image", RUNNER_IMAGE, "--helper-image", HELPER_IMAGE]
    adds = {
        "host": ["--mode", "docker-socket", "--no-guard"],
        "guard": ["--mode", "docker-socket", "--guard-image", HELPER_IMAGE],
        "dind": ["--mode", "dind", "--dind-image", DIND_IMAGE],
        "pool": ["--mode", "dind", "--cache-pool", "2", "--dind-image", DIND_DESKRUN_IMAGE,
                 "--dind-image-has-deskrun"],
        "pool-init": ["--mode", "dind", "--cache-pool", "2", "--dind-image", DIND_IMAGE],
        "privileged": ["--mode", "cached-privileged-kubernetes", "--cache", "/var/lib/docker"],
    }
    for s in adds:
        sh([DESKRUN, "add", SETS[s]] + adds[s] + common)
    return images_s, load_s


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    osr = {}
    with open("/etc/os-release") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            osr[k] = v.strip('"')
    ver = lambda cmd: sh(cmd, check=False).stdout.strip().splitlines()[0] if sh(cmd, check=False).stdout.strip() else "?"
    return {"cpus": os.cpu_count(), "cpu": cpu, "mem_mib": mem, "kernel": platform.release(),
            "os": osr.get("PRETTY_NAME", "?"), "dockerd": ver(["dockerd", "--version"]),
            "podman": ver(["podman", "--version"]), "docker_cli_host": ver(["docker", "--version"])}


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def cleanup(*_):
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep cleaning
            log("cleanup:", e)


def main():
    for s in STRATEGIES:
        if s not in ALL:
            die("unknown strategy %r (BENCH_STRATEGIES: %s)" % (s, ",".join(ALL)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wall0 = now()
    try:
        images_s, load_s = setup()
        meta = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "runs": RUNS, "jobs": JOBS,
                "disk": DISK, "disk_info": disk_info(), "machine": machine(),
                "load_before": loadavg(), "images_s": images_s, "podman_load_s": load_s,
                "strategies": STRATEGIES, "pool_delivery": "dind-image"}
        results = {s: {"jobs": [], "ready": [], "daemon_rss_kib": [], "guard_rss_kib": []} for s in STRATEGIES}
        log("bench/strategies: %d runs x %d jobs of %s on %s (%s)" % (
            RUNS, JOBS, ",".join(STRATEGIES), DATA, meta["disk_info"]["source"]))
        for run in range(1, RUNS + 1):
            k = (run - 1) % len(STRATEGIES)
            for s in STRATEGIES[k:] + STRATEGIES[:k]:
                run_strategy(s, run, results[s])
        meta["load_after"] = loadavg()
        meta["wall_s"] = now() - wall0
        out = {"meta": meta, "results": results}
        path = os.path.join(BENCH_DIR, "results-%s.json" % DISK)
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
        log("results in", path)
    finally:
        cleanup()
    report = [sys.executable, os.path.join(HERE, "report.py")]
    if WRITE_DOC:
        shutil.copy(path, os.path.join(HERE, "results-%s.json" % DISK))
        report += ["--doc", os.path.join(SRC, "docs/BENCHMARKS.md"),
                   "--chart", os.path.join(SRC, "docs/bench-strategies.png"),
                   "--readme", os.path.join(SRC, "README.md")]
    r = subprocess.run(report + [path])
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
