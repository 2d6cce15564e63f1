#!/usr/bin/env bats
# ctswap restore: run, dump, restore, then the workloads check themselves.

bats_require_minimum_version 1.5.0

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# Host pids of every process in container $1.
ct_pids() {
	grep -l ":/ctswap/$1\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3
}

# True if container $1 has no process.
ct_empty() {
	[ -z "$(ct_pids "$1")" ]
}

# Start pattern in $CT: $1 MiB, $2 threads; status in $BATS_TEST_TMPDIR/pat.
start_pattern() {
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pattern" --mib "$1" --threads "$2" --seed 42 \
		--out "$BATS_TEST_TMPDIR/pat"
	assert_success
	wait_until 10 grep -q ' ok$' "$BATS_TEST_TMPDIR/pat/status"
}

# Wait until pattern has finished two more checks, and they passed.
pattern_checks_again() {
	local st="$BATS_TEST_TMPDIR/pat/status" n
	n=$(status_field "$st" checks)
	wait_until 10 field_above checks "$st" $((n + 1))
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
}

# True if file $1 has more than $2 lines (re-read at every call).
more_lines() {
	[ "$(lines_of "$1")" -gt "$2" ]
}

# True if the number field $1 of status file $2 is above $3.
field_above() {
	local v
	v=$(status_field "$2" "$1")
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Every counter in status now is >= the one in $1 (comma lists).
counters_continue() {
	local before=$1 after i
	after=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	IFS=, read -ra b <<<"$before"
	IFS=, read -ra a <<<"$after"
	[ ${#a[@]} = ${#b[@]} ] || return 1
	for i in "${!b[@]}"; do
		[ "${a[$i]}" -ge "${b[$i]}" ] || { echo "counter $i: ${a[$i]} < ${b[$i]}"; return 1; }
	done
}

# Dump pattern, restore it with $1 (extra restore options), check it carries on.
pattern_roundtrip() {
	local st="$BATS_TEST_TMPDIR/pat/status" pid tids counters
	run "$CTSWAP" dump "$CT"
	assert_success
	pid=$(status_field "$st" pid)
	tids=$(status_field "$st" tids)
	counters=$(status_field "$st" counters)
	run "$CTSWAP" restore "$CT" "$@"
	assert_success
	assert_line --index 0 --regexp '^[0-9]+$'
	assert_output --regexp "restored $CT: 1 tasks \(5 threads\), [0-9]+ pages to swap in.*running after [0-9.]+ ms"
	pattern_checks_again
	[ "$(status_field "$st" pid)" = "$pid" ]
	[ "$(status_field "$st" tids)" = "$tids" ]
	counters_continue "$counters"
}

@test "restore: pattern 64 MiB, 4 threads, lazily: same pid and tids, counters go on, pattern ok" {
	start_pattern 64 4
	pattern_roundtrip
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
}

@test "restore --eager: pattern 64 MiB, 4 threads carries on" {
	start_pattern 64 4
	pattern_roundtrip --eager
}

@test "restore: a shell loop appending to a file continues its count" {
	local f="$BATS_TEST_TMPDIR/count" n
	started "$CT"
	run "$CTSWAP" run "$CT" -- sh -c "i=0; while :; do i=\$((i+1)); echo \$i >> $f; sleep 0.05; done"
	assert_success
	wait_until 5 more_lines "$f" 5
	run "$CTSWAP" dump "$CT"
	assert_success
	n=$(lines_of "$f")
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 5 more_lines "$f" $((n + 5))
	# one line per number, none lost, none repeated
	run awk 'NR != $1 { print "line " NR ": " $1; exit 1 }' "$f"
	assert_success
}

@test "restore: python3 holding a large dict continues its computation" {
	local f="$BATS_TEST_TMPDIR/py" n
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 "$WORKLOADS/pydict.py" "$f" 200000
	assert_success
	wait_until 20 more_lines "$f" 3
	run "$CTSWAP" dump "$CT"
	assert_success
	n=$(lines_of "$f")
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 20 more_lines "$f" $((n + 5))
	run python3 "$WORKLOADS/pydict_check.py" "$f" 200000
	assert_success
	assert_output --partial ok
}

@test "restore: a parent and three children pass tokens through pipes again" {
	local st="$BATS_TEST_TMPDIR/pp/status" pids r
	mkdir -p "$BATS_TEST_TMPDIR/pp"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/pipes" --out "$BATS_TEST_TMPDIR/pp"
	assert_success
	wait_until 10 grep -q ' ok$' "$st"
	run "$CTSWAP" dump "$CT"
	assert_success
	pids=$(status_field "$st" pids)
	r=$(status_field "$st" rounds)
	run "$CTSWAP" restore "$CT"
	assert_success
	assert_output --partial "4 tasks"
	wait_until 10 field_above rounds "$st" $((r + 10))
	grep -q ' ok$' "$st" || { cat "$st"; false; }
	[ "$(status_field "$st" pids)" = "$pids" ]
}

@test "restore: a parent and child sharing anonymous memory share it again" {
	local d="$BATS_TEST_TMPDIR/shm" p c
	mkdir -p "$d"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/shmem" --mib 4 --out "$d"
	assert_success
	wait_until 10 grep -q ' ok$' "$d/status-parent"
	wait_until 10 grep -q ' ok$' "$d/status-child"
	run "$CTSWAP" dump "$CT"
	assert_success
	p=$(status_field "$d/status-parent" counter)
	c=$(status_field "$d/status-child" counter)
	run "$CTSWAP" restore "$CT"
	assert_success
	# each sees the other's counter move: the memory is one object again
	wait_until 10 field_above counter "$d/status-parent" "$p"
	wait_until 10 field_above counter "$d/status-child" "$c"
	sleep 2.5	# the workloads call a peer stuck after 2 s
	run cat "$d/status-parent" "$d/status-child"
	refute_output --partial BAD
	[ "$(grep -c ' ok$' "$d/status-parent" "$d/status-child" | awk -F: '{s+=$2} END {print s}')" = 2 ]
}

@test "restore: a dump taken while memory still swaps in waits for it and keeps every page" {
	local pages
	start_pattern 64 2
	run "$CTSWAP" dump "$CT"
	assert_success
	pages=$(echo "$output" | sed -n 's/.* \([0-9]*\) pages (.*/\1/p')
	[ "$pages" -gt 16000 ]
	run "$CTSWAP" restore "$CT"
	assert_success
	# at once, before the lazy server is done: the dump must not miss absent pages
	run "$CTSWAP" dump "$CT"
	assert_success
	[ "$(echo "$output" | sed -n 's/.* \([0-9]*\) pages (.*/\1/p')" -ge "$pages" ]
	run "$CTSWAP" restore "$CT"
	assert_success
	pattern_checks_again
}

@test "restore: the same checkpoint three times in a row" {
	local st="$BATS_TEST_TMPDIR/pat/status" counters
	start_pattern 16 2
	run "$CTSWAP" dump "$CT"
	assert_success
	counters=$(status_field "$st" counters)
	for i in 1 2 3; do
		run "$CTSWAP" restore "$CT"
		assert_success
		pattern_checks_again
		counters_continue "$counters"
		run "$CTSWAP" kill "$CT"
		assert_success
		wait_until 5 ct_empty "$CT"
	done
}

# The lazy log of $CT from line $1 on.
lazy_log_since() {
	tail -n +"$1" "$CTSWAP_STORE/$CT/lazy.log"
}

# Lines in the lazy log of $CT so far.
lazy_log_lines() {
	if [ -e "$CTSWAP_STORE/$CT/lazy.log" ]; then wc -l <"$CTSWAP_STORE/$CT/lazy.log"; else echo 0; fi
}

# Restore $CT lazily (with restore options $2...), check pattern carries on
# from counters $1, wait for the server to finish, then kill it.
restore_wset_round() {
	local from=$(($(lazy_log_lines) + 1)) counters=$1
	shift
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	pattern_checks_again
	counters_continue "$counters"
	wait_until 30 sh -c "tail -n +$from '$CTSWAP_STORE/$CT/lazy.log' | grep -q 'lazy: done:'"
	run "$CTSWAP" kill "$CT"
	assert_success
	wait_until 5 ct_empty "$CT"
	WSET_LOG=$(lazy_log_since "$from")
}

# The pattern workload started and dumped, then the generation's first lazy
# restore (options $@), which records a working set; COUNTERS: its counters
# at the dump.
wset_first_round() {
	start_pattern 64 2
	run "$CTSWAP" dump "$CT"
	assert_success
	COUNTERS=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	restore_wset_round "$COUNTERS" "$@"
	[[ $WSET_LOG =~ working\ set\ of\ [1-9][0-9]*\ pages\ kept ]]
}

@test "restore: the pages a lazy restore faulted are kept as the working set and prefetched first next time; a damaged or missing one only loses the order" {
	local ws="$CTSWAP_STORE/$CT/wset" counters
	# first restore of the generation: records (the first touch after resume faults)
	wset_first_round
	counters=$COUNTERS
	[ -s "$ws" ]
	# next restore: prefetches it first, keeps it as it is
	cp "$ws" "$BATS_TEST_TMPDIR/wset.recorded"
	restore_wset_round "$counters"
	[[ $WSET_LOG =~ [1-9][0-9]*\ pages\ of\ the\ working\ set\ prefetched\ first ]]
	cmp "$ws" "$BATS_TEST_TMPDIR/wset.recorded"
	# a flipped byte: ignored with a reason, the restore is whole, a new one is recorded
	printf 'X' | dd of="$ws" bs=1 seek=40 conv=notrunc status=none
	restore_wset_round "$counters"
	[[ $WSET_LOG == *"working set ignored: $ws: checksum mismatch"* ]]
	[[ $WSET_LOG =~ working\ set\ of\ [1-9][0-9]*\ pages\ kept ]]
	# truncated, then missing: the same
	head -c 10 "$BATS_TEST_TMPDIR/wset.recorded" >"$ws"
	restore_wset_round "$counters"
	[[ $WSET_LOG == *"working set ignored: $ws: truncated"* ]]
	rm -f "$ws"
	restore_wset_round "$counters"
	[[ $WSET_LOG != *"working set ignored"* ]]
	[ -s "$ws" ]
	# eager restores neither use nor record it
	rm -f "$ws"
	run "$CTSWAP" restore --eager "$CT"
	assert_success
	pattern_checks_again
	[ ! -e "$ws" ]
}

@test "restore --fill-working-set: the recorded working set is in place before the tasks run (none of its pages faults), memory whole; without one, or a damaged one, it only records" {
	local ws="$CTSWAP_STORE/$CT/wset" counters
	# nothing recorded yet: nothing to fill, this restore records
	wset_first_round --fill-working-set
	counters=$COUNTERS
	[[ $WSET_LOG != *"filled before the resume"* ]]
	# filled before the resume: no fault lands on its pages, it stays as recorded
	cp "$ws" "$BATS_TEST_TMPDIR/wset.recorded"
	restore_wset_round "$counters" --fill-working-set
	[[ $WSET_LOG == *"working set filled before the resume"* ]]
	[[ $WSET_LOG =~ [1-9][0-9]*\ pages\ of\ the\ working\ set\ prefetched\ first ]]
	[[ $WSET_LOG == *"; 0 of the synchronous faults were on its pages"* ]]
	cmp "$ws" "$BATS_TEST_TMPDIR/wset.recorded"
	# damaged: ignored with its reason, the restore is whole, a new one is recorded
	printf 'X' | dd of="$ws" bs=1 seek=40 conv=notrunc status=none
	restore_wset_round "$counters" --fill-working-set
	[[ $WSET_LOG == *"working set ignored: $ws: checksum mismatch"* ]]
	[[ $WSET_LOG != *"filled before the resume"* ]]
	[[ $WSET_LOG =~ working\ set\ of\ [1-9][0-9]*\ pages\ kept ]]
}

# True once every counter of the sleepers' last status line is above the one in $1.
sleepers_moved_on() {
	local line=$(status_line "$BATS_TEST_TMPDIR/sl/status") k
	for k in poll sleep clock futex; do
		[ "$(sed -n "s/.* $k=\([0-9]*\).*/\1/p" <<<"$line")" -gt \
		  "$(sed -n "s/.* $k=\([0-9]*\).*/\1/p" <<<"$1")" ] || return 1
	done
}

# Dump and restore the sleepers with $@; every thread completes its call, none sees EINTR.
sleepers_round() {
	local st="$BATS_TEST_TMPDIR/sl/status" before
	run "$CTSWAP" dump "$CT"
	assert_success
	before=$(status_line "$st")
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	wait_until 15 sleepers_moved_on "$before"
	status_line "$st" | grep -q ' ok$' || { status_line "$st"; false; }
}

@test "restore: calls caught by the dump in their restart block (poll, nanosleep, futex with a timeout) resume without EINTR" {
	mkdir -p "$BATS_TEST_TMPDIR/sl"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/sleepers" --out "$BATS_TEST_TMPDIR/sl"
	assert_success
	wait_until 10 sh -c "tail -n1 '$BATS_TEST_TMPDIR/sl/status' | grep -q 'poll=[1-9]'"
	sleepers_round
	sleepers_round --eager
}

@test "restore: original pids busy (no pid namespace) fails clearly, leaves nothing behind" {
	local st="$BATS_TEST_TMPDIR/pat/status" before pid holder try cgs
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	started "$CT"
	run "$CTSWAP" run --no-pidns "$CT" -- "$WORKLOADS/pattern" --mib 8 --threads 1 --seed 3 \
		--out "$BATS_TEST_TMPDIR/pat"
	assert_success
	wait_until 10 grep -q ' ok$' "$st"
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	before=$(ct_pids "$CT" | sort | tr '\n' ' ')
	run "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output --regexp "ctswap: $CT: pid [0-9]+ \(pattern\) is in use by another process"
	# the original runs on, alone
	[ "$(ct_pids "$CT" | sort | tr '\n' ' ')" = "$before" ]
	pattern_checks_again
	# once it is gone, take its pid with another process: restore refuses and removes its cgroup
	pid=$(status_field "$st" pid)
	run "$CTSWAP" kill "$CT"
	assert_success
	wait_until 5 test ! -e /proc/$pid
	# take exactly that pid (clone3 with set_tid: no race with other forks on the machine)
	holder=$("$TOP/tests/tools/holdpid" "$pid")
	[ "$holder" = "$pid" ]
	cgs=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$CT" 2>/dev/null)
	run "$CTSWAP" restore "$CT"
	kill $holder
	assert_failure 1
	assert_output --partial "pid $pid (pattern) is in use"
	[ -z "$(ct_pids "$CT")" ]
	[ "$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$CT" 2>/dev/null)" = "$cgs" ]
	run "$CTSWAP" ps "$CT"
	refute_output --partial running
}

# Flip a byte of the index chunk holding the entry of the middle page of the largest extent of
# $CT's swap area: a page of the workload's big mapping, which nothing reads before resume (the
# open checks the header, chunk table, generation table and extents; the restorer reads only the
# pages the kernel writes while it injects, such as the threads' rseq areas).
damage_index_chunk() {
	python3 - "$CTSWAP_STORE/$CT/swap.idx" <<'PY'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
gens_off, = struct.unpack_from('<Q', b, 136)
shift, = struct.unpack_from('<I', b, 184)
ext_off, nr_ext, ent_off = struct.unpack_from('<QQQ', b, gens_off + 8)
exts = [struct.unpack_from('<IIQQQ', b, ext_off + 32 * i) for i in range(nr_ext)]
task, npages, mapping, addr, first = max(exts, key=lambda e: e[1])
off = ent_off + 24 * (first + npages // 2) + 8	# its hash
chunk = lambda o: (o - 256) >> shift
assert npages >= 4096 and chunk(off) > chunk(ext_off + 32 * nr_ext) and chunk(off) > chunk(gens_off + 48), exts
b[off] ^= 0x5a
open(p, 'wb').write(b)
PY
}

@test "restore: an index chunk first read after resume that is damaged fails the lazy server cleanly (container killed, reason logged); eager refuses it; the area is whole again once repaired" {
	local st="$BATS_TEST_TMPDIR/pat/status" idx="$CTSWAP_STORE/$CT/swap.idx" counters from
	start_pattern 64 2
	run "$CTSWAP" dump "$CT"
	assert_success
	counters=$(status_field "$st" counters)
	cp "$idx" "$BATS_TEST_TMPDIR/idx.good"
	damage_index_chunk
	# lazy: the tasks run; the chunk is checked when the server first needs it, which fails
	from=$(($(lazy_log_lines) + 1))
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 30 ct_empty "$CT"
	wait_until 10 sh -c "tail -n +$from '$CTSWAP_STORE/$CT/lazy.log' | grep -q 'watchdog: killed every task'"
	run lazy_log_since "$from"
	assert_output --partial "$CTSWAP_STORE/$CT/swap: index: checksum mismatch"
	refute_output --partial "lazy: done:"
	# never ran on a wrong page: the pattern's last check is still a good one
	status_line "$st" | grep -q ' ok$'
	# eager: refused before anything runs, nothing left behind
	run -1 "$CTSWAP" restore --eager "$CT"
	assert_output --partial "$CTSWAP_STORE/$CT/swap: index: checksum mismatch"
	ct_empty "$CT"
	# repaired: both restore and carry on
	cp "$BATS_TEST_TMPDIR/idx.good" "$idx"
	run "$CTSWAP" restore --eager "$CT"
	assert_success
	pattern_checks_again
	counters_continue "$counters"
}
