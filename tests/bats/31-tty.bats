#!/usr/bin/env bats
# The container's console: run --tty, attach, and dump/restore of a container on its terminal.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# The console log of $CT.
log() {
	echo "$CTSWAP_STORE/$CT/console.log"
}

# True once the console log holds a line matching $1.
logged() {
	grep -q -- "$1" "$(log)"
}

# Start ttyecho on a terminal in $CT and wait for its "ready".
start_ttyecho() {
	started "$CT"
	run "$CTSWAP" run "$CT" --tty -- "$WORKLOADS/ttyecho"
	assert_success
	wait_until 5 logged '^ready .*devtty=1 fg=1'
}

# Type lines $@ into the console through attach with a pipe on stdin.
type_in() {
	printf '%s\n' "$@" | "$CTSWAP" attach --wait 100 "$CT" >/dev/null
}

@test "tty: run --tty gives the init a terminal, served on console.sock (0600)" {
	start_ttyecho
	[ -S "$CTSWAP_STORE/$CT/console.sock" ]
	[ "$(stat -c %a "$CTSWAP_STORE/$CT/console.sock")" = 600 ]
	run "$CTSWAP" attach --wait 300 "$CT" <<<'state'
	assert_success
	assert_output --partial "state n=1 cols=80 rows=24 echo=1 icanon=1 ctty=1 fg=1 devtty=1"
	type_in "hello there"
	wait_until 5 logged '^echo:hello there'
}

@test "tty: attach on a real terminal sends its window size and Ctrl-] detaches" {
	start_ttyecho
	run python3 "$TOP/tests/tools/pty_attach.py" "$CTSWAP" "$CT" 100 30 state
	assert_success
	assert_output --partial "cols=100 rows=30"
	assert_output --partial "detached from $CT"
	# the container runs on, and takes another attach
	type_in "still here"
	wait_until 5 logged '^echo:still here'
}

@test "tty: dump, kill, restore keep termios, window size, controlling terminal and foreground group" {
	start_ttyecho
	type_in raw "size 123 45" state
	wait_until 5 logged '^state n=3 cols=123 rows=45 echo=0 icanon=1 ctty=1 fg=1 devtty=1'
	run "$CTSWAP" dump "$CT"
	assert_success
	[ ! -e "$CTSWAP_STORE/$CT/console.sock" ]
	run "$CTSWAP" restore "$CT"
	assert_success
	[ -S "$CTSWAP_STORE/$CT/console.sock" ]
	type_in state "after restore"
	# n=4: the same program went on; echo stays off; /dev/tty and the foreground work
	wait_until 5 logged '^state n=4 cols=123 rows=45 echo=0 icanon=1 ctty=1 fg=1 devtty=1'
	wait_until 5 logged '^echo:after restore'
	# and once more from the same checkpoint, after a leave-running dump
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	run "$CTSWAP" kill "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	type_in state
	wait_until 5 logged '^state n=6 cols=123 rows=45 echo=0'
}

@test "tty: a shell's stty settings survive dump and restore" {
	started "$CT"
	run "$CTSWAP" run "$CT" --tty -- bash -c \
		'stty cols 77 rows 33 -echo; echo ready; while read l; do echo "got:$l size=$(stty size) $(stty -a | grep -o -- "-echo ")"; done'
	assert_success
	wait_until 5 logged '^ready'
	type_in one
	wait_until 5 logged '^got:one size=33 77 -echo'
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	type_in two
	wait_until 5 logged '^got:two size=33 77 -echo'
}

@test "tty: attach errors are one clear line" {
	run "$CTSWAP" attach "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: no such container"

	started "$CT"
	run "$CTSWAP" run "$CT" -- sleep 30
	assert_success
	run "$CTSWAP" attach "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: container has no console (start it with 'ctswap run --tty')"
	run "$CTSWAP" rm --force "$CT"

	start_ttyecho
	# a second attach while one is attached
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$CTSWAP" attach "$CT" <"$BATS_TEST_TMPDIR/in" >/dev/null &
	local first=$! in
	exec {in}>"$BATS_TEST_TMPDIR/in"
	echo first >&"$in"
	wait_until 5 logged '^echo:first'
	run "$CTSWAP" attach "$CT" </dev/null
	assert_failure 1
	assert_output "ctswap: $CT: console is already attached elsewhere (one attach at a time)"
	exec {in}>&-
	wait "$first"

	# not running
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" attach "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: container is not running (checkpointed)"
}

