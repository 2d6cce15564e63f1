#!/usr/bin/env bats
# A container with a root filesystem of its own: its mount tree, tmpfs contents and external
# mounts are dumped and restored (kernel/task/mounts.c, tmpfs.c).  The root filesystem is
# Debian's busybox-static plus tests/workloads/rootfs_files (tests/tools/mkrootfs.sh).

setup_file() {
	local top
	top="$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)"
	export ROOTFS_BASE="$BATS_FILE_TMPDIR/rootfs"
	"$top/tests/tools/mkrootfs.sh" "$ROOTFS_BASE" "$top/tests/workloads/rootfs_files" "$top/tests/workloads/ptys" \
		"$top/tests/workloads/ipcns"
}

setup() {
	load ../common
	common_setup
	ROOTFS="$BATS_TEST_TMPDIR/rootfs"
	cp -a "$ROOTFS_BASE" "$ROOTFS"
	DATA="$BATS_TEST_TMPDIR/data"
	mkdir "$DATA"
}

teardown() {
	common_teardown
}

# Start $CT with options "$@" up to "--", the command after it; its init pid in $PID.
start() {
	started "$CT"
	run "$CTSWAP" run "$CT" "$@"
	assert_success
	PID=$output
}

# The init pid of $CT now.
init_pid() {
	"$CTSWAP" ps "$CT" | awk 'NR == 2 { print $3 }'
}

log() {
	echo "$CTSWAP_STORE/$CT/console.log"
}

# The client loop's last count.
last_n() {
	grep -o '^n=[0-9]*' "$(log)" | tail -1 | cut -d= -f2
}

counted_past() {
	[ "$(last_n)" -ge "$1" ]
}

# Every n= line counts on from the one before: no gap, no repeat.
no_gap() {
	grep -o '^n=[0-9]*' "$(log)" | awk -F= '$2 != NR { print "line " NR ": " $0; bad = 1 } END { exit bad }'
}

# The workload's rounds so far (fails on a BAD status).
rounds() {
	local s
	s=$(cat "$DATA/status" 2>/dev/null) || return 1
	[[ $s == *" ok" ]] || { echo "$s" >&2; return 2; }
	status_field "$DATA/status" rounds
}

rounds_past() {
	local r
	r=$(rounds) && [ "$r" -gt "$1" ]
}

# What a restore must give back, seen from the host: the mount listing in order, from
# mountinfo (without the mount ids and device numbers: the restored mounts are new objects,
# and ids and anonymous devices are handed out afresh) and from busybox mount inside; the
# files of the tmpfs /tmp (but the loop's count) and /dev with their types, modes, owners,
# sizes, times and links, a file's access and modification times (its ctime cannot be set);
# the hostname.
shape_of() {
	local pid=$1
	awk '{ $1 = $2 = $3 = ""; print }' "/proc/$pid/mountinfo"
	nsenter -t "$pid" -m -p -r /bin/busybox mount
	(cd "/proc/$pid/root/tmp" && find . -path ./count -prune -o -printf '%p %y %m %U:%G %s %T@ %n %l\n' | sort)
	[ ! -e "/proc/$pid/root/tmp/stamp" ] || stat -c 'stamp %x %y' "/proc/$pid/root/tmp/stamp"
	(cd "/proc/$pid/root/dev" && find . -xdev -printf '%p %y %m %U:%G %s %n %l\n' | sort)
	find "/proc/$pid/root/dev" -xdev -type c -printf '%f ' -exec stat -c '%t:%T' {} \; | sort
	nsenter -t "$pid" -u hostname
}

# The IPC objects of pid $1's namespace as ipcs shows them (key, id, owner, mode, size, nattch,
# state), each semaphore set's owner, mode and values, the POSIX queues' modes and owners in the
# container's /dev/mqueue, the namespace's SysV limits.  Their contents (the segments' bytes, the queue's messages in order)
# are checked by the workload itself (tests/workloads/ipcns.c), which takes and sends back the
# messages all the time.
ipc_of() {
	local id
	# segment B's attach count without the moment the workload attaches it to read it (it checks
	# the count itself, 0, when it is not attached)
	nsenter -t "$1" -i ipcs -m -s -q | awk '$1 == "0x1bc00002" { $6 = "0" } { print }'
	for id in $(nsenter -t "$1" -i ipcs -s | awk '$2 ~ /^[0-9]+$/ { print $2 }'); do
		nsenter -t "$1" -i ipcs -s -i "$id" | awk '/^(uid|mode|nsems)/ { print } /^[0-9]/ { print "sem", $1, $2 }'
	done
	stat -c '%A %u %g %n' "/proc/$1/root/dev/mqueue/"* | sed "s|^\(.*\) /proc/$1/root|\1 |"
	nsenter -t "$1" -i sh -c 'cd /proc/sys/kernel && grep . shmmax shmall shmmni shm_rmid_forced msgmax msgmnb msgmni sem'
}

