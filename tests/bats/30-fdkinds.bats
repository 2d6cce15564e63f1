#!/usr/bin/env bats
# Open files beyond files and pipes: workloads that use them check themselves after restore.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# True if the number field $1 of status file $2 is above $3.
field_above() {
	local v
	v=$(status_field "$2" "$1")
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Run workload $1 in $CT with status in $BATS_TEST_TMPDIR/w, wait for "ok".
start_workload() {
	mkdir -p "$BATS_TEST_TMPDIR/w"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/$1" --out "$BATS_TEST_TMPDIR/w"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/w/status"
}

# Dump, restore, and wait until counter $1 moved on by $2 with the workload still "ok".
dump_restore_moves_on() {
	local st="$BATS_TEST_TMPDIR/w/status" n
	run "$CTSWAP" dump "$CT"
	assert_success
	n=$(status_field "$st" "$1")
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 10 field_above "$1" "$st" $((n + $2))
	grep -q ' ok$' "$st" || { cat "$st"; false; }
}

@test "fdkinds: an epoll loop with a timerfd and an eventfd keeps ticking after restore" {
	start_workload epoll_tick
	dump_restore_moves_on ticks 20
}

@test "fdkinds: unix ping-pong over an accepted stream and a dgram pair after restore" {
	local pids
	start_workload unix_pingpong
	pids=$(status_field "$BATS_TEST_TMPDIR/w/status" pids)
	dump_restore_moves_on rounds 100
	[ "$(status_field "$BATS_TEST_TMPDIR/w/status" pids)" = "$pids" ]
}

@test "fdkinds: an established TCP connection refuses the dump, naming it" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
open(sys.argv[1], "w").close()
time.sleep(600)' "$BATS_TEST_TMPDIR/ready"
	assert_success
	wait_until 10 test -e "$BATS_TEST_TMPDIR/ready"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "fd [0-9]+: established TCP connection 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+; use --tcp-close to restore it reset"
	run "$CTSWAP" dump "$CT" --tcp-close
	assert_success
}

@test "fdkinds: python3 -m http.server serves a file again after restore" {
	local port=$((20000 + $$ % 10000))
	command -v curl >/dev/null || skip "curl not installed"
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "hello from $CT" >"$BATS_TEST_TMPDIR/www/index.txt"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -m http.server "$port" --bind 127.0.0.1 \
		--directory "$BATS_TEST_TMPDIR/www"
	assert_success
	wait_until 10 curl -sf "http://127.0.0.1:$port/index.txt"
	run "$CTSWAP" dump "$CT"
	assert_success
	run curl -s --max-time 1 "http://127.0.0.1:$port/index.txt"
	assert_failure
	run "$CTSWAP" restore "$CT"
	assert_success
	run curl -sf --max-time 5 "http://127.0.0.1:$port/index.txt"
	assert_success
	assert_output "hello from $CT"
}

@test "fdkinds: redis-server keeps 100k keys and takes new writes after restore" {
	local port=$((30000 + $$ % 10000)) i
	command -v redis-server >/dev/null || skip "redis-server not installed"
	started "$CT"
	run "$CTSWAP" run "$CT" -- redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --daemonize no
	assert_success
	wait_until 10 redis-cli -p "$port" ping
	for i in $(seq 1 100000); do echo "SET key:$i val:$i"; done | redis-cli -p "$port" --pipe >/dev/null
	run redis-cli -p "$port" dbsize
	assert_output 100000
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	run redis-cli -p "$port" dbsize
	assert_output 100000
	run redis-cli -p "$port" get key:77777
	assert_output val:77777
	run redis-cli -p "$port" set after restore
	assert_output OK
	run redis-cli -p "$port" get after
	assert_output restore
}
