#!/usr/bin/env bash
# valgrind memcheck of the ctswap commands on a small pattern container:
# ps, freeze, thaw, dump (--leave-running, --compress, --no-snapshot, then a
# killing one), inspect (--json, --verify), kill and rm.  Any memcheck error
# or definite leak fails (exit 1).  Restore runs natively between the checks
# (see below) and the restored pattern must keep checking correctly.
# Run by tests/faults/60-valgrind.bats (CI); usable alone:
#   tests/faults/valgrind.sh [MiB]      (VG_OPTS adds valgrind options,
#                                        e.g. VG_OPTS=--track-origins=yes)
#
# Restore is not run under memcheck: valgrind 3.19 (Debian 12) has no
# pidfd_open or pidfd_getfd (ENOSYS, "unhandled syscall 434") and gives ENOSYS
# for clone3, which the restorer needs; and the restored init is a fork of the
# restorer, so it would start as a valgrind guest.  ASan/LSan/UBSan cover
# restore in CI instead (tests/run-all.sh, "# asan:").
set -eo pipefail
cd "$(dirname "$0")/../.."
mib=${1:-16}
ctswap=${CTSWAP:-$PWD/tools/ctswap/ctswap}
work=$(mktemp -d)
name=vg$$
export CTSWAP_STORE=$work/store
cleanup() {
	"$ctswap" rm --force "$name" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
n=0
vg() {	# ctswap arguments...
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --num-callers=30 $VG_OPTS --log-file="$work/vg-$n.%p" \
		"$ctswap" "$@" >"$work/out" 2>&1; then
		cat "$work/out" "$work"/vg-"$n".* >&2
		echo "valgrind: ctswap $* failed" >&2
		return 1
	fi
	if grep -q "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|Invalid\|uninitialised" "$work"/vg-"$n".* 2>/dev/null; then
		cat "$work"/vg-"$n".* >&2
		echo "valgrind: ctswap $*: memcheck report" >&2
		return 1
	fi
	echo "valgrind: ctswap $*: clean"
}
field() {	# checks, gen...: a number from the pattern's status line
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$work/pat/status"
}
# Wait until the pattern completes a check begun after now and it passed.
checks_again() {
	local c m
	c=$(field checks)
	for _ in $(seq 200); do
		m=$(field checks)
		[ -n "$m" ] && [ "$m" -gt $((c + 1)) ] && break
		sleep 0.05
	done
	[ -n "$m" ] && [ "$m" -gt $((c + 1)) ] && grep -q ' ok$' "$work/pat/status" ||
		{ echo "pattern stopped checking: $(cat "$work/pat/status")" >&2; return 1; }
	echo "valgrind: pattern checks ok ($m)"
}
native() {	# ctswap arguments...: not under valgrind
	"$ctswap" "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; echo "ctswap $* failed" >&2; return 1; }
}

mkdir -p "$work/pat"
"$ctswap" run "$name" -- "$PWD/tests/workloads/pattern" --mib "$mib" --threads 2 --seed 3 \
	--out "$work/pat" >/dev/null
for _ in $(seq 100); do grep -q ' ok$' "$work/pat/status" 2>/dev/null && break; sleep 0.1; done
vg ps
vg freeze "$name"
vg thaw "$name"
vg dump "$name" --leave-running
vg dump "$name" --leave-running --compress
vg dump "$name" --leave-running --no-snapshot
vg inspect "$name" --json
vg inspect "$name" --verify
checks_again
vg dump "$name"
vg ps
native restore "$name"		# lazy: pages come back from the swap area on fault
checks_again
vg dump "$name" --compress
native restore "$name" --eager
checks_again
vg inspect "$name" --verify
vg kill "$name"
vg rm "$name"
echo "valgrind: $n commands clean"
