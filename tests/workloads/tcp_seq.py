#!/usr/bin/env python3
# Numbered messages both ways over one TCP connection, checked on arrival.
#
#   tcp_seq.py server 4|6 DIR        listen on loopback, write DIR/port, serve one client
#   tcp_seq.py client 4|6 PORT DIR   connect to it
#
# Each side sends "<tag><seq> <payload>\n" lines (tag S from the server, C
# from the client; the payload is a function of seq) as fast as its peer
# takes them, and reads slowly through a small receive buffer, so both
# directions keep unread data in the receiver; the client reads slowest, so
# the server's send queue holds data its peer has no room for.
# Every line received must be the next one, intact: a gap, a duplicate, a
# corrupt line, EOF or a reset writes DIR/<role>.err and exits 1.
# DIR/<role>.status holds the number of lines received so far; DIR/stop ends
# both sides cleanly: each stops sending, shuts its side down and reads to
# the end before it closes (closing with unread data would reset the peer).  While DIR/hold exists the server reads nothing; once
# unread data waits in its receive queue it writes DIR/server.held (a dump
# then has data queued in both directions, whatever the timing).
import array
import fcntl
import os
import termios
import select
import socket
import sys
import time

RCVBUF = 4096
SNDBUF = 16384


def payload(seq):
    return (str(seq) * 20)[: 20 + seq % 80]


def line(tag, seq):
    return ("%s%d %s\n" % (tag, seq, payload(seq))).encode()


def put(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def fail(d, role, msg):
    put(os.path.join(d, role + ".err"), msg + "\n")
    sys.exit(1)


def unread(sk):
    n = array.array("i", [0])
    fcntl.ioctl(sk.fileno(), termios.FIONREAD, n)
    return n[0]


def finish(sk, d, role):
    """Shut our side down, read to the peer's end, then close: no reset either way."""
    try:
        sk.setblocking(True)
        sk.settimeout(30)
        sk.shutdown(socket.SHUT_WR)
        while sk.recv(65536):
            pass
    except OSError as e:
        fail(d, role, "finishing: %s" % e)
    sk.close()


def exchange(sk, d, role, mine, theirs, chunk, wait):
    sk.setblocking(False)
    out = b""
    sent = 0          # lines queued so far
    expect = 0        # next line we want
    partial = b""
    last = 0.0
    held = False
    while not os.path.exists(os.path.join(d, "stop")):
        hold = role == "server" and os.path.exists(os.path.join(d, "hold"))
        if len(out) < 8192:
            out += b"".join(line(mine, sent + i) for i in range(50))
            sent += 50
        try:
            n = sk.send(out)
            out = out[n:]
        except BlockingIOError:
            pass
        except OSError as e:
            fail(d, role, "send: %s" % e)
        if hold:
            if not held and unread(sk) > 0:
                held = True
                put(os.path.join(d, "server.held"), "%d\n" % expect)
            time.sleep(wait)
            continue
        r, _, _ = select.select([sk], [], [], wait)
        if r:
            try:
                data = sk.recv(chunk)
            except BlockingIOError:
                data = None
            except OSError as e:
                fail(d, role, "recv after %d lines: %s" % (expect, e))
            if data == b"":
                if os.path.exists(os.path.join(d, "stop")):
                    break   # the peer is finishing: so do we
                fail(d, role, "EOF after %d lines" % expect)
            if data:
                partial += data
                *lines, partial = partial.split(b"\n")
                for ln in lines:
                    want = line(theirs, expect)[:-1]
                    if ln != want:
                        fail(d, role, "line %d: got %r, want %r" % (expect, ln[:40], want[:40]))
                    expect += 1
        now = time.monotonic()
        if now - last > 0.05:
            put(os.path.join(d, role + ".status"), "%d\n" % expect)
            last = now
    put(os.path.join(d, role + ".status"), "%d\n" % expect)
    finish(sk, d, role)


def main():
    role, fam = sys.argv[1], socket.AF_INET6 if sys.argv[2] == "6" else socket.AF_INET
    host = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
    if role == "server":
        d = sys.argv[3]
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        ls.bind((host, 0))
        ls.listen(1)
        put(os.path.join(d, "port"), "%d\n" % ls.getsockname()[1])
        sk, _ = ls.accept()
        exchange(sk, d, "server", "S", "C", 2048, 0.002)
    else:
        port, d = int(sys.argv[3]), sys.argv[4]
        sk = socket.socket(fam, socket.SOCK_STREAM)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        sk.connect((host, port))
        # the client reads slowly: the server keeps queued, unsent data
        exchange(sk, d, "client", "C", "S", 256, 0.005)


main()
