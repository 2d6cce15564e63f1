#!/usr/bin/env bats
# PostgreSQL 15 (Debian's postgresql-15) through dump and restore: a server
# whose shared buffers and catalog caches were filled by backends that have
# exited, unix socket and 127.0.0.1 listeners, pgbench clients after restore.

setup() {
	load ../common
	common_setup
	command -v "$PGBIN/postgres" >/dev/null || skip "postgresql-15 not installed (scripts/setup-deps.sh)"
	id postgres >/dev/null 2>&1 || skip "no postgres user (postgresql-15 makes it)"
	# the server runs as postgres: its directories cannot be in the 0700 test dir
	PGROOT=$(mktemp -d /tmp/ctswap-pg.XXXXXX)
	chmod 755 "$PGROOT"
	PGPORT=$(free_port)
}

teardown() {
	common_teardown
	rm -rf "$PGROOT"
}

PGBIN=/usr/lib/postgresql/15/bin

# psql as user postgres (not root: the socket file's mode matters) through
# the unix socket; prints rows unaligned.
pg_sql() {
	timeout 60 runuser -u postgres -- "$PGBIN/psql" -h "$PGROOT/sock" -p "$PGPORT" -qAtX \
		-v ON_ERROR_STOP=1 -c "$1" postgres
}

# Fails (printing the server's log tail) unless a new connection gets an answer.
pg_answers() {
	local out
	out=$(pg_sql "SELECT 42" 2>&1) && [ "$out" = 42 ] && return 0
	echo "psql: $out"
	tail -n 20 "$CTSWAP_STORE/$CT/console.log"
	return 1
}

# initdb, then the server in container $CT listening on $PGROOT/sock and
# 127.0.0.1:$PGPORT; a table t of 100k rows with an index, and pgbench -i.
pg_start() {
	mkdir -p "$PGROOT/data" "$PGROOT/sock"
	chown postgres:postgres "$PGROOT/data" "$PGROOT/sock"
	chmod 700 "$PGROOT/data"
	run timeout 60 runuser -u postgres -- "$PGBIN/initdb" -D "$PGROOT/data" -A trust \
		-U postgres --no-sync
	assert_success
	started "$CT"
	run "$CTSWAP" run "$CT" -- setpriv --reuid postgres --regid postgres --init-groups \
		"$PGBIN/postgres" -D "$PGROOT/data" -k "$PGROOT/sock" -p "$PGPORT" \
		-c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB \
		-c max_connections=20 -c autovacuum=off -c wal_level=minimal -c max_wal_senders=0
	assert_success
	wait_until 30 "$PGBIN/pg_isready" -q -U postgres -h "$PGROOT/sock" -p "$PGPORT"
	run pg_sql "CREATE EXTENSION amcheck;
		CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 100000) i;
		CREATE UNIQUE INDEX t_i ON t (i)"
	assert_success
	run timeout 60 "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -i -q postgres
	assert_success
	SUM=$(pg_sql "SELECT md5(string_agg(v, ',' ORDER BY i)) FROM t")
	[ ${#SUM} = 32 ]
}

# The server answers a new connection, t and its index are as before, pgbench's
# balances add up, every btree index checks, and pgbench -T $1 -c 4 over TCP
# runs without a failed transaction.
pg_intact() {
	pg_answers
	run pg_sql "SELECT md5(string_agg(v, ',' ORDER BY i)) FROM t"
	assert_success
	assert_output "$SUM"
	run pg_sql "SELECT count(*) FROM t WHERE i BETWEEN 40000 AND 40009"
	assert_output 10
	run pg_sql "SELECT (SELECT sum(abalance) FROM pgbench_accounts) =
		(SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
	assert_output t
	run pg_sql "SELECT count(bt_index_check(c.oid)) > 0 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree'"
	assert_success
	assert_output t
	run timeout 60 "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -T "$1" -c 4 -n postgres
	assert_success
	assert_output --partial "number of failed transactions: 0 "
	run pg_sql "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history)"
	assert_output t
}

@test "postgres: lazy restore answers, keeps its data and runs pgbench; again after a second dump and an eager restore" {
	pg_start
	run timeout 120 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 120 "$CTSWAP" restore "$CT"
	assert_success
	pg_intact 5
	run timeout 120 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 120 "$CTSWAP" restore --eager "$CT"
	assert_success
	pg_intact 3
}

@test "postgres: eager restore, then a --leave-running checkpoint restored lazily" {
	pg_start
	run timeout 120 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 120 "$CTSWAP" restore --eager "$CT"
	assert_success
	pg_intact 3
	# A periodic checkpoint: the server goes on, answering, and is restored
	# after it is killed.  Its files must still be those of the dump (ctswap
	# keeps memory, not the disk): CHECKPOINT first, so that no dirty buffer
	# is written out in between, and no write after it (wal_level=minimal:
	# no standby snapshot record is appended to the WAL every 15 s).
	run pg_sql CHECKPOINT
	assert_success
	run timeout 120 "$CTSWAP" dump --leave-running "$CT"
	assert_success
	pg_answers
	run "$CTSWAP" kill "$CT"
	assert_success
	run timeout 120 "$CTSWAP" restore "$CT"
	assert_success
	pg_intact 3
}

@test "postgres: a --leave-running checkpoint after which the server wrote its files is not restored as if nothing happened" {
	pg_start
	run timeout 120 "$CTSWAP" dump --leave-running "$CT"
	assert_success
	# the server goes on and commits: its data files and WAL change
	run timeout 60 "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -T 2 -c 2 -n postgres
	assert_success
	run pg_sql CHECKPOINT
	assert_success
	run "$CTSWAP" kill "$CT"
	assert_success
	# memory from before, files from after: refused, naming a changed file ...
	run timeout 120 "$CTSWAP" restore "$CT"
	if [ "$status" != 0 ]; then
		assert_output --regexp "^ctswap: .*: (modified|removed or renamed|changed) since the dump"
		return 0
	fi
	# ... or, if restored, consistent
	pg_intact 2
}

@test "postgres: a dump while a client is connected through the unix socket refuses, naming it; server and session go on" {
	local in=$BATS_TEST_TMPDIR/in out=$BATS_TEST_TMPDIR/out pid w
	pg_start
	mkfifo "$in"
	chmod 666 "$in"
	runuser -u postgres -- timeout 60 "$PGBIN/psql" -h "$PGROOT/sock" -p "$PGPORT" -qAtX postgres <"$in" >"$out" 2>&1 &
	pid=$!
	exec {w}>"$in"
	echo "SELECT 'before', count(*) FROM t;" >&"$w"
	wait_until 10 grep -q '^before|100000$' "$out"
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "^ctswap: pid [0-9]+: fd [0-9]+: unix socket $PGROOT/sock/\.s\.PGSQL\.$PGPORT \(inode [0-9]+\) is connected to unix socket .* outside the container; use --unix-close"
	echo "SELECT 'after', count(*) FROM t;" >&"$w"
	exec {w}>&-
	wait "$pid"
	run cat "$out"
	assert_output "before|100000
after|100000"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	pg_intact 2
}
