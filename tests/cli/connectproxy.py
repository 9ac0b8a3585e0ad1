#!/usr/bin/env python3
"""A tiny loopback HTTP CONNECT proxy for tests/cli/test_doctor_proxy.sh.

Listens on 127.0.0.1 (an ephemeral port, written to DIR/port), answers each CONNECT with
"200 Connection established" and relays bytes both ways until either side closes. Every
CONNECT is recorded in DIR/connects.jsonl as {"target", "proxy_authorization", "status"}.
With --require-auth USER:PASSWORD a CONNECT without that Basic credential gets 407. Anything
but CONNECT gets 405 (doctor must tunnel, never send a plain GET to the proxy).
"""
import argparse
import base64
import json
import os
import select
import socket
import socketserver
import threading

lock = threading.Lock()


def record(directory, entry):
    with lock, open(os.path.join(directory, "connects.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        conn.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(1)
            if not chunk:
                return
            head += chunk
            if len(head) > 65536:
                return
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        method = parts[0] if parts else ""
        target = parts[1] if len(parts) > 1 else ""
        auth = headers.get("proxy-authorization")
        entry = {"method": method, "target": target, "proxy_authorization": auth}
        if method != "CONNECT":
            entry["status"] = 405
            record(self.server.dir, entry)
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        want = self.server.require_auth
        if want is not None:
            expected = "Basic " + base64.b64encode(want.encode()).decode()
            if auth != expected:
                entry["status"] = 407
                record(self.server.dir, entry)
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                             b"Content-Length: 0\r\n\r\n")
                return
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError):
            entry["status"] = 502
            record(self.server.dir, entry)
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        entry["status"] = 200
        record(self.server.dir, entry)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        socks = [conn, upstream]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 10)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is conn else conn).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--require-auth")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.dir = a.dir
    srv.require_auth = a.require_auth
    tmp = os.path.join(a.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(a.dir, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
