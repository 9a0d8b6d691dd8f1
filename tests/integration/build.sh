#!/bin/sh
# sifbuild build: DIR/ -> SIF and SIF -> --sandbox DIR, checked with the
# reference tools (siftool, validate-sif.sh, unsquashfs).
. "$(dirname "$0")/lib.sh"

for t in siftool unsquashfs; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
VALIDATE="$S/../shared/tools/validate-sif.sh"

# A tree with every kind of entry a user can make.
src="$T/tree"
mkdir -p "$src/bin" "$src/etc" "$src/data/sub dir" "$src/locked"
cp /bin/sh "$src/bin/sh"
printf 'hello\n' >"$src/etc/greeting"
: >"$src/data/empty"
printf 'x' >"$src/data/sub dir/ünïcödé file"
ln -s ../etc/greeting "$src/data/link"
ln "$src/etc/greeting" "$src/data/hardlink"
mkfifo "$src/data/fifo"
long=$(printf 'n%.0s' $(seq 1 255))
printf 'long' >"$src/data/$long"
printf 'secret' >"$src/locked/file"
chmod 000 "$src/locked/file"
chmod 4755 "$src/bin/sh"
dd if=/dev/zero of="$src/data/sparse" bs=1 count=0 seek=5G 2>/dev/null
printf 'end' >>"$src/data/sparse"

export SOURCE_DATE_EPOCH=1700000000
run "$SIFBUILD" build "$T/a.sif" "$src/"
expect_rc 0 "build DIR -> SIF"
run siftool list "$T/a.sif"
expect_match out "Def.FILE" "siftool lists Def.FILE"
expect_match out "JSON.Generic" "siftool lists inspect metadata"
expect_match out "FS \(Squashfs/\*System/amd64\)" "siftool lists the primary SquashFS partition with its arch"
if [ -x "$VALIDATE" ]; then
	run sh "$VALIDATE" "$T/a.sif"
	expect_rc 0 "validate-sif.sh accepts the image"
fi
run "$SIFBUILD" sif dump 1 "$T/a.sif"
[ "$OUT" = "bootstrap: localimage" ] && pass "Def.FILE is the generated localimage definition" ||
	fail "Def.FILE is the generated localimage definition (got '$OUT')"
if grep -q "$T" "$T/a.sif"; then fail "image does not name the host path"; else
	pass "image does not name the host path"; fi

off=$("$SIFBUILD" sif info 3 "$T/a.sif" | sed -n 's/^ *Offset: *//p')
run unsquashfs -o "$off" -lln "$T/a.sif"
listing=$OUT
for p in /bin/sh /etc/greeting /data/empty "/data/sub dir/ünïcödé file" /data/link /data/hardlink \
	/data/fifo "/data/$long" /locked/file /data/sparse /.singularity.d/runscript \
	/.singularity.d/env/90-environment.sh /.singularity.d/actions/run /singularity /environment \
	/dev /proc /sys /tmp /var/tmp /etc/hosts /etc/resolv.conf; do
	if printf '%s\n' "$listing" | grep -Fq " squashfs-root$p"; then pass "image has $p"; else
		fail "image has $p"; fi
done
expect_match out '^-rwsr-xr-x 0/0 .* squashfs-root/bin/sh$' "setuid bit and all-root owners kept"
expect_match out '^---------- 0/0 .* squashfs-root/locked/file$' "mode 000 file packed"
expect_match out '^lrwxrwxrwx 0/0 .* squashfs-root/data/link -> ../etc/greeting$' "symlink target"
expect_match out '^prw-r--r-- 0/0 .* squashfs-root/data/fifo$' "fifo"
expect_match out ' 5368709123 .* squashfs-root/data/sparse$' "sparse file size"

run unsquashfs -o "$off" -no-xattrs -d "$T/x" "$T/a.sif"
chmod -R u+r "$T/x" "$src" 2>/dev/null
if cmp -s "$src/etc/greeting" "$T/x/etc/greeting" && cmp -s "$src/bin/sh" "$T/x/bin/sh" &&
	cmp -s "$src/data/sparse" "$T/x/data/sparse"; then pass "contents equal after extraction"; else
	fail "contents equal after extraction"; fi
chmod 000 "$src/locked/file"

# determinism and jobs
run "$SIFBUILD" build --jobs 1 "$T/b.sif" "$src/"
run "$SIFBUILD" build --jobs 2 "$T/c.sif" "$src/"
cmp -s "$T/a.sif" "$T/b.sif" && cmp -s "$T/b.sif" "$T/c.sif" &&
	pass "SOURCE_DATE_EPOCH builds are bit-identical (--jobs 1, 2)" ||
	fail "SOURCE_DATE_EPOCH builds are bit-identical (--jobs 1, 2)"

# existing targets
run "$SIFBUILD" build "$T/a.sif" "$src/"
expect_rc 2 "existing target refused"
expect_match err "a.sif already exists: use --force" "existing target message"
run "$SIFBUILD" build --force "$T/a.sif" "$src/"
expect_rc 0 "--force replaces the target"

# SIF -> sandbox -> SIF
run "$SIFBUILD" build --sandbox "$T/sb" "$T/a.sif"
expect_rc 0 "build --sandbox from a SIF"
[ -f "$T/sb/etc/greeting" ] && [ -L "$T/sb/singularity" ] && pass "sandbox has the tree and skeleton" ||
	fail "sandbox has the tree and skeleton"
run "$SIFBUILD" build "$T/d.sif" "$T/sb/"
expect_rc 0 "sandbox -> SIF"
cmp -s "$T/a.sif" "$T/d.sif" && pass "DIR -> SIF -> sandbox -> SIF is bit-identical" ||
	fail "DIR -> SIF -> sandbox -> SIF is bit-identical"
run "$SIFBUILD" build --sandbox "$T/sb" "$T/a.sif"
expect_rc 2 "existing sandbox refused"
run "$SIFBUILD" build --sandbox --force "$T/sb" "$T/a.sif"
expect_rc 0 "--force replaces a sandbox"

# errors leave nothing behind
ls -a "$T" >"$T/before"
run "$SIFBUILD" build --compression nosuch "$T/e.sif" "$src/"
expect_rc 2 "bad compression refused"
expect_one_line_err "bad compression: one line"
run "$SIFBUILD" build "$T/f.sif" "$T/nonexistent-source"
expect_rc 2 "missing source refused"
printf 'SIF_MAGIC garbage' >"$T/garbage.sif"
run "$SIFBUILD" build --sandbox "$T/g" "$T/a.sif.missing"
expect_rc 2 "missing SIF source refused"
ls -a "$T" | grep -v -e garbage.sif -e '^after$' >"$T/after"
if diff "$T/before" "$T/after" >/dev/null; then pass "failed builds leave no files"; else
	fail "failed builds leave no files: $(diff "$T/before" "$T/after" | tr '\n' ' ')"; fi

# SIGTERM mid-build leaves no temporary file
big="$T/big"
mkdir -p "$big"
head -c 300000000 /dev/urandom >"$big/random" 2>/dev/null
"$SIFBUILD" build --jobs 1 --compression xz "$T/h.sif" "$big/" 2>/dev/null &
pid=$!
sleep 1
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
left=$(ls -a "$T" | grep -c 'sifbuild-' || true)
[ "$rc" -ne 0 ] && [ ! -e "$T/h.sif" ] && [ "$left" -eq 0 ] &&
	pass "SIGTERM leaves no target and no temporary file" ||
	fail "SIGTERM leaves no target and no temporary file (rc=$rc, left=$left)"
rm -rf "$big"
finish
