#!/usr/bin/env bats
# tools/criu-rpc: ctswap's `criu swrk FD` front end, driven directly through a
# socketpair by tests/tools/crpc_client (as runc and go-criu drive CRIU).

setup() {
	load ../common
	common_setup
	CRIU="$TOP/${CTSWAP_BUILD:+$CTSWAP_BUILD/}tools/criu-rpc/criu"
	CLIENT="$TOP/${CTSWAP_BUILD:+$CTSWAP_BUILD/}tests/tools/crpc_client"
	IMG="$BATS_TEST_TMPDIR/images"
	mkdir -p "$IMG"
}
teardown() {
	# a tree of the test's own (runc-like): kill what is left, remove its group
	if [ -n "${GROUP:-}" ] && [ -d "$GROUP" ]; then
		local p
		echo THAWED >"$GROUP/freezer.state" 2>/dev/null
		for p in $(cat "$GROUP/cgroup.procs"); do kill -9 "$p" 2>/dev/null; done
		wait_until 10 group_empty
		rmdir "$GROUP"
	fi
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	common_teardown
}

crpc() {
	"$CLIENT" "$CRIU" "$@"
}

@test "VERSION passes runc's and podman's checks and names ctswap" {
	run crpc VERSION
	assert_success
	assert_line --index 1 "exit 0"
	[[ "${lines[0]}" =~ version=([0-9]+)\.([0-9]+)\.([0-9]+)\ gitid=([^ ]*) ]]
	# the number runc and go-criu compute: major*10000 + minor*100 + sublevel
	local v=$((BASH_REMATCH[1] * 10000 + BASH_REMATCH[2] * 100 + BASH_REMATCH[3]))
	[ "$v" -ge 31600 ]
	[[ "${BASH_REMATCH[4]}" == *ctswap* ]]
	refute_output --partial oversized
}

@test "FEATURE_CHECK answers what it was asked, truthfully" {
	run crpc FEATURE_CHECK feature=lazy_pages feature=mem_track
	assert_success
	# lazy restore works exactly when ctswap check finds userfaultfd usable
	local uffd=0
	ctswap check | grep -q '^userfaultfd (restore) *ok' && uffd=1
	# mem_track: a DUMP after a PRE_DUMP writes only the pages that changed
	assert_line --index 0 "reply FEATURE_CHECK success=1 mem_track=1/1 lazy_pages=1/$uffd"
	run crpc FEATURE_CHECK feature=lazy_pages
	assert_success
	assert_line --index 0 "reply FEATURE_CHECK success=1 mem_track=0/0 lazy_pages=1/$uffd"
	run crpc FEATURE_CHECK
	assert_failure 1
	assert_line --index 1 "errmsg FEATURE_CHECK: no features asked about"
}

@test "an unknown request type fails cleanly" {
	for t in 77 PAGE_SERVER WAIT_PID CPUINFO_DUMP NOTIFY; do
		run crpc "$t"
		assert_failure 1
		assert_line --index 0 --regexp "^reply [A-Z_]+ success=0 errno=95$"
		assert_line --index 1 --regexp "^errmsg request type [0-9]+ \([A-Za-z_]+\) is not supported by ctswap$"
		assert_line --index 2 "exit 1"
	done
	# an unknown type is answered as EMPTY (a proto2 reader refuses unknown values)
	run crpc 77
	assert_line --index 0 "reply EMPTY success=0 errno=95"
}

@test "a truncated request fails cleanly" {
	run crpc DUMP images_dir="$IMG" pid=1 leave_running=1 truncate=5
	assert_failure 1
	assert_line --index 0 "reply EMPTY success=0 errno=74"
	assert_line --index 1 "errmsg request: cannot decode 5 bytes (truncated or not a request)"
	assert_line --index 2 "exit 1"
}

@test "a bad fd number fails cleanly, naming it" {
	run crpc DUMP images_dir_fd=99 pid=1
	assert_failure 1
	assert_line --index 0 "reply DUMP success=0 errno=9"
	assert_line --index 1 --regexp "^errmsg images_dir_fd 99: cannot open /proc/[0-9]+/fd/99: No such file or directory$"
	run crpc RESTORE images_dir="$IMG" work_dir_fd=-3
	assert_failure 1
	assert_line --index 1 "errmsg work_dir_fd -3: not a file descriptor"
}

