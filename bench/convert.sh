#!/bin/sh
# bench/convert.sh: OCI archive -> SIF benchmark (not a test). Converts one
# oci-archive with `sifbuild build x.sif oci-archive:...` (streamed, no
# rootfs on disk) and with what Apptainer does: `skopeo copy` to an OCI
# layout, `umoci unpack --rootless`, `mksquashfs` of the rootfs, at the same
# compression and thread count. Prints wall time, CPU, peak RSS and peak
# temporary disk of both, and the ratios. Issue 5's goal: time <= 0.85x
# umoci+mksquashfs at equal compression (gzip), temp disk <= 5% of the
# unpacked size; zstd and lz4 are measured too (--comp).
#
#   bench/convert.sh [--jobs N] [--runs N] [--size MB] [--layers gzip|zstd|none]
#                    [--comp "gzip zstd lz4"] [--image FILE] [--nice N] [--keep]
#
# Without --image it builds (once, cached in $BENCH_DIR, default
# /tmp/sifbuild-bench) an oci-archive of about --size MB (default 420)
# sampled deterministically from the host's /usr, like bench/pack.sh: ~20k
# files in three layers (lib, share, the rest; the last also whites out a few
# files of the first), compressed with --layers (default gzip, as registries
# serve them). Each tool runs --runs times (default 3) per compression,
# alternating; the best time of each is compared. Temp disk: sifbuild's
# --tmpdir polled with du during the run; for umoci+mksquashfs the OCI layout
# plus the unpacked bundle, which both exist while mksquashfs runs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${SB_BUILDDIR:-$top}
SIFBUILD="$B/sifbuild"
jobs=$(nproc)
runs=3
size_mb=420
layers=gzip
comps="gzip zstd lz4"
image=""
keep=no
nice=""
while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift ;;
	--runs) runs=$2; shift ;;
	--size) size_mb=$2; shift ;;
	--layers) layers=$2; shift ;;
	--comp) comps=$2; shift ;;
	--image) image=$2; shift ;;
	--keep) keep=yes ;;
	--nice) nice="nice -n $2"
		if [ -w "/proc/$$/autogroup" ]; then
			old_nice=$(awk '{print $NF}' "/proc/$$/autogroup")
			trap 'echo "$old_nice" >"/proc/$$/autogroup" 2>/dev/null' EXIT
			echo "$2" >"/proc/$$/autogroup" 2>/dev/null
		fi
		shift ;;
	*) echo "usage: $0 [--jobs N] [--runs N] [--size MB] [--layers gzip|zstd|none] [--comp LIST] [--image FILE] [--nice N] [--keep]" >&2
	   exit 2 ;;
	esac
	shift
done
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
for t in mksquashfs:squashfs-tools umoci:umoci skopeo:skopeo; do
	command -v "${t%%:*}" >/dev/null || { echo "needs ${t%%:*}: apt-get install ${t#*:}" >&2; exit 1; }
done
[ -x "$SIFBUILD" ] || { echo "build it first: make sifbuild" >&2; exit 1; }

W=${BENCH_DIR:-/tmp/sifbuild-bench}
mkdir -p "$W"

