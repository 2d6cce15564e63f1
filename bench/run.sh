#!/usr/bin/env bash
# Runs every benchmark binary built from bench/*.c and appends its CSV rows
# ("bench,metric,value,unit,ratio_to,ratio") to bench/results/latest.csv.
# Lines starting with # are shown but not recorded.
set -eo pipefail
cd "$(dirname "$0")"
mkdir -p results
out=results/latest.csv
[ -s "$out" ] || echo "bench,metric,value,unit,ratio_to,ratio" > "$out"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >> "$out"
for src in *.c; do
	bin=${src%.c}
	[ -x "$bin" ] || { echo "bench: $bin not built (run make bench)" >&2; exit 1; }
	echo "bench: running $bin" >&2
	"./$bin" | tee -a "$out"
done
