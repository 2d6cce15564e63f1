#!/usr/bin/env bash
# Runs the benchmarks and records their CSV rows
# ("bench,metric,value,unit,ratio_to,ratio") in bench/results/latest.csv,
# then draws bench/results/latest.png from it (bench/plot.sh).
#
#   bench/run.sh            everything, into a new latest.csv: bench/limits
#                           first (the machine's limits, which the others are
#                           given as ratios to), every other binary built from
#                           bench/*.c, then every bench/*.sh
#   bench/run.sh NAME...    only those (e.g. "cr.sh restore_fault"), their
#                           rows appended to latest.csv
#
# Lines starting with # are comments (goals, notes, the run's header with
# the machine and its load) and are kept in the file.  BENCH_SIZES and the
# other BENCH_* variables are passed on (see bench/cr.sh).
set -eo pipefail
cd "$(dirname "$0")"
mkdir -p results
out=results/latest.csv
export BENCH_CSV=$PWD/$out

# The machine, its load and the code, as a comment block.
header() {
	echo "# run $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
	echo "# machine: $(nproc) vCPU $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r), store on $(df -P . | awk 'NR == 2 { print $1 }')"
	echo "# load at start: $(uptime | sed 's/.*load average: //') (1, 5, 15 min)"
}

# Run one benchmark (a binary or a script) and record its rows.
run_one() {
	local b=$1
	case "$b" in
	*.sh) [ -x "$b" ] || { echo "bench: $b is not executable" >&2; exit 1; } ;;
	*) [ -x "$b" ] || { echo "bench: $b not built (run make bench)" >&2; exit 1; } ;;
	esac
	echo "bench: running $b" >&2
	"./$b" | tee -a "$out"
}

if [ $# -gt 0 ]; then
	[ -s "$out" ] || echo "bench,metric,value,unit,ratio_to,ratio" > "$out"
	header >> "$out"
	for b in "$@"; do
		run_one "${b#bench/}"
	done
else
	echo "bench,metric,value,unit,ratio_to,ratio" > "$out.new"
	mv "$out.new" "$out"
	header >> "$out"
	run_one limits
	for src in *.c; do
		[ "$src" = limits.c ] || run_one "${src%.c}"
	done
	for s in *.sh; do
		[ "$s" = run.sh ] || [ "$s" = plot.sh ] || run_one "$s"
	done
fi
echo "# load at end: $(uptime | sed 's/.*load average: //') (1, 5, 15 min)" >> "$out"
./plot.sh "$out" results/latest.png