# The IPC workload's checks so far (fails on a BAD one).
ipc_rounds() {
	! grep -q '^BAD' "$(log)" || { grep '^BAD' "$(log)" >&2; return 2; }
	awk '$1 == "ok" { v = $2 } END { print v + 0 }' "$(log)"
}

ipc_rounds_past() {
	local r
	r=$(ipc_rounds) && [ "$r" -gt "$1" ]
}

# On a failure: the end of the console and the workload's status.
show() {
	tail -5 "$(log)"
	cat "$DATA/status"
}

@test "rootfs: httpd, a client loop, a tmpfs /tmp with a deleted file held open, a host bind, SysV and POSIX IPC objects come back (lazy, eager, again): mounts in order, files and their times, IPC objects, hostname, limits identical" {
	local n r i before after ipc_before restored mem
	echo "served from the rootfs" >"$ROOTFS/www/index.html"
	start --rootfs "$ROOTFS" --hostname box39 --net none --memory 64m --mount "$DATA:/data" -- /bin/sh -c \
		'mount -t tmpfs -o size=8m,mode=1777 tmpfs /tmp || exit 1; echo 12345678 >/proc/sys/kernel/shmmax && echo 4001 >/proc/sys/kernel/msgmax && echo "251 32001 33 129" >/proc/sys/kernel/sem || exit 1; rootfs_files /tmp /data & ipcns mq & httpd -f -p 127.0.0.1:8080 -h /www & n=0; while :; do if wget -q -O /dev/null http://127.0.0.1:8080/index.html; then n=$((n + 1)); echo n=$n; echo $n >/tmp/count; fi; usleep 20000; done'
	wait_until 10 counted_past 3
	wait_until 10 rounds_past 2 || { show; false; }
	wait_until 10 ipc_rounds_past 2 || { show; false; }
	# a file nobody reads, with an access time of its own (a read after a restore would set it:
	# its new ctime is later)
	echo stamp >"/proc/$PID/root/tmp/stamp"
	touch -m -d @1400000000.123456789 "/proc/$PID/root/tmp/stamp"
	touch -a -d @1500000000.987654321 "/proc/$PID/root/tmp/stamp"
	before=$(shape_of "$PID")
	ipc_before=$(ipc_of "$PID")
	grep -q ' /tmp rw,relatime - tmpfs tmpfs rw,size=8192k' <<<"$before"
	grep -q " $DATA /data rw" <<<"$before"
	grep -q '^tmpfs on /tmp type tmpfs (rw,relatime,size=8192k)$' <<<"$before"
	grep -q '^stamp 2017-07-14 02:40:00.987654321 +0000 2014-05-13 16:53:20.123456789 +0000$' <<<"$before"
	# segments A (attached twice), B (locked), C (removed, attached); a set of two; the queue
	[[ "$ipc_before" == *"0x1bc00001 0          root       640        12388      2"* ]]
	[[ "$ipc_before" == *"0x1bc00002 1 1234 604 8192 0 locked"* ]]
	[[ "$ipc_before" == *"0x00000000 2          root       600        4096       1          dest"* ]]
	[[ "$ipc_before" == *$'sem 0 3\nsem 1 9'* ]]
	[[ "$ipc_before" == *"-rw-r----- 1234 1234 /dev/mqueue/ipcns-q"* ]]
	[[ "$ipc_before" == *$'shmmax:12345678\n'*$'msgmax:4001\n'*$'sem:251\t32001\t33\t129'* ]]
	for how in "" --eager ""; do
		run "$CTSWAP" dump --tcp-close "$CT"
		assert_success
		n=$(last_n)
		r=$(rounds)
		i=$(ipc_rounds)
		run "$CTSWAP" restore $how "$CT"
		assert_success
		PID=$(init_pid)
		wait_until 10 counted_past $((n + 3)) || { show; false; }
		wait_until 10 rounds_past "$r" || { show; false; }
		wait_until 10 ipc_rounds_past $((i + 2)) || { show; false; }
		after=$(shape_of "$PID")
		[ "$after" = "$before" ] || { diff <(echo "$before") <(echo "$after"); false; }
		after=$(ipc_of "$PID")
		[ "$after" = "$ipc_before" ] || { diff <(echo "$ipc_before") <(echo "$after"); false; }
		# a restore of a restored container gives its listing back whole
		after=$(awk '{ $1 = $2 = $3 = ""; print }' "/proc/$PID/mountinfo")
		[ -n "${restored:-}" ] || restored=$after
		[ "$after" = "$restored" ] || { diff <(echo "$restored") <(echo "$after"); false; }
		[ "$(cat "/proc/$PID/root/tmp/count")" -ge $((n + 3)) ]
		run nsenter -t "$PID" -n busybox wget -q -O - http://127.0.0.1:8080/index.html
		assert_output "served from the rootfs"
		mem=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
		[ "$(cat "$mem/ctswap/$CT/memory.limit_in_bytes")" = 67108864 ]
		[ "$(readlink "/proc/$PID/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	done
	no_gap
	grep -q '^ready shm=0,1,2 sem=0$' "$(log)"
	# the host's mount table never saw the container's tree
	! grep -q "$ROOTFS" /proc/self/mountinfo
}

@test "rootfs: the shape runc and podman give (read-only binds of /proc parts, tmpfs over them, a host file over /proc/keys, the container's /dev/null over /proc/timer_list, a tmpfs /sys/fs/cgroup) comes back in order" {
	local before after
	start --rootfs "$ROOTFS" --mount /dev/null:/proc/keys -- /bin/sh -c \
		'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && mount --bind /proc/bus /proc/bus && mount -o remount,bind,ro /proc/bus && mount -t tmpfs -o size=64k tmpfs /proc/bus && mkdir /proc/bus/pci && mount --bind /dev/null /proc/timer_list && mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory && mount --make-unbindable /sys/fs/cgroup && echo ready; exec sleep 1000'
	wait_until 5 grep -q ready "$(log)"
	before=$(shape_of "$PID")
	grep -q ' /proc/sys ro,' <<<"$before"
	grep -q ' /proc/keys rw,' <<<"$before"
	grep -q '^ */null /proc/timer_list rw,nosuid - tmpfs ' <<<"$before"
	for how in "" --eager; do
		run "$CTSWAP" dump "$CT"
		assert_success
		run "$CTSWAP" restore $how "$CT"
		assert_success
		PID=$(init_pid)
		after=$(shape_of "$PID")
		[ "$after" = "$before" ] || { diff <(echo "$before") <(echo "$after"); false; }
		[ -d "/proc/$PID/root/proc/bus/pci" ] && [ -d "/proc/$PID/root/sys/fs/cgroup/memory" ]
		grep -q ' /sys/fs/cgroup .* unbindable ' "/proc/$PID/mountinfo"
		# /proc/sys is the container's own proc: its pid namespace's pid_max
		[ "$(cat "/proc/$PID/root/proc/sys/kernel/ns_last_pid")" -ge 1 ]
	done
}

@test "rootfs: restore --ext-mount binds an external mount from another host directory, --root rebuilds on another root" {
	local other root2
	echo "first side" >"$DATA/in"
	other="$BATS_TEST_TMPDIR/other"
	mkdir "$other"
	echo "other side" >"$other/in"
	start --rootfs "$ROOTFS" --mount "$DATA:/data" -- /bin/sh -c 'echo ready; exec sleep 1000'
	wait_until 5 grep -q ready "$(log)"
	[ "$(cat "/proc/$PID/root/data/in")" = "first side" ]
	run "$CTSWAP" dump "$CT"
	assert_success
	# inspect names what restore needs: the root and each external mount's id and host path
	run "$CTSWAP" inspect "$CT"
	assert_line --regexp "^  / +root +[^ ]+ +from $ROOTFS\$"
	assert_line --regexp "^  /data +external +[^ ]+ +id /data from $DATA\$"
	assert_line --regexp '^  /dev +tmpfs +tmpfs +[0-9]+ files$'
	run "$CTSWAP" restore --ext-mount "/data=$other" "$CT"
	assert_success
	PID=$(init_pid)
	[ "$(cat "/proc/$PID/root/data/in")" = "other side" ]
	grep -q " $other /data rw" "/proc/$PID/mountinfo"
	# the next dump records where it is now; another root directory, the same tree on it
	run "$CTSWAP" dump "$CT"
	assert_success
	root2="$BATS_TEST_TMPDIR/root2"
	cp -a "$ROOTFS_BASE" "$root2"
	echo "root two" >"$root2/www/mark"
	run "$CTSWAP" restore --eager --root "$root2" "$CT"
	assert_success
	PID=$(init_pid)
	[ "$(cat "/proc/$PID/root/www/mark")" = "root two" ]
	[ "$(cat "/proc/$PID/root/data/in")" = "other side" ]
	[ "$(stat -L -c %d:%i "/proc/$PID/root/")" = "$(stat -c %d:%i "$root2")" ]
}

@test "rootfs: ptys made inside come back in the container's own /dev/pts (tests/workloads/ptys.c checks them), lazy and eager" {
	local round how
	start --rootfs "$ROOTFS" --mount "$DATA:/out" -- /bin/ptys --out /out
	wait_until 10 grep -Eqs '^(ready|BAD)' "$DATA/status"
	grep -qs '^ready' "$DATA/status" || { cat "$DATA/status"; false; }
	for round in 1 2; do
		how=""
		[ "$round" = 2 ] && how=--eager
		run "$CTSWAP" dump "$CT"
		assert_success
		run "$CTSWAP" restore $how "$CT"
		assert_success
		touch "$DATA/check-$round"
		wait_until 15 grep -Eqs "^(round=$round ok|BAD)" "$DATA/status"
		grep -qs "^round=$round ok" "$DATA/status" || { cat "$DATA/status"; false; }
		[ "$(grep -c ' - devpts ' "/proc/$(init_pid)/mountinfo")" = 1 ]
		grep -q ' /dev/pts rw,nosuid,noexec,relatime - devpts ' "/proc/$(init_pid)/mountinfo"
	done
}

# Nothing of a failed restore is left: still checkpointed, no process, no mount on the host.
nothing_left() {
	run "$CTSWAP" ps "$CT"
	assert_output --partial checkpointed
	[ -z "$(cat "$(awk '$9 == "cgroup" && $NF ~ /(^|,)pids(,|$)/ { print $5; exit }' /proc/self/mountinfo)/ctswap/$CT/cgroup.procs" 2>/dev/null)" ]
	! grep -q "$ROOTFS" /proc/self/mountinfo
}

@test "rootfs: an unknown --ext-mount id, an external mount whose source is gone, a missing root: one line each, nothing left behind" {
	start --rootfs "$ROOTFS" --mount "$DATA:/data" -- /bin/sh -c 'echo ready; exec sleep 1000'
	wait_until 5 grep -q ready "$(log)"
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore --ext-mount "/nope=$DATA" "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: --ext-mount /nope: the checkpoint has no external mount with that id"
	nothing_left
	run "$CTSWAP" restore --ext-mount "/data" "$CT"
	assert_failure 2
	assert_line --index 0 "ctswap: --ext-mount /data: want ID=HOSTPATH with an absolute HOSTPATH"
	rmdir "$DATA"
	run "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: external mount /data: $DATA: No such file or directory"
	nothing_left
	mkdir "$DATA"
	mv "$ROOTFS" "$ROOTFS.away"
	run "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: root filesystem $ROOTFS: No such file or directory"
	nothing_left
	mv "$ROOTFS.away" "$ROOTFS"
	run "$CTSWAP" restore "$CT"
	assert_success
}

# $CT's init runs (sleeping or running, neither stopped nor traced) and ps says running.
left_running() {
	[[ "$(awk '/^State:/ { print $2 }' "/proc/$PID/status")" == [SR] ]]
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/status"
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
}

# Start $CT on the rootfs with shell commands $1, then sleep; wait until it sleeps.
start_sleeping() {
	start --rootfs "$ROOTFS" -- /bin/sh -c "$1 && exec sleep 1000"
	wait_until 5 grep -qx sleep "/proc/$PID/comm"
}

@test "rootfs: dump refuses a file system the container mounted itself, shared propagation, a tmpfs hidden under another mount, a tmpfs file too big or with extended attributes, and leaves it running" {
	start_sleeping 'mkdir -p /mnt/r && mount -t ramfs ramfs /mnt/r'
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: pid 1: mount /mnt/r (ramfs from ramfs): a file system mounted inside the container, not the host's: not supported"
	left_running
	run "$CTSWAP" rm --force "$CT"
	start_sleeping 'mount -t tmpfs tmpfs /tmp && mount --make-shared /tmp'
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp '^ctswap: pid 1: mount /tmp: shared propagation \(shared:[0-9]+\): not supported$'
	left_running
	run "$CTSWAP" rm --force "$CT"
	start_sleeping 'mount -t tmpfs tmpfs /tmp && echo x >/tmp/x && mount -t tmpfs tmpfs /tmp'
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: pid 1: tmpfs /tmp is under another mount (its files are out of reach): not supported"
	left_running
	run "$CTSWAP" rm --force "$CT"
	start_sleeping 'mount -t tmpfs tmpfs /tmp && head -c 4096 /dev/zero >/tmp/big && echo x >/tmp/x'
	run "$CTSWAP" dump --max-deleted-size 1k "$CT"
	assert_failure 1
	assert_output "ctswap: pid 1: tmpfs /tmp: file big of 4096 bytes is above the limit of 1024 bytes (--max-deleted-size): not supported"
	left_running
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.k", b"1")' "/proc/$PID/root/tmp/x"
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output "ctswap: pid 1: tmpfs /tmp: file x has extended attributes: not supported"
	left_running
	[ ! -e "$CTSWAP_STORE/$CT/ckpt-1.meta" ]
}
