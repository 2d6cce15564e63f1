# Helpers of the fault-injection suite (tests/faults/*.bats): load after
# ../common.  Every test records what it tried in the tally file
# $FAULTS_TALLY (one "KIND COUNT" line per record); tests/faults/summary.sh
# prints the "# faults: ..." line from it at the end of run-all.sh.

: "${FAULTS_TALLY:=${BATS_RUN_TMPDIR:-/tmp}/faults-tally}"

# Record @2 (default 1) tries of kind @1 (kill-running, bad-input, race, ...).
tally() {
	echo "$1 ${2:-1}" >>"$FAULTS_TALLY"
}

# Host pids of every process in container $1 (from its v2 or v1 cgroup).
ct_pids() {
	local root
	for root in $(awk '$9 == "cgroup2" || ($9 == "cgroup" && $NF ~ /freezer/) { print $5 }' /proc/self/mountinfo); do
		if [ -f "$root/ctswap/$1/cgroup.procs" ]; then
			cat "$root/ctswap/$1/cgroup.procs"
			return
		fi
	done
}

# Fail unless no thread of container $1 is traced.
assert_untraced() {
	local p s
	for p in $(ct_pids "$1"); do
		for s in /proc/"$p"/task/*/status; do
			[ -f "$s" ] || continue
			if ! grep -q '^TracerPid:[[:space:]]*0$' "$s"; then
				echo "$s: $(grep TracerPid "$s")"
				return 1
			fi
		done
	done
}

# True once field $2 of status file $1 is above $3.
field_above() {
	local v
	v=$(status_field "$1" "$2")
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Start the pattern workload in container $1: $2 MiB, $3 threads, status in $4/status.
start_pattern_in() {
	mkdir -p "$4"
	rm -f "$4/status"
	started "$1"
	"$CTSWAP" run "$1" -- "$WORKLOADS/pattern" --mib "$2" --threads "$3" --seed 42 --out "$4" ||
		return 1
	wait_until 30 grep -q ' ok$' "$4/status"
}

# Wait until pattern (status dir $1) finishes a check begun after now, and it passed.
pattern_checks_again_in() {
	local st="$1/status" n
	n=$(status_field "$st" checks)
	wait_until 10 field_above "$st" checks $((n + 1)) || { cat "$st"; return 1; }
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
}

# The newest generation number inspect reports for $1 (0 if none).
newest_gen() {
	local g
	g=$(ls "$CTSWAP_STORE/$1" 2>/dev/null | sed -n 's/^ckpt-\([0-9]*\)\.meta$/\1/p' | sort -n | tail -1)
	echo "${g:-0}"
}

# Fail if STORE/$1 holds a half-written file.
assert_no_partial_files() {
	local left
	left=$(ls "$CTSWAP_STORE/$1" | grep '\.tmp$' || true)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# Fail unless container $1's lock file is empty (no command in progress).
assert_lock_clear() {
	[ ! -s "$CTSWAP_STORE/$1/lock" ] || { echo "lock: $(cat "$CTSWAP_STORE/$1/lock")"; return 1; }
}

# True if container $1 has no process.
ct_empty() {
	[ -z "$(ct_pids "$1")" ]
}

# Restore container $1 from its newest checkpoint and check pattern (status
# dir $2) runs on it correctly.
restore_and_check() {
	local out
	out=$("$CTSWAP" restore "$1" 2>&1) || { echo "restore: $out"; return 1; }
	pattern_checks_again_in "$2"
}
