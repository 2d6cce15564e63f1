#!/usr/bin/env bats
# Files that changed between a --leave-running dump and the restore: grown logs are fine,
# a file truncated, modified in place, renamed away or replaced, a changed mapped file or
# executable refuse, naming it.

setup() { load ../common; common_setup; D="$BATS_TEST_TMPDIR/d"; mkdir -p "$D"; }
teardown() { common_teardown; }

# The writer (workloads/changed.c): appends to a log (O_APPEND), writes records in sequence
# into data (O_RDWR, its position checked after each), reads a growing file (read-only),
# maps map.bin, and appends "n=N ok" to its status.
start_writer() {
	printf 'mapped contents\n' >"$D/map.bin"
	printf 'first\n' >"$D/grows"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/changed" --out "$D"
	assert_success
	wait_until 10 past 3
}

# The counter of the status, without leading zeros.
counter() {
	status_line "$D/status" | sed -n 's/^n=0*\([0-9][0-9]*\) .*/\1/p'
}

# True once the counter went past $1, still "ok".
past() {
	local n
	n=$(counter)
	[ -n "$n" ] && [ "$n" -gt "$1" ] && status_line "$D/status" | grep -q ' ok$'
}

# Every record of data is "record N" at its place, N from 1 on, none missing (whole
# records only: the workload may be writing the last one now).
data_in_sequence() {
	head -c $(($(stat -c %s "$D/data") / 18 * 18)) "$D/data" |
		awk '$0 != sprintf("record %010d", NR) { print "data line " NR ": " $0; bad = 1 } END { exit bad }'
}

# Dump leaving it running, let it write on, then kill it.
dump_leave_write_kill() {
	local n
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	n=$(counter)
	wait_until 10 past $((n + 10))
	printf 'more\n' >>"$D/grows"
	run "$CTSWAP" kill "$CT"
	assert_success
}

@test "changed files: logs and data files that grew after a --leave-running dump restore (lazy, eager, again)" {
	local n size
	start_writer
	for opt in "" --eager; do
		dump_leave_write_kill
		size=$(stat -c %s "$D/log")
		run "$CTSWAP" restore $opt "$CT"
		assert_success
		n=$(counter)
		wait_until 10 past $((n + 5))
		# O_APPEND writes went on at the end of the log
		[ "$(stat -c %s "$D/log")" -gt "$size" ]
		[ "$(status_line "$D/log")" \> "$(printf 'line %012d' "$n")" ]
		# data was written on at the dumped position: the same records again, none missing
		data_in_sequence
	done
}

@test "changed files: a log or data file modified in place refuses the restore, naming it (lazy, eager)" {
	local size
	start_writer
	for opt in "" --eager; do
		dump_leave_write_kill
		cp "$D/data" "$D/data.keep"
		printf 'X' | dd of="$D/data" bs=1 seek=7 conv=notrunc status=none
		run "$CTSWAP" restore $opt "$CT"
		assert_failure
		assert_output "ctswap: $D/data: modified since the dump; use --allow-changed-files"
		cat "$D/data.keep" >"$D/data"
		# a log emptied and written anew, longer than it was (copytruncate)
		cp "$D/log" "$D/log.keep"
		size=$(stat -c %s "$D/log")
		head -c $((size + 100)) /dev/zero >"$D/log"
		run "$CTSWAP" restore $opt "$CT"
		assert_failure
		assert_output "ctswap: $D/log: modified since the dump; use --allow-changed-files"
		cat "$D/log.keep" >"$D/log"
		# put back as they were (grown only): restored, and the workload checks itself
		run "$CTSWAP" restore $opt "$CT"
		assert_success
		wait_until 10 past "$(($(counter) + 5))"
		data_in_sequence
	done
}

@test "changed files: over --max-checked-size a file that changed refuses the restore, one that did not restores" {
	local n
	start_writer
	wait_until 10 past 60	# data and log over 1 KiB
	run "$CTSWAP" dump --max-checked-size 1K "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 10 past "$(($(counter) + 5))"
	run "$CTSWAP" dump --leave-running --max-checked-size 1K "$CT"
	assert_success
	n=$(counter)
	wait_until 10 past $((n + 5))
	run "$CTSWAP" kill "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --regexp "^ctswap: $D/(log|data): modified since the dump, and at [0-9]+ bytes then it was too large to check that it only grew \(--max-checked-size\); use --allow-changed-files$"
	run "$CTSWAP" dump --max-checked-size 1x "$CT"
	assert_failure 2
	assert_output --partial "ctswap: --max-checked-size 1x: want a size in bytes"
}

