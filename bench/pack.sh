#!/bin/sh
# bench/pack.sh: SquashFS packing benchmark (not a test). Packs one tree with
# our writer (tests/sif/sqfs_pack, the code sifbuild uses) and with
# `mksquashfs -noappend -comp gzip` at the same thread count, and prints wall
# time, peak RSS and output size of both, and the ratios. Issue 3's goal:
# time <= 1.0x mksquashfs at equal size (+-3%), peak RSS <= 0.25x.
#
#   bench/pack.sh [--jobs N] [--runs N] [--size MB] [--tree DIR | --usr] [--nice N] [--keep]
#
# Without --tree/--usr it builds (once, cached in $BENCH_DIR, default
# /tmp/sifbuild-bench) a tree of about --size MB (default 420) sampled
# deterministically from the host's /usr: ~20k files, a real mix of text,
# binaries and already-compressed data. Each tool runs --runs times
# (default 3), alternating, after one untimed read of the tree to warm the
# page cache; the best time of each is compared. On a shared machine, --nice
# -15 (root) runs both at the same raised priority; CPU times are printed too.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${SB_BUILDDIR:-$top}
PACK="$B/tests/sif/sqfs_pack"
jobs=$(nproc)
runs=3
size_mb=420
tree=""
keep=no
nice=""
while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift ;;
	--runs) runs=$2; shift ;;
	--size) size_mb=$2; shift ;;
	--tree) tree=$2; shift ;;
	--usr) tree=/usr ;;
	--keep) keep=yes ;;
	--nice) nice="nice -n $2"
		# With sched_autogroup the session's weight is what counts; it is
		# put back when the script ends.
		if [ -w "/proc/$$/autogroup" ]; then
			old_nice=$(awk '{print $NF}' "/proc/$$/autogroup")
			trap 'echo "$old_nice" >"/proc/$$/autogroup" 2>/dev/null' EXIT
			echo "$2" >"/proc/$$/autogroup" 2>/dev/null
		fi
		shift ;;
	*) echo "usage: $0 [--jobs N] [--runs N] [--size MB] [--tree DIR | --usr] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
command -v mksquashfs >/dev/null || { echo "needs mksquashfs: apt-get install squashfs-tools" >&2; exit 1; }
[ -x "$PACK" ] || { echo "build it first: make tests/sif/sqfs_pack" >&2; exit 1; }

W=${BENCH_DIR:-/tmp/sifbuild-bench}
mkdir -p "$W"
if [ -z "$tree" ]; then
	tree="$W/tree-$size_mb"
	if [ ! -d "$tree" ]; then
		echo "generating $tree (about $size_mb MB sampled from /usr)..."
		# Small files are sampled more often than big ones, so the tree has
		# tens of thousands of files, as a container root has.
		find /usr/include /usr/share /usr/bin /usr/lib /usr/sbin -xdev -type f -size -20M \
			-printf '%s %p\n' 2>/dev/null | LC_ALL=C sort -k2 |
			awk -v budget=$((size_mb * 1024 * 1024)) 'BEGIN { srand(42) }
				{ p = $1 < 65536 ? 0.45 : 0.06 }
				rand() < p { t += $1; if (t > budget) exit; print $2 }' >"$W/list"
		mkdir -p "$tree.tmp" && tar -cf - -T "$W/list" 2>/dev/null | tar -xf - -C "$tree.tmp" &&
			mv "$tree.tmp" "$tree" || { echo "tree generation failed" >&2; exit 1; }
	fi
fi
files=$(find "$tree" -xdev -type f 2>/dev/null | wc -l)
bytes=$(du -sb "$tree" 2>/dev/null | cut -f1)
echo "tree: $tree, $files files, $((bytes / 1048576)) MB; $jobs jobs, $runs runs; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
find "$tree" -xdev -type f -exec cat {} + >/dev/null 2>&1

# measure NAME OUT CMD...: one timed run, appends "wall rss size" to $W/NAME.runs
measure() {
	name=$1 out=$2
	shift 2
	rm -f "$out"
	$nice /usr/bin/time -f '%e %M %U %S' -o "$W/time.out" "$@" >/dev/null 2>"$W/$name.err" ||
		{ echo "$name failed:" >&2; cat "$W/$name.err" >&2; exit 1; }
	set -- $(cat "$W/time.out")
	osize=$(stat -c %s "$out")
	echo "$1 $2 $osize $3 $4" >>"$W/$name.runs"
	printf '  %-11s %7.2f s wall  %7.1f s user  %8d KB peak RSS  %11d bytes\n' "$name" "$1" "$3" "$2" "$osize"
}
rm -f "$W/sifbuild.runs" "$W/mksquashfs.runs"
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	echo "run $i:"
	measure sifbuild "$W/ours.sqfs" "$PACK" pack --jobs "$jobs" "$tree" "$W/ours.sqfs"
	measure mksquashfs "$W/mksq.sqfs" mksquashfs "$tree" "$W/mksq.sqfs" -noappend -comp gzip \
		-processors "$jobs" -quiet -no-progress
done
best() { sort -n "$W/$1.runs" | head -1; }
set -- $(best sifbuild)
ot=$1 orss=$2 osz=$3 ocpu=$(echo "$4 $5" | awk '{print $1 + $2}')
set -- $(best mksquashfs)
mt=$1 mrss=$2 msz=$3 mcpu=$(echo "$4 $5" | awk '{print $1 + $2}')
echo
printf '%-11s %9s %10s %12s %14s\n' "" "best wall" "its CPU" "peak RSS" "image bytes"
printf '%-11s %8.2fs %9.1fs %9d KB %14d\n' sifbuild "$ot" "$ocpu" "$orss" "$osz"
printf '%-11s %8.2fs %9.1fs %9d KB %14d\n' mksquashfs "$mt" "$mcpu" "$mrss" "$msz"
awk -v ot="$ot" -v mt="$mt" -v oc="$ocpu" -v mc="$mcpu" -v orss="$orss" -v mrss="$mrss" \
	-v osz="$osz" -v msz="$msz" 'BEGIN {
	printf "ratios (sifbuild/mksquashfs): time %.3fx  CPU %.3fx  peak RSS %.3fx  size %.4fx\n",
		ot / mt, oc / mc, orss / mrss, osz / msz }'
[ $keep = yes ] || rm -f "$W/ours.sqfs" "$W/mksq.sqfs"
