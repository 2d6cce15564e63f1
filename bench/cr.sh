#!/usr/bin/env bash
# bench/cr.sh: checkpoint/restore of real workloads through the real CLI,
# each figure next to the machine's limit measured in the same run.
#
#   pattern (C, BENCH_SIZES MiB each): dump (frozen, total, write rate),
#       restore lazy (time to running, time until every page is resident),
#       restore eager of the same checkpoint, metadata blob size
#   memmix: swap-area bytes vs resident bytes for random, zero-heavy and
#       duplicate-heavy memory; growth of the area after changing 1% of pages
#   python3 with a large dict (pydict.py); redis-server loaded by
#       redis-benchmark (skipped, saying so, if its dump is refused)
#
# Prints CSV rows "bench,metric,value,unit,ratio_to,ratio" and "# goal ..."
# lines.  Time ratios are to the time the limit needs for the same bytes:
# seq_write_time = bytes written / seq_write, memcpy_time = resident /
# memcpy, fresh_write_time = resident / fresh_write.  Limits come from this
# run's bench/limits rows in $BENCH_CSV (bench/run.sh sets it), else
# bench/limits is run first.
#
# Environment: BENCH_SIZES ("256 1024 4096 8192"), BENCH_MIX_MIB (512),
# BENCH_PY_KEYS (3000000), BENCH_REDIS_KEYS (1000000), BENCH_STORE
# (/var/tmp/ctswap-bench; the private CTSWAP_STORE is a directory in it),
# BENCH_COLD (1: drop the page cache before each restore).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CTSWAP=$root/tools/ctswap/ctswap
sizes=${BENCH_SIZES:-256 1024 4096 8192}
mix_mib=${BENCH_MIX_MIB:-512}
py_keys=${BENCH_PY_KEYS:-3000000}
redis_keys=${BENCH_REDIS_KEYS:-1000000}
cold=${BENCH_COLD:-1}
bench_store=${BENCH_STORE:-/var/tmp/ctswap-bench}
export CTSWAP_STORE=$bench_store/store.$$
work=$(mktemp -d /tmp/ctswap-bench.XXXXXX)
names=()

cleanup() {
	local n
	for n in "${names[@]}"; do
		"$CTSWAP" rm --force "$n" >/dev/null 2>&1 || true
	done
	rm -rf "$work" "$CTSWAP_STORE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$CTSWAP_STORE"

say() { echo "$*" >&2; }

source "$root/bench/lib.bash"

# "goal met" / "goal missed": test is an awk condition.
goal() {	# condition text
	if awk "BEGIN { exit !($1) }"; then echo "# goal met: $2"; else echo "# goal missed: $2"; fi
}

# Wait up to $2 seconds for the command $3... to succeed.
wait_for() {	# what seconds cmd...
	local what=$1 t=$(($2 * 10))
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ "$t" -gt 0 ] || { say "cr: timed out waiting for $what"; return 1; }
		sleep 0.1
	done
}

# Start a container NAME running CMD...; registers it for cleanup.
start() {
	local name=$1
	shift
	names+=("$name")
	"$CTSWAP" run "$name" -- "$@" >/dev/null
}

# Parse a dump summary line into D_* variables.
parse_dump() {
	local re='([0-9]+) pages \(([0-9]+) written, ([0-9]+) zero, ([0-9]+) shared\), ([0-9]+) bytes written \(blob ([0-9]+)\), frozen ([0-9.]+) ms, total ([0-9.]+) ms'
	[[ $1 =~ $re ]] || { say "cr: cannot parse: $1"; return 1; }
	D_PAGES=${BASH_REMATCH[1]} D_WRITTEN=${BASH_REMATCH[2]} D_ZERO=${BASH_REMATCH[3]}
	D_SHARED=${BASH_REMATCH[4]} D_BYTES=${BASH_REMATCH[5]} D_BLOB=${BASH_REMATCH[6]}
	D_FROZEN=${BASH_REMATCH[7]} D_TOTAL=${BASH_REMATCH[8]}
}

# ctswap dump NAME [opts]; fills D_*.
dump() {
	local out
	out=$("$CTSWAP" dump "$@") || return 1
	say "  $out"
	parse_dump "$out"
}

