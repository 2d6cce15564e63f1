#!/usr/bin/env bats
# Real container shape: run --rootfs, --hostname, --net, --mount and limits; what dump refuses.
# The root filesystem is Debian's busybox-static (tests/tools/mkrootfs.sh), no download.

setup_file() {
	local top
	top="$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)"
	export ROOTFS_BASE="$BATS_FILE_TMPDIR/rootfs"
	"$top/tests/tools/mkrootfs.sh" "$ROOTFS_BASE"
}

setup() {
	load ../common
	common_setup
	ROOTFS="$BATS_TEST_TMPDIR/rootfs"
	cp -a "$ROOTFS_BASE" "$ROOTFS"
}

teardown() {
	local ns
	common_teardown
	# make_netns runs in $(...): its names are found by their prefix, not kept in a variable
	for ns in /run/netns/"$CT"-*; do
		[ -e "$ns" ] && ip netns del "${ns##*/}"
	done
	return 0
}

# The console log of $CT.
log() {
	echo "$CTSWAP_STORE/$CT/console.log"
}

# True once the console log holds a line matching $1.
logged() {
	grep -q -- "$1" "$(log)"
}

# Make a network namespace of this test's own, named ${CT}-$1; prints its name.
make_netns() {
	local ns="${CT}-$1"
	ip netns add "$ns"
	echo "$ns"
}

# A veth between namespaces $1 (10.213.0.2) and $2 (10.213.0.1), both up; $3 tells pairs apart.
veth_pair() {
	local a="v${CT: -5}$3a" b="v${CT: -5}$3b"
	ip link add "$a" netns "$1" type veth peer name "$b" netns "$2"
	ip -n "$1" addr add 10.213.0.2/24 dev "$a"
	ip -n "$1" link set "$a" up
	ip -n "$1" link set lo up
	ip -n "$2" addr add 10.213.0.1/24 dev "$b"
	ip -n "$2" link set "$b" up
}

# The v1 mount point of cgroup controller $1.
cg_v1_mount() {
	awk -v c="$1" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}

# Start $CT with options "$@" up to "--", the command after it; its init pid in $PID.
start() {
	started "$CT"
	run "$CTSWAP" run "$CT" "$@"
	assert_success
	PID=$output
}

# Nothing of a failed run is left: no store entry, no cgroup.
nothing_left() {
	[ ! -e "$CTSWAP_STORE/$CT" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 4 -path "*/ctswap/$CT" 2>/dev/null)" ]
}

@test "container: --rootfs --hostname pivot into the rootfs with /proc, read-only /sys, /dev nodes, devpts, shm, mqueue; own UTS and IPC" {
	start --rootfs "$ROOTFS" --hostname box1 -- /bin/sh -c \
		'hostname; cat /proc/self/mountinfo; ls -ln /dev; touch /sys/x 2>/dev/null; echo "sys_write=$?"; echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	run cat "$(log)"
	assert_line box1
	assert_line --regexp "^[0-9]+ [0-9]+ [0-9:]+ $ROOTFS / rw"
	assert_line --regexp ' /proc rw,nosuid,nodev,noexec[^ ]* .*- proc '
	assert_line --regexp ' /sys ro,nosuid,nodev,noexec[^ ]* .*- sysfs '
	assert_line --regexp ' /dev rw,nosuid[^ ]* .*- tmpfs .*mode=755'
	assert_line --regexp ' /dev/pts rw,nosuid,noexec[^ ]* .*- devpts .*ptmxmode=666'
	assert_line --regexp ' /dev/shm rw,nosuid,nodev[^ ]* .*- tmpfs '
	assert_line --regexp ' /dev/mqueue rw,nosuid,nodev,noexec[^ ]* .*- mqueue '
	for node in "null 1, +3" "zero 1, +5" "full 1, +7" "random 1, +8" "urandom 1, +9" "tty 5, +0"; do
		assert_line --regexp "^crw-rw-rw- .* ${node#* } .* ${node%% *}\$"
	done
	assert_line --regexp '^l.* ptmx -> pts/ptmx$'
	assert_line sys_write=1
	# nothing else of the host: 7 mounts, the rootfs is /
	[ "$(grep -cE '^[0-9]+ [0-9]+ ' "$(log)")" = 7 ]
	[ "$(stat -L -c %d:%i "/proc/$PID/root/")" = "$(stat -c %d:%i "$ROOTFS")" ]
	for ns in uts ipc mnt pid; do
		[ "$(readlink "/proc/$PID/ns/$ns")" != "$(readlink /proc/self/ns/$ns)" ]
	done
	[ "$(readlink "/proc/$PID/ns/net")" = "$(readlink /proc/self/ns/net)" ]
	# the host's mount table did not change
	! grep -q "$ROOTFS" /proc/self/mountinfo
}

