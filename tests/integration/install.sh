#!/bin/sh
# An installed copy is relocatable: it finds its data files relative to its
# own location, wherever the install tree is moved.
. "$(dirname "$0")/lib.sh"

if ! make -s -C "$B" install DESTDIR="$T/d" >"$T/install.log" 2>&1; then
	fail "make install DESTDIR (see $T/install.log)"; cat "$T/install.log"; finish; exit 1
fi
prefix=$(sed -n 's/^prefix = //p' "$B/Makefile")
mv "$T/d$prefix" "$T/moved"
run "$T/moved/bin/sifbuild" version --verbose
expect_rc 0 "moved install runs"
expect_match out "^datadir $T/moved/share/sifbuild\$" "moved install finds its datadir"
[ -f "$T/moved/share/sifbuild/examples/hello.def" ] && pass "examples installed" ||
	fail "examples installed"
run "$T/moved/bin/sifbuild" lint "$T/moved/share/sifbuild/examples/hello.def"
expect_rc 0 "installed copy lints the installed example"
finish
