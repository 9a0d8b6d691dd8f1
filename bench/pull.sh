#!/bin/sh
# bench/pull.sh: pull of a multi-layer image from a local registry, sifbuild's
# registry client (tests/registry/sbpull, cold cache) vs `skopeo copy` to an
# OCI layout. Prints both wall times and the ratio (goal <= 1.0).
# Usage: bench/pull.sh [LAYERS] [MIB_PER_LAYER]   (run from a built tree)
set -eu
B=${SB_BUILDDIR:-$(pwd)}
S=${SB_SRCDIR:-$(pwd)}
N=${1:-8}
MIB=${2:-8}
W=$(mktemp -d "${TMPDIR:-/tmp}/sbbench.XXXXXX")
trap 'sh "$S/tests/fixtures/registry.sh" stop "$W/reg"; rm -rf "$W"' EXIT
PORT=$(sh "$S/tests/fixtures/registry.sh" start "$W/reg")
L=$W/oci
mkdir -p "$L/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
layers='[]' diffs='[]'
i=0
while [ $i -lt "$N" ]; do
	mkdir -p "$W/l$i"
	head -c $((MIB * 1048576)) /dev/urandom >"$W/l$i/data.bin"
	tar -cf "$W/l$i.tar" -C "$W/l$i" data.bin
	gzip -1 -c "$W/l$i.tar" >"$W/l$i.gz"
	h=$(sha256sum "$W/l$i.gz" | cut -d' ' -f1)
	cp "$W/l$i.gz" "$L/blobs/sha256/$h"
	layers=$(printf '%s' "$layers" | jq -c --arg d "sha256:$h" --argjson s "$(wc -c <"$W/l$i.gz")" \
		'. + [{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip", digest:$d, size:$s}]')
	diffs=$(printf '%s' "$diffs" | jq -c --arg d "sha256:$(sha256sum "$W/l$i.tar" | cut -d' ' -f1)" '. + [$d]')
	i=$((i + 1))
done
jq -cnj --argjson d "$diffs" '{architecture:"amd64", os:"linux", rootfs:{type:"layers", diff_ids:$d}}' >"$W/c.json"
ch=$(sha256sum "$W/c.json" | cut -d' ' -f1)
cp "$W/c.json" "$L/blobs/sha256/$ch"
jq -cnj --arg c "sha256:$ch" --argjson cs "$(wc -c <"$W/c.json")" --argjson l "$layers" \
	'{schemaVersion:2, mediaType:"application/vnd.oci.image.manifest.v1+json",
	  config:{mediaType:"application/vnd.oci.image.config.v1+json", digest:$c, size:$cs}, layers:$l}' >"$W/m.json"
mh=$(sha256sum "$W/m.json" | cut -d' ' -f1)
cp "$W/m.json" "$L/blobs/sha256/$mh"
jq -cn --arg d "sha256:$mh" --argjson s "$(wc -c <"$W/m.json")" '{schemaVersion:2, manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",
	digest:$d, size:$s, annotations:{"org.opencontainers.image.ref.name":"bench"}}]}' >"$L/index.json"
skopeo --insecure-policy copy -q --dest-tls-verify=false --preserve-digests "oci:$L:bench" "docker://127.0.0.1:$PORT/bench/img:latest"
now() { date +%s.%N; }
t0=$(now)
SIFBUILD_CACHEDIR="$W/cache" "$B/tests/registry/sbpull" --nohttps "127.0.0.1:$PORT/bench/img:latest" "$W/out-sb" >/dev/null
t1=$(now)
HOME=$W skopeo --insecure-policy copy -q --src-tls-verify=false "docker://127.0.0.1:$PORT/bench/img:latest" "oci:$W/out-skopeo:x"
t2=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$N" -v m="$MIB" 'BEGIN {
	printf "pull %d layers x %d MiB: sifbuild %.3f s, skopeo %.3f s, ratio %.2f\n", n, m, b - a, c - b, (b - a) / (c - b) }'