@test "tty: attach to a console socket that is gone or stale" {
	start_ttyecho
	local sock="$CTSWAP_STORE/$CT/console.sock"
	rm "$sock"
	run "$CTSWAP" attach "$CT" </dev/null
	assert_failure 1
	assert_output "ctswap: $CT: console socket $sock is gone"
	# a socket file nobody listens on
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
	run "$CTSWAP" attach "$CT" </dev/null
	assert_failure 1
	assert_output "ctswap: $CT: console is not served (its supervisor is gone)"
}

@test "tty: a dump of a container holding a second terminal is refused" {
	# a pty of the test's own, whose slave the container opens beside its console;
	# the container has a devpts of its own, so the host's reaches it through a bind
	python3 -c 'import os, pty, time; m, s = pty.openpty(); print(os.ttyname(s), flush=True); time.sleep(30)' \
		>"$BATS_TEST_TMPDIR/pts" &
	local holder=$!
	wait_until 5 test -s "$BATS_TEST_TMPDIR/pts"
	local pts hostpts="$BATS_TEST_TMPDIR/hostpts"
	pts=$(cat "$BATS_TEST_TMPDIR/pts")
	mkdir "$hostpts"
	mount --bind /dev/pts "$hostpts"
	pts="$hostpts/${pts#/dev/pts/}"
	started "$CT"
	run "$CTSWAP" run "$CT" --tty -- bash -c "exec 7<>$pts; echo ready; exec sleep 30"
	umount "$hostpts"
	assert_success
	wait_until 5 logged '^ready'
	run "$CTSWAP" dump "$CT"
	kill "$holder"
	assert_failure 1
	assert_output --partial "fd 7: $pts is a pty of the host's devpts, not the container's own (only its console can be kept)"
	# the refused dump left it running, console and all
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	[ -S "$CTSWAP_STORE/$CT/console.sock" ]
}

@test "tty: input typed on the console and not read yet refuses the dump, naming it; the container runs on" {
	started "$CT"
	run "$CTSWAP" run "$CT" --tty -- sh -c 'echo ready; exec sleep 30'
	assert_success
	wait_until 5 logged '^ready'
	type_in "typed ahead"
	wait_until 5 logged '^typed ahead'	# echoed: it is in the terminal's input queue
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "fd 0: /dev/pts/[0-9]+ holds 12 bytes of input the program has not read \(they cannot be put back as they were\)$"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	[ -S "$CTSWAP_STORE/$CT/console.sock" ]
}

# "mode owner:group atime mtime" of the terminal on fd 0 of the container's init (its console:
# of the host's devpts, not in the container's /dev/pts, so the program reaches it by /proc/self/fd).
console_node() {
	stat -L -c '%a %u:%g %X %Y' "/proc/$("$CTSWAP" ps "$CT" | awk 'NR == 2 { print $3 }')/fd/0"
}

@test "tty: the console's node keeps the owner, mode and times the program gave it (mesg n) across dump and restore" {
	started "$CT"
	run "$CTSWAP" run "$CT" --tty -- sh -c \
		't=/proc/self/fd/0; chmod 0604 $t; chown 1234:5678 $t; echo ready; touch -d @1222222222 $t; exec sleep 60'
	assert_success
	wait_until 5 logged '^ready'
	wait_until 5 eval '[ "$(console_node)" = "604 1234:5678 1222222222 1222222222" ]'
	for eager in "" --eager; do
		run "$CTSWAP" dump "$CT"
		assert_success
		run "$CTSWAP" restore $eager "$CT"
		assert_success
		run console_node
		assert_output "604 1234:5678 1222222222 1222222222"
	done
}
