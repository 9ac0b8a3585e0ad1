#!/usr/bin/python3
"""bench/strategies/kpi.py: the seed's comparison table (docs 004 of /work/shared/seeds: method x
CPU overhead, memory overhead, build speed; plus pull time and cache hit rate) with numbers
measured in one `make bench` run instead of words, and the pool's start against fresh DinD's.

Reads what this run's run.py, start.py and pull.py left in BENCH_DIR (results-DISK.json,
start.json, pull.json; a missing one leaves its columns as "-") and prints a Markdown section,
which also replaces docs/BENCHMARKS.md's section between <!-- bench-kpi:begin/end --> (not
with BENCH_DOC=0). Measures nothing itself.

    sudo BENCH_DIR=/var/tmp/deskrun-bench bench/strategies/kpi.py
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(HERE, "../.."))
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp/deskrun-bench")
DISK = os.environ.get("BENCH_DISK", "root")
sys.path.insert(0, HERE)
import report  # noqa: E402


def load(name):
    try:
        with open(os.path.join(BENCH_DIR, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def f2(x, unit=""):
    return "-" if x is None else "%.2f%s" % (x, unit)


def rt(a, b):
    return "" if a is None or not b else " (%.2fx)" % (a / b)


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return "%.2f s (%.2f..%.2f)" % (statistics.median(xs), min(xs), max(xs))


def kpi_table(res, pull):
    S = report.summarize(res)
    h = S.get("host")
    pm = {k: statistics.median(v) for k, v in (pull or {}).get("seconds", {}).items() if v}
    link = ("over a %.0f ms, %.0f Mbit/s link" % (pull["delay_ms"] * 2, pull["mbit"])) if pull else ""
    # (seed's method, strategy key, pull.py case)
    rows = [("Containerd / Docker socket bind mount", "host", None),
            ("the same through deskrun's guard", "guard", None),
            ("DinD padrão (default DinD)", "dind", "fresh"),
            ("DinD + Cache PVC (deskrun's leased pool)", "pool", "pool"),
            ("privileged job on a hostPath cache (deskrun's cached-privileged-kubernetes)", "privileged", None)]
    L = ["| method (seed 004) | deskrun strategy | CPU per warm job (/ (1)) | memory: peak per warm job "
         "(/ (1)) | build step, warm (/ (1)) | warm job, idle runner (/ (1)) | warm job, pod started for it "
         "(/ (1)) | pull of the gcc image %s (/ fresh DinD) | cache hit rate, warm build steps |" % link,
         "|---|---|---|---|---|---|---|---|---|"]
    for seed, s, pcase in rows:
        x = S.get(s)
        if not x:
            continue
        cpu, mem = x["cpu"]["total"], x["mem"]["total"]
        hc, hm = h and h["cpu"]["total"], h and h["mem"]["total"]
        b, hb = x["phase"]["build"], h and h["phase"]["build"]
        pt = pm.get(pcase) if pcase else None
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            seed, report.NAMES[s][0],
            f2(cpu, " s") + rt(cpu, hc), ("%.0f MiB" % mem if mem is not None else "-") + rt(mem, hm),
            f2(b, " s") + rt(b, hb), f2(x["warm_idle"], " s") + rt(x["warm_idle"], h and h["warm_idle"]),
            (f2(x["warm"], " s") + rt(x["warm"], h and h["warm_idle"])) if x["per_job_pod"] else "-",
            (f2(pt, " s") + rt(pt, pm.get("fresh"))) if pt is not None else "-",
            "%.0f%% (%d of %d)" % (100.0 * x["cached"] / x["steps"], x["cached"], x["steps"]) if x["steps"] else "-"))
    if "mirror_second" in pm:
        L.append("| DinD + Registry Mirror | (3) with `--registry-mirror auto` | as (3) | as (3), plus the "
                 "mirror | as (3) | - | - | first pull %.2f s (%.2fx), then %.2f s (%.2fx) | as (3) |" % (
                     pm["mirror_first"], pm["mirror_first"] / pm["fresh"], pm["mirror_second"],
                     pm["mirror_second"] / pm["fresh"]))
    L.append("| DinD + BuildKit | - | not in this benchmark (bench/buildkit measures BuildKit through "
             "the guard) | | | | | | |")
    return "\n".join(L), S


def start_table(start):
    recs = start["starts"]
    strats = [s for s in ("dind", "pool-init", "pool") if any(r["strategy"] == s for r in recs)]
    heads = {"dind": "fresh DinD", "pool-init": "pool, deskrun copied by an init container (default)",
             "pool": "pool, deskrun in the dind image (`--dind-image-has-deskrun`)"}
    base = [r["ping"] for r in recs if r["strategy"] == "dind"]
    L = ["| pod | `kube play` to the daemon's first /_ping: median (min..max) | / fresh DinD | "
         "the dind container's process to /_ping |", "|---|---|---|---|"]
    for s in strats:
        ping = [r["ping"] for r in recs if r["strategy"] == s]
        inner = [r["ping"] - r["dind_process"] for r in recs if r["strategy"] == s and r.get("dind_process")]
        L.append("| %s | %s | %s | %s |" % (
            heads[s], spread(ping),
            "%.2fx" % (statistics.median(ping) / statistics.median(base)) if base else "-",
            "%.2f s" % statistics.median(inner) if inner else "-"))
    return "\n".join(L)


def main():
    res, start, pull = load("results-%s.json" % DISK), load("start.json"), load("pull.json")
    if not res:
        sys.exit("kpi: no %s/results-%s.json (run.py first)" % (BENCH_DIR, DISK))
    m = res["meta"]
    L = ["%s, %s disk; run.py: %d runs x %d jobs per strategy, load average %.2f before, %.2f after%s%s; "
         "medians, ratios to the host daemon (1) measured in the same run:" % (
             m["date"], DISK, m["runs"], m["jobs"], m["load_before"][0], m["load_after"][0],
             "; start.py %s, %d rounds" % (start["date"], start["rounds"]) if start else "",
             "; pull.py %s, %d rounds" % (pull["date"], pull["rounds"]) if pull else ""), ""]
    t, S = kpi_table(res, pull)
    L.append(t)
    L += ["", "CPU and memory per job are the cgroup v1 counters (`cpuacct.usage`, "
          "`memory.max_usage_in_bytes`, page cache included) of the job's pod, daemon and its "
          "containers included, the pod's start too for (3)-(5); for (1) and (2) the node daemon's "
          "cgroup (dockerd, containerd, shims, containers) and the runner pod's containers, the "
          "daemon's memory as its peak RSS plus its containers' cgroup. Build step: the job's "
          "`docker build`. Pull: `pull.py`'s gcc image (94 MiB gzipped) over the relay link; the "
          "rows without a pull are node daemons or caches that keep the image after the first job, "
          "as (4) does. Cache hit rate: the warm jobs' build steps taken from the cache, of 3 "
          "cacheable in 7 (each job is a new commit)."]
    h, p = S.get("host"), S.get("pool")
    if h and p and p["per_job_pod"]:
        r = p["warm"] / h["warm_idle"]
        L += ["", "Pod-per-job warm job on the pool (its pod started for the job, `--min-runners 0`): "
              "%.2f s against the host daemon's %.2f s, **%.2fx** (target 1.15x: %s); with an idle "
              "runner ready (deskrun's default) %.2fx." % (
                  p["warm"], h["warm_idle"], r, "met" if r <= 1.15 else "missed", p["warm_idle"] / h["warm_idle"])]
        if h["per_job_pod"]:
            r3 = p["warm"] / h["warm"]
            L[-1] += (" Like for like, the host daemon's runner pod (docker-socket `--no-guard` as rendered) "
                      "started for its job too: %.2f s (its start %.2f s), the pool **%.2fx** (%s)." % (
                          h["warm"], h["start"], r3, "met" if r3 <= 1.15 else "missed"))
    if start:
        L += ["", "The pool's start against fresh DinD's (start.py, the same `make bench`, %d rounds "
              "each, alternating; load average %.2f before, %.2f after):" % (
                  start["rounds"], start["load_before"][0], start["load_after"][0]), "", start_table(start)]
    text = "\n".join(L)
    print(text)
    if os.environ.get("BENCH_DOC", "1") != "0":
        doc = os.path.join(SRC, "docs/BENCHMARKS.md")
        if not report.write_section(doc, "bench-kpi", text):
            print("kpi: %s has no <!-- bench-kpi:begin/end --> section: not written" % doc, file=sys.stderr)
            return 1
        print("kpi: wrote", doc, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
