#!/usr/bin/env bats
# Established TCP connections restored alive (--tcp-established, TCP_REPAIR).
# A server in the container exchanges numbered lines both ways with a client
# on the host (containers share the host network namespace) and checks every
# line; the client must see no reset, no EOF, no gap and no duplicate across
# dump and restore.

setup() { load ../common; common_setup; CLIENT=; }
teardown() {
	[ -n "$CLIENT" ] && kill "$CLIENT" 2>/dev/null
	common_teardown
}

# Lines received so far by $1 (server or client).
received() {
	cat "$BATS_TEST_TMPDIR/$1.status" 2>/dev/null || echo 0
}

# Both sides have received more than $1 lines.
both_past() {
	[ "$(received server)" -gt "$1" ] && [ "$(received client)" -gt "$1" ]
}

# Start the server in the container and the client on the host, family $1.
start_pair() {
	local d="$BATS_TEST_TMPDIR"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/tcp_seq.py" server "$1" "$d"
	assert_success
	wait_until 10 test -s "$d/port"
	python3 "$WORKLOADS/tcp_seq.py" client "$1" "$(cat "$d/port")" "$d" 3>&- &
	CLIENT=$!
	wait_until 10 both_past 500
}

# Dump with --tcp-established, restore, and check the exchange goes on intact.
alive_across_restore() {
	local at
	start_pair "$1"
	# the server stops reading until unread data waits for it: the dump finds some, always
	touch "$BATS_TEST_TMPDIR/hold"
	wait_until 10 test -e "$BATS_TEST_TMPDIR/server.held"
	run "$CTSWAP" -v -v dump "$CT" --tcp-established
	assert_success
	# the connection had data queued at the dump: unread by the server, unacked or unsent to the client
	assert_output --regexp "tcp: pid [0-9]+ fd [0-9]+: snd [0-9]+ \([0-9]+ queued, [0-9]+ unsent\) rcv [0-9]+ \([1-9][0-9]* unread\)"
	kill -0 "$CLIENT"
	[ ! -e "$BATS_TEST_TMPDIR/client.err" ]
	run "$CTSWAP" restore "$CT"
	assert_success
	rm "$BATS_TEST_TMPDIR/hold"
	at=$(received client)
	wait_until 20 both_past $((at + 2000))
	touch "$BATS_TEST_TMPDIR/stop"
	wait "$CLIENT" || { cat "$BATS_TEST_TMPDIR"/*.err; false; }
	CLIENT=
	[ ! -e "$BATS_TEST_TMPDIR/client.err" ]
	[ ! -e "$BATS_TEST_TMPDIR/server.err" ]
}

@test "tcp-established: an IPv4 connection with a host client lives on across dump and restore" {
	alive_across_restore 4
}

@test "tcp-established: an IPv6 connection with a host client lives on across dump and restore" {
	alive_across_restore 6
}

@test "tcp-established: the default refuses, naming the connection; --leave-running is refused" {
	start_pair 4
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "fd [0-9]+: established TCP connection 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+; use --tcp-close"
	run "$CTSWAP" dump "$CT" --leave-running --tcp-established
	assert_failure
	assert_output --partial "--tcp-established cannot be used with --leave-running"
	# the refused dumps left the connection running
	local at=$(received client)
	wait_until 10 both_past $((at + 500))
	[ ! -e "$BATS_TEST_TMPDIR/client.err" ]
}

@test "tcp-established: a failed dump takes repair mode off and the connection goes on" {
	start_pair 4
	CTSWAP_FAULT=dump:commit run "$CTSWAP" dump "$CT" --tcp-established
	assert_failure
	local at=$(received client)
	wait_until 10 both_past $((at + 500))
	[ ! -e "$BATS_TEST_TMPDIR/client.err" ]
	[ ! -e "$BATS_TEST_TMPDIR/server.err" ]
}

@test "tcp-established: --tcp-close restores the connection reset" {
	start_pair 4
	run "$CTSWAP" dump "$CT" --tcp-close
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	# the server's next write or read fails: ECONNRESET
	wait_until 10 grep -q "Connection reset" "$BATS_TEST_TMPDIR/server.err"
}

@test "tcp-established: rm of a dumped container ends its held connections (the peer sees them close)" {
	start_pair 4
	run "$CTSWAP" dump "$CT" --tcp-established
	assert_success
	kill -0 "$CLIENT"
	ss -xl | grep -q ctswap-tcp-hold-
	run "$CTSWAP" -v rm "$CT"
	assert_success
	assert_output --partial "closed 1 TCP connection held for its restore"
	# the client gets EOF or a reset instead of waiting on a silent connection
	wait_until 10 test -e "$BATS_TEST_TMPDIR/client.err"
	run wait "$CLIENT"
	assert_failure
	CLIENT=
	grep -Eq "EOF|reset|Connection" "$BATS_TEST_TMPDIR/client.err"
	! ss -xl | grep -q ctswap-tcp-hold-
}
