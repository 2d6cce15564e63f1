#!/usr/bin/env bats
# kill -9 of `ctswap restore` and of the lazy server at random moments: the
# container either runs correctly (pattern's self-check passes, counters
# move) or is gone, never hung in a page fault; the checkpoint is untouched
# and restores again.  Seed $FAULTS_SEED, $FAULTS_RESTORE_KILLS points each
# (default 10; FAULTS_FULL=1: 25).

setup() {
	load ../common
	load faults
	common_setup
	PAT="$BATS_TEST_TMPDIR/pat"
	if [ -n "$FAULTS_FULL" ]; then KILLS=${FAULTS_RESTORE_KILLS:-25}; else KILLS=${FAULTS_RESTORE_KILLS:-10}; fi
	MIB=${FAULTS_MIB:-64}
}
teardown() { common_teardown; }

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Wait until container $CT is either gone or running with pattern checking
# fine; fail if it is neither within $1 seconds (hung, or running wrong).
# Sets OUTCOME to running or gone.
running_or_gone() {
	local end=$((SECONDS + $1)) n
	while [ $SECONDS -lt $end ]; do
		if ct_empty "$CT"; then
			OUTCOME=gone
			return 0
		fi
		n=$(status_field "$PAT/status" checks)
		if [ -n "$n" ] && wait_until 3 field_above "$PAT/status" checks $((n + 1)) 2>/dev/null; then
			grep -q ' ok$' "$PAT/status" || { echo "running wrong: $(cat "$PAT/status")"; return 1; }
			assert_untraced "$CT" || return 1
			OUTCOME=running
			return 0
		fi
	done
	echo "neither running nor gone after $1 s: $("$CTSWAP" ps "$CT" 2>&1)"
	ps -o pid,stat,wchan:20,cmd -p "$(ct_pids "$CT" | tr '\n' ',' | sed 's/,$//')" 2>/dev/null
	return 1
}

# Bring $CT back to "gone": kill whatever runs, wait for it.
make_gone() {
	"$CTSWAP" kill "$CT" >/dev/null 2>&1 || true
	wait_until 10 ct_empty "$CT"
}

# Time in ms one full restore and first check of $CT takes (it is left running).
time_restore() {
	local t0
	t0=$(now_ms)
	"$CTSWAP" restore "$CT" >/dev/null || return 1
	pattern_checks_again_in "$PAT" || return 1
	echo $(($(now_ms) - t0))
}

@test "kill -9 of restore at random points: running or gone, checkpoint restores again" {
	local span i delay rc seen_run=0 seen_gone=0 gen
	start_pattern_in "$CT" "$MIB" 2 "$PAT"
	run "$CTSWAP" dump "$CT"
	assert_success
	gen=$(newest_gen "$CT")
	span=$(time_restore)
	make_gone
	RANDOM=${FAULTS_SEED:-8}
	echo "# restore kill schedule: $KILLS points over $span ms" >&3
	for ((i = 1; i <= KILLS; i++)); do
		delay=$(( (RANDOM * 32768 + RANDOM) % (span * 1000) ))
		rc=0
		timeout -s KILL "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))" \
			"$CTSWAP" restore "$CT" >/dev/null 2>&1 || rc=$?
		OUTCOME=
		running_or_gone 20 || { tally lost; echo "point $i: delay $delay us, rc $rc"; return 1; }
		tally "restore-kill-$OUTCOME"
		[ "$OUTCOME" = running ] && seen_run=$((seen_run + 1)) || seen_gone=$((seen_gone + 1))
		make_gone
		# the next command clears what the dead restore left
		run "$CTSWAP" ps "$CT"
		assert_success
		assert_lock_clear "$CT"
		[ "$(newest_gen "$CT")" = "$gen" ]
	done
	echo "# restore kills: $seen_run running, $seen_gone gone" >&3
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	restore_and_check "$CT" "$PAT"
	tally restored
}

@test "kill -9 of restore once the init waits for it, before seizing it: the init exits, nothing is left; the checkpoint restores again" {
	local held
	start_pattern_in "$CT" 16 2 "$PAT"
	run "$CTSWAP" dump "$CT"
	assert_success
	CTSWAP_FAULT=restore-stop:init-ready "$CTSWAP" restore "$CT" >/dev/null 2>&1 3>&- &
	held=$!
	wait_until 20 grep -q '^State:.*stopped' "/proc/$held/status"
	# the init is there, untraced, waiting
	[ -n "$(ct_pids "$CT")" ]
	kill -9 "$held"
	wait "$held" || true
	# it reads its restorer gone and exits (it waited in pause() for ever: a container running nothing)
	wait_until 10 ct_empty "$CT"
	tally restore-kill-gone
	restore_and_check "$CT" "$PAT"
	tally restored
}

@test "kill -9 of the lazy server at random points: running or gone (watchdog), checkpoint restores again" {
	local i delay srv seen_run=0 seen_gone=0
	start_pattern_in "$CT" "$MIB" 2 "$PAT"
	run "$CTSWAP" dump "$CT"
	assert_success
	RANDOM=$((${FAULTS_SEED:-8} + 1))
	for ((i = 1; i <= KILLS; i++)); do
		"$CTSWAP" restore "$CT" >/dev/null || return 1
		srv=$(sed -n 's/^pid=//p' "$CTSWAP_STORE/$CT/lazy.state" 2>/dev/null || true)
		delay=$((RANDOM % 400))
		sleep "0.$(printf '%03d' "$delay")"
		if [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; then
			tally lazy-kill
		fi
		OUTCOME=
		running_or_gone 20 || { tally lost; echo "point $i: delay $delay ms, server $srv"; return 1; }
		tally "lazy-kill-$OUTCOME"
		[ "$OUTCOME" = running ] && seen_run=$((seen_run + 1)) || seen_gone=$((seen_gone + 1))
		if [ "$OUTCOME" = gone ]; then
			grep -q "lazy server" "$CTSWAP_STORE/$CT/lazy.log" ||
				{ echo "no reason in lazy.log"; return 1; }
		fi
		make_gone
	done
	echo "# lazy server kills: $seen_run running, $seen_gone gone" >&3
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	restore_and_check "$CT" "$PAT"
	tally restored
}
