#!/usr/bin/env bats
# File locks (POSIX, OFD, flock) are held again after restore; outside holders refuse the dump.

setup() { load ../common; common_setup; W="$BATS_TEST_TMPDIR/w"; }
teardown() { kill_holders; common_teardown; }

HOLDERS=()

# Kill the outside lock holders a test started.
kill_holders() {
	local p
	for p in "${HOLDERS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}

# True once the workload's checks went past $1, still "ok".
checks_past() {
	local n
	n=$(status_field "$W/status" checks)
	[ -n "$n" ] && [ "$n" -gt "$1" ] && status_line "$W/status" | grep -q ' ok$'
}

start_locks() {
	mkdir -p "$W"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/locks" --out "$W"
	assert_success
	wait_until 10 checks_past 3
}

# Every lock of the workload refuses a process outside the container.
outside_locked_out() {
	local probe
	for probe in "posix.db posix 0 1" "posix.db posix 150 1" "posix.db posix 300 1" \
		"ofd.db ofd 10 1" "ofd.db posix 4000 1" "flock.db flock 0 0"; do
		# shellcheck disable=SC2086
		set -- $probe
		run "$WORKLOADS/locks" --probe "$W/$1" "$2" "$3" "$4"
		if [ "$status" -ne 0 ]; then
			echo "outside $probe: status $status $output"
			ls -li "$W"
			cat /proc/locks; tail -n 3 "$W/status"
			cat "$CTSWAP_STORE/$CT/console.log" 2>/dev/null || true
			return 1
		fi
	done
}

# Dump, restore with option $1 (or none), and check the locks and the workload.
dump_restore_locked() {
	local n
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore $1 "$CT"
	assert_success
	outside_locked_out
	n=$(status_field "$W/status" checks)
	wait_until 10 checks_past $((n + 5))
	status_line "$W/status" | grep -q ' ok$' || { tail -n 3 "$W/status"; false; }
}

# The waiter, re-queued by the restore, gets the lock once the parent releases it.
waiter_gets_lock() {
	[ ! -e "$W/waiter" ]
	touch "$W/release"
	wait_until 10 test -e "$W/waiter" || {
		# is the workload alive? (a dead init takes every lock of the container with it)
		echo "no waiter file"; tail -n 3 "$W/status"; cat /proc/locks
		cat "$CTSWAP_STORE/$CT/console.log" 2>/dev/null || true
		false
	}
	run cat "$W/waiter"
	assert_output got
	outside_locked_out
}

@test "locks: POSIX, OFD and flock locks held again after a lazy restore, then an eager one" {
	start_locks
	outside_locked_out
	dump_restore_locked
	dump_restore_locked --eager
	waiter_gets_lock
}

@test "locks: POSIX, OFD and flock locks held again after an eager restore, then a lazy one" {
	start_locks
	dump_restore_locked --eager
	dump_restore_locked
	waiter_gets_lock
}

@test "locks: a lock held outside the container on its file refuses the dump, naming it" {
	local pid n
	start_locks
	"$WORKLOADS/locks" --hold "$W/ofd.db" posix 9000 1 >"$BATS_TEST_TMPDIR/held" &
	pid=$!
	HOLDERS+=("$pid")
	wait_until 10 grep -q held "$BATS_TEST_TMPDIR/held"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output "ctswap: $W/ofd.db: pid $pid (locks) outside the container holds a POSIX write lock (bytes 9000-9000) on it"
	kill "$pid"
	wait "$pid" || true
	# an OFD lock outside, on a range the container does not lock
	"$WORKLOADS/locks" --hold "$W/flock.db" ofd 0 1 >"$BATS_TEST_TMPDIR/held4" &
	pid=$!
	HOLDERS+=("$pid")
	wait_until 10 grep -q held "$BATS_TEST_TMPDIR/held4"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output "ctswap: $W/flock.db: an open file description (OFD lock) outside the container holds an OFD write lock (bytes 0-0) on it"
	kill "$pid"
	# the container runs on, thawed, its locks held
	run "$CTSWAP" ps
	assert_output --regexp "$CT +running"
	n=$(status_field "$W/status" checks)
	wait_until 10 checks_past $((n + 3))
	outside_locked_out
}

@test "locks: an outside process waiting for the container's lock refuses the dump" {
	local pid
	command -v flock >/dev/null || skip "flock(1) not installed"
	start_locks
	flock "$W/flock.db" true &
	pid=$!
	HOLDERS+=("$pid")
	wait_until 10 grep -q -- "-> FLOCK .* $pid " /proc/locks
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --partial "ctswap: $W/flock.db: pid $pid (flock) outside the container waits for a flock write lock on it"
	kill "$pid"
	wait "$pid" || true
	dump_restore_locked
}

@test "locks: a restore refuses while an outside process holds a lock the container held" {
	local pid
	start_locks
	run "$CTSWAP" dump "$CT"
	assert_success
	"$WORKLOADS/locks" --hold "$W/posix.db" posix 150 1 >"$BATS_TEST_TMPDIR/held" &
	pid=$!
	HOLDERS+=("$pid")
	wait_until 10 grep -q held "$BATS_TEST_TMPDIR/held"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output "ctswap: pid 2: cannot take its POSIX write lock (bytes 100-199) on $W/posix.db again: pid $pid (locks) holds a conflicting lock"
	kill "$pid"
	wait "$pid" || true
	run "$CTSWAP" restore "$CT"
	assert_success
	outside_locked_out
}

@test "locks: a --leave-running dump leaves the locks held; restored once the container is killed" {
	local n
	start_locks
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	outside_locked_out
	n=$(status_field "$W/status" checks)
	wait_until 10 checks_past $((n + 3))
	run "$CTSWAP" kill "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	outside_locked_out
	n=$(status_field "$W/status" checks)
	wait_until 10 checks_past $((n + 5))
	waiter_gets_lock
}
