#!/bin/sh
# tests/registry/fixture-images.sh OUT HOST:PORT
# Builds the registry test images as an OCI layout in OUT/oci and pushes them
# to the anonymous plain-HTTP registry at HOST:PORT; writes OUT/seed.env.
#   seed/busybox:latest   OCI manifest, 2 gzip layers (busybox + files, whiteout)
#   library/busybox:latest  the same
#   seed/busybox:docker   Docker schema2 (skopeo conversion)
#   seed/busybox:zstd     OCI, zstd layers
#   seed/multi:latest     OCI index: linux/amd64, linux/arm64/v8, linux/arm/v7 + attestation
#   seed/multi:docker     Docker manifest list of the three platforms
#   seed/busybox:dup      one layer blob listed twice
#   seed/big:latest       one uncompressed tar layer of 6 MiB random data
#   seed/corrupt:latest   one gzip layer the tests overwrite in storage
#   seed/sif:latest       ORAS SIF artifact (when siftool exists)
set -eu
OUT=$1
REG=$2
H=http://$REG
MT_M=application/vnd.oci.image.manifest.v1+json
MT_I=application/vnd.oci.image.index.v1+json
MT_C=application/vnd.oci.image.config.v1+json
MT_L=application/vnd.oci.image.layer.v1.tar
TAROPTS="--format=gnu --owner=0 --group=0 --numeric-owner --mtime=@1700000000 --sort=name"
rm -rf "$OUT"
mkdir -p "$OUT/oci/blobs/sha256" "$OUT/work"
W=$OUT/work
L=$OUT/oci
# skopeo reads and writes under HOME (registries.conf.d, blob-info cache):
# keep it to our work dir so any user (and a HOME of another user) works.
mkdir -p "$W/home"
export HOME="$W/home" XDG_CONFIG_HOME="$W/home/.config" XDG_DATA_HOME="$W/home/.local/share"
unset XDG_RUNTIME_DIR REGISTRY_AUTH_FILE DOCKER_CONFIG http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
REFS='[]'

# blob FILE -> D (digest) S (size)
blob() {
	_h=$(sha256sum "$1" | cut -d' ' -f1)
	cp "$1" "$L/blobs/sha256/$_h"
	D=sha256:$_h
	S=$(wc -c <"$1" | tr -d ' ')
}

# layer TAR gzip|zstd|none -> appends to LAYERS, DIFFS
layer() {
	_diff=sha256:$(sha256sum "$1" | cut -d' ' -f1)
	case $2 in
	gzip) gzip -n -9 -c "$1" >"$W/l.blob"; _mt=$MT_L+gzip ;;
	zstd) zstd -q -3 -c "$1" >"$W/l.blob"; _mt=$MT_L+zstd ;;
	none) cp "$1" "$W/l.blob"; _mt=$MT_L ;;
	esac
	blob "$W/l.blob"
	LAYERS=$(printf '%s' "$LAYERS" | jq -c --arg m "$_mt" --arg d "$D" --argjson s "$S" '. + [{mediaType:$m,digest:$d,size:$s}]')
	DIFFS=$(printf '%s' "$DIFFS" | jq -c --arg d "$_diff" '. + [$d]')
}

# image ARCH VARIANT NAME -> M_D M_S (manifest), with LAYERS DIFFS set
image() {
	jq -cnj --arg a "$1" --arg v "$2" --argjson d "$DIFFS" \
		'{architecture:$a, os:"linux", config:{Env:["PATH=/bin"], Cmd:["/bin/sh"]},
		  rootfs:{type:"layers", diff_ids:$d}} + (if $v != "" then {variant:$v} else {} end)' >"$W/c.json"
	blob "$W/c.json"
	jq -cnj --arg m "$MT_M" --arg c "$MT_C" --arg d "$D" --argjson s "$S" --argjson l "$LAYERS" \
		'{schemaVersion:2, mediaType:$m, config:{mediaType:$c, digest:$d, size:$s}, layers:$l}' >"$W/m.json"
	blob "$W/m.json"
	M_D=$D M_S=$S
	REFS=$(printf '%s' "$REFS" | jq -c --arg n "$3" --arg m "$MT_M" --arg d "$D" --argjson s "$S" \
		'. + [{mediaType:$m, digest:$d, size:$s, annotations:{"org.opencontainers.image.ref.name":$n}}]')
}

ARCH=amd64
case $(uname -m) in aarch64) ARCH=arm64 ;; esac

