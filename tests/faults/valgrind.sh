#!/usr/bin/env bash
# valgrind memcheck of `ctswap dump` (--leave-running, then a killing one)
# and `ctswap restore` of a small pattern container.  Exits non-zero on any
# memcheck error or definite leak.  Run by tests/faults/60-valgrind.bats
# (CI) and usable alone: tests/faults/valgrind.sh [MiB]
set -eo pipefail
cd "$(dirname "$0")/../.."
mib=${1:-8}
ctswap=$PWD/tools/ctswap/ctswap
work=$(mktemp -d)
name=vg$$
export CTSWAP_STORE=$work/store
cleanup() {
	"$ctswap" rm --force "$name" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
vg() {	# label, ctswap arguments...
	local label=$1
	shift
	if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --log-file="$work/vg-$label.%p" "$ctswap" "$@" >"$work/out" 2>&1; then
		cat "$work/out" "$work"/vg-"$label".* >&2
		echo "valgrind: ctswap $* failed" >&2
		return 1
	fi
	if grep -q "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|Invalid\|uninitialised" "$work"/vg-"$label".* 2>/dev/null; then
		cat "$work"/vg-"$label".* >&2
		return 1
	fi
	echo "valgrind: ctswap $*: clean"
}
mkdir -p "$work/pat"
"$ctswap" run "$name" -- "$PWD/tests/workloads/pattern" --mib "$mib" --threads 2 --seed 3 --out "$work/pat" >/dev/null
for _ in $(seq 100); do grep -q ' ok$' "$work/pat/status" 2>/dev/null && break; sleep 0.1; done
vg dump-leave dump "$name" --leave-running
vg dump dump "$name"
vg restore restore "$name" --eager
n=$(sed -n 's/.* checks=\([0-9]*\).*/\1/p' "$work/pat/status")
for _ in $(seq 100); do
	m=$(sed -n 's/.* checks=\([0-9]*\).*/\1/p' "$work/pat/status")
	[ "$m" -gt $((n + 1)) ] && break
	sleep 0.1
done
grep -q ' ok$' "$work/pat/status" || { cat "$work/pat/status"; exit 1; }
echo "valgrind: restored pattern checks ok"
