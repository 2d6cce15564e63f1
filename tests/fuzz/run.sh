#!/usr/bin/env bash
# Builds each tests/fuzz/fuzz_*.c with libFuzzer, ASan and UBSan against the
# engine sources and runs it for $FUZZ_SECONDS (default 60) on its corpus
# tests/fuzz/corpus/NAME/ (NAME = the file name without fuzz_).  Exits
# non-zero if a target fails to build or finds a crash.  A target may name
# the engine sources it needs on a line "// fuzz-sources: GLOBS" (a much
# faster build, for the suite's smoke run); otherwise all of kernel/ is used.
# FUZZ_TARGETS="blob state" limits the run to those targets.  FUZZ_SEED=N
# makes the mutations repeatable (0, the default, picks a random seed).
set -eo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mapfile -t engine < <(find kernel -name '*.c' | sort)
status=0
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	if [ -n "$FUZZ_TARGETS" ] && [[ " $FUZZ_TARGETS " != *" ${name#fuzz_} "* ]]; then
		continue
	fi
	srcs=("${engine[@]}")
	globs=$(sed -n 's|^// fuzz-sources: *||p' "$src" | head -1)
	# shellcheck disable=SC2206 # the globs are meant to expand
	[ -z "$globs" ] || srcs=($globs)
	corpus="tests/fuzz/corpus/${name#fuzz_}"
	bin="tests/fuzz/$name"
	echo "fuzz: building $name"
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Iinclude -Ikernel \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o "$bin" "$src" "${srcs[@]}" -lcgroup -llzma -lxxhash -ljansson -lpthread
	mkdir -p "$corpus" "$out/$name"
	echo "fuzz: running $name for ${secs}s"
	# new inputs go to a scratch corpus: the seeds under git stay small
	if ! "$bin" -max_total_time="$secs" -max_len=262144 -timeout=10 -seed="${FUZZ_SEED:-0}" \
		-artifact_prefix="$out/$name-" "$out/$name" "$corpus" >"$out/$name.log" 2>&1; then
		tail -50 "$out/$name.log"
		cp "$out/$name"-* tests/fuzz/ 2>/dev/null || true
		echo "fuzz: $name FAILED (artifacts copied to tests/fuzz/)"
		status=1
	else
		grep -E '^(#[0-9]+.*DONE|Done )' "$out/$name.log" | tail -1 || true
		echo "fuzz: $name ok"
	fi
done
exit $status
