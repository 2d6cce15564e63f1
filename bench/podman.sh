#!/usr/bin/env bash
# bench/podman.sh: `podman container restore` through ctswap's criu front end
# (tools/criu-rpc) for the pattern workload at each of BENCH_SIZES MiB, beside
# `podman start` of an idle container of the same image in the same run.
# "restore" is the whole command (podman, runc, the engine): it returns once
# every task runs, before the memory is resident (lazy); "resident" is when
# the lazy server has every page in place (ctswap lazy-status of the images dir).
# Then the final checkpoint's frozen time and pages written with and without a
# pre-checkpoint (checkpoint -P, then --with-previous) for PREDUMP_MIB (256).
#
# Prints CSV rows "bench,metric,value,unit,ratio_to,ratio" (ratio to the
# podman start of this run) and a "# table" block.  Needs podman and runc
# (scripts/setup-deps.sh); prints a comment and nothing else without them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/lib.bash
sizes=${BENCH_SIZES-256 1024 4096}
export PATH=$root/tools/criu-rpc:$PATH
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	echo "# podman: podman or runc not installed, not measured"
	exit 0
fi
work=$(mktemp -d /tmp/ctswap-podman.XXXXXX)
image=localhost/ctswap-bench-$$
pods=()
cleanup() {
	local p
	for p in "${pods[@]}"; do timeout 120 podman rm -f "$p" >/dev/null 2>&1 || true; done
	timeout 60 podman rmi -f "$image" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "$*" >&2; }
pm() { timeout 600 podman "$@"; }
run_opts=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none)

cc -static -O2 -o "$work/pattern" tests/workloads/pattern.c -lpthread
tests/tools/mkrootfs.sh "$work/rootfs" "$work/pattern"
tar -C "$work/rootfs" -c . | pm import -q - "$image" >/dev/null

# podman start of an idle container: the floor a restore is compared with.
idle=ctswap-bench-idle-$$
pods+=("$idle")
pm create "${run_opts[@]}" --name "$idle" "$image" /bin/sleep 100000 >/dev/null
t0=$(now_ms)
pm start "$idle" >/dev/null
start_ms=$(($(now_ms) - t0))
pm rm -f "$idle" >/dev/null
row podman start_idle "$start_ms" ms
table=("podman start (idle): $start_ms ms")

# Start pattern of $2 MiB in container $1 and wait until its first check passed.
start_pattern() {
	pods+=("$1")
	pm run -d "${run_opts[@]}" --name "$1" "$image" /bin/pattern --mib "$2" --threads 2 \
		--seed 1 --out /tmp >/dev/null
	for _ in $(seq 1200); do
		timeout 30 podman exec "$1" cat /tmp/status 2>/dev/null | grep -q ' ok$' && break
		sleep 0.5
	done
}

for mib in $sizes; do
	pod=ctswap-bench-$mib-$$
	start_pattern "$pod" "$mib"
	t0=$(now_ms)
	pm container checkpoint "$pod" >/dev/null
	ckpt_ms=$(($(now_ms) - t0))
	dir=$(pm inspect -f '{{.StaticDir}}' "$pod")
	t0=$(now_ms)
	# --keep: podman deletes the checkpoint dir after a restore, and with it the lazy
	# server's progress file (the server goes on from the files it holds open)
	pm container restore --keep "$pod" >/dev/null
	restore_ms=$(($(now_ms) - t0))
	# until the lazy server is done: lazy-status of the images dir shows no server left
	for _ in $(seq 6000); do
		"$root/tools/ctswap/ctswap" lazy-status "$dir/checkpoint" 2>/dev/null |
			grep -q '^ct: none$' && break
		sleep 0.05
	done
	resident_ms=$(($(now_ms) - t0))
	# the workload checks its whole memory again after the restore
	checks=$(timeout 30 podman exec "$pod" cat /tmp/status | sed -n 's/.* checks=\([0-9]*\).*/\1/p')
	for _ in $(seq 600); do
		now=$(timeout 30 podman exec "$pod" cat /tmp/status | sed -n 's/.* checks=\([0-9]*\).*/\1/p')
		[ -n "$now" ] && [ "$now" -gt $((checks + 1)) ] && break
		sleep 0.2
	done
	timeout 30 podman exec "$pod" cat /tmp/status | grep -q ' ok$' || say "podman: $mib MiB: pattern not ok after restore"
	row podman "checkpoint_${mib}MiB" "$ckpt_ms" ms start_idle "$start_ms"
	row podman "restore_${mib}MiB" "$restore_ms" ms start_idle "$start_ms"
	row podman "resident_${mib}MiB" "$resident_ms" ms start_idle "$start_ms"
	table+=("$mib MiB: checkpoint $ckpt_ms ms, restore $restore_ms ms ($(calc "$restore_ms / $start_ms")x podman start), every page resident after $resident_ms ms")
	pm rm -f "$pod" >/dev/null
done
# The final checkpoint with and without a pre-checkpoint before it (checkpoint -P,
# then --with-previous), each of a fresh container of PREDUMP_MIB: its frozen time
# and the pages it wrote, as --print-stats shows them.
stat_of() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -1; }
pre_mib=${PREDUMP_MIB-256}
for mode in plain pre; do
	[ -n "$pre_mib" ] || break
	pod=ctswap-bench-$mode-$$
	start_pattern "$pod" "$pre_mib"
	args=()
	if [ "$mode" = pre ]; then
		pm container checkpoint -P "$pod" >/dev/null
		args=(--with-previous)
	fi
	out=$(pm container checkpoint "${args[@]}" --print-stats "$pod")
	frozen_us=$(stat_of frozen_time <<<"$out")
	written=$(stat_of pages_written <<<"$out")
	frozen_ms=$(calc "$frozen_us / 1000")
	eval "frozen_$mode=\$frozen_ms written_$mode=\$written"
	pm container restore "$pod" >/dev/null
	timeout 30 podman exec "$pod" cat /tmp/status | grep -q ' ok$' || say "podman: $mode: pattern not ok after restore"
	pm rm -f "$pod" >/dev/null
done
if [ -n "$pre_mib" ]; then
	row podman "final_dump_frozen_${pre_mib}MiB" "$frozen_plain" ms
	row podman "final_dump_frozen_after_predump_${pre_mib}MiB" "$frozen_pre" ms \
		"final_dump_frozen_${pre_mib}MiB" "$frozen_plain"
	row podman "final_dump_pages_written_${pre_mib}MiB" "$written_plain" pages
	row podman "final_dump_pages_written_after_predump_${pre_mib}MiB" "$written_pre" pages \
		"final_dump_pages_written_${pre_mib}MiB" "$written_plain"
	table+=("$pre_mib MiB, final checkpoint: frozen $frozen_plain ms, $written_plain pages written; after checkpoint -P: frozen $frozen_pre ms, $written_pre pages written (--with-previous)")
fi
echo "# table podman"
for l in "${table[@]}"; do echo "#   $l"; done
