#!/usr/bin/env bats
# Descriptor kinds ctswap does not restore (issue 14): each refuses the dump with one line naming
# the process and the fd, and leaves the container running, thawed and untraced.  The workload
# (tests/workloads/refused_fd) holds one descriptor of the kind at fd 100 and beats every 10 ms.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# Fail unless no thread of container $1 is traced or frozen.
thawed_untraced() {
	local p s
	for p in $(grep -l ":/ctswap/$1\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do
		for s in /proc/"$p"/task/*/status; do
			[ -f "$s" ] || continue
			grep -q '^TracerPid:[[:space:]]*0$' "$s" || { echo "$s: traced"; return 1; }
		done
	done
	[ "$(ctswap ps "$CT" --json | jq -r .state)" = running ]
}

# The beat count of the workload.
beats() {
	status_field "$W/status" beats
}

# Run refused_fd --kind $1; a dump must fail with one line matching $2 (after "fd 100: "),
# the workload beating on afterwards and the store holding no checkpoint.
refused_kind() {
	local beat pid
	W="$BATS_TEST_TMPDIR/w"
	mkdir -p "$W"
	started "$CT"
	run ctswap run "$CT" -- "$WORKLOADS/refused_fd" --out "$W" --kind "$1"
	assert_success
	wait_until 10 grep -q ' ok$' "$W/status" || { cat "$W/status"; false; }
	pid=$(ctswap ps "$CT" --json | jq -r .init_pid)
	run ctswap dump "$CT"
	assert_failure 1
	assert_output --regexp "^ctswap: pid $pid: fd 100: $2\$"
	[ "${#lines[@]}" -eq 1 ]
	thawed_untraced "$CT"
	beat=$(beats)
	wait_until 10 bash -c '[ "$(sed -n "s/.* beats=\([0-9]*\).*/\1/p" "$1")" -gt "$2" ]' _ "$W/status" "$beat"
	grep -q ' ok$' "$W/status"
	run ls "$CTSWAP_STORE/$CT"
	refute_output --partial ckpt-
}

@test "refused kinds: io_uring" {
	refused_kind io_uring 'unsupported file type anon_inode:\[io_uring\]'
}

@test "refused kinds: fanotify" {
	refused_kind fanotify 'unsupported file type anon_inode:\[fanotify\]'
}

@test "refused kinds: a bpf map" {
	refused_kind bpf-map 'unsupported file type anon_inode:bpf-map'
}

@test "refused kinds: a perf event" {
	refused_kind perf-event 'unsupported file type anon_inode:\[perf_event\]'
}

@test "refused kinds: userfaultfd" {
	refused_kind userfaultfd 'unsupported file type anon_inode:\[userfaultfd\]'
}

@test "refused kinds: a netlink socket" {
	refused_kind netlink 'unsupported file type socket'
}

@test "refused kinds: a packet socket" {
	refused_kind packet 'unsupported file type socket'
}

@test "refused kinds: a raw inet socket" {
	refused_kind raw-inet 'unsupported file type socket \(inet type 3 protocol 17\)'
}

@test "refused kinds: a namespace file (nsfs)" {
	refused_kind nsfs 'unsupported file type uts'
}
