#!/usr/bin/env bats
# Untrusted images: crafted and corrupted checkpoint blobs are refused by
# the decoder (inspect) and by restore, which then leaves nothing behind;
# every parser gets a short libFuzzer run ($FAULTS_FUZZ_SECONDS each,
# default 3; `make fuzz` runs them longer).

setup() {
	load ../common
	load faults
	common_setup
	CRAFT="$TOP/tests/tools/craftblob"
}
teardown() { common_teardown; }

# A checkpointed shell loop in $CT (file mappings, fds on /dev/null and a file).
checkpointed_shell() {
	started "$CT"
	"$CTSWAP" run "$CT" -- sh -c "while :; do sleep 0.1; done" >/dev/null
	sleep 0.3
	"$CTSWAP" dump "$CT" >/dev/null
	cp "$CTSWAP_STORE/$CT/ckpt-1.meta" "$BATS_TEST_TMPDIR/good.meta"
}

@test "crafted blobs: decoder and restore refuse each, nothing is mapped, opened or left running" {
	local m n=0 blob="$CTSWAP_STORE/$CT/ckpt-1.meta"
	checkpointed_shell
	for m in $("$CRAFT" --list); do
		rc=0
		"$CRAFT" "$BATS_TEST_TMPDIR/good.meta" "$blob" "$m" || rc=$?
		[ $rc = 3 ] && continue	# the image has nothing this mutation changes
		[ $rc = 0 ]
		if [ "$m" != vma-path-other-file ]; then
			# the decoder's validation names the blob and the fault
			run "$CTSWAP" inspect "$CT" --verify
			assert_failure 1
			assert_output --partial "ckpt-1.meta"
		fi
		run timeout 30 "$CTSWAP" restore "$CT"
		assert_failure 1
		assert_output --regexp "^ctswap: "
		ct_empty "$CT"
		assert_lock_clear "$CT"
		tally bad-input 2
		n=$((n + 1))
	done
	echo "# $n crafted blobs refused by inspect and restore" >&3
	[ $n -ge 12 ]
	# the real one still restores
	cp "$BATS_TEST_TMPDIR/good.meta" "$blob"
	run "$CTSWAP" restore "$CT"
	assert_success
	[ -n "$(ct_pids "$CT")" ]
}

@test "a blob mapping another file than the one dumped is refused (file identity)" {
	checkpointed_shell
	"$CRAFT" "$BATS_TEST_TMPDIR/good.meta" "$CTSWAP_STORE/$CT/ckpt-1.meta" vma-path-other-file
	run "$CTSWAP" restore "$CT"
	assert_failure 1
	assert_output --partial "/etc/passwd"
	ct_empty "$CT"
	tally bad-input
}

@test "corrupted blobs (random byte flips, truncations): clear errors, no crash" {
	local i size off blob
	checkpointed_shell
	blob="$CTSWAP_STORE/$CT/ckpt-1.meta"
	size=$(stat -c %s "$BATS_TEST_TMPDIR/good.meta")
	RANDOM=${FAULTS_SEED:-8}
	for ((i = 0; i < 40; i++)); do
		cp "$BATS_TEST_TMPDIR/good.meta" "$blob"
		off=$((RANDOM % size))
		if [ $((i % 4)) = 3 ]; then
			truncate -s "$off" "$blob"
		else
			printf "\\x$(printf %02x $((RANDOM % 256)))" |
				dd of="$blob" bs=1 seek="$off" conv=notrunc 2>/dev/null
			cmp -s "$blob" "$BATS_TEST_TMPDIR/good.meta" && continue
		fi
		run "$CTSWAP" inspect "$CT" --verify
		assert_failure 1
		assert_output --regexp "^ctswap: .*ckpt-1.meta"
		tally bad-input
	done
	cp "$BATS_TEST_TMPDIR/good.meta" "$blob"
	run "$CTSWAP" inspect "$CT" --verify
	assert_success
}

@test "fuzz smoke: every parser (blob, swap area, state file) under libFuzzer for a few seconds" {
	command -v clang >/dev/null || skip "clang not installed"
	# a fixed seed: the smoke run repeats the same inputs, so it fails on a
	# change that breaks a parser, not at random; `make fuzz` explores
	run env FUZZ_SECONDS="${FAULTS_FUZZ_SECONDS:-3}" FUZZ_SEED="${FAULTS_FUZZ_SEED:-1}" \
		"$TOP/tests/fuzz/run.sh"
	echo "$output" | grep -E '^(fuzz|Done)'
	assert_success
	for t in blob state swaparea; do
		assert_output --partial "fuzz: fuzz_$t ok"
		tally fuzz
	done
}
