#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""unix_server: a unix stream server for clients inside or outside the container.

Listens on PATH (its socket file given mode 0751 and owner 4321:8765), answers
each line "ping N" with "pong N" and counts connections that reach end-of-file.
DIR/status is rewritten after every event:

    pid=P served=N eofs=E ok        (or "BAD <what>", sticky)

    unix_server.py --out DIR --sock PATH
"""
import os
import select
import socket
import sys

out, path = sys.argv[2], sys.argv[4]
state = {"served": 0, "eofs": 0, "bad": ""}


def write_status():
    tmp = os.path.join(out, "status.tmp")
    with open(tmp, "w") as f:
        f.write("pid=%d served=%d eofs=%d %s\n" % (os.getpid(), state["served"], state["eofs"],
                                                 state["bad"] or "ok"))
    os.rename(tmp, os.path.join(out, "status"))


def serve_line(conn, line):
    words = line.split()
    if len(words) != 2 or words[0] != b"ping":
        state["bad"] = state["bad"] or "BAD bad request %r" % line
        return
    conn.sendall(b"pong " + words[1] + b"\n")
    state["served"] += 1


def main():
    lsk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsk.bind(path)
    os.chmod(path, 0o751)
    os.chown(path, 4321, 8765)
    lsk.listen(8)
    conns = {}
    write_status()
    while True:
        ready, _, _ = select.select([lsk] + list(conns), [], [])
        for s in ready:
            if s is lsk:
                c, _ = lsk.accept()
                conns[c] = b""
                continue
            data = s.recv(4096)
            if not data:
                state["eofs"] += 1
                del conns[s]
                s.close()
            else:
                conns[s] += data
                while b"\n" in conns[s]:
                    line, conns[s] = conns[s].split(b"\n", 1)
                    serve_line(s, line)
            write_status()


main()
