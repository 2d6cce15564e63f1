#!/usr/bin/env bash
# bench/restart.sh: restart time (issue 17's table), each figure beside the
# floor measured in the same run by bench/spawnlimit (clone3 of the same
# number of processes into a new pid namespace + mmap of the same mappings).
#
#   one process (pattern, 5 threads) at each of BENCH_SIZES MiB: lazy restore
#       cold (page cache dropped) and warm: time to the first instruction
#       ("running after", every task released) and until every page is
#       resident, reported separately
#   python3 with a dict (pydict.py, BENCH_PY_KEYS keys): time until useful (its
#       next step written), time to running and synchronous faults, at the
#       first lazy restore of the checkpoint (records the working set), the
#       next (read ahead while the tasks are rebuilt, copied first) and one with
#       --fill-working-set (copied before the resume), page cache dropped
#       before each
#   redis-server with BENCH_REDIS_KEYS keys (on a unix socket of its own): time
#       until it answers GET of a random key and until redis-benchmark (GET,
#       random keys) is back at its pre-dump throughput, time to running,
#       synchronous faults; the same three rounds
#   BENCH_PROCS processes (a shell and sleeps): restore until running (warm);
#       the dump's frozen time beside its freeze + seize phase (from the
#       dump's own -v log, the same run), what the frozen time is made of,
#       and the same for a --leave-running dump of the restored container;
#       and the floor under that frozen time (bench/dumpfloor: freeze + seize,
#       then smaps, registers and one injected call of each process on both
#       CPUs, nothing else), measured on the same container before its dump
#
# Prints CSV rows "bench,metric,value,unit,ratio_to,ratio" and a "# table"
# block.  Environment: BENCH_SIZES ("256 1024 4096"; 8192 works too, bench
# only), BENCH_PROCS ("1 10 100"), BENCH_STORE (/var/tmp/ctswap-bench);
# BENCH_PY_KEYS=0 / BENCH_REDIS_KEYS=0 leave out the python / redis rows.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CTSWAP=$root/tools/ctswap/ctswap
LIMIT=$root/bench/spawnlimit
FLOOR=$root/bench/dumpfloor
sizes=${BENCH_SIZES-256 1024 4096}
procs=${BENCH_PROCS-1 10 100}
py_keys=${BENCH_PY_KEYS:-1000000}
redis_keys=${BENCH_REDIS_KEYS:-500000}
bench_store=${BENCH_STORE:-/var/tmp/ctswap-bench}
export CTSWAP_STORE=$bench_store/restart.$$
work=$(mktemp -d /tmp/ctswap-restart.XXXXXX)
names=()
table=()

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
for tool in "$LIMIT" "$FLOOR"; do
	[ -x "$tool" ] || { echo "restart: $tool not built (make bench)" >&2; exit 1; }
done

say() { echo "$*" >&2; }
calc() { awk "BEGIN { printf \"%.2f\", $* }"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
row() {	# metric value unit [ratio_to base]
	awk -v m="$1" -v v="$2" -v u="$3" -v t="${4:-}" -v base="${5:-0}" 'BEGIN {
		printf "restart,%s,%s,%s,%s,", m, v, u, t
		if (base > 0) printf "%.3f\n", v / base; else printf "\n" }'
}

wait_for() {	# what seconds cmd...
	local what=$1 step=${POLL_MS:-50} t=$(($2 * 1000 / ${POLL_MS:-50}))
	shift 2
	step=$(printf '0.%03d' "$step")
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ "$t" -gt 0 ] || { say "restart: timed out waiting for $what"; return 1; }
		sleep "$step"
	done
}

# wait_for, every 5 ms: for times until useful, which a 50 ms step would round up by 25 ms on average.
wait_close() { POLL_MS=5 wait_for "$@"; }

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# Restore "running after" time in ctswap restore's output $1.
running_of() { sed -n 's/.*running after \([0-9.]*\) ms.*/\1/p' <<<"$1"; }

# The restore options of round $1 of the python and redis rows.
round_opts() { [ "$1" != fill_working_set ] || echo --fill-working-set; }

