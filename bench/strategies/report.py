#!/usr/bin/python3
"""bench/strategies/report.py: tables and chart from bench/strategies/run.py's results.

  report.py RESULTS.json                       print the tables of one run (Markdown)
  report.py --doc FILE --chart PNG RESULTS...  also regenerate the section of FILE between
                                               <!-- bench-strategies:begin/end --> from every
                                               results file given (one per disk: root, then
                                               loop-ext4), and draw PNG with gnuplot

Per strategy: the cold job (the first of each run) and the warm jobs (the others), as medians
with their min..max over every run, and as ratios to the host daemon's median; the daemon's
readiness (its process start to the first /_ping answer); the peak RSS (VmHWM) of the daemon
(dockerd + its containerd) and of the guard; CPU seconds and peak memory per job from the
cgroups, by side (daemon, runner and guard) and in all, with ratios to the host daemon and to
fresh DinD; the share of the build's steps taken from the cache in warm jobs."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

NAMES = {
    "host": ("(1) host daemon", "the node's dockerd, raw socket (a docker-socket --no-guard runner pod whose runner container gets the node's socket itself: --no-guard still puts an unrestricted guard in front of it)"),
    "guard": ("(2) guard", "the same dockerd through `deskrun guard` (docker-socket)"),
    "dind": ("(3) DinD, fresh", "dind sidecar, a new emptyDir data root per job (ARC's default dind)"),
    "pool": ("(4) DinD, leased pool", "dind sidecar on a slot of deskrun's cache pool (--cache-pool 2), deskrun in its dind image (`deskrun image build --dind`, --dind-image-has-deskrun: no init container)"),
    "privileged": ("(5) privileged job", "cached-privileged-kubernetes: the job pod runs dockerd on a hostPath cache"),
}
ORDER = ["host", "guard", "dind", "pool", "privileged"]
BEGIN, END = "<!-- bench-strategies:begin -->", "<!-- bench-strategies:end -->"


def write_section(path, marker, text):
    """Replace the text between <!-- MARKER:begin --> and <!-- MARKER:end --> in the file at path
    with text (atomically: a temporary file renamed over it). False when the file lacks them.
    start.py, pull.py, kpi.py and the README's headline below write their sections with it."""
    b, e = "<!-- %s:begin -->" % marker, "<!-- %s:end -->" % marker
    with open(path) as f:
        d = f.read()
    if b not in d or e not in d:
        return False
    d = d[:d.index(b)] + b + "\n" + text + "\n" + d[d.index(e):]
    with open(path + ".tmp", "w") as f:
        f.write(d)
    os.replace(path + ".tmp", path)
    return True


def med(xs):
    return statistics.median(xs) if xs else None


def f2(x):
    return "-" if x is None else "%.2f" % x


def ratio(a, b):
    return "-" if a is None or not b else "%.2fx" % (a / b)


def mib(kib):
    return "-" if not kib else "%.0f MiB" % (kib / 1024)


def usage(jobs, key):
    """Medians of a job's cgroup numbers (run.py: cpu_s, mem_mib) by side: "daemon", "runner"
    (the runner container, plus the guard's for (2)) and "total"; None where not measured."""
    out = {}
    for part in ("daemon", "runner", "total"):
        xs = []
        for j in jobs:
            v = j.get(key) or {}
            x = v.get(part)
            if part == "runner" and v.get("guard") is not None:
                x = (x or 0) + v["guard"]
            if x is not None:
                xs.append(x)
        out[part] = med(xs)
    return out


