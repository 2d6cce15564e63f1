#!/usr/bin/env python3
# A TCP client and server in the same container, both ends in the checkpoint.
#
#   tcp_pair.py 4|6 DIR [small|default]
#
# Buffers are small (4 KiB receive, 16 KiB send) or the kernel's default,
# auto-tuned ones (megabytes queued at the dump).
# The server listens on loopback (its listening socket stays open), forks
# the client, accepts it, and both send numbered lines "<tag><seq> <payload>\n"
# (S from the server, C from the client) and check every line they receive:
# a gap, a duplicate, a corrupt line, EOF or a reset writes DIR/<role>.err and
# exits 1.  They read in chunks that do not follow lines, so a message is
# often half read (not too small ones: after a restore each side reads the
# megabytes queued for it, in Python, on a loaded machine).  DIR/<role>.status holds the number of lines received.
#
# While DIR/hold exists neither side reads: each keeps DIR/<role>.room up to
# date with the room left in its receive buffer (SO_MEMINFO: buffer size less
# what is allocated; it only shrinks while nothing reads), and writes until
# its send queue holds more than four times the peer's room, so both
# directions have full buffers of unread data (the receiver's queue and the
# sender's) that the peer cannot drain while both are frozen; then it writes
# DIR/<role>.held.  (A first EAGAIN is not enough: it can come while acks
# wait behind the sender's own send, with megabytes of room left in the
# peer, and the queue then drains into the peer while both are frozen.)
# Once DIR/probe
# exists the client makes a second connection to the listener, sends
# "ping", and the server answers "pong" on it: DIR/probe.ok.  DIR/stop ends
# both sides cleanly (each shuts its side down and reads to the end before it
# closes: closing with unread data would reset the peer): DIR/client.done,
# DIR/server.done.
import array
import fcntl
import os
import select
import socket
import struct
import sys
import termios
import time

SO_MEMINFO = 55  # u32 [rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops]
RCVBUF = 4096
SNDBUF = 16384
SMALL = True


def payload(seq):
    return (str(seq) * 20)[: 20 + seq % 80]


def line(tag, seq):
    return ("%s%d %s\n" % (tag, seq, payload(seq))).encode()


def put(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


class Side:
    def __init__(self, d, role, peer, sk, mine, theirs, chunk):
        self.d, self.role, self.peer, self.sk = d, role, peer, sk
        self.mine, self.theirs, self.chunk = mine, theirs, chunk
        self.out = b""
        self.sent = 0
        self.expect = 0
        self.partial = b""
        self.last = 0.0
        self.held = False
        self.room = None  # the room last written to <role>.room
        sk.setblocking(False)

    def path(self, name):
        return os.path.join(self.d, name)

    def fail(self, msg):
        put(self.path(self.role + ".err"), msg + "\n")
        sys.exit(1)

    def send(self, hold):
        """Send what fits; true if anything did."""
        if len(self.out) < 65536:
            self.out += b"".join(line(self.mine, self.sent + i) for i in range(500))
            self.sent += 500
        try:
            n = self.sk.send(self.out)
            self.out = self.out[n:]
            return n > 0
        except BlockingIOError:
            # nothing more fits: full for good once the peer cannot take it
            if hold and not self.held and self.stuck():
                self.held = True
                put(self.path(self.role + ".held"), "%d\n" % self.expect)
        except OSError as e:
            self.fail("send: %s" % e)
        return False

    def stuck(self):
        """The peer reads no more and has far less room than we have queued."""
        try:
            with open(self.path(self.peer + ".room")) as f:
                room = int(f.read())
        except (FileNotFoundError, ValueError):
            return False
        queued = array.array("i", [0])
        fcntl.ioctl(self.sk.fileno(), termios.TIOCOUTQ, queued)  # SIOCOUTQ
        return queued[0] > 4 * room

    def report_room(self):
        """While holding: the room left in our receive buffer, for the peer."""
        m = struct.unpack("9I", self.sk.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36))
        room = max(0, m[1] - m[0] - m[7])
        if room != self.room:
            put(self.path(self.role + ".room"), "%d\n" % room)
            self.room = room

    def receive(self):
        try:
            data = self.sk.recv(self.chunk)
        except BlockingIOError:
            return
        except OSError as e:
            self.fail("recv after %d lines: %s" % (self.expect, e))
        if data == b"":
            if os.path.exists(self.path("stop")):
                return  # the peer is finishing: so do we
            self.fail("EOF after %d lines" % self.expect)
        self.partial += data
        *lines, self.partial = self.partial.split(b"\n")
        for ln in lines:
            want = line(self.theirs, self.expect)[:-1]
            if ln != want:
                self.fail("line %d: got %r, want %r" % (self.expect, ln[:40], want[:40]))
            self.expect += 1

    def finish(self):
        """Shut our side down, read to the peer's end, then close: no reset either way."""
        try:
            self.sk.setblocking(True)
            self.sk.settimeout(30)
            self.sk.shutdown(socket.SHUT_WR)
            while self.sk.recv(65536):
                pass
        except OSError as e:
            self.fail("finishing: %s" % e)
        self.sk.close()

    def report(self, force=False):
        now = time.monotonic()
        if force or now - self.last > 0.05:
            put(self.path(self.role + ".status"), "%d\n" % self.expect)
            self.last = now

    def step(self, extra=()):
        hold = os.path.exists(self.path("hold"))
        if not hold:
            self.held = False
            self.room = None
        else:
            self.report_room()  # reads no more from here on
        sent = self.send(hold)
        watch = [] if hold else [self.sk]
        # holding: no wait while the queues still fill
        r, _, _ = select.select(watch + list(extra), [], [], 0 if hold and sent else 0.002)
        if self.sk in r:
            self.receive()
        self.report()
        return r


def serve_probe(ls):
    """Answer one second connection on the listener: ping -> pong."""
    c, _ = ls.accept()
    c.settimeout(5)
    if c.recv(16) == b"ping\n":
        c.sendall(b"pong\n")
    c.close()


def probe(d, fam, host, port):
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect((host, port))
    c.sendall(b"ping\n")
    if c.recv(16) == b"pong\n":
        put(os.path.join(d, "probe.ok"), "ok\n")
    c.close()


def set_buffers(sk):
    if SMALL:
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)


def main():
    global SMALL
    fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
    d = sys.argv[2]
    SMALL = len(sys.argv) < 4 or sys.argv[3] == "small"
    host = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
    ls = socket.socket(fam, socket.SOCK_STREAM)
    set_buffers(ls)
    ls.bind((host, 0))
    ls.listen(4)
    port = ls.getsockname()[1]
    if os.fork() == 0:
        ls.close()
        sk = socket.socket(fam, socket.SOCK_STREAM)
        set_buffers(sk)
        sk.connect((host, port))
        side = Side(d, "client", "server", sk, "C", "S", 1500)
        probed = False
        while not os.path.exists(side.path("stop")):
            side.step()
            if not probed and os.path.exists(side.path("probe")):
                probe(d, fam, host, port)
                probed = True
        side.report(True)
        side.finish()
        put(side.path("client.done"), "ok\n")
        sys.exit(0)
    sk, _ = ls.accept()
    side = Side(d, "server", "client", sk, "S", "C", 2048)
    put(os.path.join(d, "port"), "%d\n" % port)
    while not os.path.exists(side.path("stop")):
        if ls in side.step([ls]):
            serve_probe(ls)
    side.report(True)
    side.finish()
    os.wait()
    put(side.path("server.done"), "ok\n")


main()
