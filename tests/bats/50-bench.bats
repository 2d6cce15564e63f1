# The benchmark's own pieces: the memmix workload through dump and restore
# (swap-area size by mix, growth after a changed round), the plot script.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# pid=... key=value from memmix's status file.
mm_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1"; }

# The host pid of a container's init.
init_pid() { ctswap ps "$1" | awk 'NR == 2 { print $3 }'; }

@test "memmix: half zero pages take half the swap area; a changed round is checkpointed and restored" {
	local out=$BATS_TEST_TMPDIR/mm area1 area2 changed pages pid
	mkdir -p "$out"
	started "$CT"
	run ctswap run "$CT" -- "$WORKLOADS/memmix" --mib 32 --zero-pct 50 --change-pct 1 --out "$out"
	assert_success
	wait_until 30 grep -q ' ok$' "$out/status"
	run cat "$out/status"
	assert_output --partial "pages=8192 zero=4096 dup=0 random=4096 round=0"
	run ctswap dump "$CT" --leave-running
	assert_success
	area1=$(ctswap inspect "$CT" --json | jq .data_bytes)
	# 4096 random pages of 4 KiB are stored; the zero half is not
	[ "$area1" -ge $((4096 * 4096)) ]
	[ "$area1" -le $((4096 * 4096 * 105 / 100)) ]

	pid=$(init_pid "$CT")
	kill -USR1 "$pid"
	wait_until 10 grep -q ' round=1 ' "$out/status"
	changed=$(mm_field "$out/status" changed)
	[ "$changed" -eq 82 ]
	run ctswap dump "$CT"
	assert_success
	area2=$(ctswap inspect "$CT" --json | jq .data_bytes)
	# the second generation adds the changed pages, not a second copy
	[ "$area2" -ge $((area1 + changed * 4096 / 2)) ]
	[ "$area2" -le $((area1 + changed * 4096 * 2)) ]

	run ctswap restore "$CT"
	assert_success
	pid=$(init_pid "$CT")
	kill -USR2 "$pid"
	wait_until 20 grep -q ' checks=1 ' "$out/status"
	run cat "$out/status"
	assert_output --regexp ' round=1 changed=82 checks=1 ok$'
}

@test "memmix: a corrupted page is reported BAD" {
	local out=$BATS_TEST_TMPDIR/mm pid
	mkdir -p "$out"
	"$WORKLOADS/memmix" --mib 4 --dup-pct 30 --out "$out" &
	pid=$!
	wait_until 10 grep -q ' ok$' "$out/status"
	# write one byte into page 512 of its 4 MiB: the mapping ends where memmix's memory ends
	local start end addr=
	while read -r range perms _ _ _ path; do
		[ "$perms" = rw-p ] && [ -z "$path" ] || continue
		start=$((0x${range%-*})) end=$((0x${range#*-}))
		[ $((end - start)) -ge $((4 * 1048576)) ] && { addr=$((end - 2 * 1048576)); break; }
	done < "/proc/$pid/maps"
	[ -n "$addr" ]
	printf 'X' | dd of="/proc/$pid/mem" bs=1 seek="$addr" conv=notrunc status=none
	kill -USR2 "$pid"
	wait_until 10 grep -q ' checks=1 ' "$out/status"
	run cat "$out/status"
	kill "$pid"
	assert_output --partial "BAD page 512"
}

@test "bench/plot.sh draws a PNG from a results file" {
	command -v gnuplot >/dev/null || skip "gnuplot not installed (scripts/setup-deps.sh bench)"
	local csv=$BATS_TEST_TMPDIR/r.csv
	cat > "$csv" <<-EOF
	bench,metric,value,unit,ratio_to,ratio
	# run test
	limits,memcpy,5000,MiB/s,,
	limits,seq_write,400,MiB/s,,
	cr,pattern_64_frozen,200,ms,seq_write_time,1.25
	cr,pattern_256_frozen,700,ms,seq_write_time,1.1
	cr,pattern_64_restore_lazy,90,ms,fresh_write_time,0.2
	cr,pattern_256_restore_lazy,95,ms,fresh_write_time,0.05
	EOF
	run "$TOP/bench/plot.sh" "$csv" "$BATS_TEST_TMPDIR/r.png"
	assert_success
	run file "$BATS_TEST_TMPDIR/r.png"
	assert_output --partial "PNG image data"
}
