#!/usr/bin/env bats
# Descriptor kinds of issue 14: pidfds, epoll items whose fd was closed, inotify watches on deleted
# files, unix sockets with a peer outside the container.  Each workload checks itself; each one
# is restored lazily, dumped again and restored eagerly.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# The field KEY=VALUE of status file $1.
status_field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p;s/^$2=\([^ ]*\).*/\1/p" "$1"
}

# True if the number field $1 of status file $2 is above $3.
field_above() {
	local v
	v=$(status_field "$2" "$1")
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Run workload $1 (more arguments after it) in $CT with status in $W, wait for "ok".
start_workload() {
	W="$BATS_TEST_TMPDIR/w"
	mkdir -p "$W"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/$1" --out "$W" "${@:2}"
	assert_success
	wait_until 10 grep -q ' ok$' "$W/status"
}

# Dump, restore with $2 (restore options, may be empty), wait until counter $1 moved on by 3
# with the workload still "ok" and the same pid.
dump_restore_moves_on() {
	local n pid
	pid=$(status_field "$W/status" pid)
	run "$CTSWAP" dump "$CT"
	assert_success
	n=$(status_field "$W/status" "$1")
	# shellcheck disable=SC2086 # $2 is a list of options
	run "$CTSWAP" restore $2 "$CT"
	assert_success
	wait_until 20 field_above "$1" "$W/status" $((n + 3))
	grep -q ' ok$' "$W/status" || { cat "$W/status"; false; }
	[ "$(status_field "$W/status" pid)" = "$pid" ]
}

@test "fdkinds-more: pidfds of a child: poll and waitid work after a lazy restore, a second dump and an eager restore" {
	start_workload pidfd_wait
	dump_restore_moves_on rounds ""
	dump_restore_moves_on rounds --eager
}

@test "fdkinds-more: a pidfd of a process outside the container refuses the dump, naming it; the container runs on" {
	local outside
	sleep 600 &
	outside=$!
	started "$CT"
	run "$CTSWAP" run --no-pidns "$CT" -- python3 -c '
import os, sys, time
fd = os.pidfd_open(int(sys.argv[1]))
open(sys.argv[2], "w").close()
while True:
    time.sleep(0.05)
    open(sys.argv[3], "w").write("alive %d\n" % time.monotonic_ns())' "$outside" "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/beat"
	assert_success
	# the first heartbeat, not only "ready": the refused dump is quick, the beat must already move
	wait_until 10 test -s "$BATS_TEST_TMPDIR/beat"
	run "$CTSWAP" dump "$CT"
	kill "$outside"
	assert_failure
	assert_output --regexp "^ctswap: .*pid [0-9]+: fd [0-9]+: pidfd of pid $outside, a process outside the container$"
	[ "${#lines[@]}" -eq 1 ]
	# still running, thawed: the heartbeat moves on
	local beat
	beat=$(cat "$BATS_TEST_TMPDIR/beat")
	wait_until 10 bash -c '[ "$(cat "$1")" != "$2" ]' _ "$BATS_TEST_TMPDIR/beat" "$beat"
}

@test "fdkinds-more: epoll items whose fds were closed (file kept by a dup, by a child) deliver events after restores" {
	start_workload epoll_closed
	dump_restore_moves_on rounds ""
	dump_restore_moves_on rounds --eager
}

# The inotify_deleted workload: wait until it is idle in round $1, then let it go on.
inotify_idle() {
	grep -q "rounds=$1 idle ok$" "$W/status"
}

# An inotify workload idle in round 0: dump, restore lazily, let it do round 0; dump, restore
# eagerly, let it do round 1; the same pid throughout.
inotify_restores() {
	local pid round opts
	pid=$(status_field "$W/status" pid)
	for round in 0 1; do
		run "$CTSWAP" dump "$CT"
		assert_success
		opts=()
		[ "$round" = 0 ] || opts=(--eager)
		run "$CTSWAP" restore "${opts[@]}" "$CT"
		assert_success
		touch "$W/w/go-$round"
		wait_until 20 inotify_idle $((round + 1)) || { cat "$W/status"; false; }
	done
	[ "$(status_field "$W/status" pid)" = "$pid" ]
}

@test "fdkinds-more: an inotify watch on a deleted, still open file keeps working after restores" {
	start_workload inotify_deleted
	inotify_restores
}

@test "fdkinds-more: unread inotify events (a watch whose inode is gone) refuse the dump; once read, the gap in the wds survives restores" {
	start_workload inotify_gone
	grep -q ' queued ok$' "$W/status" || { cat "$W/status"; false; }
	# IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED of the gone file: 16 bytes each
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "^ctswap: .*pid [0-9]+: fd [0-9]+: inotify instance has 48 bytes of events the program has not read \(they cannot be kept: dump again once it has read them\)$"
	[ "${#lines[@]}" -eq 1 ]
	# running and thawed, its events all there: it reads exactly those three
	touch "$W/drain"
	wait_until 20 inotify_idle 0 || { cat "$W/status"; false; }
	inotify_restores
}

# Start unix_server.py in $CT on $SOCK and an outside client connected to it ($CLIENT, state $CS).
start_unix_server_and_client() {
	SOCK="$BATS_TEST_TMPDIR/srv.sock"
	CS="$BATS_TEST_TMPDIR/client"
	start_workload unix_server.py --sock "$SOCK"
	python3 "$TOP/tests/tools/unix_client.py" "$SOCK" "$CS" 3>&- &
	CLIENT=$!
	wait_until 10 grep -q "^1 pong$" "$CS"
}

# Mode and owner of the server's socket file.
sock_mode() {
	stat -c '%a %u:%g' "$SOCK"
}

@test "fdkinds-more: a unix socket connected to a process outside refuses the dump naming both ends; the connection goes on" {
	start_unix_server_and_client
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "^ctswap: .*pid [0-9]+: fd [0-9]+: unix socket $SOCK \(inode [0-9]+\) is connected to unix socket \(unnamed\) \(inode [0-9]+, pid $CLIENT fd [0-9]+\) outside the container; use --unix-close to restore it closed$"
	[ "${#lines[@]}" -eq 1 ]
	touch "$CS.go2"
	wait_until 10 grep -q "^2 pong$" "$CS" || { cat "$CS"; false; }
	kill "$CLIENT"
}

@test "fdkinds-more: --unix-close: the restored server reads end-of-file from the outside client; its socket file keeps mode and owner" {
	start_unix_server_and_client
	[ "$(sock_mode)" = "751 4321:8765" ]
	run "$CTSWAP" dump --unix-close "$CT"
	assert_success
	kill "$CLIENT"
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 10 grep -q " eofs=1 ok$" "$W/status" || { cat "$W/status"; false; }
	[ "$(sock_mode)" = "751 4321:8765" ]
	# the listener is back: a new client is served, then leaves (eofs=2)
	start_client_once
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore --eager "$CT"
	assert_success
	[ "$(sock_mode)" = "751 4321:8765" ]
	start_client_once
	grep -q " eofs=3 ok$" "$W/status" || { cat "$W/status"; false; }
}

# A new outside client pings the server once and disconnects; wait until the server saw it leave.
start_client_once() {
	local eofs
	eofs=$(status_field "$W/status" eofs)
	run python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"ping 7\n")
assert s.recv(64) == b"pong 7\n"' "$SOCK"
	assert_success
	wait_until 10 grep -q " eofs=$((eofs + 1)) ok$" "$W/status" || { cat "$W/status"; false; }
}
