#!/usr/bin/env bats
# Cgroups the container makes below its own: they come back with their limits and their
# processes (v2 and the v1 memory and pids groups of its limits); a process from outside put
# into one refuses the dump.  (The v2 hierarchy of this hybrid host has no controllers: v2 limits
# cannot be set here, only membership is checked there.)

setup() {
	load ../common
	common_setup
	OUTSIDE=
}

teardown() {
	[ -z "$OUTSIDE" ] || kill "$OUTSIDE" 2>/dev/null || true
	common_teardown
}

# The v1 mount point of cgroup controller $1.
cg_v1_mount() {
	awk -v c="$1" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}

# The v2 mount point.
cg_v2_mount() {
	awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
}

# The pid inside the container of host pid $1 (the last NSpid).
inside_pid() {
	awk '/^NSpid:/ { print $NF }' "/proc/$1/status"
}

# Each group below the container's of the three hierarchies, with its processes as pids inside
# and its limit, one line each: what must be the same after a restore.
groups_of() {
	local dir p pids
	for dir in $(find "$MEM/ctswap/$CT" "$PIDS/ctswap/$CT" "$V2/ctswap/$CT" -mindepth 1 -type d | sort); do
		pids=
		for p in $(cat "$dir/cgroup.procs"); do
			pids="$pids $(inside_pid "$p")"
		done
		echo "${dir#/sys/fs/cgroup/}:$pids $(cat "$dir/memory.limit_in_bytes" "$dir/pids.max" 2>/dev/null)"
	done
}

@test "cgroup: groups below the container's own come back with their limits and processes (lazy, eager, again)" {
	local before how
	MEM=$(cg_v1_mount memory) PIDS=$(cg_v1_mount pids) V2=$(cg_v2_mount)
	[ -n "$MEM" ] && [ -n "$PIDS" ] && [ -n "$V2" ] || skip "needs v1 memory and pids and a v2 hierarchy"
	started "$CT"
	# a child in memory sub/deeper (32 MiB), pids sub (20) and v2 w; another in memory sub only
	run "$CTSWAP" run "$CT" --memory 64m --pids 100 -- /bin/sh -c "
		M=$MEM/ctswap/$CT P=$PIDS/ctswap/$CT U=$V2/ctswap/$CT
		mkdir \$M/sub \$M/sub/deeper \$P/sub \$U/w && echo 33554432 > \$M/sub/deeper/memory.limit_in_bytes &&
		echo 20 > \$P/sub/pids.max || exit 1
		sh -c 'echo \$\$ > \$0/sub/deeper/cgroup.procs && echo \$\$ > \$1/sub/cgroup.procs &&
			echo \$\$ > \$2/w/cgroup.procs && exec sleep 1000' \$M \$P \$U &
		sh -c 'echo \$\$ > \$0/sub/cgroup.procs && echo ready && exec sleep 1000' \$M &
		exec sleep 1000"
	assert_success
	wait_until 5 grep -q '^ready' "$CTSWAP_STORE/$CT/console.log"
	wait_until 5 grep -q . "$V2/ctswap/$CT/w/cgroup.procs"	# (cgroup files show size 0)
	before=$(groups_of)
	echo "$before"
	[ "$(echo "$before" | grep -c ' 33554432$')" = 1 ]
	[ "$(echo "$before" | grep -c ' 20$')" = 1 ]
	for how in "" --eager ""; do
		run "$CTSWAP" dump "$CT"
		assert_success
		run "$CTSWAP" restore $how "$CT"
		assert_success
		[ "$(groups_of)" = "$before" ]
		[ "$(cat "$MEM/ctswap/$CT/memory.limit_in_bytes")" = 67108864 ]
	done
	run "$CTSWAP" rm --force "$CT"
	assert_success
	[ ! -e "$MEM/ctswap/$CT" ] && [ ! -e "$PIDS/ctswap/$CT" ] && [ ! -e "$V2/ctswap/$CT" ]
}

@test "cgroup: a process from outside in a group below the container's own refuses the dump, naming it; the container runs on" {
	V2=$(cg_v2_mount)
	[ -n "$V2" ] || skip "no cgroup v2 hierarchy"
	started "$CT"
	run "$CTSWAP" run "$CT" -- /bin/sh -c "mkdir $V2/ctswap/$CT/sub && echo ready; exec sleep 1000"
	assert_success
	wait_until 5 grep -q '^ready' "$CTSWAP_STORE/$CT/console.log"
	sleep 1000 &
	OUTSIDE=$!
	echo "$OUTSIDE" > "$V2/ctswap/$CT/sub/cgroup.procs"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: host pid $OUTSIDE: in the container's cgroup but outside its pid namespace: not supported"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	[ "$(awk '/^State:/ { print $2 }' "/proc/$OUTSIDE/status")" = S ]
}
