#!/bin/sh
# tests/integration/debstrap.sh: the package-manager bootstrap agents
# (issue 8) driven by tests/bootstrap/pkgrun (validate, choose the
# sandbox, materialise, then a %post-style command in the result).
#
# Fast part (always): header errors at FILE:LINE before anything runs, the
# missing-tool line, SLE registration refused, an unreachable mirror.
# Slow part (SIFBUILD_SLOW_TESTS=1 and a Debian mirror in the apt sources;
# rootless-modes.md section 10 case 25): `Bootstrap: debootstrap` minbase
# bookworm with Include and INCLUDE, then apt-get install of a small package
# in the result: one full run in the first mode (root as root, subuid as a
# user with a subordinate range, else seccomp) every time, with the owners
# checked; seccomp mode runs the agent fully when the cached result
# ($SIFBUILD_TEST_CACHE/debstrap-bookworm.tar, at most 7 days old) is
# missing (and then writes it when it can), else only its %post on the
# cache. SIFBUILD_DEBSTRAP_FULL=1 runs every mode (also fakeroot) fully.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
AR="$B/tests/bootstrap/pkgrun"
ME=$(id -u)
CACHE=${SIFBUILD_TEST_CACHE:-/var/tmp/sifbuild-test-cache}
CTAR="$CACHE/debstrap-bookworm.tar"
# Trees owned by subordinate IDs can only be removed from the namespace.
cleanup() {
	[ -n "${HTTPD:-}" ] && kill "$HTTPD" 2>/dev/null
	[ -d "$T/gnupg" ] && GNUPGHOME="$T/gnupg" gpgconf --kill gpg-agent 2>/dev/null
	for d in "$T"/r-*; do
		[ -d "$d" ] && "$AR" --userns-mode=subuid --rm="$d" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT

# def NAME HEADER-LINES...: writes $T/NAME.def (one header line per argument).
def() {
	f="$T/$1.def"
	shift
	: >"$f"
	for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
	printf '\n%%post\n    echo post\n' >>"$f"
}

# check NAME PATTERN DESC: --validate-only of $T/NAME.def fails with status 2
# and one line matching PATTERN.
check() {
	mkdir -p "$T/empty"
	run "$AR" --validate-only "$T/$1.def" "$T/empty"
	if [ "$RC" -eq 2 ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] &&
		printf '%s\n' "$ERR" | grep -Eq -- "$2"; then pass "$3"; else
		fail "$3 (exit $RC: $ERR)"; fi
}

# --------------------------------------------------------- header errors

MIRROR=${SIFBUILD_DEBIAN_MIRROR:-$(debian_mirror)}
M=${MIRROR:-http://127.0.0.1:9/debian}
D="$T/"
def nomirror 'Bootstrap: debootstrap' 'OSVersion: bookworm' 'Include: less'
check nomirror "^pkgrun: ${D}nomirror.def:1: Bootstrap: debootstrap needs a MirrorURL: line" \
	"missing MirrorURL: error at the Bootstrap line"
def noosv '# comment' 'Bootstrap: debootstrap' "MirrorURL: $M"
check noosv "${D}noosv.def:2: Bootstrap: debootstrap needs an OSVersion: line" \
	"missing OSVersion: error at FILE:LINE"
def badurl 'Bootstrap: debootstrap' 'OSVersion: bookworm' 'MirrorURL: deb.invalid/debian'
check badurl "${D}badurl.def:3: MirrorURL: 'deb.invalid/debian' is not an http" \
	"MirrorURL without a scheme: error at its line"
def badsuite 'Bootstrap: debootstrap' 'OSVersion: --foreign' "MirrorURL: $M"
check badsuite "${D}badsuite.def:2: OSVersion: '--foreign' is not a suite name" \
	"an option as OSVersion is refused"
def badinc 'Bootstrap: debootstrap' 'OSVersion: bookworm' "MirrorURL: $M" \
	'Include: less --no-check-gpg'
check badinc "${D}badinc.def:4: Include: bad package name '--no-check-gpg'" \
	"an option in Include is refused at its line"
def good 'Bootstrap: debootstrap' 'OSVersion: bookworm' "MirrorURL: $M" 'Include: less'
run env INCLUDE='vim,;rm' "$AR" --validate-only "$T/good.def" "$T/empty"
expect_rc 2 "a bad name in the environment's INCLUDE is refused"
expect_match err "INCLUDE \(environment\): bad package name 'vim,;rm'|bad package name ';rm'" \
	"... naming INCLUDE"
run "$AR" --arch=sparc --validate-only "$T/good.def" "$T/empty"
expect_match err "good.def:1: Bootstrap: debootstrap: no Debian architecture for sparc" \
	"an architecture Debian does not know is refused"
if command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ]; then
	run "$AR" --validate-only "$T/good.def" "$T/empty"
	expect_rc 0 "a complete debootstrap header validates"
fi

def yumnomirror 'Bootstrap: dnf' 'OSVersion: 9' 'Include: less'
check yumnomirror "${D}yumnomirror.def:1: Bootstrap: dnf needs a MirrorURL: line" \
	"dnf: missing MirrorURL at the Bootstrap line"
def yumosv 'Bootstrap: yum' 'MirrorURL: http://127.0.0.1:9/%{osversion}/os/$basearch/'
check yumosv "${D}yumosv.def:2: %\{OSVERSION\} in the URL needs an OSVersion: line" \
	"yum: %{OSVERSION} without OSVersion"
def yumsetopt 'Bootstrap: yum' 'MirrorURL: http://127.0.0.1:9/os/' 'SetOpt: --foo'
check yumsetopt "${D}yumsetopt.def:3: SetOpt: '--foo' is not an option=value setting" \
	"yum: SetOpt must be option=value"
def zsle 'Bootstrap: zypper' 'MirrorURL: http://127.0.0.1:9/oss/' 'Product: SLES' \
	'User: me' 'Regcode: 123'
check zsle "${D}zsle.def:3: SLE registration .* is not supported by sifbuild" \
	"zypper: SLE registration keys are refused as unsupported"
def zother 'Bootstrap: zypper' 'MirrorURL: http://127.0.0.1:9/oss/' \
	'OtherURL1: http://127.0.0.1:9/a/' 'OtherURL3: http://127.0.0.1:9/b/'
check zother "${D}zother.def:4: OtherURL3: OtherURL numbers must start at 0 or 1 and be consecutive" \
	"zypper: OtherURL numbering must be consecutive"

# Missing tools: one line naming the Debian package (a PATH without them;
# the agents look in PATH, then /usr/sbin and /sbin).
for t in dnf:yum zypper:zypper; do
	tool=${t%%:*} agent=${t#*:}
	def "no$tool" "Bootstrap: $agent" 'MirrorURL: http://127.0.0.1:9/os/'
	mkdir -p "$T/empty"
	run env PATH=/nonexistent "$AR" --validate-only "$T/no$tool.def" "$T/empty"
	if [ "$RC" -eq 2 ] && [ "$ERR" = "pkgrun: $tool not found in PATH: install the Debian package $tool" ]
	then pass "$agent: a missing $tool is one line naming the Debian package"
	else fail "$agent: missing $tool (exit $RC): $ERR"; fi
done

# -------------------------------------------------- dnf, local repository

# A repository made here (rpmbuild, createrepo_c): a release package with
# /etc/redhat-release, passwd and group; busybox providing coreutils and
# /bin/sh; a package with a %attr(0750,root,daemon) file and a %post
# scriptlet; signed (packages and repomd.xml) when gpg and rpmsign exist, and
# an unsigned copy. Served over file:// and http on 127.0.0.1. dnf runs from
# both; zypper (which refuses unsigned metadata) from the signed one.
mk_repo() {
	BB=$(command -v busybox) && ldd "$BB" 2>&1 | grep -q 'not a dynamic' || return 1
	mkdir -p "$T/rpm/SPECS" "$T/rpm/SOURCES" "$T/repo" && cp "$BB" "$T/rpm/SOURCES/busybox"
	cat >"$T/rpm/SPECS/t.spec" <<'EOF2'
Name: sbtest-release
Version: 1.0
Release: 1
Summary: sifbuild test release
License: MIT
BuildArch: noarch
Source0: busybox
Provides: aaa_base
%define _binaries_in_noarch_packages_terminate_build 0
%description
Release file, passwd and group.
%package -n sbtest-coreutils
Summary: busybox as coreutils and /bin/sh
Provides: coreutils
Provides: /bin/sh
%description -n sbtest-coreutils
busybox.
%package -n sbtest-daemon
Summary: a file of group daemon and a scriptlet
Requires(pre): sbtest-release
Requires(post): /bin/sh
%description -n sbtest-daemon
Test package.
%install
mkdir -p %{buildroot}/etc %{buildroot}/bin %{buildroot}/opt/sbtest
echo 'sbtest release 1.0' >%{buildroot}/etc/redhat-release
printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:2:2:daemon:/:/bin/sh\n' >%{buildroot}/etc/passwd
printf 'root:x:0:\ndaemon:x:2:\n' >%{buildroot}/etc/group
install -m 0755 %{SOURCE0} %{buildroot}/bin/busybox
for a in sh cat echo id stat ls; do ln -s busybox %{buildroot}/bin/$a; done
echo data >%{buildroot}/opt/sbtest/secret
%files
/etc/redhat-release
/etc/passwd
/etc/group
%files -n sbtest-coreutils
/bin/*
%files -n sbtest-daemon
%attr(0750,root,daemon) /opt/sbtest/secret
%post -n sbtest-daemon
echo scriptlet-ran >/opt/sbtest/post-marker
EOF2
	rpmbuild --define "_topdir $T/rpm" --define '_build_id_links none' \
		--define '__strip /bin/true' -bb "$T/rpm/SPECS/t.spec" >"$T/rpmbuild.log" 2>&1 &&
		cp "$T"/rpm/RPMS/noarch/*.rpm "$T/repo/" && cp -r "$T/repo" "$T/repo-unsigned" &&
		createrepo_c "$T/repo-unsigned" >/dev/null 2>&1 || return 1
	# Signed packages and repomd.xml (zypper refuses unsigned metadata).
	SIGNED=no
	if command -v gpg >/dev/null && command -v rpmsign >/dev/null; then
		export GNUPGHOME="$T/gnupg"
		mkdir -m 700 "$GNUPGHOME" &&
			gpg --batch --passphrase '' --quick-gen-key 'sifbuild test <t@invalid>' \
				rsa2048 sign never >"$T/gpg.log" 2>&1 &&
			rpmsign --define '_gpg_name sifbuild test' --define "__gpg $(command -v gpg)" \
				--addsign "$T"/repo/*.rpm >>"$T/gpg.log" 2>&1 && SIGNED=yes
	fi
	createrepo_c "$T/repo" >/dev/null 2>&1 || return 1
	if [ $SIGNED = yes ]; then
		gpg --batch --yes --detach-sign --armor -o "$T/repo/repodata/repomd.xml.asc" \
			"$T/repo/repodata/repomd.xml" &&
			gpg --armor --export >"$T/repo/repodata/repomd.xml.key" || SIGNED=no
		gpgconf --kill gpg-agent 2>/dev/null
	fi
	return 0
}

# http_serve DIR: serves DIR on 127.0.0.1, port in $PORT, pid in $HTTPD.
http_serve() {
	python3 -c 'import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2] + ".part", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[2] + ".part", sys.argv[2])
s.serve_forever()' "$1" "$T/port" &
	HTTPD=$!
	for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$T/port" ] && break; sleep 0.5; done
	PORT=$(cat "$T/port" 2>/dev/null)
}

# pkg_case AGENT MODE URL TAG: Bootstrap: AGENT (dnf or zypper) from URL.
pkg_case() {
	a=$1 m=$2 R="$T/r-$1-$2-$4"
	def "$a-$4" "Bootstrap: $a" "MirrorURL: $3" 'Include: sbtest-daemon'
	mkdir -p "$R"
	run timeout -k 5 300 "$AR" --userns-mode="$m" "$T/$a-$4.def" "$R" -- /bin/sh -c \
		'cat /etc/redhat-release /opt/sbtest/post-marker; stat -c "secret=%U:%G:%a" /opt/sbtest/secret'
	expect_rc 0 "[$m] Bootstrap: $a from a $4 repository with Include: builds and runs /bin/sh"
	expect_match out '^sbtest release 1.0$' "[$m] $a ($4): /etc/redhat-release installed"
	expect_match out '^scriptlet-ran$' "[$m] $a ($4): the package's %post scriptlet ran"
	case $m in
	root | subuid) expect_match out '^secret=root:daemon:750$' "[$m] $a ($4): %attr(0750,root,daemon) kept" ;;
	*) expect_match out '^secret=root:root:750$' "[$m] $a ($4): %attr file installed (owner faked)" ;;
	esac
	if ! [ -e "$R/etc/bootstrap-yum.conf" ] && ! [ -e "$R/var/cache/yum-bootstrap" ] &&
		! [ -e "$R/var/cache/zypp/packages" ] && ! [ -f "$R/dev/null" ]; then
		pass "[$m] $a ($4): configuration, package cache and /dev mount points removed"
	else fail "[$m] $a ($4): leftovers: $(ls -d "$R/etc/bootstrap-yum.conf" "$R/var/cache/"* "$R/dev/"* 2>&1)"; fi
}

# gpg_cases MODE: env GPG makes dnf check signatures.
gpg_cases() {
	key="file://$T/repo/repodata/repomd.xml.key"
	def dnf-gpg 'Bootstrap: dnf' "MirrorURL: file://$T/repo" 'Include: sbtest-daemon'
	mkdir -p "$T/r-gpg-$1" "$T/r-nogpg-$1"
	run env GPG="$key" timeout -k 5 300 "$AR" --userns-mode="$1" "$T/dnf-gpg.def" "$T/r-gpg-$1"
	expect_rc 0 "[$1] dnf with GPG=<key>: signed packages install"
	def dnf-nogpg 'Bootstrap: dnf' "MirrorURL: file://$T/repo-unsigned" 'Include: sbtest-daemon'
	run env GPG="$key" timeout -k 5 300 "$AR" --userns-mode="$1" "$T/dnf-nogpg.def" "$T/r-nogpg-$1"
	expect_rc 1 "[$1] dnf with GPG=<key>: unsigned packages are refused"
	if printf '%s\n%s\n' "$OUT" "$ERR" | grep -q 'not signed'; then
		pass "[$1] ... because they are not signed"
	else fail "[$1] dnf refused unsigned packages for another reason: $ERR"; fi
}

DNF_MODES=root
if [ "$ME" -ne 0 ]; then
	DNF_MODES=""
	"$AR" --userns-mode=subuid --rm="$T/none" >/dev/null 2>&1 && DNF_MODES=subuid
	"$AR" --userns-mode=seccomp --rm="$T/none" >/dev/null 2>&1 && DNF_MODES="$DNF_MODES seccomp"
fi
if ! command -v dnf >/dev/null || ! command -v createrepo_c >/dev/null ||
	! command -v rpmbuild >/dev/null || [ -z "$DNF_MODES" ]; then
	echo "# SKIP dnf/zypper part: needs dnf, createrepo-c, rpm (rpmbuild) and user namespaces"
elif ! mk_repo; then
	fail "making the test RPM repository: $(tail -5 "$T/rpmbuild.log" 2>/dev/null)"
else
	HTTPD=
	command -v python3 >/dev/null && http_serve "$T/repo"
	for m in $DNF_MODES; do
		pkg_case dnf "$m" "file://$T/repo-unsigned" file
		[ -n "${PORT:-}" ] && pkg_case dnf "$m" "http://127.0.0.1:$PORT/" http
	done
	first=${DNF_MODES%% *}
	if [ $SIGNED = yes ]; then gpg_cases "$first"; else
		echo "# SKIP GPG cases: gpg or rpmsign missing"; fi
	if ! command -v zypper >/dev/null; then
		echo "# SKIP zypper cases: zypper is not installed (Debian package zypper)"
	elif [ $SIGNED = no ]; then
		echo "# SKIP zypper cases: zypper needs signed repository metadata (gpg, rpmsign)"
	else
		for m in $DNF_MODES; do
			pkg_case zypper "$m" "file://$T/repo" file
		done
	fi
	[ -n "$HTTPD" ] && kill "$HTTPD" 2>/dev/null
fi

# ---------------------------------------------------------- slow part

if [ "${SIFBUILD_SLOW_TESTS:-0}" != 1 ] || [ -z "$MIRROR" ] ||
	! { command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ]; }; then
	echo "# SKIP slow part: needs SIFBUILD_SLOW_TESTS=1, a mirror in the apt sources and debootstrap"
	finish
	exit $?
fi

FIRST=root
if [ "$ME" -ne 0 ]; then
	FIRST=seccomp
	"$AR" --userns-mode=subuid --rm="$T/none" >/dev/null 2>&1 && FIRST=subuid
	if ! "$AR" --userns-mode=seccomp --rm="$T/none" >/dev/null 2>&1; then
		echo "# SKIP slow part: no user namespaces for $(id -un)"
		finish
		exit $?
	fi
fi

# An unreachable mirror fails fast, naming the header line.
def unreach 'Bootstrap: debootstrap' 'OSVersion: bookworm' 'MirrorURL: http://127.0.0.1:9/debian' \
	'From: ignored'
mkdir -p "$T/r-unreach"
run timeout 120 "$AR" --userns-mode="$FIRST" "$T/unreach.def" "$T/r-unreach"
expect_rc 1 "[$FIRST] unreachable mirror: the agent fails"
expect_match err "unreach.def:3: debootstrap of bookworm from http://127.0.0.1:9/debian failed \(exit status [0-9]+" \
	"[$FIRST] ... with FILE:LINE of MirrorURL"
expect_match err "WARNING: .*unreach.def:4: header key 'from' is not used by Bootstrap: debootstrap" \
	"[$FIRST] keys the agent ignores are warned about with their line"

def deb 'Bootstrap: debootstrap' 'OSVersion: bookworm' "MirrorURL: $MIRROR" 'Include: less'
POST='echo "debs=$(ls /var/cache/apt/archives/ | grep -c "\.deb$")"
	[ -e /dev/null ] && ! [ -s /dev/null ] && echo devnull=ok
	apt-get update -q >/tmp/u.log 2>&1 && apt-get install -y -q figlet >/tmp/i.log 2>&1
	echo "install=$?"; figlet ok >/dev/null && echo figlet=ok; command -v less; command -v hello'

# post_checks MODE: what every mode's %post output shows.
post_checks() {
	expect_match out '^devnull=ok$' "[$1] %post sees a working /dev/null"
	expect_match out '^install=0$' "[$1] %post: apt-get install of a package from the mirror works"
	expect_match out '^figlet=ok$' "[$1] ... and the package runs"
}

# full MODE: the agent, then %post (a separate run, so the tree can be
# cached as the agent left it).
full() {
	m=$1 R="$T/r-$1"
	mkdir -p "$R"
	start=$(date +%s)
	run env INCLUDE=hello timeout -k 5 900 "$AR" --userns-mode="$m" "$T/deb.def" "$R"
	echo "# [$m] debootstrap took $(($(date +%s) - start)) s"
	expect_rc 0 "[$m] 25: Bootstrap: debootstrap minbase bookworm succeeds"
	[ "$RC" -eq 0 ] || { printf '%s\n' "$ERR" | tail -15; return 1; }
	if [ "$(stat -c %a "$R")" = 755 ] && ! [ -f "$R/dev/null" ]; then
		pass "[$m] rootfs mode 0755, no placeholder /dev/null left"
	else fail "[$m] rootfs mode $(stat -c %a "$R"), dev: $(ls -l "$R/dev")"; fi
	[ -u "$R/usr/bin/passwd" ] && pass "[$m] setuid bits survive" ||
		fail "[$m] /usr/bin/passwd is not setuid"
	if [ "$m" = seccomp ] && [ -w "$CACHE" ]; then
		tar -C "$R" --exclude='./dev/*' -cf "$CTAR.part.$$" . && chmod 644 "$CTAR.part.$$" &&
			mv "$CTAR.part.$$" "$CTAR"
		rm -f "$CTAR.part.$$"
	fi
	run timeout -k 5 600 "$AR" --userns-mode="$m" --post-only "$R" -- /bin/sh -c "$POST"
	expect_rc 0 "[$m] %post in the result succeeds"
	expect_match out '^debs=0$' "[$m] the downloaded .debs are cleaned out of the image"
	expect_match out '^/usr/bin/less$' "[$m] Include: is installed"
	expect_match out '^/usr/bin/hello$' "[$m] the environment's INCLUDE is installed"
	post_checks "$m"
}

# owners MODE: real root debootstrap gives /var/local group staff (50),
# /etc/shadow group shadow (42), /var/mail group mail (8).
owners() {
	R="$T/r-$1"
	if [ "$1" = root ]; then off=0; else
		off=$(awk -F: -v u="$(id -un)" -v n="$ME" '($1 == u || $1 == n) { print $2 - 1; exit }' \
			/etc/subgid)
	fi
	got="$(stat -c %g "$R/var/local") $(stat -c %g "$R/etc/shadow") $(stat -c %g "$R/var/mail")"
	want="$((off + 50)) $((off + 42)) $((off + 8))"
	if [ "$got" = "$want" ]; then
		pass "[$1] real owners on disk (staff, shadow, mail groups: $got)"
	else fail "[$1] group owners $got, expected $want"; fi
}

full "$FIRST" && [ "$FIRST" != seccomp ] && owners "$FIRST"

fresh=$(find "$CTAR" -mtime -7 2>/dev/null)
if [ "$FIRST" != seccomp ]; then
	if [ -z "$fresh" ] || [ "${SIFBUILD_DEBSTRAP_FULL:-0}" = 1 ]; then
		full seccomp
	else
		echo "# seccomp: agent run skipped, using $CTAR (SIFBUILD_DEBSTRAP_FULL=1 runs it)"
		R="$T/r-seccomp-cached"
		mkdir -p "$R" && tar -C "$R" --no-same-owner -xf "$CTAR" 2>"$T/untar.err" ||
			fail "unpacking $CTAR: $(cat "$T/untar.err")"
		run timeout -k 5 600 "$AR" --userns-mode=seccomp --post-only "$R" -- /bin/sh -c "$POST"
		expect_rc 0 "[seccomp] %post in the cached debootstrap result"
		expect_match out '^debs=0$' "[seccomp] the cached result has no .debs"
		post_checks seccomp
	fi
fi
[ "${SIFBUILD_DEBSTRAP_FULL:-0}" = 1 ] && [ "$ME" -ne 0 ] && full fakeroot
finish
