#!/usr/bin/env bats
# TCP windows across dump and restore (--tcp-established): connections whose
# receiver stopped reading, the sender stalled on a zero window with data
# waiting (tests/workloads/tcp_window.py: 4 KiB buffers set by the program,
# and the kernel's own).  After the restore, before anything is read, the two
# ends of each connection must agree on the windows: a receiver that counts
# more room as advertised than its sender saw sends no update when it reads,
# and the sender waits for its own zero-window probe.  Then the data flows,
# every byte checked.  Rebuilt from the checkpoint (holders killed) in a lazy
# and an eager restore, and taken over from the holder.

setup() { load ../common; common_setup; D="$BATS_TEST_TMPDIR/w"; }
teardown() { common_teardown; }

# Round $1: wait for the zero windows, dump, restore with the rest ($2: rebuilt
# or held, then restore's options), have the workload compare, let the data flow.
round() {
	local n=$1 how=$2
	shift 2
	wait_until 30 test -e "$D/ready.$n"
	run "$CTSWAP" -v -v dump "$CT" --tcp-established
	assert_success
	if [ "$how" = rebuilt ]; then
		kill_tcp_holders $(grep -o 'socket:\[[0-9]*\]' <<<"$output" | tr -dc '0-9\n' | sort -u)
	fi
	run "$CTSWAP" -v -v restore "$@" "$CT"
	assert_success
	if [ "$how" = rebuilt ]; then
		refute_output --partial "taken over from the holder"
	else
		[ "$(grep -c 'taken over from the holder' <<<"$output")" = 4 ]
	fi
	touch "$D/check.$n"
	wait_until 20 test -e "$D/check.$n.ok" -o -e "$D/check.$n.err"
	[ ! -e "$D/check.$n.err" ] || { cat "$D/ready.$n" "$D/check.$n.err"; false; }
	wait_until 120 test -e "$D/round.$n.ok" -o -e "$D/round.$n.err"
	[ ! -e "$D/round.$n.err" ] || { cat "$D/round.$n.err"; false; }
	touch "$D/next.$n"
}

@test "tcp window: both ends of connections stalled on a zero window agree on the windows after restores, then send on" {
	mkdir -p "$D"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/tcp_window.py" "$D"
	assert_success
	round 1 rebuilt
	round 2 rebuilt --eager
	round 3 held
	touch "$D/stop"
}
