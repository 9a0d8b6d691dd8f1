#!/bin/sh
# tests/integration/localimage.sh: the localimage agent on SIF and SquashFS
# files (`sifbuild build OUT.sif IMAGE.sif`, SIF -> SIF) and the oras agent
# (a SIF artifact pushed to Debian's docker-registry on 127.0.0.1, pulled and
# unpacked by tests/bootstrap/agentrun). A tree with special files is packed,
# rebuilt from the SIF as root and as a plain user (its owners, devices and
# xattrs then go through the ownership map), and compared with unsquashfs and
# byte for byte; corrupted images are refused with one line naming the file
# and leave nothing behind.
# shellcheck disable=SC2015 # "check && pass || fail": pass never fails
. "$(dirname "$0")/lib.sh"

command -v unsquashfs >/dev/null 2>&1 || { echo "SKIP: unsquashfs not installed"; exit 77; }
AR="$B/tests/bootstrap/agentrun"
OT="$B/tests/oci/ocitool"
for p in "$AR" "$OT"; do
	[ -x "$p" ] || { echo "SKIP: $p not built (make check builds it)"; exit 77; }
done
export SOURCE_DATE_EPOCH=1700000000
export SIFBUILD_TMPDIR="$T/tmp" SIFBUILD_CACHEDIR="$T/cache"
mkdir -p "$T/tmp"
# the tree has a 0500 directory: make it removable before lib.sh's rm -rf
trap 'chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT
ROOT=no
[ "$(id -u)" -eq 0 ] && ROOT=yes

# ID of the primary partition, of the object named NAME
part_id() { "$SIFBUILD" sif list "$1" | awk -F'|' '/\*System/ { print $1 + 0 }'; }
obj_id() {
	for i in $("$SIFBUILD" sif list "$2" | awk -F'|' '$1 + 0 > 0 { print $1 + 0 }'); do
		"$SIFBUILD" sif info "$i" "$2" | grep -Eq "Name: +$1\$" && { echo "$i"; return; }
	done
}
# unsquashfs -lln of a SIF's partition or of a bare SquashFS file
listing() {
	case $(head -c 4 "$1") in
	hsqs) unsquashfs -lln "$1" ;;
	*) off=$("$SIFBUILD" sif info "$(part_id "$1")" "$1" | sed -n 's/^ *Offset: *//p')
		unsquashfs -o "$off" -lln "$1" ;;
	esac 2>/dev/null | grep squashfs-root
}
part_sum() { "$SIFBUILD" sif dump "$(part_id "$1")" "$1" | sha256sum | cut -d' ' -f1; }
same_listing() { # DESC A B
	listing "$2" >"$T/l1"
	listing "$3" >"$T/l2"
	[ -s "$T/l1" ] && cmp -s "$T/l1" "$T/l2" && pass "$1" ||
		fail "$1 ($(diff "$T/l1" "$T/l2" | head -5))"
}
nothing_left() { # DESC DIR: the (temp) directory DIR is empty
	[ -z "$(ls -A "$2")" ] && pass "$1" || fail "$1 (left: $(ls -A "$2" | tr '\n' ' '))"
}
no_temp_beside() { # DESC DIR: no sifbuild temp file in DIR
	ls -A "$2" | grep -q sifbuild && fail "$1 ($(ls -A "$2" | grep sifbuild))" || pass "$1"
}

