#!/usr/bin/env python3
"""A Python workload for dump/restore tests: builds a large dict, then keeps
computing over it and appends one line per step to OUT:
    step K keys N sum S
where S is a checksum of the dict after K steps.  Every value is a pure
function of K, so tests/workloads/pydict_check.py can verify that the
sequence is complete and correct across a checkpoint and restore."""
import sys
import time

def main():
    out, nkeys = sys.argv[1], int(sys.argv[2])
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
    data = {("key%d" % i): i * 7 for i in range(nkeys)}
    step = 0
    with open(out, "a", buffering=1) as f:
        while True:
            step += 1
            # touch a slice of the dict: deterministic in step
            for i in range(step % 97, nkeys, 997):
                data["key%d" % i] += step
            total = sum(data.values()) % 1000000007
            f.write("step %d keys %d sum %d\n" % (step, len(data), total))
            time.sleep(interval)

if __name__ == "__main__":
    main()
