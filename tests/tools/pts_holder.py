#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The outside end of a container's terminal, as conmon is for podman -t:
listen on the unix stream socket SOCK for pty masters (one per connection,
by SCM_RIGHTS); on each one type "line-N" (N: 1 for the first master, 2 for
the next...) and append everything read from it to OUT.  A master that hangs
up (its slaves all closed) is closed; the next one may come.  Runs until
killed.

    pts_holder.py SOCK OUT
"""
import os
import select
import socket
import sys


def main():
    sock_path, out_path = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(4)
    out = open(out_path, "ab", buffering=0)
    masters, count = [], 0
    while True:
        r, _, _ = select.select([srv] + masters, [], [])
        for fd in r:
            if fd is srv:
                conn, _ = srv.accept()
                _, fds, _, _ = socket.recv_fds(conn, 1, 4)
                conn.close()
                for m in fds:
                    count += 1
                    os.write(m, b"line-%d\n" % count)
                    masters.append(m)
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if data:
                out.write(data)
            else:
                masters.remove(fd)
                os.close(fd)


main()
