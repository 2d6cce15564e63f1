#!/usr/bin/env bash
# bench/plot.sh [CSV [PNG]]: draws the figures of a bench run (default
# bench/results/latest.csv) into one PNG (default bench/results/latest.png)
# with gnuplot, six panels: dump time, restore time, fault latency,
# fill throughput, swap-area size, metadata blob size.  Each panel shows
# the limit measured in the same run next to the figure.
set -eo pipefail
cd "$(dirname "$0")"
csv=${1:-results/latest.csv}
png=${2:-results/latest.png}
command -v gnuplot >/dev/null || { echo "plot: gnuplot missing (scripts/setup-deps.sh bench)" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The value (column 3) of bench $1 metric $2; empty if absent.
val() { awk -F, -v b="$1" -v m="$2" '$1 == b && $2 == m { v = $3 } END { print v }' "$csv"; }

# Per size of the pattern workload: size value base(value / ratio) for metric suffix $1.
by_size() {
	awk -F, -v s="$1" '$1 == "cr" && $2 ~ "^pattern_[0-9]+_" s "$" {
		split($2, p, "_"); base = ($6 > 0) ? $3 / $6 : 0
		print p[2], $3, base }' "$csv" | sort -n
}
by_size frozen > "$tmp/frozen"
by_size dump_total > "$tmp/total"
by_size restore_lazy > "$tmp/lazy"
by_size restore_eager > "$tmp/eager"
by_size lazy_all_resident > "$tmp/full"
by_size blob > "$tmp/blob"
by_size swap_index > "$tmp/index"

# Fault latency quantiles: index label bare server.
i=0
for q in p01 p10 p25 p50 p75 p90 p99 p999 max; do
	m=$q; [ "$q" = p50 ] && m=median
	b=$(val restore_fault "fault_bare_$m") s=$(val restore_fault "fault_server_$m")
	[ -n "$b" ] && [ -n "$s" ] && echo "$i $q $b $s" >> "$tmp/fault"
	i=$((i + 1))
done

# Throughputs (MiB/s): label value, the limits first.
{
	echo "\"limit: memcpy\" $(val limits memcpy) 1"
	echo "\"limit: fresh write\" $(val limits fresh_write) 1"
	echo "\"limit: store read\" $(val limits seq_read) 1"
	echo "\"limit: store write\" $(val limits seq_write) 1"
	p=$(val restore_fault prefetch); [ -z "$p" ] || echo "\"prefetch (restore\\\\_fault)\" $p 2"
	big=$(tail -n 1 "$tmp/lazy" | awk '{ print $1 }')
	if [ -n "$big" ]; then
		echo "\"lazy fill, $big MiB\" $(val cr "pattern_${big}_lazy_fill_rate") 2"
		echo "\"eager fill, $big MiB\" $(val cr "pattern_${big}_restore_eager_rate") 2"
		echo "\"dump write, $big MiB\" $(val cr "pattern_${big}_dump_write_rate") 2"
	fi
} | awk '$(NF - 1) ~ /^[0-9.]+$/' > "$tmp/rates"

# Swap area vs resident (MiB): label resident area.
for k in random zero50 dup50; do
	r=$(val cr "mix_${k}_resident") a=$(val cr "mix_${k}_swap_area")
	[ -n "$r" ] && echo "$k $(awk -v r="$r" -v a="$a" 'BEGIN { print r / 1048576, a / 1048576 }')" >> "$tmp/area"
done
r=$(val cr growth_swap_area) c=$(val cr growth_changed_pages)
[ -z "$r" ] || echo "\"growth\" $(awk -v c="$c" -v a="$r" 'BEGIN { print c * 4096 / 1048576, a / 1048576 }')" >> "$tmp/area"

touch "$tmp/fault" "$tmp/area" "$tmp/rates"
run=$(grep -m 1 '^# run ' "$csv" | sed 's/^# //' || true)
machine=$(grep -m 1 '^# machine: ' "$csv" | sed 's/^# machine: //' || true)
load=$(grep -m 1 '^# load at start: ' "$csv" | sed 's/^# //' || true)

rm -f "$png"
gnuplot 2> "$tmp/gnuplot.err" <<EOF || true
set terminal pngcairo size 1500,950 font "sans,9"
set output "$png"
set datafile separator whitespace
set multiplot layout 2,3 title "ctswap figures, each next to the machine's limit from the same run\n$run; $machine; $load" font "sans,10"
set grid
set key top left
set logscale x 2
set xlabel "memory (MiB)"

set title "Dump of the pattern workload"
set ylabel "ms"
plot "$tmp/frozen" using 1:2 with linespoints lw 2 title "frozen", \
     "$tmp/total" using 1:2 with linespoints lw 2 title "dump total", \
     "$tmp/frozen" using 1:3 with lines dt 2 lw 2 title "limit: bytes / store write"

set title "Restore: time until running"
set logscale y 10
plot "$tmp/lazy" using 1:2 with linespoints lw 2 title "lazy", \
     "$tmp/eager" using 1:2 with linespoints lw 2 title "eager", \
     "$tmp/full" using 1:2 with linespoints lw 2 title "lazy: every page resident", \
     "$tmp/lazy" using 1:3 with lines dt 2 lw 2 title "limit: resident / fresh write"
unset logscale

set title "Page fault service latency (restore\\\\_fault)"
set xlabel "quantile"
set ylabel "µs"
set logscale y 10
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set boxwidth 0.9
plot "$tmp/fault" using 3:xtic(2) title "limit: bare UFFDIO\\\\_COPY round trip", \
     "" using 4 title "lazy server"
unset logscale

set title "Throughput"
set xlabel ""
set ylabel "MiB/s"
set logscale y 10
set xtics font "sans,8" rotate by -30
set style fill solid 0.7 border -1
set boxwidth 0.7
unset key
plot "$tmp/rates" using 0:(\$3 == 1 ? \$2 : 1/0):xtic(1) with boxes lc rgb "#999999", \
     "" using 0:(\$3 == 2 ? \$2 : 1/0) with boxes lc rgb "#4477aa"
unset logscale
set key top left
set xtics font "sans,9" norotate
set style data histogram

set title "Swap area vs resident memory (memmix)"
set ylabel "MiB"
plot "$tmp/area" using 2:xtic(1) title "resident (changed for growth)", \
     "" using 3 title "swap area (growth: added)"

set title "Metadata on disk (pattern workload)"
set style data linespoints
set logscale x 2
set xlabel "memory (MiB)"
set ylabel "bytes"
set logscale y 10
plot "$tmp/blob" using 1:2 lw 2 title "metadata blob ckpt-GEN.meta", \
     "$tmp/index" using 1:2 lw 2 title "swap area index (swap.idx)"
unset multiplot
EOF
# Panels without data (a partial run) only warn; no PNG at all is a failure.
if [ ! -s "$png" ]; then
	cat "$tmp/gnuplot.err" >&2
	echo "plot: gnuplot drew nothing" >&2
	exit 1
fi
grep -q 'x range is invalid' "$tmp/gnuplot.err" && echo "plot: some panels have no data in $csv" >&2
echo "plot: $png" >&2
