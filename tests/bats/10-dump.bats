#!/usr/bin/env bats
# ctswap dump: real containers, checked through inspect, /proc and the
# workloads' own self-checks.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# Host pids of every process in container $1.
ct_pids() {
	grep -l ":/ctswap/$1\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3
}

# Container $1 has a second process (asked again at each call).
two_processes() {
	[ -n "$(ct_pids "$1" | sed -n 2p)" ]
}

# Fail unless no thread of container $1 is traced (one that exits meanwhile is not).
assert_untraced() {
	local p s t
	for p in $(ct_pids "$1"); do
		for s in /proc/"$p"/task/*/status; do
			t=$(grep '^TracerPid:' "$s" 2>/dev/null) || continue
			if ! [[ $t =~ ^TracerPid:[[:space:]]*0$ ]]; then
				echo "$s: $t"
				return 1
			fi
		done
	done
}

# Fail unless container $1 is running (not frozen, not gone).
assert_running() {
	run "$CTSWAP" ps "$1"
	assert_success
	assert_output --partial running
	[ -n "$(ct_pids "$1")" ]
}

# Start the pattern workload in $CT: $1 MiB, $2 threads; status in $BATS_TEST_TMPDIR/pat.
start_pattern() {
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pattern" --mib "$1" --threads "$2" --seed 42 \
		--out "$BATS_TEST_TMPDIR/pat"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/pat/status"
}

# True once field $2 of status file $1 is above $3.
field_above() {
	local v
	v=$(status_field "$1" "$2")
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Wait until pattern has finished a check that began after now, and it passed.
pattern_checks_again() {
	local st="$BATS_TEST_TMPDIR/pat/status" n
	n=$(status_field "$st" checks)
	wait_until 10 field_above "$st" checks $((n + 1))
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
}

# The number before WORD in the dump summary line held in $output.
summary_count() {
	echo "$output" | grep -o "[0-9]* $1" | head -1 | cut -d' ' -f1
}

@test "dump of a shell loop: inspect shows its tasks and mappings, container is gone" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- sh -c 'while :; do sleep 0.1; done'
	assert_success
	sleep 0.3
	run "$CTSWAP" dump "$CT"
	assert_success
	assert_output --partial "dumped $CT: generation 1"
	[ -z "$(ct_pids "$CT")" ]
	run "$CTSWAP" inspect "$CT"
	assert_success
	assert_output --partial "generation 1"
	assert_output --partial " sh"
	assert_output --partial "[stack]"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

# dash vforks every command: a dump that freezes the parent in vfork must
# let the child run to its exec or exit, or the parent never stops (the
# dump failed after 10 s with "did not stop within 10000 ms").  vforker's
# child sleeps 100 ms before it execs or exits, so almost every dump hits it.
@test "dump of a parent sleeping in vfork: its child runs to exec or exit, every dump succeeds" {
	local st="$BATS_TEST_TMPDIR/vf/status" n i
	mkdir -p "$BATS_TEST_TMPDIR/vf"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/vforker" --out "$BATS_TEST_TMPDIR/vf" --child-ms 100
	assert_success
	wait_until 10 test -s "$st"
	for i in 1 2 3 4 5 6; do
		run "$CTSWAP" dump "$CT" --leave-running
		assert_success
		assert_output --partial "left running"
		assert_untraced "$CT"
	done
	assert_running "$CT"
	n=$(status_field "$st" rounds)
	wait_until 10 field_above "$st" rounds $((n + 2))
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
	run "$CTSWAP" dump "$CT"
	assert_success
	[ -z "$(ct_pids "$CT")" ]
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

# A vfork child that never execs: its parent can never stop.  The dump fails
# naming the child (after the 10 s stop timeout), not the parent, and leaves
# both running and untraced.
@test "dump of a vfork child that never execs fails naming it, leaves the container running" {
	mkdir -p "$BATS_TEST_TMPDIR/vf"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/vforker" --out "$BATS_TEST_TMPDIR/vf" --child-ms 3600000
	assert_success
	wait_until 10 two_processes "$CT"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "ctswap: pid [0-9]+: vfork child of pid [0-9]+, did not exec or exit within 10000 ms"
	assert_running "$CT"
	assert_untraced "$CT"
}

@test "dump of python3 holding a large dict stores its heap" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/pydict.py" "$BATS_TEST_TMPDIR/steps" 300000
	assert_success
	wait_until 30 test -s "$BATS_TEST_TMPDIR/steps"
	run "$CTSWAP" dump "$CT"
	assert_success
	# 300000 keys take well over 16 MiB of heap
	[ "$(summary_count pages)" -gt 4096 ]
	run "$CTSWAP" inspect "$CT"
	assert_success
	assert_output --partial "python"
	assert_output --partial "[heap]"
}

@test "dump of the pattern workload: threads, page counts, zero pages not stored, small blob" {
	start_pattern 16 4
	run "$CTSWAP" dump "$CT"
	assert_success
	assert_output --partial "1 tasks (5 threads)"
	# 16 MiB pattern + 1 MiB duplicate + 1 MiB of zeros, at least
	[ "$(summary_count pages)" -ge $((4096 + 256 + 256)) ]
	[ "$(summary_count zero)" -ge 256 ]
	# the duplicate region shares the pattern's slots
	[ "$(summary_count shared)" -ge 256 ]
	run "$CTSWAP" inspect "$CT"
	assert_success
	assert_output --partial "pattern"
	assert_output --partial "threads 5"
	size=$(stat -c %s "$CTSWAP_STORE/$CT/ckpt-1.meta")
	[ "$size" -lt 65536 ]
}

@test "--leave-running: the workload goes on and a second dump writes only changed pages" {
	start_pattern 32 3
	pid=$(ct_pids "$CT")
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	first=$(summary_count written)
	[ "$first" -gt 8000 ]
	assert_running "$CT"
	assert_untraced "$CT"
	[ "$(ct_pids "$CT")" = "$pid" ]
	pattern_checks_again
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	assert_output --partial "generation 2"
	second=$(summary_count written)
	# counters, stacks, stdio buffers: a few dozen pages, not the pattern
	[ "$second" -lt 200 ]
	pattern_checks_again
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

@test "an unsupported fd fails the dump cleanly and keeps the previous generation" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- sh -c "while [ ! -e $BATS_TEST_TMPDIR/go ]; do sleep 0.05; done; exec python3 -c 'import socket,time; s=socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0); time.sleep(1000)'"
	assert_success
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	touch "$BATS_TEST_TMPDIR/go"
	# wait for the socket to exist
	wait_until 20 sh -c "ls -l /proc/\$(grep -l ':/ctswap/$CT\$' /proc/[0-9]*/cgroup | cut -d/ -f3 | head -1)/fd | grep -q socket"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "ctswap: pid [0-9]+: fd [0-9]+: unsupported file type socket"
	assert_running "$CT"
	assert_untraced "$CT"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-2.meta" ]
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	assert_output --partial "generation 1"
}

