#!/usr/bin/env python3
# tests/guard/rawhttp.py: talk to a unix socket below the docker CLI, for the guard's threat
# and framing tests.
#   rawhttp.py SOCK raw 'BYTES'          send BYTES (\r\n escapes allowed), print the reply
#   rawhttp.py SOCK raw -                send stdin as is, print the reply
#   rawhttp.py SOCK req METHOD PATH [BODY] [-H 'Name: value']...
#                                        send one request (Content-Length counted in UTF-8
#                                        bytes, Connection: close) and print "STATUS" on the
#                                        first line and the body after it (BODY @FILE:
#                                        the file's bytes)
# The reply is read until the server closes or 3 s pass without data.
import socket
import sys


def talk(path, data, timeout=3.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    out = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def main():
    sock, mode = sys.argv[1], sys.argv[2]
    if mode == 'raw':
        arg = sys.argv[3]
        if arg == '-':
            data = sys.stdin.buffer.read()
        else:
            data = arg.encode('utf-8').decode('unicode_escape').encode('latin-1')
        sys.stdout.buffer.write(talk(sock, data))
        return
    method, path = sys.argv[3], sys.argv[4]
    rest = sys.argv[5:]
    body = None
    headers = []
    i = 0
    while i < len(rest):
        if rest[i] == '-H':
            headers.append(rest[i + 1])
            i += 2
        else:
            body = rest[i].encode('utf-8')
            if rest[i].startswith('@'):
                with open(rest[i][1:], 'rb') as f:
                    body = f.read()
            i += 1
    h = ['%s %s HTTP/1.1' % (method, path), 'Host: docker', 'Connection: close']
    names = [x.split(':')[0].lower() for x in headers]
    if body is not None:
        if 'content-type' not in names:
            h.append('Content-Type: application/json')
        h.append('Content-Length: %d' % len(body))
    h += headers
    data = ('\r\n'.join(h) + '\r\n\r\n').encode('latin-1') + (body or b'')
    out = talk(sock, data)
    head, _, rbody = out.partition(b'\r\n\r\n')
    status = head.split(b' ')[1].decode() if b' ' in head else '000'
    if b'transfer-encoding: chunked' in head.lower():
        dec, rest_b = b'', rbody
        while rest_b:
            line, _, rest_b = rest_b.partition(b'\r\n')
            n = int(line.split(b';')[0] or b'0', 16)
            if n == 0:
                break
            dec += rest_b[:n]
            rest_b = rest_b[n + 2:]
        rbody = dec
    sys.stdout.buffer.write(status.encode() + b'\n' + rbody)


main()
