#!/usr/bin/env bats
# run, freeze, thaw, kill, rm, ps and check on real processes.

setup() { load ../common; common_setup; }
teardown() {
	# a test that froze a task in a v1 group of its own thaws and removes it
	if [ -n "${V1_TRAP:-}" ] && [ -d "$V1_TRAP" ]; then
		echo THAWED >"$V1_TRAP/freezer.state" || true
	fi
	common_teardown
	[ -n "${V1_TRAP:-}" ] && rmdir "$V1_TRAP" 2>/dev/null || true
}

# A shell loop that appends a counter to $1 every 20 ms.
counter_cmd() {
	echo "i=0; while :; do i=\$((i+1)); echo \$i >>$1; sleep 0.02; done"
}

# True once file $1 has more than $2 lines (re-evaluated on every call).
lines_over() {
	[ "$(lines_of "$1")" -gt "$2" ]
}

# One field of `ctswap ps NAME --json`.
ps_field() {
	"$CTSWAP" ps "$1" --json | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$2'])"
}

# True once container $1 is in state $2.
state_is() {
	[ "$(ps_field "$1" state)" = "$2" ]
}

# True once container $1 has $2 processes.
tasks_are() {
	[ "$(ps_field "$1" tasks)" = "$2" ]
}

@test "run prints the host pid of an init that is pid 1 in its own namespace" {
	run ctswap run "$CT" -- sh -c "echo \$\$ >$BATS_TEST_TMPDIR/pid; exec sleep 1000"
	assert_success
	started "$CT"
	[[ "$output" =~ ^[0-9]+$ ]]
	pid=$output
	wait_until 5 test -s "$BATS_TEST_TMPDIR/pid"
	[ "$(cat "$BATS_TEST_TMPDIR/pid")" = 1 ]
	# the host pid is the init, in our cgroup, and the one ps reports
	grep -q "ctswap/$CT\$" /proc/$pid/cgroup
	[ "$(ps_field "$CT" init_pid)" = "$pid" ]
	[ "$(ps_field "$CT" state)" = running ]
	# it has its own /proc: only its own processes are listed there
	run ctswap run "$CT-b" -- sh -c "ls /proc | grep -c '^[0-9]' >$BATS_TEST_TMPDIR/n; exec sleep 1000"
	started "$CT-b"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/n"
	[ "$(cat "$BATS_TEST_TMPDIR/n")" -le 3 ]
}

@test "the init's parent is our supervisor, which records pids in the store" {
	pid=$(ctswap run "$CT" -- sleep 1000)
	started "$CT"
	ppid=$(awk '{print $4}' /proc/$pid/stat)
	[ "$(cat /proc/$ppid/comm)" = ctswap-sup ]
	grep -q "^supervisor_pid=$ppid\$" "$CTSWAP_STORE/$CT/state"
	grep -q "^init_pid=$pid\$" "$CTSWAP_STORE/$CT/state"
	grep -q "^pidns=1\$" "$CTSWAP_STORE/$CT/state"
	# the supervisor is a subreaper in its own session, outside the container's cgroup
	[ "$(awk '{print $6}' /proc/$ppid/stat)" != "$(awk '{print $6}' /proc/$$/stat)" ]
	! grep -q "ctswap/$CT\$" /proc/$ppid/cgroup
}

