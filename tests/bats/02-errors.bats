#!/usr/bin/env bats
# Every error is one line "ctswap: <what>: <why>", exit 1 (2 for usage).

setup() { load ../common; common_setup; }
teardown() {
	[ -n "${RO_MNT:-}" ] && umount "$RO_MNT" 2>/dev/null
	common_teardown
}

@test "unknown container" {
	for c in freeze thaw kill rm ps; do
		run ctswap "$c" nosuch
		assert_failure 1
		assert_output "ctswap: nosuch: no such container"
	done
}

@test "duplicate name on run" {
	ctswap run "$CT" -- sleep 1000
	started "$CT"
	run ctswap run "$CT" -- true
	assert_failure 1
	assert_output "ctswap: $CT: container already exists"
	# the first one is untouched
	run ctswap ps "$CT"
	assert_output --regexp "$CT +running"
}

@test "bad name" {
	for c in "run ../x -- true" "freeze ../x" "thaw ../x" "kill ../x" "rm ../x" "ps ../x"; do
		run ctswap $c
		assert_failure 1
		assert_output "ctswap: ../x: invalid container name (want [A-Za-z0-9][A-Za-z0-9_.-]{0,63})"
	done
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
}

@test "missing -- and other usage errors exit 2" {
	run ctswap run "$CT" sleep 1
	assert_failure 2
	assert_line --index 0 "ctswap: run: missing '--' before the command 'sleep'"
	assert_line --index 1 --partial "usage: ctswap run NAME"
	run ctswap run "$CT" --
	assert_failure 2
	assert_line --index 0 "ctswap: run: missing command after '--'"
	run ctswap run
	assert_failure 2
	run ctswap freeze "$CT" --timeout abc
	assert_failure 2
	run ctswap rm
	assert_failure 2
	run ctswap ps --bogus
	assert_failure 2
	run ctswap nosuchcommand
	assert_failure 2
	[ ! -d "$CTSWAP_STORE/$CT" ]
}

@test "CMD not found is reported and leaves nothing behind" {
	run ctswap run "$CT" -- /no/such/command arg
	assert_failure 1
	assert_output "ctswap: $CT: cannot run /no/such/command: No such file or directory"
	[ ! -d "$CTSWAP_STORE/$CT" ]
	v2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	[ ! -d "$v2/ctswap/$CT" ]
	run ctswap run "$CT-b" -- "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_output "ctswap: $CT-b: cannot run $BATS_TEST_TMPDIR: Permission denied"
	# the name is free again
	ctswap run "$CT" -- true
	started "$CT"
}

@test "freeze of a container with no tasks" {
	ctswap run "$CT" -- true
	started "$CT"
	wait_until 5 grep -q '^exit_status=' "$CTSWAP_STORE/$CT/state"
	run ctswap freeze "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: no tasks to freeze (container is not running)"
}

@test "store not writable" {
	RO_MNT=$BATS_TEST_TMPDIR/ro
	mkdir -p "$RO_MNT"
	mount -t tmpfs -o ro tmpfs "$RO_MNT"
	CTSWAP_STORE=$RO_MNT run ctswap run "$CT" -- true
	assert_failure 1
	assert_output "ctswap: $RO_MNT: store not writable: Read-only file system"
	run ctswap --store "$RO_MNT/sub" ps
	assert_failure 1
	assert_output "ctswap: $RO_MNT/sub: cannot create store: Read-only file system"
}

@test "a corrupted state file is named" {
	ctswap run "$CT" -- true
	started "$CT"
	wait_until 5 grep -q '^exit_status=' "$CTSWAP_STORE/$CT/state"
	sed -i 's/^name=/nome=/' "$CTSWAP_STORE/$CT/state"
	run ctswap ps "$CT"
	assert_failure 1
	assert_output --partial "ctswap: $CTSWAP_STORE/$CT/state: corrupted state file: checksum"
}

@test "rm of a live container without --force" {
	ctswap run "$CT" -- sleep 1000
	started "$CT"
	run ctswap rm "$CT"
	assert_failure 1
	assert_output --partial "ctswap: $CT: container is running"
	[ -d "$CTSWAP_STORE/$CT" ]
}

@test "every option takes its value as --opt=VALUE or --opt VALUE" {
	for keep in "--keep=0" "--keep 0"; do
		run ctswap dump "$CT" $keep
		assert_failure 2
		assert_line --index 0 "ctswap: --keep 0: want 1 to 64"
	done
	for keep in "--keep=3" "--keep 3"; do
		run ctswap dump "$CT" $keep
		assert_failure 1
		assert_output "ctswap: $CT: no such container"
	done
	for gen in "--gen=x" "--gen x"; do
		run ctswap restore "$CT" $gen
		assert_failure 2
		assert_line --index 0 "ctswap: --gen: want a generation number, not 'x'"
	done
	run ctswap freeze --timeout=abc "$CT"
	assert_failure 2
	assert_line --index 0 "ctswap: abc: bad timeout (seconds)"
	run ctswap rm --force=yes "$CT"
	assert_failure 2
	assert_line --index 0 "ctswap: --force: takes no value"
	run ctswap run "$CT" --log
	assert_failure 2
	assert_line --index 0 "ctswap: --log needs a value"
	[ ! -d "$CTSWAP_STORE/$CT" ]
}

@test "a command's --help lists its options from the same table as its usage" {
	run ctswap dump --help
	assert_success
	assert_line --index 0 --partial "usage: ctswap dump NAME [--leave-running]"
	assert_line --index 0 --partial "[--keep K]"
	assert_line --regexp "^  --keep K +keep K generations"
	run ctswap rm --help
	assert_line --regexp "^  -f, --force +"
}
