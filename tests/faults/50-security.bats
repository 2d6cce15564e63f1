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

# The seccomp state of every thread of process $1, leader first.
seccomp_of() {
	local t
	for t in $(ls /proc/"$1"/task | sort -n); do
		t=/proc/$1/task/$t
		grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' "$t/status"
	done
}

# The round counter in seccomp_check's status file $1.
rounds_in() {
	sed -n 's/^rounds=\([0-9]*\) .*/\1/p' "$1"
}

# True once seccomp_check's status file $1 counts more than $2 rounds.
rounds_past() {
	[ "$(rounds_in "$1")" -gt "$2" ]
}

@test "tasks under stacked seccomp filters: restored with the same filters per thread, still acting" {
	local st="$BATS_TEST_TMPDIR/status" pid before after r
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/seccomp_check" --out "$BATS_TEST_TMPDIR"
	assert_success
	wait_until 10 grep -q ' ok$' "$st"
	pid=$(ct_pids "$CT" | head -1)
	before=$(seccomp_of "$pid")
	# two threads in filter mode: two shared filters, and one more in the second
	[ "$(echo "$before" | grep -c '^Seccomp:[[:space:]]*2$')" = 2 ]
	echo "$before" | grep -q '^Seccomp_filters:[[:space:]]*2$'
	echo "$before" | grep -q '^Seccomp_filters:[[:space:]]*3$'
	# reading and suspending filters takes CAP_SYS_ADMIN: refused clearly, nothing changed
	run setpriv --bounding-set=-sys_admin "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --partial "ctswap: dump: seccomp filters: permission denied: needs CAP_SYS_ADMIN"
	assert_untraced "$CT"
	[ "$(newest_gen "$CT")" = 0 ]
	run "$CTSWAP" dump "$CT"
	assert_success
	assert_output --partial "2 threads"
	r=$(rounds_in "$st")
	run setpriv --bounding-set=-sys_admin "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output --partial "ctswap: restore: seccomp filters: permission denied: needs CAP_SYS_ADMIN"
	run "$CTSWAP" restore "$CT"
	assert_success
	pid=$(ct_pids "$CT" | head -1)
	after=$(seccomp_of "$pid")
	[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); return 1; }
	# the workload's own checks: filtered calls get their marker errno, others work
	wait_until 10 rounds_past "$st" $((r + 3))
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
	# a restored container dumps and restores again, filters and all
	run "$CTSWAP" dump "$CT"
	assert_success
	r=$(rounds_in "$st")
	run "$CTSWAP" restore "$CT"
	assert_success
	pid=$(ct_pids "$CT" | head -1)
	[ "$(seccomp_of "$pid")" = "$before" ]
	wait_until 10 rounds_past "$st" $((r + 3))
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
	tally privilege
}

@test "a task in seccomp strict mode: the dump refuses it clearly and leaves it running" {
	started "$CT"
	run "$CTSWAP" run "$CT" -- "$WORKLOADS/seccomp_check" --strict --out "$BATS_TEST_TMPDIR"
	assert_success
	wait_until 10 test -s "$BATS_TEST_TMPDIR/status"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp "ctswap: pid [0-9]+: seccomp strict mode: not supported"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	assert_untraced "$CT"
	grep -q '^Seccomp:[[:space:]]*1' "/proc/$(ct_pids "$CT" | head -1)/status"
	[ "$(newest_gen "$CT")" = 0 ]
	tally privilege
}
