#!/usr/bin/env bash
# The main job, end to end: start a real workload (python3 with a large dict,
# computing and logging every step) in a container, checkpoint it into its
# swap area, kill it, restore it lazily, and show that it continues exactly
# where it stopped.  Prints the figures in plain words; cleans up after itself.
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

last_step() { tail -n 1 "$work/out" 2>/dev/null | awk '{print $2}'; }

echo "== starting python3 with a dict of $keys keys in container '$name'"
pid=$("$CTSWAP" run "$name" -- python3 "$PWD/tests/workloads/pydict.py" "$work/out" "$keys" 0.05)
echo "   container init pid $pid (host view; it is pid 1 in its own pid namespace)"
for _ in $(seq 600); do [ -s "$work/out" ] && break; sleep 0.1; done
sleep 1
"$CTSWAP" ps "$name"

echo "== checkpoint: freeze, seize, push every page into the swap area, kill"
"$CTSWAP" dump "$name"
at_dump=$(last_step)
echo "   the workload had logged step $at_dump when it was checkpointed"
sleep 1
[ "$(last_step)" = "$at_dump" ] && echo "   (it is gone: no step logged since)"

echo "== restore, lazily: memory swaps in on fault from the swap area"
"$CTSWAP" restore "$name"
"$CTSWAP" ps "$name"
sleep 2
now=$(last_step)
echo "   the workload continued from step $at_dump to step $now"
"$CTSWAP" kill "$name"
if python3 "$PWD/tests/workloads/pydict_check.py" "$work/out" "$keys"; then
	echo "== every step before and after the restore is correct: the dict survived intact"
else
	echo "== the workload's output does not verify" >&2
	exit 1
fi