def summarize(d):
    """Per strategy. A job's time is counted two ways: "idle" from the job's assignment to a
    runner that is already up (deskrun's default --min-runners 1: the pod, its daemon and its
    lease are ready before the job comes), and "with start" adding the pod's start and its
    daemon's readiness (--min-runners 0, or jobs coming faster than pods start)."""
    out = {}
    for s in ORDER:
        r = d["results"].get(s)
        if not r or not r["jobs"]:
            continue
        cold_j = [j for j in r["jobs"] if j["cold"]]
        warm = [j for j in r["jobs"] if not j["cold"]]
        idle = lambda js: [j["total"] - j["start"] for j in js]
        cold, wt = [j["total"] for j in cold_j], [j["total"] for j in warm]
        ci, wi = idle(cold_j), idle(warm)
        phase = {k: med([j[k] for j in warm]) for k in ("start", "pull", "build", "run_", "service")}
        phase_cold = {k: med([j[k] for j in cold_j]) for k in ("start", "pull", "build", "run_", "service")}
        cached = sum(j["cached"] for j in warm)
        steps = sum(j["cacheable"] for j in warm)
        lo = lambda xs: min(xs) if xs else None
        hi = lambda xs: max(xs) if xs else None
        out[s] = {
            "cold": med(cold), "cold_lo": lo(cold), "cold_hi": hi(cold),
            "warm": med(wt), "warm_lo": lo(wt), "warm_hi": hi(wt),
            "cold_idle": med(ci), "cold_idle_lo": lo(ci), "cold_idle_hi": hi(ci),
            "warm_idle": med(wi), "warm_idle_lo": lo(wi), "warm_idle_hi": hi(wi),
            "start": med([j["start"] for j in r["jobs"]]),
            "per_job_pod": any(j["start"] > 0 for j in r["jobs"]),
            "ready": med(r["ready"]), "ready_lo": lo(r["ready"]), "ready_hi": hi(r["ready"]),
            "rss": max(r["daemon_rss_kib"]) if r["daemon_rss_kib"] else None,
            "rss_med": med(r["daemon_rss_kib"]),
            "guard_rss": max(r["guard_rss_kib"]) if r["guard_rss_kib"] else None,
            "cached": cached, "steps": steps, "n_warm": len(wt), "n_cold": len(cold),
            "phase": phase, "phase_cold": phase_cold,
            "teardown": med([j["teardown"] for j in r["jobs"]]),
            "cpu": usage(warm, "cpu_s"), "cpu_cold": usage(cold_j, "cpu_s"),
            "mem": usage(warm, "mem_mib"), "mem_cold": usage(cold_j, "mem_mib"),
            "other": r.get("other_dockerds", []),
        }
    return out