@test "container: --hostname alone gives own UTS and IPC namespaces on the host's root" {
	start --hostname solo -- /bin/sh -c 'hostname; echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	run cat "$(log)"
	assert_line solo
	[ "$(readlink "/proc/$PID/ns/uts")" != "$(readlink /proc/self/ns/uts)" ]
	[ "$(readlink "/proc/$PID/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ]
	[ "$(stat -L -c %d:%i "/proc/$PID/root/")" = "$(stat -c %d:%i /)" ]
	[ "$(hostname)" != solo ]
}

@test "container: --net none gives a network namespace with only lo, up, 127.0.0.1 and ::1" {
	start --rootfs "$ROOTFS" --net none -- /bin/sh -c \
		'ls /sys/class/net; ip -o link; ip -o addr; echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	run cat "$(log)"
	assert_line lo
	[ "$(grep -c ': <' "$(log)")" = 1 ]
	assert_line --regexp '^1: lo: <LOOPBACK,UP,LOWER_UP>'
	assert_line --regexp 'lo +inet 127\.0\.0\.1/8 '
	assert_line --regexp 'lo +inet6 ::1/128 '
	[ "$(readlink "/proc/$PID/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

@test "container: --net ns:PATH joins a namespace; a client over a veth reaches httpd inside" {
	local ns peer
	ns=$(make_netns c)
	peer=$(make_netns p)
	veth_pair "$ns" "$peer" x
	echo "hello from inside" >"$ROOTFS/www/index.html"
	start --rootfs "$ROOTFS" --net "ns:/run/netns/$ns" -- /bin/sh -c \
		'httpd -p 10.213.0.2:8080 -h /www; echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	[ "$(stat -L -c %i "/proc/$PID/ns/net")" = "$(stat -L -c %i "/run/netns/$ns")" ]
	run ip netns exec "$peer" busybox wget -q -O - http://10.213.0.2:8080/index.html
	assert_success
	assert_output "hello from inside"
}

@test "container: --mount binds a host directory read-write and a file read-only" {
	mkdir "$BATS_TEST_TMPDIR/data"
	echo "from the host" >"$BATS_TEST_TMPDIR/data/in"
	echo "conf" >"$BATS_TEST_TMPDIR/conf"
	start --rootfs "$ROOTFS" --mount "$BATS_TEST_TMPDIR/data:/mnt/data" \
		--mount "$BATS_TEST_TMPDIR/conf:/etc/app.conf:ro" -- /bin/sh -c \
		'cat /mnt/data/in; echo made >/mnt/data/out; echo x 2>/dev/null >/etc/app.conf; echo "ro_write=$?"; cat /etc/app.conf; echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	run cat "$(log)"
	assert_line "from the host"
	assert_line ro_write=1
	assert_line conf
	[ "$(cat "$BATS_TEST_TMPDIR/data/out")" = made ]
	[ "$(cat "$BATS_TEST_TMPDIR/conf")" = conf ]
}

@test "container: --memory, --pids, --cpus set the cgroup's limits, and pids.max holds" {
	local mem pids cpu
	start --memory 64m --pids 4 --cpus 0.5 -- /bin/sh -c \
		'sleep 1000 & sleep 1000 & sleep 1000 & echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	mem=$(cg_v1_mount memory); pids=$(cg_v1_mount pids); cpu=$(cg_v1_mount cpu)
	[ "$(cat "$mem/ctswap/$CT/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "$pids/ctswap/$CT/pids.max")" = 4 ]
	[ "$(cat "$cpu/ctswap/$CT/cpu.cfs_quota_us")" = 50000 ]
	[ "$(cat "$cpu/ctswap/$CT/cpu.cfs_period_us")" = 100000 ]
	grep -qx "$PID" "$mem/ctswap/$CT/cgroup.procs"
	grep -qx "$PID" "$cpu/ctswap/$CT/cgroup.procs"
	[ "$(wc -l <"$pids/ctswap/$CT/cgroup.procs")" = 4 ]
	# rm removes the limit groups too
	run "$CTSWAP" rm --force "$CT"
	assert_success
	[ ! -e "$mem/ctswap/$CT" ] && [ ! -e "$pids/ctswap/$CT" ] && [ ! -e "$cpu/ctswap/$CT" ]
	# a third process does not fit in --pids 2
	start --pids 2 -- /bin/sh -c 'sleep 1000 & echo one; sleep 1000 & echo two; exec sleep 1000'
	wait_until 5 logged '[Cc]an.*t fork'
	run cat "$(log)"
	assert_line one
	refute_line two
}

@test "container: bad rootfs, --net, --mount or limit values fail with one line and leave nothing behind" {
	run "$CTSWAP" run "$CT" --rootfs "$BATS_TEST_TMPDIR/nope" -- /bin/sh
	assert_failure 1
	assert_output "ctswap: $BATS_TEST_TMPDIR/nope: rootfs: No such file or directory"
	nothing_left
	run "$CTSWAP" run "$CT" --rootfs "$ROOTFS/etc/passwd" -- /bin/sh
	assert_failure 1
	assert_output "ctswap: $ROOTFS/etc/passwd: rootfs: not a directory"
	nothing_left
	run "$CTSWAP" run "$CT" --net bogus -- /bin/sh
	assert_failure 2
	assert_line --index 0 "ctswap: --net bogus: want host, none or ns:PATH"
	nothing_left
	run "$CTSWAP" run "$CT" --net "ns:$ROOTFS/etc/passwd" -- /bin/sh
	assert_failure 1
	assert_output "ctswap: $ROOTFS/etc/passwd: not a network namespace file"
	nothing_left
	run "$CTSWAP" run "$CT" --rootfs "$ROOTFS" --mount "$BATS_TEST_TMPDIR/nope:/x" -- /bin/sh
	assert_failure 1
	assert_output "ctswap: $BATS_TEST_TMPDIR/nope: mount source: No such file or directory"
	nothing_left
	run "$CTSWAP" run "$CT" --mount "$ROOTFS:/x" -- /bin/sh
	assert_failure 1
	assert_output "ctswap: $CT: bind mounts need a root filesystem (--rootfs)"
	nothing_left
	run "$CTSWAP" run "$CT" --memory 0 -- /bin/sh
	assert_failure 2
	assert_line --index 0 "ctswap: --memory 0: want a positive number"
	run "$CTSWAP" run "$CT" --cpus lots -- /bin/sh
	assert_failure 2
	assert_line --index 0 "ctswap: --cpus lots: want a number of CPUs from 0.001 to 4096"
	nothing_left
	# a rootfs without the command: the init's failure, after the namespaces were made
	run "$CTSWAP" run "$CT" --rootfs "$ROOTFS" --net none --memory 16m -- /nope
	assert_failure 1
	assert_output "ctswap: $CT: cannot run /nope: No such file or directory"
	nothing_left
}

@test "container: dump refuses a process with a namespace of its own and a nested user namespace, leaving the container running" {
	start -- /bin/sh -c 'unshare -u sleep 1000 & echo ready; exec sleep 1000'
	wait_until 5 logged '^ready'
	wait_until 5 pgrep -P "$PID" -x sleep
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp '^ctswap: pid [0-9]+: a UTS \(hostname\) namespace of its own \(not the container.s\): not supported$'
	run "$CTSWAP" ps "$CT"
	assert_output --partial running
	[ "$(awk '/^State:/ { print $2 }' "/proc/$PID/status")" = S ]
	run "$CTSWAP" rm --force "$CT"
	assert_success
	start -- unshare -U -r /bin/sleep 1000
	run "$CTSWAP" dump "$CT"
	assert_failure 1
	assert_output --regexp '^ctswap: pid 1: the container.s own user namespace: not supported$'
	[ "$(awk '/^State:/ { print $2 }' "/proc/$PID/status")" = S ]
}

# The init pid of $CT now.
init_pid() {
	"$CTSWAP" ps "$CT" | awk 'NR == 2 { print $3 }'
}

# The client loop's count in the log: the last n=.
last_n() {
	grep -o '^n=[0-9]*' "$(log)" | tail -1 | cut -d= -f2
}

# True once the loop has counted $1 more than it had when $2 was read.
counted_past() {
	[ "$(last_n)" -ge "$1" ]
}

# On a failure: the log's end and every process of $CT with its state and wait channel.
show_procs() {
	local p
	tail -5 "$(log)"
	for p in $(cat "$(cg_v1_mount pids)/ctswap/$CT/cgroup.procs"); do
		echo "$p $(cat /proc/$p/comm) $(awk '/^State:/ { print $2 }' /proc/$p/status) $(cat /proc/$p/wchan)"
		cat /proc/$p/net/tcp /proc/$p/net/tcp6 2>/dev/null | tail -n +2
	done
}

# Every n= line of the log counts on from the one before: no gap, no repeat.
no_gap() {
	grep -o '^n=[0-9]*' "$(log)" | awk -F= '$2 != NR { print "line " NR ": " $0; bad = 1 } END { exit bad }'
}

# The restored shape: hostname, only lo (up) in a network namespace of its own, the limits.
check_shape() {
	local pid=$1 mem pids
	[ "$(nsenter -t "$pid" -u hostname)" = box9 ]
	[ "$(readlink "/proc/$pid/ns/uts")" != "$(readlink /proc/self/ns/uts)" ]
	[ "$(readlink "/proc/$pid/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ]
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	run nsenter -t "$pid" -n ip -o link
	assert_output --regexp '^1: lo: <LOOPBACK,UP,LOWER_UP>'
	[ "${#lines[@]}" = 1 ]
	run nsenter -t "$pid" -n ip -o addr
	assert_line --regexp 'lo +inet 127\.0\.0\.1/8 '
	assert_line --regexp 'lo +inet6 ::1/128 '
	mem=$(cg_v1_mount memory); pids=$(cg_v1_mount pids)
	[ "$(cat "$mem/ctswap/$CT/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "$pids/ctswap/$CT/pids.max")" = 40 ]
	grep -qx "$pid" "$mem/ctswap/$CT/cgroup.procs"
	run nsenter -t "$pid" -n busybox wget -q -O - http://127.0.0.1:8080/index.html
	assert_output "served inside"
}

@test "container: --hostname --net none --memory --pids: httpd and a client loop on lo come back (lazy, eager, again), hostname, lo and limits identical" {
	local n
	mkdir "$BATS_TEST_TMPDIR/www"
	echo "served inside" >"$BATS_TEST_TMPDIR/www/index.html"
	start --hostname box9 --net none --memory 64m --pids 40 -- /bin/busybox sh -c \
		"busybox httpd -f -p 127.0.0.1:8080 -h $BATS_TEST_TMPDIR/www & n=0; while :; do if busybox wget -q -O /dev/null http://127.0.0.1:8080/index.html; then n=\$((n + 1)); echo n=\$n; fi; busybox usleep 20000; done"
	wait_until 10 counted_past 3
	check_shape "$PID"
	for how in "" --eager ""; do
		# a request in flight at the freeze is restored reset (the loop asks again)
		run "$CTSWAP" dump --tcp-close "$CT"
		assert_success
		n=$(last_n)
		run "$CTSWAP" restore $how "$CT"
		assert_success
		wait_until 10 counted_past $((n + 3)) || { show_procs; false; }
		check_shape "$(init_pid)"
	done
	no_gap
}

@test "container: --net ns:PATH: a client over a veth reaches httpd inside before and after restore, also in a fresh namespace" {
	local ns peer ns2 peer2 n
	ns=$(make_netns c); peer=$(make_netns p); ns2=$(make_netns c2); peer2=$(make_netns p2)
	veth_pair "$ns" "$peer" a
	veth_pair "$ns2" "$peer2" b
	mkdir "$BATS_TEST_TMPDIR/www"
	echo "hello over veth" >"$BATS_TEST_TMPDIR/www/index.html"
	start --net "ns:/run/netns/$ns" -- /bin/busybox httpd -f -p 10.213.0.2:8080 -h "$BATS_TEST_TMPDIR/www"
	wait_until 5 ip netns exec "$peer" busybox wget -q -O /dev/null http://10.213.0.2:8080/index.html
	run ip netns exec "$peer" busybox wget -q -O - http://10.213.0.2:8080/index.html
	assert_output "hello over veth"
	run "$CTSWAP" dump "$CT"
	assert_success
	# the namespace it joined is not ours to make again: restore asks for one
	run "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output "ctswap: $CT: the container joined a network namespace at run: restore needs --net ns:PATH"
	run "$CTSWAP" ps "$CT"
	assert_output --partial checkpointed
	run "$CTSWAP" restore --net "ns:/run/netns/$ns" "$CT"
	assert_success
	[ "$(stat -L -c %i "/proc/$(init_pid)/ns/net")" = "$(stat -L -c %i "/run/netns/$ns")" ]
	run ip netns exec "$peer" busybox wget -q -O - http://10.213.0.2:8080/index.html
	assert_output "hello over veth"
	# and into a freshly made namespace with the same address, as on another host
	run "$CTSWAP" dump "$CT"
	assert_success
	run "$CTSWAP" restore --eager --net "ns:/run/netns/$ns2" "$CT"
	assert_success
	[ "$(stat -L -c %i "/proc/$(init_pid)/ns/net")" = "$(stat -L -c %i "/run/netns/$ns2")" ]
	run ip netns exec "$peer2" busybox wget -q -O - http://10.213.0.2:8080/index.html
	assert_output "hello over veth"
}

# The last "CLOCK value" the clock loop printed (field $1: mono or boot).
last_clock() {
	awk -v c="$1" '$1 == c { v = $2 } END { print v }' "$(log)"
}

# The host's CLOCK_MONOTONIC, seconds.
host_mono() {
	python3 -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))'
}

