#!/bin/sh
# tests/integration/journal_slow.sh: the ownership journal against real root
# (issue 9). One definition whose %post runs useradd -m, chown alice:alice,
# install -o daemon -g daemon, a local .deb with non-root-owned files whose
# postinst runs chown and dpkg-statoverride, and mknod, on a Debian rootfs:
# built as real root and as the plain user sbtest with
# --userns-mode=journal, the two `unsquashfs -lln` listings must be equal
# except for timestamps. Needs root (for the reference build) and
# SIFBUILD_SLOW_TESTS=1; the rootfs is the cached tarball of
# debian_rootfs.sh, packed once into a base SIF as root. Then the same
# comparison for `Bootstrap: debootstrap` (minbase bookworm from the apt
# sources' mirror), whose host tool is journaled like %post.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
[ "${SIFBUILD_SLOW_TESTS:-0}" = 1 ] || { echo "# SKIP: set SIFBUILD_SLOW_TESTS=1"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "# SKIP: the reference build needs root"; exit 77; }
for t in dpkg-deb unsquashfs; do
	command -v $t >/dev/null || { echo "# SKIP: $t missing"; exit 77; }
done
. "$S/tests/integration/debian_rootfs.sh"
. "$S/tests/integration/journal_lib.sh"
journal_user_setup || exit 77
debian_rootfs_cache
export SIFBUILD_TMPDIR="$T/tmp"
mkdir -p "$SIFBUILD_TMPDIR"

# A .deb whose data is owned by 1000:1000 and 2:2 in its tar, and whose
# postinst chowns, installs and sets a statoverride.
D="$T/deb"
mkdir -p "$D/DEBIAN" "$D/usr/lib/jtest" "$D/usr/share/jtest" "$D/var/lib/jtest-owned"
printf '#!/bin/sh\necho helper\n' >"$D/usr/lib/jtest/helper"
chmod 755 "$D/usr/lib/jtest/helper"
echo data >"$D/usr/share/jtest/data"
echo f >"$D/var/lib/jtest-owned/f"
chown 1000:1000 "$D/usr/share/jtest/data"
chown -R 2:2 "$D/var/lib/jtest-owned"
printf 'Package: jtest\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@invalid>\nDescription: t\n' \
	>"$D/DEBIAN/control"
cat >"$D/DEBIAN/postinst" <<'EOS'
#!/bin/sh
set -e
mkdir -p /var/lib/x
chown daemon:daemon /var/lib/x
install -o daemon -g daemon -m 750 -d /var/cache/jtest
dpkg-statoverride --list /usr/lib/jtest/helper >/dev/null ||
	dpkg-statoverride --update --add root mail 4754 /usr/lib/jtest/helper
EOS
chmod 755 "$D/DEBIAN/postinst"
dpkg-deb -b "$D" "$T/jtest.deb" >/dev/null || fail "building the .deb"

# The base image, as root: the tarball's real owners.
cat >"$T/base.def" <<EOF
Bootstrap: scratch

%setup
    tar -C "\$APPTAINER_ROOTFS" --numeric-owner --same-owner -xpf $TAR --exclude='./dev/*'
EOF
run timeout -k 5 900 "$SIFBUILD" build -q "$T/base.sif" "$T/base.def"
expect_rc 0 "the Debian base image builds as root"
[ "$RC" -eq 0 ] || { printf '%s\n' "$ERR" | tail -5; finish; exit 1; }

cat >"$T/post.def" <<EOF
Bootstrap: localimage
From: $T/base.sif

%files
    $T/jtest.deb /root/jtest.deb

%post
    useradd -m alice
    touch /home/alice/f
    chown alice:alice /home/alice/f
    install -o daemon -g daemon -m 640 /etc/hostname /var/lib/daemon-file
    install -o daemon -g daemon -m 750 -d /var/lib/daemon-dir
    dpkg -i /root/jtest.deb
    rm /root/jtest.deb
    # (|| true: the seccomp control cannot make device nodes)
    mknod -m 660 /var/lib/jtest-null c 1 3 || true
    chgrp disk /var/lib/jtest-null || true
    sed -i 's/^#*alias/alias/' /root/.bashrc
    stat -c '%U:%G' /var/lib/x >/var/lib/x.stat
EOF
chown -R sbtest "$T"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(now_ms)
run timeout -k 5 900 "$SIFBUILD" build -q "$T/root.sif" "$T/post.def"
expect_rc 0 "[root] the %post build succeeds"
t1=$(now_ms)
run timeout -k 5 900 $AS_RUN "$SIFBUILD" build -q --userns-mode=journal "$T/journal.sif" \
	"$T/post.def"
expect_rc 0 "[journal] the %post build succeeds as a plain user"
[ "$RC" -eq 0 ] || { printf '%s\n' "$ERR" | tail -5; finish; exit 1; }
t2=$(now_ms)
# Control: seccomp mode loses the owners, so the comparison must see it.
run timeout -k 5 900 $AS_RUN "$SIFBUILD" build -q --userns-mode=seccomp "$T/seccomp.sif" \
	"$T/post.def"
expect_rc 0 "[seccomp] the %post build succeeds as a plain user"
t3=$(now_ms)
echo "# build times: root $((t1 - t0)) ms, journal $((t2 - t1)) ms, seccomp $((t3 - t2)) ms"

# Listings without the date and time columns (and the size of labels.json,
# which holds the build date as text).
strip() {
	listing "$1" | sed -E 's/ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} / /
		s|^(.*) [0-9]+ /.singularity.d/labels.json$|\1 /.singularity.d/labels.json|' | sort
}
strip "$T/root.sif" >"$T/root.lst"
strip "$T/journal.sif" >"$T/journal.lst"
n=$(wc -l <"$T/root.lst")
if diff "$T/root.lst" "$T/journal.lst" >"$T/diff"; then
	pass "journal build equals the root build ($n entries; owners, modes, sizes, links, devices)"
