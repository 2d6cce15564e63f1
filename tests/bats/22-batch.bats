#!/usr/bin/env bats
# Injected batches (kernel/inject/batch.c): restore rebuilds a process, and
# dump reads its signal actions, by tables of system calls run in the task
# with one stop each.  `-v` counts the calls and the round trips of each
# phase; the workloads check their own state after every restore.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# From -v output $1, phase $2: "CALLS TRIPS" ("PHASE...: ... (N injected calls, M round trips").
phase_counts() {
	echo "$1" | sed -n "s/.*$2.*(\([0-9]*\) injected calls, \([0-9]*\) round trips.*/\1 \2/p" | tail -n 1
}

# Phase $2 of -v output $1 ran at least $3 calls per round trip, and at least $4 calls.
batched() {
	local calls trips
	read -r calls trips <<<"$(phase_counts "$1" "$2")"
	[ -n "$calls" ] && [ -n "$trips" ] || { echo "no counts for '$2' in: $1"; return 1; }
	[ "$calls" -ge "$4" ] && [ $((trips * $3)) -le "$calls" ] ||
		{ echo "$2: $calls calls in $trips round trips"; return 1; }
}

# The address ranges mapped by the init of container $1, adjacent ones joined
# (the restore maps each range alone; the kernel may merge neighbours).
init_maps() {
	local pid
	pid=$("$CTSWAP" ps "$1" | awk 'NR == 2 { print $3 }')
	awk '{ split($1, r, "-") } r[1] == end { end = r[2]; next }
		{ if (start != "") print start "-" end; start = r[1]; end = r[2] }
		END { print start "-" end }' "/proc/$pid/maps"
}

# Wait until pattern ($BATS_TEST_TMPDIR/pat) has finished two more checks, and they passed.
pattern_checks_again() {
	local st="$BATS_TEST_TMPDIR/pat/status" n
	n=$(status_field "$st" checks)
	wait_until 10 awk -v n="$n" '{ for (i = 1; i <= NF; i++) if ($i ~ /^checks=/) {
		split($i, c, "="); exit !(c[2] > n + 1) } exit 1 }' "$st"
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
}

@test "batch: 5 threads rebuilt in few round trips, signal actions dumped in one; lazy, eager and again" {
	local st="$BATS_TEST_TMPDIR/pat/status" pid tids maps
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pattern" --mib 16 --threads 4 --seed 9 \
		--out "$BATS_TEST_TMPDIR/pat"
	assert_success
	wait_until 10 grep -q ' ok$' "$st"
	pid=$(status_field "$st" pid)
	tids=$(status_field "$st" tids)
	for eager in "" --eager ""; do
		maps=$(init_maps "$CT")
		run "$CTSWAP" -v dump "$CT"
		assert_success
		# 62 signal actions in one batch: far fewer round trips than calls
		batched "$output" "state collected" 2 62
		run "$CTSWAP" -v restore $eager "$CT"
		assert_success
		# mappings, fds, settings, credentials of 5 threads: 5 calls a trip at least
		batched "$output" "resources rebuilt" 5 150
		# what it mapped, no more: the batch routine and scratch range are gone
		[ "$(init_maps "$CT")" = "$maps" ] || { diff <(echo "$maps") <(init_maps "$CT"); false; }
		pattern_checks_again
		[ "$(status_field "$st" pid)" = "$pid" ]
		[ "$(status_field "$st" tids)" = "$tids" ]
	done
}

