#!/usr/bin/env bats
# TCP between two processes of the same container, both ends in the
# checkpoint (--tcp-established): a client and a server with full buffers
# (megabytes with the kernel's own sizes) of unread data queued in both
# directions at the dump, half-read lines, and the server's listening socket
# still open (tests/workloads/tcp_pair.py checks every line and answers a
# new connection after the restores).

setup() { load ../common; common_setup; D="$BATS_TEST_TMPDIR/w"; }
teardown() { common_teardown; }

# Lines received so far by $1 (server or client).
received() {
	cat "$D/$1.status" 2>/dev/null || echo 0
}

# Both sides have received more than $1 lines.
both_past() {
	[ "$(received server)" -gt "$1" ] && [ "$(received client)" -gt "$1" ]
}

# No side has reported an error.
no_errors() {
	[ ! -e "$D/client.err" ] && [ ! -e "$D/server.err" ] || { cat "$D"/*.err; false; }
}

# Start the pair, family $1, buffers $2: default (the kernel's, megabytes queued) or small.
start_pair() {
	mkdir -p "$D"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/tcp_pair.py" "$1" "$D" "${2:-default}"
	assert_success
	wait_until 10 both_past 500
}

# The inode of the first socket a dump's -v -v output (stdin) put in repair mode:
# its holder listens on @ctswap-tcp-hold-INODE (other tests may hold sockets too).
held_inode() {
	local out pf
	out=$(cat)
	pf=$(grep -m1 -o 'tcp: pid [0-9]* fd [0-9]*' <<<"$out" | awk '{print $3 " " $5}')
	grep -o "files: pid ${pf% *}: fd ${pf#* } -> file [0-9]* (socket:\[[0-9]*\])" <<<"$out" |
		grep -o '\[[0-9]*\]' | tr -d '[]'
}

# No holder listens for the socket with inode $1 any more.
held_gone() {
	! ss -xl | grep -q "@ctswap-tcp-hold-$1 "
}

# Stop both readers until every queue is full, dump, restore with $@, read on.
# With GONE=1 the holder of the old sockets is killed before the restore, as
# after a migration: both ends are rebuilt from the checkpoint.
hold_dump_restore() {
	local at holder ino
	rm -f "$D"/*.held "$D"/*.room
	touch "$D/hold"
	wait_until 30 test -e "$D/server.held" -a -e "$D/client.held" || { ls "$D"; no_errors; false; }
	run "$CTSWAP" -v -v dump "$CT" --tcp-established
	assert_success
	# both ends: unsent bytes and unread bytes queued at the dump
	[ "$(grep -Ec 'tcp: pid [0-9]+ fd [0-9]+: snd [0-9]+ \([1-9][0-9]* queued, [0-9]+ unsent\) rcv [0-9]+ \([1-9][0-9]* unread\)' <<<"$output")" = 2 ] ||
		{ grep 'tcp: pid' <<<"$output"; false; }
	if [ "${GONE:-0}" = 1 ]; then
		ino=$(held_inode <<<"$output")
		holder=$(ss -xlp | grep -m1 "@ctswap-tcp-hold-$ino " | grep -o 'pid=[0-9]*' | cut -d= -f2)
		[ -n "$holder" ]
		kill -9 "$holder"
		# asked again each time: SIGKILL takes a moment, and the socket goes with the process
		wait_until 10 held_gone "$ino"
	fi
	run "$CTSWAP" -v -v restore "$@" "$CT"
	assert_success
	# the old sockets themselves go on (taken from their holder), else new ones are rebuilt
	if [ "${GONE:-0}" = 1 ]; then
		refute_output --partial "taken over from the holder"
	else
		[ "$(grep -c 'taken over from the holder' <<<"$output")" = 2 ]
	fi
	at=$(received client)
	[ "$(received server)" -lt "$at" ] || at=$(received server)
	rm "$D/hold"
	wait_until 60 both_past $((at + 2000))
	no_errors
}

# The listener answers a new connection; both stop cleanly, with no error.
probe_and_stop() {
	touch "$D/probe"
	wait_until 10 test -e "$D/probe.ok"
	touch "$D/stop"
	# each side reads what the other still had queued (megabytes) before it ends
	wait_until 60 test -e "$D/server.done" -a -e "$D/client.done" || { ls "$D"; no_errors; false; }
	no_errors
}

@test "tcp pair: an IPv4 client and server in one container go on after a lazy restore, then an eager one" {
	start_pair 4
	hold_dump_restore
	hold_dump_restore --eager
	probe_and_stop
}

@test "tcp pair: an IPv6 client and server in one container go on after an eager restore, then a lazy one" {
	start_pair 6 small
	hold_dump_restore --eager
	hold_dump_restore
	probe_and_stop
}

@test "tcp pair: with the held sockets gone (as after a migration) both ends are rebuilt from the checkpoint" {
	start_pair 4
	GONE=1 hold_dump_restore
	hold_dump_restore --eager
	probe_and_stop
}
