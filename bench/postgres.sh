#!/usr/bin/env bash
# bench/postgres.sh: PostgreSQL 15 (Debian's postgresql-15) after
# `pgbench -i -s SCALE` through the real CLI: frozen time of the dump, size
# of the checkpoint against the memory of the server's processes, and the
# time from `ctswap restore` until the first query answers (lazy and eager).
#
# Prints CSV rows "bench,metric,value,unit,ratio_to,ratio" like bench/cr.sh:
# frozen time as a ratio to seq_write_time (bytes written / the store's
# sequential write rate), sizes as ratios to the processes' PSS (shared
# memory counted once) and RSS (counted in every process that maps it),
# the restore's own "running after" time, and times to the first query and
# to the first full scan (from the start of `ctswap restore`) as ratios to
# the same query on the server before the dump (a new psql connection, the
# page cache dropped the same way): what it costs with no restore at all.  Limits come from this run's
# bench/limits rows in $BENCH_CSV (bench/run.sh sets it), else bench/limits
# is run first.
#
# Environment: BENCH_PG_SCALE (10), BENCH_PG_SHARED_BUFFERS (128MB, the
# default), BENCH_STORE (/var/tmp/ctswap-bench; the private CTSWAP_STORE is a
# directory in it), BENCH_COLD (1: drop the page cache before each restore).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CTSWAP=$root/tools/ctswap/ctswap
PGBIN=/usr/lib/postgresql/15/bin
scale=${BENCH_PG_SCALE:-10}
buffers=${BENCH_PG_SHARED_BUFFERS:-128MB}
cold=${BENCH_COLD:-1}
bench_store=${BENCH_STORE:-/var/tmp/ctswap-bench}
export CTSWAP_STORE=$bench_store/store.$$
name=bpg$$

say() { echo "$*" >&2; }

if [ ! -x "$PGBIN/postgres" ] || ! id postgres >/dev/null 2>&1; then
	echo "# postgres: skipped (postgresql-15 not installed)"
	exit 0
fi

# the server runs as postgres: its directory is one it can reach
work=$(mktemp -d /tmp/ctswap-bench-pg.XXXXXX)
chmod 755 "$work"
cleanup() {
	"$CTSWAP" rm --force "$name" >/dev/null 2>&1 || true
	rm -rf "$work" "$CTSWAP_STORE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CTSWAP_STORE"

source "$root/bench/lib.bash"

find_limits "$work"
seq_write=$(limit seq_write)

# One query through the unix socket; its single value on stdout.
sql() { "$PGBIN/psql" -h "$work/sock" -p 5432 -U postgres -qAtX -v ON_ERROR_STOP=1 -c "$1" postgres; }

# Sum of a /proc/PID/smaps_rollup or status field (kB) over the container's tasks.
mem_kib() {	# field
	local pid sum=0 v cg
	cg=$("$CTSWAP" ps "$name" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['cgroup'])")
	for pid in $(cat "$cg/cgroup.procs"); do
		v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# Milliseconds from $1 (now_ms) until a new connection runs query $2, polled
# without pause for at most 60 s; the last error on stderr if it never does.
first_answer_ms() {	# start query
	local end=$((SECONDS + 60)) err
	while ! err=$(sql "$2" 2>&1 >/dev/null); do
		[ $SECONDS -lt $end ] || { say "postgres: no answer to $2: $err"; return 1; }
	done
	echo $(($(now_ms) - $1))
}

say "postgres: initdb, start, pgbench -i -s $scale (shared_buffers $buffers)"
mkdir -p "$work/data" "$work/sock"
chown postgres:postgres "$work/data" "$work/sock"
chmod 700 "$work/data"
runuser -u postgres -- "$PGBIN/initdb" -D "$work/data" -A trust -U postgres --no-sync >/dev/null
"$CTSWAP" run "$name" -- setpriv --reuid postgres --regid postgres --init-groups \
	"$PGBIN/postgres" -D "$work/data" -k "$work/sock" -p 5432 -c listen_addresses= \
	-c shared_buffers="$buffers" -c autovacuum=off >/dev/null
for _ in $(seq 300); do "$PGBIN/pg_isready" -q -U postgres -h "$work/sock" -p 5432 && break; sleep 0.1; done
"$PGBIN/pgbench" -h "$work/sock" -p 5432 -U postgres -i -q -s "$scale" postgres >/dev/null 2>&1
total=$(sql "SELECT sum(abalance) + count(*) FROM pgbench_accounts")
pss=$(mem_kib Pss) rss=$(mem_kib Rss)
pss_mib=$(calc "$pss / 1024")
row postgres pg_scale "$scale" pgbench_scale
row postgres pg_pss "$pss_mib" MiB
row postgres pg_rss_sum "$(calc "$rss / 1024")" MiB
drop_caches
live_query=$(first_answer_ms "$(now_ms)" "SELECT 1")
drop_caches
live_scan=$(first_answer_ms "$(now_ms)" "SELECT sum(abalance) + count(*) FROM pgbench_accounts")
row postgres pg_live_query "$live_query" ms
row postgres pg_live_scan "$live_scan" ms

out=$("$CTSWAP" dump "$name")
say "  $out"
re='([0-9]+) bytes written \(blob ([0-9]+)\), frozen ([0-9.]+) ms'
[[ $out =~ $re ]] || { say "postgres: cannot parse: $out"; exit 1; }
bytes=${BASH_REMATCH[1]} frozen=${BASH_REMATCH[3]}
area=$("$CTSWAP" inspect "$name" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['data_bytes'])")
row postgres pg_frozen "$frozen" ms seq_write_time "$(calc "$bytes / 1048576 / $seq_write * 1000")"
row postgres pg_swap_area "$area" bytes pss "$((pss * 1024))"
row postgres pg_swap_area_vs_rss "$area" bytes rss_sum "$((rss * 1024))"

for mode in lazy eager; do
	opts=()
	[ "$mode" = lazy ] || opts=(--eager --gen 1)
	[ "$mode" = lazy ] || "$CTSWAP" kill "$name" >/dev/null
	drop_caches
	t0=$(now_ms)
	out=$("$CTSWAP" restore "${opts[@]}" "$name")
	say "  ${out//$'\n'/ }"
	[[ $out =~ running\ after\ ([0-9.]+)\ ms ]] || { say "postgres: cannot parse: $out"; exit 1; }
	running=${BASH_REMATCH[1]}
	query_ms=$(first_answer_ms "$t0" "SELECT 1")
	scan_ms=$(first_answer_ms "$t0" "SELECT sum(abalance) + count(*) FROM pgbench_accounts")
	row postgres "pg_${mode}_running" "$running" ms
	row postgres "pg_${mode}_first_query" "$query_ms" ms live_query "$live_query"
	row postgres "pg_${mode}_first_scan" "$scan_ms" ms live_scan "$live_scan"
	[ "$(sql "SELECT sum(abalance) + count(*) FROM pgbench_accounts")" = "$total" ] ||
		{ say "postgres: pgbench_accounts changed across the $mode restore"; exit 1; }
done
