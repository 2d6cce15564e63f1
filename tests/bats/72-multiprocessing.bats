#!/usr/bin/env bats
# Python's multiprocessing: a Pool(4) of forked workers counting into a shared
# Value (a deleted /dev/shm file mapped shared, a semaphore there too).

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# True once the mp_pool status in $1 is past round $2 and still ok.
mp_past() {
	local r
	[ -e "$1" ] || return 1
	r=$(status_field "$1" rounds)
	[ -n "$r" ] && [ "$r" -gt "$2" ] && grep -q ' ok$' "$1"
}

# Dump, restore with options $1..., wait until the pool counted 20 rounds more.
mp_dump_restore() {
	local st=$BATS_TEST_TMPDIR/w/status n
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_success
	n=$(status_field "$st" rounds)
	run timeout 60 "$CTSWAP" restore "$@" "$CT"
	assert_success
	wait_until 30 mp_past "$st" $((n + 20)) || { cat "$st"; false; }
}

@test "python: multiprocessing.Pool(4) counts on in a shared Value after restore, lazy then eager" {
	local st=$BATS_TEST_TMPDIR/w/status pids
	mkdir -p "$BATS_TEST_TMPDIR/w"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/mp_pool.py" "$BATS_TEST_TMPDIR/w"
	assert_success
	wait_until 30 mp_past "$st" 3
	pids=$(status_field "$st" pids)
	mp_dump_restore
	mp_dump_restore --eager
	[ "$(status_field "$st" pids)" = "$pids" ]
}
