#!/bin/sh
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
[ "${SIFBUILD_SLOW_TESTS:-0}" = 1 ] || { echo "# SKIP: set SIFBUILD_SLOW_TESTS=1"; exit 77; }
finish