@test "an option the engine cannot honour is refused by name, the container left running" {
	local pid
	pid=$(ctswap run "$CT" -- sleep 1000)
	started "$CT"
	run crpc DUMP images_dir="$IMG" pid="$pid" ps=1
	assert_failure 1
	assert_line --index 1 "errmsg DUMP: option ps: page server: ctswap writes pages to the swap area in the images dir"
	run crpc DUMP images_dir="$IMG" pid="$pid" lazy_pages=1
	assert_line --index 1 "errmsg DUMP: option lazy_pages: a dump always writes every page; the restore is lazy by itself"
	run crpc DUMP images_dir="$IMG" pid="$pid" ext_unix_sk=1
	assert_line --index 1 --partial "errmsg DUMP: option ext_unix_sk: "
	# runc's config file: absent or only comments is fine, options in it are not read
	printf '# none\n' >"$BATS_TEST_TMPDIR/runc.conf"
	run crpc DUMP images_dir="$IMG" pid="$pid" ps=1 config_file="$BATS_TEST_TMPDIR/runc.conf"
	assert_line --index 1 --partial "errmsg DUMP: option ps: "
	printf 'tcp-established\n' >"$BATS_TEST_TMPDIR/runc.conf"
	run crpc DUMP images_dir="$IMG" pid="$pid" config_file="$BATS_TEST_TMPDIR/runc.conf"
	assert_line --index 1 "errmsg config_file $BATS_TEST_TMPDIR/runc.conf: its options are not read by ctswap"
	run ctswap ps "$CT"
	assert_output --regexp "$CT +running"
	grep -q 'State:.*[RS]' "/proc/$pid/status"
	grep -q 'TracerPid:.*0$' "/proc/$pid/status"
}

@test "usage errors and a caller that sends nothing" {
	run "$CRIU"
	assert_failure 2
	assert_output --partial "usage: criu swrk FD"
	run "$CRIU" swrk notanumber
	assert_failure 2
	assert_output "ctswap: swrk notanumber: not a file descriptor number"
	run "$CRIU" swrk 0 </dev/null
	assert_failure 1
	assert_output --partial "ctswap: swrk 0: not a socket"
	# a caller that closes its end without a request: exit non-zero, no crash
	run python3 -c '
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen([sys.argv[1], "swrk", str(b.fileno())], pass_fds=[b.fileno()])
b.close(); a.close()
print("exit", p.wait())' "$CRIU"
	assert_output "exit 1"
}

# A tree as runc starts one: pattern ($1 MiB, 2 threads) as pid 1 of its own
# pid and mount namespaces, in a v1 freezer group of its own ($GROUP) that the
# test made; its host pid in $TREE.
start_tree() {
	GROUP=/sys/fs/cgroup/freezer/crpc-$CT
	mkdir "$GROUP"
	mkdir -p "$BATS_TEST_TMPDIR/pat"
	unshare --pid --mount --fork --mount-proc sh -c "echo 0 >$GROUP/cgroup.procs; exec $WORKLOADS/pattern --mib $1 --threads 2 --seed 9 --out $BATS_TEST_TMPDIR/pat" \
		</dev/null >/dev/null 2>&1 3>&- &
	wait_until 10 grep -qs ' ok$' "$BATS_TEST_TMPDIR/pat/status"
	TREE=$(head -1 "$GROUP/cgroup.procs")
	[ -n "$TREE" ]
}

# True when no process is left in $GROUP.
group_empty() {
	[ -z "$(cat "$GROUP/cgroup.procs")" ]
}

# Wait until pattern has finished two more checks, and they passed.
pattern_checks_again() {
	local st="$BATS_TEST_TMPDIR/pat/status" n
	n=$(status_field "$st" checks)
	wait_until 10 field_above checks "$st" $((n + 1))
	grep -q ' ok$' "$st" || { cat "$st"; return 1; }
}

