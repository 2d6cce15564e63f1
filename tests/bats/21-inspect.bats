#!/usr/bin/env bats
# ctswap inspect on swap areas written by the engine (tests/tools/mkarea.c).

bats_require_minimum_version 1.5.0

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

# Write a swap area through the engine API (tests/tools/mkarea.c, built by make).
mkarea() {
	mkdir -p "$CTSWAP_STORE/$CT"
	"$TOP/tests/tools/mkarea" "$CTSWAP_STORE/$CT/swap" "$@"
}

@test "inspect shows generations and per-mapping counts" {
	mkarea 3 --compress
	run -0 ctswap inspect "$CT"
	assert_output --partial "generation 3, kept: 2 (72 pages) 3 (72 pages)"
	assert_output --partial "0x7f0000000000"
	run -0 ctswap inspect "$CT" --verify
	assert_output --partial "verified: 144 pages, every checksum good"
}

@test "inspect --json is valid JSON with the same counts" {
	mkarea 1
	run -0 ctswap inspect --json "$CT"
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["generation"] == 1, d
assert d["generations"][0]["pages"] == 72, d
rows = d["mappings"]
assert sum(r["pages"] for r in rows) == 72, rows
assert all(r["pages"] == r["zero"] + r["stored"] for r in rows), rows
'
}

@test "inspect --verify names the damaged area and fails" {
	mkarea 2
	# flip one byte in the middle of the data file: a page no longer matches its hash
	python3 - "$CTSWAP_STORE/$CT/swap" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[4096 + 100] ^= 0xff
open(p, 'wb').write(b)
PY
	run -0 ctswap inspect "$CT"
	run -1 ctswap inspect "$CT" --verify
	assert_output --partial "ctswap: $CTSWAP_STORE/$CT/swap: slot 0: data does not match its hash"
}

@test "inspect refuses a damaged index, a missing area and bad names" {
	mkarea 1
	printf 'X' | dd of="$CTSWAP_STORE/$CT/swap.idx" bs=1 seek=300 conv=notrunc status=none
	run -1 ctswap inspect "$CT"
	assert_output "ctswap: $CTSWAP_STORE/$CT/swap: index: checksum mismatch"
	run -1 ctswap inspect nosuch
	assert_output --partial "ctswap: $CTSWAP_STORE/nosuch/swap: no swap area"
	run -1 ctswap inspect ../x
	run -2 ctswap inspect
	run -2 ctswap inspect "$CT" --bogus
}