else
	fail "journal build equals the root build ($(grep -c '^[<>]' "$T/diff") lines differ)"
	head -40 "$T/diff"
fi
strip "$T/seccomp.sif" >"$T/seccomp.lst"
if diff -q "$T/root.lst" "$T/seccomp.lst" >/dev/null; then
	fail "control: the seccomp build differs from the root build"
else
	pass "control: the seccomp build differs from the root build" \
		"($(diff "$T/root.lst" "$T/seccomp.lst" | grep -c '^<') entries)"
fi
L=$(listing "$T/journal.sif")
expect_L() { printf '%s\n' "$L" | grep -Eq "$1" && pass "$2" || fail "$2"; }
expect_L "^-rw-r----- 0/42 .* /etc/shadow\$" "[journal] /etc/shadow is root:shadow"
expect_L "^-rw-r--r-- 1000/1000 .* /home/alice/f\$" "[journal] chown alice:alice"
expect_L "^drwxr-x--- 1/1 .* /var/lib/daemon-dir\$" "[journal] install -o daemon -d"
expect_L "^-rwsr-xr-- 0/8 .* /usr/lib/jtest/helper\$" "[journal] dpkg-statoverride root:mail 4754"
expect_L "^-rw-r--r-- 1000/1000 .* /usr/share/jtest/data\$" "[journal] .deb file owned 1000:1000"
expect_L "^crw-rw---- 0/6 .* /var/lib/jtest-null\$" "[journal] mknod + chgrp disk gives a device"
X=$(extract_file "$T/journal.sif" var/lib/x.stat)
same "$X" "daemon:daemon" "[journal] stat in %post reports the journaled owner"
# Bootstrap: debootstrap (minbase bookworm): the host tool's chown and
# mknod are journaled into the stage's map, as for %post.
MIRROR=${SIFBUILD_DEBIAN_MIRROR:-$(debian_mirror)}
if ! command -v debootstrap >/dev/null || [ -z "$MIRROR" ]; then
	echo "# SKIP: debootstrap part (no debootstrap or no Debian mirror in the apt sources)"
else
	printf 'Bootstrap: debootstrap\nMirrorURL: %s\nOSVersion: bookworm\n' "$MIRROR" \
		>"$T/ds.def"
	chown sbtest "$T/ds.def"
	t0=$(now_ms)
	run timeout -k 5 1200 "$SIFBUILD" build -q "$T/ds-root.sif" "$T/ds.def"
	expect_rc 0 "[root] Bootstrap: debootstrap builds"
	t1=$(now_ms)
	run timeout -k 5 1200 $AS_RUN "$SIFBUILD" build -q --userns-mode=journal \
		"$T/ds-journal.sif" "$T/ds.def"
	expect_rc 0 "[journal] Bootstrap: debootstrap builds as a plain user"
	[ "$RC" -eq 0 ] || printf '%s\n' "$ERR" | tail -5
	t2=$(now_ms)
	# Control: seccomp mode fakes debootstrap's chowns without records.
	run timeout -k 5 1200 $AS_RUN "$SIFBUILD" build -q --userns-mode=seccomp \
		"$T/ds-seccomp.sif" "$T/ds.def"
	expect_rc 0 "[seccomp] Bootstrap: debootstrap builds as a plain user"
	t3=$(now_ms)
	echo "# debootstrap build times: root $((t1 - t0)) ms, journal $((t2 - t1)) ms," \
		"seccomp $((t3 - t2)) ms"
	# (debootstrap's log holds the build's paths: its size differs too)
	ds_strip() {
		strip "$1" | sed -E 's|^(.*) [0-9]+ /var/log/bootstrap.log$|\1 /var/log/bootstrap.log|'
	}
	ds_strip "$T/ds-root.sif" >"$T/ds-root.lst"
	ds_strip "$T/ds-journal.sif" >"$T/ds-journal.lst"
	n=$(wc -l <"$T/ds-root.lst")
	if [ "$n" -gt 1000 ] && diff "$T/ds-root.lst" "$T/ds-journal.lst" >"$T/ds.diff"; then
		pass "[debootstrap] journal build equals the root build ($n entries)"
	else
		fail "[debootstrap] journal build equals the root build ($n entries," \
			"$(grep -c '^[<>]' "$T/ds.diff" 2>/dev/null) lines differ)"
		head -40 "$T/ds.diff"
	fi
	ds_strip "$T/ds-seccomp.sif" >"$T/ds-seccomp.lst"
	if diff -q "$T/ds-root.lst" "$T/ds-seccomp.lst" >/dev/null; then
		fail "[debootstrap] control: the seccomp build differs from the root build"
	else
		pass "[debootstrap] control: the seccomp build differs from the root build" \
			"($(diff "$T/ds-root.lst" "$T/ds-seccomp.lst" | grep -c '^<') entries)"
	fi
	L=$(listing "$T/ds-journal.sif")
	expect_L "^-rw-r----- 0/42 .* /etc/shadow\$" "[debootstrap journal] /etc/shadow is root:shadow"
	expect_L "^drwxrwsr-x 0/8 .* /var/mail\$" "[debootstrap journal] /var/mail is root:mail"
	expect_L "^-rwxr-sr-x 0/42 .* /usr/bin/chage\$" "[debootstrap journal] chage is setgid shadow"
fi
[ -z "$(ls -A "$SIFBUILD_TMPDIR")" ] && pass "no build directories left" ||
	fail "no build directories left ($(ls -A "$SIFBUILD_TMPDIR"))"
finish
