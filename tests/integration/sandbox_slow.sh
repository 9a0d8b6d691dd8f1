#!/bin/sh
# tests/integration/sandbox_slow.sh: package installs in the build sandbox
# (rootless-modes.md section 10, cases 9, 12, 17, 20, 21) inside a small
# Debian rootfs. Slow and needs the network: skipped (77) unless
# SIFBUILD_SLOW_TESTS=1.
#
# The rootfs (debootstrap minbase bookworm with rpm) is made once, as root
# with debootstrap or as a user with mmdebstrap --mode=unshare, and cached as
# a tarball in $SIFBUILD_TEST_CACHE (default /var/tmp/sifbuild-test-cache).
# Each mode unpacks its own copy: subuid mode inside its namespace (real
# owners), the others as the user. A local .deb (postinst with useradd and
# dpkg-statoverride) and a local .rpm (%attr(0750,root,daemon)) are built
# here with dpkg-deb and rpmbuild.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
SBRUN="$B/tests/sandbox/sbrun"
ME=$(id -u)
[ "${SIFBUILD_SLOW_TESTS:-0}" = 1 ] || { echo "# SKIP: set SIFBUILD_SLOW_TESTS=1"; exit 77; }
for t in dpkg-deb rpmbuild; do
	command -v $t >/dev/null || { echo "# SKIP: $t missing (Debian packages dpkg, rpm)"; exit 77; }
