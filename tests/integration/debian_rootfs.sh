# tests/integration/debian_rootfs.sh: the small Debian rootfs the slow tests
# share (sourced after lib.sh). debian_rootfs_cache makes it once
# (debootstrap minbase bookworm with rpm and passwd, as root with debootstrap
# or as a user with mmdebstrap --mode=unshare) from the machine's own mirror,
# and caches it as a tarball: $TAR in $CACHE (default
# /var/tmp/sifbuild-test-cache, or $SIFBUILD_TEST_CACHE). Exits 77 when it
# cannot be made here.
ME=$(id -u)
CACHE=${SIFBUILD_TEST_CACHE:-/var/tmp/sifbuild-test-cache}
TAR="$CACHE/bookworm-minbase-rpm.tar"

debian_rootfs_cache() {
	[ -r "$TAR" ] && return 0
	MIRROR=${SIFBUILD_DEBIAN_MIRROR:-$(debian_mirror)}
	[ -n "$MIRROR" ] || { echo "# SKIP: no Debian mirror in the apt sources"; exit 77; }
	mkdir -p "$CACHE" 2>/dev/null
	tmp="$CACHE/.build.$$"
	if [ "$ME" -eq 0 ] && command -v debootstrap >/dev/null; then
		timeout 900 debootstrap --variant=minbase --include=rpm,passwd bookworm \
			"$tmp" "$MIRROR" >"$T/bootstrap.log" 2>&1 &&
			tar --numeric-owner -C "$tmp" -cf "$TAR.part.$$" . && mv "$TAR.part.$$" "$TAR"
		rc=$?
		rm -rf "$tmp"
	elif command -v mmdebstrap >/dev/null; then
		timeout 900 mmdebstrap --mode=unshare --variant=minbase --include=rpm,passwd \
			bookworm "$TAR.part.$$" "$MIRROR" >"$T/bootstrap.log" 2>&1 &&
			mv "$TAR.part.$$" "$TAR"
		rc=$?
	else
		echo "# SKIP: no cached rootfs and neither root+debootstrap nor mmdebstrap"
		exit 77
	fi
	[ $rc -eq 0 ] || { tail -20 "$T/bootstrap.log"; echo "not ok - making the rootfs"; exit 1; }
	chmod 644 "$TAR"
}