@test "changed files: a file truncated below its position refuses the restore, naming it" {
	start_writer
	dump_leave_write_kill
	truncate -s 18 "$D/data"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --regexp "^ctswap: $D/data: truncated since the dump to 18 bytes, below the position [0-9]+ it is restored at; use --allow-changed-files$"
	run "$CTSWAP" restore --allow-changed-files "$CT"
	assert_success
}

@test "changed files: a read-only file that shrank, a replaced file, a changed mapped file refuse the restore" {
	start_writer
	dump_leave_write_kill
	cp "$D/grows" "$D/grows.keep"
	printf 'x\n' >"$D/grows"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --regexp "^ctswap: $D/grows: shrank since the dump \(size [0-9]+ -> 2\); use --allow-changed-files$"
	# a new file renamed over it (made while the old one exists: another inode number)
	cp "$D/grows.keep" "$D/grows.new"
	mv "$D/grows.new" "$D/grows"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --regexp "^ctswap: $D/grows: replaced since the dump \(inode [0-9]+ -> [0-9]+\); use --allow-changed-files$"
	# renamed away (rotated): refused too
	mv "$D/grows" "$D/grows.1"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output "ctswap: $D/grows: removed or renamed since the dump"
	mv "$D/grows.1" "$D/grows"
	run "$CTSWAP" restore --allow-changed-files "$CT"
	assert_success
	run "$CTSWAP" dump "$CT"
	assert_success
	printf 'MAPPED contents\n' >"$D/map.bin"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output "ctswap: $D/map.bin: modified since the dump; use --allow-changed-files"
}

@test "changed files: a changed executable refuses the restore, naming it" {
	cp "$(command -v sleep)" "$D/mysleep"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$D/mysleep" 600
	assert_success
	run "$CTSWAP" dump "$CT"
	assert_success
	printf 'x' >>"$D/mysleep"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --partial "$D/mysleep: file changed since the dump (--allow-changed-files to map it anyway)"
}

@test "changed files: an executable several processes run, changed, refuses the restore once, naming it; with --allow-changed-files a copy restores" {
	cp "$(command -v sleep)" "$D/mysleep"
	cp "$D/mysleep" "$D/mysleep.orig"
	touch -r "$(command -v sleep)" "$D/mysleep" "$D/mysleep.orig"
	started "$CT"
	run "$CTSWAP" run "$CT" -- sh -c "'$D/mysleep' 600 & '$D/mysleep' 600 & exec '$D/mysleep' 600"
	assert_success
	wait_until 10 has_tasks 3
	run "$CTSWAP" dump "$CT"
	assert_success
	printf 'x' >>"$D/mysleep"
	run "$CTSWAP" -v restore "$CT"
	assert_failure
	# the file every process maps is opened and checked once, by the init
	[ "$(grep -c 'file changed since the dump' <<<"$output")" = 1 ] || { echo "$output"; false; }
	assert_output --partial "$D/mysleep: file changed since the dump (--allow-changed-files to map it anyway)"
	# nothing is left of the failed restore
	has_tasks 0
	# the same contents back (a new inode, the same size and bytes): mapped again, all three run
	cp -p "$D/mysleep.orig" "$D/mysleep.new"
	mv "$D/mysleep.new" "$D/mysleep"
	run "$CTSWAP" restore --allow-changed-files "$CT"
	assert_success
	assert_output --partial "3 tasks"
	has_tasks 3
}

# Container $CT has $1 tasks (ctswap ps).
has_tasks() {
	[ "$("$CTSWAP" ps "$CT" | awk 'NR == 2 { print $4 }')" = "$1" ]
}

# The counter of the mapping workload's status, once it reads "ok".
mapped_counter() {
	sed -n 's/^n=\([0-9]*\) ok$/\1/p' "$D/status" 2>/dev/null
}

# The mapping workload checked its mapping more than $1 times since, all "ok".
mapped_past() {
	local n
	n=$(mapped_counter)
	[ -n "$n" ] && [ "$n" -gt "$1" ]
}

# Rewrite $D/mapped.bin in place from $1 (same size), and put its mtime back to $2: only its ctime tells.
rewrite_keep_mtime() {
	dd if="$1" of="$D/mapped.bin" conv=notrunc status=none
	touch -d "$2" "$D/mapped.bin"
	[ "$(stat -c %y "$D/mapped.bin")" = "$2" ]
}

