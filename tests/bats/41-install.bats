#!/usr/bin/env bats
# make install: the installed tree, pkg-config, versioned symbols, man pages, completion.

setup() { load ../common; common_setup; }
teardown() { common_teardown; }

@test "make install DESTDIR puts everything in place" {
	d="$BATS_TEST_TMPDIR/root"
	run make -C "$TOP" install DESTDIR="$d" PREFIX=/usr
	assert_success
	for f in bin/ctswap bin/ctswap-periodic bin/ctswap-migrate bin/ctswap-gc; do
		[ -x "$d/usr/$f" ]
	done
	for f in include/ctswap.h lib/libctswap.a lib/libctswap.so.1 lib/pkgconfig/ctswap.pc \
		share/man/man8/ctswap.8 share/man/man3/ctswap.3 share/man/man5/ctswap-swap.5 \
		share/man/man5/ctswap-meta.5 share/bash-completion/completions/ctswap; do
		[ -f "$d/usr/$f" ]
	done
	[ "$(readlink "$d/usr/lib/libctswap.so")" = libctswap.so.1 ]
	run "$d/usr/bin/ctswap" version
	assert_output --partial "abi 1"
	# the criu front end, out of PATH: no criu in bin or sbin unless CRIU_LINK asks
	[ -x "$d/usr/lib/ctswap/criu-compat/criu" ]
	[ ! -e "$d/usr/bin/criu" ] && [ ! -e "$d/usr/sbin/criu" ] && [ ! -e "$d/usr/local/sbin/criu" ]
	run make -C "$TOP" install DESTDIR="$d" PREFIX=/usr CRIU_LINK=/usr/local/sbin/criu
	assert_success
	[ "$(readlink "$d/usr/local/sbin/criu")" = /usr/lib/ctswap/criu-compat/criu ]
}

@test "libctswap.so.1 exports only the API, versioned CTSWAP_1; pkg-config builds the example" {
	d="$BATS_TEST_TMPDIR/root"
	make -C "$TOP" install DESTDIR="$d" PREFIX=/usr >/dev/null
	lib="$d/usr/lib/libctswap.so.1"
	run readelf -d "$lib"
	assert_output --partial "Library soname: [libctswap.so.1]"
	# Every defined dynamic symbol is ctswap_* or ckpt_* at CTSWAP_1 (plus the version node).
	run bash -c "objdump -T '$lib' | grep -v -F '*UND*' | awk '/ D[FO] / { print \$(NF-1), \$NF }'"
	assert_success
	[ "${#lines[@]}" -ge 30 ]
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^CTSWAP_1\ (ctswap_|ckpt_|CTSWAP_1$) ]] || { echo "exported: $l"; false; }
	done
	run bash -c "objdump -T '$lib' | grep -w -e swp_open -e blob_read -e cg_create"
	assert_failure
	export PKG_CONFIG_PATH="$d/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$d"
	run pkg-config --cflags --libs ctswap
	assert_success
	assert_output --partial "-lctswap"
	# A sanitized library (make asan) needs its runtime first in the program too.
	san=
	readelf -d "$lib" | grep -q libasan && san="-fsanitize=address,undefined"
	cc $san -o "$BATS_TEST_TMPDIR/selfckpt" "$TOP/examples/selfckpt.c" $(pkg-config --cflags --libs ctswap) \
		-Wl,-rpath,"$d/usr/lib"
	run "$BATS_TEST_TMPDIR/selfckpt"
	assert_failure 2
	assert_output --partial "usage: selfckpt"
}

@test "every man page renders without warnings" {
	d="$BATS_TEST_TMPDIR/root"
	make -C "$TOP" install DESTDIR="$d" PREFIX=/usr >/dev/null
	n=0
	for p in "$d"/usr/share/man/man*/*; do
		run bash -c "MANWIDTH=80 man --warnings -l '$p' 2>&1 >/dev/null"
		assert_success
		assert_output ""
		n=$((n + 1))
	done
	[ "$n" = 4 ]
	# ctswap(8) names every subcommand of the CLI.
	for c in $("$CTSWAP" help | awk '/^commands:/ { on = 1; next } on && !NF { exit } on { print $1 }'); do
		grep -q "^\.B.* $c\b\|^\.BR* \"$c \|^\.BI \"$c \|^\.B $c$" "$d/usr/share/man/man8/ctswap.8" ||
			{ echo "ctswap.8 lacks $c"; false; }
	done
	MANWIDTH=80 man -l "$d/usr/share/man/man3/ctswap.3" | grep -q ckpt_create
}

@test "bash completion completes subcommands and container names" {
	d="$BATS_TEST_TMPDIR/root"
	make -C "$TOP" install DESTDIR="$d" PREFIX=/usr >/dev/null
	mkdir -p "$CTSWAP_STORE/web1" "$CTSWAP_STORE/web2" "$CTSWAP_STORE/db" "$CTSWAP_STORE/.hidden"
	comp="$d/usr/share/bash-completion/completions/ctswap"
	run bash -c "source '$comp'; COMP_WORDS=(ctswap res); COMP_CWORD=1; _ctswap; echo \"\${COMPREPLY[*]}\""
	assert_output "restore"
	run bash -c "source '$comp'; COMP_WORDS=(ctswap dump we); COMP_CWORD=2; _ctswap; echo \"\${COMPREPLY[*]}\""
	assert_output "web1 web2"
	run bash -c "source '$comp'; COMP_WORDS=(ctswap -v rm ''); COMP_CWORD=3; _ctswap; echo \"\${COMPREPLY[*]}\""
	assert_output "db web1 web2"
	run bash -c "source '$comp'; unset CTSWAP_STORE; COMP_WORDS=(ctswap --store '$CTSWAP_STORE' ps d); COMP_CWORD=4; _ctswap; echo \"\${COMPREPLY[*]}\""
	assert_output "db"
	run bash -c "source '$comp'; COMP_WORDS=(ctswap dump web1 --le); COMP_CWORD=3; _ctswap; echo \"\${COMPREPLY[*]}\""
	assert_output "--leave-running"
	run bash -c "source '$comp'; COMP_WORDS=(ctswap-periodic w); COMP_CWORD=1; _ctswap_script; echo \"\${COMPREPLY[*]}\""
	assert_output "web1 web2"
}
