#!/usr/bin/env python3
# tests/guard/fakesession.py: a BuildKit session that serves nothing, for the guard's session
# binding rows: it opens POST /session with the given ID (upgrade to h2c), where the daemon is
# the HTTP/2 client, answers the daemon's SETTINGS, and answers every call the daemon makes
# with one message, 08 01, and grpc-status 0: to the daemon's health checks that is SERVING,
# so the session stays registered; a file transfer gets nonsense and fails.
#   fakesession.py SOCK ID SECONDS
# Prints "101" once the daemon took the session (or the status line it got), then stays
# SECONDS and exits.
import socket
import struct
import sys
import time


def frame(t, f, sid, p):
    return struct.pack('>I', len(p))[1:] + bytes([t, f]) + struct.pack('>I', sid) + p


def main():
    sock, sid_name, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(('POST /session HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n'
               'X-Docker-Expose-Session-Uuid: %s\r\nX-Docker-Expose-Session-Name: fake\r\n'
               'X-Docker-Expose-Session-Sharedkey: fake\r\n'
               'X-Docker-Expose-Session-Grpc-Method: /moby.filesync.v1.FileSync/DiffCopy\r\n'
               '\r\n' % sid_name).encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, buf = buf.partition(b'\r\n\r\n')
    line = head.split(b'\r\n')[0].decode(errors='replace')
    print('101' if line.startswith('HTTP/1.1 101') else line, flush=True)
    if not line.startswith('HTTP/1.1 101'):
        return 1
    s.sendall(frame(4, 0, 0, b''))  # the server's SETTINGS
    end = time.time() + secs
    pre = 24
    s.settimeout(0.2)
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        buf += d
        if pre and len(buf) >= pre:
            buf, pre = buf[pre:], 0
        while not pre and len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], 'big'):
            n = int.from_bytes(buf[:3], 'big')
            t, f, sid = buf[3], buf[4], int.from_bytes(buf[5:9], 'big') & 0x7fffffff
            p, buf = buf[9:9 + n], buf[9 + n:]
            if t == 4 and not f & 1:
                s.sendall(frame(4, 1, 0, b''))
            elif t == 6 and not f & 1:
                s.sendall(frame(6, 1, 0, p))
            elif t == 1:
                ct = b'\x0f\x10\x10application/grpc'  # content-type, no indexing
                s.sendall(frame(1, 4, sid, b'\x88' + ct) +
                          frame(0, 0, sid, b'\x00\x00\x00\x00\x02\x08\x01') +
                          frame(1, 5, sid, b'\x00\x0bgrpc-status\x010'))
    s.close()
    return 0


sys.exit(main())
