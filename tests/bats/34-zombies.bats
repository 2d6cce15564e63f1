#!/usr/bin/env bats
# Zombies: children that exited and were not waited for come back as zombies
# of the same parent, with the same pid, group and exit status
# (tests/workloads/zombies.c checks each one without reaping it, then reaps
# them all).

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

ST() { echo "$BATS_TEST_TMPDIR/w/status"; }

# Start the workload and wait until its zombies exist.
start_zombies() {
	mkdir -p "$BATS_TEST_TMPDIR/w"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/zombies" --out "$BATS_TEST_TMPDIR/w"
	assert_success
	wait_until 10 grep -qs '^ready ' "$(ST)"
}

# Dump (it names the zombies), restore with options $2..., then check round $1.
dump_restore_check() {
	local round=$1
	shift
	run "$CTSWAP" -v dump "$CT"
	assert_success
	[ "$(grep -c 'zombie child of 1, wait status' <<<"$output")" = 5 ]
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	touch "$BATS_TEST_TMPDIR/w/check-$round"
	wait_until 10 grep -Eqs "^(round=$round ok|BAD)" "$(ST)"
	grep -qs "^round=$round ok" "$(ST)" || { cat "$(ST)"; false; }
}

# The parent reaps them all: raw status words, nothing else waitable.
reap_check() {
	touch "$BATS_TEST_TMPDIR/w/final"
	wait_until 10 grep -Eqs '^(final ok|BAD)' "$(ST)"
	grep -qs '^final ok' "$(ST)" || { cat "$(ST)"; false; }
}

@test "zombies: exit codes and signal deaths are waited for after a lazy restore, then an eager one" {
	start_zombies
	dump_restore_check 1
	dump_restore_check 2 --eager
	reap_check
}

@test "zombies: exit codes and signal deaths are waited for after an eager restore, then a lazy one" {
	start_zombies
	dump_restore_check 1 --eager
	dump_restore_check 2
	reap_check
}

@test "zombies: one that dumped core is refused at dump, naming it; the container runs on" {
	local w="$BATS_TEST_TMPDIR/w"
	mkdir -p "$w"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import os, resource, signal, sys, time
os.chdir(sys.argv[1])
resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGQUIT)
si = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
open("status", "w").write("dumped\n" if si.si_code == os.CLD_DUMPED else "nocore\n")
while True:
    open("beat", "w").write("%f\n" % time.time())
    time.sleep(0.05)' "$w"
	assert_success
	wait_until 10 test -s "$w/status"
	# where a core goes is the host's choice (core_pattern): without one there is nothing to refuse
	grep -q dumped "$w/status" || skip "this host wrote no core file"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "pid [0-9]+: zombie child of pid 1 killed by signal 3 with a core dump: not supported"
	# left running: it still beats
	rm -f "$w/beat"
	wait_until 10 test -s "$w/beat"
}
