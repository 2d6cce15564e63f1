#!/usr/bin/env bash
# Prints the fault suite's "# faults: ..." line from the tally file $1
# (lines "KIND COUNT" written by tests/faults/faults.bash's tally).
[ -s "$1" ] || exit 0
awk '
	{ n[$1] += $2 }
	END {
		kills = n["kill-running"] + n["kill-checkpointed"] + n["kill-inject"] + n["kill-done"]
		printf "# faults: %d kill points on dump (%d left it running, %d after the commit, %d finished first, %d in the injection window: process killed, reported, last checkpoint intact), ",
			kills, n["kill-running"], n["kill-checkpointed"], n["kill-done"], n["kill-inject"]
		printf "%d store faults, %d bad inputs, %d races, %d fuzz runs, %d privilege checks; %d lost a checkpoint\n",
			n["store"], n["bad-input"], n["race"], n["fuzz"], n["privilege"], n["lost"]
	}' "$1"
