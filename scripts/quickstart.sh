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
echo "==> build/sifbuild parse examples/hello.def"
build/sifbuild parse examples/hello.def
echo "==> build/sifbuild lint examples/hello.def"
build/sifbuild lint examples/hello.def
echo "==> done: sifbuild is built as build/sifbuild (see build/sifbuild --help)"
