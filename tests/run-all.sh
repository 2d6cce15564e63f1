#!/usr/bin/env bash
# Runs the C unit tests and the bats end-to-end tests, then prints one line
# "N passed, N failed" counting both; exits non-zero on any failure.
# Usage: tests/run-all.sh [bats files or unit binaries...]
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0
failures=()
log=$(mktemp)
export FAULTS_TALLY=$(mktemp)	# what tests/faults tried (summary at the end)
trap 'rm -f "$log" "$FAULTS_TALLY"' EXIT

# Count the TAP lines of one suite's log; a suite that exits non-zero
# without reporting a failure (a crash, a bad plan) counts as one failure.
tally() {	# suite-name exit-code
	local p f
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	while IFS= read -r line; do failures+=("$1: ${line#not ok }"); done < <(grep '^not ok ' "$log")
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		f=1
		failures+=("$1: exited $2 without a failing test (crash?)")
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

units=() batsfiles=()
if [ $# -gt 0 ]; then
	for a in "$@"; do case "$a" in *.bats) batsfiles+=("$a") ;; *) units+=("$a") ;; esac; done
else
	for f in tests/unit/test_*.c; do [ -f "$f" ] && units+=("${f%.c}"); done
	for f in tests/bats/*.bats tests/faults/*.bats; do [ -f "$f" ] && batsfiles+=("$f"); done
fi

for u in "${units[@]}"; do
	echo "# unit: $u"
	CMOCKA_MESSAGE_OUTPUT=TAP "./$u" >"$log" 2>&1
	rc=$?
	cat "$log"
	tally "$u" "$rc"
done

for b in "${batsfiles[@]}"; do
	echo "# bats: $b"
	bats --tap "$b" >"$log" 2>&1
	rc=$?
	cat "$log"
	tally "$b" "$rc"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
tests/faults/summary.sh "$FAULTS_TALLY"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
