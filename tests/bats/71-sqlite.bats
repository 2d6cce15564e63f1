#!/usr/bin/env bats
# SQLite (Python's sqlite3 module) holding a write transaction across dumps:
# its lock keeps other writers out after restore, and the commit lands.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# A write transaction on $1 from outside the container: must be refused.
sqlite_locked_out() {
	run timeout 30 python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO t VALUES (5000, 1)")
db.execute("COMMIT")' "$1"
	assert_failure
	assert_output --partial "database is locked"
}

@test "sqlite: a write transaction open across two dumps keeps its lock, then commits" {
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w"
	python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)")
db.executemany("INSERT INTO t VALUES (?, ?)", ((i, i * 3) for i in range(1, 101)))
db.commit()' "$w/db"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/sqlite_txn.py" "$w"
	assert_success
	wait_until 10 test -e "$w/ready"
	sqlite_locked_out "$w/db"
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore "$CT"
	assert_success
	sqlite_locked_out "$w/db"
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore --eager "$CT"
	assert_success
	sqlite_locked_out "$w/db"
	touch "$w/go"
	wait_until 10 test -e "$w/status"
	run cat "$w/status"
	assert_output "committed rows=1100 sum=2816647 ok"
	run python3 -c '
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*), sum(v) FROM t").fetchone())' "$w/db"
	assert_output "(1100, 2816647)"
}