# True once the clock loop has printed more than $1 lines.
clock_lines_past() {
	[ "$(grep -c '^mono ' "$(log)")" -gt "$1" ]
}

@test "container: restore --time-ns keeps CLOCK_MONOTONIC and CLOCK_BOOTTIME continuous over a 6 s pause (lazy, then eager again)" {
	local m1 b1 h1 m2 b2 h2 n how
	start -- /bin/sh -c 'while :; do python3 -c "import time; print(\"mono\", time.clock_gettime(time.CLOCK_MONOTONIC)); print(\"boot\", time.clock_gettime(time.CLOCK_BOOTTIME))"; sleep 0.1; done'
	wait_until 10 clock_lines_past 1
	for how in "" --eager; do
		run "$CTSWAP" dump "$CT"
		assert_success
		h1=$(host_mono)
		m1=$(last_clock mono); b1=$(last_clock boot)
		n=$(grep -c '^mono ' "$(log)")
		sleep 6	# the pause the clocks inside must not see
		run "$CTSWAP" restore $how --time-ns "$CT"
		assert_success
		wait_until 10 clock_lines_past "$n"
		h2=$(host_mono)
		m2=$(awk -v n="$n" '$1 == "mono" && ++k == n + 1 { print $2 }' "$(log)")
		b2=$(awk -v n="$n" '$1 == "boot" && ++k == n + 1 { print $2 }' "$(log)")
		echo "inside: monotonic $m1 -> $m2, boottime $b1 -> $b2; host $h1 -> $h2"
		# never backwards, and the pause (at least 6 s of the host's gap) is not seen inside
		awk -v a="$m1" -v b="$m2" -v h="$(awk -v x="$h1" -v y="$h2" 'BEGIN { print y - x }')" \
			'BEGIN { exit !(b >= a && b - a < h - 4) }'
		awk -v a="$b1" -v b="$b2" -v h="$(awk -v x="$h1" -v y="$h2" 'BEGIN { print y - x }')" \
			'BEGIN { exit !(b >= a && b - a < h - 4) }'
		[ "$(readlink "/proc/$(init_pid)/ns/time")" != "$(readlink /proc/self/ns/time)" ]
	done
}

