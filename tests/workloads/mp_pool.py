#!/usr/bin/env python3
"""multiprocessing.Pool(4) counting into a shared Value, for dump/restore tests.

The pool's workers add to a multiprocessing.Value (shared memory of a deleted
file in /dev/shm, guarded by a semaphore that lives there too) and return what
they added; the parent sums the results it got back.  Both totals must agree
at every step: a lost shared mapping, semaphore or pipe shows as a mismatch,
an exception or a hang.  Writes DIR/status, replaced each round:
    rounds=N count=C pids=P1,P2,.. ok      (or ... FAIL <why>)
"""
import multiprocessing as mp
import os
import sys
import time

counter = None


def init(shared):
    global counter
    counter = shared


def add(n):
    with counter.get_lock():
        counter.value += n
    return n


def write_status(out, text):
    tmp = os.path.join(out, "status.tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(out, "status"))


def main():
    out = sys.argv[1]
    shared = mp.Value("q", 0)
    expect = 0
    rounds = 0
    with mp.Pool(4, initializer=init, initargs=(shared,)) as pool:
        pids = ",".join(str(p.pid) for p in pool._pool)
        while True:
            rounds += 1
            expect += sum(pool.map(add, range(1, 41), chunksize=1))
            got = shared.value
            verdict = "ok" if got == expect else "FAIL count %d expected %d" % (got, expect)
            write_status(out, "rounds=%d count=%d pids=%s %s" % (rounds, got, pids, verdict))
            if got != expect:
                return 1
            time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
