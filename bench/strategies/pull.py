#!/usr/bin/python3
"""bench/strategies/pull.py: a registry pull over a slow link, for the Docker strategies: fresh
DinD without a mirror, fresh DinD behind `--registry-mirror auto`'s pull-through cache (its
first pull, which fills the cache, and a second one from another fresh daemon), and the leased
pool (a daemon on a data root that already holds the image).

The upstream registry is Debian's `docker-registry` (distribution) on 127.0.0.1, holding the
benchmark's gcc image (bench/strategies/images.sh: Debian bookworm + gcc, ~270 MB, ~97 MB
gzipped), pushed to it directly once. Daemons and the mirror reach it only through a link:
a relay on 127.0.0.1 that delays every byte by BENCH_LINK_DELAY_MS (default 25) in each
direction (a 50 ms round trip) and paces each direction to BENCH_LINK_MBIT (default 100)
shared by all connections. (`tc netem` would be the usual tool; this machine's kernel has no
netem qdisc, and the relay terminates TCP, so the link's round trip is charged per request,
not per congestion window: an optimistic link for large transfers.) The mirror is a second
`docker-registry` configured as deskrun renders it (REGISTRY_PROXY_REMOTEURL, the upstream
through the link), beside the daemons (no link between them). Daemons are private dockerds
(--bridge=none --iptables=false; a pull needs no container network); the mirror is only used
for Docker Hub names, so the mirrored pulls ask for `library/gcc:1`, the direct ones for
`127.0.0.1:PORT/library/gcc:1`: the same bytes.

BENCH_PULL_ROUNDS (default 3) rounds of the four cases; a new data root (and for the first
mirrored pull an empty mirror) each time. Results in BENCH_DIR/pull.json and a table, which
also replaces docs/BENCHMARKS.md's section between <!-- bench-pull:begin/end --> (not with
BENCH_DOC=0).
Needs root, dockerd, docker, docker-registry, and bench/strategies/images.sh's gcc.tar.

    sudo BENCH_DIR=/var/tmp/deskrun-bench bench/strategies/pull.py
"""
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (its write_section)

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "../.."))
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp/deskrun-bench")
ROUNDS = int(os.environ.get("BENCH_PULL_ROUNDS", "3"))
DELAY = float(os.environ.get("BENCH_LINK_DELAY_MS", "25")) / 1000
MBIT = float(os.environ.get("BENCH_LINK_MBIT", "100"))
IMAGE_TAR = os.path.join(BENCH_DIR, "images", "gcc.tar")
D = os.path.join(BENCH_DIR, "pull")
_cleanups = []


