# bench/lib.bash: helpers the bench scripts share (sourced, not run: bench/run.sh
# runs only bench/*.sh).  The caller sets limits_csv (a CSV holding this run's
# bench/limits rows) and cold (1: drop the page cache before each restore).

# Print one CSV row; ratio = value / base when a base is given.
row() {	# bench metric value unit [ratio_to base]
	awk -v b="$1" -v m="$2" -v v="$3" -v u="$4" -v t="${5:-}" -v base="${6:-0}" 'BEGIN {
		printf "%s,%s,%s,%s,%s,", b, m, v, u, t
		if (base > 0) printf "%.3f\n", v / base; else printf "\n" }'
}

# Floating-point arithmetic.
calc() { awk "BEGIN { printf \"%.2f\", $* }"; }

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The value of a limit from this run.
limit() { awk -F, -v m="$1" '$1 == "limits" && $2 == m { v = $3 } END { print v }' "$limits_csv"; }

# Drop clean page cache so a restore reads the store from the disk (as after a reboot).
drop_caches() {
	[ "$cold" = 1 ] || return 0
	sync
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
}
