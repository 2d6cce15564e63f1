#!/usr/bin/env bats
# kill -9 of `ctswap dump` at random moments and at each named step: the
# container is left running (unfrozen, untraced, its self-check passing) or,
# when the kill came after the commit, checkpointed; the newest generation
# verifies; the next command clears the dead dump's lock and files.
#
# The random schedule: seed $FAULTS_SEED (default 8), $FAULTS_KILLS points
# (default 30) spread uniformly over the time one dump of a
# $FAULTS_MIB MiB pattern container takes (default 64, to fit CI's time).
# FAULTS_FULL=1 selects the full run: 512 MiB, 60 points.

setup() {
	load ../common
	load faults
	common_setup
	if [ -n "$FAULTS_FULL" ]; then
		MIB=${FAULTS_MIB:-512} KILLS=${FAULTS_KILLS:-60}
	else
		MIB=${FAULTS_MIB:-64} KILLS=${FAULTS_KILLS:-30}
	fi
	PAT="$BATS_TEST_TMPDIR/pat"
}
teardown() { common_teardown; }

# Milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# True once process $1 is stopped (state T).
proc_stopped() {
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]
}

# Start $CT fresh and give it a first checkpoint.
fresh_container() {
	"$CTSWAP" rm --force "$CT" >/dev/null 2>&1 || true
	start_pattern_in "$CT" "$MIB" 2 "$PAT"
	"$CTSWAP" dump "$CT" --leave-running >/dev/null
}

# Check the state after a killed (or finished) dump; $1 its exit code,
# $2 the lock text it left, $3 the generation before, $4 "leave" or "kill".
# Sets OUTCOME to running, checkpointed, inject or done.
check_after_dump() {
	local rc=$1 holder=$2 prev=$3 mode=$4 out state new
	# a killed process holds its files until the kernel has torn it down
	wait_until 10 flock -n "$CTSWAP_STORE/$CT/lock" true
	out=$("$CTSWAP" ps "$CT" 2>&1) || { echo "ps: $out"; return 1; }
	state=$(echo "$out" | awk -v n="$CT" '$1 == n { print $2 }')
	new=$(newest_gen "$CT")
	assert_lock_clear "$CT"
	assert_no_partial_files "$CT"
	[ "$state" != frozen ] || { echo "left frozen: $out"; return 1; }
	if [ "$rc" = 137 ] && [ -n "$holder" ]; then
		echo "$out" | grep -q "dump by pid [0-9]* did not finish" ||
			{ echo "no recovery message: $out"; return 1; }
	fi
	case "$holder" in *"phase inject"*)
		echo "$out" | grep -q "changing the registers of host pid" ||
			{ echo "inject window not reported: $out"; return 1; }
		[ "$state" = checkpointed ] || { echo "inject window: $state"; return 1; }
		# the window is also open while a snapshot dump releases its snapshot
		# children, after its commit: then the generation is new
		[ "$new" -ge "$prev" ] || { echo "generation $prev -> $new"; return 1; }
		OUTCOME=inject
		"$CTSWAP" inspect "$CT" --verify >/dev/null || return 1
		return 0
	esac
	case "$state" in
	running)
		assert_untraced "$CT" || return 1
		pattern_checks_again_in "$PAT" || return 1
		# a kill between the swap commit and the blob uses up a number
		[ "$new" -ge "$prev" ] || { echo "generation $prev -> $new"; return 1; }
		OUTCOME=running
		[ "$rc" = 0 ] && OUTCOME=done
		;;
	checkpointed)
		# only a dump without --leave-running kills, and only after its blob
		[ "$mode" = kill ] && [ "$new" -gt "$prev" ] ||
			{ echo "checkpointed: mode $mode, generation $prev -> $new"; return 1; }
		OUTCOME=checkpointed
		[ "$rc" = 0 ] && OUTCOME=done
		;;
	*)
		echo "unexpected state '$state': $out"
		return 1
		;;
	esac
	# reading every page back costs time: after a new generation, and now and then
	if [ "$new" != "$prev" ] || [ $((${POINT:-0} % 4)) = 0 ]; then
		"$CTSWAP" inspect "$CT" --verify >/dev/null || { echo "generation $new does not verify"; return 1; }
	fi
}

