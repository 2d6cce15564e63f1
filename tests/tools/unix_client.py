#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""unix_client: a client outside the container, holding one connection to a unix server.

    unix_client.py PATH STATE

Sends "ping 1" at once, then "ping N" each time STATE.goN appears (N = 2, 3...), and writes
the last result to STATE: "N pong" when the answer came, "N eof" / "N error E" otherwise.
Stays connected until killed.
"""
import os
import socket
import sys
import time

path, state = sys.argv[1], sys.argv[2]


def report(text):
    with open(state + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(state + ".tmp", state)


sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sk.connect(path)
n = 1
while True:
    try:
        sk.sendall(b"ping %d\n" % n)
        answer = sk.recv(64)
        report("%d %s" % (n, "pong" if answer == b"pong %d\n" % n else "eof" if not answer else "bad"))
    except OSError as e:
        report("%d error %d" % (n, e.errno))
    n += 1
    while not os.path.exists("%s.go%d" % (state, n)):
        time.sleep(0.05)