@test "batch: 4 processes passing tokens are rebuilt by batches, children reuse their parent's batch routine" {
	local st="$BATS_TEST_TMPDIR/pp/status" r calls trips shared
	mkdir -p "$BATS_TEST_TMPDIR/pp"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pipes" --out "$BATS_TEST_TMPDIR/pp"
	assert_success
	wait_until 10 grep -q ' ok$' "$st"
	for eager in "" --eager; do
		run "$CTSWAP" -v dump "$CT"
		assert_success
		r=$(status_field "$st" rounds)
		run "$CTSWAP" -v restore $eager "$CT"
		assert_success
		assert_output --partial "4 tasks"
		batched "$output" "resources rebuilt" 5 150
		# the tree: the init's rseq, scratch and routine, the unmap of what it
		# inherited from the supervisor (3 calls, one batch: its children then
		# copy nothing of it), the files they all map opened once (one batch,
		# inherited by every child), then one clone3 per child
		batched "$output" "process tree created" 1 3
		read -r calls trips <<<"$(phase_counts "$output" "process tree created")"
		shared=$(sed -n 's/.* \([0-9]*\) mapped files opened once for all 4 processes.*/\1/p' <<<"$output")
		[ "${shared:-0}" -ge 2 ] || { echo "no mapped file opened once for all: $shared"; false; }
		[ "$calls" -le $((12 + shared)) ] || { echo "tree: $calls calls, $shared shared files"; false; }
		wait_until 10 awk -v r="$r" '{ for (i = 1; i <= NF; i++) if ($i ~ /^rounds=/) {
			split($i, c, "="); exit !(c[2] > r + 10) } exit 1 }' "$st"
		grep -q ' ok$' "$st" || { cat "$st"; false; }
	done
}

# The last line of status file $1 counts more than $2 rounds.
rounds_past() {
	local n
	n=$(status_field "$1" rounds)
	[ -n "$n" ] && [ "$n" -gt "$2" ]
}

# The crowd in $CT came back as dumped and goes on: pids, groups, sessions
# as $1; CPU masks as inherited, not those of the rebuild; the token went
# round 10 times more than the $2 rounds at the dump: every process passed
# it on, every check held.
crowd_goes_on() {
	local st="$BATS_TEST_TMPDIR/cr/status"
	[ "$(task_ids "$CT")" = "$1" ] || { diff <(echo "$1") <(task_ids "$CT"); return 1; }
	wait_until 10 rounds_past "$st" $(($2 + 10))
	[[ "$(status_line "$st")" == *" ok" ]] || { status_line "$st"; return 1; }
}

# Start crowd with $1 processes in container $CT (status in $BATS_TEST_TMPDIR/cr), and see it pass.
start_crowd() {
	mkdir -p "$BATS_TEST_TMPDIR/cr"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/crowd" --procs "$1" --out "$BATS_TEST_TMPDIR/cr"
	assert_success
	wait_until 10 grep -q "procs=$1 .* ok\$" "$BATS_TEST_TMPDIR/cr/status"
}

# Each task of container $1 as its pid namespace numbers it: "pid pgid sid cpus", sorted.
task_ids() {
	local cg p
	cg=$("$CTSWAP" ps "$1" | awk 'NR == 2 { print $6 }')
	for p in $(cat "$cg/cgroup.procs"); do
		awk '$1 ~ /^NS(pid|pgid|sid):$/ { v[$1] = $NF } $1 == "Cpus_allowed_list:" { c = $2 }
			END { print v["NSpid:"], v["NSpgid:"], v["NSsid:"], c }' "/proc/$p/status"
	done | sort -n
}

@test "batch: 40 processes in sessions and groups sharing a ring of pipes and shared memory, rebuilt by two threads at once; lazy, eager and again" {
	local st="$BATS_TEST_TMPDIR/cr/status" ids r
	start_crowd 40
	ids=$(task_ids "$CT")
	[ "$(echo "$ids" | wc -l)" = 40 ]
	for eager in "" --eager ""; do
		run "$CTSWAP" -v dump "$CT"
		assert_success
		r=$(status_field "$st" rounds)
		run "$CTSWAP" -v restore $eager --threads 2 "$CT"
		assert_success
		assert_output --partial "40 tasks"
		# two CPUs or more: the processes are shared between two restoring threads
		if [ "$(nproc)" -ge 2 ]; then
			assert_output --partial "40 processes rebuilt by 2 threads at once"
		fi
		crowd_goes_on "$ids" "$r"
	done
}

