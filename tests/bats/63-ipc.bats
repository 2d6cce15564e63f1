#!/usr/bin/env bats
# An IPC namespace of the container's own: SysV shared memory with its identity (attached, not
# attached, marked for removal), semaphores and POSIX message queues with their descriptors;
# what a dump refuses.  The workload (tests/workloads/ipcns.c) checks its own objects.

setup() {
	load ../common
	common_setup
}

teardown() {
	common_teardown
}

log() {
	echo "$CTSWAP_STORE/$CT/console.log"
}

logged() {
	grep -q -- "$1" "$(log)"
}

last_ok() {
	awk '$1 == "ok" { v = $2 } END { print v + 0 }' "$(log)"
}

ok_past() {
	[ "$(last_ok)" -gt "$1" ]
}

# Start $CT with options "$@" up to "--", the command after it; its init pid in $PID.
start() {
	started "$CT"
	run "$CTSWAP" run "$CT" "$@"
	assert_success
	PID=$output
}

init_pid() {
	awk -F= '$1 == "init_pid" { print $2 }' "$CTSWAP_STORE/$CT/state"
}

# What ipcs shows in the IPC namespace of pid $1: SysV segments, semaphores, queues; segment
# B's attach count without the moment the workload attaches it to read it, every tick (it
# checks the count itself, 0, when it is not attached; as in 39-rootfs).
ipcs_of() {
	nsenter -t "$1" -i ipcs -m -s -q | awk '$1 == "0x1bc00002" { $6 = "0" } { print }'
}

# The POSIX queues of the IPC namespace of pid $1: names, modes and owners, through an mqueue
# mount in a mount namespace made for it (their messages: the workload takes and sends them
# back all the time, and checks them itself).
mqueues_of() {
	nsenter -t "$1" -i unshare -m --propagation private sh -c \
		'mount -t mqueue none /mnt && stat -c "%A %u %g %n" /mnt/*'
}

# Process $1 of $CT runs: not stopped, not traced, the container not frozen.
running() {
	[[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status")" == [SR] ]]
	[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$1/status")" = 0 ]
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
}

@test "ipc: SysV segments (attached twice, unattached and locked, removed), a semaphore and a POSIX queue with its descriptors keep identity and contents (leave-running, lazy, eager, again)" {
	local ipcs_before mq_before n how
	start --hostname ipc1 -- "$WORKLOADS/ipcns" mq
	wait_until 5 ok_past 2
	ipcs_before=$(ipcs_of "$PID")
	mq_before=$(mqueues_of "$PID")
	echo "$ipcs_before"
	echo "$mq_before"
	# the workload's own view is checked by itself; the outside view by ipcs and the queue's file
	[[ "$ipcs_before" == *"0x00000000 2          root       600        4096       1          dest"* ]]
	[[ "$ipcs_before" == *"0x1bc00002 1 1234 604 8192 0 locked"* ]]
	[ "$mq_before" = "-rw-r----- 1234 1234 /mnt/ipcns-q" ]
	# a dump that leaves it running reads the queue and the segments without changing them
	run "$CTSWAP" dump --leave-running "$CT"
	assert_success
	n=$(last_ok)
	wait_until 5 ok_past $((n + 2))
	[ "$(ipcs_of "$PID")" = "$ipcs_before" ]
	[ "$(mqueues_of "$PID")" = "$mq_before" ]
	for how in "" --eager ""; do
		run "$CTSWAP" dump "$CT"
		assert_success
		n=$(last_ok)
		run "$CTSWAP" restore $how "$CT"
		assert_success
		wait_until 5 ok_past $((n + 2))
		[ "$(ipcs_of "$(init_pid)")" = "$ipcs_before" ]
		[ "$(mqueues_of "$(init_pid)")" = "$mq_before" ]
		[ "$(readlink "/proc/$(init_pid)/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ]
	done
	run grep -c BAD "$(log)"
	assert_output 0
	grep -q '^ready shm=0,1,2 sem=0$' "$(log)"
}

@test "ipc: a dump refuses a POSIX queue with an mq_notify registration, naming it, and leaves the container running" {
	local n
	start --hostname ipc2 -- "$WORKLOADS/ipcns" notify
	wait_until 5 ok_past 2
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: pid 1: POSIX message queue /ipcns-q has an mq_notify registration: not supported"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
	running "$PID"
	n=$(last_ok)
	wait_until 5 ok_past $((n + 1))
	run grep -c BAD "$(log)"
	assert_output 0
}

@test "ipc: a dump refuses a POSIX queue descriptor in a container sharing the host's IPC namespace, and leaves it running" {
	start -- "$WORKLOADS/ipcns" hostmq "/ctswap-test-$CT"
	wait_until 5 logged '^ready'
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: pid $PID: fd 3: POSIX message queue /ctswap-test-$CT (deleted) of the host's IPC namespace (the container has none of its own): not supported"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
	running "$PID"
}

@test "ipc: a dump refuses an IPC namespace with kernel.shm_rmid_forced set (a segment made again would lose its creator and go), and leaves the container running" {
	start --hostname ipc4 -- /bin/sh -c 'echo 1 >/proc/sys/kernel/shm_rmid_forced && exec sleep 1000'
	wait_until 5 grep -qx sleep "/proc/$PID/comm"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: pid 1: its IPC namespace has kernel.shm_rmid_forced set: not supported"
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
	running "$PID"
	[ "$(cat /proc/sys/kernel/shm_rmid_forced)" = 0 ]
}
