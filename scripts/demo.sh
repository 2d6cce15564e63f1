#!/usr/bin/env bash
# The main job, end to end: start a real workload (python3 with a large dict,
# computing and logging every step) in a container, checkpoint it into its
# swap area, kill it, restore it lazily, and show that it continues exactly
# where it stopped.  Prints the figures in plain words; cleans up after itself,
# also when interrupted.  `make demo` installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
CTSWAP="$PWD/tools/ctswap/ctswap"
export CTSWAP_STORE="${CTSWAP_STORE:-$(mktemp -d /tmp/ctswap-demo.XXXXXX)}"
work=$(mktemp -d /tmp/ctswap-demo-work.XXXXXX)
name=demo-$$
keys=${DEMO_KEYS:-2000000}

cleanup() {
	"$CTSWAP" rm --force "$name" >/dev/null 2>&1 || true
	rm -rf "$work"
	case "$CTSWAP_STORE" in /tmp/ctswap-demo.*) rm -rf "$CTSWAP_STORE" ;; esac
}
trap cleanup EXIT
trap 'echo "demo: interrupted, cleaning up" >&2; exit 130' INT TERM HUP

[ -x "$CTSWAP" ] || { echo "demo: build first (make demo does)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: must run as root (ptrace, cgroups, userfaultfd)" >&2; exit 1; }

last_step() { tail -n 1 "$work/out" 2>/dev/null | awk '{print $2}'; }

echo "== starting python3 with a dict of $keys keys in container '$name'"
pid=$("$CTSWAP" run "$name" -- python3 "$PWD/tests/workloads/pydict.py" "$work/out" "$keys" 0.05)
echo "   container init pid $pid (host view; it is pid 1 in its own pid namespace)"
for _ in $(seq 600); do [ -s "$work/out" ] && break; sleep 0.1; done
sleep 1
"$CTSWAP" ps "$name"

echo "== checkpoint: freeze, seize, push every page into the swap area, kill"
dumped=$("$CTSWAP" dump "$name")
echo "$dumped"
at_dump=$(last_step)
echo "   the workload had logged step $at_dump when it was checkpointed"
sleep 1
[ "$(last_step)" = "$at_dump" ] && echo "   (it is gone: no step logged since)"

echo "== restore, lazily: memory swaps in on fault from the swap area"
t0=$(date +%s%N)
restored=$("$CTSWAP" restore "$name")
t1=$(date +%s%N)
echo "$restored" | tail -n 1
"$CTSWAP" ps "$name"
sleep 2
now=$(last_step)
echo "   the workload continued from step $at_dump to step $now"
# The lazy server writes lazy.state while it works and removes it when every page is in.
for _ in $(seq 600); do [ -e "$CTSWAP_STORE/$name/lazy.state" ] || break; sleep 0.1; done
lazy=$(sed -n 's/.*done: \([0-9]*\) pages made resident.*/\1/p' "$CTSWAP_STORE/$name/lazy.log" 2>/dev/null | tail -n 1)
"$CTSWAP" kill "$name"
if python3 "$PWD/tests/workloads/pydict_check.py" "$work/out" "$keys"; then
	echo "== every step before and after the restore is correct: the dict survived intact"
else
	echo "== the workload's output does not verify" >&2
	exit 1
fi

# The figures, in plain words.
frozen=$(sed -n 's/.*frozen \([0-9.]*\) ms.*/\1/p' <<<"$dumped")
bytes=$(sed -n 's/.* \([0-9]*\) bytes written.*/\1/p' <<<"$dumped")
running=$(sed -n 's/.*running after \([0-9.]*\) ms.*/\1/p' <<<"$restored")
wall=$(((t1 - t0) / 1000000))
[ -n "$lazy" ] || lazy=$(sed -n 's/.* \([0-9]*\) pages to swap in lazily.*/\1/p' <<<"$restored")
echo
echo "In plain words: the container was frozen for $frozen ms while $((bytes / 1048576)) MiB were written;"
echo "it was back up and running $running ms after \`ctswap restore\` started ($wall ms for the whole command),"
echo "and $lazy pages ($((lazy * 4096 / 1048576)) MiB) came in lazily from the swap area while it ran."