@test "a failure at any step leaves the container running, untraced and unfrozen" {
	start_pattern 8 2
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	for step in seize collect pages commit blob; do
		CTSWAP_FAULT=dump:$step run "$CTSWAP" dump "$CT"
		assert_failure 1
		assert_output --partial "fault injected at dump:$step"
		assert_running "$CT"
		assert_untraced "$CT"
		pattern_checks_again
	done
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	# only the first dump's blob exists: failed dumps never write one
	run ls "$CTSWAP_STORE/$CT"
	assert_output --partial "ckpt-1.meta"
	refute_output --partial "ckpt-2.meta"
	refute_output --partial "ckpt-3.meta"
}

@test "dump of a process tree connected by pipes keeps every task" {
	mkdir -p "$BATS_TEST_TMPDIR/pp"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pipes" --out "$BATS_TEST_TMPDIR/pp"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/pp/status"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	assert_output --partial "4 tasks (4 threads)"
	assert_untraced "$CT"
	r=$(status_field "$BATS_TEST_TMPDIR/pp/status" rounds)
	wait_until 10 field_above "$BATS_TEST_TMPDIR/pp/status" rounds "$r"
	grep -q ' ok$' "$BATS_TEST_TMPDIR/pp/status"
}

@test "dump of a missing container fails with a clear message" {
	run "$CTSWAP" dump "nosuch$CT"
	assert_failure 1
	assert_output --partial "nosuch$CT"
}