@test "kill -9 of dump at random points: running or checkpointed, never lost" {
	local t0 t1 span i delay rc holder prev mode mode_flag
	declare -A seen=()
	fresh_container
	t0=$(now_ms)
	"$CTSWAP" dump "$CT" --leave-running >/dev/null
	t1=$(now_ms)
	span=$((t1 - t0 + 20))
	echo "# kill schedule: seed ${FAULTS_SEED:-8}, $KILLS points over ${span} ms ($MIB MiB)" >&3
	RANDOM=${FAULTS_SEED:-8}
	for ((i = 1; i <= KILLS; i++)); do
		delay=$(( (RANDOM * 32768 + RANDOM) % (span * 1000) ))
		mode=leave mode_flag=--leave-running
		if [ $((i % 8)) = 0 ]; then mode=kill mode_flag=; fi
		prev=$(newest_gen "$CT")
		POINT=$i rc=0
		timeout -s KILL "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))" \
			"$CTSWAP" dump "$CT" $mode_flag -v >"$BATS_TEST_TMPDIR/dump.log" 2>&1 || rc=$?
		holder=$(cat "$CTSWAP_STORE/$CT/lock" 2>/dev/null || true)
		OUTCOME=
		if ! check_after_dump "$rc" "$holder" "$prev" "$mode"; then
			tally lost
			echo "point $i: delay ${delay} us, mode $mode, rc $rc, lock '$holder'"
			tail -5 "$BATS_TEST_TMPDIR/dump.log"
			return 1
		fi
		tally "kill-$OUTCOME"
		seen[$OUTCOME]=$((${seen[$OUTCOME]:-0} + 1))
		# the container is gone: its newest checkpoint must bring it back
		if [ "$OUTCOME" != running ] && ! [ "$OUTCOME" = done -a "$mode" = leave ]; then
			restore_and_check "$CT" "$PAT" || { tally lost; echo "point $i: no restore"; return 1; }
			tally restored
		fi
	done
	echo "# outcomes: $(for k in "${!seen[@]}"; do printf '%s=%s ' "$k" "${seen[$k]}"; done)" >&3
	# and the newest checkpoint of a container left running restores too
	run "$CTSWAP" dump "$CT"
	assert_success
	restore_and_check "$CT" "$PAT"
	tally restored
	# the schedule must have hit the dump while it worked, not only before or after
	[ "${seen[running]:-0}" -gt 0 ]
}

