#!/usr/bin/env python3
# tests/guard/relayclient.py: the client side of the relay tests (test_guard_relay.sh), against
# a guard in front of fakedockerd.py. Each mode prints "ok ..." or a reason to stderr and exits 1.
#   relayclient.py SOCK seq N PATH          N requests, each on a new connection closed after
#                                           the answer (the docker CLI's pattern)
#   relayclient.py SOCK hold PATH SECS      POST PATH, wait SECS without an answer, hang up
#   relayclient.py SOCK mix THREADS ITERS   THREADS keep-alive clients at once, ITERS rounds
#                                           each: a GET, two pipelined GETs in one write, a
#                                           POST whose head and body come in one write, a head
#                                           written in three pieces; every answer checked
#   relayclient.py SOCK upload len|chunked SIZE   POST /build with SIZE deterministic bytes;
#                                           the daemon's digest of what it got must match
#   relayclient.py SOCK download NAME       GET /containers/NAME/export; the bytes must be
#                                           fakedockerd's stream_bytes(N)
import hashlib
import json
import random
import socket
import sys
import threading
import time


def stream_bytes(n):
    r = random.Random(n)
    return bytes(r.getrandbits(8) for _ in range(min(n, 65536))) * (n // 65536 + 1)


def fail(msg):
    sys.stderr.write(msg + '\n')
    sys.exit(1)


def dial(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    return s


class Reader:
    def __init__(self, s):
        self.s = s
        self.buf = b''

    def fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError('connection closed')
        self.buf += d

    def until(self, sep):
        while sep not in self.buf:
            self.fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self):
        try:
            while True:
                self.fill()
        except EOFError:
            pass
        out, self.buf = self.buf, b''
        return out

    def response(self, head_request=False):
        lines = self.until(b'\r\n\r\n').decode('latin-1').split('\r\n')
        status = int(lines[0].split(' ')[1])
        h = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            h[k.strip().lower()] = v.strip()
        if head_request:
            return status, h, b''
        if h.get('transfer-encoding', '').lower() == 'chunked':
            body = b''
            while True:
                size = int(self.until(b'\r\n').split(b';')[0], 16)
                if size == 0:
                    while self.until(b'\r\n'):
                        pass
                    return status, h, body
                body += self.take(size)
                if self.take(2) != b'\r\n':
                    raise ValueError('bad chunk end')
        if 'content-length' in h:
            return status, h, self.take(int(h['content-length']))
        return status, h, self.rest()


def get(path):
    return ('GET %s HTTP/1.1\r\nHost: docker\r\n\r\n' % path).encode()


def main():
    sock, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == 'seq':
        n, path = int(args[0]), args[1]
        for i in range(n):
            s = dial(sock)
            s.sendall(get(path))
            st, _, _ = Reader(s).response()
            s.close()
            if st != 200:
                fail('request %d: status %d' % (i, st))
        print('ok %d' % n)
    elif mode == 'hold':
        s = dial(sock)
        s.sendall(('POST %s HTTP/1.1\r\nHost: docker\r\n\r\n' % args[0]).encode())
        time.sleep(float(args[1]))
        s.close()
        print('ok')
    elif mode == 'mix':
        threads, iters = int(args[0]), int(args[1])
        errors = []

        def worker(k):
            try:
                s = dial(sock)
                r = Reader(s)
                for i in range(iters):
                    s.sendall(get('/v1.41/_ping'))
                    st, _, b = r.response()
                    if st != 200 or b != b'OK':
                        raise ValueError('ping: %d %r' % (st, b))
                    s.sendall(get('/_ping') + get('/v1.41/containers/json'))
                    st1, _, b1 = r.response()
                    st2, _, b2 = r.response()
                    if (st1, b1, st2, b2) != (200, b'OK', 200, b'[]'):
                        raise ValueError('pipelined: %r' % ((st1, b1, st2, b2),))
                    body = (b'%d-%d-' % (k, i)) * 50
                    s.sendall(b'POST /v1.41/build HTTP/1.1\r\nHost: docker\r\n'
                              b'Content-Type: application/x-tar\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
                    st, _, b = r.response()
                    if st != 200 or json.loads(b)['sha256'] != hashlib.sha256(body).hexdigest():
                        raise ValueError('post: %d %r' % (st, b))
                    req = get('/v1.41/containers/json')
                    for part in (req[:5], req[5:20], req[20:]):
                        s.sendall(part)
                        time.sleep(0.002)
                    st, _, b = r.response()
                    if st != 200 or b != b'[]':
                        raise ValueError('pieces: %d %r' % (st, b))
                s.close()
            except Exception as e:  # noqa: BLE001 - any failure of a client fails the test
                errors.append('client %d: %s' % (k, e))

        ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            fail('; '.join(errors[:5]))
        print('ok %d' % (threads * iters))
    elif mode == 'upload':
        kind, size = args[0], int(args[1])
        data = stream_bytes(size)[:size]
        s = dial(sock)
        if kind == 'len':
            s.sendall(b'POST /v1.41/build HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\n'
                      b'Content-Length: %d\r\n\r\n' % size)
            s.sendall(data)
        else:
            s.sendall(b'POST /v1.41/build HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\n'
                      b'Transfer-Encoding: chunked\r\n\r\n')
            r = random.Random(size + 1)
            off = 0
            while off < size:
                k = min(size - off, r.choice([1, 5, 511, 4096, 32768, 65535, 65536, 300000]))
                s.sendall(b'%x\r\n' % k + data[off:off + k] + b'\r\n')
                off += k
            s.sendall(b'0\r\n\r\n')
        st, _, b = Reader(s).response()
        got = json.loads(b)
        if st != 200 or got['len'] != size or got['sha256'] != hashlib.sha256(data).hexdigest():
            fail('upload %s %d: %d %r' % (kind, size, st, b))
        print('ok')
    elif mode == 'download':
        name = args[0]
        n = int(name.rsplit('-', 1)[1])
        s = dial(sock)
        s.sendall(get('/v1.41/containers/%s/export' % name))
        st, _, b = Reader(s).response()
        if st != 200 or b != stream_bytes(n)[:n]:
            fail('download %s: status %d, %d bytes' % (name, st, len(b)))
        print('ok')
    else:
        fail('unknown mode ' + mode)


main()
