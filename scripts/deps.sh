#!/bin/sh
# scripts/deps.sh: the Debian 12 packages sifbuild builds and tests with, and
# a check that installs them (as root) or prints the apt-get line (otherwise).
# Usage: scripts/deps.sh [--check]   (sourced by the other scripts)

SB_PACKAGES="build-essential autoconf automake libtool pkg-config make \
libarchive-dev libcurl4-openssl-dev libjansson-dev libsquashfs-dev libseccomp-dev \
libssl-dev check siftool squashfs-tools fakeroot uidmap busybox-static \
umoci skopeo zstd docker-registry jq curl apache2-utils openssl libcap2-bin debootstrap rpm squashfuse fuse3 \
dnf createrepo-c zypper gpg"

sb_missing_packages() {
	missing=""
	for p in $SB_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	echo "$missing"
}

# Installs missing packages when root; otherwise prints the command and fails.
sb_ensure_packages() {
	missing=$(sb_missing_packages)
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "sifbuild needs these Debian packages; install them with:" >&2
		echo "  sudo apt-get install -y$missing" >&2
		return 1
	fi
	echo "==> installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || return 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || return 1
}

if [ "${1:-}" = "--check" ]; then
	sb_ensure_packages
fi