@test "kill -9 at each named step of a dump (dump-stop hooks)" {
	local step pid prev holder mode
	fresh_container
	for step in inject pages commit blob; do
		for mode in leave kill; do
			prev=$(newest_gen "$CT")
			CTSWAP_FAULT=dump-stop:$step "$CTSWAP" dump "$CT" $([ $mode = leave ] && echo --leave-running) \
				>/dev/null 2>&1 3>&- &
			pid=$!
			wait_until 20 proc_stopped "$pid"
			holder=$(cat "$CTSWAP_STORE/$CT/lock")
			kill -9 "$pid"
			wait "$pid" || true
			OUTCOME=
			check_after_dump 137 "$holder" "$prev" "$mode" ||
				{ tally lost; echo "step $step mode $mode"; return 1; }
			tally "kill-$OUTCOME"
			# injections are guarded: a dump killed inside one leaves it running too
			[ "$OUTCOME" = running ]
			# a kill between the swap commit and the blob leaves an unnamed
			# generation: the next dump must still work and verify
			[ "$OUTCOME" = running ] || restore_and_check "$CT" "$PAT"
		done
	done
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	pattern_checks_again_in "$PAT"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

# Start regcheck (threads that check their registers) in $CT.
start_regcheck_in() {
	mkdir -p "$2"
	rm -f "$2/status"
	started "$1"
	"$CTSWAP" run "$1" -- "$WORKLOADS/regcheck" --threads 2 --out "$2" >/dev/null || return 1
	wait_until 30 grep -q 'rounds=[1-9][0-9]* ok$' "$2/status"
}

# Wait until regcheck (status dir $1) has done 20 more rounds, all of them ok.
regcheck_goes_on() {
	local n
	n=$(grep -o 'rounds=[0-9]*' "$1/status" | cut -d= -f2)
	wait_until 20 awk -v n="$n" '{ split($1, r, "="); exit !(r[2] >= n + 20) }' "$1/status" ||
		{ echo "regcheck stalled: $(cat "$1/status")"; return 1; }
	grep -q ' ok$' "$1/status" || { echo "regcheck: $(cat "$1/status")"; return 1; }
}

@test "kill -9 at steps of every injection (guarded): each thread gets its exact registers back" {
	local n pid out st last=0 step=${FAULTS_INJECT_STEP:-4} mode
	start_regcheck_in "$CT" "$PAT"
	"$CTSWAP" dump "$CT" --leave-running >/dev/null
	# every $step-th ptrace step of the guarded injections (CTSWAP_FAULT=inject-stop:N),
	# from a seeded offset, until a dump runs through: both snapshot and killing dumps
	for ((n = 1 + ${FAULTS_SEED:-8} % step; ; n += step)); do
		mode=--leave-running
		# killing dumps have no snapshot steps at the end: mix them in early only
		[ $((n % 3)) = 0 ] && [ "$n" -le 60 ] && mode=
		CTSWAP_FAULT=inject-stop:$n "$CTSWAP" dump "$CT" $mode >"$BATS_TEST_TMPDIR/dump.log" 2>&1 3>&- &
		pid=$!
		wait_until 20 eval "proc_stopped $pid || ! kill -0 $pid 2>/dev/null"
		if ! proc_stopped "$pid"; then
			wait "$pid" || { cat "$BATS_TEST_TMPDIR/dump.log"; return 1; }
			[ -n "$mode" ] || { "$CTSWAP" restore "$CT" >/dev/null; regcheck_goes_on "$PAT"; }
			break
		fi
		kill -9 "$pid"
		wait "$pid" || true
		wait_until 10 flock -n "$CTSWAP_STORE/$CT/lock" true
		out=$("$CTSWAP" ps "$CT" 2>&1)
		st=$(echo "$out" | awk -v n="$CT" '$1 == n { print $2 }')
		[ "$st" = running ] || { tally lost; echo "step $n: $out"; return 1; }
		assert_untraced "$CT"
		regcheck_goes_on "$PAT" || { tally lost; echo "step $n"; return 1; }
		# no stray snapshot child: the next command reaped it
		for p in $(ct_pids "$CT"); do
			[ -z "$(cat /proc/$p/task/*/children 2>/dev/null)" ] ||
				{ echo "step $n: children of $p: $(cat /proc/$p/task/*/children)"; return 1; }
		done
		tally kill-running
		last=$n
	done
	echo "# killed at $(( (last + step - 1) / step )) injection steps (every ${step}th of $last)" >&3
	# a dump of regcheck takes about 30 guarded steps (over 40 before the reads of a
	# process were run as one batch): the kills reached its last ones
	[ "$last" -gt 24 ]
}

@test "a cgroup left frozen by a dead dump is thawed by the next ps, with a message" {
	start_pattern_in "$CT" 8 1 "$PAT"
	run "$CTSWAP" freeze "$CT"
	assert_success
	# exactly what a dump killed while seizing leaves: its holder line, a frozen cgroup
	sh -c 'exit 0' & dead=$!
	wait $dead
	echo "pid $dead dump" >"$CTSWAP_STORE/$CT/lock"
	run "$CTSWAP" ps "$CT"
	assert_success
	assert_output --partial "dump by pid $dead did not finish"
	assert_output --partial "thawed the container"
	assert_output --partial running
	assert_lock_clear "$CT"
	pattern_checks_again_in "$PAT"
	tally kill-running
}

@test "half-written files of a dead dump are removed by the next dump, with a message" {
	start_pattern_in "$CT" 8 1 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	head -c 1000 /dev/urandom >"$CTSWAP_STORE/$CT/swap.idx.tmp"
	head -c 1000 /dev/urandom >"$CTSWAP_STORE/$CT/ckpt-2.meta.tmp"
	echo "pid 4000000 dump" >"$CTSWAP_STORE/$CT/lock"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	assert_output --partial "removed half-written swap.idx.tmp"
	assert_output --partial "removed half-written ckpt-2.meta.tmp"
	assert_output --partial "generation 2"
	assert_no_partial_files "$CT"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	tally store
}