@test "batch: 30 processes, one thread restoring: each created in a round trip or two, rebuilt in 3, the files they all map opened once; lazy, eager and again" {
	local st="$BATS_TEST_TMPDIR/cr/status" ids r calls trips shared
	start_crowd 30
	ids=$(task_ids "$CT")
	for eager in "" --eager ""; do
		run "$CTSWAP" -v dump "$CT"
		assert_success
		r=$(status_field "$st" rounds)
		run "$CTSWAP" -v restore $eager --threads 1 "$CT"
		assert_success
		assert_output --partial "30 tasks"
		# the program and its libraries: opened by the init before it forks, inherited
		shared=$(sed -n 's/.* \([0-9]*\) mapped files opened once for all 30 processes.*/\1/p' <<<"$output")
		[ "${shared:-0}" -ge 2 ] || { echo "$output"; false; }
		# the init's start and its files, then per process its clone3 and its setsid or setpgid
		read -r calls trips <<<"$(phase_counts "$output" "process tree created")"
		[ "$trips" -le $((2 * 30 + 6)) ] || { echo "tree: $calls calls in $trips round trips"; false; }
		# per process: its address space, its resources (fds, settings, signals, credentials, rseq), the scratch unmapped
		read -r calls trips <<<"$(phase_counts "$output" "resources rebuilt")"
		[ "$trips" -le $((3 * 30)) ] || { echo "rebuild: $calls calls in $trips round trips"; false; }
		crowd_goes_on "$ids" "$r"
	done
}

@test "batch: a dump reads each process in one batch (4 round trips a process, 5 with its snapshot fork); the tokens pass on" {
	local st="$BATS_TEST_TMPDIR/pp/status" r calls trips mode per
	mkdir -p "$BATS_TEST_TMPDIR/pp"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pipes" --out "$BATS_TEST_TMPDIR/pp"
	assert_success
	wait_until 10 grep -q ' ok$' "$st"
	for mode in --leave-running ""; do
		r=$(status_field "$st" rounds)
		run "$CTSWAP" -v dump $mode "$CT"
		assert_success
		assert_output --partial "4 tasks"
		# map scratch and batch routine, the batch of reads, unmap (and fork): no call alone
		per=4
		[ -z "$mode" ] || per=5
		read -r calls trips <<<"$(phase_counts "$output" "state collected")"
		[ "$trips" -le $((4 * per)) ] || { echo "$calls calls in $trips round trips"; false; }
		batched "$output" "state collected" 10 250
		[ -n "$mode" ] || { run "$CTSWAP" restore "$CT"; assert_success; }
		wait_until 10 awk -v r="$r" '{ for (i = 1; i <= NF; i++) if ($i ~ /^rounds=/) {
			split($i, c, "="); exit !(c[2] > r + 10) } exit 1 }' "$st"
		grep -q ' ok$' "$st" || { cat "$st"; false; }
	done
}

# The host pids of container $1's processes, one a line.
ct_procs() {
	cat "$("$CTSWAP" ps "$1" | awk 'NR == 2 { print $6 }')/cgroup.procs"
}

# Every process of container $1, pid by pid: its mappings and its tracer.
procs_state() {
	local p
	for p in $(ct_procs "$1" | sort -n); do
		echo "pid $p"
		cat "/proc/$p/maps"
		grep '^TracerPid:' "/proc/$p/status"
	done
}

