#!/usr/bin/env python3
# tests/guard/h2call.py: raw gRPC calls on Docker's BuildKit tunnel (POST /grpc, then h2c),
# for the guard's BuildKit threat rows, where no real client would send what is tested.
#   h2call.py SOCK PATH[=HEXMSG]...
# Upgrades one connection, then opens one stream per argument, in order (1, 3, 5...), each a
# gRPC request for PATH with one message (HEXMSG, hex of the protobuf; empty when absent).
# Header fields are sent as HPACK literals with incremental indexing, and a field already in
# the dynamic table by its index: a later stream refers to entries an earlier one inserted,
# so a middlebox that dropped an earlier block without keeping the table would corrupt it.
# Prints one line per stream once the server ended it, or at the 10 s deadline:
#   stream N: status=S grpc-status=G data=BYTES rst=CODE grpc-message=M
# (a field the server Huffman-coded is not seen, so its value stays empty; the guard's own
# answers never are).
import socket
import struct
import sys
import time
import urllib.parse

STATIC = [None, (':authority', ''), (':method', 'GET'), (':method', 'POST'), (':path', '/'),
          (':path', '/index.html'), (':scheme', 'http'), (':scheme', 'https'), (':status', '200'),
          (':status', '204'), (':status', '206'), (':status', '304'), (':status', '400'),
          (':status', '404'), (':status', '500'), ('accept-charset', ''),
          ('accept-encoding', 'gzip, deflate'), ('accept-language', ''), ('accept-ranges', ''),
          ('accept', ''), ('access-control-allow-origin', ''), ('age', ''), ('allow', ''),
          ('authorization', ''), ('cache-control', ''), ('content-disposition', ''),
          ('content-encoding', ''), ('content-language', ''), ('content-length', ''),
          ('content-location', ''), ('content-range', ''), ('content-type', ''), ('cookie', ''),
          ('date', ''), ('etag', ''), ('expect', ''), ('expires', ''), ('from', ''), ('host', ''),
          ('if-match', ''), ('if-modified-since', ''), ('if-none-match', ''), ('if-range', ''),
          ('if-unmodified-since', ''), ('last-modified', ''), ('link', ''), ('location', ''),
          ('max-forwards', ''), ('proxy-authenticate', ''), ('proxy-authorization', ''),
          ('range', ''), ('referer', ''), ('refresh', ''), ('retry-after', ''), ('server', ''),
          ('set-cookie', ''), ('strict-transport-security', ''), ('transfer-encoding', ''),
          ('user-agent', ''), ('vary', ''), ('via', ''), ('www-authenticate', '')]


def hint(v, prefix, hi):
    lim = (1 << prefix) - 1
    if v < lim:
        return bytes([hi | v])
    out = [hi | lim]
    v -= lim
    while v >= 128:
        out.append(v % 128 + 128)
        v //= 128
    out.append(v)
    return bytes(out)


def hstr(s):
    b = s.encode()
    return hint(len(b), 7, 0) + b


class Encoder:
    def __init__(self):
        self.dyn = []  # newest first

    def block(self, fields):
        out = b''
        for n, v in fields:
            if (n, v) in self.dyn:
                out += hint(62 + self.dyn.index((n, v)), 7, 0x80)
            else:
                out += b'\x40' + hstr(n) + hstr(v)
                self.dyn.insert(0, (n, v))
        return out


