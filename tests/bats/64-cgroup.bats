#!/usr/bin/env bats
# A cgroup the container makes below its own: its processes are not in the container's group,
# and its limits and membership are not kept, so the dump refuses it (one line, naming the
# process and the group) and leaves the container running; rm removes the groups below too.

setup() {
	load ../common
	common_setup
}

teardown() {
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

# Start $CT (options "$@") running a shell that makes cgroup "sub" below its own in the
# hierarchy mounted at $HIER and moves a child into it; the child's host pid in $CHILD.
start_with_sub() {
	started "$CT"
	run "$CTSWAP" run "$CT" "$@" -- /bin/sh -c "mkdir $HIER/ctswap/$CT/sub &&
		sh -c 'echo \$\$ > $HIER/ctswap/$CT/sub/cgroup.procs && echo child \$\$ && exec sleep 1000' &
		exec sleep 1000"
	assert_success
	PID=$output
	wait_until 5 grep -q '^child' "$CTSWAP_STORE/$CT/console.log"
	CHILD=$(cat "$HIER/ctswap/$CT/sub/cgroup.procs")	# its host pid
}

# The dump refuses, the container runs on, rm leaves no group behind.
refused_and_removed() {
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: host pid $CHILD: in cgroup $HIER/ctswap/$CT/sub, below the container's own: not supported"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
	[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$CHILD/status")" = 0 ]
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	[ "$(cat "$HIER/ctswap/$CT/sub/cgroup.procs")" = "$CHILD" ]
	run "$CTSWAP" rm --force "$CT"
	assert_success
	[ ! -e "$HIER/ctswap/$CT" ]
}

@test "cgroup: a process in a cgroup below the container's own (v2) refuses the dump, naming both; the container runs on" {
	HIER=$(cg_v2_mount)
	[ -n "$HIER" ] || skip "no cgroup v2 hierarchy"
	start_with_sub
	refused_and_removed
}

@test "cgroup: a process in a cgroup below the container's own v1 memory group (--memory) refuses the dump too" {
	HIER=$(cg_v1_mount memory)
	[ -n "$HIER" ] || skip "no v1 memory hierarchy"
	start_with_sub --memory 64m
	refused_and_removed
}
