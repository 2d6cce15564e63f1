# Shared setup for the bats tests: paths, a private store, helpers, cleanup.
# Load with `load common` (bats resolves it next to the test file's folder).

TOP="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
# CTSWAP_BUILD=DIR (relative to the top) runs the CLI built there by `make O=DIR/`,
# e.g. the sanitized copy tests/run-all.sh runs a part of the suite against.
CTSWAP="$TOP/${CTSWAP_BUILD:+$CTSWAP_BUILD/}tools/ctswap/ctswap"
WORKLOADS="$TOP/tests/workloads"

bats_load_library bats-support
bats_load_library bats-assert

# Each test gets its own store and a container name unique to the test.
common_setup() {
	export CTSWAP_STORE="$BATS_TEST_TMPDIR/store"
	CT="t$$-${BATS_TEST_NUMBER}"
	STARTED=()
}

# Run ctswap with the test's store.
ctswap() {
	"$CTSWAP" "$@"
}

# Remember a container so teardown kills and removes it whatever happens.
started() {
	STARTED+=("$1")
}

common_teardown() {
	local c
	for c in "${STARTED[@]}"; do
		"$CTSWAP" rm --force "$c" >/dev/null 2>&1 || true
	done
	san_check && leak_check
}

# Fail the test if a cgroup or network namespace of its own containers ($CT,
# $CT-*) outlived it: leftovers pile up on a host and slow every later run.
leak_check() {
	local d found=0
	for d in /sys/fs/cgroup/*/ctswap/"$CT" /sys/fs/cgroup/*/ctswap/"$CT"-* \
		 /sys/fs/cgroup/ctswap/"$CT" /sys/fs/cgroup/ctswap/"$CT"-* /run/netns/"$CT"-*; do
		[ -e "$d" ] || continue
		echo "left behind by the test: $d"
		found=1
	done
	[ "$found" = 0 ]
}

# Under a sanitized build (tests/run-all.sh sets CTSWAP_SAN_LOGS and sends
# ASan/UBSan reports there): fail the test if any process wrote one, even one
# whose failure the test expected or never saw (a forked server, rm --force).
san_check() {
	local f found=0
	[ -n "${CTSWAP_SAN_LOGS:-}" ] || return 0
	for f in "$CTSWAP_SAN_LOGS"/asan.* "$CTSWAP_SAN_LOGS"/ubsan.*; do
		[ -f "$f" ] || continue
		found=1
		echo "sanitizer report $f:"
		cat "$f"
		mv "$f" "$CTSWAP_SAN_LOGS/seen/"
	done
	[ "$found" = 0 ]
}

# Wait until a command succeeds, polling every 0.05 s, for at most $1 seconds.
wait_until() {
	local timeout=$1; shift
	local end=$((SECONDS + timeout + 1))
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# Number of lines in a file (0 if missing).
lines_of() {
	[ -f "$1" ] && wc -l <"$1" || echo 0
}

# The last complete line of a workload's status file $1.  Workloads append
# their status, one line at a time (tests/workloads/common.h), or rewrite a
# one-line file: a line being appended at this instant has no newline yet
# and is skipped.
status_line() {
	local text
	text=$(tail -c 4096 "$1" 2>/dev/null; echo .)
	text=${text%.}
	if [[ $text == *$'\n' ]]; then
		text=${text%$'\n'}
	elif [[ $text == *$'\n'* ]]; then
		text=${text%$'\n'*}
	fi
	printf '%s\n' "${text##*$'\n'}"
}

# The value of field KEY=VALUE $2 of a workload's status file $1 (its last
# line: space-separated fields; the field may start the line).
status_field() {
	status_line "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p;s/^$2=\([^ ]*\).*/\1/p"
}

# A TCP port of 127.0.0.1 that nothing listens on now (for servers a test starts).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The names the holders of old TCP sockets (--tcp-established) listen on, for socket inodes $@.
tcp_holder_names() {
	printf '@ctswap-tcp-hold-%s \n' "$@"
}

# No holder listens for any of the socket inodes $@.
tcp_holders_gone() {
	! ss -xl | grep -qF "$(tcp_holder_names "$@")"
}

# Kill the holders of the old TCP sockets with inodes $@ (one holder serves every
# socket of a dump), as after a migration: the restore then rebuilds those
# connections from the checkpoint.  Fails if none held them.
kill_tcp_holders() {
	local pids
	pids=$(ss -xlp | grep -F "$(tcp_holder_names "$@")" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
	[ -n "$pids" ] || return 1
	kill -9 $pids
	wait_until 10 tcp_holders_gone "$@"
}
