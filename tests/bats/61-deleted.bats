#!/usr/bin/env bats
# Deleted files and directories: O_TMPFILE, mkstemp+unlink, unlinked files mapped shared, removed cwd.

setup() { load ../common; common_setup; W="$BATS_TEST_TMPDIR/w"; }
teardown() { common_teardown; }

# The number field KEY=VALUE of status file $1 (without leading zeros).
field_of() {
	sed -n "s/.*\b$2=0*\([0-9][0-9]*\).*/\1/p" "$1"
}

# True once counter $2 of status file $1 went past $3, still "ok".
went_past() {
	local n
	n=$(field_of "$1" "$2")
	[ -n "$n" ] && [ "$n" -gt "$3" ] && grep -q ' ok$' "$1"
}

start_deleted() {
	mkdir -p "$W"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/deleted" --out "$W"
	assert_success
	wait_until 10 went_past "$W/status" rounds 3
	wait_until 10 went_past "$W/child" child 3
}

# Dump, restore with option $1 (or none); both processes check on, "ok".
dump_restore_checks() {
	local n c
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore $1 "$CT"
	assert_success
	n=$(field_of "$W/status" rounds)
	c=$(field_of "$W/child" child)
	wait_until 10 went_past "$W/status" rounds $((n + 5)) || { cat "$W/status"; false; }
	wait_until 10 went_past "$W/child" child $((c + 5)) || { cat "$W/child"; false; }
	# nothing of the recreated files is left in a directory
	run ls -A "$W"
	refute_output --partial ctswap
}

@test "deleted: O_TMPFILE, unlinked, mapped and removed files and cwd come back unlinked (lazy, then eager)" {
	start_deleted
	dump_restore_checks
	dump_restore_checks --eager
}

@test "deleted: O_TMPFILE, unlinked, mapped and removed files and cwd come back unlinked (eager, then lazy)" {
	start_deleted
	dump_restore_checks --eager
	dump_restore_checks
}

@test "deleted: python tempfile and a multiprocessing Value shared with a child count on" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import multiprocessing as mp, os, sys, tempfile, time
def work(v):
    while True:
        with v.get_lock(): v.value += 1
        time.sleep(0.01)
if __name__ == "__main__":
    v = mp.Value("i", 0)
    t = tempfile.TemporaryFile(); t.write(b"temporary"); t.flush()
    st = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
    mp.Process(target=work, args=(v,), daemon=True).start()
    while True:
        time.sleep(0.02); t.seek(0)
        ok = "ok" if t.read() == b"temporary" else "BAD"
        os.pwrite(st, b"value=%010d %s\n" % (v.value, ok.encode()), 0)
' "$BATS_TEST_TMPDIR/st"
	assert_success
	wait_until 10 went_past "$BATS_TEST_TMPDIR/st" value 5
	for opt in "" --eager; do
		run "$CTSWAP" dump "$CT"
		assert_success
		n=$(field_of "$BATS_TEST_TMPDIR/st" value)
		run "$CTSWAP" restore $opt "$CT"
		assert_success
		wait_until 10 went_past "$BATS_TEST_TMPDIR/st" value $((n + 20))
	done
}

@test "deleted: a deleted file above the size limit refuses the dump, --max-deleted-size raises it" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- python3 -c '
import os, sys, time
fd = os.open(sys.argv[1] + "/big", os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(fd, b"end", 65 * 2**20 - 3); os.unlink(sys.argv[1] + "/big")
open(sys.argv[1] + "/ready", "w").close()
st, n = os.open(sys.argv[1] + "/st", os.O_WRONLY | os.O_CREAT, 0o644), 0
while True:
    time.sleep(0.02); n += 1
    ok = os.fstat(fd).st_size == 65 * 2**20 and os.pread(fd, 3, 65 * 2**20 - 3) == b"end"
    os.pwrite(st, b"rounds=%010d %s\n" % (n, b"ok" if ok else b"BAD"), 0)
' "$BATS_TEST_TMPDIR"
	assert_success
	wait_until 10 test -e "$BATS_TEST_TMPDIR/ready"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "^ctswap: pid [0-9]+ \(python3\): fd [0-9]+: deleted file $BATS_TEST_TMPDIR/big holds 68157440 bytes, more than the limit of 67108864 for its stored contents; raise it with --max-deleted-size$"
	run "$CTSWAP" ps
	assert_output --regexp "$CT +running"
	run "$CTSWAP" dump --max-deleted-size 1x "$CT"
	assert_failure 2
	run "$CTSWAP" dump --max-deleted-size 66M "$CT"
	assert_success
	n=$(field_of "$BATS_TEST_TMPDIR/st" rounds)
	run "$CTSWAP" restore "$CT"
	assert_success
	wait_until 10 went_past "$BATS_TEST_TMPDIR/st" rounds $((n + 3))
}

@test "deleted: a mapping of a deleted file no fd holds refuses the dump, naming it" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/deleted" --mapped-only "$BATS_TEST_TMPDIR"
	assert_success
	wait_until 10 test -e "$BATS_TEST_TMPDIR/ready"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --regexp "^ctswap: pid [0-9]+ \(deleted\): mapping [0-9a-f]+-[0-9a-f]+ of deleted file $BATS_TEST_TMPDIR/mapped-.{6} \(deleted\): no fd of the container holds the file, so its contents cannot be kept$"
	run "$CTSWAP" ps
	assert_output --regexp "$CT +running"
}
