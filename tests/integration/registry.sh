#!/bin/sh
# tests/integration/registry.sh: the registry client (tests/registry/sbpull)
# against real registries on 127.0.0.1 (Debian's docker-registry, started by
# tests/fixtures/registry.sh): anonymous, Basic, token, token+Basic and
# redirect modes serving one seeded storage; faults from tests/registry/
# faultproxy. Only 127.0.0.1 is contacted.
# shellcheck disable=SC2015 # "check && pass || fail": pass never fails
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"

for c in docker-registry skopeo jq zstd curl busybox htpasswd openssl; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "SKIP: '$c' not installed (apt-get install docker-registry skopeo jq zstd curl busybox-static apache2-utils openssl)"
		exit 77
	fi
done
F="$S/tests/fixtures/registry.sh"
SB="$B/tests/registry/sbpull"
FP="$B/tests/registry/faultproxy"
R="$T/reg"
PROXY_PIDS=""
cleanup() {
	for p in $PROXY_PIDS; do kill "$p" 2>/dev/null; done
	for d in anon basic token tokb redir tls oauth; do sh "$F" stop "$R/$d" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
PA=$(sh "$F" start "$R/anon") || { echo "cannot start the registry"; exit 1; }
sh "$F" seed "$R/anon" || { echo "cannot seed the registry"; exit 1; }
PB=$(sh "$F" start "$R/basic" --data "$R/anon/data" --basic alice:s3cret) || exit 1
PT=$(sh "$F" start "$R/token" --data "$R/anon/data" --token) || exit 1
PTB=$(sh "$F" start "$R/tokb" --data "$R/anon/data" --token --basic bob:pw-2) || exit 1
PR=$(sh "$F" start "$R/redir" --data "$R/anon/data" --redirect) || exit 1
PS=$(sh "$F" start "$R/tls" --data "$R/anon/data" --tls) || exit 1
PO=$(sh "$F" start "$R/oauth" --data "$R/anon/data" --oauth) || exit 1
. "$R/anon/seed/seed.env"
H=127.0.0.1
# only 127.0.0.1 is contacted: no proxies from the environment
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset DOCKER_CONFIG APPTAINER_DOCKER_USERNAME APPTAINER_DOCKER_PASSWORD \
	SINGULARITY_DOCKER_USERNAME SINGULARITY_DOCKER_PASSWORD REGISTRY_AUTH_FILE
export HOME="$T/home"
mkdir -p "$HOME"

# every file in DIR/blobs/sha256 hashes to its name
blobs_verified() {
	for f in "$1"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "${f##*/}" ] || return 1
	done
}
# layout DIR has the blobs of the seed layout for manifest DIGEST, bit for bit
same_as_seed() {
	m="$SEED_LAYOUT/blobs/sha256/${2#sha256:}"
	for d in ${2#sha256:} $(jq -r '.config.digest, .layers[].digest' "$m" | sed 's/sha256://'); do
		cmp -s "$SEED_LAYOUT/blobs/sha256/$d" "$1/blobs/sha256/$d" || return 1
	done
	blobs_verified "$1"
}
# file PATH inside layer N (1-based) of the layout DIR's only manifest
layer_file() {
	m=$(jq -r '.manifests[0].digest' "$1/index.json" | sed 's/sha256://')
	l=$(jq -r ".layers[$(($2 - 1))].digest" "$1/blobs/sha256/$m" | sed 's/sha256://')
	case $(head -c 4 "$1/blobs/sha256/$l" | od -An -tx1 | tr -d ' ') in
	1f8b*) gzip -dc "$1/blobs/sha256/$l" | tar -xOf - "$3" ;;
	28b52ffd) zstd -dcq "$1/blobs/sha256/$l" | tar -xOf - "$3" ;;
	*) tar -xOf "$1/blobs/sha256/$l" "$3" ;;
	esac
}

# The pulled layout through bootstrap/oci's layer application (via its test
# driver tests/oci/ocitool, when built): the tree has the seeded content.
OCITOOL="$B/tests/oci/ocitool"
[ -x "$OCITOOL" ] || echo "# tests/oci/ocitool not built: unpack checks skipped"
unpacks_to_seed() { # MODE LAYOUT
	[ -x "$OCITOOL" ] || return 0
	rm -rf "$T/rootfs"
	if "$OCITOOL" unpack oci "$2" "$T/rootfs" --user >/dev/null 2>"$T/unpack.err" &&
		[ "$(cat "$T/rootfs/data/hello.txt")" = "hello from the seed" ] &&
		[ "$(cat "$T/rootfs/data/added.txt")" = "added in layer 2" ] &&
		[ ! -e "$T/rootfs/data/remove-me.txt" ] && [ -x "$T/rootfs/bin/busybox" ] &&
		[ "$(readlink "$T/rootfs/bin/sh")" = busybox ]; then
		pass "$1: unpacked tree of ${2##*/} matches the seed"
	else
		fail "$1: unpacked tree of ${2##*/} ($(cat "$T/unpack.err"))"
	fi
}