# ------------------------------------------------------------ the source tree
mk_tree() {
	d=$1
	mkdir -p "$d/bin" "$d/etc" "$d/d/sub" "$d/empty"
	echo "hello from the tree" >"$d/etc/hello"
	seq 1 300000 >"$d/etc/numbers" # compressible: several real data blocks
	printf x >"$d/bin/suid" && chmod 4755 "$d/bin/suid"
	printf y >"$d/bin/sgid" && chmod 2755 "$d/bin/sgid"
	ln -s ../etc/hello "$d/bin/link"
	ln -s /etc/hello "$d/bin/abslink"
	ln -s /nowhere "$d/bin/dangling"
	ln "$d/etc/hello" "$d/d/hard1" && ln "$d/etc/hello" "$d/d/hard2"
	echo inside >"$d/d/sub/file" && chmod 0500 "$d/d/sub"
	echo secret >"$d/d/secret" && chmod 000 "$d/d/secret"
	truncate -s 1M "$d/d/sparse"
	if [ $ROOT = yes ]; then
		echo theirs >"$d/d/user" && chown 1000:1000 "$d/d/user"
		mkdir "$d/d/userdir" && chown 1001:1002 "$d/d/userdir"
		mknod "$d/d/null" c 1 3 && mknod "$d/d/blk" b 7 0 && mkfifo "$d/d/fifo"
		chmod 0620 "$d/d/null"
		python3 -c 'import os, sys
os.setxattr(sys.argv[1] + "/etc/hello", "user.note", b"kept")
os.setxattr(sys.argv[1] + "/bin/suid", "security.capability",
            bytes.fromhex("0100000200200000000000000000000000000000"))' "$d" 2>/dev/null &&
			echo "# xattrs set (user.note, security.capability)"
	fi
	find "$d" -depth -exec touch -h -d @1600000000 {} +
}
mk_tree "$T/tree"

run "$SIFBUILD" build "$T/a.sif" "$T/tree/"
expect_rc 0 "DIR -> SIF"
L=$(listing "$T/a.sif")
printf '%s\n' "$L" | grep -q '^-rwsr-xr-x 0/0 .* squashfs-root/bin/suid$' &&
	printf '%s\n' "$L" | grep -q '^-rwxr-sr-x 0/0 .* squashfs-root/bin/sgid$' &&
	printf '%s\n' "$L" | grep -q 'squashfs-root/bin/link -> ../etc/hello$' &&
	printf '%s\n' "$L" | grep -q '^dr-x------ 0/0 .* squashfs-root/d/sub$' &&
	pass "the SIF has the setuid/setgid files, symlinks, a 0500 directory" ||
	fail "the SIF's special files ($L)"
if [ $ROOT = yes ]; then
	printf '%s\n' "$L" | grep -q '^-rw-r--r-- 1000/1000 .* squashfs-root/d/user$' &&
		printf '%s\n' "$L" | grep -q '^crw--w---- 0/0 *1, *3 .* squashfs-root/d/null$' &&
		printf '%s\n' "$L" | grep -q '^prw-r--r-- 0/0 .* squashfs-root/d/fifo$' &&
		pass "the SIF has a file of uid 1000, a device and a fifo" ||
		fail "the SIF's owners and devices ($L)"
fi

# ------------------------------------------------------------ SIF -> SIF
run "$SIFBUILD" build "$T/b.sif" "$T/a.sif"
expect_rc 0 "SIF -> SIF"
same_listing "SIF -> SIF: the same unsquashfs -lln listing" "$T/a.sif" "$T/b.sif"
[ "$(part_sum "$T/a.sif")" = "$(part_sum "$T/b.sif")" ] &&
	pass "SIF -> SIF: the same partition bytes (contents, xattrs, hard links)" ||
	fail "SIF -> SIF: partition bytes differ"
cmp -s "$T/a.sif" "$T/b.sif" && pass "SIF -> SIF: byte-identical SIF (SOURCE_DATE_EPOCH)" ||
	fail "SIF -> SIF: SIF files differ"
run "$SIFBUILD" sif dump 1 "$T/b.sif"
[ "$OUT" = "bootstrap: localimage" ] && pass "SIF -> SIF: the definition names no host path" ||
	fail "SIF -> SIF: definition ($OUT)"

