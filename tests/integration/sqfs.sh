#!/bin/sh
# tests/integration/sqfs.sh: the SquashFS writer and extractor (sif/sqfs.h)
# through tests/sif/sqfs_pack, checked against squashfs-tools' unsquashfs.
# A tree with every file type (devices only as root), unusual names, a 0-byte
# file, a sparse file past 4 GiB, hard links, mode-000 entries and xattrs is
# packed at an offset; `unsquashfs -lln` must list it exactly, `unsquashfs -d`
# and our extractor must recreate it (types, modes, owners, sizes, times, link
# counts, targets, xattrs, contents); SOURCE_DATE_EPOCH packs with 1 and 2
# jobs are identical; DIR -> image -> DIR -> image is bit-identical; hostile
# images are refused. Runs as root and as a plain user.
. "$(dirname "$0")/lib.sh"
P="$B/tests/sif/sqfs_pack"
[ -x "$P" ] || { echo "SKIP: $P not built"; exit 77; }
command -v unsquashfs >/dev/null || { echo "SKIP: unsquashfs missing"; exit 77; }
# Mode-000 directories stop rm as a plain user: open everything up first.
trap 'umount "$T/mnt" 2>/dev/null; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
ROOT=no
[ "$(id -u)" -eq 0 ] && ROOT=yes
EPOCH=1700000000
unset SOURCE_DATE_EPOCH

# ------------------------------------------------------------------ the tree
S="$T/src"
mkdir -p "$S/dir/sub" "$S/with space" "$S/ünïcödé-日本" "$S/empty-dir"
printf 'hello\n' >"$S/dir/file"
: >"$S/zero"
head -c 300000 /dev/urandom >"$S/dir/random"          # 3 blocks, no fragment tail packing
seq 1 200000 >"$S/dir/text"                           # compressible, > 1 block
cp "$S/dir/text" "$S/dir/text-copy"                   # duplicate blocks
printf 'tail' >"$S/with space/a b  c"
printf 'x' >"$S/ünïcödé-日本/ファイル"
long=$(printf 'n%.0s' $(seq 1 255))
printf 'long\n' >"$S/dir/$long"
ln "$S/dir/file" "$S/dir/sub/hardlink"
ln "$S/dir/file" "$S/hardlink2"
ln -s file "$S/dir/symlink"
ln -s "/absolute/target path" "$S/abs-symlink"
ln -s "$long" "$S/dir/link-to-long"
mkfifo "$S/dir/fifo"
perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die; bind($s, pack_sockaddr_un($ARGV[0])) or die' "$S/dir/socket"
truncate -s 4400M "$S/sparse"                          # data past 4 GiB: extended inode
printf 'end of sparse\n' >>"$S/sparse"
printf 'x' | dd of="$S/sparse" bs=1 seek=1000000 conv=notrunc 2>/dev/null
chmod 4755 "$S/dir/random"
chmod 1777 "$S/dir/sub"
: >"$S/mode000"
chmod 000 "$S/mode000"
mkdir "$S/locked"
printf 'inside\n' >"$S/locked/inside"
if [ $ROOT = yes ]; then
	mknod "$S/dir/null" c 1 3
	mknod "$S/dir/blk" b 7 200
	chown 1234:5678 "$S/dir/file"
	chown -h 42:43 "$S/dir/symlink"
fi
XATTRS=no
if "$P" setxattr "$S/dir/file" user.test hello 2>/dev/null; then
	XATTRS=yes
	"$P" setxattr "$S/dir" user.dirattr "on a directory"
	"$P" setxattr "$S/ünïcödé-日本/ファイル" user.other "1"
	[ $ROOT = yes ] && "$P" setxattr "$S/dir/text" trusted.sifbuild yes
fi
touch -h -d '2001-02-03 04:05:06' "$S/dir/symlink" "$S/with space"
touch -d '1999-12-31 23:59:59' "$S/dir/text-copy"

