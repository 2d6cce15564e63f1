#!/usr/bin/env bats
# Concurrent commands on one container: the second is refused at once with
# an error naming the holder; nothing deadlocks (every command runs under
# `timeout`); the container and its checkpoint come out intact.

setup() {
	load ../common
	load faults
	common_setup
	PAT="$BATS_TEST_TMPDIR/pat"
	ROUNDS=${FAULTS_RACE_ROUNDS:-8}
}
teardown() {
	[ -z "$HELD" ] || kill -9 "$HELD" 2>/dev/null || true
	common_teardown
}

# True once process $1 is stopped (state T).
proc_stopped() {
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]
}

# Start `ctswap $@` held by a CTSWAP_FAULT stop hook ($HOOK); its pid in HELD.
hold() {
	CTSWAP_FAULT=$HOOK "$CTSWAP" "$@" >"$BATS_TEST_TMPDIR/held.out" 2>&1 3>&- &
	HELD=$!
	wait_until 20 proc_stopped "$HELD"
}

# Let the held command go on and check it succeeded.
release() {
	kill -CONT "$HELD"
	wait "$HELD" || { cat "$BATS_TEST_TMPDIR/held.out"; return 1; }
	HELD=
}

@test "while a dump runs: dump, restore, rm, freeze, thaw, kill are refused naming it" {
	local c
	start_pattern_in "$CT" 16 2 "$PAT"
	HOOK=dump-stop:pages hold dump "$CT" --leave-running
	for c in "dump $CT" "dump $CT --leave-running" "restore $CT" "rm --force $CT" "freeze $CT" \
		"thaw $CT" "kill $CT"; do
		run timeout 10 "$CTSWAP" $c
		assert_failure 1
		assert_output --partial "ctswap: $CT: busy: pid $HELD is running dump"
		tally race
	done
	release
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	assert_untraced "$CT"
	pattern_checks_again_in "$PAT"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	assert_lock_clear "$CT"
}

@test "while a restore runs: dump, rm and a second restore are refused naming it" {
	local c
	start_pattern_in "$CT" 16 2 "$PAT"
	run "$CTSWAP" dump "$CT"
	assert_success
	HOOK=restore-stop:locked hold restore "$CT"
	for c in "dump $CT" "restore $CT" "rm --force $CT" "kill $CT"; do
		run timeout 10 "$CTSWAP" $c
		assert_failure 1
		assert_output --partial "ctswap: $CT: busy: pid $HELD is running restore"
		tally race
	done
	release
	pattern_checks_again_in "$PAT"
	assert_untraced "$CT"
}

@test "racing pairs (dump+dump, dump+rm, dump+restore): one wins, the other is refused or runs after" {
	local i a b ra rb
	start_pattern_in "$CT" 16 2 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	for ((i = 1; i <= ROUNDS; i++)); do
		timeout 30 "$CTSWAP" dump "$CT" --leave-running >"$BATS_TEST_TMPDIR/a" 2>&1 3>&- & a=$!
		timeout 30 "$CTSWAP" dump "$CT" --leave-running >"$BATS_TEST_TMPDIR/b" 2>&1 3>&- & b=$!
		ra=0 rb=0
		wait $a || ra=$?
		wait $b || rb=$?
		# neither hung (timeout gives 124), at least one worked, a failure says busy
		[ $ra != 124 ] && [ $rb != 124 ]
		[ $ra = 0 ] || [ $rb = 0 ]
		# the holder is named once it has written itself into the lock file
		[ $ra = 0 ] || grep -Eq "busy: (pid [0-9]* is running dump|another ctswap command)" "$BATS_TEST_TMPDIR/a"
		[ $rb = 0 ] || grep -Eq "busy: (pid [0-9]* is running dump|another ctswap command)" "$BATS_TEST_TMPDIR/b"
		tally race
	done
	pattern_checks_again_in "$PAT"
	assert_untraced "$CT"
	# dump (killing) against restore of the previous checkpoint
	for ((i = 1; i <= ROUNDS / 2; i++)); do
		if ct_empty "$CT"; then "$CTSWAP" restore "$CT" >/dev/null; fi
		timeout 30 "$CTSWAP" dump "$CT" >"$BATS_TEST_TMPDIR/a" 2>&1 3>&- & a=$!
		timeout 30 "$CTSWAP" restore "$CT" >"$BATS_TEST_TMPDIR/b" 2>&1 3>&- & b=$!
		ra=0 rb=0
		wait $a || ra=$?
		wait $b || rb=$?
		[ $ra != 124 ] && [ $rb != 124 ]
		[ $ra = 0 ] || grep -Eq "busy: pid [0-9]+ is running restore|busy: another ctswap command|not running|no process to dump" "$BATS_TEST_TMPDIR/a" ||
			{ cat "$BATS_TEST_TMPDIR/a"; return 1; }
		[ $rb = 0 ] || grep -Eq "busy: pid [0-9]+ is running dump|running|busy" "$BATS_TEST_TMPDIR/b" ||
			{ cat "$BATS_TEST_TMPDIR/b"; return 1; }
		tally race
	done
	ct_empty "$CT" && { run "$CTSWAP" restore "$CT"; assert_success; }
	pattern_checks_again_in "$PAT"
	# rm --force against a dump: the container is removed whole, or the dump finishes first
	timeout 30 "$CTSWAP" dump "$CT" --leave-running >"$BATS_TEST_TMPDIR/a" 2>&1 3>&- & a=$!
	timeout 30 "$CTSWAP" rm --force "$CT" >"$BATS_TEST_TMPDIR/b" 2>&1 3>&- & b=$!
	ra=0 rb=0
	wait $a || ra=$?
	wait $b || rb=$?
	[ $ra != 124 ] && [ $rb != 124 ]
	if [ $rb = 0 ]; then
		[ ! -e "$CTSWAP_STORE/$CT" ]
		ct_empty "$CT"
	else
		grep -Eq "busy: (pid [0-9]* is running dump|another ctswap command)" "$BATS_TEST_TMPDIR/b"
		pattern_checks_again_in "$PAT"
	fi
	tally race
}