field_above() {
	local v
	v=$(status_field "$2" "$1")
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Every counter in the status now is >= the one in $1 (comma lists).
counters_continue() {
	local after i
	after=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	IFS=, read -ra b <<<"$1"
	IFS=, read -ra a <<<"$after"
	[ ${#a[@]} = ${#b[@]} ] || return 1
	for i in "${!b[@]}"; do
		[ "${a[$i]}" -ge "${b[$i]}" ] || { echo "counter $i: ${a[$i]} < ${b[$i]}"; return 1; }
	done
}

# The tree runs: not frozen, not traced, pattern checks pass.
tree_runs() {
	[ "$(cat "$GROUP/freezer.state")" = THAWED ]
	grep -q 'TracerPid:.*0$' "/proc/$TREE/status"
	pattern_checks_again
}

# DUMP the tree into $IMG (kill unless $1 = leave_running=1), checking the notifications.
crpc_dump() {
	run crpc DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup="$GROUP" log_file=dump.log \
		log_level=4 notify_scripts=1 manage_cgroups=1 empty_ns=0x40000000 "$@"
	assert_success
	local want=(pre-dump network-lock query-ext-files post-dump)
	[ "${1:-}" = leave_running=1 ] && want+=(network-unlock)
	local i
	for i in "${!want[@]}"; do
		assert_line --index "$i" "notify ${want[$i]} 0"
	done
	assert_line --index ${#want[@]} "reply DUMP success=1 restored=0"
	assert_line --index $((${#want[@]} + 1)) "exit 0"
}

# RESTORE from $IMG into $GROUP (as runc places the engine); the new init's host pid in $TREE.
# With pts_hold=PATH: the tree's terminal comes back, its new master passed on to PATH.
crpc_restore() {
	local at=3
	run crpc RESTORE images_dir="$IMG" log_file=restore.log log_level=4 notify_scripts=1 \
		enter_cgroup="$GROUP" "$@"
	assert_success
	assert_line --index 0 "notify pre-restore 0"
	[[ "${lines[1]}" =~ ^notify\ setup-namespaces\ ([0-9]+)$ ]]
	TREE=${BASH_REMATCH[1]}
	assert_line --index 2 "notify post-setup-namespaces 0"
	if [[ " $* " == *" pts_hold="* ]]; then
		# the master of a new /dev/pts/0, before post-restore
		assert_line --index 3 "fd attached: pty master 0"
		assert_line --index 4 "fd passed on"
		assert_line --index 5 "notify orphan-pts-master 0"
		at=6
	fi
	assert_line --index $at "notify post-restore $TREE"
	assert_line --index $((at + 1)) "notify network-unlock 0"
	assert_line --index $((at + 2)) "notify pre-resume 0"
	# (what a run_at pre-resume command printed comes here)
	local n=$((${#lines[@]} - 3))
	assert_line --index $n "notify post-resume 0"
	assert_line --index $((n + 1)) "reply RESTORE success=1 pid=$TREE"
	assert_line --index $((n + 2)) "exit 0"
}

@test "DUMP and RESTORE a runc-like tree: it goes on exactly, same pids inside, in the runtime's cgroup" {
	start_tree 32
	echo '{"runc":"descriptors"}' >"$IMG/descriptors.json"
	crpc_dump
	# killed: the group is empty, the images dir holds ctswap's store and what podman wants
	wait_until 10 group_empty
	local before
	before=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	[ -s "$IMG/inventory.img" ]
	[ -s "$IMG/ctswap/ct/ckpt-1.meta" ]
	[ -s "$IMG/dump.log" ]
	[ "$(od -An -tx4 -N8 "$IMG/stats-dump" | tr -s ' ')" = " 55105940 57093306" ]
	local len
	len=$(od -An -tu4 -j8 -N4 "$IMG/stats-dump" | tr -d ' ')
	[ "$(stat -c %s "$IMG/stats-dump")" = $((12 + len)) ]
	crpc_restore
	# the init and only it is in the group: the supervisor and the lazy server left it
	[ "$(cat "$GROUP/cgroup.procs")" = "$TREE" ]
	grep -q 'lazy server [0-9]* serves' "$IMG/restore.log"
	[ -s "$IMG/stats-restore" ]
	assert_equal "$(cat "$IMG/descriptors.json")" '{"runc":"descriptors"}'
	pattern_checks_again
	grep -q '^pid=1 tids=1,2,3 ' "$BATS_TEST_TMPDIR/pat/status"
	counters_continue "$before"
	run ctswap --store "$IMG/ctswap" ps ct
	assert_output --regexp "ct +running +$TREE "
	# the restored tree checkpoints and restores again
	crpc_dump
	before=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	crpc_restore
	pattern_checks_again
	counters_continue "$before"
}

@test "DUMP leave_running twice, then RESTORE the newest: incremental, the tree runs on in between" {
	start_tree 32
	crpc_dump leave_running=1
	tree_runs
	crpc_dump leave_running=1
	tree_runs
	# the second generation wrote only what changed (pattern rewrites no page)
	run ctswap --store "$IMG/ctswap" inspect ct
	assert_success
	[[ "$output" =~ kept:\ 1\ \(([0-9]+)\ pages\)\ 2\ \(([0-9]+)\ pages\) ]]
	local pages=${BASH_REMATCH[2]}
	[[ "$output" =~ slots:\ ([0-9]+)\ \( ]]
	[ "${BASH_REMATCH[1]}" -le "$pages" ]
	kill -9 "$TREE"
	wait_until 10 group_empty
	# rst_sibling: no ctswap supervisor, the caller's parent becomes the init's parent
	crpc_restore rst_sibling=1
	pattern_checks_again
	local ppid
	ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$TREE/status")
	[ "$(cat "/proc/$ppid/comm")" != ctswap-sup ]
	run ctswap --store "$IMG/ctswap" ps ct
	assert_output --regexp "ct +running +$TREE "
}

# What the caller sees at pre-resume (run by crpc_client before it answers):
# the state of every thread of the tree, its counters, then the lazy server
# is stopped (its tasks will wait on their first fault) and lazy-status shown.
write_at_resume() {
	cat >"$BATS_TEST_TMPDIR/at-resume.sh" <<EOF
for p in \$(cat "$GROUP/cgroup.procs"); do
	for t in /proc/\$p/task/*/stat; do echo "thread \$(sed 's/.*) //' "\$t" | cut -d' ' -f1)"; done
done
echo "counters \$(sed -n 's/.* counters=\([0-9,]*\).*/\1/p' "$BATS_TEST_TMPDIR/pat/status")"
srv=\$(sed -n 's/.*lazy server \([0-9]*\) serves.*/\1/p' "$IMG/restore.log" | tail -1)
kill -STOP "\$srv" && echo "server \$srv stopped"
# (a stop signal is taken by its target a moment after kill returns)
until grep -q '^State:.*T' "/proc/\$srv/status"; do sleep 0.01; done
"$CTSWAP" lazy-status "$IMG"
EOF
}

# lazy-status of $IMG shows no server any more.
lazy_none() {
	[ "$(ctswap lazy-status "$IMG")" = "ct: none" ]
}

@test "RESTORE: the tree stays stopped until pre-resume is answered; lazy-status shows its lazy server" {
	start_tree 64
	crpc_dump
	wait_until 10 group_empty
	local before
	before=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	write_at_resume
	crpc_restore run_at="pre-resume:sh $BATS_TEST_TMPDIR/at-resume.sh"
	# output: 6 notifications, then what the script saw at pre-resume
	local at=("${lines[@]:6}")
	# 3 threads, each stopped by the restorer (t), none ran: the counters are the dump's
	[ "$(printf '%s\n' "${at[@]}" | grep -c '^thread t$')" = 3 ]
	[ "$(printf '%s\n' "${at[@]}" | grep -c '^thread ')" = 3 ]
	printf '%s\n' "${at[@]}" | grep -qx "counters $before"
	[[ "${at[4]}" =~ ^server\ ([0-9]+)\ stopped$ ]]
	local srv=${BASH_REMATCH[1]}
	# the server holds every page (its prefetch waits for the resume): 16384 and more left
	[[ "${at[5]}" =~ ^ct:\ $srv\ stopped\ 0/([0-9]+)\ pages\ resident,\ ([0-9]+)\ left$ ]] ||
		{ printf '%s\n' "${at[@]}"; return 1; }
	[ "${BASH_REMATCH[1]}" -ge 16384 ]
	assert_line --index 12 "notify post-resume 0"
	# running now, but waiting on the stopped server: lazy-status says so
	run ctswap lazy-status "$IMG"
	assert_success
	assert_output --regexp "^ct: $srv stopped [0-9]+/[0-9]+ pages resident, [0-9]+ left$"
	[[ "$output" =~ ,\ ([0-9]+)\ left$ ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	kill -CONT "$srv"
	wait_until 30 lazy_none
	pattern_checks_again
	counters_continue "$before"
	# a server killed with pages left: "gone", and its watchdog killed the tree
	crpc_dump
	wait_until 10 group_empty
	# (the restore's supervisor records the exit in the state file: let it finish)
	local sup
	sup=$(sed -n 's/^supervisor_pid=//p' "$IMG/ctswap/ct/state")
	[ -z "$sup" ] || wait_until 10 bash -c "! kill -0 $sup 2>/dev/null"
	crpc_restore run_at="pre-resume:sh $BATS_TEST_TMPDIR/at-resume.sh"
	[[ "${lines[10]}" =~ ^server\ ([0-9]+)\ stopped$ ]]
	srv=${BASH_REMATCH[1]}
	kill -9 "$srv"
	wait_until 10 group_empty
	run ctswap lazy-status "$IMG"
	assert_output --regexp "^ct: $srv gone 0/[0-9]+ pages resident, [0-9]+ left$"
	# bad input: one line, non-zero exit
	run ctswap lazy-status "$BATS_TEST_TMPDIR/none"
	assert_failure 1
	assert_output "ctswap: $BATS_TEST_TMPDIR/none: No such file or directory"
	run ctswap lazy-status "$BATS_TEST_TMPDIR"
	assert_output "ctswap: $BATS_TEST_TMPDIR: holds no ctswap checkpoint images"
	run ctswap lazy-status
	assert_failure 2
}

# The pages generation $1 of the dump log $2 wrote, of how many.
gen_written() {
	sed -n "s/.*generation $1: \([0-9]*\) pages, \([0-9]*\) written.*/\2 \1/p" "$2"
}

@test "PRE_DUMP leaves the tree running; a DUMP naming it parent_img writes only what changed, and restores" {
	start_tree 32
	local pre="$BATS_TEST_TMPDIR/pre" pre2="$BATS_TEST_TMPDIR/pre2"
	mkdir -p "$pre" "$pre2"
	run crpc PRE_DUMP images_dir="$pre" pid="$TREE" freeze_cgroup="$GROUP" log_file=dump.log \
		log_level=4 notify_scripts=1
	assert_success
	# no notifications for a pre-dump, as CRIU: the tree was never meant to stop
	assert_line --index 0 "reply PRE_DUMP success=1"
	assert_line --index 1 "exit 0"
	tree_runs
	# a pre-copy generation: pages in the swap area, no checkpoint to restore
	[ -e "$pre/ctswap/ct/pre-1" ]
	[ ! -e "$pre/ctswap/ct/ckpt-1.meta" ]
	[ -s "$pre/inventory.img" ]
	# pre-dumps chain: parent_img is relative to the images dir; the swap area moves on
	run crpc PRE_DUMP images_dir="$pre2" pid="$TREE" freeze_cgroup="$GROUP" parent_img=../pre \
		track_mem=1 log_file=dump.log log_level=4
	assert_success
	[ ! -e "$pre/ctswap/ct" ]
	[ -e "$pre2/ctswap/ct/pre-2" ]
	tree_runs
	crpc_dump parent_img=../pre2 track_mem=1
	wait_until 10 group_empty
	local before
	before=$(status_field "$BATS_TEST_TMPDIR/pat/status" counters)
	# pattern rewrites none of its 32 MiB: the checkpoint wrote a few pages, not 8192
	local w
	read -ra w <<<"$(gen_written 3 "$IMG/dump.log")"
	[ "${w[1]}" -ge 8192 ]
	[ "${w[0]}" -lt 200 ] || { echo "written ${w[0]} of ${w[1]}"; return 1; }
	[ -s "$IMG/ctswap/ct/ckpt-3.meta" ]
	# the checkpoint dir is whole by itself: its parent may go
	rm -rf "$pre" "$pre2"
	crpc_restore
	pattern_checks_again
	grep -q '^pid=1 tids=1,2,3 ' "$BATS_TEST_TMPDIR/pat/status"
	counters_continue "$before"
}

@test "a parent_img that is missing or holds no pre-dump is refused, the tree left running" {
	start_tree 8
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	run crpc DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup="$GROUP" parent_img=../none
	assert_failure 1
	assert_line --index 1 "errmsg DUMP: parent_img ../none: cannot open: No such file or directory"
	run crpc PRE_DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup="$GROUP" parent_img=../empty
	assert_failure 1
	assert_line --index 1 "errmsg PRE_DUMP: parent_img ../empty holds no ctswap pre-dump"
	tree_runs
}

@test "a caller that fails post-dump gets the tree back running, thawed and untraced" {
	start_tree 8
	run crpc DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup="$GROUP" fail_notify=post-dump
	assert_failure 1
	assert_line --index 3 "notify post-dump 0"
	assert_line --index 4 "reply DUMP success=0 errno=125"
	assert_line --index 5 "errmsg notification post-dump: the caller failed it"
	tree_runs
}

@test "an engine refusal leaves the tree running, thawed and untraced" {
	start_tree 8
	run crpc RESTORE images_dir="$IMG"
	assert_line --regexp "^errmsg RESTORE: .*/images holds no ctswap checkpoint$"
	run crpc DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup="$GROUP" leave_running=1 tcp_established=1
	assert_failure 1
	assert_line --regexp "^errmsg DUMP: .*--tcp-established cannot be used with --leave-running"
	run crpc DUMP images_dir="$IMG" pid="$TREE" external=mnt[/etc/hosts]:x
	assert_line "errmsg DUMP: external mnt[/etc/hosts]:x: only net[INODE]:KEY is supported"
	run crpc DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup=/sys/fs/cgroup/freezer/no-such-group
	assert_line "errmsg DUMP: ct: cgroup /sys/fs/cgroup/freezer/no-such-group: no such group"
	run crpc RESTORE images_dir="$IMG" enter_cgroup="$GROUP"
	assert_line "errmsg RESTORE: ct: no checkpoint to restore"
	tree_runs
}

# A tree with a terminal as runc gives one (podman -t): ttycount as pid 1 of
# its own pid and mount namespaces with a devpts instance of its own, on a
# pty whose master pts_holder.py (the test's conmon) holds; in $GROUP, host
# pid in $TREE, the master's output in $BATS_TEST_TMPDIR/pts.out.
start_tty_tree() {
	GROUP=/sys/fs/cgroup/freezer/crpc-$CT
	mkdir "$GROUP"
	mkdir -p "$BATS_TEST_TMPDIR/tty"
	HOLD="$BATS_TEST_TMPDIR/pts.sock"
	"$TOP/tests/tools/pts_holder.py" "$HOLD" "$BATS_TEST_TMPDIR/pts.out" </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	wait_until 10 test -S "$HOLD"
	unshare --pid --mount --fork --mount-proc sh -c "echo 0 >$GROUP/cgroup.procs &&
		mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts &&
		mount --bind /dev/pts/ptmx /dev/ptmx &&
		exec $TOP/tests/tools/pts_start.py $HOLD $WORKLOADS/ttycount $BATS_TEST_TMPDIR/tty" \
		</dev/null >/dev/null 2>&1 3>&- &
	wait_until 10 grep -qs ' ok$' "$BATS_TEST_TMPDIR/tty/status"
	TREE=$(head -1 "$GROUP/cgroup.procs")
	[ -n "$TREE" ]
}

# ttycount read line-$1 from the holder, answered it, and its terminal is as it was.
tty_tree_read() {
	wait_until 10 grep -qs "got:line-$1" "$BATS_TEST_TMPDIR/pts.out"
	wait_until 10 tty_tree_status "$1"
}

tty_tree_status() {
	local st="$BATS_TEST_TMPDIR/tty/status"
	[ "$(status_field "$st" lines)" = "$1" ] && [ "$(status_field "$st" last)" = "line-$1" ] &&
		status_line "$st" | grep -q ' ok$'
}

@test "orphan_pts_master: a terminal whose master is outside comes back, its new master handed over with orphan-pts-master" {
	start_tty_tree
	tty_tree_read 1
	# without orphan_pts_master the engine refuses the terminal, naming it; the tree runs on
	run crpc DUMP images_dir="$IMG" pid="$TREE" freeze_cgroup="$GROUP" leave_running=1
	assert_failure 1
	assert_line "errmsg DUMP: pid $TREE: fd 0: /dev/pts/0: its master is not held by a process of the container"
	[ "$(cat "$GROUP/freezer.state")" = THAWED ]
	grep -q 'TracerPid:.*0$' "/proc/$TREE/status"
	crpc_dump orphan_pts_master=1
	wait_until 10 group_empty
	local ticks
	ticks=$(status_field "$BATS_TEST_TMPDIR/tty/status" ticks)
	# a restore that does not take the new master is refused before anything starts
	run crpc RESTORE images_dir="$IMG" enter_cgroup="$GROUP"
	assert_failure 1
	assert_line "errmsg RESTORE: ct: its tasks had /dev/pts/0 with the master outside the container (a runtime's terminal): only a restore that takes the new master can give it back (the criu front end's orphan-pts-master)"
	group_empty
	crpc_restore rst_sibling=1 orphan_pts_master=1 pts_hold="$HOLD"
	# the holder typed line-2 into the new master: read on the restored terminal, answered
	tty_tree_read 2
	[ "$(status_field "$BATS_TEST_TMPDIR/tty/status" ticks)" -gt "$ticks" ]
	[ "$(readlink "/proc/$TREE/fd/0")" = /dev/pts/0 ]
	# and once more, from the restored tree
	crpc_dump orphan_pts_master=1
	wait_until 10 group_empty
	crpc_restore rst_sibling=1 orphan_pts_master=1 pts_hold="$HOLD"
	tty_tree_read 3
}
