#!/usr/bin/env bash
# Runs the C unit tests and the bats end-to-end tests, then prints one line
# "N passed, N failed" counting both; exits non-zero on any failure.
# Usage: tests/run-all.sh [bats files or unit binaries...]
#
# CTSWAP_ASAN_DIR=DIR (set by `make test`, DIR built by `make O=DIR/` with
# ASan+UBSan) then runs a part of the suite again against that build: every
# unit test built there and the bats files of ASAN_BATS below (or the files
# given).  Its lines start with "# asan:"; its counts are in the last line.
# CTSWAP_SANITIZED=1 (set by `make asan`) says the in-tree build is sanitized.
# In both, a sanitizer report written by any process fails the test it
# happened in (tests/common.bash: san_check) or, failing that, the file.
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0
failures=()
log=$(mktemp)
export FAULTS_TALLY=$(mktemp)	# what tests/faults tried (summary at the end)
tally_main=$FAULTS_TALLY
sanlogs=()	# report folders made by san_env
trap 'rm -rf "$log" "$log.tally" "$tally_main" "${sanlogs[@]}"' EXIT

# What the sanitized part runs besides the unit tests (which cover the swap
# area, lazy server, blob and state parsers): the CLI's errors, dump, inspect,
# restore (lazy and eager) and the fault suite's crafted and corrupted
# checkpoints (its libFuzzer smoke run is sanitized already: left out).
ASAN_BATS=(tests/bats/02-errors.bats tests/bats/10-dump.bats tests/bats/21-inspect.bats
	tests/bats/20-restore.bats 'tests/faults/40-untrusted.bats@^(crafted|corrupted|a blob)')

prefix=""	# "asan: " in the sanitized part

# Count the TAP lines of one suite's log; a suite that exits non-zero
# without reporting a failure (a crash, a bad plan) counts as one failure.
# cmocka prints a skipped test as "not ok N # SKIP": neither passed nor failed.
tally() {	# suite-name exit-code
	local p f
	p=$(grep -c '^ok ' "$log")
	f=$(grep '^not ok ' "$log" | grep -vc '^not ok [0-9]* # SKIP')
	while IFS= read -r line; do failures+=("$prefix$1: ${line#not ok }"); done < <(grep '^not ok ' "$log" | grep -v '^not ok [0-9]* # SKIP')
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		f=1
		failures+=("$prefix$1: exited $2 without a failing test (crash?)")
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

# Sanitizer reports no test claimed (san_check moves those it saw): one more
# failure for the suite that just ran.
san_leftovers() {	# suite-name
	local f found=0
	[ -n "${CTSWAP_SAN_LOGS:-}" ] || return 0
	for f in "$CTSWAP_SAN_LOGS"/asan.* "$CTSWAP_SAN_LOGS"/ubsan.*; do
		[ -f "$f" ] || continue
		found=1
		echo "# ${prefix}sanitizer report $f:"
		sed 's/^/# /' "$f"
		mv "$f" "$CTSWAP_SAN_LOGS/seen/"
	done
	if [ "$found" = 1 ]; then
		failed=$((failed + 1))
		failures+=("$prefix$1: sanitizer report outside a test (above)")
	fi
}

# Send every ASan/UBSan report to files (so one in a process whose failure
# was expected still counts) and stop at the first.
san_env() {
	local d

	d=$(mktemp -d)
	sanlogs+=("$d")
	mkdir "$d/seen"
	export CTSWAP_SAN_LOGS=$d
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:log_path=$d/asan"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$d/ubsan"
}

# Run unit binaries, then bats files; a bats file may be given as
# FILE@REGEX to run only the tests whose name matches (bats --filter).
run_suites() {	# units... -- batsfiles...
	local u b rc t filter
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		u=$1 t=$SECONDS
		shift
		echo "# ${prefix}unit: $u"
		CMOCKA_MESSAGE_OUTPUT=TAP "./$u" >"$log" 2>&1
		rc=$?
		cat "$log"
		tally "$u" "$rc"
		san_leftovers "$u"
		[ -z "$prefix" ] || echo "# $prefix$u: $((SECONDS - t)) s"
	done
	shift
	for b in "$@"; do
		t=$SECONDS filter=()
		case "$b" in *@*) filter=(--filter "${b#*@}"); b=${b%%@*} ;; esac
		echo "# ${prefix}bats: $b${filter:+ (only: ${filter[1]})}"
		bats --tap "${filter[@]}" "$b" >"$log" 2>&1
		rc=$?
		cat "$log"
		tally "$b" "$rc"
		san_leftovers "$b"
		[ -z "$prefix" ] || echo "# $prefix$b: $((SECONDS - t)) s"
	done
}

units=() batsfiles=()
if [ $# -gt 0 ]; then
	for a in "$@"; do case "$a" in *.bats | *.bats@*) batsfiles+=("$a") ;; *) units+=("$a") ;; esac; done
else
	for f in tests/unit/test_*.c; do [ -f "$f" ] && units+=("${f%.c}"); done
	for f in tests/bats/*.bats tests/faults/*.bats; do [ -f "$f" ] && batsfiles+=("$f"); done
fi

[ "${CTSWAP_SANITIZED:-}" = 1 ] && san_env
run_suites "${units[@]}" -- "${batsfiles[@]}"

if [ -n "${CTSWAP_ASAN_DIR:-}" ]; then
	dir=${CTSWAP_ASAN_DIR%/}
	prefix="asan: "
	p0=$passed f0=$failed t0=$SECONDS
	sunits=() sbats=()
	for u in "${units[@]}"; do
		[ -x "$dir/$u" ] && sunits+=("$dir/$u") || sunits+=("$dir/$u (not built)")
	done
	if [ $# -gt 0 ]; then
		sbats=("${batsfiles[@]}")
	else
		sbats=("${ASAN_BATS[@]}")
	fi
	echo "# asan: ${#sunits[@]} unit tests and ${#sbats[@]} bats files against $dir (ASan+UBSan)"
	san_env
	export FAULTS_TALLY=$log.tally	# the "# faults:" line counts the main run only
	export CTSWAP_BUILD=$dir
	run_suites "${sunits[@]}" -- "${sbats[@]}"
	unset CTSWAP_BUILD
	echo "# asan: $((passed - p0)) passed, $((failed - f0)) failed in $((SECONDS - t0)) s"
	prefix=""
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
tests/faults/summary.sh "$tally_main"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
