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
# The main job: a small root filesystem (Debian's static busybox, no network)
# packed into a SIF image as this user, then looked at with 'sifbuild sif'.
root=build/hello-rootfs
rm -rf "$root" && mkdir -p "$root/bin" "$root/.singularity.d"
cp /bin/busybox "$root/bin/busybox"
for applet in sh echo ls cat; do ln -sf busybox "$root/bin/$applet"; done
printf '#!/bin/sh\necho "Hello from a sifbuild image"\n' >"$root/.singularity.d/runscript"
chmod 755 "$root/.singularity.d/runscript"
echo "==> build/sifbuild build --force build/hello.sif $root/"
build/sifbuild build --force build/hello.sif "$root/"
echo "==> build/sifbuild sif list build/hello.sif"
build/sifbuild sif list build/hello.sif
echo "==> done: build/hello.sif; sifbuild is build/sifbuild (see build/sifbuild --help)"