def tables(d, heading="###"):
    S = summarize(d)
    h = S.get("host")
    L = []
    L.append("Job time with an idle runner ready (deskrun's default `--min-runners 1`), medians, "
             "ratios to (1); the last columns add the pod's start, what a job waits when no idle "
             "runner is ready:")
    L.append("")
    L.append("| strategy | warm jobs | / (1) | warm min..max | cold job | / (1) | cold min..max "
             "| pod start + daemon ready | warm jobs with the pod start | / (1) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for s in ORDER:
        if s not in S:
            continue
        x = S[s]
        ws = "%s s" % f2(x["warm"]) if x["per_job_pod"] else "-"
        L.append("| %s | %s s | %s | %s..%s | %s s | %s | %s..%s | %s | %s | %s |" % (
            NAMES[s][0], f2(x["warm_idle"]), ratio(x["warm_idle"], h and h["warm_idle"]),
            f2(x["warm_idle_lo"]), f2(x["warm_idle_hi"]), f2(x["cold_idle"]),
            ratio(x["cold_idle"], h and h["cold_idle"]), f2(x["cold_idle_lo"]), f2(x["cold_idle_hi"]),
            "%s s" % f2(x["start"]) if x["per_job_pod"] else "(before the run)", ws,
            ratio(x["warm"], h and h["warm"]) if x["per_job_pod"] else "-"))
    L.append("")
    L.append("Daemons and caches:")
    L.append("")
    L.append("| strategy | daemon ready | daemon peak RSS | guard peak RSS | warm steps from cache |")
    L.append("|---|---|---|---|---|")
    for s in ORDER:
        if s not in S:
            continue
        x = S[s]
        hit = "%d of %d (%.0f%%)" % (x["cached"], x["steps"], 100.0 * x["cached"] / x["steps"]) if x["steps"] else "-"
        rd = "%s s (%s..%s)" % (f2(x["ready"]), f2(x["ready_lo"]), f2(x["ready_hi"])) if x["ready"] is not None else "-"
        L.append("| %s | %s | %s | %s | %s |" % (NAMES[s][0], rd, mib(x["rss"]), mib(x["guard_rss"]), hit))
    if any(S[s]["cpu"]["total"] is not None for s in S):
        L.append("")
        L.append(cpu_table(S))
    L.append("")
    L.append("Median warm job by step (seconds; \"start\" is the pod's start and its daemon's "
             "readiness, \"images\" getting the two base images):")
    L.append("")
    L.append("| strategy | start | images | build | run | service | total with an idle runner | total with the pod start | teardown (not counted) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for s in ORDER:
        if s not in S:
            continue
        x = S[s]
        p = x["phase"]
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            NAMES[s][0], f2(p["start"]), f2(p["pull"]), f2(p["build"]), f2(p["run_"]), f2(p["service"]),
            f2(x["warm_idle"]), f2(x["warm"]) if x["per_job_pod"] else "-", f2(x["teardown"])))
    L.append("")
    L.append("The cold job by step:")
    L.append("")
    L.append("| strategy | start | images | build | run | service |")
    L.append("|---|---|---|---|---|---|")
    for s in ORDER:
        if s not in S:
            continue
        p = S[s]["phase_cold"]
        L.append("| %s | %s | %s | %s | %s | %s |" % (NAMES[s][0], f2(p["start"]), f2(p["pull"]),
                                                    f2(p["build"]), f2(p["run_"]), f2(p["service"])))
    return "\n".join(L), S


def cpu_table(S):
    """CPU seconds and peak memory per job from the cgroups, medians, ratios to (1) and (3)."""
    h, d3 = S.get("host"), S.get("dind")
    num = lambda x, fmt="%.2f": "-" if x is None else fmt % x
    L = ["CPU and memory per job, from the cgroups (cgroup v1 `cpuacct.usage`, "
         "`memory.max_usage_in_bytes`; medians; the daemon side is the daemon with its containers, "
         "the runner side the runner container and for (2) the guard; (3)-(5) count the pod's start "
         "in the total; memory includes page cache, except the host daemon's own, which is its peak RSS):",
         "",
         "| strategy | warm CPU s: daemon side | runner side | total | / (1) | / (3) | cold CPU s | / (3) "
         "| warm peak MiB: daemon side | total | cold peak MiB |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in ORDER:
        if s not in S:
            continue
        c, cc, m, mc = S[s]["cpu"], S[s]["cpu_cold"], S[s]["mem"], S[s]["mem_cold"]
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            NAMES[s][0], num(c["daemon"]), num(c["runner"]), num(c["total"]),
            ratio(c["total"], h and h["cpu"]["total"]), ratio(c["total"], d3 and d3["cpu"]["total"]),
            num(cc["total"]), ratio(cc["total"], d3 and d3["cpu_cold"]["total"]),
            num(m["daemon"], "%.0f"), num(m["total"], "%.0f"), num(mc["total"], "%.0f")))
    return "\n".join(L)


