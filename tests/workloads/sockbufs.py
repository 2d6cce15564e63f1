#!/usr/bin/env python3
# Socket buffer sizes and their locks across dump and restore.
#
#   sockbufs.py DIR
#
# A program that never sets SO_RCVBUF/SO_SNDBUF leaves its TCP buffers to the
# kernel, which grows them with traffic (autotuning); setting one locks it
# (SO_BUF_LOCK reads the locks).  Sockets, all in this one process:
#   auto    a TCP connection nobody configured, no traffic yet
#   grown   a TCP connection after 16 MiB one way: the kernel grew its buffers
#   fixed   a TCP connection, SO_RCVBUF set on the client, SO_SNDBUF on the server
#   listen  the listening socket
#   udp     a UDP socket nobody configured; udpset: SO_SNDBUF set, then unlocked
#   pair    a unix socketpair with 100 KiB unread (restore refills it)
#   pairset a unix socketpair, SO_RCVBUF set on one end
# Once set up it writes DIR/inodes (the TCP sockets' inodes, for the test to
# find their holders; again at each check) and DIR/ready.  Each time DIR/check appears it reads
# every socket's SO_RCVBUF, SO_SNDBUF and SO_BUF_LOCK again, compares them
# with what they were before the first dump (an odd size, which only the
# kernel's own growth makes, may come back one byte less), and writes DIR/check.ok or
# DIR/check.err (what differs), then removes DIR/check.  DIR/grow: 64 MiB
# through "auto": its receiver's buffer must grow past its size before (it
# is not locked) and "fixed" must keep its sizes: DIR/grow.ok or
# DIR/grow.err.  DIR/stop ends it.
import os
import socket
import sys
import threading
import time

SO_BUF_LOCK = 72
MIB = 1 << 20


def put(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def tcp_conn(lsk, client_rcvbuf=0, server_sndbuf=0):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if client_rcvbuf:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, client_rcvbuf)
    c.connect(lsk.getsockname())
    s, _ = lsk.accept()
    if server_sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, server_sndbuf)
    return c, s


def bulk(sender, receiver, nbytes):
    """Send nbytes from sender, read them all on receiver."""
    chunk = b"x" * (256 << 10)

    def send():
        left = nbytes
        while left:
            left -= sender.send(chunk[: min(left, len(chunk))])

    t = threading.Thread(target=send)
    t.start()
    got = 0
    while got < nbytes:
        n = len(receiver.recv(1 << 20))
        if n == 0:
            raise RuntimeError("EOF during bulk transfer")
        got += n
    t.join()


def bufs(sk):
    g = sk.getsockopt
    return (g(socket.SOL_SOCKET, socket.SO_RCVBUF), g(socket.SOL_SOCKET, socket.SO_SNDBUF),
            g(socket.SOL_SOCKET, SO_BUF_LOCK))


def put_inodes(d, socks):
    """The inodes of the TCP connections (new ones after each restore)."""
    put(os.path.join(d, "inodes"), "".join("%d\n" % os.fstat(socks[n].fileno()).st_ino
                                            for n in sorted(socks) if n.split(".")[0] in ("auto", "grown", "fixed")))


def same(before, now):
    """Sizes as before, but an odd one, which the kernel grew to, comes back even
    (SO_RCVBUF and SO_SNDBUF take half of a size)."""
    return (now[0] == before[0] & ~1 and now[1] == before[1] & ~1 and now[2] == before[2])


def main():
    d = sys.argv[1]
    lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsk.bind(("127.0.0.1", 0))
    lsk.listen(8)
    socks = {"listen": lsk}
    socks["auto.c"], socks["auto.s"] = tcp_conn(lsk)
    socks["grown.c"], socks["grown.s"] = tcp_conn(lsk)
    socks["fixed.c"], socks["fixed.s"] = tcp_conn(lsk, client_rcvbuf=65536, server_sndbuf=32768)
    bulk(socks["grown.c"], socks["grown.s"], 16 * MIB)
    socks["udp"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks["udp"].bind(("127.0.0.1", 0))
    socks["udpset"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks["udpset"].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 50000)
    socks["udpset"].setsockopt(socket.SOL_SOCKET, SO_BUF_LOCK, 0)
    socks["pair.a"], socks["pair.b"] = socket.socketpair()
    socks["pair.a"].sendall(b"y" * (100 << 10))
    socks["pairset.a"], socks["pairset.b"] = socket.socketpair()
    socks["pairset.b"].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 40000)
    before = {name: bufs(sk) for name, sk in socks.items()}
    # the test's own check that the setup is what it claims
    assert before["auto.s"][2] == 0 and before["fixed.c"][2] == 2 and before["fixed.s"][2] == 1, before
    assert before["grown.s"][0] > before["auto.s"][0], before
    put(os.path.join(d, "before"), "".join("%s %s\n" % kv for kv in sorted(before.items())))
    put_inodes(d, socks)
    put(os.path.join(d, "ready"), "")
    while not os.path.exists(os.path.join(d, "stop")):
        if os.path.exists(os.path.join(d, "check")):
            now = {name: bufs(sk) for name, sk in socks.items()}
            diff = ["%s: before %s, now %s (rcvbuf, sndbuf, locks)" % (n, before[n], now[n])
                    for n in sorted(socks) if not same(before[n], now[n])]
            put_inodes(d, socks)
            put(os.path.join(d, "check.err" if diff else "check.ok"), "\n".join(diff) + "\n")
            os.unlink(os.path.join(d, "check"))
        if os.path.exists(os.path.join(d, "grow")):
            bulk(socks["auto.c"], socks["auto.s"], 64 * MIB)
            bulk(socks["fixed.s"], socks["fixed.c"], 4 * MIB)
            auto, fixed_c, fixed_s = bufs(socks["auto.s"]), bufs(socks["fixed.c"]), bufs(socks["fixed.s"])
            bad = []
            if auto[0] <= before["auto.s"][0] or auto[2] != 0:
                bad.append("auto.s: before %s, after 64 MiB %s: did not grow" % (before["auto.s"], auto))
            if fixed_c[0] != before["fixed.c"][0] or fixed_s[1] != before["fixed.s"][1]:
                bad.append("fixed: before %s %s, after 4 MiB %s %s: locked sizes changed" %
                           (before["fixed.c"], before["fixed.s"], fixed_c, fixed_s))
            put(os.path.join(d, "grow.err" if bad else "grow.ok"), "\n".join(bad) + "\n")
            os.unlink(os.path.join(d, "grow"))
        time.sleep(0.05)


if __name__ == "__main__":
    main()
