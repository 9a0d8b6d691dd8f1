#!/bin/sh
# tests/integration/stream_big.sh: a ~1 GiB OCI image streamed to a SIF
# (issue 5): the build's temp dir stays at a few MB and the peak RSS well
# under the image size, and the result equals the rootfs path's
# (SIFBUILD_NO_STREAM=1). Slow (a minute or two on 2 cores): skipped (77)
# unless SIFBUILD_SLOW_TESTS=1.
#
# The image is made here, as an oci-archive of three layers:
#   1  plain tar: 8 x 64 MiB of random (incompressible) data
#   2  gzip: 8 x ~64 MiB of compressible text
#   3  zstd (gzip without zstd): 4000 small files, whiteouts of two layer-1
#      files, one layer-1 file replaced
# Limits: SB_BIG_TMP_KB (default 4096) and SB_BIG_RSS_KB (default 204800).
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"

[ "${SIFBUILD_SLOW_TESTS:-0}" = 1 ] || { echo "# SKIP: set SIFBUILD_SLOW_TESTS=1"; exit 77; }
for t in unsquashfs tar gzip sha256sum /usr/bin/time; do
	command -v $t >/dev/null || { echo "# SKIP: $t missing"; exit 77; }
done
TMP_LIMIT=${SB_BIG_TMP_KB:-4096}
RSS_LIMIT=${SB_BIG_RSS_KB:-204800}
export SOURCE_DATE_EPOCH=1700000000

# ------------------------------------------------------------- the image
L="$T/layout"
mkdir -p "$L/blobs/sha256" "$T/l1" "$T/l2" "$T/l3"
blob() { # FILE: into the layout; sets DIGEST, SIZE
	h=$(sha256sum <"$1" | cut -d' ' -f1)
	SIZE=$(wc -c <"$1" | tr -d ' ')
	DIGEST=sha256:$h
	mv "$1" "$L/blobs/sha256/$h"
}
LAYERS="" DIFFS=""
layer() { # DIR COMPRESSION
	tar --format=pax --numeric-owner --owner=0 --group=0 --mtime=@1700000000 --sort=name \
		-C "$1" -cf "$T/l.tar" .
	DIFFS="$DIFFS${DIFFS:+,}\"sha256:$(sha256sum <"$T/l.tar" | cut -d' ' -f1)\""
	mt=application/vnd.oci.image.layer.v1.tar
	case $2 in
	gzip) gzip -n -1 "$T/l.tar" && mv "$T/l.tar.gz" "$T/l.tar" && mt=$mt+gzip ;;
	zstd) zstd -q -3 -T2 --rm "$T/l.tar" -o "$T/l.zst" && mv "$T/l.zst" "$T/l.tar" && mt=$mt+zstd ;;
	esac
	blob "$T/l.tar"
	LAYERS="$LAYERS${LAYERS:+,}{\"mediaType\":\"$mt\",\"digest\":\"$DIGEST\",\"size\":$SIZE}"
	rm -rf "$1"
}
mkdir -p "$T/l1/bin" "$T/l1/data/random"
cp "$(command -v busybox || echo /bin/busybox)" "$T/l1/bin/busybox" 2>/dev/null
for i in 1 2 3 4 5 6 7 8; do
	head -c 67108864 /dev/urandom >"$T/l1/data/random/r$i.bin"
done
layer "$T/l1" none
mkdir -p "$T/l2/data/text"
i=0
while [ $i -lt 8 ]; do # ~64 MiB each: a numbered log, compresses ~10:1
	awk -v n=$i 'BEGIN { for (k = 0; k < 1300000; k++)
		printf "%08d entry %d of file %d: the quick brown fox jumps\n", k, k * 7 % 1000, n }' \
		>"$T/l2/data/text/t$i.log"
	i=$((i + 1))
done
layer "$T/l2" gzip
mkdir -p "$T/l3/data/small" "$T/l3/data/random"
i=0
while [ $i -lt 40 ]; do
	mkdir "$T/l3/data/small/d$i"
	j=0
	while [ $j -lt 100 ]; do
		echo "small file $i/$j" >"$T/l3/data/small/d$i/f$j"
		j=$((j + 1))
	done
	i=$((i + 1))
done
: >"$T/l3/data/random/.wh.r7.bin"
: >"$T/l3/data/random/.wh.r8.bin"
echo "replaced in layer 3" >"$T/l3/data/random/r6.bin"
c3=gzip
command -v zstd >/dev/null && c3=zstd
layer "$T/l3" $c3
case $(uname -m) in
x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) ARCH=$(uname -m) ;;
esac
printf '{"architecture":"'$ARCH'","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$DIFFS" >"$T/c.json"
blob "$T/c.json"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
	"$DIGEST" "$SIZE" "$LAYERS" >"$T/m.json"