# --sandbox from a SIF still works, and packs back to the same tree
rm -rf "$T/sbx"
run "$SIFBUILD" build --sandbox "$T/sbx" "$T/a.sif"
[ $RC -eq 0 ] && [ "$(cat "$T/sbx/etc/hello")" = "hello from the tree" ] &&
	pass "SIF -> --sandbox DIR" || fail "SIF -> --sandbox DIR (rc $RC: $ERR)"
if [ $ROOT = yes ]; then
	run "$SIFBUILD" build "$T/c.sif" "$T/sbx"
	same_listing "SIF -> sandbox -> SIF: the same listing" "$T/a.sif" "$T/c.sif"
fi

# a bare SquashFS image as the source
"$SIFBUILD" sif dump "$(part_id "$T/a.sif")" "$T/a.sif" >"$T/p.sqfs"
run "$SIFBUILD" build "$T/q.sif" "$T/p.sqfs"
expect_rc 0 "SquashFS file -> SIF"
cmp -s "$T/a.sif" "$T/q.sif" && pass "SquashFS file -> SIF: byte-identical to the original SIF" ||
	fail "SquashFS file -> SIF differs"
rm -rf "$T/sbq"
run "$SIFBUILD" build --sandbox "$T/sbq" "$T/p.sqfs"
[ $RC -eq 0 ] && [ "$(cat "$T/sbq/d/sub/file")" = inside ] &&
	pass "SquashFS file -> --sandbox DIR" || fail "SquashFS file -> --sandbox (rc $RC: $ERR)"

# the source's oci-config.json object is carried over; a bad one is dropped
printf '{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]}' >"$T/cfg.json"
cp "$T/a.sif" "$T/o.sif"
"$SIFBUILD" sif add "$T/o.sif" "$T/cfg.json" --datatype 6 --groupid 1 --filename oci-config.json
run "$SIFBUILD" build "$T/o2.sif" "$T/o.sif"
id=$(obj_id oci-config.json "$T/o2.sif")
[ $RC -eq 0 ] && [ -n "$id" ] && [ "$("$SIFBUILD" sif dump "$id" "$T/o2.sif")" = "$(cat "$T/cfg.json")" ] &&
	pass "SIF -> SIF: oci-config.json carried over unchanged" ||
	fail "SIF -> SIF: oci-config.json (rc $RC, id '$id', $ERR)"
printf 'not json' >"$T/bad.json"
cp "$T/a.sif" "$T/ob.sif"
"$SIFBUILD" sif add "$T/ob.sif" "$T/bad.json" --datatype 6 --groupid 1 --filename oci-config.json
run "$SIFBUILD" build "$T/ob2.sif" "$T/ob.sif"
[ $RC -eq 0 ] && [ -z "$(obj_id oci-config.json "$T/ob2.sif")" ] &&
	printf '%s\n' "$ERR" | grep -q 'oci-config.json object is not a JSON object' &&
	pass "a bad oci-config.json is dropped with a warning" ||
	fail "bad oci-config.json (rc $RC, $ERR)"

