#!/usr/bin/env bats
# ctswap dump with copy-on-write snapshots: the container runs on while its
# pages are pushed, and the image is still the memory of one instant.
# seqwrite never stops writing a known sequence; tests/tools/seqcheck reads
# the swap area and checks it against the instant the dump froze it at.

setup() {
	load ../common
	common_setup
	SEQCHECK="$TOP/tests/tools/seqcheck"
}
teardown() { common_teardown; }

# Host pids of every process in container $1.
ct_pids() {
	grep -l ":/ctswap/$1\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3
}

# Fail unless no thread of container $1 is traced.
assert_untraced() {
	local p s
	for p in $(ct_pids "$1"); do
		for s in /proc/"$p"/task/*/status; do
			[ -f "$s" ] || continue
			grep -q '^TracerPid:[[:space:]]*0$' "$s" || { echo "$s traced"; return 1; }
		done
	done
}

# Fail unless process $1 has no children (a snapshot child or its zombie).
assert_no_children() {
	local c
	c=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr -d ' \n')
	[ -z "$c" ] || { echo "pid $1 has children: $c"; return 1; }
}

# Start seqwrite in $CT with $1 MiB and the special regions (unless $2 is
# "plain"); files in $SEQ.
start_seqwrite() {
	local special=--special
	[ "$2" != plain ] || special=
	SEQ="$BATS_TEST_TMPDIR/seq"
	mkdir -p "$SEQ"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/seqwrite" --mib "$1" $special --out "$SEQ"
	assert_success
	wait_until 20 grep -q ' ok$' "$SEQ/status"
	SEQPID=$(ct_pids "$CT")
}

# The steps the last seqcheck found in the image.
image_steps() {
	echo "$output" | sed -n 's/^ok steps=\([0-9]*\).*/\1/p'
}

# The number before WORD in the dump summary line held in $output.
summary_ms() {
	echo "$output" | grep -o "$1 [0-9.]* ms" | head -1 | cut -d' ' -f2
}

# True if $1 < $2 (decimals).
less_than() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

@test "snapshot dump: the image is the freeze instant while the writer runs on during the push" {
	start_seqwrite 96
	out="$BATS_TEST_TMPDIR/dump.out"
	"$CTSWAP" dump "$CT" --leave-running >"$out" 2>&1 &
	# the highest step count the workload reported while the dump was still running
	seen=0
	while ! grep -q '^dumped\|^ctswap:' "$out"; do
		s=$(status_field "$SEQ/status" steps)
		if ! grep -q '^dumped\|^ctswap:' "$out" && [ -n "$s" ] && [ "$s" -gt "$seen" ]; then
			seen=$s
		fi
		sleep 0.005
	done
	wait $!
	cat "$out"
	grep -q ', snapshot$' "$out"
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
	steps=$(image_steps)
	echo "image steps $steps, seen during the dump $seen"
	# it ran (and wrote) after the freeze instant, before the dump finished
	[ "$seen" -gt "$steps" ]
	run cat "$out"
	less_than "$(summary_ms frozen)" "$(summary_ms total)"
	assert_untraced "$CT"
	assert_no_children "$SEQPID"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

@test "snapshot dump: shared, dontfork, wipeonfork and locked memory copied while stopped" {
	start_seqwrite 8
	run "$CTSWAP" dump "$CT" --leave-running -v
	assert_success
	assert_output --partial ", snapshot"
	# 4 special regions of 256 pages each are copied before the thaw
	assert_output --regexp "pushing [0-9]+ pages copied while stopped"
	n=$(echo "$output" | sed -n 's/.*pushing \([0-9]*\) pages copied while stopped.*/\1/p')
	[ "$n" -ge 768 ]
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
	# a second snapshot dump of the same running writer is consistent too
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
}

@test "snapshot children leave no trace: no zombie, and the parent's wait() never sees them" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import os, sys, time
out = sys.argv[1]
open(out + ".ready", "w").close()
while True:
    try:
        p, st = os.waitpid(-1, 0)
        with open(out, "a") as f:
            f.write("%d %d\n" % (p, st))
    except ChildProcessError:
        time.sleep(0.005)
' "$BATS_TEST_TMPDIR/reaped"
	assert_success
	wait_until 20 test -e "$BATS_TEST_TMPDIR/reaped.ready"
	pid=$(ct_pids "$CT")
	for i in 1 2 3; do
		run "$CTSWAP" dump "$CT" --leave-running
		assert_success
		assert_output --partial ", snapshot"
	done
	sleep 0.2
	[ ! -e "$BATS_TEST_TMPDIR/reaped" ] || { cat "$BATS_TEST_TMPDIR/reaped"; false; }
	assert_no_children "$pid"
	[ "$(ct_pids "$CT")" = "$pid" ]
	assert_untraced "$CT"
}

