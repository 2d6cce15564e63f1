#!/usr/bin/env bats
# tools/criu-rpc: ctswap's `criu swrk FD` front end, driven directly through a
# socketpair by tests/tools/crpc_client (as runc and go-criu drive CRIU).

setup() {
	load ../common
	common_setup
	CRIU="$TOP/${CTSWAP_BUILD:+$CTSWAP_BUILD/}tools/criu-rpc/criu"
	CLIENT="$TOP/${CTSWAP_BUILD:+$CTSWAP_BUILD/}tests/tools/crpc_client"
	IMG="$BATS_TEST_TMPDIR/images"
	mkdir -p "$IMG"
}
teardown() { common_teardown; }

crpc() {
	"$CLIENT" "$CRIU" "$@"
}

@test "VERSION passes runc's and podman's checks and names ctswap" {
	run crpc VERSION
	assert_success
	assert_line --index 1 "exit 0"
	[[ "${lines[0]}" =~ version=([0-9]+)\.([0-9]+)\.([0-9]+)\ gitid=([^ ]*) ]]
	# the number runc and go-criu compute: major*10000 + minor*100 + sublevel
	local v=$((BASH_REMATCH[1] * 10000 + BASH_REMATCH[2] * 100 + BASH_REMATCH[3]))
	[ "$v" -ge 31600 ]
	[[ "${BASH_REMATCH[4]}" == *ctswap* ]]
	refute_output --partial oversized
}

@test "FEATURE_CHECK answers what it was asked, truthfully" {
	run crpc FEATURE_CHECK feature=lazy_pages feature=mem_track
	assert_success
	# lazy restore works exactly when ctswap check finds userfaultfd usable
	local uffd=0
	ctswap check | grep -q '^userfaultfd (restore) *ok' && uffd=1
	assert_line --index 0 "reply FEATURE_CHECK success=1 mem_track=1/0 lazy_pages=1/$uffd"
	run crpc FEATURE_CHECK feature=lazy_pages
	assert_success
	assert_line --index 0 "reply FEATURE_CHECK success=1 mem_track=0/0 lazy_pages=1/$uffd"
	run crpc FEATURE_CHECK
	assert_failure 1
	assert_line --index 1 "errmsg FEATURE_CHECK: no features asked about"
}

@test "an unknown request type fails cleanly" {
	for t in 77 PAGE_SERVER WAIT_PID CPUINFO_DUMP NOTIFY; do
		run crpc "$t"
		assert_failure 1
		assert_line --index 0 --regexp "^reply [A-Z_]+ success=0 errno=95$"
		assert_line --index 1 --regexp "^errmsg request type [0-9]+ \([A-Za-z_]+\) is not supported by ctswap$"
		assert_line --index 2 "exit 1"
	done
	# an unknown type is answered as EMPTY (a proto2 reader refuses unknown values)
	run crpc 77
	assert_line --index 0 "reply EMPTY success=0 errno=95"
}

@test "a truncated request fails cleanly" {
	run crpc DUMP images_dir="$IMG" pid=1 leave_running=1 truncate=5
	assert_failure 1
	assert_line --index 0 "reply EMPTY success=0 errno=74"
	assert_line --index 1 "errmsg request: cannot decode 5 bytes (truncated or not a request)"
	assert_line --index 2 "exit 1"
}

@test "a bad fd number fails cleanly, naming it" {
	run crpc DUMP images_dir_fd=99 pid=1
	assert_failure 1
	assert_line --index 0 "reply DUMP success=0 errno=9"
	assert_line --index 1 --regexp "^errmsg images_dir_fd 99: cannot open /proc/[0-9]+/fd/99: No such file or directory$"
	run crpc RESTORE images_dir="$IMG" work_dir_fd=-3
	assert_failure 1
	assert_line --index 1 "errmsg work_dir_fd -3: not a file descriptor"
}

@test "an option the engine cannot honour is refused by name, the container left running" {
	local pid
	pid=$(ctswap run "$CT" -- sleep 1000)
	started "$CT"
	run crpc DUMP images_dir="$IMG" pid="$pid" ps=1
	assert_failure 1
	assert_line --index 1 "errmsg DUMP: option ps: page server: ctswap writes pages to the swap area in the images dir"
	run crpc DUMP images_dir="$IMG" pid="$pid" lazy_pages=1
	assert_line --index 1 "errmsg DUMP: option lazy_pages: a dump always writes every page; the restore is lazy by itself"
	run crpc DUMP images_dir="$IMG" pid="$pid" ext_unix_sk=1
	assert_line --index 1 --partial "errmsg DUMP: option ext_unix_sk: "
	run ctswap ps "$CT"
	assert_output --regexp "$CT +running"
	grep -q 'State:.*[RS]' "/proc/$pid/status"
	grep -q 'TracerPid:.*0$' "/proc/$pid/status"
}

@test "usage errors and a caller that sends nothing" {
	run "$CRIU"
	assert_failure 2
	assert_output --partial "usage: criu swrk FD"
	run "$CRIU" swrk notanumber
	assert_failure 2
	assert_output "ctswap: swrk notanumber: not a file descriptor number"
	run "$CRIU" swrk 0 </dev/null
	assert_failure 1
	assert_output --partial "ctswap: swrk 0: not a socket"
	# a caller that closes its end without a request: exit non-zero, no crash
	run python3 -c '
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen([sys.argv[1], "swrk", str(b.fileno())], pass_fds=[b.fileno()])
b.close(); a.close()
print("exit", p.wait())' "$CRIU"
	assert_output "exit 1"
}
