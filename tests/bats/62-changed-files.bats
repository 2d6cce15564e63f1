#!/usr/bin/env bats
# Files that changed between a --leave-running dump and the restore: grown logs are fine,
# a file truncated below its position, a changed mapped file or executable refuse, naming it.

setup() { load ../common; common_setup; D="$BATS_TEST_TMPDIR/d"; mkdir -p "$D"; }
teardown() { common_teardown; }

# The writer: appends to a log (O_APPEND), writes records in sequence into data (O_RDWR, its
# position checked after each), reads a growing file (read-only), maps map.bin, and reports
# "n=N ok" through a status written in place.
start_writer() {
	printf 'mapped contents\n' >"$D/map.bin"
	printf 'first\n' >"$D/grows"
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import mmap, os, sys, time
d = sys.argv[1]
log = os.open(d + "/log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
data = os.open(d + "/data", os.O_RDWR | os.O_CREAT, 0o644)
grows = os.open(d + "/grows", os.O_RDONLY)
mf = open(d + "/map.bin", "rb"); m = mmap.mmap(mf.fileno(), 0, prot=mmap.PROT_READ)
st = os.open(d + "/status", os.O_WRONLY | os.O_CREAT, 0o644)
n = 0
while True:
    n += 1
    os.write(log, b"line %010d\n" % n)
    os.write(data, b"record %010d\n" % n)
    ok = os.lseek(data, 0, os.SEEK_CUR) == n * 18 and m[:6] == b"mapped"
    os.pwrite(st, b"n=%010d %s\n" % (n, b"ok" if ok else b"BAD"), 0)
    time.sleep(0.02)
' "$D"
	assert_success
	wait_until 10 past 3
}

# The counter of the status, without leading zeros.
counter() {
	sed -n 's/^n=0*\([0-9][0-9]*\) .*/\1/p' "$D/status"
}

# True once the counter went past $1, still "ok".
past() {
	local n
	n=$(counter)
	[ -n "$n" ] && [ "$n" -gt "$1" ] && grep -q ' ok$' "$D/status"
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
	done
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
