#!/bin/sh
# Build a container root filesystem for the tests: Debian's busybox-static
# (every applet as a symlink in /bin) plus the programs given, copied into
# /bin with the shared libraries they load (at the same paths).  No
# download.  Usage: mkrootfs.sh DIR [PROGRAM...]
set -e
dir=$1
shift
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: $bb missing (install busybox-static)" >&2; exit 1; }
mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc" "$dir/www"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
	[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
for prog in "$@"; do
	cp "$prog" "$dir/bin/"
	for lib in $(ldd "$prog" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$dir$(dirname "$lib")"
		[ -e "$dir$lib" ] || cp -L "$lib" "$dir$lib"
	done
done
echo "root:x:0:0:root:/:/bin/sh" >"$dir/etc/passwd"
echo "root:x:0:" >"$dir/etc/group"
