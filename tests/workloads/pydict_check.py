#!/usr/bin/env python3
"""Checks a pydict.py output file: steps 1..K consecutive, each checksum as
a fresh recomputation says.  Prints "ok K" or "BAD <why>"; exit 0 only if ok."""
import sys

def main():
    path, nkeys = sys.argv[1], int(sys.argv[2])
    data = {("key%d" % i): i * 7 for i in range(nkeys)}
    text = open(path).read()
    lines = text.splitlines()
    if text and not text.endswith("\n"):
        lines.pop()  # a line cut by a kill
    for k, line in enumerate(lines, 1):
        for i in range(k % 97, nkeys, 997):
            data["key%d" % i] += k
        want = "step %d keys %d sum %d" % (k, nkeys, sum(data.values()) % 1000000007)
        if line != want:
            print("BAD line %d: %r, want %r" % (k, line, want))
            return 1
    print("ok %d" % len(lines))
    return 0

if __name__ == "__main__":
    sys.exit(main())
