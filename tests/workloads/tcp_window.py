#!/usr/bin/env python3
# TCP windows across dump and restore: a direction stalled on a zero window.
#
#   tcp_window.py DIR
#
# Two connections over loopback in this one process: "small" (both ends
# SO_RCVBUF 4096, set by the program before connecting) and "default" (the kernel's buffers).
# On each, the client sends a byte pattern and the server stops reading, until
# the server advertises a zero window and the client has seen it (TCP_INFO:
# tcpi_rcv_wnd of the server and tcpi_snd_wnd of the client both 0) with data
# still waiting to go.  It records the windows of all four sockets (the
# advertised one, tcpi_rcv_wnd, and the peer's, tcpi_snd_wnd) and writes
# DIR/ready.N for round N (from 1), then waits for DIR/check.N.
#
# The two ends of a restored connection must agree on the windows: a socket
# that counted more room as advertised than its peer saw sends no window
# update when its program reads (the kernel sends one only when the window at
# least doubles), and the peer, stalled on its zero window, waits for its own
# zero-window probe, seconds after a few backoffs.  So at DIR/check.N, before
# reading anything, it reads the windows of both ends of each connection (again
# until two reads match: a segment may pass between them) and writes
# DIR/check.N.ok, or DIR/check.N.err where an end's advertised window is not
# the one its peer sees.  (Not the windows of the dump themselves: a rebuilt
# receive queue may take less memory than the original one did, and the
# receiver then rightly offers room in its answer to a probe.)  Then the servers read on while the
# clients send 1 MiB more each, every byte checked: DIR/round.N.ok, or
# DIR/round.N.err.  DIR/next.N starts the next round, DIR/stop ends it.
import os
import socket
import struct
import sys
import time

TCPI_SND_WND = 228  # offsets in struct tcp_info (include/uapi/linux/tcp.h)
TCPI_RCV_WND = 232
PATTERN = bytes(range(251)) * 1100  # 276100 bytes: any offset, 256 KiB slices


def put(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def windows(sk):
    """(advertised receive window, peer's window) of a socket."""
    info = sk.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    snd, rcv = struct.unpack_from("II", info, TCPI_SND_WND)
    return rcv, snd


class Conn:
    def __init__(self, name, rcvbuf):
        """A connection through a listener of its own, @rcvbuf set before connecting (0: not)."""
        self.name = name
        self.lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # before the handshake, as a program must for a window scale that fits
            self.lsk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.lsk.bind(("127.0.0.1", 0))
        self.lsk.listen(1)
        self.c.connect(self.lsk.getsockname())
        self.s, _ = self.lsk.accept()
        self.c.setblocking(False)
        self.s.setblocking(False)
        self.sent = self.got = 0

    def send(self, upto=None):
        """Send pattern bytes until the socket takes no more (or @upto in all)."""
        while upto is None or self.sent < upto:
            off = self.sent % 251
            n = 256 << 10 if upto is None else min(256 << 10, upto - self.sent)
            try:
                self.sent += self.c.send(PATTERN[off:off + n])
            except BlockingIOError:
                return

    def receive(self):
        """Read what is there and check it; False on a wrong byte or EOF."""
        while True:
            try:
                data = self.s.recv(256 << 10)
            except BlockingIOError:
                return True
            if not data:
                return False
            off = self.got % 251
            if data != PATTERN[off:off + len(data)]:
                return False
            self.got += len(data)

    def stalled(self):
        """The server advertises no room, the client knows it, and data waits."""
        return windows(self.s)[0] == 0 and windows(self.c)[1] == 0

    def state(self):
        """Both ends' windows, read again until no segment changed them between the reads."""
        while True:
            c1, s1 = windows(self.c), windows(self.s)
            c2, s2 = windows(self.c), windows(self.s)
            if (c1, s1) == (c2, s2):
                return {self.name + ".client": c1, self.name + ".server": s1}

    def disagree(self, st):
        """Where one end counts as advertised a window its peer does not see."""
        c, s = st[self.name + ".client"], st[self.name + ".server"]
        bad = []
        if s[0] != c[1]:
            bad.append("%s: the server advertised %d, the client sees %d" % (self.name, s[0], c[1]))
        if c[0] != s[1]:
            bad.append("%s: the client advertised %d, the server sees %d" % (self.name, c[0], s[1]))
        return bad


def wait_file(path, stop=None):
    while not os.path.exists(path) and not (stop and os.path.exists(stop)):
        time.sleep(0.02)


def main():
    d = sys.argv[1]
    conns = [Conn("small", 4096), Conn("default", 0)]
    rnd = 0
    while not os.path.exists(os.path.join(d, "stop")):
        rnd += 1
        # fill: the zero window is reached within a few milliseconds of the last send
        while not all(c.stalled() for c in conns):
            for c in conns:
                c.send()
            time.sleep(0.01)
        before = {}
        for c in conns:
            before.update(c.state())
            # the test's own premise: at the dump both ends agree
            assert not c.disagree(c.state()), c.state()
        put(os.path.join(d, "ready.%d" % rnd), "".join("%s %s\n" % kv for kv in sorted(before.items())))
        wait_file(os.path.join(d, "check.%d" % rnd))
        diff = []
        for c in conns:
            now = c.state()
            bad = c.disagree(now)
            if bad:
                diff += bad + ["%s: at the dump %s, now %s (advertised window, peer's window)" %
                               (k, before[k], now[k]) for k in sorted(now)]
        put(os.path.join(d, "check.%d.%s" % (rnd, "err" if diff else "ok")), "\n".join(diff) + "\n")
        # go on: 1 MiB more each way it was stalled, every byte checked
        target = {c.name: c.sent + (1 << 20) for c in conns}
        while any(c.got < target[c.name] for c in conns):
            for c in conns:
                c.send(target[c.name])
                if not c.receive():
                    put(os.path.join(d, "round.%d.err" % rnd), "%s: wrong data or EOF at %d\n" % (c.name, c.got))
                    sys.exit(1)
            time.sleep(0.001)
        put(os.path.join(d, "round.%d.ok" % rnd), "")
        wait_file(os.path.join(d, "next.%d" % rnd), os.path.join(d, "stop"))


if __name__ == "__main__":
    main()
