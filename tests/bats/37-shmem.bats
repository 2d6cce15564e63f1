#!/usr/bin/env bats
# Shared memory objects come back whole: pages no live process maps (written
# by a child that exited), SysV segments, memfds with their name and seals,
# and /dev/shm files mapped shared, which are mapped again and see the writes.

setup() { load ../common; common_setup; SHMFILE="/dev/shm/ctswap-test-$CT"; }
teardown() { rm -f "$SHMFILE"; common_teardown; }

# Start shmobj of kind $1 ($2 MiB) in $CT; status in $BATS_TEST_TMPDIR/obj.
start_shmobj() {
	D="$BATS_TEST_TMPDIR/obj"
	mkdir -p "$D"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/shmobj" --kind "$1" --mib "$2" --out "$D" \
		--file "$SHMFILE"
	assert_success
}

# Wait for status line $1 of shmobj; fail at once on BAD.
shmobj_status() {
	wait_until 20 grep -qx -e "$1" -e 'BAD.*' "$D/status"
	run grep -x -e "$1" -e 'BAD.*' "$D/status"
	assert_output "$1"
}

# Round $1: wait until ready, dump, restore with options $2..., let it check.
shmobj_round() {
	local r=$1; shift
	shmobj_status "ready $r"
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore "$@" "$CT"
	assert_success
	touch "$D/go-$r"
	shmobj_status "ok $r"
}

# Two rounds: lazy restore, then an eager one of the restored container.
shmobj_two_rounds() {
	start_shmobj "$1" "$2"
	shmobj_round 1
	shmobj_round 2 --eager
	shmobj_status done
}

@test "shmem: shared anonymous pages written by an exited child come back" {
	shmobj_two_rounds anon 8
}

@test "shmem: a SysV segment written by an exited child comes back whole" {
	shmobj_two_rounds sysv 4
}

@test "shmem: a memfd comes back whole, half of it unmapped, with its name and seals" {
	shmobj_two_rounds memfd 4
}

@test "shmem: a /dev/shm file mapped shared is mapped again and sees the writes" {
	shmobj_two_rounds devshm 4
	[ ! -e "$SHMFILE" ]	# the workload removed it: it had the file, not a copy
}

@test "shmem: a /dev/shm file gone before the restore is made again with its contents" {
	start_shmobj devshm 4
	shmobj_status "ready 1"
	run "$CTSWAP" dump "$CT"
	assert_success
	rm -f "$SHMFILE"
	run "$CTSWAP" restore "$CT"
	assert_success
	[ "$(stat -c %a "$SHMFILE")" = 640 ]
	touch "$D/go-1"
	shmobj_status "ok 1"
}

@test "shmem: a --leave-running (snapshot) dump stores the objects whole too" {
	start_shmobj memfd 4
	shmobj_status "ready 1"
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	run "$CTSWAP" kill "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	touch "$D/go-1"
	shmobj_status "ok 1"
}

@test "shmem: a tmpfs file in a mount of the container's own is refused, left running" {
	D="$BATS_TEST_TMPDIR/obj"
	mkdir -p "$D" "$BATS_TEST_TMPDIR/mnt"
	started "$CT"
	run "$CTSWAP" run "$CT" -- sh -c "mount -t tmpfs none '$BATS_TEST_TMPDIR/mnt' && exec '$WORKLOADS/shmobj' --kind devshm --mib 1 --out '$D' --file '$BATS_TEST_TMPDIR/mnt/f'"
	assert_success
	shmobj_status "ready 1"
	run "$CTSWAP" dump "$CT"
	assert_failure
	assert_output --partial "mnt/f mapped shared is not that file at that path outside the container"
	[ "${#lines[@]}" = 1 ]
	touch "$D/go-1"
	shmobj_status "ok 1"
}

@test "shmem: a deleted /dev/shm file mapped shared comes back whole" {
	shmobj_two_rounds devshm-deleted 4
}

# Start vmflags with options $@ in $CT; status in $BATS_TEST_TMPDIR/obj.
start_vmflags() {
	D="$BATS_TEST_TMPDIR/obj"
	mkdir -p "$D"
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/vmflags" --out "$D" "$@"
	assert_success
}

@test "shmem: mlock and madvise state comes back as smaps showed it" {
	start_vmflags
	shmobj_round 1
	shmobj_round 2 --eager
	shmobj_status done
}

@test "shmem: mlockall(MCL_FUTURE) is in force again: a new mapping is locked" {
	start_vmflags --future
	shmobj_round 1 --eager
	shmobj_round 2
	shmobj_status done
}

@test "shmem: memfd descriptors: shared with the mapping, position kept, an fd-only memfd whole" {
	shmobj_two_rounds memfd-fd 2
}
