#!/usr/bin/env bats
# Processes that share what threads share (tests/workloads/sharing.c): a
# descriptor table (CLONE_FILES) or cwd, root and umask (CLONE_FS) shared with
# the parent come back shared; an address space shared without threads
# (CLONE_VM alone) is refused at once, naming both processes.

setup() { load ../common; common_setup; W="$BATS_TEST_TMPDIR/w"; }
teardown() { common_teardown; }

start_sharing() {
	mkdir -p "$W"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/sharing" "$1" "$W"
	assert_success
	wait_until 10 grep -Eqs "^(ready|beat=)" "$W/status"
}

# The --vm workload's heartbeat, and whether it is past $1.
beat_now() { sed -n 's/^beat=//p' "$W/status"; }
beat_past() { [ "$(beat_now)" -gt "$1" ]; }

# Dump (it names what the children share), restore with $2..., check round $1.
dump_restore_check() {
	local round=$1
	shift
	run "$CTSWAP" -v dump "$CT"
	assert_success
	assert_output --regexp "pid [0-9]+ shares with its parent 1: descriptor table"
	assert_output --regexp "pid [0-9]+ shares with its parent 1: fs"
	[ "$(grep -c 'shares with its parent' <<<"$output")" = 2 ]
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	touch "$W/check-$round"
	wait_until 10 grep -Eqs "^(round=$round ok|BAD)" "$W/status"
	grep -qs "^round=$round ok" "$W/status" || { cat "$W/status"; false; }
}

@test "sharing: CLONE_FILES and CLONE_FS children share with their parent after a lazy restore, then an eager one" {
	start_sharing --out
	touch "$W/check-1"
	wait_until 10 grep -Eqs "^(round=1 ok|BAD)" "$W/status"
	grep -qs "^round=1 ok" "$W/status"
	dump_restore_check 2
	dump_restore_check 3 --eager
}

@test "sharing: CLONE_FILES and CLONE_FS children share with their parent after an eager restore, then a lazy one" {
	start_sharing --out
	dump_restore_check 1 --eager
	dump_restore_check 2
}

@test "sharing: rebuilt by two threads (restore --threads 2), the children sharing with their parent are its thread's and still share; lazy, then eager" {
	start_sharing --out
	dump_restore_check 1 --threads 2
	dump_restore_check 2 --eager --threads 2
}

@test "sharing: a CLONE_VM child that is no vfork child is refused at once, naming both; the container runs on" {
	local beat
	start_sharing --vm
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "pid 1 and pid [0-9]+ share one address space \(CLONE_VM without threads\): not supported"
	beat=$(beat_now)
	wait_until 10 beat_past $((beat + 5))
}