# busybox: layer 1 rootfs, layer 2 a whiteout and new files
mkdir -p "$W/r1/bin" "$W/r1/etc" "$W/r1/data" "$W/r2/data" "$W/r2/etc"
cp "$(command -v busybox)" "$W/r1/bin/busybox"
ln -s busybox "$W/r1/bin/sh"
printf 'NAME=sbtest\n' >"$W/r1/etc/os-release"
printf 'hello from the seed\n' >"$W/r1/data/hello.txt"
printf 'remove me\n' >"$W/r1/data/remove-me.txt"
: >"$W/r2/data/.wh.remove-me.txt"
printf 'added in layer 2\n' >"$W/r2/data/added.txt"
printf 'seeded\n' >"$W/r2/etc/motd"
# shellcheck disable=SC2086
tar $TAROPTS -cf "$W/l1.tar" -C "$W/r1" bin data etc
# shellcheck disable=SC2086
tar $TAROPTS -cf "$W/l2.tar" -C "$W/r2" data etc
for c in gzip zstd; do
	LAYERS='[]' DIFFS='[]'
	layer "$W/l1.tar" $c
	layer "$W/l2.tar" $c
	image "$ARCH" "" "busybox-$c"
	[ $c = gzip ] && BUSYBOX=$M_D || ZSTD=$M_D
done

# dup: the same layer blob twice (as images with repeated empty layers)
LAYERS='[]' DIFFS='[]'
layer "$W/l2.tar" gzip
layer "$W/l2.tar" gzip
image "$ARCH" "" dup
DUP=$M_D

# multi-platform index (+ an attestation entry)
ENTRIES='[]'
for p in amd64: arm64:v8 arm:v7; do
	a=${p%%:*} v=${p#*:}
	mkdir -p "$W/p-$a/etc"
	printf 'linux/%s%s\n' "$a" "${v:+/$v}" >"$W/p-$a/etc/platform"
	# shellcheck disable=SC2086
	tar $TAROPTS -cf "$W/p-$a.tar" -C "$W/p-$a" etc
	LAYERS='[]' DIFFS='[]'
	layer "$W/p-$a.tar" gzip
	image "$a" "$v" "multi-$a"
	eval "MULTI_$(echo "$a" | tr a-z A-Z)=$M_D"
	ENTRIES=$(printf '%s' "$ENTRIES" | jq -c --arg m "$MT_M" --arg d "$M_D" --argjson s "$M_S" --arg a "$a" --arg v "$v" \
		'. + [{mediaType:$m, digest:$d, size:$s, platform:({architecture:$a, os:"linux"} + (if $v != "" then {variant:$v} else {} end))}]')
done
printf '{"_type":"https://in-toto.io/Statement/v0.1"}' >"$W/att.json"
blob "$W/att.json"
ATT_L=$D ATT_LS=$S
printf '{}' >"$W/empty.json"
blob "$W/empty.json"
jq -cnj --arg m "$MT_M" --arg c "$MT_C" --arg cd "$D" --arg ld "$ATT_L" --argjson ls "$ATT_LS" \
	'{schemaVersion:2, mediaType:$m, config:{mediaType:$c, digest:$cd, size:2},
	  layers:[{mediaType:"application/vnd.in-toto+json", digest:$ld, size:$ls}]}' >"$W/att-m.json"
