#!/usr/bin/env bats
# The IRIX-style ckpt_* calls: examples/selfckpt checkpoints itself and continues,
# is restored and continues again; process group, session and tree targets.

setup() {
	load ../common
	common_setup
	CKPT="$TOP/tests/tools/ckpt"
	SELF="$TOP/examples/selfckpt"
	KIDS=()
}
teardown() {
	local p
	for p in "${KIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	common_teardown
}

@test "selfckpt checkpoints itself, continues, and continues again after a restore" {
	# Like the workloads, the program under test must not carry ASan's shadow mappings.
	readelf -d "$TOP/libctswap.so" | grep -q libasan && skip "sanitized build: selfckpt links the ASan runtime"
	log="$BATS_TEST_TMPDIR/log"
	started "$CT"
	# Its own session: a restore recreates the group and session only from inside the container.
	setsid "$SELF" --path "$CTSWAP_STORE/$CT" --out "$log" --at 5 </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	KIDS+=("$pid")
	wait_until 10 grep -q 'ckpt_create returned 0 at tick 5' "$log"
	wait_until 10 grep -q '^tick 8 ' "$log"
	grep -q "ckpt_create returned 0 at tick 5 pid $pid ppid" "$log"
	# It is a container now, with one checkpoint, and it was left running.
	run "$CTSWAP" ps "$CT" --json
	assert_output --partial '"state":"running"'
	assert_output --partial "\"init_pid\":$pid"
	assert_output --partial '"generation":1'
	run "$CKPT" stat "$CTSWAP_STORE/$CT"
	assert_success
	assert_output "id=$pid type=1 gen=1 pid=$pid ppid=0 pgrp=$pid sid=$pid threads=1 files=$(ls /proc/$pid/fd | wc -l) comm=selfckpt"
	grep -q 'TracerPid:[[:space:]]*0$' /proc/$pid/status
	! ls "$CTSWAP_STORE"/.ckpt-* 2>/dev/null

	"$CTSWAP" kill "$CT"
	wait "$pid" || true
	before=$(grep -c '^tick' "$log")
	"$CTSWAP" restore --help >/dev/null 2>&1 || skip "ctswap restore has not landed in this branch"
	# The log file grew since the dump: allow that changed file.
	run "$CKPT" restart "$CTSWAP_STORE/$CT" changed
	assert_success
	assert_output "$pid"
	wait_until 10 bash -c "[ \$(grep -c '^tick' '$log') -ge $((before + 5)) ]"
	# The restored process returned from the same ckpt_create again (new parent),
	# then went on from tick 6 with its memory intact.
	run grep -c "ckpt_create returned 0 at tick 5 pid $pid ppid" "$log"
	assert_output 2
	run sed -n "/ckpt_create returned 0 at tick 5 pid $pid ppid [0-9]*\$/{n;p}" "$log"
	assert_line --index 1 "tick 6 pid $pid ok"
	! grep -q BAD "$log"
	! grep -q failed "$log"
}

@test "ckpt_create of a session adopts all its processes; KILL semantics end them" {
	setsid bash -c 'sleep 1000 & sleep 1000 & exec sleep 1000' </dev/null >/dev/null 2>&1 &
	KIDS+=($!)
	started "$CT"
	wait_until 5 bash -c "[ \$(pgrep -s \$(ps -o sid= $! | tr -d ' ') | wc -l) = 3 ]"
	sid=$(ps -o sid= $! | tr -d ' ')
	pids=$(pgrep -s "$sid" | sort -n)
	run "$CKPT" create "$CTSWAP_STORE/$CT" "$sid" sid cont
	assert_success
	run "$CTSWAP" ps "$CT" --json
	assert_output --partial '"tasks":3'
	run "$CKPT" stat "$CTSWAP_STORE/$CT"
	[ "${#lines[@]}" = 3 ]
	for l in "${lines[@]}"; do [[ "$l" == "id=$sid type=256 gen=1 "* ]]; done
	# A second create (default: kill) checkpoints the whole container again.
	run "$CKPT" create "$CTSWAP_STORE/$CT" "$sid" sid
	assert_success
	for p in $pids; do ! kill -0 "$p" 2>/dev/null || [[ $(ps -o stat= $p) == Z* ]]; done
	run "$CKPT" stat "$CTSWAP_STORE/$CT"
	assert_line --index 0 --partial "gen=2"
	run "$CTSWAP" ps "$CT"
	assert_output --partial checkpointed
	# ckpt_remove drops it all.
	run "$CKPT" remove "$CTSWAP_STORE/$CT"
	assert_success
	[ ! -e "$CTSWAP_STORE/$CT" ]
}

@test "ckpt_create of a tree takes the descendants only; errors are reported" {
	bash -c 'sleep 1000 & sleep 1000 & wait' </dev/null >/dev/null 2>&1 &
	root=$!
	KIDS+=("$root")
	started "$CT" "$CT-b"
	wait_until 5 bash -c "[ \$(pgrep -P $root | wc -l) = 2 ]"
	run "$CKPT" create "$CTSWAP_STORE/$CT" "$root" hid cont
	assert_success
	run "$CTSWAP" ps "$CT" --json
	assert_output --partial '"tasks":3'
	assert_output --partial "\"init_pid\":$root"
	# The test's own shell is not in it.
	! grep -q ":/ctswap/$CT\$" /proc/$$/cgroup
	# Already in another container: refused.
	run "$CKPT" create "$CTSWAP_STORE/$CT-b" "$root" pid cont
	assert_failure
	assert_output --partial "EBUSY: pid $root: in container $CT, not $CT-b"
	[ ! -e "$CTSWAP_STORE/$CT-b" ]
	run "$CKPT" create "$CTSWAP_STORE/$CT-b" 99999999999 pid
	assert_failure
	assert_output --partial EINVAL
	run "$CKPT" create "$CTSWAP_STORE/$CT-b" 4000000 pgid
	assert_failure
	assert_output --partial "ESRCH: process group 4000000: no such process"
	run "$CKPT" create "$CTSWAP_STORE/$CT-b" 1 77
	assert_failure
	assert_output --partial "unknown id type 77"
	run "$CKPT" create "$CTSWAP_STORE/bad name" 1 pid
	assert_failure
	assert_output --partial "not a valid container name"
	# P_CTSWAP: the container named by the path.
	run "$CKPT" create "$CTSWAP_STORE/$CT" 0 ctswap cont keep=3
	assert_success
	run "$CKPT" stat "$CTSWAP_STORE/$CT"
	assert_line --index 0 --partial "gen=2"
	run "$CKPT" remove "$CTSWAP_STORE/$CT"
	assert_failure
	assert_output --partial EBUSY
}
