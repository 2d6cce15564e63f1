#!/usr/bin/env bats
# redis-server with its append-only file: a background save forked by the
# restored server, and a --leave-running checkpoint restored.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

@test "redis: an append-only redis-server forks a background save after a lazy restore, then restores a --leave-running checkpoint" {
	local d=$BATS_TEST_TMPDIR/redis
	command -v redis-server >/dev/null || skip "redis-server not installed"
	mkdir -p "$d"
	# on a unix socket of its own: no TCP port another test could hold
	# (30-fdkinds has redis on 127.0.0.1)
	started "$CT"
	run "$CTSWAP" run "$CT" -- redis-server --port 0 --unixsocket "$d/sock" --unixsocketperm 700 \
		--save "" --appendonly yes --dir "$d" --daemonize no
	assert_success
	wait_until 10 redis-cli -s "$d/sock" ping
	# one awk, not a shell loop: bats traces every shell command (slow)
	seq 1 20000 | awk '{ print "SET key:" $1 " val:" $1 }' |
		timeout 60 redis-cli -s "$d/sock" --pipe >/dev/null
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore "$CT"
	assert_success
	run redis-cli -s "$d/sock" dbsize
	assert_output 20000
	# a child forked by the restored server writes every key
	run redis-cli -s "$d/sock" bgsave
	assert_output "Background saving started"
	wait_until 30 sh -c "redis-cli -s $d/sock info persistence | grep -q '^rdb_bgsave_in_progress:0'"
	run redis-cli -s "$d/sock" info persistence
	assert_output --partial "rdb_last_bgsave_status:ok"
	run redis-check-rdb "$d/dump.rdb"
	assert_success
	assert_output --partial "20000 keys read"
	run redis-cli -s "$d/sock" set before leave
	assert_output OK
	run timeout 60 "$CTSWAP" dump --leave-running "$CT"
	assert_success
	run redis-cli -s "$d/sock" set after dump
	assert_output OK
	run "$CTSWAP" kill "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore --eager "$CT"
	assert_success
	run redis-cli -s "$d/sock" dbsize
	assert_output 20001
	run redis-cli -s "$d/sock" get key:12345
	assert_output val:12345
	run redis-cli -s "$d/sock" set again restored
	assert_output OK
	run redis-cli -s "$d/sock" info persistence
	assert_output --partial "aof_last_write_status:ok"
}