class Decoder:
    def __init__(self):
        self.dyn = []

    def int_(self, b, i, prefix):
        lim = (1 << prefix) - 1
        v = b[i] & lim
        i += 1
        if v < lim:
            return v, i
        m = 0
        while True:
            c = b[i]
            i += 1
            v += (c & 127) << m
            m += 7
            if not c & 128:
                return v, i

    def str_(self, b, i):
        huff = b[i] & 0x80
        n, i = self.int_(b, i, 7)
        s = b[i:i + n]
        return ('?' if huff else s.decode('latin-1')), i + n

    def entry(self, idx):
        return STATIC[idx] if idx < len(STATIC) else self.dyn[idx - len(STATIC)]

    def decode(self, b):
        i, out = 0, []
        while i < len(b):
            c = b[i]
            if c & 0x80:
                idx, i = self.int_(b, i, 7)
                out.append(self.entry(idx))
            elif c & 0xe0 == 0x20:
                _, i = self.int_(b, i, 5)
            else:
                prefix = 6 if c & 0x40 else 4
                idx, i = self.int_(b, i, prefix)
                if idx:
                    n = self.entry(idx)[0]
                else:
                    n, i = self.str_(b, i)
                v, i = self.str_(b, i)
                out.append((n, v))
                if c & 0x40:
                    self.dyn.insert(0, (n, v))
        return out


def frame(t, f, sid, p):
    return struct.pack('>I', len(p))[1:] + bytes([t, f]) + struct.pack('>I', sid) + p


def main():
    sock, calls = sys.argv[1], sys.argv[2:]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(b'POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            print('no upgrade: %r' % buf[:200])
            return 1
        buf += d
    head, _, buf = buf.partition(b'\r\n\r\n')
    if not head.startswith(b'HTTP/1.1 101'):
        print('no upgrade: %s' % head.split(b'\r\n')[0].decode())
        return 1
    enc = Encoder()
    out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + frame(4, 0, 0, b'')
    res = {}
    for k, call in enumerate(calls):
        sid = 1 + 2 * k
        path, _, hexmsg = call.partition('=')
        msg = bytes.fromhex(hexmsg)
        blk = enc.block([(':method', 'POST'), (':scheme', 'http'), (':path', path),
                         (':authority', 'docker'), ('content-type', 'application/grpc'),
                         ('te', 'trailers')])
        out += frame(1, 4, sid, blk)
        out += frame(0, 1, sid, b'\x00' + struct.pack('>I', len(msg)) + msg)
        res[sid] = {'status': '', 'grpc-status': '', 'grpc-message': '', 'data': 0, 'rst': '',
                    'end': False}
    s.sendall(out)
    dec = Decoder()
    deadline = time.time() + 10
    block, bsid, bflags = b'', 0, 0
    while time.time() < deadline and not all(r['end'] for r in res.values()):
        while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], 'big'):
            try:
                d = s.recv(65536)
            except socket.timeout:
                d = b''
            if not d:
                deadline = 0
                break
            buf += d
        if deadline == 0:
            break
        n = int.from_bytes(buf[:3], 'big')
        t, f, sid = buf[3], buf[4], int.from_bytes(buf[5:9], 'big') & 0x7fffffff
        p, buf = buf[9:9 + n], buf[9 + n:]
        if t == 4 and not f & 1:
            s.sendall(frame(4, 1, 0, b''))
        elif t == 6 and not f & 1:
            s.sendall(frame(6, 1, 0, p))
        elif t in (1, 9):
            if t == 1:
                pad = p[0] if f & 8 else 0
                p = p[(1 if f & 8 else 0) + (5 if f & 0x20 else 0):len(p) - pad]
                bsid, bflags = sid, f
            block += p
            if f & 4:
                for name, v in dec.decode(block):
                    name = 'status' if name == ':status' else name
                    if bsid in res and name in res[bsid]:
                        res[bsid][name] = v
                block = b''
                if bflags & 1 and bsid in res:
                    res[bsid]['end'] = True
        elif t == 0 and sid in res:
            res[sid]['data'] += n
            if f & 1:
                res[sid]['end'] = True
        elif t == 3 and sid in res:
            res[sid]['rst'] = str(int.from_bytes(p, 'big'))
            res[sid]['end'] = True
    s.close()
    for sid in sorted(res):
        r = res[sid]
        print('stream %d: status=%s grpc-status=%s data=%d rst=%s grpc-message=%s' % (
            sid, r['status'], r['grpc-status'], r['data'], r['rst'],
            urllib.parse.unquote(r['grpc-message'])))
    return 0


sys.exit(main())