def targets(S):
    h, g, d3, p = (S.get(k) for k in ("host", "guard", "dind", "pool"))
    L = ["| target | measured | |", "|---|---|---|"]
    ok = lambda c: "met" if c else "**missed**"
    if h and p:
        r = p["warm_idle"] / h["warm_idle"]
        L.append("| leased DinD (4) warm jobs within 1.15x of (1), idle runner ready | %.2fx | %s |" % (r, ok(r <= 1.15)))
        r2 = p["warm"] / h["warm_idle"]
        L.append("| the same, the pod started for the job (`--min-runners 0`) | %.2fx | %s |" % (r2, ok(r2 <= 1.15)))
        if h["per_job_pod"]:
            r3 = p["warm"] / h["warm"]
            L.append("| the same, the host's runner pod started for its job too (like for like) | %.2fx | %s |" % (
                r3, ok(r3 <= 1.15)))
    if d3 and p:
        r = d3["warm_idle"] / p["warm_idle"]
        L.append("| leased DinD (4) warm jobs at least 2x faster than (3), idle runners ready | %.2fx faster | %s |" % (r, ok(r >= 2)))
        r2 = d3["warm"] / p["warm"]
        L.append("| the same, each pod started for its job | %.2fx faster | %s |" % (r2, ok(r2 >= 2)))
    if h and g:
        rw, rc = g["warm_idle"] / h["warm_idle"], g["cold_idle"] / h["cold_idle"]
        L.append("| the guard (2) within 1.05x of (1) on whole jobs | warm %.2fx, cold %.2fx | %s |" % (
            rw, rc, ok(rw <= 1.05 and rc <= 1.05)))
    return "\n".join(L)


def conditions(d):
    m = d["meta"]
    mc, di = m["machine"], m["disk_info"]
    other = [x for s in d["results"].values() for x in s.get("other_dockerds", [])]
    disk = "%s (%s, %s%s)" % (di["source"], di["fstype"], "journaled" if di["journal"] else "no journal",
                              ", a %s image file on the root disk" % di["loop_size"] if di.get("loop_size") else "")
    lines = [
        "- machine: %s, %d cores, %d MiB, %s, kernel %s; %s; %s" % (
            mc["cpu"], mc["cpus"], mc["mem_mib"], mc["os"], mc["kernel"], mc["dockerd"], mc["podman"]),
        "- disk of every data root, slot, cache and emptyDir: %s, mounted at `%s`" % (disk, di["mount"]),
        "- %s; %d runs x %d jobs per strategy (1 cold + %d warm per run), strategies in an order "
        "rotated from run to run; the run took %.0f s (images ready: %.0f s of it)" % (
            m["date"], m["runs"], m["jobs"], m["jobs"] - 1, m["wall_s"], m["images_s"]),
        "- other load: load average %.2f before, %.2f after; Docker daemons of other programs running "
        "at the start of a job: median %s, max %s%s" % (
            m["load_before"][0], m["load_after"][0], med(other) if other else 0, max(other) if other else 0,
            "" if not other or max(other) == 0 else " (the machine was shared: treat the spread accordingly)"),
    ]
    if "pool" in d["results"] and m.get("pool_delivery") != "dind-image":
        lines.append("- (4) in this run got deskrun from the helper image's init container (the run "
                     "predates `--dind-image-has-deskrun`)")
    return "\n".join(lines)


