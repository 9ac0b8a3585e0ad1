#!/usr/bin/env python3
"""tests/pod/fake_docker.py: a stand-in Docker daemon on a unix socket, for the wait-docker and
dind-entrypoint suites.

  fake_docker.py SOCKET [--status N] [--body TEXT] [--mode http|garbage|hang] [--delay SECONDS]
      serve every request with HTTP status N (default 200) and TEXT (default "OK"); "garbage"
      answers something that is not HTTP, "hang" accepts and never answers; --delay waits that
      long before listening.
  fake_docker.py --as-dockerd [DOCKERD ARGS...]
      behave like dockerd under dind-entrypoint: listen on the first --host=unix://PATH (or
      -H PATH), put a 64 KiB file in --data-root, answer /_ping, write its arguments and open
      descriptors to $FAKE_DOCKERD_ARGS when set, and exit 0 on SIGTERM/SIGINT (status
      $FAKE_DOCKERD_EXIT if set). $FAKE_DOCKERD_DELAY: seconds to wait before listening;
      $FAKE_DOCKERD_LISTENED: a file to write the time (seconds since the epoch) it listened at.
"""
import os
import signal
import socket
import socketserver
import sys
import threading
import time


class Handler(socketserver.StreamRequestHandler):
    status = 200
    body = b"OK"
    mode = "http"

    def handle(self):
        try:
            self.answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: fine

    def answer(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        if self.mode == "hang":
            time.sleep(3600)
            return
        if self.mode == "garbage":
            self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            return
        reason = {200: "OK", 500: "Internal Server Error", 404: "Not Found"}.get(self.status, "X")
        head = "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % (
            self.status, reason, len(self.body))
        self.request.sendall(head.encode() + self.body)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = Server(path, Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def as_dockerd(args):
    host = None
    for i, a in enumerate(args):
        v = None
        if a.startswith("--host="):
            v = a[7:]
        elif a in ("--host", "-H") and i + 1 < len(args):
            v = args[i + 1]
        if v and v.startswith("unix://") and host is None:
            host = v[7:]
        if a == "--data-root" and i + 1 < len(args):
            # Something to measure: 64 KiB of layers.
            os.makedirs(args[i + 1], exist_ok=True)
            with open(os.path.join(args[i + 1], "layer"), "wb") as f:
                f.write(b"x" * 65536)
    host = host or "/var/run/docker.sock"
    out = os.environ.get("FAKE_DOCKERD_ARGS")
    if out:
        with open(out, "w") as f:
            f.write(" ".join(args) + "\n")
            f.write("fds: " + " ".join(sorted(os.listdir("/proc/self/fd"), key=int)) + "\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    time.sleep(float(os.environ.get("FAKE_DOCKERD_DELAY", "0")))
    srv = serve(host)
    listened = os.environ.get("FAKE_DOCKERD_LISTENED")
    if listened:
        with open(listened, "w") as f:
            f.write("%.6f\n" % time.time())
    while not stop.wait(0.1):
        pass
    srv.server_close()
    try:
        os.unlink(host)
    except FileNotFoundError:
        pass
    sys.exit(int(os.environ.get("FAKE_DOCKERD_EXIT", "0")))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--as-dockerd":
        as_dockerd(sys.argv[2:])
        return
    path = sys.argv[1]
    opts = sys.argv[2:]
    delay = 0.0
    for i in range(0, len(opts) - 1, 2):
        k, v = opts[i], opts[i + 1]
        if k == "--status":
            Handler.status = int(v)
        elif k == "--body":
            Handler.body = v.encode()
        elif k == "--mode":
            Handler.mode = v
        elif k == "--delay":
            delay = float(v)
    time.sleep(delay)
    serve(path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