# ------------------------------------------------------------ bad images
bad_image() { # DESC FILE PATTERN
	rm -f "$T/out.sif"
	run "$SIFBUILD" build "$T/out.sif" "$2"
	[ $RC -ne 0 ] && printf '%s\n' "$ERR" | grep -Eq -- "$3" && [ ! -e "$T/out.sif" ] &&
		pass "$1: refused ($ERR)" || fail "$1 (rc $RC: $ERR)"
	expect_one_line_err "$1: one line"
	nothing_left "$1: no temp dirs left" "$T/tmp"
	no_temp_beside "$1: no temp files beside the target" "$T"
}
mkdir -p "$T/bad"
head -c 200000 "$T/a.sif" >"$T/bad/trunc.sif"
bad_image "truncated SIF" "$T/bad/trunc.sif" "bad/trunc.sif: not a valid SIF image: .*past the end"
cp "$T/a.sif" "$T/bad/nosb.sif"
off=$("$SIFBUILD" sif info "$(part_id "$T/a.sif")" "$T/a.sif" | sed -n 's/^ *Offset: *//p')
size=$("$SIFBUILD" sif info "$(part_id "$T/a.sif")" "$T/a.sif" | sed -n 's/^ *Size: *//p')
dd if=/dev/zero of="$T/bad/nosb.sif" bs=1 seek="$off" count=96 conv=notrunc 2>/dev/null
bad_image "SIF with a zeroed SquashFS superblock" "$T/bad/nosb.sif" "bad/nosb.sif: .*SquashFS superblock"
cp "$T/a.sif" "$T/bad/data.sif"
dd if=/dev/zero of="$T/bad/data.sif" bs=1 seek=$((off + size / 3)) count=4096 conv=notrunc 2>/dev/null
bad_image "SIF with corrupted data blocks" "$T/bad/data.sif" "bad/data.sif: "
"$SIFBUILD" sif new "$T/bad/empty.sif"
bad_image "SIF without a partition" "$T/bad/empty.sif" "bad/empty.sif: no primary system partition"
head -c 8192 /dev/zero >"$T/zero"
partition_sif() { # FILE FSTYPE: a SIF whose primary partition has that type
	"$SIFBUILD" sif new "$1" &&
		"$SIFBUILD" sif add "$1" "$T/zero" --datatype 4 --parttype 2 --partfs "$2" --partarch amd64
}
partition_sif "$T/bad/ext3.sif" 2
bad_image "SIF with an ext3 partition" "$T/bad/ext3.sif" "bad/ext3.sif: the primary partition is Ext3"
partition_sif "$T/bad/crypt.sif" 5
bad_image "SIF with an encrypted partition" "$T/bad/crypt.sif" "bad/crypt.sif: the primary partition is encrypted"
printf 'hsqs-not-really' >"$T/bad/fake.sqfs"
bad_image "broken SquashFS file" "$T/bad/fake.sqfs" "bad/fake.sqfs: .*SquashFS superblock"

# ------------------------------------------------------------ as a plain user
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$T/u" \
	SIFBUILD_TMPDIR="$T/u/tmp" SIFBUILD_CACHEDIR="$T/u/cache" "$@"; }
USER_OK=no
if [ $ROOT = yes ] && command -v setpriv >/dev/null 2>&1; then
	chmod 755 "$T"
	mkdir -p "$T/u/tmp" && cp "$T/a.sif" "$T/u/a.sif" && chown -R 65534:65534 "$T/u"
	if as_user test -x "$SIFBUILD" -a -r "$T/u/a.sif"; then USER_OK=yes; else
		echo "# the build tree is not reachable by uid 65534: plain-user checks skipped"; fi
fi
if [ $USER_OK = yes ]; then
	run as_user "$SIFBUILD" build "$T/u/b.sif" "$T/u/a.sif"
	expect_rc 0 "[user] SIF -> SIF (owners, devices, xattrs through the ownership map)"
	same_listing "[user] SIF -> SIF: the same listing (uid 1000, devices kept)" "$T/a.sif" "$T/u/b.sif"
	cmp -s "$T/a.sif" "$T/u/b.sif" && pass "[user] SIF -> SIF: byte-identical SIF" ||
		fail "[user] SIF -> SIF: SIF files differ"
	nothing_left "[user] no temp dirs left" "$T/u/tmp"
elif [ $ROOT = no ]; then
	echo "# running as a plain user: the SIF -> SIF checks above were the unprivileged ones"
fi

# ------------------------------------------------------------ oras
F="$S/tests/fixtures/registry.sh"
for c in docker-registry curl; do
	command -v $c >/dev/null 2>&1 || { echo "# SKIP oras: $c not installed"; finish; exit $?; }
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
trap 'sh "$F" stop "$T/reg" 2>/dev/null; chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
PORT=$(sh "$F" start "$T/reg") || { fail "oras: cannot start the registry"; finish; exit 1; }
REF=127.0.0.1:$PORT/test/sif
run "$SIFBUILD" push --nohttps "$T/o.sif" "oras://$REF:1"
expect_rc 0 "oras: sifbuild push a.sif oras://$REF:1"

