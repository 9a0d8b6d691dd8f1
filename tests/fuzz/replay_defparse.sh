#!/bin/sh
# Replays the definition-file fuzz corpus (and the conformance data when it is
# there) through the parser; under --enable-sanitizers any report fails.
set -eu
B=${SB_BUILDDIR:-.}; S=${SB_SRCDIR:-.}
extra=""
[ -d "$S/../shared/conformance/apptainer-parser" ] && extra="$S/../shared/conformance/apptainer-parser/testdata_bad"
out=$("$B/tests/fuzz/fuzz_defparse" "$S/tests/fuzz/corpus/defparse" $extra)
echo "$out"
n=$(echo "$out" | sed -n 's/^replayed \([0-9]*\) inputs.*/\1/p')
[ "${n:-0}" -ge 20 ] || { echo "corpus too small: ${n:-0} inputs"; exit 1; }
