#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start PROG on a terminal whose master is held outside, as runc does for
podman -t: make a pty (in the devpts /dev/ptmx leads to), send its master
to the unix stream socket SOCK (pts_holder.py) and close it here, become a
session leader with the slave as controlling terminal and fds 0-2, exec PROG.

    pts_start.py SOCK PROG [ARG...]
"""
import fcntl
import os
import socket
import sys
import termios


def main():
    master, slave = os.openpty()
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sk.connect(sys.argv[1])
    socket.send_fds(sk, [b"m"], [master])
    sk.close()
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    os.execv(sys.argv[2], sys.argv[2:])


main()