# ctswap restore NAME (lazy); R_RUNNING: reported time to running; R_FULL: ms until every page is resident.
restore_lazy() {
	local out t0 re='running after ([0-9.]+) ms'
	t0=$(now_ms)
	out=$("$CTSWAP" restore "$1")
	[[ $out =~ $re ]] || { say "restart: cannot parse: $out"; return 1; }
	R_RUNNING=${BASH_REMATCH[1]}
	wait_for "the lazy server of $1" 900 test ! -e "$CTSWAP_STORE/$1/lazy.state"
	R_FULL=$(($(now_ms) - t0))
}

# Container $1 has $2 processes and each has exec'd sleep: counted by
# tasks alone, the shell or its last child could still be about to exec,
# and bench/dumpfloor's injection text, found in a first seize, would be
# gone from that process in its second (EFAULT, 1 run in 3).
all_sleep() {
	local procs pid
	procs=$("$CTSWAP" ps "$1" | awk 'NR == 2 { print $6 }')/cgroup.procs
	[ "$(wc -l <"$procs")" = "$2" ] || return 1
	while read -r pid; do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] || return 1
	done <"$procs"
}

bench_size() {
	local mib=$1 name=rs$$-$1 out=$work/p$1 lim
	mkdir -p "$out"
	say "restart: one process, $mib MiB"
	names+=("$name")
	"$CTSWAP" run "$name" -- "$root/tests/workloads/pattern" --mib "$mib" --threads 4 --seed 7 \
		--out "$out" >/dev/null
	wait_for "pattern $mib MiB to fill" 1200 grep -q ' ok$' "$out/status"
	"$CTSWAP" dump "$name" >/dev/null
	lim=$("$LIMIT" 1 20 "$mib")
	row "limit_1proc_${mib}" "$lim" ms
	drop_caches
	restore_lazy "$name"
	row "cold_${mib}_running" "$R_RUNNING" ms limit "$lim"
	row "cold_${mib}_all_resident" "$R_FULL" ms
	table+=("| 1 process, $mib MiB, cold | $R_RUNNING ms | $R_FULL ms | $lim ms |")
	"$CTSWAP" kill "$name" >/dev/null
	restore_lazy "$name"	# warm: the previous restore read everything
	row "warm_${mib}_running" "$R_RUNNING" ms limit "$lim"
	row "warm_${mib}_all_resident" "$R_FULL" ms
	table+=("| 1 process, $mib MiB, warm | $R_RUNNING ms | $R_FULL ms | $lim ms |")
	"$CTSWAP" rm --force "$name" >/dev/null
}

# Seconds stamp of the first -v log line of $1 matching $2.
stamp() { sed -n "s/^(\([0-9.]*\)) .*$2.*/\1/p" "$1" | head -n 1; }

# Milliseconds between the first lines of -v log $1 matching $2 and $3.
span() { calc "($(stamp "$1" "$3") - $(stamp "$1" "$2")) * 1000"; }