done
# Trees owned by subordinate IDs can only be removed from the namespace.
cleanup() {
	for d in "$T"/r-*; do
		[ -d "$d" ] && "$SBRUN" --rm="$d" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT

# ------------------------------------------------------------- the rootfs

. "$S/tests/integration/debian_rootfs.sh"
debian_rootfs_cache

# unpack MODE DIR: subuid mode unpacks inside the namespace so owners are
# real; the others as the caller (everything owned by the caller). Device
# nodes cannot be made without privilege and /dev is mounted anyway.
unpack() {
	mkdir -p "$2"
	if [ "$1" = subuid ] || [ "$1" = root ]; then
		printf 'tar -C "$APPTAINER_ROOTFS" --numeric-owner -xpf %s --exclude=./dev/*\n' "$TAR" \
			>"$T/untar.sh"
		"$SBRUN" --mode="$1" --setup="$T/untar.sh" "$2" >/dev/null 2>"$T/untar.err"
	else
		tar -C "$2" --no-same-owner -xpf "$TAR" --exclude='./dev/*' 2>"$T/untar.err"
	fi
}

# ------------------------------------------------------ the test packages

mkdir -p "$T/deb/DEBIAN" "$T/deb/usr/lib/sbtest"
printf '#!/bin/sh\necho helper\n' >"$T/deb/usr/lib/sbtest/helper"
chmod 755 "$T/deb/usr/lib/sbtest/helper"
cat >"$T/deb/DEBIAN/control" <<'EOF'
Package: sbtest-deb
Version: 1.0
Architecture: all
Maintainer: sifbuild tests <tests@invalid>
Description: sifbuild sandbox test package
EOF
cat >"$T/deb/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
getent group sbtestgrp >/dev/null || groupadd -r sbtestgrp
getent passwd sbtestusr >/dev/null || useradd -r -m -g sbtestgrp -d /var/lib/sbtestusr sbtestusr
dpkg-statoverride --list /usr/lib/sbtest/helper >/dev/null ||
	dpkg-statoverride --update --add root sbtestgrp 4754 /usr/lib/sbtest/helper
EOF
chmod 755 "$T/deb/DEBIAN/postinst"
dpkg-deb --root-owner-group -b "$T/deb" "$T/sbtest.deb" >/dev/null || fail "building the .deb"

mkdir -p "$T/rpm/SPECS" "$T/rpm/SOURCES"
cat >"$T/rpm/SPECS/sbtest.spec" <<'EOF'
Name: sbtest-rpm
Version: 1.0
Release: 1
Summary: sifbuild sandbox test package
License: MIT
BuildArch: noarch
%description
Test package with a file owned by group daemon.
%install
mkdir -p %{buildroot}/opt/sbtest
echo data > %{buildroot}/opt/sbtest/secret
%files
%attr(0750,root,daemon) /opt/sbtest/secret
EOF
rpmbuild --define "_topdir $T/rpm" --define '_build_id_links none' -bb \
	"$T/rpm/SPECS/sbtest.spec" >"$T/rpmbuild.log" 2>&1 || fail "building the .rpm"
for RPMFILE in "$T"/rpm/RPMS/noarch/*.rpm; do break; done

# ------------------------------------------------------------ per mode

sbr() { run timeout -k 5 600 "$SBRUN" "$@"; }

# install_cases MODE: apt-get update (network), the .deb, the .rpm.
install_cases() {
	m=$1 R="$T/r-$m"
	unpack "$m" "$R" || { fail "[$m] unpacking: $(cat "$T/untar.err")"; return; }
	# Not under /tmp: the sandbox mounts a fresh tmpfs there.
	cp "$T/sbtest.deb" "$R/root/" && cp "$RPMFILE" "$R/root/sbtest.rpm"
	sbr --mode="$m" "$R" -- /bin/sh -c 'apt-get update -q >/tmp/update.log 2>&1; echo "update=$?"
		apt-get install -y -q /root/sbtest.deb >/tmp/install.log 2>&1; echo "install=$?"
		stat -c "helper=%U:%G:%a" /usr/lib/sbtest/helper
		stat -c "home=%U" /var/lib/sbtestusr 2>/dev/null
		rpm -i --nodeps --nosignature /root/sbtest.rpm >/tmp/rpm.log 2>&1; echo "rpm=$?"
		stat -c "rpmfile=%U:%G:%a" /opt/sbtest/secret
		echo "su=$(su -s /bin/sh nobody -c "id -u" 2>/dev/null)"
		tail -3 /tmp/install.log /tmp/rpm.log >&2'
	case $m in
	rootmap)
		# 9: plain root-mapped mode cannot run apt (its sandbox drops privileges).
		expect_match out '^update=[1-9]' "[rootmap] 9: apt-get update fails without configuration"
		expect_match out '^install=[1-9]' "[rootmap] the .deb (dpkg-statoverride) fails"
		expect_match out '^rpm=[1-9]' "[rootmap] the .rpm with %attr(...,daemon) fails"
		;;
	*)
		expect_match out '^update=0$' "[$m] 20: apt-get update works"
		expect_match out '^install=0$' "[$m] 12/17/20: the .deb with useradd + dpkg-statoverride installs"
		expect_match out '^rpm=0$' "[$m] 17/21: rpm -i of %attr(0750,root,daemon) works"
		;;
	esac
	case $m in
	subuid | root | fakeroot)
		expect_match out '^su=65534$' "[$m] 11/16: su nobody -c 'id -u' prints 65534" ;;
	seccomp) expect_match out '^su=0$' "[seccomp] 19: su nobody 'works' but id -u stays 0 (the lie)" ;;
	rootmap) expect_match out '^su=$' "[rootmap] 8: su nobody fails" ;;
	esac
	case $m in
	subuid | root)
		expect_match out '^helper=root:sbtestgrp:4754$' "[$m] 12: statoverride gives root:sbtestgrp 4754"
		expect_match out '^home=sbtestusr$' "[$m] 11: useradd -m makes a home owned by the user"
		expect_match out '^rpmfile=root:daemon:750$' "[$m] 21: rpm file is root:daemon 0750"
		;;
	seccomp)
		expect_match out '^helper=root:root:4754$' "[seccomp] 12: mode 4754 kept, owner stays root:root (the lie)"
		;;
	esac
	if [ "$m" = seccomp ]; then
		# 20: the hook is what makes apt work.
		sbr --mode=seccomp "$R" -- /bin/sh -c 'env -u APT_CONFIG apt-get update -q 2>&1'
		if [ "$RC" -ne 0 ] && printf '%s' "$OUT" | grep -q 'Could not switch group'; then
			pass "[seccomp] 20: without APT_CONFIG apt fails with 'Could not switch group'"
		else fail "[seccomp] 20: without the hook (rc $RC): $(printf '%s' "$OUT" | tail -3)"; fi
		if [ ! -e "$R/.sifbuild" ] && ! grep -rq 'Sandbox::User' "$R/etc/apt" 2>/dev/null; then
			pass "[seccomp] 20: the image's apt configuration is untouched"
		else fail "[seccomp] 20: apt configuration changed in the image"; fi
	fi
	"$SBRUN" --mode="$m" --rm="$R" >/dev/null 2>"$T/rm.err"
	if [ ! -e "$R" ]; then pass "[$m] 13: the tree is removed afterwards"; else
		fail "[$m] 13: removal failed: $(cat "$T/rm.err")"; fi
}

MODES=""
if [ "$ME" -eq 0 ]; then
	MODES="root"
else
	"$SBRUN" --mode=subuid --rm="$T/none" >/dev/null 2>&1 && MODES="subuid"
fi
MODES="$MODES seccomp fakeroot rootmap"
for m in $MODES; do
	install_cases "$m"
done

finish