@test "--no-pidns keeps the host pid namespace" {
	pid=$(ctswap run "$CT" --no-pidns -- sh -c "echo \$\$ >$BATS_TEST_TMPDIR/pid; exec sleep 1000")
	started "$CT"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/pid"
	[ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$pid" ]
	grep -q "^pidns=0\$" "$CTSWAP_STORE/$CT/state"
}

@test "a frozen container stops counting and counts again after thaw" {
	f=$BATS_TEST_TMPDIR/count
	ctswap run "$CT" -- sh -c "$(counter_cmd "$f")"
	started "$CT"
	wait_until 5 lines_over "$f" 2
	run ctswap freeze "$CT"
	assert_success
	[ "$(ps_field "$CT" state)" = frozen ]
	cg=$(ps_field "$CT" cgroup)
	grep -q "^frozen 1" "$cg/cgroup.events"
	n1=$(lines_of "$f")
	sleep 0.5
	n2=$(lines_of "$f")
	[ "$n1" = "$n2" ]
	run ctswap thaw "$CT"
	assert_success
	wait_until 5 lines_over "$f" "$((n2 + 2))"
	[ "$(ps_field "$CT" state)" = running ]
}

@test "kill empties the cgroup, frozen or not, and the exit status is recorded" {
	pid=$(ctswap run "$CT" -- sh -c 'sleep 1000 & sleep 1000 & wait')
	started "$CT"
	wait_until 5 tasks_are "$CT" 3
	cg=$(ps_field "$CT" cgroup)
	ctswap freeze "$CT"
	run ctswap kill "$CT"
	assert_success
	[ -z "$(cat "$cg/cgroup.procs")" ]
	[ ! -d /proc/$pid ]
	[ "$(ps_field "$CT" state)" = stopped ]
	[ "$(ps_field "$CT" tasks)" = 0 ]
	# wait status 9: killed by SIGKILL
	[ "$(ps_field "$CT" exit_status)" = 9 ]
	run ctswap ps "$CT"
	assert_output --partial "killed by SIGKILL"
}

@test "the exit status is recorded once the init exits by itself" {
	ctswap run "$CT" -- sh -c 'sleep 0.2; exit 7'
	started "$CT"
	wait_until 5 grep -q '^exit_status=' "$CTSWAP_STORE/$CT/state"
	grep -q '^status=exited$' "$CTSWAP_STORE/$CT/state"
	[ "$(ps_field "$CT" exit_status)" = $((7 << 8)) ]
	[ "$(ps_field "$CT" state)" = stopped ]
	run ctswap ps "$CT"
	assert_output --partial "exited 7"
}

@test "console.log gets stdout and stderr, --log picks another file, stdin is /dev/null" {
	ctswap run "$CT" -- sh -c 'echo out; echo err >&2; cat; echo done'
	started "$CT"
	wait_until 5 grep -q done "$CTSWAP_STORE/$CT/console.log"
	grep -q '^out$' "$CTSWAP_STORE/$CT/console.log"
	grep -q '^err$' "$CTSWAP_STORE/$CT/console.log"
	ctswap run "$CT-b" --log "$BATS_TEST_TMPDIR/my.log" -- sh -c 'echo elsewhere'
	started "$CT-b"
	wait_until 5 grep -q elsewhere "$BATS_TEST_TMPDIR/my.log"
	[ ! -e "$CTSWAP_STORE/$CT-b/console.log" ]
}

@test "rm removes cgroup and store entry; --force removes a live container" {
	ctswap run "$CT" -- true
	started "$CT"
	cg=$(ps_field "$CT" cgroup)
	wait_until 5 state_is "$CT" stopped
	run ctswap rm "$CT"
	assert_success
	[ ! -d "$CTSWAP_STORE/$CT" ]
	[ ! -d "$cg" ]
	pid=$(ctswap run "$CT-b" -- sleep 1000)
	started "$CT-b"
	cg=$(ps_field "$CT-b" cgroup)
	run ctswap rm "$CT-b"
	assert_failure 1
	assert_output "ctswap: $CT-b: container is running (1 processes); kill it first or use --force"
	run ctswap rm --force "$CT-b"
	assert_success
	[ ! -d /proc/$pid ]
	[ ! -d "$cg" ]
	[ ! -d "$CTSWAP_STORE/$CT-b" ]
	# the name can be used again
	ctswap run "$CT-b" -- true
}

@test "ps lists every container; --json parses; checkpointed and lazy progress are shown" {
	ctswap run "$CT-a" -- sleep 1000
	started "$CT-a"
	ctswap run "$CT-b" -- true
	started "$CT-b"
	wait_until 5 state_is "$CT-b" stopped
	touch "$CTSWAP_STORE/$CT-b/ckpt-2.meta" "$CTSWAP_STORE/$CT-b/ckpt-11.meta"
	# a lazy.state as the restore helper writes it (lzma_crc32 is zlib's crc32)
	python3 - "$CTSWAP_STORE/$CT-b/lazy.state" <<'PY'
import sys, zlib
body = b"ctswap-state 1\nresident=1234\ntotal=5678\npid=42\n"
open(sys.argv[1], "wb").write(body + b"end crc32=%08x\n" % zlib.crc32(body))
PY
	run ctswap ps --json
	assert_success
	python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
by = {r["name"]: r for r in rows}
a, b = by[sys.argv[2] + "-a"], by[sys.argv[2] + "-b"]
assert len(rows) == 2, rows
assert a["state"] == "running" and a["tasks"] == 1 and a["rss_bytes"] > 0, a
assert a["cgroup"].endswith("/ctswap/" + a["name"]), a
assert b["state"] == "checkpointed" and b["generation"] == 11, b
assert b["lazy"] == {"resident": 1234, "total": 5678}, b
' "$output" "$CT"
	run ctswap ps
	assert_success
	assert_line --index 0 --regexp '^NAME +STATE +PID +TASKS +RSS +CGROUP'
	assert_output --regexp "$CT-a +running +[0-9]+ +1 "
	assert_output --regexp "$CT-b +checkpointed +- +0 .*lazy 1234/5678"
}

@test "freeze times out on a task that cannot freeze, names it, and thaws back" {
	fz=$(awk '$9 == "cgroup" && $NF ~ /(^|,)freezer(,|$)/ {print $5; exit}' /proc/self/mountinfo)
	[ -n "$fz" ] || skip "no v1 freezer hierarchy"
	pid=$(ctswap run "$CT" -- sleep 1000)
	started "$CT"
	# a task frozen by another (v1) freezer never reaches the v2 freezer's trap
	V1_TRAP=$fz/ctswap-test-$CT
	mkdir "$V1_TRAP"
	echo "$pid" >"$V1_TRAP/cgroup.procs"
	echo FROZEN >"$V1_TRAP/freezer.state"
	wait_until 5 grep -q FROZEN "$V1_TRAP/freezer.state"
	run ctswap freeze --timeout 0.5 "$CT"
	assert_failure 1
	assert_output --partial "ctswap: $CT: freeze timed out after 0.5 s, not frozen: $pid (sleep, state D"
	cg=$(ps_field "$CT" cgroup)
	[ "$(cat "$cg/cgroup.freeze")" = 0 ]
	echo THAWED >"$V1_TRAP/freezer.state"
	[ "$(ps_field "$CT" state)" = running ]
	run ctswap freeze "$CT"
	assert_success
}

@test "the v1 freezer fallback freezes, thaws and kills" {
	fz=$(awk '$9 == "cgroup" && $NF ~ /(^|,)freezer(,|$)/ {print $5; exit}' /proc/self/mountinfo)
	[ -n "$fz" ] || skip "no v1 freezer hierarchy"
	f=$BATS_TEST_TMPDIR/count
	CTSWAP_FREEZER=v1 ctswap run "$CT" -- sh -c "$(counter_cmd "$f")"
	started "$CT"
	cg=$(ps_field "$CT" cgroup)
	[ "$cg" = "$fz/ctswap/$CT" ]
	wait_until 5 lines_over "$f" 2
	ctswap freeze "$CT"
	[ "$(cat "$cg/freezer.state")" = FROZEN ]
	[ "$(ps_field "$CT" state)" = frozen ]
	n1=$(lines_of "$f")
	sleep 0.5
	[ "$(lines_of "$f")" = "$n1" ]
	ctswap thaw "$CT"
	wait_until 5 lines_over "$f" "$((n1 + 2))"
	ctswap freeze "$CT"
	run ctswap kill "$CT"
	assert_success
	[ -z "$(cat "$cg/cgroup.procs")" ]
	[ "$(ps_field "$CT" state)" = stopped ]
	ctswap rm "$CT"
	[ ! -d "$cg" ]
}

@test "a command holding the lock makes others say who holds it" {
	ctswap run "$CT" -- sleep 1000
	started "$CT"
	exec 9>>"$CTSWAP_STORE/$CT/lock"
	flock -n 9
	echo "pid 4242 dump" >"$CTSWAP_STORE/$CT/lock"
	run ctswap rm --force "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: busy: pid 4242 is running dump"
	run ctswap kill "$CT"
	assert_output "ctswap: $CT: busy: pid 4242 is running dump"
	exec 9>&-
	run ctswap kill "$CT"
	assert_success
}

@test "check probes every kernel feature" {
	run ctswap check
	assert_success
	for f in "cgroup v2 freeze" "ptrace seize/interrupt" process_vm_readv "PAGEMAP_SCAN ioctl" \
		pidfd_getfd "clone3 set_tid" PR_SET_MM_MAP "userfaultfd (restore)" "vdso/vvar layout" \
		"proc of a new pid namespace"; do
		assert_line --regexp "^$(printf '%s' "$f" | sed 's/[()/]/\\&/g') +ok"
	done
	# the probe's scratch cgroup is gone
	v2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	! ls "$v2/ctswap" | grep -q '^\.check-'
}

@test "help lists the lifecycle commands and each has --help" {
	run ctswap help
	assert_success
	for c in run freeze thaw kill rm ps check; do
		assert_line --regexp "^  $c "
		run ctswap "$c" --help
		assert_success
		assert_line --index 0 --partial "usage: ctswap $c"
		run ctswap help
	done
}
