#!/usr/bin/env bats
# Socket buffer sizes and their locks come back as they were
# (tests/workloads/sockbufs.py): a TCP connection the program never
# configured keeps the kernel's autotuning (SO_BUF_LOCK 0) and can grow,
# one whose buffers it set keeps them locked; UDP and unix sockets alike.
# The TCP connections are rebuilt from the checkpoint (their holder is
# killed, as after a migration): a held old socket would keep its own.

setup() { load ../common; common_setup; D="$BATS_TEST_TMPDIR/w"; }
teardown() { common_teardown; }

# Dump, rebuild every connection from the checkpoint with restore $@, and have the workload compare.
dump_restore_check() {
	run "$CTSWAP" dump "$CT" --tcp-established
	assert_success
	kill_tcp_holders $(cat "$D/inodes")
	run "$CTSWAP" -v -v restore "$@" "$CT"
	assert_success
	refute_output --partial "taken over from the holder"
	touch "$D/check"
	wait_until 20 test -e "$D/check.ok" -o -e "$D/check.err"
	[ ! -e "$D/check.err" ] || { cat "$D/before" "$D/check.err"; false; }
	rm "$D/check.ok"
}

@test "socket buffers: sizes and locks as before a lazy restore, then an eager one; autotuning goes on" {
	mkdir -p "$D"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/sockbufs.py" "$D"
	assert_success
	wait_until 30 test -e "$D/ready"
	dump_restore_check
	dump_restore_check --eager
	touch "$D/grow"
	wait_until 60 test -e "$D/grow.ok" -o -e "$D/grow.err"
	[ ! -e "$D/grow.err" ] || { cat "$D/grow.err"; false; }
	touch "$D/stop"
}
