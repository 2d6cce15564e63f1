# Shared setup for the bats tests: paths, a private store, helpers, cleanup.
# Load with `load common` (bats resolves it next to the test file's folder).

TOP="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
CTSWAP="$TOP/tools/ctswap/ctswap"
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