def log(*a):
    print("#", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------------------- the slow link

class Link:
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:target: each direction a shared pipe of MBIT
    with DELAY of propagation."""

    def __init__(self, target):
        self.target = target
        self.port = free_port()
        self.tx_end = {"up": 0.0, "down": 0.0}  # when each direction's pipe is free again
        self.bytes = {"up": 0, "down": 0}
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        srv = self.loop.run_until_complete(asyncio.start_server(self._conn, "127.0.0.1", self.port))
        self.srv = srv
        ready.set()
        self.loop.run_forever()

    async def _pump(self, reader, writer, way):
        q = asyncio.Queue()

        async def deliver():
            while True:
                at, data = await q.get()
                if data is None:
                    break
                wait = at - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            try:
                writer.write_eof()
            except OSError:
                pass

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                now = self.loop.time()
                start = max(now, self.tx_end[way])
                self.tx_end[way] = start + len(data) * 8 / (MBIT * 1e6)
                self.bytes[way] += len(data)
                q.put_nowait((self.tx_end[way] + DELAY, data))
                while q.qsize() > 64:  # back-pressure: ~4 MiB in flight
                    await asyncio.sleep(0.005)
        except (ConnectionError, OSError):
            pass
        q.put_nowait((0, None))
        try:
            await task
        except (ConnectionError, OSError):
            pass

    async def _conn(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(self._pump(creader, uwriter, "up"), self._pump(ureader, cwriter, "down"))
        for w in (uwriter, cwriter):
            w.close()


# ------------------------------------------------------------------------ registry, dockerd

def registry(name, port, storage, env=None):
    os.makedirs(storage, exist_ok=True)
    conf = os.path.join(D, name + ".yml")
    with open(conf, "w") as f:
        f.write("version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                "  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n" % (storage, port))
    logf = open(os.path.join(D, name + ".log"), "a")
    p = subprocess.Popen(["docker-registry", "serve", conf], stdout=logf, stderr=subprocess.STDOUT,
                         env=dict(os.environ, **(env or {})))
    _cleanups.append(lambda: stop(p))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    sys.exit("pull: %s did not start; see %s" % (name, logf.name))


def ping(sock):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(sock)
        s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
        return s.recv(64).split(b" ")[1:2] == [b"200"]
    except OSError:
        return False
    finally:
        s.close()


def dockerd(root, extra):
    sock = root + ".sock"
    bounded = os.path.realpath(os.path.join(SRC, "../shared/tools/runc-bounded"))
    rt = ["--add-runtime", "bounded=" + bounded, "--default-runtime", "bounded"] if os.access(bounded, os.X_OK) else []
    args = ["dockerd", "--data-root", root, "--exec-root", root + ".exec", "--pidfile", root + ".pid",
            "--host", "unix://" + sock, "--bridge=none", "--iptables=false", "--ip6tables=false",
            "--storage-driver=overlay2"] + rt + extra
    p = subprocess.Popen(args, stdout=open(root + ".log", "w"), stderr=subprocess.STDOUT)
    _cleanups.append(lambda: stop(p, root))
    for _ in range(1200):
        if ping(sock):
            return p, sock
        if p.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit("pull: dockerd on %s did not start; see %s.log" % (root, root))


def stop(p, root=None):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if root:
        with open("/proc/self/mounts") as f:
            ms = [l.split()[1] for l in f if l.split()[1].startswith(root)]
        for m in sorted(ms, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)


def docker(sock, *args):
    t = time.monotonic()
    r = subprocess.run(["docker", "-H", "unix://" + sock] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("pull: docker %s: %s" % (" ".join(args), r.stderr.strip()[-500:]))
    return time.monotonic() - t


def fresh_root(name):
    root = os.path.join(D, name)
    shutil.rmtree(root, ignore_errors=True)
    return root


def main():
    if os.geteuid() != 0:
        sys.exit("pull: needs root")
    for t in ("dockerd", "docker", "docker-registry"):
        if not shutil.which(t):
            sys.exit("pull: %s is not installed" % t)
    if not os.path.exists(IMAGE_TAR):
        sys.exit("pull: no %s (run bench/strategies/images.sh %s/images first)" % (IMAGE_TAR, BENCH_DIR))
    shutil.rmtree(D, ignore_errors=True)
    os.makedirs(D)
    try:
        up_port, mirror_port = free_port(), free_port()
        registry("upstream", up_port, os.path.join(D, "upstream-storage"))
        link = Link(up_port)
        # the image, pushed straight to the upstream (not through the link)
        p, sock = dockerd(fresh_root("pusher"), [])
        docker(sock, "load", "-q", "-i", IMAGE_TAR)
        ref = "127.0.0.1:%d/library/gcc:1" % up_port
        docker(sock, "tag", "localhost/deskrun-bench/gcc:1", ref)
        t = docker(sock, "push", ref)
        log("pushed the gcc image to the upstream in %.1f s" % t)
        stop(p, os.path.join(D, "pusher"))
        direct = "127.0.0.1:%d/library/gcc:1" % link.port
        insecure = ["--insecure-registry", "127.0.0.1:%d" % link.port]
        mirror_flags = ["--registry-mirror", "http://127.0.0.1:%d" % mirror_port]
        mirror_env = {"REGISTRY_PROXY_REMOTEURL": "http://127.0.0.1:%d" % link.port}
        res = {k: [] for k in ("fresh", "mirror_first", "mirror_second", "pool")}
        link_mib = {k: [] for k in res}
        pool_root = None
        load = [open("/proc/loadavg").read().split()[0]]
        for rnd in range(ROUNDS):
            # fresh DinD, no mirror: every byte over the link
            root = fresh_root("fresh")
            p, sock = dockerd(root, insecure)
            b0 = link.bytes["down"]
            res["fresh"].append(docker(sock, "pull", "-q", direct))
            link_mib["fresh"].append((link.bytes["down"] - b0) / 2**20)
            stop(p, root)
            if pool_root is None:  # the pool's slot: this data root, kept
                pool_root = os.path.join(D, "pool")
                shutil.rmtree(pool_root, ignore_errors=True)
                os.rename(root, pool_root)
            else:
                shutil.rmtree(root, ignore_errors=True)
            # the pull-through mirror, empty: its first pull fills it
            mstore = os.path.join(D, "mirror-storage")
            shutil.rmtree(mstore, ignore_errors=True)
            mp = registry("mirror", mirror_port, mstore, mirror_env)
            for case in ("mirror_first", "mirror_second"):
                root = fresh_root(case)
                p, sock = dockerd(root, mirror_flags)
                b0 = link.bytes["down"]
                res[case].append(docker(sock, "pull", "-q", "library/gcc:1"))
                link_mib[case].append((link.bytes["down"] - b0) / 2**20)
                stop(p, root)
                shutil.rmtree(root, ignore_errors=True)
            stop(mp)
            # the leased pool: a data root that holds the image already
            p, sock = dockerd(pool_root, insecure)
            b0 = link.bytes["down"]
            res["pool"].append(docker(sock, "pull", "-q", direct))
            link_mib["pool"].append((link.bytes["down"] - b0) / 2**20)
            stop(p, pool_root)
            log("round %d: fresh %.2f s, mirror first %.2f s, second %.2f s, pool %.2f s" % (
                rnd, res["fresh"][-1], res["mirror_first"][-1], res["mirror_second"][-1], res["pool"][-1]))
        load.append(open("/proc/loadavg").read().split()[0])
        out = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "rounds": ROUNDS, "delay_ms": DELAY * 1000,
               "mbit": MBIT, "image": "localhost/deskrun-bench/gcc:1", "load": load,
               "seconds": res, "link_mib": link_mib}
        with open(os.path.join(BENCH_DIR, "pull.json"), "w") as f:
            json.dump(out, f, indent=1)
        base = statistics.median(res["fresh"])
        names = {"fresh": "fresh DinD, no mirror", "mirror_first": "fresh DinD, `--registry-mirror auto`, first pull",
                 "mirror_second": "fresh DinD, `--registry-mirror auto`, second pull",
                 "pool": "leased pool (the image in the slot)"}
        L = ["%s: the gcc image (%.0f MiB gzipped over the link), a %.0f ms round trip, %.0f Mbit/s; "
             "%d rounds, medians (min..max); load average %s before, %s after:" % (
                 out["date"], statistics.median(link_mib["fresh"]), DELAY * 2000, MBIT, ROUNDS, load[0], load[1]),
             "", "| case | pull | / fresh DinD | over the link |", "|---|---|---|---|"]
        for k in res:
            m = statistics.median(res[k])
            L.append("| %s | %.2f s (%.2f..%.2f) | %.2fx | %.1f MiB |" % (
                names[k], m, min(res[k]), max(res[k]), m / base, statistics.median(link_mib[k])))
        print("\n".join(L))
        if os.environ.get("BENCH_DOC", "1") != "0":
            doc = os.path.join(SRC, "docs/BENCHMARKS.md")
            log(("wrote %s" if report.write_section(doc, "bench-pull", "\n".join(L)) else
                 "%s has no <!-- bench-pull:begin/end --> section: not written") % doc)
    finally:
        while _cleanups:
            try:
                _cleanups.pop()()
            except Exception as e:  # keep cleaning
                log("cleanup:", e)
        if os.environ.get("BENCH_PULL_KEEP") != "1":
            shutil.rmtree(D, ignore_errors=True)


if __name__ == "__main__":
    main()