@test "snapshot dump of a process tree and of threads: every task snapshotted" {
	mkdir -p "$BATS_TEST_TMPDIR/pp" "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pipes" --out "$BATS_TEST_TMPDIR/pp"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/pp/status"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	assert_output --partial "4 tasks (4 threads)"
	assert_output --partial ", snapshot"
	for p in $(ct_pids "$CT"); do assert_no_children_but_tasks "$p"; done
	r=$(sed -n 's/.* rounds=\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/pp/status")
	wait_until 10 sh -c "[ \$(sed -n 's/.* rounds=\([0-9]*\).*/\1/p' $BATS_TEST_TMPDIR/pp/status) -gt $r ]"
	grep -q ' ok$' "$BATS_TEST_TMPDIR/pp/status"
	[ "$(ct_pids "$CT" | wc -l)" -eq 4 ]
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

# Every child of $1 is a task of the container (no snapshot child left).
assert_no_children_but_tasks() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		grep -q ":/ctswap/$CT\$" /proc/"$c"/cgroup || { echo "stray child $c of $1"; return 1; }
	done
}

@test "--no-snapshot: stopped until every page is pushed, image consistent" {
	start_seqwrite 32
	run "$CTSWAP" dump "$CT" --leave-running --no-snapshot
	assert_success
	refute_output --partial "snapshot"
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
	assert_untraced "$CT"
}

@test "a dump that kills the container does not snapshot and kills only after the commit" {
	start_seqwrite 16
	CTSWAP_FAULT=dump:commit run "$CTSWAP" dump "$CT"
	assert_failure 1
	[ "$(ct_pids "$CT")" = "$SEQPID" ]
	assert_untraced "$CT"
	run "$CTSWAP" dump "$CT"
	assert_success
	refute_output --partial "snapshot"
	[ -z "$(ct_pids "$CT")" ]
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
}

@test "a failure at any snapshot step leaves it running, untraced, with no snapshot child" {
	start_seqwrite 16
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	for step in seize collect fork thawed pages commit blob; do
		CTSWAP_FAULT=dump:$step run "$CTSWAP" dump "$CT" --leave-running
		assert_failure 1
		assert_output --partial "fault injected at dump:$step"
		[ "$(ct_pids "$CT")" = "$SEQPID" ]
		assert_untraced "$CT"
		assert_no_children "$SEQPID"
		s=$(status_field "$SEQ/status" steps)
		wait_until 5 sh -c "[ \$(sed -n 's/.*steps=\([0-9]*\).*/\1/p' $SEQ/status) -gt $s ]"
	done
	run ls "$CTSWAP_STORE/$CT"
	assert_output --partial "ckpt-1.meta"
	refute_output --partial "ckpt-2.meta"
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
}

@test "the snapshot child holds the same pages as the process: per-mapping counts match a plain dump" {
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pattern" --mib 16 --threads 1 --seed 3 \
		--out "$BATS_TEST_TMPDIR/pat"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/pat/status"
	run "$CTSWAP" dump "$CT" --leave-running --no-snapshot
	assert_success
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	assert_output --partial ", snapshot"
	run "$CTSWAP" inspect "$CT"
	assert_success
	# GEN TASK MAPPING PAGES rows of both generations, side by side
	echo "$output" | awk '$1 == 1 { print $3, $4 }' >"$BATS_TEST_TMPDIR/plain"
	echo "$output" | awk '$1 == 2 { print $3, $4 }' >"$BATS_TEST_TMPDIR/snap"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/plain")" -gt 5 ]
	diff "$BATS_TEST_TMPDIR/plain" "$BATS_TEST_TMPDIR/snap"
	# private file mappings (libc's data) have COW'd pages in both
	run "$CTSWAP" inspect "$CT"
	assert_success
}

@test "--pre: a pre-copy generation is not a checkpoint, the next dump writes only changes" {
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pattern" --mib 32 --threads 2 --seed 5 \
		--out "$BATS_TEST_TMPDIR/pat"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/pat/status"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	run "$CTSWAP" dump "$CT" --pre
	assert_success
	assert_output --partial "generation 2"
	assert_output --partial ", pre-copy"
	[ -e "$CTSWAP_STORE/$CT/pre-2" ]
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-2.meta" ]
	# the newest checkpoint is still generation 1
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	run "$CTSWAP" dump "$CT" --pre
	assert_success
	assert_output --partial "generation 3"
	# the final dump (killing the container) writes only what changed
	run "$CTSWAP" dump "$CT"
	assert_success
	assert_output --partial "generation 4"
	written=$(echo "$output" | grep -o '[0-9]* written' | cut -d' ' -f1)
	[ "$written" -lt 200 ]
	# the checkpoint before the pre-copies was kept beside the new one
	[ -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
	[ -e "$CTSWAP_STORE/$CT/ckpt-4.meta" ]
	run "$CTSWAP" inspect "$CT"
	assert_success
	assert_output --partial "generation 4"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

@test "a process whose snapshot fork fails is copied while stopped; the dump still succeeds" {
	start_seqwrite 16
	CTSWAP_FAULT=dump:fork-fails run "$CTSWAP" dump "$CT" --leave-running -v
	assert_success
	assert_output --partial "snapshot fork failed"
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
	assert_untraced "$CT"
	assert_no_children "$SEQPID"
}

@test "restore of a snapshot dump: memory is the freeze instant, the writer goes on from there" {
	start_seqwrite 32 "${SEQ_RESTORE_MODE:-special}"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	assert_output --partial ", snapshot"
	run "$SEQCHECK" "$CTSWAP_STORE/$CT/swap" "$SEQ/info"
	assert_success
	steps=$(image_steps)
	run "$CTSWAP" kill "$CT"
	assert_success
	# stop the writer as soon as it runs again, and check every page
	touch "$SEQ/verify"
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 30 grep -q verified "$SEQ/status"
	cat "$SEQ/status"
	grep -q 'verified ok$' "$SEQ/status"
	[ "$(status_field "$SEQ/status" steps)" -ge "$steps" ]
}
