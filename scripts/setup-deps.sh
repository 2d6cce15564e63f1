#!/bin/sh
# Installs what a fresh Debian 12 machine lacks to build and test ctswap.
# Only calls apt when something is missing, so repeated runs cost nothing.
#   setup-deps.sh          build and test dependencies (with the real programs
#                          tests/bats/7*.bats run: PostgreSQL 15, nginx, redis)
#   setup-deps.sh bench    those plus what `make bench` needs (plots, redis)
set -e
PKGS="build-essential pkg-config libcgroup-dev liblzma-dev libxxhash-dev libjansson-dev
      libcmocka-dev bats bats-assert bats-support python3 clang valgrind redis-server redis-tools curl
      openssh-server openssh-client rsync man-db iproute2 jq util-linux busybox-static postgresql-15 nginx tmux
      protobuf-c-compiler libprotobuf-c-dev podman runc conmon"
BENCH_PKGS="gnuplot-nox redis-server redis-tools"
case "${1:-}" in
"") ;;
bench) PKGS="$PKGS $BENCH_PKGS" ;;
*) echo "usage: setup-deps.sh [bench]" >&2; exit 2 ;;
esac
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