# A dump of the crowd in $CT ($2: --leave-running or "") failed at dump step
# $1 left every process as $3 (procs_state) had it, and the crowd goes on.
dump_fails_at() {
	local st="$BATS_TEST_TMPDIR/cr/status" r
	r=$(status_field "$st" rounds)
	CTSWAP_FAULT=dump:$1 run "$CTSWAP" dump $2 "$CT"
	assert_failure 1
	assert_output --partial "fault injected at dump:$1"
	# no scratch mapping left, no tracer, no snapshot child (the cgroup holds them all)
	[ "$(procs_state "$CT")" = "$3" ] || { diff <(echo "$3") <(procs_state "$CT"); false; }
	wait_until 10 rounds_past "$st" $((r + 5))
	[[ "$(status_line "$st")" == *" ok" ]] || { status_line "$st"; false; }
}

@test "batch: a dump injects into 40 processes at once (a few round trips in sequence, not 4 a process); a failure in the middle of a wave leaves every one as it was" {
	local st="$BATS_TEST_TMPDIR/cr/status" before calls trips seq r step mode
	start_crowd 40
	before=$(procs_state "$CT")
	[ "$(echo "$before" | grep -c '^pid ')" = 40 ]
	echo "$before" | grep -q 'TracerPid:[[:space:]]*0$'
	# inject: the scratch mappings of the wave are made, then the reads fail;
	# fork: every snapshot child of the wave exists, then the dump fails
	for step in inject fork collect; do
		dump_fails_at "$step" --leave-running "$before"
	done
	for mode in --leave-running ""; do
		r=$(status_field "$st" rounds)
		run "$CTSWAP" -v dump $mode "$CT"
		assert_success
		assert_output --partial "40 tasks"
		# 4 calls a process (5 with its snapshot fork), the waits for them in a handful of waves
		read -r calls trips <<<"$(phase_counts "$output" "state collected")"
		seq=$(echo "$output" | sed -n 's/.*state collected (.*, \([0-9]*\) of them in sequence.*/\1/p')
		[ "$trips" -ge 160 ] && [ -n "$seq" ] && [ "$seq" -le 8 ] ||
			{ echo "$calls calls, $trips round trips, ${seq:-?} in sequence"; false; }
		if [ -z "$mode" ]; then
			run "$CTSWAP" restore "$CT"
			assert_success
		else
			[ "$(procs_state "$CT")" = "$before" ] || { diff <(echo "$before") <(procs_state "$CT"); false; }
		fi
		wait_until 10 rounds_past "$st" $((r + 10))
		[[ "$(status_line "$st")" == *" ok" ]] || { status_line "$st"; false; }
	done
}

@test "batch: /proc is read ahead on a thread from the seize on; a failure in the tree, the shape or the waves meanwhile leaves every process as it was and the checkpoint before; a read-ahead that reads nothing leaves the dump whole" {
	local st="$BATS_TEST_TMPDIR/cr/status" ids before r step mode
	start_crowd 20
	ids=$(task_ids "$CT")
	run "$CTSWAP" -v dump --leave-running "$CT"
	assert_success
	before=$(procs_state "$CT")
	for mode in --leave-running ""; do
		# tree, shape: smaps read ahead meanwhile; inject: the fds read ahead meanwhile
		for step in tree shape inject; do
			dump_fails_at "$step" "$mode" "$before"
		done
	done
	# the checkpoint before is the newest, and whole
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	assert_output --partial "generation 1"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-2.meta" ]
	# the thread reads nothing: the dump's thread reads every process, the checkpoint restores
	CTSWAP_FAULT=dump:ahead run "$CTSWAP" -v dump "$CT"
	assert_success
	assert_output --partial "20 of 20 processes read by the dump's thread itself"
	r=$(status_field "$st" rounds)
	run "$CTSWAP" restore "$CT"
	assert_success
	crowd_goes_on "$ids" "$r"
	# and the restored crowd dumps and restores again, read ahead as usual
	run "$CTSWAP" -v dump "$CT"
	assert_success
	r=$(status_field "$st" rounds)
	run "$CTSWAP" restore --eager "$CT"
	assert_success
	crowd_goes_on "$ids" "$r"
}