# ------------------------------------------------------------- the image
# layer DIR: a tar of DIR (root-owned, fixed time) compressed with $layers
# into the layout $L; appends to $LAYERS and $DIFFS.
layer() {
	tar --format=pax --numeric-owner --owner=0 --group=0 --mtime=@1700000000 --sort=name \
		-C "$1" -cf "$W/l.tar" .
	DIFFS="$DIFFS${DIFFS:+,}\"sha256:$(sha256sum <"$W/l.tar" | cut -d' ' -f1)\""
	mt=application/vnd.oci.image.layer.v1.tar
	case $layers in
	gzip) gzip -n -6 "$W/l.tar" && mv "$W/l.tar.gz" "$W/l.tar" && mt=$mt+gzip ;;
	zstd) zstd -q -3 -T0 --rm "$W/l.tar" -o "$W/l.zst" && mv "$W/l.zst" "$W/l.tar" && mt=$mt+zstd ;;
	esac
	h=$(sha256sum <"$W/l.tar" | cut -d' ' -f1)
	LAYERS="$LAYERS${LAYERS:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$h\",\"size\":$(wc -c <"$W/l.tar")}"
	mv "$W/l.tar" "$L/blobs/sha256/$h"
}
make_image() { # OUT
	echo "generating $1 (about $size_mb MB sampled from /usr, $layers layers)..."
	find /usr/include /usr/share /usr/bin /usr/lib /usr/sbin -xdev -type f -size -20M \
		-printf '%s %p\n' 2>/dev/null | LC_ALL=C sort -k2 |
		awk -v budget=$((size_mb * 1024 * 1024)) 'BEGIN { srand(42) }
			{ p = $1 < 65536 ? 0.45 : 0.06 }
			rand() < p { t += $1; if (t > budget) exit; print $2 }' >"$W/list"
	rm -rf "$W/img" && mkdir -p "$W/img/l1" "$W/img/l2" "$W/img/l3"
	grep '^/usr/lib/' "$W/list" | tar -cf - -T - 2>/dev/null | tar -xf - -C "$W/img/l1"
	grep '^/usr/share/' "$W/list" | tar -cf - -T - 2>/dev/null | tar -xf - -C "$W/img/l2"
	grep -v '^/usr/lib/\|^/usr/share/' "$W/list" | tar -cf - -T - 2>/dev/null | tar -xf - -C "$W/img/l3"
	mkdir -p "$W/img/l1/bin" && cp /bin/sh "$W/img/l1/bin/sh"
	# a few whiteouts over layer 1, as later layers of real images have
	find "$W/img/l1/usr/lib" -type f | LC_ALL=C sort | awk 'NR % 500 == 0' | while read -r f; do
		rel=${f#"$W/img/l1/"}
		mkdir -p "$W/img/l3/$(dirname "$rel")"
		: >"$W/img/l3/$(dirname "$rel")/.wh.$(basename "$rel")"
	done
	L="$W/img/layout" LAYERS="" DIFFS=""
	mkdir -p "$L/blobs/sha256"
	for l in l1 l2 l3; do layer "$W/img/$l"; done
	case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
	printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/bin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$arch" "$DIFFS" >"$W/c.json"
	ch=$(sha256sum <"$W/c.json" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$ch" "$(wc -c <"$W/c.json")" "$LAYERS" >"$W/m.json"
	mh=$(sha256sum <"$W/m.json" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
		"$mh" "$(wc -c <"$W/m.json")" >"$L/index.json"
	mv "$W/c.json" "$L/blobs/sha256/$ch" && mv "$W/m.json" "$L/blobs/sha256/$mh"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
	(cd "$L" && tar -cf "$1.tmp" oci-layout index.json blobs) && mv "$1.tmp" "$1" &&
		rm -rf "$W/img" || { echo "image generation failed" >&2; exit 1; }
}
if [ -z "$image" ]; then
	image="$W/image-$size_mb-$layers.oci.tar"
	[ -f "$image" ] || make_image "$image"
fi
image=$(cd "$(dirname "$image")" && pwd)/$(basename "$image")
echo "image: $image, $(($(stat -c %s "$image") / 1048576)) MB; $jobs jobs, $runs runs; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$image" >/dev/null

# ------------------------------------------------------------ measuring
# timed NAME CMD...: one step under /usr/bin/time; adds to S_WALL, S_CPU,
# raises S_RSS.
timed() {
	name=$1
	shift
	$nice /usr/bin/time -f '%e %M %U %S' -o "$W/time.out" "$@" >/dev/null 2>"$W/$name.err" ||
		{ echo "$name failed:" >&2; cat "$W/$name.err" >&2; exit 1; }
	set -- $(cat "$W/time.out")
	S_WALL=$(echo "$S_WALL $1" | awk '{print $1 + $2}')
	S_CPU=$(echo "$S_CPU $3 $4" | awk '{print $1 + $2 + $3}')
	[ "$2" -gt "$S_RSS" ] && S_RSS=$2
	return 0
}
# run_sifbuild COMP: S_* and S_TMP (peak kB of the polled --tmpdir)
run_sifbuild() {
	S_WALL=0 S_CPU=0 S_RSS=0 S_TMP=0
	rm -rf "$W/tmpd" "$W/ours.sif" && mkdir "$W/tmpd"
	timed sifbuild "$SIFBUILD" build --compression "$1" --jobs "$jobs" --tmpdir "$W/tmpd" \
		"$W/ours.sif" "oci-archive:$image" &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		k=$(du -sk "$W/tmpd" 2>/dev/null | cut -f1)
		[ "${k:-0}" -gt "$S_TMP" ] && S_TMP=$k
		sleep 0.05
	done
	wait $pid || exit 1
	set -- $(cat "$W/time.out") # the subshell's sums are lost: one step
	S_WALL=$1 S_RSS=$2 S_CPU=$(echo "$3 $4" | awk '{print $1 + $2}')
	S_SIZE=$(stat -c %s "$W/ours.sif")
}
run_apptainer_way() {
	S_WALL=0 S_CPU=0 S_RSS=0
	rm -rf "$W/aw" && mkdir "$W/aw"
	timed skopeo skopeo --insecure-policy copy -q "oci-archive:$image" "oci:$W/aw/layout:latest"
	timed umoci umoci unpack --rootless --image "$W/aw/layout:latest" "$W/aw/bundle"
	S_TMP=$(du -sk "$W/aw" | cut -f1)
	timed mksquashfs mksquashfs "$W/aw/bundle/rootfs" "$W/aw/out.sqfs" -noappend -comp "$1" \
		-processors "$jobs" -quiet -no-progress
	S_SIZE=$(stat -c %s "$W/aw/out.sqfs")
	chmod -R u+rwX "$W/aw" 2>/dev/null
	rm -rf "$W/aw"
}
line() { printf '  %-24s %7.2f s wall %7.1f s CPU %8d KB RSS %9d KB temp %11d bytes\n' "$@"; }

# umoci (0.4.7, Debian 12) refuses zstd layers: then only sifbuild is timed.
aw=yes
if [ "$layers" = zstd ] && ! umoci --version 2>/dev/null | grep -q ' 0\.[5-9]'; then
	echo "note: this umoci cannot unpack zstd layers; only sifbuild is timed"
	aw=no
fi
summary=""
for comp in $comps; do
	rm -f "$W/sb.runs" "$W/aw.runs"
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		echo "$comp, run $i:"
		run_sifbuild "$comp"
		line "sifbuild (streamed)" "$S_WALL" "$S_CPU" "$S_RSS" "$S_TMP" "$S_SIZE"
		echo "$S_WALL $S_CPU $S_RSS $S_TMP $S_SIZE" >>"$W/sb.runs"
		[ $aw = yes ] || continue
		run_apptainer_way "$comp"
		line "skopeo+umoci+mksquashfs" "$S_WALL" "$S_CPU" "$S_RSS" "$S_TMP" "$S_SIZE"
		echo "$S_WALL $S_CPU $S_RSS $S_TMP $S_SIZE" >>"$W/aw.runs"
	done
	if [ $aw = no ]; then
		set -- $(sort -n "$W/sb.runs" | head -1)
		summary="$summary$(printf '%-5s sifbuild %6.2fs %6.1fs CPU %7d KB RSS %8d KB temp' "$comp" \
			"$1" "$2" "$3" "$4")
"
		continue
	fi
	set -- $(sort -n "$W/sb.runs" | head -1) $(sort -n "$W/aw.runs" | head -1)
	summary="$summary$(awk -v c="$comp" -v st="$1" -v sc="$2" -v sr="$3" -v sd="$4" -v ss="$5" \
		-v at="$6" -v ac="$7" -v ar="$8" -v ad="$9" -v as="${10}" 'BEGIN {
		printf "%-5s sifbuild %6.2fs %6.1fs CPU %7d KB RSS %8d KB temp | umoci way %6.2fs %6.1fs CPU %7d KB RSS %8d KB temp\n",
			c, st, sc, sr, sd, at, ac, ar, ad
		printf "      ratios (sifbuild/umoci way): time %.3fx  CPU %.3fx  peak RSS %.3fx  temp disk %.3f%%  size %.4fx\n",
			st / at, sc / ac, sr / ar, 100 * sd / ad, ss / as }')
"
done
echo
printf '%s' "$summary"
[ $keep = yes ] || rm -f "$W/ours.sif"
rm -rf "$W/tmpd"