# The ok count of the sysvipc workload.
last_ok() {
	awk '$1 == "ok" { v = $2 } END { print v + 0 }' "$(log)"
}

ok_past() {
	[ "$(last_ok)" -gt "$1" ]
}

@test "container: SysV semaphores and message queues of its own IPC namespace keep key, id, mode, owner, values and messages (lazy, eager, again)" {
	local before after n how
	# two objects made first: the workload's ids are not 0
	start --hostname ipc1 -- /bin/sh -c "ipcmk -S 2 >/dev/null && ipcmk -Q >/dev/null && exec $WORKLOADS/sysvipc"
	wait_until 5 ok_past 2
	before=$(nsenter -t "$PID" -i ipcs -s -q)
	for how in "" --eager ""; do
		run "$CTSWAP" dump "$CT"
		assert_success
		n=$(last_ok)
		run "$CTSWAP" restore $how "$CT"
		assert_success
		wait_until 5 ok_past $((n + 2))
		after=$(nsenter -t "$(init_pid)" -i ipcs -s -q)
		[ "$after" = "$before" ]
		[ "$(readlink "/proc/$(init_pid)/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ]
	done
	run grep -c BAD "$(log)"
	assert_output 0
	grep -q '^ready sem=1 msg=1$' "$(log)"
}
