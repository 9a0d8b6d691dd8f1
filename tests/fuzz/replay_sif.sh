#!/bin/sh
# Replays the SIF fuzz corpus (and the reference images when the conformance
# data is there) through the SIF reader and writer; under --enable-sanitizers
# any report fails.
set -eu
B=${SB_BUILDDIR:-.}; S=${SB_SRCDIR:-.}
extra=""
for d in "$S/../shared/conformance/sif/golden" "$S/../shared/conformance/sif/images"; do
	[ -d "$d" ] && extra="$extra $d"
done
out=$("$B/tests/fuzz/fuzz_sif" "$S/tests/fuzz/corpus/sif" $extra)
echo "$out"
n=$(echo "$out" | sed -n 's/^replayed \([0-9]*\) inputs.*/\1/p')
[ "${n:-0}" -ge 12 ] || { echo "corpus too small: ${n:-0} inputs"; exit 1; }
