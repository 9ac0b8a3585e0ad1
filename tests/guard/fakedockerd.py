#!/usr/bin/env python3
# tests/guard/fakedockerd.py: a scripted stand-in for dockerd on a unix socket, for the relay
# tests (connection reuse, hang-ups, framing of large bodies) where the real daemon could not
# show what happens on its side. Every event goes to LOG, one line each:
#   open CID | close CID | req CID METHOD TARGET LEN SHA256 | abandoned CID
# (CID numbers the connections in accept order; LEN and SHA256 are the decoded body's).
#   fakedockerd.py SOCK LOG TENANT
# Routes (any /vX.Y prefix):
#   GET|HEAD /_ping                       200 "OK" with Content-Length
#   GET /version                          200 JSON, then the connection is closed
#                                         (Connection: close)
#   GET /containers/json                  200 "[]" chunked
#   GET /containers/REF/json              an inspect: a container of TENANT whose ID is the
#                                         sha256 of REF (REF may already be that ID)
#   POST /containers/ID/wait              never answered: logs "abandoned" when the client
#                                         side goes away
#   GET /containers/ID/export             a body of N bytes from stream_bytes(N), where the
#                                         container's name is dl-len-N (Content-Length),
#                                         dl-chunked-N (chunks of varied sizes) or dl-eof-N
#                                         (no length: ends with the connection)
#   POST /build                           reads the body, answers {"len":N,"sha256":"..."}
#   GET /images/search                    a malformed answer (two Content-Length headers)
# SIGUSR1 closes every connection that waits for its next request (a daemon dropping idle
# keep-alive connections).
import hashlib
import json
import os
import random
import re
import signal
import socket
import sys
import threading

SOCK, LOG, TENANT = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
idle = set()
names = {}
counter = [0]


def log(line):
    with lock:
        with open(LOG, 'a') as f:
            f.write(line + '\n')


def stream_bytes(n):
    """The deterministic body of n bytes the tests expect (see relay tests)."""
    r = random.Random(n)
    return bytes(r.getrandbits(8) for _ in range(min(n, 65536))) * (n // 65536 + 1)


class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b''

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
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


def read_body(c, headers):
    if headers.get('transfer-encoding', '').lower() == 'chunked':
        body = b''
        while True:
            size = int(c.until(b'\r\n').split(b';')[0], 16)
            if size == 0:
                while c.until(b'\r\n'):  # trailers
                    pass
                return body
            body += c.take(size)
            if c.take(2) != b'\r\n':
                raise ValueError('bad chunk end')
    return c.take(int(headers.get('content-length', '0')))


def send(c, status, body=b'', ctype='application/json', extra=(), chunked=False, head=False,
         length=True):
    h = ['HTTP/1.1 %s' % status, 'Content-Type: %s' % ctype, 'Api-Version: 1.41']
    h += list(extra)
    if chunked:
        h.append('Transfer-Encoding: chunked')
    elif length:
        h.append('Content-Length: %d' % len(body))
    data = ('\r\n'.join(h) + '\r\n\r\n').encode()
    if head:
        c.s.sendall(data)
        return
    if not chunked:
        c.s.sendall(data + body)
        return
    c.s.sendall(data)
    r = random.Random(len(body))
    off = 0
    while off < len(body):
        k = min(len(body) - off, r.choice([1, 7, 100, 4096, 32768, 65536, 200000]))
        c.s.sendall(b'%x\r\n' % k + body[off:off + k] + b'\r\n')
        off += k
    c.s.sendall(b'0\r\n\r\n')


def container(ref):
    cid = ref if re.fullmatch('[0-9a-f]{64}', ref) else hashlib.sha256(ref.encode()).hexdigest()
    if cid == ref and cid not in names:
        return None
    names[cid] = names.get(cid, ref)
    return {'Id': cid, 'Name': '/' + names[cid], 'Config': {'Labels': {'io.deskrun.tenant': TENANT}},
            'State': {'Running': True}}


def serve(s, cid):
    c = Conn(s)
    log('open %d' % cid)
    try:
        while True:
            with lock:
                idle.add(s)
            try:
                lines = c.until(b'\r\n\r\n').decode('latin-1').split('\r\n')
            finally:
                with lock:
                    idle.discard(s)
            method, target, _ = lines[0].split(' ', 2)
            headers = {}
            for hl in lines[1:]:
                k, _, v = hl.partition(':')
                headers[k.strip().lower()] = v.strip()
            body = read_body(c, headers)
            log('req %d %s %s %d %s' % (cid, method, target, len(body), hashlib.sha256(body).hexdigest()))
            path = re.sub(r'^/v[0-9.]+', '', target.split('?')[0])
            m = re.fullmatch(r'/containers/([^/]+)/(json|wait|export)', path)
            if path == '/_ping':
                send(c, '200 OK', b'OK', 'text/plain', head=method == 'HEAD')
            elif path == '/version':
                send(c, '200 OK', b'{"ApiVersion":"1.41"}', extra=['Connection: close'])
                return
            elif path == '/containers/json':
                send(c, '200 OK', b'[]', chunked=True)
            elif path == '/images/search':
                c.s.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nOK')
            elif path == '/build':
                send(c, '200 OK', json.dumps({'len': len(body), 'sha256': hashlib.sha256(body).hexdigest()}).encode())
            elif m and m.group(2) == 'json':
                obj = container(m.group(1))
                if obj:
                    send(c, '200 OK', json.dumps(obj).encode())
                else:
                    send(c, '404 Not Found', b'{"message":"No such container"}')
            elif m and m.group(2) == 'wait':
                try:
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
                log('abandoned %d' % cid)
                return
            elif m and m.group(2) == 'export':
                kind, n = re.fullmatch(r'dl-(len|chunked|eof)-(\d+)', names.get(m.group(1), 'x-x-0')).groups()
                data = stream_bytes(int(n))[:int(n)]
                if kind == 'eof':
                    send(c, '200 OK', data, 'application/x-tar', extra=['Connection: close'], length=False)
                    return
                send(c, '200 OK', data, 'application/x-tar', chunked=kind == 'chunked')
            else:
                send(c, '404 Not Found', b'{"message":"page not found"}')
    except (EOFError, OSError, ValueError):
        pass
    finally:
        log('close %d' % cid)
        s.close()


def drop_idle(signum, frame):
    with lock:
        for s in list(idle):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    if os.path.exists(SOCK):
        os.unlink(SOCK)
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(SOCK)
    ls.listen(64)
    signal.signal(signal.SIGUSR1, drop_idle)
    while True:
        s, _ = ls.accept()
        counter[0] += 1
        threading.Thread(target=serve, args=(s, counter[0]), daemon=True).start()


main()
