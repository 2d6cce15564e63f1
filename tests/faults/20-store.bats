#!/usr/bin/env bats
# The store under hostile file systems: full, read-only, missing, and one
# without hole punching (vfat).  Each failing dump must say why in one
# line, leave the container running, and keep the previous generation.
# (No vfat in this kernel: ramfs stands for a file system without holes.)

setup() {
	load ../common
	load faults
	common_setup
	MNT="$BATS_TEST_TMPDIR/mnt"
	PAT="$BATS_TEST_TMPDIR/pat"
	mkdir -p "$MNT"
}
teardown() {
	common_teardown
	mountpoint -q "$CTSWAP_STORE" && umount -l "$CTSWAP_STORE"
	mountpoint -q "$MNT" && umount -l "$MNT"
	true
}

# The container is running, untraced, checking itself fine, and generation $1 verifies.
assert_intact() {
	run "$CTSWAP" ps "$CT"
	assert_success
	assert_output --partial running
	assert_untraced "$CT"
	pattern_checks_again_in "$PAT"
	assert_no_partial_files "$CT"
	assert_lock_clear "$CT"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	assert_output --partial "generation $1"
}

@test "disk full: the dump fails with ENOSPC, the container runs on, generation 1 intact" {
	mount -t tmpfs -o size=48m tmpfs "$MNT"
	export CTSWAP_STORE="$MNT/store"
	start_pattern_in "$CT" 16 1 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	# fill what is left; a few pages must still change for the next dump
	dd if=/dev/zero of="$MNT/filler" bs=1M 2>/dev/null || true
	run "$CTSWAP" dump "$CT" --leave-running
	assert_failure 1
	assert_output --regexp "ctswap: .*No space left on device"
	rm -f "$MNT/filler"
	assert_intact 1
	# too small for even the first dump of a new container
	rm -f "$CTSWAP_STORE/$CT/swap"*
	rm -f "$CTSWAP_STORE/$CT"/ckpt-*
	dd if=/dev/zero of="$MNT/filler" bs=1M count=40 2>/dev/null
	run "$CTSWAP" dump "$CT" --leave-running
	assert_failure 1
	assert_output --regexp "ctswap: .*No space left on device"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	assert_no_partial_files "$CT"
	tally store 2
}

@test "read-only store: the dump fails clearly, generation 1 intact" {
	mount -t tmpfs -o size=64m tmpfs "$MNT"
	export CTSWAP_STORE="$MNT/store"
	start_pattern_in "$CT" 8 1 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	# the whole store read-only (a read-only bind mount over it: the
	# supervisor's open console keeps the tmpfs itself from a remount)
	mount --bind "$CTSWAP_STORE" "$CTSWAP_STORE"
	mount -o remount,ro,bind "$CTSWAP_STORE"
	run "$CTSWAP" dump "$CT" --leave-running
	umount "$CTSWAP_STORE"
	assert_failure 1
	assert_output --partial "Read-only file system"
	assert_intact 1
	# only the container's directory read-only (a bind mount): past the store check
	mount --bind "$CTSWAP_STORE/$CT" "$CTSWAP_STORE/$CT"
	mount -o remount,ro,bind "$CTSWAP_STORE/$CT"
	run "$CTSWAP" dump "$CT" --leave-running
	umount "$CTSWAP_STORE/$CT"
	assert_failure 1
	assert_output --partial "Read-only file system"
	assert_intact 1
	tally store 2
}

@test "missing store or container directory: clear errors, nothing created by accident" {
	start_pattern_in "$CT" 8 1 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	# a store path under a regular file cannot exist
	touch "$BATS_TEST_TMPDIR/afile"
	CTSWAP_STORE="$BATS_TEST_TMPDIR/afile/store" run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --partial "cannot create store"
	# the store directory gone under a running container
	mv "$CTSWAP_STORE" "$BATS_TEST_TMPDIR/moved"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_failure 1
	assert_output --partial "$CT: no such container"
	[ -n "$(ct_pids "$CT")" ]
	assert_untraced "$CT"
	# (the dump made a new, empty store there)
	rmdir "$CTSWAP_STORE"
	mv "$BATS_TEST_TMPDIR/moved" "$CTSWAP_STORE"
	assert_intact 1
	tally store 2
}

@test "store on ramfs (no hole punching): dumps work and the previous generation stays readable" {
	# this kernel has no vfat; ramfs has no fallocate at all
	mount -t ramfs ramfs "$MNT"
	# the premise: this file system has no FALLOC_FL_PUNCH_HOLE
	head -c 65536 /dev/urandom >"$MNT/probe"
	run fallocate --punch-hole -o 4096 -l 8192 "$MNT/probe"
	assert_failure
	rm -f "$MNT/probe"
	export CTSWAP_STORE="$MNT/store"
	start_pattern_in "$CT" 8 1 "$PAT"
	for g in 1 2 3; do
		run "$CTSWAP" dump "$CT" --leave-running
		assert_success
		assert_output --partial "generation $g"
	done
	assert_intact 3
	tally store
}
