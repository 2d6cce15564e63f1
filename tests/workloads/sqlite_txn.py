#!/usr/bin/env python3
"""SQLite with a write transaction open across a dump, for dump/restore tests.

Opens DIR/db (made by the test, table t holding the rows 1..100), begins an
IMMEDIATE transaction (SQLite's RESERVED lock: an fcntl lock on the database
file), inserts the rows 101..1100 and rewrites row 1, writes DIR/ready, then
waits for the file DIR/go.  The checkpoint is taken while it waits.  Then it
commits and checks, in the same connection and in a new one, that every row
is there; DIR/status gets "committed rows=N sum=S ok" or "... FAIL <why>".
"""
import os
import sqlite3
import sys
import time


def check(db, expect_rows, expect_sum):
    rows, total = db.execute("SELECT count(*), sum(v) FROM t").fetchone()
    if (rows, total) != (expect_rows, expect_sum):
        return "rows=%d sum=%d FAIL expected rows=%d sum=%d" % (rows, total, expect_rows, expect_sum)
    return "rows=%d sum=%d ok" % (rows, total)


def main():
    out = sys.argv[1]
    path = os.path.join(out, "db")
    db = sqlite3.connect(path, isolation_level=None, timeout=0)
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO t VALUES (?, ?)", ((i, i * 3) for i in range(101, 1101)))
    db.execute("UPDATE t SET v = 1000000 WHERE k = 1")
    open(os.path.join(out, "ready"), "w").close()
    while not os.path.exists(os.path.join(out, "go")):
        time.sleep(0.02)
    expect_sum = sum(i * 3 for i in range(2, 1101)) + 1000000
    try:
        db.execute("COMMIT")
        verdict = check(db, 1100, expect_sum)
        if verdict.endswith(" ok"):
            verdict = check(sqlite3.connect(path, timeout=5), 1100, expect_sum)
    except sqlite3.Error as e:
        verdict = "FAIL %s" % e
    with open(os.path.join(out, "status.tmp"), "w") as f:
        f.write("committed %s\n" % verdict)
    os.rename(os.path.join(out, "status.tmp"), os.path.join(out, "status"))
    return 0 if verdict.endswith(" ok") else 1


if __name__ == "__main__":
    sys.exit(main())