def section(results, chart_rel):
    L = [BEGIN, ""]
    L.append("""Generated by `bench/strategies/run.py` (`make bench`); edit the generator, not this section.

The same CI job runs under five ways of giving jobs Docker. The job is what a workflow's `run:`
steps do (`bench/strategies/job.sh`): build `bench/strategies/workload/Dockerfile` with the
legacy builder (a C program compiled on a Debian bookworm + gcc base, copied into a busybox
stage), `docker run` the result, start a service container on a job network and probe it
from a second container, then remove them. Every job is a new commit: it writes its own
`app/version.h`, so of the 7 steps (FROM aside) only `WORKDIR`, `COPY deps/` and
`RUN make -C deps` can come from a cache, the others follow the changed source (a warm-cache
maximum of 3 of 7, 43%). A run is 1 cold job (nothing cached, a fresh daemon, pool or cache)
then warm jobs, each in a new pod as ARC's ephemeral runners are.

| strategy | what the job talks to |
|---|---|""")
    for s in ORDER:
        L.append("| %s | %s |" % NAMES[s])
    L.append("""
A job's time is counted from the job's assignment to a runner that is up, as with deskrun's
default `--min-runners 1` (an idle runner, its daemon and its lease are ready before the job
comes): getting the two base images when the daemon lacks them (`docker load` of their gzipped
tarballs, gzipped as registry layers are: a pull without the network, so fresh DinD's real
cost is higher by the download; the guard refuses `docker load`, and a pull through it writes
to the node's daemon anyway, so the images are loaded into the daemon itself), then the job's
steps, timed inside the runner (or job) container. What a job waits for when no idle runner is
ready (`--min-runners 0`, or jobs coming faster than pods start) adds the pod's start: for (3),
(4) and (5), measured for every job, from `podman kube play` of what `deskrun render NAME
--runner-pod|--job-pod --legacy-sidecars` prints until its daemon answers `/_ping`. Every job
of (3)-(5) runs in a new pod, as ARC's ephemeral runners do. The runner pod of (1) is
started for each job too (docker-socket `--no-guard` as rendered: its externals init
container, guard and runner containers), its start counted from `kube play` to the runner
container running, the like-for-like baseline of a pod per job; that of (2) is started once
per run and not counted. No pod's removal is counted (shown as teardown). The host daemons are private dockerds started as
`tests/lib/dockerd.sh` does (own data root, exec root and socket, the same `overlay2` and
json-file logs as the rendered daemon.json), each in a network namespace of its own
(`unshare --net`) instead of with `--bridge=none --iptables=false`: a node's daemon has its
default bridge and iptables, and without them every container of (1) and (2) would skip the
veth and iptables work that the daemons of (3)-(5) do (in a run made that way, (1)'s warm
`docker run` step took 0.48 s against 0.86-0.93 s for (3)-(5)).
(5)'s job runs `dockerd` as its first step.
Readiness is from the daemon container's first process (the host dockerd's own start for (1)
and (2); for (4) that includes `deskrun dind-entrypoint` leasing and cleaning the slot) to
the first `/_ping` answer. Peak RSS is VmHWM of dockerd plus its containerd (and of the
guard), read from the host before each pod ends (for (1) and (2) when the run's jobs are
done), the largest over all runs. CPU seconds and peak memory per job come from the cgroups
(cgroup v1): a dind or job pod's containers are podman's cgroups and the daemon in them puts
its containers below its own, so the daemon container's counters are the daemon's and its
containers' (removed ones included) and the pod's cgroup adds the runner, infra and init
containers; the host daemon runs in a cpuacct cgroup of its own with its containers below it
(`--cgroup-parent`), read before and after each job, its own memory being the peak RSS of
dockerd and containerd (reset before each job) plus its containers' memory cgroup.

Reproduce (root, Debian 12; `make bench` installs what is missing, builds the images from
cached debootstraps and regenerates this section and the chart from
`bench/strategies/results-{root,loop-ext4}.json`):

```sh
make bench                                        # every benchmark; this one is bench/strategies/run.sh
BENCH_ONLY=strategies make bench                  # only this one
BENCH_ONLY=strategies BENCH_DISK=loop-ext4 make bench   # the same on a journaled ext4 loop image
```

`BENCH_RUNS` (default 2: all of `make bench` took 24 minutes here on a clean clone, 2026-12-07), `BENCH_JOBS`
(default 5) and `BENCH_STRATEGIES` (e.g. `host,pool`) change the amount of work; `BENCH_DOC=0`
leaves this file alone.
""")
    if results:
        L.append(headline(results[0]))
        L.append("")
    for i, d in enumerate(results):
        di = d["meta"]["disk_info"]
        title = ("On the root disk (%s, %s)" % (di["source"], "journaled ext4" if di["journal"] else "ext4 without a journal")
                 if d["meta"]["disk"] == "root" else
                 "On a journaled ext4 image on a loop device (`BENCH_DISK=loop-ext4`), the stand-in for a normal CI node's disk")
        L.append("### " + title)
        L.append("")
        m = d["meta"]
        env = ["BENCH_ONLY=strategies"]
        if m["runs"] != 2:
            env.append("BENCH_RUNS=%d" % m["runs"])
        if m["jobs"] != 5:
            env.append("BENCH_JOBS=%d" % m["jobs"])
        if m["disk"] != "root":
            env.append("BENCH_DISK=" + m["disk"])
        L.append("This section alone: `%s make bench`." % " ".join(env))
        L.append("")
        L.append(conditions(d))
        L.append("")
        t, S = tables(d)
        L.append(t)
        L.append("")
        L.append("Targets:")
        L.append("")
        L.append(targets(S))
        L.append("")
    L.append("![job times per strategy](%s)" % chart_rel)
    L.append("")
    L.append(END)
    return "\n".join(L)