oras_run() { # DESC DIR [agentrun options]: agent into DIR/rootfs, packed to DIR.sqfs
	d=$2
	shift 2
	rm -rf "$d" && mkdir -p "$d"
	run "$AR" --nohttps --map "$d.map" --oci-config "$d.json" "$@" "$d/rootfs" \
		bootstrap=oras "from=$REF:1"
}
oras_check() { # DESC DIR
	[ $RC -eq 0 ] && printf '%s\n' "$OUT" | grep -qx 'keep_metadata=1' &&
		printf '%s\n' "$OUT" | grep -Eqx 'image_digest=sha256:[0-9a-f]{64}' &&
		pass "$1: the oras agent pulled and unpacked the SIF" || fail "$1: oras agent (rc $RC: $ERR)"
	"$OT" pack "$2/rootfs" "$2.sqfs" --map "$2.map" >/dev/null 2>"$T/pack.err" ||
		fail "$1: packing ($(cat "$T/pack.err"))"
	same_listing "$1: the unpacked tree packs to the pushed SIF's listing" "$T/a.sif" "$2.sqfs"
	cmp -s "$2.json" "$T/cfg.json" && pass "$1: oci-config.json carried over" ||
		fail "$1: oci-config.json"
	[ "$(ls -A "$2")" = rootfs ] && pass "$1: no temporary SIF left beside the rootfs" ||
		fail "$1: left beside the rootfs: $(ls -A "$2")"
}
oras_run "oras" "$T/or"
oras_check "oras" "$T/or"
if [ $ROOT = yes ]; then
	oras_run "oras --user" "$T/oru" --user
	oras_check "oras (request not privileged, as root)" "$T/oru"
	printf '%s\n' "$OUT" | grep -Eq '^owner_records=[1-9]' &&
		pass "oras --user: owners and devices went to the ownership map" ||
		fail "oras --user: no ownership records ($OUT)"
fi
if [ $USER_OK = yes ]; then
	as_user mkdir -p "$T/u/or"
	run as_user "$AR" --nohttps --map "$T/u/or.map" --oci-config "$T/u/or.json" "$T/u/or/rootfs" \
		bootstrap=oras "from=oras://$REF:1"
	[ $RC -eq 0 ] && as_user "$OT" pack "$T/u/or/rootfs" "$T/u/or.sqfs" --map "$T/u/or.map" \
		>/dev/null 2>&1 && pass "[user] oras agent with an oras:// From" ||
		fail "[user] oras agent (rc $RC: $ERR)"
	same_listing "[user] oras: the same listing as the pushed SIF" "$T/a.sif" "$T/u/or.sqfs"
fi
mkdir -p "$T/orx"
run "$AR" --nohttps "$T/orx/rootfs" bootstrap=oras "from=$REF:missing"
[ $RC -ne 0 ] && printf '%s\n' "$ERR" | grep -q "oras://$REF:missing" &&
	pass "oras: a missing tag is an error naming the reference" || fail "oras: missing tag ($ERR)"
run "$AR" --nohttps "$T/orx/rootfs" bootstrap=oras
[ $RC -ne 0 ] && printf '%s\n' "$ERR" | grep -q "needs a From: line" &&
	pass "oras: no From: is refused" || fail "oras: no From: ($ERR)"
run "$AR" "$T/orx/rootfs" bootstrap=localimage "from=$T/a.sif" fingerprints=ABCD
[ $RC -ne 0 ] && printf '%s\n' "$ERR" | grep -q "Fingerprints: .*not supported" &&
	pass "localimage: Fingerprints: is refused, not ignored" || fail "localimage fingerprints ($ERR)"
finish
