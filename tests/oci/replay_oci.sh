#!/bin/sh
# Replays the OCI fuzz corpus (JSON indexes, manifests, configs, tar layers)
# through fuzz_oci; under --enable-sanitizers any report fails the test.
set -eu
B=${SB_BUILDDIR:-.}; S=${SB_SRCDIR:-.}
out=$("$B/tests/oci/fuzz_oci" "$S/tests/oci/corpus")
echo "$out"
n=$(echo "$out" | sed -n 's/^replayed \([0-9]*\) inputs.*/\1/p')
[ "${n:-0}" -ge 20 ] || { echo "corpus too small: ${n:-0} inputs"; exit 1; }
