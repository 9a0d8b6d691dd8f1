#!/bin/sh
# tests/integration/defbuild_slow.sh: definition-file builds of a Debian
# rootfs with package installs in %post, through `sifbuild build`, in each
# privilege mode this user has (rootless-modes.md section 10: the packing
# half of cases 12 and 23). Slow: skipped (77) unless SIFBUILD_SLOW_TESTS=1.
# The rootfs comes from the cached tarball of debian_rootfs.sh, unpacked by
# %setup (inside the build's namespace, so subuid mode keeps real owners).
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
[ "${SIFBUILD_SLOW_TESTS:-0}" = 1 ] || { echo "# SKIP: set SIFBUILD_SLOW_TESTS=1"; exit 77; }
for t in dpkg-deb unsquashfs; do
	command -v $t >/dev/null || { echo "# SKIP: $t missing"; exit 77; }
done
. "$S/tests/integration/debian_rootfs.sh"
debian_rootfs_cache
export SIFBUILD_TMPDIR="$T/tmp"
mkdir -p "$SIFBUILD_TMPDIR"

# A .deb whose postinst adds a system group and gives a file to it, setuid.
mkdir -p "$T/deb/DEBIAN" "$T/deb/usr/lib/sbtest"
printf '#!/bin/sh\necho helper\n' >"$T/deb/usr/lib/sbtest/helper"
chmod 755 "$T/deb/usr/lib/sbtest/helper"
printf 'Package: sbtest-deb\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@invalid>\nDescription: t\n' \
	>"$T/deb/DEBIAN/control"
cat >"$T/deb/DEBIAN/postinst" <<'EOS'
#!/bin/sh
set -e
getent group sbtestgrp >/dev/null || groupadd -r sbtestgrp
dpkg-statoverride --list /usr/lib/sbtest/helper >/dev/null ||
	dpkg-statoverride --update --add root sbtestgrp 4754 /usr/lib/sbtest/helper
EOS
chmod 755 "$T/deb/DEBIAN/postinst"
dpkg-deb --root-owner-group -b "$T/deb" "$T/sbtest.deb" >/dev/null || fail "building the .deb"

cat >"$T/debian.def" <<EOF
Bootstrap: scratch

%setup
    # one ID (root-mapped modes): owners cannot be stored, take the caller's
    if [ "\$(wc -l </proc/self/uid_map)" -gt 1 ] || grep -Eq '^ *0 +0 +4294967295' /proc/self/uid_map; then
        own=--same-owner
    else
        own=--no-same-owner
    fi
    tar -C "\$APPTAINER_ROOTFS" --numeric-owner \$own -xpf $TAR --exclude='./dev/*'

%files
    $T/sbtest.deb /root/sbtest.deb

%post
    apt-get install -y -q /root/sbtest.deb
    rm /root/sbtest.deb
    mkdir /data && chown 1000:1000 /data
    getent group sbtestgrp | cut -d: -f3 > /etc/sbtestgrp.gid

%runscript
    /usr/lib/sbtest/helper
EOF

listing() {
	id=$("$SIFBUILD" sif list "$1" | awk -F'|' '/FS \(Squashfs/ {print $1+0; exit}')
	off=$("$SIFBUILD" sif info "$id" "$1" | sed -n 's/^ *Offset: *//p')
	unsquashfs -o "$off" -lln "$1" | sed 's| squashfs-root| |'
}
expect_L() { printf '%s\n' "$L" | grep -Eq "$1" && pass "$2" || fail "$2"; }

modes="seccomp"
if [ "$ME" -eq 0 ]; then
	modes="root $modes"
elif grep -q "^$(id -un):" /etc/subuid 2>/dev/null; then
	modes="subuid $modes"
