# tests/integration/journal_lib.sh: shared by journal.sh and
# journal_slow.sh (sourced after lib.sh).

# journal_user_setup: as root, builds run as the user sbtest (AS=sbtest,
# AS_RUN="runuser -u sbtest --"); as a plain user, as that user (both
# empty). Returns 1 (after a SKIP line) when that is not possible.
journal_user_setup() {
	AS=
	AS_RUN=
	if [ "$(id -u)" -eq 0 ]; then
		id sbtest >/dev/null 2>&1 || { echo "# SKIP: no user sbtest to build as"; return 1; }
		AS=sbtest
		AS_RUN="runuser -u sbtest --"
	fi
	if ! $AS_RUN unshare -U true 2>/dev/null; then
		if [ "${SIFBUILD_REQUIRE_USERNS:-0}" = 1 ]; then
			echo "not ok - user namespaces unavailable"
			exit 1
		fi
		echo "# SKIP: user namespaces unavailable"
		return 1
	fi
	return 0
}

# sqfs_offset SIF: offset of the primary SquashFS partition.
sqfs_offset() {
	id=$("$SIFBUILD" sif list "$1" | awk -F'|' '/FS \(Squashfs/ {print $1+0; exit}')
	"$SIFBUILD" sif info "$id" "$1" | sed -n 's/^ *Offset: *//p'
}

# listing SIF: unsquashfs -lln of the primary partition, paths from /.
listing() {
	unsquashfs -o "$(sqfs_offset "$1")" -lln "$1" | sed 's| squashfs-root| |'
}

# extract_file SIF PATH: the content of PATH (relative) in the image.
extract_file() {
	unsquashfs -o "$(sqfs_offset "$1")" -cat "$1" "$2" 2>/dev/null
}

same() { # same GOT WANT DESC
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (got '$1', want '$2')"; fi
}
