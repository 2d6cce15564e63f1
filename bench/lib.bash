# bench/lib.bash: helpers the bench scripts share (sourced, not run: bench/run.sh
# runs only bench/*.sh).  The caller sets root (the tree), bench_store, cold
# (1: drop the page cache before each restore) and calls find_limits.

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

# Point limits_csv at this run's bench/limits rows: those of $BENCH_CSV after
# its last "# run" header (bench/run.sh NAME appends to a file holding older
# runs, whose limits are another machine state's), else run bench/limits
# into $1/limits.csv and print its rows too.
find_limits() {	# work-dir
	limits_csv=$1/limits.csv
	if [ -n "${BENCH_CSV:-}" ] && [ -s "$BENCH_CSV" ]; then
		awk '/^# run / { n = 0; delete rows } /^limits,/ { rows[n++] = $0 }
			END { for (i = 0; i < n; i++) print rows[i] }' "$BENCH_CSV" > "$limits_csv"
		grep -q '^limits,seq_write,' "$limits_csv" && return 0
	fi
	BENCH_STORE=$bench_store "$root/bench/limits" > "$limits_csv"
	cat "$limits_csv"
}

# The value of a limit from this run.
limit() { awk -F, -v m="$1" '$1 == "limits" && $2 == m { v = $3 } END { print v }' "$limits_csv"; }

# Drop clean page cache so a restore reads the store from the disk (as after a reboot).
drop_caches() {
	[ "$cold" = 1 ] || return 0
	sync
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
}