# The mapping workload on $D/mapped.bin (64 KiB, a copy of $D/orig.bin; $D/other.bin: other bytes).
start_mapper() {
	head -c 65536 /dev/urandom >"$D/orig.bin"
	head -c 65536 /dev/urandom >"$D/other.bin"
	cp "$D/orig.bin" "$D/mapped.bin"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/mapped_file" "$D/mapped.bin" "$D"
	assert_success
	wait_until 10 mapped_past 2
}

@test "changed files: a file only mapped, rewritten in place with its size and mtime kept, refuses the restore; its own bytes back restore" {
	local mtime n pid
	start_mapper
	mtime=$(stat -c %y "$D/mapped.bin")
	# only a mapping holds it, no descriptor
	pid=$(pgrep -f "^$WORKLOADS/mapped_file $D/mapped.bin")
	grep -q " $D/mapped.bin\$" "/proc/$pid/maps"
	! ls -l "/proc/$pid/fd" | grep -q mapped.bin
	for opt in "" --eager; do
		run "$CTSWAP" dump "$CT"
		assert_success
		rewrite_keep_mtime "$D/other.bin" "$mtime"
		run "$CTSWAP" restore $opt "$CT"
		assert_failure
		assert_output --regexp "^ctswap: pid [0-9]+: $D/mapped.bin: file changed since the dump \(--allow-changed-files to map it anyway\)$"
		# the same bytes again (its ctime still changed): compared by contents, restored
		rewrite_keep_mtime "$D/orig.bin" "$mtime"
		run "$CTSWAP" restore $opt "$CT"
		assert_success
		n=$(mapped_counter)
		wait_until 10 mapped_past $((n + 3))
	done
}

@test "changed files: over --max-checked-size a mapped file rewritten with its size and mtime kept refuses the restore" {
	local mtime n
	start_mapper
	mtime=$(stat -c %y "$D/mapped.bin")
	run "$CTSWAP" dump --max-checked-size 1K "$CT"
	assert_success
	rewrite_keep_mtime "$D/orig.bin" "$mtime"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --regexp "^ctswap: pid [0-9]+: $D/mapped.bin: file changed since the dump, and at 65536 bytes then it was too large to compare by contents \(--max-checked-size\); --allow-changed-files to map it anyway$"
	run "$CTSWAP" restore --allow-changed-files "$CT"
	assert_success
	n=$(mapped_counter)
	wait_until 10 mapped_past $((n + 3))
}

# The stat state of process $1 is "stopped" (T).
dump_stopped() {
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]
}

# -v -v log $1 after its line "freezing and seizing": the window.
in_window() {
	sed -n '/freezing and seizing/,$p' "$1"
}

@test "changed files: mapped files are checksummed before the freeze; one whose ctime moved before the freeze is read again in the window" {
	local mtime n pid log="$BATS_TEST_TMPDIR/dump.log"
	start_mapper
	mtime=$(stat -c %y "$D/mapped.bin")
	# a first dump: the mapped file, libc, the executable read before the freeze, none in it
	run "$CTSWAP" -v -v dump --leave-running "$CT"
	assert_success
	echo "$output" >"$log"
	grep -Eq 'mapped files checksummed before the freeze \([1-9][0-9]* bytes' "$log" || { cat "$log"; false; }
	! in_window "$log" | grep -Eq "($D/mapped.bin|$WORKLOADS/mapped_file|/libc[.-][^ ]*): [0-9]+ bytes checksummed in" ||
		{ in_window "$log"; false; }
	# stopped once the files are read: the same bytes written again (ctime moves) before the freeze
	CTSWAP_FAULT=dump-stop:prehashed "$CTSWAP" -v -v dump "$CT" >"$log" 2>&1 &
	pid=$!
	wait_until 20 dump_stopped "$pid"
	rewrite_keep_mtime "$D/orig.bin" "$mtime"
	kill -CONT "$pid"
	wait "$pid" || { cat "$log"; false; }
	# that version was never seen: read again in the window, as a version the dump reads the first time
	in_window "$log" | grep -q "$D/mapped.bin: 65536 bytes checksummed in" || { cat "$log"; false; }
	run "$CTSWAP" restore "$CT"
	assert_success
	n=$(mapped_counter)
	wait_until 10 mapped_past $((n + 3))
	# other bytes since: refused, as always
	run "$CTSWAP" dump "$CT"
	assert_success
	rewrite_keep_mtime "$D/other.bin" "$mtime"
	run "$CTSWAP" restore "$CT"
	assert_failure
	assert_output --regexp "^ctswap: pid [0-9]+: $D/mapped.bin: file changed since the dump \(--allow-changed-files to map it anyway\)$"
}
