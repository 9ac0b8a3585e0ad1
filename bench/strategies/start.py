#!/usr/bin/python3
"""bench/strategies/start.py: where a dind pod's start goes, fresh DinD against the leased pool,
in one run.

Starts the `dind` and `pool` strategies' runner pods (what run.py starts per job: `deskrun
render NAME --runner-pod --legacy-sidecars`, `podman kube play`) BENCH_START_ROUNDS times
(default 5) each, alternating which goes first, and times each start from `podman kube play`
to the daemon's first /_ping answer, split into its phases:

  init      the pod's init containers ran (podman's start of the first container to the
            start of the dind container's process)
  entry     the dind container's process to dockerd's (for the pool: the lease and the slot's
            cleanup, said by dind-entrypoint's "dockerd answers" line; for fresh DinD the
            image's own entrypoint scripts)
  dockerd   dockerd's process to its first /_ping answer, with dockerd's own log marks:
            containerd up, containers loaded (networks included), initialization done

BENCH_START_STRATEGIES (default dind,pool-init,pool): pool-init is the pool as deskrun renders
it by default (an init container copies deskrun from the helper image into an emptyDir, so the
upstream dind image runs unchanged); pool is the pool whose dind image holds deskrun (`deskrun
image build --dind`, `add --dind-image-has-deskrun`: no init container), as run.py's pool.

Each pool's slot is warmed first by one whole job (run.py's job: images, a build, a run and a
service container), as a warm job finds it. Results go to BENCH_DIR/start.json and a table
on stdout, which also replaces docs/BENCHMARKS.md's section between
<!-- bench-start:begin/end --> (not with BENCH_DOC=0); the load average is recorded before
and after. Same requirements as run.py (BENCH_DIR, BENCH_DISK as there).

    sudo BENCH_DIR=/var/tmp/deskrun-bench bench/strategies/start.py
"""
import datetime
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (run.py: its setup, pods and helpers)
import report  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_START_ROUNDS", "5"))
STRATS = [s for s in os.environ.get("BENCH_START_STRATEGIES", "dind,pool-init,pool").split(",") if s]
HEADS = {"dind": "fresh DinD", "pool-init": "pool, init container copies deskrun (default)",
         "pool": "pool, deskrun in the dind image"}
DOCKERD_MARKS = [
    ("containerd", r"containerd successfully booted|Loading containers: start"),
    ("loaded", r"Loading containers: done"),
    ("initialized", r"Daemon has completed initialization"),
]