# listing DIR: one line per entry: path|type|mode|uid|gid|nlink|mtime|target|size|rdev
# (directory sizes differ between filesystems and are left out).
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%n|%T@|%l|%s\n' 2>/dev/null) |
		awk -F'|' 'BEGIN { OFS = "|" } { sub(/\..*/, "", $7); if ($2 == "d") $9 = "-"; print }' |
		LC_ALL=C sort
}
rdevs() { (cd "$1" && find . -mindepth 1 \( -type c -o -type b \) -exec stat -c '%n %Hr,%Lr' {} + | LC_ALL=C sort); }

# expected_lln DIR: what `unsquashfs -lln` should print, as "perm uid/gid size path[ -> target]".
expected_lln() {
	(cd "$1" && find . -printf '%M %U/%G %s %P|%l\n' 2>/dev/null) | while IFS= read -r l; do
		case $l in
		d*) l=$(printf '%s\n' "$l" | sed 's/^\([^ ]* [^ ]*\) [0-9]* /\1 - /') ;;
		[cb]*) p=${l#* * * }; p=${p%|*}; r=$(stat -c '%Hr,%Lr' "$1/$p")
			l=$(printf '%s\n' "$l" | sed "s/^\([^ ]* [^ ]*\) [0-9]* /\1 $r /") ;;
		esac
		printf '%s\n' "$l"
	done | sed 's/|$//; s/|/ -> /' | LC_ALL=C sort
}
actual_lln() {
	unsquashfs -lln "$1" | perl -ne 'chomp;
		next unless m{^(\S+) (\d+/\d+) +(\d+, *\d+|\d+) \S+ \S+ squashfs-root/?(.*)$};
		my ($p, $o, $s, $rest) = ($1, $2, $3, $4); $s =~ s/ //g; $s = "-" if $p =~ /^d/;
		print "$p $o $s $rest\n"' | LC_ALL=C sort
}
contents_equal() { # (unreadable files, mode 000 as a user, are compared by listing only)
	(cd "$1" && find . -type f -readable 2>/dev/null) | while IFS= read -r f; do
		cmp -s "$1/$f" "$2/$f" || echo "differs: $f"
	done
}

# The expected -lln listing needs the locked directory readable once.
EXP="$T/expected.lln"
chmod 755 "$S/locked"
expected_lln "$S" >"$EXP"
chmod 000 "$S/locked"
sed 's/^drwxr-xr-x \([^ ]*\) - locked$/d--------- \1 - locked/' "$EXP" | LC_ALL=C sort >"$EXP.new"
mv "$EXP.new" "$EXP"
SRC_LIST=$(listing "$S")

