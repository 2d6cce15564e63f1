#!/usr/bin/env bats
# valgrind memcheck of the ctswap commands on a small real container
# (tests/faults/valgrind.sh: ps, freeze, thaw, dump in its variants, inspect
# --verify, kill, rm): no memcheck error, no definite leak, and the pattern
# workload keeps checking its memory correctly across two restores.

setup() {
	load ../common
	load faults
	common_setup
}
teardown() { common_teardown; }

@test "memcheck: every command on a 16 MiB container is clean" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	# an ASan binary cannot run under valgrind; the sanitized suite covers it
	if grep -qa __asan_init "$CTSWAP"; then skip "$CTSWAP is built with ASan"; fi
	run "$TOP/tests/faults/valgrind.sh" 16
	echo "$output"
	assert_success
	assert_line --regexp '^valgrind: [0-9]+ commands clean$'
	echo "# ${lines[-1]}" >&3
}