def rfc3339(s):
    """podman's and dockerd's times (nanoseconds, a zone) as seconds since the epoch."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?", s.strip())
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    z = m.group(3) or "Z"
    off = 0 if z == "Z" else (int(z[1:3]) * 3600 + int(z[-2:]) * 60) * (1 if z[0] == "+" else -1)
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() - off + frac


def pod_start(strategy, name):
    rec = {"strategy": strategy}
    path = R.render(strategy, name, [])
    wall0, mono0, boot0 = time.time(), R.now(), R.boottime()
    R.play(path, name)
    rec["play"] = R.now() - mono0
    dind = name + "-dind"
    pid1 = R.ctr_pid(dind)
    sock = os.path.join(R.HOSTROOT, "emptydir", name, "dind-sock/docker.sock")
    _, ready = R.wait_ping(sock, 120)
    rec["ping"] = ready - mono0
    rec["dind_process"] = R.proc_start(pid1) - boot0
    dockerds = [p for p, c in R.daemon_procs_of(pid1) if c == "dockerd"]
    if dockerds:
        rec["dockerd_process"] = R.proc_start(dockerds[0]) - boot0
    # the containers podman ran, init containers included
    r = R.podman("pod", "inspect", name, check=False)
    starts = {}
    if r.returncode == 0:
        for c in json.loads(r.stdout).get("Containers", []):
            i = R.podman("inspect", "--format", "{{.State.StartedAt}}|{{.State.FinishedAt}}",
                         c["Id"], check=False)
            if i.returncode == 0:
                st, fin = i.stdout.strip().split("|")
                short = c["Name"][len(name) + 1:] if c["Name"].startswith(name + "-") else "infra"
                t = rfc3339(st.replace(" +0000 UTC", "Z").replace(" ", "T", 1))
                starts[short] = round(t - wall0, 3) if t else None
    rec["containers"] = starts
    logs = R.podman("logs", dind, check=False)
    text = logs.stdout + logs.stderr
    m = re.search(r"dockerd answers on \S+ after ([\d.]+) s; ([\d.]+) s since the entrypoint's "
                  r"process started \(exec (\d+) ms, lease (\d+) ms, cleanup (\d+) ms, "
                  r"dockerd ([\d.]+) s\)", text)
    if m:
        rec["entrypoint"] = {"since_spawn": float(m.group(1)), "since_process": float(m.group(2)),
                             "exec_ms": int(m.group(3)), "lease_ms": int(m.group(4)),
                             "cleanup_ms": int(m.group(5)), "dockerd": float(m.group(6))}
    marks = {}
    for key, pat in DOCKERD_MARKS:
        for line in text.splitlines():
            if re.search(pat, line):
                t = re.search(r'time="([^"]+)"', line)
                if t and rfc3339(t.group(1)):
                    marks[key] = round(rfc3339(t.group(1)) - wall0, 3)
                break
    first = re.search(r'time="([^"]+)"', text)
    if first and rfc3339(first.group(1)):
        marks["first_log"] = round(rfc3339(first.group(1)) - wall0, 3)
    rec["dockerd_marks"] = marks
    rec["teardown"] = R.unplay(name, "runner")
    return rec


def warm_pool(strategy):
    """One whole job on a pool, as the jobs before a warm one leave its slot."""
    res = {"jobs": [], "ready": [], "daemon_rss_kib": [], "guard_rss_kib": []}
    R.run_job(strategy, 0, 0, res)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def table(recs):
    cols = [("kube play returns", lambda r: r["play"]),
            ("dind process", lambda r: r["dind_process"]),
            ("dockerd process", lambda r: r.get("dockerd_process")),
            ("dockerd first log", lambda r: r["dockerd_marks"].get("first_log")),
            ("containerd up", lambda r: r["dockerd_marks"].get("containerd")),
            ("containers loaded", lambda r: r["dockerd_marks"].get("loaded")),
            ("initialized", lambda r: r["dockerd_marks"].get("initialized")),
            ("first /_ping", lambda r: r["ping"]),
            ("entrypoint: exec (ms)", lambda r: r.get("entrypoint", {}).get("exec_ms")),
            ("entrypoint: lease (ms)", lambda r: r.get("entrypoint", {}).get("lease_ms")),
            ("entrypoint: cleanup (ms)", lambda r: r.get("entrypoint", {}).get("cleanup_ms"))]
    out = ["| seconds after `kube play` (median) | " + " | ".join(HEADS.get(s, s) for s in STRATS) + " |",
           "|---|" + "---|" * len(STRATS)]
    for label, f in cols:
        vals = []
        for s in STRATS:
            v = med([f(r) for r in recs if r["strategy"] == s])
            vals.append("-" if v is None else ("%d" % v if "ms" in label else "%.2f" % v))
        out.append("| %s | %s |" % (label, " | ".join(vals)))
    names = sorted({k for r in recs for k in r["containers"]})
    for n in names:
        vals = []
        for s in STRATS:
            v = med([r["containers"].get(n) for r in recs if r["strategy"] == s])
            vals.append("-" if v is None else "%.2f" % v)
        out.append("| container %s started | %s |" % (n, " | ".join(vals)))
    return "\n".join(out)


def main():
    try:
        R.setup()
        load_before = R.loadavg()
        for s in STRATS:
            if s.startswith("pool"):
                warm_pool(s)
        recs = []
        for k in range(ROUNDS):
            order = STRATS if k % 2 == 0 else STRATS[::-1]
            for s in order:
                rec = pod_start(s, "s-%s-%d" % (s, k))
                rec["round"] = k
                rec["load"] = R.loadavg()
                recs.append(rec)
                R.log("%-5s round %d: /_ping %.2f s after kube play (dind process %.2f, dockerd %.2f; load %.2f)"
                      % (s, k, rec["ping"], rec["dind_process"], rec.get("dockerd_process", -1),
                         rec["load"][0]))
        out = {"load_before": load_before, "load_after": R.loadavg(), "rounds": ROUNDS,
               "date": time.strftime("%Y-%m-%d %H:%M %Z"), "starts": recs}
        path = os.path.join(R.BENCH_DIR, "start.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
        text = ("%s, %d rounds each, load average %.2f before, %.2f after; medians, seconds after "
                "`kube play`:\n\n%s" % (out["date"], ROUNDS, load_before[0], out["load_after"][0], table(recs)))
        print(text)
        print("\n%s" % path)
        if os.environ.get("BENCH_DOC", "1") != "0":
            doc = os.path.join(R.SRC, "docs/BENCHMARKS.md")
            R.log(("wrote %s" if report.write_section(doc, "bench-start", text) else
                   "%s has no <!-- bench-start:begin/end --> section: not written") % doc)
    finally:
        R.cleanup()


if __name__ == "__main__":
    main()