def headline(d, md_link=None):
    """The ratios a reader wants first, from the first results (the root disk's)."""
    S = summarize(d)
    h = S.get("host")
    if not h:
        return ""
    m = d["meta"]
    L = ["Medians of %d runs x %d jobs on %s (%d cores), the %s; job time with an idle runner "
         "ready (deskrun's default), ratio to the host daemon (1)%s:" % (
             m["runs"], m["jobs"], m["machine"]["cpu"], m["machine"]["cpus"],
             "root disk" if m["disk"] == "root" else "journaled ext4 loop disk",
             " ([%s](%s) has every column and the spread)" % md_link if md_link else ""), ""]
    L.append("| strategy | warm job | / (1) | cold job | / (1) | warm, the pod started for the job | steps from cache |")
    L.append("|---|---|---|---|---|---|---|")
    for s in ORDER:
        if s not in S:
            continue
        x = S[s]
        L.append("| %s | %.2f s | %.2fx | %.2f s | %.2fx | %s | %s |" % (
            NAMES[s][0], x["warm_idle"], x["warm_idle"] / h["warm_idle"], x["cold_idle"],
            x["cold_idle"] / h["cold_idle"],
            "%.2f s (%.2fx)" % (x["warm"], x["warm"] / h["warm_idle"]) if x["per_job_pod"] else "-",
            "%d of %d" % (x["cached"], x["steps"]) if x["steps"] else "-"))
    if "dind" in S and "pool" in S:
        L.append("")
        L.append("The leased pool's warm jobs are %.2fx faster than fresh DinD's (%.2fx with each pod's "
                 "start counted)." % (S["dind"]["warm_idle"] / S["pool"]["warm_idle"],
                                      S["dind"]["warm"] / S["pool"]["warm"]))
    return "\n".join(L)


