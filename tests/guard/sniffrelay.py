#!/usr/bin/env python3
# tests/guard/sniffrelay.py: a byte relay between a client and a unix socket that writes down
# the BuildKit build IDs the client names (buildid=...), for threat rows that need the ID a
# real client chose (docker 20.10 picks a random one per build).
#   sniffrelay.py LISTEN TARGET OUTFILE
# Every connection to LISTEN is relayed to TARGET both ways, unchanged; each buildid=VALUE in
# the client's bytes is appended to OUTFILE on a line of its own.
import os
import re
import socket
import sys
import threading

listen, target, outfile = sys.argv[1], sys.argv[2], sys.argv[3]
ids = re.compile(rb'[?&]buildid=([A-Za-z0-9]+)')
lock = threading.Lock()


def pipe(src, dst, scan):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            if scan:
                for m in ids.finditer(b):
                    with lock, open(outfile, 'ab') as f:
                        f.write(m.group(1) + b'\n')
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(c):
    u = socket.socket(socket.AF_UNIX)
    u.connect(target)
    t = threading.Thread(target=pipe, args=(u, c, False), daemon=True)
    t.start()
    pipe(c, u, True)
    t.join()
    c.close()
    u.close()


if os.path.exists(listen):
    os.unlink(listen)
s = socket.socket(socket.AF_UNIX)
s.bind(listen)
s.listen(16)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
