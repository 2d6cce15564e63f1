#!/usr/bin/env bats
# podman (with runc) checkpointing and restoring through ctswap's criu front
# end (tools/criu-rpc), put first in podman's PATH as the README says.  The
# image is a busybox-static root filesystem with the statically linked
# pattern workload (tests/tools/mkrootfs.sh), imported locally: no registry.
# Every podman command is bounded by `timeout`.

setup_file() {
	command -v podman >/dev/null && command -v runc >/dev/null || return 0
	local top
	top="$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)"
	cc -static -O2 -o "$BATS_FILE_TMPDIR/pattern" "$top/tests/workloads/pattern.c" -lpthread
	cc -static -O2 -o "$BATS_FILE_TMPDIR/ttycount" "$top/tests/workloads/ttycount.c"
	"$top/tests/tools/mkrootfs.sh" "$BATS_FILE_TMPDIR/rootfs" "$BATS_FILE_TMPDIR/pattern" \
		"$BATS_FILE_TMPDIR/ttycount"
	export IMAGE="localhost/ctswap-crpc-$$"
	tar -C "$BATS_FILE_TMPDIR/rootfs" -c . | timeout 120 podman import -q - "$IMAGE" >/dev/null
}

teardown_file() {
	[ -n "${IMAGE:-}" ] && timeout 60 podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
}

setup() {
	load ../common
	common_setup
	command -v podman >/dev/null || skip "podman not installed (scripts/setup-deps.sh installs it)"
	command -v runc >/dev/null || skip "runc not installed (scripts/setup-deps.sh installs it)"
	# ctswap's criu first in PATH: podman and runc run the `criu` they find there
	export PATH="$TOP/${CTSWAP_BUILD:+$CTSWAP_BUILD/}tools/criu-rpc:$PATH"
	POD="crpc-$CT"
	PODS=("$POD")
}

teardown() {
	local p
	for p in "${PODS[@]}"; do
		timeout 60 podman rm -f "$p" >/dev/null 2>&1 || true
	done
	common_teardown
}

pm() {
	timeout 120 podman "$@"
}

# Run pattern ($1 MiB) in container $2 (default $POD), its status in /tmp/status inside.
start_pod() {
	run pm run -d --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--network none --name "${2:-$POD}" "$IMAGE" /bin/pattern --mib "$1" --threads 2 \
		--seed 5 --out /tmp
	assert_success
	wait_until 30 pod_ok "${2:-$POD}"
}

# The workload's status line in container $1.
pod_status() {
	timeout 30 podman exec "$1" cat /tmp/status 2>/dev/null
}

pod_ok() {
	pod_status "$1" | grep -q ' ok$'
}

# The checks count of container $1's status.
pod_checks() {
	pod_status "$1" | sed -n 's/.* checks=\([0-9]*\).*/\1/p'
}

# Container $1 has done two more checks since now, and they passed.
pod_checks_again() {
	local n
	n=$(pod_checks "$1")
	[ -n "$n" ]
	wait_until 30 pod_checks_above "$1" $((n + 1))
	pod_ok "$1" || { pod_status "$1"; return 1; }
}

pod_checks_above() {
	local v
	v=$(pod_checks "$1")
	[ -n "$v" ] && [ "$v" -gt "$2" ]
}