# Dump -v log $1: D_FROZEN, D_FS (freeze + seize) and D_PARTS, what the frozen time is made of.
dump_parts() {
	local rt seq end=wrote
	D_FROZEN=$(sed -n 's/.*frozen \([0-9.]*\) ms, total.*/\1/p' "$1" | tail -n 1)
	D_FS=$(span "$1" "freezing and seizing" "threads seized")
	rt=$(sed -n 's/.*state collected (.*, \([0-9]*\) round trips.*/\1/p' "$1")
	seq=$(sed -n 's/.*state collected (.* round trips, \([0-9]*\) of them in sequence.*/\1/p' "$1")
	grep -q "running again after" "$1" && end="running again after"
	D_PARTS="freeze + seize $D_FS ms, tree $(span "$1" "threads seized" "pid 1 (host") ms"
	D_PARTS+=", processes $(span "$1" "pid 1 (host" "state collected") ms ($rt round trips, ${seq:-all} in sequence)"
	if [ "$end" = wrote ]; then
		D_PARTS+=", pages + commit $(span "$1" "state collected" "generation [0-9]*:") ms"
		D_PARTS+=", blob $(span "$1" "generation [0-9]*:" "$end") ms"
		D_PARTS+="; then killed in $(sed -n 's/.*killed in \([0-9.]*\) ms.*/\1/p' "$1") ms"
	else
		D_PARTS+=", copy while stopped + thaw $(span "$1" "state collected" "$end") ms"
	fi
}

bench_procs() {
	local n=$1 name=rp$$-$1 log=$work/dump$1.log lim frozen fs ffs floor
	say "restart: $n processes"
	names+=("$name")
	"$CTSWAP" run "$name" -- sh -c \
		"i=1; while [ \$i -lt $n ]; do sleep 100000 & i=\$((i + 1)); done; exec sleep 100000" >/dev/null
	wait_for "$n processes" 120 all_sleep "$name" "$n"
	# the least a dump of these processes reads while they are stopped (bench/dumpfloor.c)
	read -r ffs floor < <("$FLOOR" "$name")
	row "dump_${n}procs_floor" "$floor" ms freeze_seize "$ffs"
	"$CTSWAP" -v dump "$name" >"$log" 2>&1
	dump_parts "$log"
	frozen=$D_FROZEN fs=$D_FS
	row "dump_${n}procs_frozen" "$frozen" ms freeze_seize "$fs"
	row "dump_${n}procs_freeze_seize" "$fs" ms
	lim=$("$LIMIT" "$n" 20 1)
	row "limit_${n}procs" "$lim" ms
	restore_lazy "$name"
	row "restore_${n}procs_running" "$R_RUNNING" ms limit "$lim"
	row "restore_${n}procs_all_resident" "$R_FULL" ms
	table+=("| $n processes (small), warm | $R_RUNNING ms | $R_FULL ms | $lim ms |")
	table+=("| dump of $n processes: frozen | $frozen ms | | freeze + seize $fs ms |")
	table+=("| - floor: smaps, registers, one injected call each, on both CPUs | $ffs + $floor ms = $(calc "$ffs + $floor") ms | | 2 x freeze + seize = $(calc "2 * $ffs") ms (its own run) |")
	table+=("| - made of | $D_PARTS | | |")
	"$CTSWAP" -v dump --leave-running "$name" >"$log.lr" 2>&1
	dump_parts "$log.lr"
	row "dump_${n}procs_leave_running_frozen" "$D_FROZEN" ms freeze_seize "$D_FS"
	table+=("| dump --leave-running of $n processes: frozen | $D_FROZEN ms | | freeze + seize $D_FS ms |")
	table+=("| - made of | $D_PARTS | | |")
	"$CTSWAP" rm --force "$name" >/dev/null
}

# Lines of file $1, more than $2?
more_lines() { [ "$(wc -l <"$1")" -gt "$2" ]; }

# The lazy log of container $1 after its first $2 lines.
log_after() { tail -n +"$(($2 + 1))" "$CTSWAP_STORE/$1/lazy.log" 2>/dev/null; }

# Lines of the lazy log of container $1.
log_lines() {
	if [ -e "$CTSWAP_STORE/$1/lazy.log" ]; then wc -l <"$CTSWAP_STORE/$1/lazy.log"; else echo 0; fi
}

# The lazy server of $1 logged "done:" after line $2.
server_done() { log_after "$1" "$2" | grep -q "done:"; }

# Once the lazy server of $1 is done (logged after line $2): S_FAULTS, its
# synchronous faults, and S_RESIDENT, ms from its start (the tasks' release)
# until every page was resident.
server_result() {
	local done
	wait_for "the lazy server of $1" 900 server_done "$1" "$2"
	done=$(log_after "$1" "$2" | grep "done:")
	S_FAULTS=$(sed -n 's/.*; \([0-9]*\) synchronous faults.*/\1/p' <<<"$done")
	S_RESIDENT=$(sed -n 's/.* pages made resident in \([0-9.]*\) ms.*/\1/p' <<<"$done")
}

bench_python() {
	local name=rpy$$ out=$work/py.out n t0 useful round from
	say "restart: python3 with a dict of $py_keys keys"
	names+=("$name")
	"$CTSWAP" run "$name" -- python3 "$root/tests/workloads/pydict.py" "$out" "$py_keys" 0.05 >/dev/null
	wait_for "python3 to build its dict" 600 test -s "$out"
	sleep 0.5
	"$CTSWAP" dump "$name" >/dev/null
	for round in first_restore with_working_set fill_working_set; do
		drop_caches
		n=$(wc -l <"$out")
		from=$(log_lines "$name")
		t0=$(now_ms)
		# its output file grows after the dump: that is expected here
		running=$(running_of "$("$CTSWAP" restore $(round_opts $round) --allow-changed-files "$name")")
		wait_close "python3 to write a step" 120 more_lines "$out" "$n"
		useful=$(($(now_ms) - t0))
		server_result "$name" "$from"
		row "python_${round}_running" "$running" ms
		row "python_${round}_useful" "$useful" ms
		row "python_${round}_sync_faults" "$S_FAULTS" faults
		row "python_${round}_all_resident" "$S_RESIDENT" ms
		table+=("| python3 dict of $py_keys keys, cold, $round: running / until its next step | $running ms / $useful ms | $S_RESIDENT ms after release; $S_FAULTS synchronous faults | |")
		"$CTSWAP" kill "$name" >/dev/null
	done
	"$CTSWAP" rm --force "$name" >/dev/null
}

# GET throughput of redis on socket $1 (requests per second), a short run of random keys.
redis_rps() {
	redis-benchmark -s "$1" -t get -n 20000 -r "$redis_keys" -q --csv 2>/dev/null |
		awk -F, '/GET/ { gsub(/"/, "", $2); printf "%d\n", $2 }'
}

# The name redis-benchmark -r gives key $1.
redis_key() { printf 'key:%012d' "$1"; }

# A GET of a random key answered with its value?
redis_answers() {
	local k=$(((RANDOM * 32768 + RANDOM) % redis_keys))
	[ "$(redis-cli -s "$1" get "$(redis_key "$k")")" = "val:$k" ]
}

bench_redis() {
	local name=rrd$$ d=$work/redis n t0 first back before from round rps
	command -v redis-server >/dev/null || { say "restart: no redis-server, skipped"; return 0; }
	say "restart: redis-server with $redis_keys keys"
	names+=("$name")
	mkdir -p "$d"
	"$CTSWAP" run "$name" -- redis-server --port 0 --unixsocket "$d/sock" --unixsocketperm 700 \
		--save "" --appendonly no --dir "$d" --daemonize no >/dev/null
	wait_for "redis to start" 30 redis-cli -s "$d/sock" ping
	# the keys redis-benchmark -r asks for: key:%012d
	seq 0 $((redis_keys - 1)) | awk '{ printf "SET key:%012d val:%d\n", $1, $1 }' |
		redis-cli -s "$d/sock" --pipe >/dev/null
	redis_rps "$d/sock" >/dev/null	# warm up
	before=$(redis_rps "$d/sock")
	row "redis_before_dump_get_rps" "$before" req/s
	"$CTSWAP" dump "$name" >/dev/null
	for round in first_restore with_working_set fill_working_set; do
		drop_caches
		from=$(log_lines "$name")
		t0=$(now_ms)
		running=$(running_of "$("$CTSWAP" restore $(round_opts $round) "$name")")
		wait_close "redis to answer" 120 redis_answers "$d/sock"
		first=$(($(now_ms) - t0))
		back=
		for n in $(seq 1 100); do
			rps=$(redis_rps "$d/sock")
			if [ -n "$rps" ] && [ "$rps" -ge "$before" ]; then
				back=$(($(now_ms) - t0))
				break
			fi
		done
		server_result "$name" "$from"
		row "redis_${round}_running" "$running" ms
		row "redis_${round}_get_answered" "$first" ms
		row "redis_${round}_throughput_back" "${back:-0}" ms
		row "redis_${round}_sync_faults" "$S_FAULTS" faults
		row "redis_${round}_all_resident" "$S_RESIDENT" ms
		table+=("| redis $redis_keys keys, cold, $round: running / GET answered / benchmark at pre-dump $before req/s | $running ms / $first ms / ${back:-not within 100 runs} ms | $S_RESIDENT ms after release; $S_FAULTS synchronous faults | |")
		"$CTSWAP" kill "$name" >/dev/null
	done
	"$CTSWAP" rm --force "$name" >/dev/null
}

for mib in $sizes; do
	bench_size "$mib"
done
for n in $procs; do
	bench_procs "$n"
done
[ "$py_keys" = 0 ] || bench_python
[ "$redis_keys" = 0 ] || bench_redis
echo "# table: | workload | restore until running (first instruction) | until every page is resident | limit (clone3 + mmap, same run) |"
for line in "${table[@]}"; do
	echo "# table: $line"
done
