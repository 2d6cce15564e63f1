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
	"$top/tests/tools/mkrootfs.sh" "$BATS_FILE_TMPDIR/rootfs" "$BATS_FILE_TMPDIR/pattern"
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

@test "podman -t: refused with the reason in dump.log, the container left running" {
	run pm run -t -d --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--network none --name "$POD" "$IMAGE" /bin/pattern --mib 4 --threads 1 --seed 5 --out /tmp
	assert_success
	wait_until 30 pod_ok "$POD"
	run pm container checkpoint --keep "$POD"
	assert_failure
	local dir
	dir=$(pm inspect -f '{{.StaticDir}}' "$POD")
	grep -q '^Error (ctswap): DUMP: pid [0-9]*: fd 0 is on a terminal (/dev/pts/0): containers with a terminal (podman -t) are not supported yet$' "$dir/dump.log"
	run pm inspect -f '{{.State.Status}}' "$POD"
	assert_output running
	local pid
	pid=$(pm inspect -f '{{.State.Pid}}' "$POD")
	grep -q 'TracerPid:.*0$' "/proc/$pid/status"
	pod_checks_again "$POD"
}
