#!/usr/bin/env bats
# Pseudo-terminals made inside the container (kernel/task/pty.c): a
# container has a devpts instance of its own, and its ptys come back with
# their indexes, settings, modes, owning session, foreground group and
# queued output (tests/workloads/ptys.c checks them itself); a tmux server
# in the container keeps its screen and its program; a pty of the host's
# devpts is refused.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

ST() { echo "$BATS_TEST_TMPDIR/w/status"; }

start_ptys() {
	mkdir -p "$BATS_TEST_TMPDIR/w"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/ptys" --out "$BATS_TEST_TMPDIR/w"
	assert_success
	wait_until 10 grep -Eqs '^(ready|BAD)' "$(ST)"
	grep -qs '^ready' "$(ST)" || { cat "$(ST)"; false; }
}

# Dump, restore with options $2..., then let the workload check round $1.
dump_restore_check() {
	local round=$1
	shift
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	touch "$BATS_TEST_TMPDIR/w/check-$round"
	wait_until 15 grep -Eqs "^(round=$round ok|BAD)" "$(ST)"
	grep -qs "^round=$round ok" "$(ST)" || { cat "$(ST)"; false; }
}

@test "pty: a container without --rootfs has a devpts instance of its own" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- sh -c 'exec sleep 60'
	assert_success
	local pid=$output
	[ "$(stat -c %d "/proc/$pid/root/dev/pts")" != "$(stat -c %d /dev/pts)" ]
	[ "$(stat -f -c %T "/proc/$pid/root/dev/pts")" = devpts ]
	# /dev/ptmx leads into it
	[ "$(stat -L -c %d "/proc/$pid/root/dev/ptmx")" = "$(stat -c %d "/proc/$pid/root/dev/pts")" ]
}

@test "pty: indexes, settings, lock, packet and exclusive mode, session, queued output after a lazy restore, then an eager one" {
	start_ptys
	dump_restore_check 1
	dump_restore_check 2 --eager
}

@test "pty: the same after an eager restore, then a lazy one" {
	start_ptys
	dump_restore_check 1 --eager
	dump_restore_check 2
}

@test "pty: a --leave-running dump leaves the ptys as they were, queued output included" {
	start_ptys
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	touch "$BATS_TEST_TMPDIR/w/check-1"
	wait_until 15 grep -Eqs "^(round=1 ok|BAD)" "$(ST)"
	grep -qs "^round=1 ok" "$(ST)" || { cat "$(ST)"; false; }
	# the checkpoint holds the ptys as they were before that round
	"$CTSWAP" kill "$CT"
	rm "$(ST)"
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 15 grep -Eqs "^(round=1 ok|BAD)" "$(ST)"
	grep -qs "^round=1 ok" "$(ST)" || { cat "$(ST)"; false; }
}