# ------------------------------------------------------------ pack at offset
# A far epoch fixes the superblock time only, so two packs can be compared.
export SOURCE_DATE_EPOCH=4000000000
run "$P" pack --offset 32768 --jobs 2 "$S" "$T/off.img"
expect_rc 0 "pack at offset 32768"
expect_match out '^size [0-9]+$' "pack reports the image size"
size=${OUT#size }
if [ $((size % 4096)) -eq 0 ] && [ "$(stat -c %s "$T/off.img")" -eq $((32768 + size)) ]; then
	pass "image padded to 4096 and file length = offset + size"
else fail "image size $size, file $(stat -c %s "$T/off.img")"; fi
if [ "$(head -c 32768 "$T/off.img" | tr -d P | wc -c)" -eq 0 ]; then
	pass "bytes before the offset untouched"
else fail "bytes before the offset changed"; fi
run "$P" pack --jobs 2 "$S" "$T/img"
expect_rc 0 "pack at offset 0"
if tail -c +32769 "$T/off.img" | cmp -s - "$T/img"; then pass "image at an offset = image at 0"
else fail "image at an offset differs from the image at 0"; fi
unset SOURCE_DATE_EPOCH
[ "$(head -c 4 "$T/img")" = hsqs ] && pass "SquashFS magic" || fail "no SquashFS magic"

# ---------------------------------------------------------- unsquashfs -lln
actual_lln "$T/img" >"$T/actual.lln"
if diff "$EXP" "$T/actual.lln" >"$T/lln.diff"; then
	pass "unsquashfs -lln lists names, types, modes, owners, sizes, targets"
else fail "unsquashfs -lln differs: $(head -20 "$T/lln.diff")"; fi
if unsquashfs -s "$T/img" | grep -q 'Number of inodes'; then pass "unsquashfs -s reads the superblock"
else fail "unsquashfs -s"; fi
if [ $ROOT = yes ]; then
	if [ "$(actual_lln "$T/img" | grep -c '^[cb]')" -eq 2 ]; then pass "device nodes packed"
	else fail "device nodes missing"; fi
else echo "# device nodes: not root, not tested"; fi

# --------------------------------------------------- extraction, both tools
# unsquashfs drops set-user-ID bits when it does not run as root.
nosuid() { if [ $ROOT = yes ]; then cat; else sed 's/^\([^|]*|f|\)4\([0-7][0-7][0-7]|\)/\1\2/'; fi; }
check_tree() { # check_tree DIR WHAT [nosuid]
	L=$(listing "$1")
	[ "${3:-}" = nosuid ] && SRC_LIST=$(listing "$S" | nosuid)
	if [ "$L" = "$SRC_LIST" ]; then pass "$2: types, modes, owners, link counts, times, sizes"
	else fail "$2 listing differs: $(printf '%s\n' "$SRC_LIST" >"$T/a"; printf '%s\n' "$L" >"$T/b"; diff "$T/a" "$T/b" | head -10)"; fi
	D=$(contents_equal "$S" "$1")
	[ -z "$D" ] && pass "$2: file contents" || fail "$2: $D"
	if [ $ROOT = yes ]; then
		[ "$(rdevs "$S")" = "$(rdevs "$1")" ] && pass "$2: device numbers" || fail "$2: device numbers"
	fi
	if [ $XATTRS = yes ]; then
		X1=$("$P" xattrs "$S" | grep -v '^/locked' | LC_ALL=C sort)
		X2=$("$P" xattrs "$1" | grep -v '^/locked' | LC_ALL=C sort)
		if [ "$X1" = "$X2" ] && [ -n "$X1" ]; then pass "$2: xattrs"
		else fail "$2: xattrs differ: [$X1] [$X2]"; fi
	fi
}
run unsquashfs -d "$T/u" "$T/img"
expect_rc 0 "unsquashfs -d extracts our image"
check_tree "$T/u" "unsquashfs -d" nosuid
SRC_LIST=$(listing "$S")
run "$P" extract --offset 32768 "$T/off.img" "$T/o"
expect_rc 0 "our extractor, image at an offset"
check_tree "$T/o" "sif_sqfs_extract"
if [ "$(du -k "$T/o/sparse" | cut -f1)" -lt 1024 ]; then pass "sparse file extracted sparse"
else fail "sparse file takes $(du -k "$T/o/sparse" | cut -f1) KiB"; fi
# The kernel's own reader, where this user may loop-mount.
mkdir "$T/mnt"
if [ $ROOT = yes ] && mount -t squashfs -o loop,ro "$T/img" "$T/mnt" 2>/dev/null; then
	check_tree "$T/mnt" "kernel mount"
	umount "$T/mnt"
else
	echo "# kernel mount: not available here"
fi
run "$P" extract "$T/img" "$T/o"
expect_rc 1 "extracting into a non-empty directory fails"
expect_match err 'not empty' "... with a clear message"

# ----------------------------------------------------------------- owners
if [ $ROOT = no ]; then
	run "$P" pack --all-root "$S" "$T/allroot.img"
	expect_rc 0 "pack --all-root"
	if actual_lln "$T/allroot.img" | awk '{print $2}' | grep -qv '^0/0$'; then
		fail "--all-root left other owners"
	else pass "--all-root: the user's own files are 0:0"; fi
else
	run "$P" pack --all-root "$S" "$T/allroot.img"
	if actual_lln "$T/allroot.img" | grep -q ' 1234/5678 .* dir/file$'; then
		pass "--all-root keeps other owners"
	else fail "--all-root changed other owners"; fi
fi

# ----------------------------------------------------------- determinism
export SOURCE_DATE_EPOCH=$EPOCH
run "$P" pack --jobs 1 "$S" "$T/d1.img"
expect_rc 0 "SOURCE_DATE_EPOCH pack, 1 job"
run "$P" pack --jobs 2 "$S" "$T/d2.img"
expect_rc 0 "SOURCE_DATE_EPOCH pack, 2 jobs"
cmp -s "$T/d1.img" "$T/d2.img" && pass "1 job and 2 jobs give identical images" ||
	fail "images differ between --jobs 1 and 2"
run "$P" extract "$T/d1.img" "$T/e1"
expect_rc 0 "extract the deterministic image"
chmod 755 "$T/e1/locked"
bad=$(find "$T/e1" -newermt "@$EPOCH" | head -3)
old=$(find "$T/e1" -name text-copy -newermt '2000-01-01')
if [ -z "$bad" ] && [ -z "$old" ]; then pass "times clamped to SOURCE_DATE_EPOCH, older times kept"
else fail "times not clamped: $bad $old"; fi
chmod 000 "$T/e1/locked"
# DIR -> image -> DIR -> image. As a plain user owners become the user's, so
# both packs use --all-root; devices cannot be recreated without root.
run "$P" pack --all-root "$S" "$T/r1.img"
run "$P" extract "$T/r1.img" "$T/r"
expect_rc 0 "round trip: extract"
run "$P" pack --all-root "$T/r" "$T/r2.img"
expect_rc 0 "round trip: pack again"
if [ $ROOT = yes ] || ! grep -q '^[cb]' "$EXP"; then
	cmp -s "$T/r1.img" "$T/r2.img" && pass "round trip is bit-identical" ||
		fail "round trip images differ"
else
	echo "# round trip: device nodes cannot be recreated as a user, not compared"
fi
unset SOURCE_DATE_EPOCH

# ---------------------------------------------------------- compressors
for c in zstd:19 xz lz4 gzip:1; do
	run "$P" pack --comp "$c" --block-size 65536 "$T/src/dir" "$T/c.img"
	expect_rc 0 "pack with $c"
	rm -rf "$T/c"
	unsquashfs -d "$T/c" "$T/c.img" >"$T/c.log" 2>&1 || cat "$T/c.log"
	# link counts differ: dir/file has names outside dir/
	[ "$(listing "$T/c" | cut -d'|' -f1-5,7-)" = "$(listing "$S/dir" | nosuid | cut -d'|' -f1-5,7-)" ] &&
		[ -z "$(contents_equal "$S/dir" "$T/c")" ] && pass "$c image reads back" ||
		fail "$c image differs"
done
run "$P" pack --comp lzo "$S/dir" "$T/lzo.img"
expect_rc 1 "lzo is refused by this libsquashfs"
expect_match err 'lzo: not supported' "... with a clear message"
run "$P" pack --comp gzip:10 "$S/dir" "$T/bad.img"
expect_rc 1 "gzip level 10 refused"

# ------------------------------------------------------- hostile images
run "$P" craft dotdot "$T/dotdot.img"
expect_rc 0 "craft an image with a '..' entry"
mkdir "$T/h1"
run "$P" extract "$T/dotdot.img" "$T/h1/out"
expect_rc 1 "extracting '..' refused"
expect_match err "refusing to extract .*'\.\.'" "... naming the entry"
[ ! -e "$T/h1/x" ] && pass "nothing written outside the output directory" || fail "../x escaped"
mkdir "$T/victim"
export CRAFT_TARGET="$T/victim"
run "$P" craft abslink "$T/abs.img"
unset CRAFT_TARGET
expect_rc 0 "craft an image with an absolute symlink in a path"
run "$P" extract "$T/abs.img" "$T/h2"
expect_rc 1 "extracting through a symlink refused"
[ -z "$(ls -A "$T/victim")" ] && pass "symlink target untouched" || fail "wrote through the symlink"
head -c 5000 "$T/img" >"$T/trunc.img"
run "$P" extract "$T/trunc.img" "$T/h3"
expect_rc 1 "truncated image refused"
printf 'not a squashfs image, just text padding it out to more than a superblock....................\n' >"$T/junk.img"
run "$P" extract "$T/junk.img" "$T/h4"
expect_rc 1 "non-SquashFS input refused"
expect_match err 'superblock' "... with a message about the superblock"

finish