# ---------------------------------------------------------- every auth mode
pulls_in_mode() { # MODE PORT
	mode=$1
	reg=$H:$2
	export SIFBUILD_CACHEDIR="$T/cache-$mode"
	run "$SB" --nohttps "docker://$reg/seed/busybox:latest" "$T/$mode-oci"
	[ "$OUT" = "$SEED_BUSYBOX" ] && same_as_seed "$T/$mode-oci" "$SEED_BUSYBOX" &&
		[ "$(layer_file "$T/$mode-oci" 1 data/hello.txt)" = "hello from the seed" ] &&
		pass "$mode: OCI image pulled, blobs identical to the seed" ||
		fail "$mode: OCI image (rc $RC, $OUT, $ERR)"
	unpacks_to_seed "$mode" "$T/$mode-oci"
	run "$SB" --nohttps "$reg/seed/busybox:docker" "$T/$mode-docker"
	[ "$OUT" = "$SEED_DOCKER" ] && blobs_verified "$T/$mode-docker" &&
		[ "$(layer_file "$T/$mode-docker" 2 data/added.txt)" = "added in layer 2" ] &&
		jq -e '.manifests[0].mediaType == "application/vnd.docker.distribution.manifest.v2+json"' \
			"$T/$mode-docker/index.json" >/dev/null &&
		pass "$mode: Docker schema2 image pulled" || fail "$mode: Docker schema2 (rc $RC, $ERR)"
	unpacks_to_seed "$mode" "$T/$mode-docker"
	run "$SB" --nohttps "$reg/seed/busybox:zstd" "$T/$mode-zstd"
	[ "$OUT" = "$SEED_ZSTD" ] && same_as_seed "$T/$mode-zstd" "$SEED_ZSTD" &&
		[ "$(layer_file "$T/$mode-zstd" 1 data/hello.txt)" = "hello from the seed" ] &&
		pass "$mode: zstd image pulled" || fail "$mode: zstd (rc $RC, $ERR)"
	unpacks_to_seed "$mode" "$T/$mode-zstd"
	run "$SB" --nohttps --arch arm64 "$reg/seed/multi:latest" "$T/$mode-arm64"
	[ "$OUT" = "$SEED_MULTI_ARM64" ] && same_as_seed "$T/$mode-arm64" "$SEED_MULTI_ARM64" &&
		[ "$(layer_file "$T/$mode-arm64" 1 etc/platform)" = "linux/arm64/v8" ] &&
		pass "$mode: OCI index, arm64 chosen" || fail "$mode: index arm64 (rc $RC, $OUT, $ERR)"
	run "$SB" --nohttps --arch arm --variant v7 "$reg/seed/multi:docker" "$T/$mode-armv7"
	[ "$RC" -eq 0 ] && [ "$(layer_file "$T/$mode-armv7" 1 etc/platform)" = "linux/arm/v7" ] &&
		pass "$mode: Docker manifest list, arm/v7 chosen" || fail "$mode: list arm/v7 (rc $RC, $ERR)"
	run "$SB" --nohttps --arch amd64 -v "$reg/seed/multi:latest"
	printf '%s\n' "$OUT" | grep -qx "$SEED_MULTI_AMD64" && printf '%s\n' "$OUT" | grep -qx "index $SEED_MULTI" &&
		pass "$mode: index, amd64 chosen (attestation skipped)" || fail "$mode: index amd64 ($OUT, $ERR)"
	run "$SB" --nohttps "$reg/seed/big:latest" "$T/$mode-big"
	[ "$OUT" = "$SEED_BIG" ] && same_as_seed "$T/$mode-big" "$SEED_BIG" &&
		pass "$mode: uncompressed 6 MiB layer pulled" || fail "$mode: big (rc $RC, $ERR)"
	if [ -n "$SEED_SIF" ]; then
		run "$SB" --nohttps --sif "$T/$mode.sif" "oras://$reg/seed/sif:latest"
		[ "$OUT" = "$SEED_SIF" ] && cmp -s "$T/$mode.sif" "$SEED_SIF_FILE" &&
			pass "$mode: oras:// SIF pulled" || fail "$mode: oras SIF (rc $RC, $ERR)"
	fi
}

pulls_in_mode anon "$PA"
export DOCKER_CONFIG="$R/basic/docker"
pulls_in_mode basic "$PB"
unset DOCKER_CONFIG
pulls_in_mode token "$PT"
export DOCKER_CONFIG="$R/tokb/docker"
pulls_in_mode tokb "$PTB"
unset DOCKER_CONFIG
pulls_in_mode redir "$PR"
grep -q '/blobs/sha256:[0-9a-f]* HTTP/1.1" 307 ' "$R/redir/registry.log" &&
	pass "redirect mode: blob GETs were redirected" || fail "redirect mode: no 307 in the registry log"

. "$S/tests/registry/registry-checks.sh"
finish