blob "$W/att-m.json"
PLAIN=$ENTRIES
ENTRIES=$(printf '%s' "$ENTRIES" | jq -c --arg m "$MT_M" --arg d "$D" --argjson s "$S" --arg r "$MULTI_AMD64" \
	'. + [{mediaType:$m, digest:$d, size:$s, platform:{architecture:"unknown", os:"unknown"},
	       annotations:{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":$r}}]')
for k in multi multi-plain; do
	[ $k = multi ] && e=$ENTRIES || e=$PLAIN
	jq -cnj --arg m "$MT_I" --argjson e "$e" '{schemaVersion:2, mediaType:$m, manifests:$e}' >"$W/i.json"
	blob "$W/i.json"
	[ $k = multi ] && MULTI=$D
	REFS=$(printf '%s' "$REFS" | jq -c --arg n "$k" --arg m "$MT_I" --arg d "$D" --argjson s "$S" \
		'. + [{mediaType:$m, digest:$d, size:$s, annotations:{"org.opencontainers.image.ref.name":$n}}]')
done

# big: 6 MiB of random data, uncompressed layer
mkdir -p "$W/big"
head -c 6291456 /dev/urandom >"$W/big/random.bin"
# shellcheck disable=SC2086
tar $TAROPTS -cf "$W/big.tar" -C "$W/big" random.bin
LAYERS='[]' DIFFS='[]'
layer "$W/big.tar" none
BIG_LAYER=$D
image "$ARCH" "" big
BIG=$M_D

# corrupt: one small gzip layer of its own
mkdir -p "$W/cor"
head -c 65536 /dev/urandom >"$W/cor/x.bin"
# shellcheck disable=SC2086
tar $TAROPTS -cf "$W/cor.tar" -C "$W/cor" x.bin
LAYERS='[]' DIFFS='[]'
layer "$W/cor.tar" gzip
CORRUPT_LAYER=$D
image "$ARCH" "" corrupt
CORRUPT=$M_D

jq -cn --argjson r "$REFS" '{schemaVersion:2, manifests:$r}' >"$L/index.json"

SK="skopeo --insecure-policy copy -q --dest-tls-verify=false --preserve-digests"
$SK "oci:$L:busybox-gzip" "docker://$REG/seed/busybox:latest"
$SK "oci:$L:busybox-gzip" "docker://$REG/library/busybox:latest"
$SK "oci:$L:busybox-zstd" "docker://$REG/seed/busybox:zstd"
$SK --all "oci:$L:multi" "docker://$REG/seed/multi:latest"
$SK "oci:$L:big" "docker://$REG/seed/big:latest"
$SK "oci:$L:dup" "docker://$REG/seed/busybox:dup"
$SK "oci:$L:corrupt" "docker://$REG/seed/corrupt:latest"
skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 --digestfile "$W/dd" \
	"oci:$L:busybox-gzip" "docker://$REG/seed/busybox:docker"
DOCKER=$(cat "$W/dd")
skopeo --insecure-policy copy -q --dest-tls-verify=false --all --format v2s2 --digestfile "$W/dd" \
	"oci:$L:multi-plain" "docker://$REG/seed/multi:docker"
MULTI_DOCKER=$(cat "$W/dd")

# SIF artifact pushed by hand (POST + PUT per blob, then the manifest)
SIF='' SIF_LAYER=''
if command -v siftool >/dev/null 2>&1; then
	siftool new "$OUT/busybox.sif" >/dev/null
	push_blob() { # FILE
		_d=sha256:$(sha256sum "$1" | cut -d' ' -f1)
		_loc=$(curl -s -D - -o /dev/null -X POST "$H/v2/seed/sif/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
		case $_loc in /*) _loc=$H$_loc ;; esac
		curl -s -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
			--data-binary @"$1" "$_loc&digest=$_d"
	}
	push_blob "$W/empty.json"
	push_blob "$OUT/busybox.sif"
	SIF_LAYER=sha256:$(sha256sum "$OUT/busybox.sif" | cut -d' ' -f1)
	jq -cnj --arg d "$SIF_LAYER" --argjson s "$(wc -c <"$OUT/busybox.sif")" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.manifest.v1+json",
		config:{mediaType:"application/vnd.sylabs.sif.config.v1+json",
		  digest:"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size:2},
		layers:[{mediaType:"application/vnd.sylabs.sif.layer.v1.sif", digest:$d, size:$s,
		  annotations:{"org.opencontainers.image.title":"busybox.sif"}}]}' >"$W/sif.json"
	curl -s -f -o /dev/null -X PUT -H "Content-Type: $MT_M" --data-binary @"$W/sif.json" "$H/v2/seed/sif/manifests/latest"
	SIF=sha256:$(sha256sum "$W/sif.json" | cut -d' ' -f1)
fi

cat >"$OUT/seed.env" <<EOF
SEED_REGISTRY='$REG'
SEED_LAYOUT='$L'
SEED_BUSYBOX='$BUSYBOX'
SEED_ZSTD='$ZSTD'
SEED_DOCKER='$DOCKER'
SEED_MULTI='$MULTI'
SEED_MULTI_AMD64='$MULTI_AMD64'
SEED_MULTI_ARM64='$MULTI_ARM64'
SEED_MULTI_ARM='$MULTI_ARM'
SEED_MULTI_DOCKER='$MULTI_DOCKER'
SEED_DUP='$DUP'
SEED_BIG='$BIG'
SEED_BIG_LAYER='$BIG_LAYER'
SEED_CORRUPT='$CORRUPT'
SEED_CORRUPT_LAYER='$CORRUPT_LAYER'
SEED_SIF='$SIF'
SEED_SIF_LAYER='$SIF_LAYER'
SEED_SIF_FILE='$OUT/busybox.sif'
EOF
rm -rf "$W"
