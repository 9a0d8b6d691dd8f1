#!/bin/sh
# Replays the registry parsers' fuzz corpus; under --enable-sanitizers any
# report fails.
set -eu
B=${SB_BUILDDIR:-.}; S=${SB_SRCDIR:-.}
out=$("$B/tests/registry/fuzz_registry" "$S/tests/registry/corpus")
echo "$out"
n=$(echo "$out" | sed -n 's/^replayed \([0-9]*\) inputs.*/\1/p')
[ "${n:-0}" -ge 30 ] || { echo "corpus too small: ${n:-0} inputs"; exit 1; }
