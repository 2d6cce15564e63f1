#!/usr/bin/env bats
# redis-server with its append-only file: a background save forked by the
# restored server, and a --leave-running checkpoint restored.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

@test "redis: an append-only redis-server forks a background save after a lazy restore, then restores a --leave-running checkpoint" {
	local port d=$BATS_TEST_TMPDIR/redis
	command -v redis-server >/dev/null || skip "redis-server not installed"
	port=$(free_port)
	mkdir -p "$d"
	started "$CT"
	run "$CTSWAP" run "$CT" -- redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly yes --dir "$d" --daemonize no
	assert_success
	wait_until 10 redis-cli -p "$port" ping
	for i in $(seq 1 20000); do echo "SET key:$i val:$i"; done |
		timeout 60 redis-cli -p "$port" --pipe >/dev/null
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore "$CT"
	assert_success
	run redis-cli -p "$port" dbsize
	assert_output 20000
	# a child forked by the restored server writes every key
	run redis-cli -p "$port" bgsave
	assert_output "Background saving started"
	wait_until 30 sh -c "redis-cli -p $port info persistence | grep -q '^rdb_bgsave_in_progress:0'"
	run redis-cli -p "$port" info persistence
	assert_output --partial "rdb_last_bgsave_status:ok"
	run redis-check-rdb "$d/dump.rdb"
	assert_success
	assert_output --partial "20000 keys read"
	run redis-cli -p "$port" set before leave
	assert_output OK
	run timeout 60 "$CTSWAP" dump --leave-running "$CT"
	assert_success
	run redis-cli -p "$port" set after dump
	assert_output OK
	run "$CTSWAP" kill "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore --eager "$CT"
	assert_success
	run redis-cli -p "$port" dbsize
	assert_output 20001
	run redis-cli -p "$port" get key:12345
	assert_output val:12345
	run redis-cli -p "$port" set again restored
	assert_output OK
	run redis-cli -p "$port" info persistence
	assert_output --partial "aof_last_write_status:ok"
}