# ctswap restore NAME [opts]; fills R_RUNNING (reported), R_WALL (command), R_START.
restore() {
	local out re='running after ([0-9.]+) ms'
	drop_caches
	R_START=$(now_ms)
	out=$("$CTSWAP" restore "$@") || return 1
	R_WALL=$(($(now_ms) - R_START))
	say "  ${out//$'\n'/ }"
	[[ $out =~ $re ]] || { say "cr: cannot parse: $out"; return 1; }
	R_RUNNING=${BASH_REMATCH[1]}
}

# Wait until the lazy server of NAME is done; sets R_FULL (ms since R_START).
wait_resident() {
	wait_for "lazy server of $1" 900 test ! -e "$CTSWAP_STORE/$1/lazy.state"
	R_FULL=$(($(now_ms) - R_START))
}

# A field of `ctswap inspect NAME --json`.
inspect() { "$CTSWAP" inspect "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# key=value from a status file.
status_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1"; }

# The pattern workload's status says ok with more checks than $2.
pattern_ok_after() { grep -q ' ok$' "$1" && [ "$(status_field "$1" checks)" -gt "$2" ]; }

find_limits "$work"
memcpy=$(limit memcpy) seq_write=$(limit seq_write) fresh=$(limit fresh_write)
seq_read=$(limit seq_read)
[ -n "$seq_read" ] || seq_read=$(limit seq_read_cached)
echo "# cr: limits memcpy $memcpy, seq_write $seq_write, seq_read $seq_read, fresh_write $fresh MiB/s; cold restores: $cold"

# The C pattern workload at one size: dump, lazy restore, eager restore.
bench_pattern() {
	local mib=$1 name=bp$$-$1 out=$work/p$1 checks res_mib wrote_mib
	mkdir -p "$out"
	say "cr: pattern $mib MiB"
	start "$name" "$root/tests/workloads/pattern" --mib "$mib" --threads 2 --seed 7 --out "$out"
	wait_for "pattern $mib MiB to fill" 1200 grep -q ' ok$' "$out/status"
	dump "$name"
	res_mib=$(calc "$D_PAGES * 4096 / 1048576")
	wrote_mib=$(calc "$D_BYTES / 1048576")
	row cr pattern_${mib}_resident "$res_mib" MiB
	row cr pattern_${mib}_frozen "$D_FROZEN" ms seq_write_time "$(calc "$wrote_mib / $seq_write * 1000")"
	row cr pattern_${mib}_dump_total "$D_TOTAL" ms memcpy_time "$(calc "$res_mib / $memcpy * 1000")"
	row cr pattern_${mib}_dump_write_rate "$(calc "$wrote_mib / $D_TOTAL * 1000")" MiB/s seq_write "$seq_write"
	row cr pattern_${mib}_blob "$D_BLOB" bytes resident "$((D_PAGES * 4096))"
	row cr pattern_${mib}_swap_area "$(inspect "$name" data_bytes)" bytes resident "$((D_PAGES * 4096))"
	row cr pattern_${mib}_swap_index "$(inspect "$name" meta_bytes)" bytes resident "$((D_PAGES * 4096))"
	goal "$wrote_mib / $D_TOTAL * 1000 >= 0.7 * $seq_write" \
		"pattern $mib MiB: dump writes pages at $(calc "100 * $wrote_mib / $D_TOTAL * 1000 / $seq_write")% of the store's sequential write bandwidth (goal >= 70%)"

	checks=$(status_field "$out/status" checks)
	restore "$name"
	row cr pattern_${mib}_restore_lazy "$R_RUNNING" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	row cr pattern_${mib}_restore_lazy_wall "$R_WALL" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	wait_resident "$name"
	row cr pattern_${mib}_lazy_all_resident "$R_FULL" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	row cr pattern_${mib}_lazy_fill_rate "$(calc "$res_mib / $R_FULL * 1000")" MiB/s fresh_write "$fresh"
	wait_for "pattern $mib MiB to check itself after the lazy restore" 600 pattern_ok_after "$out/status" "$checks"
	echo "lazy_$mib=$R_RUNNING" >> "$work/lazy"

	"$CTSWAP" kill "$name" >/dev/null
	restore "$name" --eager --gen 1
	row cr pattern_${mib}_restore_eager "$R_RUNNING" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	row cr pattern_${mib}_restore_eager_rate "$(calc "$res_mib / $R_RUNNING * 1000")" MiB/s fresh_write "$fresh"
	wait_for "pattern $mib MiB to check itself after the eager restore" 600 pattern_ok_after "$out/status" "$checks"
	"$CTSWAP" rm --force "$name" >/dev/null
	rm -rf "$out"
}

# memmix at one mix: swap-area bytes against resident bytes.
bench_mix() {
	local kind=$1 zero=$2 dup=$3 name=bm$$-$1 out=$work/m$1 area res
	mkdir -p "$out"
	say "cr: memmix $kind ($mix_mib MiB, $zero% zero, $dup% duplicate)"
	start "$name" "$root/tests/workloads/memmix" --mib "$mix_mib" --zero-pct "$zero" --dup-pct "$dup" --out "$out"
	wait_for "memmix to fill" 600 grep -q ' ok$' "$out/status"
	dump "$name"
	area=$(inspect "$name" data_bytes)
	res=$((D_PAGES * 4096))
	row cr mix_${kind}_resident "$res" bytes
	row cr mix_${kind}_swap_area "$area" bytes resident "$res"
	row cr mix_${kind}_frozen "$D_FROZEN" ms memcpy_time "$(calc "$res / 1048576 / $memcpy * 1000")"
	if [ "$kind" = zero50 ]; then
		goal "$area <= 0.55 * $res" \
			"swap area with 50% zero pages is $(calc "100 * $area / $res")% of resident memory (goal <= 55%)"
	fi
	"$CTSWAP" rm --force "$name" >/dev/null
	rm -rf "$out"
}

# memmix random: checkpoint, change 1% of the pages, checkpoint again, restore and check.
bench_growth() {
	local name=bg$$ out=$work/g area1 area2 changed growth pages
	mkdir -p "$out"
	say "cr: growth of the swap area after changing 1% of $mix_mib MiB"
	start "$name" "$root/tests/workloads/memmix" --mib "$mix_mib" --change-pct 1 --out "$out"
	wait_for "memmix to fill" 600 grep -q ' ok$' "$out/status"
	dump "$name" --leave-running
	area1=$(inspect "$name" data_bytes)
	kill -USR1 "$(pid_of "$name")"
	wait_for "memmix to change 1%" 60 grep -q ' round=1 ' "$out/status"
	changed=$(status_field "$out/status" changed)
	pages=$(status_field "$out/status" pages)
	dump "$name"
	area2=$(inspect "$name" data_bytes)
	growth=$(calc "($area2 - $area1) / $area1")
	row cr growth_changed_pages "$changed" pages resident_pages "$pages"
	row cr growth_second_dump_written "$D_BYTES" bytes first_area "$area1"
	row cr growth_swap_area "$((area2 - area1))" bytes first_area "$area1"
	row cr growth_second_frozen "$D_FROZEN" ms
	goal "$growth <= 1.5 * $changed / $pages" \
		"a second checkpoint after changing $(calc "100 * $changed / $pages")% of the pages grew the swap area by $(calc "100 * $growth")% (goal: about the same)"
	restore "$name"
	wait_resident "$name"
	kill -USR2 "$(pid_of "$name")"
	wait_for "memmix to check itself" 120 grep -q ' checks=1 ok$' "$out/status" ||
		{ say "cr: memmix after restore: $(cat "$out/status")"; return 1; }
	"$CTSWAP" rm --force "$name" >/dev/null
	rm -rf "$out"
}

# File $1 has more lines than $2.
more_lines() { [ "$(wc -l < "$1")" -gt "$2" ]; }

# The host pid of a container's init (ctswap ps NAME: 3rd column).
pid_of() { "$CTSWAP" ps "$1" | awk 'NR == 2 { print $3 }'; }

# python3 with a large dict: dump, lazy restore, then its own check.
bench_python() {
	local name=bpy$$ out=$work/py.out n res_mib
	say "cr: python3 with a dict of $py_keys keys"
	start "$name" python3 "$root/tests/workloads/pydict.py" "$out" "$py_keys" 0.05
	wait_for "python3 to build its dict" 600 test -s "$out"
	sleep 0.5
	dump "$name"
	res_mib=$(calc "$D_PAGES * 4096 / 1048576")
	row cr python_resident "$res_mib" MiB
	row cr python_frozen "$D_FROZEN" ms seq_write_time "$(calc "$D_BYTES / 1048576 / $seq_write * 1000")"
	row cr python_dump_total "$D_TOTAL" ms memcpy_time "$(calc "$res_mib / $memcpy * 1000")"
	row cr python_swap_area "$(inspect "$name" data_bytes)" bytes resident "$((D_PAGES * 4096))"
	row cr python_blob "$D_BLOB" bytes resident "$((D_PAGES * 4096))"
	n=$(wc -l < "$out")
	restore "$name"
	row cr python_restore_lazy "$R_RUNNING" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	wait_for "python3 to log a step after the restore" 60 more_lines "$out" "$n"
	R_STEP=$(($(now_ms) - R_START))
	row cr python_next_step "$R_STEP" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	wait_resident "$name"
	row cr python_lazy_all_resident "$R_FULL" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	"$CTSWAP" kill "$name" >/dev/null
	python3 "$root/tests/workloads/pydict_check.py" "$out" "$py_keys" >&2 ||
		{ say "cr: python3's output does not verify"; return 1; }
	"$CTSWAP" rm --force "$name" >/dev/null
}

# redis-server loaded by redis-benchmark: dump, lazy restore, same keys after.
bench_redis() {
	local name=brd$$ port=$((20000 + $$ % 10000)) keys res_mib t0 err
	if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
		echo "# redis: skipped (redis-server or redis-benchmark not installed)"
		return 0
	fi
	say "cr: redis-server with redis-benchmark data"
	start "$name" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no
	wait_for "redis-server" 30 redis-cli -p "$port" ping
	redis-benchmark -p "$port" -q -t set -n "$redis_keys" -r "$redis_keys" -d 256 -P 32 >/dev/null
	keys=$(redis-cli -p "$port" dbsize)
	if ! err=$("$CTSWAP" dump "$name" 2>&1); then
		echo "# redis: skipped (sockets not supported yet): $err"
		"$CTSWAP" rm --force "$name" >/dev/null
		return 0
	fi
	say "  $err"
	parse_dump "$err"
	res_mib=$(calc "$D_PAGES * 4096 / 1048576")
	row cr redis_keys "$keys" keys
	row cr redis_resident "$res_mib" MiB
	row cr redis_frozen "$D_FROZEN" ms seq_write_time "$(calc "$D_BYTES / 1048576 / $seq_write * 1000")"
	row cr redis_swap_area "$(inspect "$name" data_bytes)" bytes resident "$((D_PAGES * 4096))"
	restore "$name"
	row cr redis_restore_lazy "$R_RUNNING" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	wait_for "redis to answer" 60 redis-cli -p "$port" ping
	row cr redis_answering "$(($(now_ms) - R_START))" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	[ "$(redis-cli -p "$port" dbsize)" = "$keys" ] || { say "cr: redis lost keys"; return 1; }
	wait_resident "$name"
	row cr redis_lazy_all_resident "$R_FULL" ms fresh_write_time "$(calc "$res_mib / $fresh * 1000")"
	"$CTSWAP" rm --force "$name" >/dev/null
}

for mib in $sizes; do
	bench_pattern "$mib"
done
# Flatness: 4 GiB against 256 MiB when both ran, else the largest against the smallest.
lazy_at() { sed -n "s/^lazy_$1=//p" "$work/lazy"; }
small=256 big=4096
[ -n "$(lazy_at $big)" ] || big=$(printf '%s\n' $sizes | sort -n | tail -n 1)
[ -n "$(lazy_at $small)" ] && [ "$small" != "$big" ] || small=$(printf '%s\n' $sizes | sort -n | head -n 1)
l1=$(lazy_at "$small") l2=$(lazy_at "$big")
if [ "$small" != "$big" ]; then
	goal "$l2 <= 1.5 * $l1" \
		"lazy restore flat in memory size: $big MiB running after $l2 ms, $small MiB after $l1 ms ($(calc "$l2 / $l1")x; goal <= 1.5x from 256 MiB to 4 GiB)"
fi
goal "$l2 < 50" "lazy restore of $big MiB running after $l2 ms (goal < 50 ms at 4 GiB)"

bench_mix random 0 0
bench_mix zero50 50 0
bench_mix dup50 0 50
bench_growth
bench_python
bench_redis
