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

# A container holding at fd $1 a host pty's slave ($2 = slave) or a new master
# ($2 = ptmx), reached through a bind of the host's devpts.
host_pty_container() {
	local fd=$1 what=$2 path
	python3 -c 'import os, pty, time; m, s = pty.openpty(); print(os.ttyname(s), flush=True); time.sleep(60)' \
		>"$BATS_TEST_TMPDIR/pts" &
	HOLDER=$!
	wait_until 5 test -s "$BATS_TEST_TMPDIR/pts"
	HOSTPTS="$BATS_TEST_TMPDIR/hostpts"
	PTS="$HOSTPTS/$(sed 's|/dev/pts/||' "$BATS_TEST_TMPDIR/pts")"
	mkdir "$HOSTPTS"
	mount --bind /dev/pts "$HOSTPTS"
	path=$PTS
	[ "$what" = slave ] || path=$HOSTPTS/ptmx
	started "$CT"
	run "$CTSWAP" run "$CT" -- bash -c "exec $fd<>$path; while :; do date +%s.%N >$BATS_TEST_TMPDIR/beat; sleep 0.05; done"
	umount "$HOSTPTS"
	assert_success
	wait_until 5 test -s "$BATS_TEST_TMPDIR/beat"
}

# The refused dump left it running: it still beats.
still_beats() {
	kill "$HOLDER"
	rm -f "$BATS_TEST_TMPDIR/beat"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/beat"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
}

@test "pty: a slave of the host's devpts is refused, naming the fd and the pty; the container runs on" {
	host_pty_container 7 slave
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "^ctswap: .*pid [0-9]+: fd 7: $PTS is a pty of the host's devpts, not the container's own"
	still_beats
}

@test "pty: a master of the host's devpts is refused, naming the fd and the pty; the container runs on" {
	host_pty_container 8 ptmx
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "^ctswap: .*pid [0-9]+: fd 8: $HOSTPTS/ptmx: pty [0-9]+ is of the host's devpts, not the container's own"
	still_beats
}

TMUX_SOCK() { echo "$BATS_TEST_TMPDIR/tmux.sock"; }
tm() { tmux -S "$(TMUX_SOCK)" "$@"; }
# The whole history of the window, blank lines left out.
screen() { tm capture-pane -p -S - | grep -v '^$'; }
last_count() { screen | sed -n 's/^count //p' | tail -1; }

# The counts on the screen go up by one, none missing, none twice.
counts_continuous() {
	screen | sed -n 's/^count //p' | awk 'NR > 1 && $1 != prev + 1 { print "gap after " prev ": " $1; bad = 1 } { prev = $1 } END { exit bad }'
}

# Dump, restore with options $1...: the screen is as it was, the counter runs on, keys reach it.
tmux_round() {
	local before after n key="k$RANDOM"
	run "$CTSWAP" dump "$CT"
	assert_success
	before=$(cat "$BATS_TEST_TMPDIR/screen" 2>/dev/null)
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	after=$(screen)
	# everything shown before the dump is still there, in place
	[ "${after:0:${#before}}" = "$before" ] || { echo "before: $before"; echo "after: $after"; false; }
	n=$(last_count)
	wait_until 10 eval '[ "$(last_count)" -gt $((n + 2)) ]'
	counts_continuous
	tm send-keys "$key" Enter
	wait_until 10 eval 'screen | grep -qx "got:$key"' || { screen | tail -5; tm list-panes -a; false; }
	screen >"$BATS_TEST_TMPDIR/screen"
}

@test "pty: a tmux server keeps its screen and its program across lazy and eager restores" {
	started "$CT"
	# the window's program counts in the background and answers each line typed into it
	# (a blocking read: bash's read -t drops what it read of a line when its timeout fires)
	run "$CTSWAP" run "$CT" -- bash -c "tmux -S $(TMUX_SOCK) -f /dev/null new-session -d -x 80 -y 24 \
		'bash -c '\''(i=0; while :; do i=\$((i+1)); echo count \$i; sleep 0.1; done) & while read -r line; do echo got:\$line; done'\''' \
		&& exec sleep 600"
	assert_success
	wait_until 10 eval '[ "$(last_count)" -gt 3 ]'
	screen >"$BATS_TEST_TMPDIR/screen"
	tmux_round
	tmux_round --eager
}

# The last number script's program appended to $1, 0 before the first.
last_number() {
	local n
	n=$(tail -n1 "$1" 2>/dev/null)
	echo "${n:-0}"
}

# script(1) in a poll with a timeout at the dump: after restore it must not see EINTR
# (it ends its session then); its program counts on, and the typescript records it.
script_round() {
	local n
	run "$CTSWAP" dump "$CT"
	assert_success
	n=$(last_number "$BATS_TEST_TMPDIR/count")
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	wait_until 10 eval '[ "$(last_number "$BATS_TEST_TMPDIR/count")" -gt $((n + 5)) ]'
	! grep -q "Script done" "$BATS_TEST_TMPDIR/typescript"
}

@test "pty: script(1) records a program on its pty across lazy and eager restores" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- script -qfc \
		"sh -c 'i=0; while :; do i=\$((i+1)); echo \$i >>$BATS_TEST_TMPDIR/count; echo line \$i; sleep 0.1; done'" \
		"$BATS_TEST_TMPDIR/typescript"
	assert_success
	wait_until 10 eval '[ "$(last_number "$BATS_TEST_TMPDIR/count")" -gt 3 ]'
	script_round
	script_round --eager
	n=$(last_number "$BATS_TEST_TMPDIR/count")
	wait_until 10 grep -q "line $((n + 1))" "$BATS_TEST_TMPDIR/typescript"
}

@test "pty: a /dev/tty descriptor of a pty of the container is refused, naming it; the container runs on" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.open("/dev/tty", os.O_RDWR)
    open(sys.argv[1] + ".tty", "w").close()
    time.sleep(600)
while True:
    open(sys.argv[1], "w").write("%f\n" % time.time())
    time.sleep(0.05)' "$BATS_TEST_TMPDIR/beat"
	assert_success
	wait_until 5 test -s "$BATS_TEST_TMPDIR/beat"
	wait_until 5 test -e "$BATS_TEST_TMPDIR/beat.tty"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "^ctswap: .*pid [0-9]+: fd 3: /dev/tty of a terminal other than the console \(136:0\): not supported"
	rm -f "$BATS_TEST_TMPDIR/beat"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/beat"
}
