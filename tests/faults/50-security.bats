#!/usr/bin/env bats
# Who may dump and restore, what the store's files let others see, and
# that a restore gives the tasks exactly the privileges they had.

setup() {
	load ../common
	load faults
	common_setup
	PAT="$BATS_TEST_TMPDIR/pat"
}
teardown() {
	common_teardown
	[ -z "$OPEN_DIR" ] || rm -rf "$OPEN_DIR"
}

@test "dump and restore without CAP_SYS_PTRACE/CAP_CHECKPOINT_RESTORE are refused clearly" {
	start_pattern_in "$CT" 8 1 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	# root without capabilities
	run setpriv --inh-caps=-all --bounding-set=-all "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --partial "ctswap: dump: permission denied: needs CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE"
	run setpriv --inh-caps=-all --bounding-set=-all "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output --partial "ctswap: restore: permission denied: needs CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE"
	# an unprivileged user (it cannot even open the root-owned store)
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "ctswap: .*(permission denied|Permission denied|not writable)"
	# nothing happened to the container
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	assert_untraced "$CT"
	pattern_checks_again_in "$PAT"
	assert_lock_clear "$CT"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
	assert_output --partial "generation 1"
	tally privilege 3
}

@test "store files are created 0600 and directories 0700" {
	start_pattern_in "$CT" 8 1 "$PAT"
	run "$CTSWAP" dump "$CT" --leave-running
	assert_success
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	pattern_checks_again_in "$PAT"
	[ "$(stat -c %a "$CTSWAP_STORE")" = 700 ]
	run find "$CTSWAP_STORE" -type d ! -perm 0700
	assert_output ""
	run find "$CTSWAP_STORE" -type f ! -perm 0600
	assert_output ""
	# and there is something to check
	[ -f "$CTSWAP_STORE/$CT/swap" ] && [ -f "$CTSWAP_STORE/$CT/swap.idx" ]
	[ -f "$CTSWAP_STORE/$CT/ckpt-2.meta" ] && [ -f "$CTSWAP_STORE/$CT/state" ]
	tally privilege
}

# The privilege lines of /proc/$1/status.
privs() {
	grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$1/status"
}

@test "restore gives an unprivileged container the same uid, gid, caps and no_new_privs, no more" {
	OPEN_DIR=$(mktemp -d /tmp/ctswap-sec.XXXXXX)
	chmod 0777 "$OPEN_DIR"
	started "$CT"
	run "$CTSWAP" run "$CT" -- setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs "$WORKLOADS/pattern" --mib 8 --threads 1 --seed 42 \
		--out "$OPEN_DIR"
	assert_success
	wait_until 20 grep -q ' ok$' "$OPEN_DIR/status"
	pid=$(ct_pids "$CT" | head -1)
	before=$(privs "$pid")
	echo "$before" | grep -q '^Uid:[[:space:]]*65534'
	echo "$before" | grep -q '^NoNewPrivs:[[:space:]]*1'
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore "$CT"
	assert_success
	pattern_checks_again_in "$OPEN_DIR"
	pid=$(ct_pids "$CT" | head -1)
	after=$(privs "$pid")
	[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); return 1; }
	tally privilege
}

@test "a task under a seccomp filter: the dump refuses it clearly and leaves it running" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/seccomp_sleep" "$BATS_TEST_TMPDIR/ready"
	assert_success
	wait_until 10 test -s "$BATS_TEST_TMPDIR/ready"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "ctswap: pid [0-9]+: seccomp filter: not supported"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	assert_untraced "$CT"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$(ct_pids "$CT" | head -1)/status"
	[ "$(newest_gen "$CT")" = 0 ]
	tally privilege
}
