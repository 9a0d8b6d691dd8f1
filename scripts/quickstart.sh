#!/bin/sh
# scripts/quickstart.sh: quick-start command 1. Installs what is missing (as
# root; otherwise prints the apt-get line and stops), builds sifbuild, and runs
# the main job on an example definition file.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. "$top/scripts/deps.sh"
sb_ensure_packages
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build
[ -f build/Makefile ] || (cd build && ../configure -q)
make -s -j2 -C build
echo "==> build/sifbuild lint examples/hello.def"
build/sifbuild lint examples/hello.def
# The main job, with no network: the examples' base image made from Debian's
# static busybox, then examples/hello.def built on it as this user (its %post
# and %test run in a user namespace mapped to root) and run.
echo "==> build/sifbuild build --force build/busybox-base.sif examples/busybox-base.def"
build/sifbuild build --force build/busybox-base.sif examples/busybox-base.def
echo "==> build/sifbuild build --force build/hello.sif examples/hello.def"
build/sifbuild build --force build/hello.sif examples/hello.def
echo "==> build/sifbuild run build/hello.sif"
build/sifbuild run build/hello.sif
echo "==> build/sifbuild inspect build/hello.sif"
build/sifbuild inspect build/hello.sif
echo "==> done: build/hello.sif; sifbuild is build/sifbuild (see build/sifbuild --help)"