# Every counter of container $1 now is >= the one in $2 (comma lists).
pod_counters_continue() {
	local after i
	after=$(pod_status "$1" | sed -n 's/.* counters=\([0-9,]*\).*/\1/p')
	IFS=, read -ra b <<<"$2"
	IFS=, read -ra a <<<"$after"
	[ ${#a[@]} = ${#b[@]} ] || return 1
	for i in "${!b[@]}"; do
		[ "${a[$i]}" -ge "${b[$i]}" ] || { echo "counter $i: ${a[$i]} < ${b[$i]}"; return 1; }
	done
}

pod_counters() {
	pod_status "$1" | sed -n 's/.* counters=\([0-9,]*\).*/\1/p'
}

# $POD was checkpointed (exited): restore it; it goes on exactly, same pids
# inside, every counter at least what it was at $1 (before the checkpoint).
restore_goes_on() {
	run pm inspect -f '{{.State.Status}}' "$POD"
	assert_output exited
	run pm container restore "$POD"
	assert_success
	pod_checks_again "$POD"
	pod_status "$POD" | grep -q '^pid=1 tids=1,[0-9]*,[0-9]* '
	pod_counters_continue "$POD" "$1"
}

@test "podman checkpoint and restore: the workload goes on exactly, same pids inside, twice" {
	start_pod 16
	local before
	for round in 1 2; do
		before=$(pod_counters "$POD")
		run pm container checkpoint "$POD"
		assert_success
		restore_goes_on "$before"
	done
	# conmon is the restored init's parent again (rst_sibling), and it is alone in its cgroup
	local pid
	pid=$(pm inspect -f '{{.State.Pid}}' "$POD")
	local ppid
	ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")
	[ "$(cat "/proc/$ppid/comm")" = conmon ]
	local fz
	fz=$(sed -n 's/^[0-9]*:freezer://p' "/proc/$pid/cgroup")
	[ "$(cat "/sys/fs/cgroup/freezer$fz/cgroup.procs")" = "$pid" ]
}

@test "podman checkpoint --leave-running: it runs on, and restores from the checkpoint later" {
	start_pod 16
	run pm container checkpoint --leave-running "$POD"
	assert_success
	run pm inspect -f '{{.State.Status}}' "$POD"
	assert_output running
	pod_checks_again "$POD"
	run pm stop -t 1 "$POD"
	assert_success
	run pm container restore "$POD"
	assert_success
	pod_checks_again "$POD"
}

@test "podman checkpoint --export, restore --import --name NEW while the original runs, then under the same name" {
	start_pod 16
	local tar="$BATS_TEST_TMPDIR/ckpt.tar.zst"
	run pm container checkpoint --leave-running --export "$tar" "$POD"
	assert_success
	PODS+=("$POD-copy")
	run pm container restore --import "$tar" --name "$POD-copy"
	assert_success
	# two containers, both running, each with its own memory and status
	pod_checks_again "$POD"
	pod_checks_again "$POD-copy"
	[ "$(pm inspect -f '{{.State.Pid}}' "$POD")" != "$(pm inspect -f '{{.State.Pid}}' "$POD-copy")" ]
	run pm rm -f "$POD-copy"
	assert_success
	pod_checks_again "$POD"
	# the original removed, the checkpoint comes back under its name
	run pm rm -f "$POD"
	assert_success
	run pm container restore --import "$tar"
	assert_success
	pod_checks_again "$POD"
}

# The page busybox httpd serves on container IP $1 is the container's name.
http_ok() {
	[ "$(curl -s -m 10 "http://$1:8080/")" = "$POD" ]
}

@test "podman with the default bridge network: a server inside answers a host client on the container's IP after restore" {
	[ "$(podman info --format '{{.Host.NetworkBackend}}')" = netavark ] || skip "podman's network backend is not netavark"
	command -v curl >/dev/null || skip "curl not installed"
	# no --network: podman's bridge (podman0, 10.88.0.0/16), a new netns at restore (extRootNetNS)
	run pm run -d --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--stop-timeout 1 --name "$POD" "$IMAGE" sh -c "echo $POD >/www/index.html; exec httpd -f -p 8080 -h /www"
	assert_success
	local ip
	ip=$(pm inspect -f '{{.NetworkSettings.IPAddress}}' "$POD")
	[[ "$ip" =~ ^10\.88\. ]]
	wait_until 30 http_ok "$ip"
	local round
	for round in 1 2; do
		run pm container checkpoint "$POD"
		assert_success
		run pm container restore "$POD"
		assert_success
		ip=$(pm inspect -f '{{.NetworkSettings.IPAddress}}' "$POD")
		[[ "$ip" =~ ^10\.88\. ]]
		http_ok "$ip"
	done
	# the restored server runs in the namespace podman made for the restore, on eth0
	local pid
	pid=$(pm inspect -f '{{.State.Pid}}' "$POD")
	nsenter -t "$pid" -n ip -4 -o addr show eth0 | grep -q "inet $ip/"
}

# The number $1 of podman's --print-stats output in $output.
stat_of() {
	sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" <<<"$output" | head -1
}

@test "podman checkpoint -P, then --with-previous: only what changed is written, and it restores exactly" {
	start_pod 64
	run pm container checkpoint -P --print-stats "$POD"
	assert_success
	local pre_written
	pre_written=$(stat_of pages_written)
	[ "$pre_written" -ge 16384 ]
	# a pre-checkpoint leaves it running
	run pm inspect -f '{{.State.Status}}' "$POD"
	assert_output running
	pod_checks_again "$POD"
	local dir
	dir=$(pm inspect -f '{{.StaticDir}}' "$POD")
	[ -e "$dir/pre-checkpoint/ctswap/ct/pre-1" ]
	local before
	before=$(pod_counters "$POD")
	run pm container checkpoint --with-previous --print-stats "$POD"
	assert_success
	# pattern rewrites none of its 64 MiB: a few pages written, not 16384
	local written
	written=$(stat_of pages_written)
	[ "$written" -lt 500 ] || { echo "written $written"; return 1; }
	restore_goes_on "$before"
	# and once more, a pre-checkpoint of the restored container
	run pm container checkpoint -P "$POD"
	assert_success
	run pm container checkpoint --with-previous "$POD"
	assert_success
	run pm container restore "$POD"
	assert_success
	pod_checks_again "$POD"
}

@test "podman restore of 256 MiB is lazy and verifies; --print-stats shows ctswap's figures" {
	start_pod 256
	run pm container checkpoint --print-stats "$POD"
	assert_success
	assert_output --partial '"frozen_time":'
	assert_output --partial '"pages_written":'
	run pm container restore --print-stats --keep "$POD"
	assert_success
	assert_output --partial '"pages_restored":'
	# memory came through ctswap's lazy server, and the whole pattern verifies
	local dir
	dir=$(pm inspect -f '{{.StaticDir}}' "$POD")
	# (the reply came before the memory: the lazy server had all 256 MiB to serve)
	local served
	served=$(sed -n 's/.*lazy server [0-9]* serves \([0-9]*\) pages.*/\1/p' "$dir/restore.log")
	[ "$served" -ge 65536 ]
	pod_checks_again "$POD"
}

# ttycount on a terminal (podman run -dit): its status file, seen from the host.
start_tty_pod() {
	run pm run -dit --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--network none --name "$POD" "$IMAGE" /bin/ttycount /tmp
	assert_success
	wait_until 30 tty_ok
}

tty_status_file() {
	echo "/proc/$(pm inspect -f '{{.State.Pid}}' "$POD")/root/tmp/status"
}

tty_ok() {
	status_line "$(tty_status_file)" | grep -q ' ok$'
}

tty_field() {
	status_field "$(tty_status_file)" "$1"
}

# ttycount has ticked twice more since now, on its terminal as it was, and says ok.
tty_ticks_again() {
	local n
	n=$(tty_field ticks)
	[ -n "$n" ]
	wait_until 30 tty_ticks_above $((n + 1))
	tty_ok || { status_line "$(tty_status_file)"; return 1; }
}

tty_ticks_above() {
	local v
	v=$(tty_field ticks)
	[ -n "$v" ] && [ "$v" -gt "$1" ]
}

# Every status line ttycount wrote counts on from the one before: no tick lost or repeated.
tty_ticks_consecutive() {
	awk '{ t = $2; sub("ticks=", "", t); if (NR > 1 && t != prev + 1) { print "line " NR ": " $0 " after ticks=" prev; bad = 1 } prev = t } END { exit bad }' \
		"$(tty_status_file)"
}

# Its fds 0-2 are the terminal of the container's devpts, and podman attach reaches it:
# a line typed through attach ($1) is read and answered, its output comes back.
tty_attach_works() {
	local fd nread
	for fd in 0 1 2; do
		run pm exec "$POD" readlink "/proc/1/fd/$fd"
		assert_output /dev/pts/0
	done
	nread=$(tty_field lines)
	run timeout 60 "$TOP/tests/tools/attach_expect.py" 30 "$1" "got:$1" \
		podman attach --sig-proxy=false "$POD"
	assert_success
	assert_output --partial "got:$1"
	wait_until 10 tty_line_read $((nread + 1)) "$1"
	tty_ok
}

# The container's devpts and /dev/console mounts (but their ids and device) and its terminal's owner and mode.
tty_pts_shape() {
	local pid
	pid=$(pm inspect -f '{{.State.Pid}}' "$POD")
	awk '$5 == "/dev/pts" || $5 == "/dev/console" { $1 = $2 = $3 = ""; print }' "/proc/$pid/mountinfo" | sort
	stat -c '%u %g %a' "/proc/$pid/root/dev/pts/0" "/proc/$pid/root/dev/console"
}

tty_line_read() {
	[ "$(tty_field lines)" = "$1" ] && [ "$(tty_field last)" = "$2" ]
}

@test "podman -t: checkpoint and restore keep the terminal; attach and logs see it; twice" {
	start_tty_pod
	tty_attach_works before
	local before round shape
	shape=$(tty_pts_shape)
	[[ "$shape" == *"/dev/console "*"gid=5"* ]]
	for round in 1 2; do
		before=$(tty_field ticks)
		run pm container checkpoint "$POD"
		assert_success
		run pm inspect -f '{{.State.Status}}' "$POD"
		assert_output exited
		run pm container restore "$POD"
		assert_success
		tty_ticks_again
		[ "$(tty_field pid)" = 1 ]
		[ "$(tty_field ticks)" -gt "$before" ]
		tty_ticks_consecutive
		# the same devpts (runc's gid=5), /dev/console bound to the terminal, its owner and mode
		assert_equal "$(tty_pts_shape)" "$shape"
		tty_attach_works "round-$round"
		# the log goes on with what the restored terminal printed
		run pm logs "$POD"
		assert_output --partial "got:round-$round"
		assert_output --partial "tick $((before + 1))"
	done
}

@test "podman -t checkpoint --leave-running: the terminal stays, and the checkpoint restores it later" {
	start_tty_pod
	local b0 b1
	b0=$(tty_field ticks)
	run pm container checkpoint --leave-running "$POD"
	assert_success
	b1=$(tty_field ticks)
	run pm inspect -f '{{.State.Status}}' "$POD"
	assert_output running
	tty_ticks_again
	tty_ticks_consecutive
	tty_attach_works kept
	run pm stop -t 1 "$POD"
	assert_success
	run pm container restore --keep "$POD"
	[ "$status" = 0 ] || cat "$(pm inspect -f '{{.StaticDir}}' "$POD")/restore.log"
	assert_success
	tty_ticks_again
	[ "$(tty_field pid)" = 1 ]
	# from the checkpoint: the first line after the one the stopped container
	# wrote last counts on from a tick between the two reads around the checkpoint
	local first
	first=$(awk '{ t = $2; sub("ticks=", "", t); if (NR > 1 && t + 0 <= prev + 0) { print t; exit } prev = t }' \
		"$(tty_status_file)")
	[ -n "$first" ] && [ "$first" -gt "$b0" ] && [ "$first" -le $((b1 + 1)) ]
	tty_attach_works restored
}

@test "podman -t whose program closed its terminal: refused, naming /dev/console bound to it; left running" {
	run pm run -dit --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--network none --name "$POD" "$IMAGE" /bin/sh -c \
		'exec /bin/pattern --mib 4 --threads 1 --seed 5 --out /tmp </dev/null >/dev/null 2>&1'
	assert_success
	wait_until 30 pod_ok "$POD"
	run pm container checkpoint --keep "$POD"
	assert_failure
	local dir
	dir=$(pm inspect -f '{{.StaticDir}}' "$POD")
	grep -q '^Error (ctswap): DUMP: mount /dev/console: a bind of /dev/pts/0, a pty no process of the container holds: it cannot be made again$' "$dir/dump.log"
	run pm inspect -f '{{.State.Status}}' "$POD"
	assert_output running
	local pid
	pid=$(pm inspect -f '{{.State.Pid}}' "$POD")
	grep -q 'TracerPid:.*0$' "/proc/$pid/status"
	pod_checks_again "$POD"
}
