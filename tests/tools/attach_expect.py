#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run an attach command (podman attach ...), type INPUT (a line) into it
and read what it prints until EXPECT shows up; then end it (SIGTERM, SIGKILL
after 5 s) and print everything it wrote.  Exits 0 if EXPECT was seen, 1 if
not within SECONDS (the output so far is printed either way).

    attach_expect.py SECONDS INPUT EXPECT CMD...
"""
import os
import select
import signal
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 5:
        sys.stderr.write("usage: attach_expect.py SECONDS INPUT EXPECT CMD...\n")
        return 2
    seconds, line, expect = float(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
    p = subprocess.Popen(sys.argv[4:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    p.stdin.write(line.encode() + b"\n")
    p.stdin.flush()
    out, seen, end = b"", False, time.time() + seconds
    while not seen and time.time() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if not r:
            continue
        data = os.read(p.stdout.fileno(), 4096)
        if not data:
            break
        out += data
        seen = expect in out
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    sys.stdout.write(out.decode(errors="replace"))
    return 0 if seen else 1


sys.exit(main())
