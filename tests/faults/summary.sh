#!/usr/bin/env bash
# Prints the fault suite's "# faults: ..." line from the tally file $1
# (lines "KIND COUNT" written by tests/faults/faults.bash's tally).
[ -s "$1" ] || exit 0
awk '
	{ n[$1] += $2 }
	END {
		dk = n["kill-running"] + n["kill-checkpointed"] + n["kill-done"] + n["kill-inject"]
		rk = n["restore-kill-running"] + n["restore-kill-gone"]
		lk = n["lazy-kill-running"] + n["lazy-kill-gone"]
		printf "# faults: %d kill points on dump (%d left it running, %d checkpointed it, %d came after it finished, %d in the injection window: that process killed and reported), ",
			dk, n["kill-running"], n["kill-checkpointed"], n["kill-done"], n["kill-inject"]
		printf "%d on restore (%d running, %d gone), %d on the lazy server (%d running, %d gone); ",
			rk, n["restore-kill-running"], n["restore-kill-gone"], lk, n["lazy-kill-running"], n["lazy-kill-gone"]
		printf "%d store faults, %d bad inputs, %d races, %d fuzz runs, %d privilege checks; %d restores of the last checkpoint; %d lost data\n",
			n["store"], n["bad-input"], n["race"], n["fuzz"], n["privilege"], n["restored"], n["lost"]
	}' "$1"