blob "$T/m.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"big"}}]}' \
	"$DIGEST" "$SIZE" >"$L/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
(cd "$L" && tar -cf "$T/big.oci.tar" oci-layout index.json blobs) && rm -rf "$L"
echo "# image: $(du -m "$T/big.oci.tar" | cut -f1) MB oci-archive, about 1 GiB unpacked"

# ------------------------------------------------------------ the builds
# build OUT LABEL [ENV...]: runs the conversion under /usr/bin/time with a
# fresh --tmpdir polled by du; sets WALL, RSS_KB, TMP_KB.
build() {
	out=$1 label=$2
	shift 2
	rm -rf "$T/tmpd" && mkdir "$T/tmpd"
	env "$@" /usr/bin/time -v -o "$T/time.txt" "$SIFBUILD" build --tmpdir "$T/tmpd" "$out" \
		"oci-archive:$T/big.oci.tar" >"$T/build.log" 2>&1 &
	pid=$! TMP_KB=0
	while kill -0 $pid 2>/dev/null; do
		k=$(du -sk "$T/tmpd" 2>/dev/null | cut -f1)
		[ "${k:-0}" -gt "$TMP_KB" ] && TMP_KB=$k
		sleep 0.05
	done
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && pass "$label build" || { fail "$label build (rc $rc)"; cat "$T/build.log"; }
	RSS_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time.txt")
	WALL=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time.txt")
	echo "# $label: wall $WALL, peak RSS $((RSS_KB / 1024)) MB, temp dir peak $TMP_KB kB"
}
build "$T/st.sif" streamed SIFBUILD_NO_STREAM=0
[ "$TMP_KB" -le "$TMP_LIMIT" ] && pass "streamed: temp dir peak $TMP_KB kB <= $TMP_LIMIT kB" ||
	fail "streamed: temp dir peak $TMP_KB kB <= $TMP_LIMIT kB"
[ -n "$RSS_KB" ] && [ "$RSS_KB" -le "$RSS_LIMIT" ] &&
	pass "streamed: peak RSS $RSS_KB kB <= $RSS_LIMIT kB" ||
	fail "streamed: peak RSS ${RSS_KB:-?} kB <= $RSS_LIMIT kB"
[ -z "$(ls -A "$T/tmpd")" ] && pass "streamed: temp dir left empty" ||
	fail "streamed: temp dir left empty"
build "$T/rf.sif" "rootfs path" SIFBUILD_NO_STREAM=1
[ "$TMP_KB" -ge 500000 ] && pass "rootfs path: the unpacked image was in the temp dir (the poll sees it)" ||
	fail "rootfs path: the unpacked image was in the temp dir (the poll sees it)"

# --------------------------------------------------------- same results
off() { "$SIFBUILD" sif info 4 "$1" | sed -n 's/^ *Offset: *//p'; }
tree() { # SIF DIR: listing, then md5 of every regular file
	unsquashfs -o "$(off "$1")" -lln "$1" 2>/dev/null
	rm -rf "$2" && unsquashfs -o "$(off "$1")" -no-xattrs -d "$2" "$1" >/dev/null 2>&1
	chmod -R u+rwX "$2"
	(cd "$2" && find . -type f -print0 | sort -z | xargs -0 md5sum)
	rm -rf "$2"
}
tree "$T/st.sif" "$T/x" >"$T/st.tree"
tree "$T/rf.sif" "$T/x" >"$T/rf.tree"
if [ "$(wc -l <"$T/st.tree")" -gt 8000 ] && cmp -s "$T/st.tree" "$T/rf.tree"; then
	pass "streamed tree (listing and contents) equals the rootfs path's"
else
	fail "streamed tree (listing and contents) equals the rootfs path's"
	diff "$T/rf.tree" "$T/st.tree" | head -10
fi
grep -q 'data/random/r7.bin' "$T/st.tree" && fail "whited-out layer-1 file absent" ||
	pass "whited-out layer-1 file absent"
for id in 1 2 3; do
	"$SIFBUILD" sif dump $id "$T/st.sif" >"$T/st.$id"
	"$SIFBUILD" sif dump $id "$T/rf.sif" >"$T/rf.$id"
	cmp -s "$T/st.$id" "$T/rf.$id" && pass "object $id equals the rootfs path's" ||
		fail "object $id equals the rootfs path's"
done
finish
