#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run `ctswap attach NAME` on a real terminal of COLSxROWS, type INPUT
(a line at a time, then Ctrl-] to detach) and print everything attach wrote.
Exits with attach's status; 3 if it did not exit within 10 s.

    pty_attach.py CTSWAP NAME COLS ROWS INPUT...
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def read_for(fd, seconds, out):
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out.append(data)
    return True


def main():
    ctswap, name, cols, rows = sys.argv[1:5]
    lines = sys.argv[5:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(ctswap, [ctswap, "attach", name])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))
    out = []
    read_for(fd, 0.3, out)
    for line in lines:
        os.write(fd, line.encode() + b"\r")
        read_for(fd, 0.3, out)
    os.write(fd, b"\x1d")
    status = None
    end = time.time() + 10
    while time.time() < end:
        read_for(fd, 0.05, out)
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = os.waitstatus_to_exitcode(st)
            break
    read_for(fd, 0.1, out)
    sys.stdout.write(b"".join(out).decode(errors="replace"))
    if status is None:
        os.kill(pid, 9)
        sys.exit(3)
    sys.exit(status)


main()