fi
for m in $modes; do
	opt="--userns-mode=$m"
	[ "$m" = root ] && opt=""
	# shellcheck disable=SC2086
	run timeout -k 5 900 "$SIFBUILD" build -q $opt "$T/$m.sif" "$T/debian.def"
	expect_rc 0 "[$m] a Debian rootfs with a .deb installed in %post builds"
	[ "$RC" -eq 0 ] || { printf '%s\n' "$ERR" | tail -5; continue; }
	L=$(listing "$T/$m.sif")
	run "$SIFBUILD" run "$T/$m.sif"
	[ "$OUT" = helper ] && pass "[$m] the image runs" || fail "[$m] the image runs (got '$OUT' / $ERR)"
	case $m in
	root | subuid)
		gid=$("$SIFBUILD" exec "$T/$m.sif" cat /etc/sbtestgrp.gid)
		expect_L "^-rwsr-xr-- 0/$gid .* /usr/lib/sbtest/helper\$" \
			"[$m] 12: dpkg-statoverride gives root:sbtestgrp ($gid) 4754 in the SIF"
		expect_L "^drwxr-xr-x 1000/1000 .* /data\$" "[$m] chown 1000:1000 in %post is kept"
		expect_L "^drwx------ 0/0 .* /root\$" "[$m] /root is root-owned, mode 0700"
		;;
	seccomp)
		expect_L "^-rwsr-xr-- 0/0 .* /usr/lib/sbtest/helper\$" \
			"[seccomp] 12: mode 4754 kept, owner root:root (the documented lie)"
		if printf '%s\n' "$L" | awk '{print $2}' | grep -qv '^0/0$'; then
			fail "[seccomp] 23: every entry is owned 0:0"; else pass "[seccomp] 23: every entry is owned 0:0"; fi
		if printf '%s\n' "$L" | grep -q '^[cb]'; then
			fail "[seccomp] 23: no device nodes in the SIF"; else pass "[seccomp] 23: no device nodes in the SIF"; fi
		;;
	esac
done
# Bootstrap: debootstrap from the machine's own mirror, then apt-get in %post
# (issue 8): as real root, and as this user in subuid and seccomp modes.
MIRROR=${SIFBUILD_DEBIAN_MIRROR:-$(debian_mirror)}
if command -v debootstrap >/dev/null && [ -n "$MIRROR" ]; then
	cat >"$T/deb.def" <<EOF
Bootstrap: debootstrap
OSVersion: bookworm
MirrorURL: $MIRROR

%post
    apt-get update -q
    apt-get install -y -q --no-install-recommends hello
    apt-get clean

%runscript
    exec hello "\$@"
EOF
	for m in $modes; do
		opt="--userns-mode=$m"
		[ "$m" = root ] && opt=""
		# shellcheck disable=SC2086
		run timeout -k 5 900 "$SIFBUILD" build -q $opt "$T/deb-$m.sif" "$T/deb.def"
		expect_rc 0 "[$m] Bootstrap: debootstrap + apt-get install in %post"
		[ "$RC" -eq 0 ] || { printf '%s\n' "$ERR" | tail -5; continue; }
		run "$SIFBUILD" run "$T/deb-$m.sif" -g sifbuild
		[ "$OUT" = sifbuild ] && pass "[$m] the debootstrap image runs the installed package" ||
			fail "[$m] the debootstrap image runs (got '$OUT' / $ERR)"
		L=$(listing "$T/deb-$m.sif")
		case $m in
		root | subuid)
			expect_L "^-rw-r----- 0/42 .* /etc/shadow\$" "[$m] /etc/shadow is root:shadow"
			expect_L "^drwxrwsr-x 0/50 .* /var/local\$" "[$m] /var/local is root:staff 2775"
			;;
		seccomp)
			expect_L "^-rw-r----- 0/0 .* /etc/shadow\$" "[seccomp] /etc/shadow mode kept, owner root"
			;;
		esac
	done
else
	echo "# SKIP: debootstrap or a Debian mirror missing"
fi

[ -z "$(ls -A "$SIFBUILD_TMPDIR")" ] && pass "no build directories left" ||
	fail "no build directories left ($(ls -A "$SIFBUILD_TMPDIR"))"
finish