def chart(results, png):
    """Cold and warm job medians per strategy with min..max bars, one panel per disk."""
    tmp = tempfile.mkdtemp()
    panels = []
    for i, d in enumerate(results):
        S = summarize(d)
        h = S.get("host")
        dat = os.path.join(tmp, "d%d.dat" % i)
        with open(dat, "w") as f:
            for k, s in enumerate(ORDER):
                if s not in S:
                    continue
                x = S[s]
                label = NAMES[s][0].replace("(", "").replace(")", "")
                ws = (x["warm"], x["warm_lo"], x["warm_hi"]) if x["per_job_pod"] else (0, 0, 0)
                f.write('%d "%s" %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f "%s" "%s" "%s"\n' % (
                    k, label, x["cold_idle"], x["cold_idle_lo"], x["cold_idle_hi"], x["warm_idle"] or 0,
                    x["warm_idle_lo"] or 0, x["warm_idle_hi"] or 0, ws[0], ws[1] or 0, ws[2] or 0,
                    ratio(x["cold_idle"], h and h["cold_idle"]), ratio(x["warm_idle"], h and h["warm_idle"]),
                    ratio(x["warm"], h and h["warm_idle"]) if x["per_job_pod"] else ""))
        di = d["meta"]["disk_info"]
        title = ("root disk: %s, ext4 %s" % (di["source"], "journaled" if di["journal"] else "without a journal")
                 if d["meta"]["disk"] == "root" else "journaled ext4 on a loop device")
        panels.append((dat, title, d["meta"]))
    n = len(panels)
    gp = ["set terminal pngcairo size %d,560 font 'DejaVu Sans,10'" % (900 * n), "set output '%s'" % png]
    if n > 1:
        gp.append("set multiplot layout 1,%d" % n)
    for dat, title, meta in panels:
        gp += [
            "set title \"CI job time per Docker strategy (%s)\\n%d runs x %d jobs, %s; median, bars min..max; label: ratio to (1)'s warm or cold job\"" % (
                title, meta["runs"], meta["jobs"], meta["date"]),
            "set style data histogram", "set style histogram errorbars gap 2 lw 1",
            "set style fill solid 0.8 border -1", "set boxwidth 0.9", "set key top left",
            "set ylabel 'seconds per job'", "set yrange [0:*]", "set grid ytics", "set xtics scale 0",
            "set offsets 0, 0, graph 0.08, 0",
            "plot '%s' using 3:4:5:xtic(2) title 'cold job, idle runner ready' lc rgb '#c0504d', "
            "'' using 6:7:8 title 'warm jobs, idle runner ready' lc rgb '#4f81bd', "
            "'' using 9:10:11 title 'warm jobs, the pod started for the job' lc rgb '#9bbb59', "
            "'' using ($1-0.22):5:12 with labels offset 0,0.8 font ',8' notitle, "
            "'' using ($1):8:13 with labels offset 0,0.8 font ',8' notitle, "
            "'' using ($1+0.22):11:14 with labels offset 0,0.8 font ',8' notitle" % dat,
        ]
    if n > 1:
        gp.append("unset multiplot")
    script = os.path.join(tmp, "chart.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("report: gnuplot failed:\n" + r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc")
    ap.add_argument("--chart")
    ap.add_argument("--readme", help="also rewrite README's section between "
                    "<!-- bench-strategies-headline:begin/end --> with the headline table")
    ap.add_argument("results", nargs="+")
    a = ap.parse_args()
    data = [json.load(open(p)) for p in a.results]
    for d in data:
        t, S = tables(d)
        print("Docker strategies, %s disk (%s):" % (d["meta"]["disk"], d["meta"]["disk_info"]["source"]))
        print(t)
        print()
        print(targets(S))
        print()
    if a.doc:
        # every disk's results that are kept beside this script, the root disk first
        here = os.path.dirname(os.path.abspath(__file__))
        kept = []
        for disk in ("root", "loop-ext4"):
            p = os.path.join(here, "results-%s.json" % disk)
            if os.path.exists(p):
                kept.append(json.load(open(p)))
        kept = kept or data
        if a.chart:
            chart(kept, a.chart)
        rel = os.path.relpath(a.chart, os.path.dirname(a.doc)) if a.chart else "bench-strategies.png"
        with open(a.doc) as f:
            doc = f.read()
        sec = section(kept, rel)
        if BEGIN in doc and END in doc:
            doc = doc[:doc.index(BEGIN)] + sec + doc[doc.index(END) + len(END):]
        else:
            doc = doc.rstrip("\n") + "\n\n## Docker strategies side by side (bench/strategies)\n\n" + sec + "\n"
        with open(a.doc + ".tmp", "w") as f:
            f.write(doc)
        os.replace(a.doc + ".tmp", a.doc)
        print("report: wrote %s%s" % (a.doc, " and " + a.chart if a.chart else ""))
        if a.readme:
            link = os.path.relpath(a.doc, os.path.dirname(os.path.abspath(a.readme)))
            if not write_section(a.readme, "bench-strategies-headline",
                                 headline(kept[0], ("docs/BENCHMARKS.md", link))):
                sys.exit("report: %s has no <!-- bench-strategies-headline:begin/end --> section" % a.readme)
            print("report: wrote the headline into %s" % a.readme)


if __name__ == "__main__":
    main()
