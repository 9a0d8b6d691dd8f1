#!/bin/sh
# tests/integration/oci.sh: the oci, oci-archive, docker-archive, localimage,
# scratch and busybox agents against images made at test time
# (tests/fixtures/make-oci-images.sh). Every unpacked tree is compared with
# `umoci unpack` of the same image: names, types, modes, sizes, link counts,
# link targets, device numbers, contents, and owners (as a plain user our
# owners come from the ownership map; umoci --rootless keeps them in xattrs,
# so there they are checked against the expected values instead).
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
OCITOOL=$B/tests/oci/ocitool
# umoci --rootless leaves 0555 directories: open them up before removal.
trap 'chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT
export MKTAR="$B/tests/oci/mktar"
for t in umoci busybox; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed (Debian: umoci, busybox-static)"; exit 77; }
done
[ -x "$OCITOOL" ] || { echo "SKIP: $OCITOOL not built"; exit 77; }
FX=$T/fx
sh "$S/tests/fixtures/make-oci-images.sh" "$FX" >"$T/fx.log" 2>&1
rc=$?
[ $rc -eq 77 ] && { echo "SKIP: fixtures need tools: $(cat "$T/fx.log")"; exit 77; }
[ $rc -ne 0 ] && { cat "$T/fx.log"; echo "fixture script failed"; exit 1; }
. "$FX/images.env"
ROOT=no
[ "$(id -u)" -eq 0 ] && ROOT=yes

# ours NAME AGENT FROM [ARGS...]: unpacks into $T/o-NAME, lists to $T/o-NAME.list.
ours() {
	name=$1 agent=$2 from=$3
	shift 3
	rm -rf "$T/o-$name" "$T/o-$name.meta"
	run "$OCITOOL" unpack "$agent" "$from" "$T/o-$name" --map "$T/o-$name.map" \
		--meta "$T/o-$name.meta" "$@"
	"$OCITOOL" list "$T/o-$name" --map "$T/o-$name.map" >"$T/o-$name.list" 2>/dev/null
}

# reference REF: umoci's tree of oci:$FX/oci:REF listed to $T/u-REF.list.
reference() {
	if [ $ROOT = yes ]; then
		umoci unpack --image "$FX/oci:$1" "$T/u-$1" >/dev/null 2>&1
	else
		umoci unpack --rootless --image "$FX/oci:$1" "$T/u-$1" >/dev/null 2>&1
	fi || { fail "umoci unpack $1"; return 1; }
	"$OCITOOL" list "$T/u-$1/rootfs" >"$T/u-$1.list"
}

# comparable LIST: as a plain user, owners are not comparable with umoci
# --rootless, and umoci writes device nodes as plain files.
comparable() {
	if [ $ROOT = yes ]; then cat "$1"; else
		awk '$1 !~ /^\/dev\/(null|loop0)$/ { $4 = ""; $5 = ""; print }' "$1"; fi
}

same_tree() { # DESC A B
	if comparable "$2" >"$T/a" && comparable "$3" >"$T/b" && cmp -s "$T/a" "$T/b"; then
		pass "$1"
	else
		fail "$1"
		diff "$T/a" "$T/b" | head -20
	fi
}

# ------------------------------------------------------------ oci layouts
for ref in base base-tar edge; do
	ours "$ref" oci "$FX/oci:$ref"
	expect_rc 0 "oci:$ref unpacks"
	reference "$ref" && same_tree "oci:$ref equals umoci unpack" "$T/o-$ref.list" "$T/u-$ref.list"
done
if [ "$HAVE_ZSTD" = yes ]; then
	ours zstd oci "$FX/oci:base-zstd"
	expect_rc 0 "oci:base-zstd (tar+zstd layers) unpacks"
	same_tree "tar+zstd layers give the gzip tree (umoci cannot read zstd)" "$T/o-zstd.list" "$T/u-base.list"
fi
ours digest oci "$FX/oci@$BASE_DIGEST"
same_tree "oci:DIR@sha256:... selects by digest" "$T/o-digest.list" "$T/o-base.list"
ours nolayers oci "$FX/oci:nolayers"
expect_rc 1 "an image without layers fails"
expect_match err 'no extractable OCI/Docker tar layers found in this image' "with Apptainer's message"
ours missing oci "$FX/oci:nope"
expect_rc 1 "an unknown tag fails"
expect_match err 'no image "nope" in the index; available: base, base-tar' "the error lists the tags"

# Owners through the ownership map, whoever runs the test.
expect_line() { # DESC FILE REGEX
	if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1 (no /$3/ in $2)"; fi
}
expect_line "owner 1234:5678 kept" "$T/o-base.list" '^/data/owned d 0750 1234 5678 '
expect_line "owner 1000:1000 kept" "$T/o-base.list" '^/home/user/.profile f 0640 1000 1000 '
expect_line "setuid kept" "$T/o-base.list" '^/data/setuid f 4755 0 0 '
expect_line "0555 directory mode kept" "$T/o-base.list" '^/data/ro-dir d 0555 0 0 '
expect_line "sticky /tmp kept" "$T/o-base.list" '^/tmp d 1777 0 0 '
expect_line "whiteout removed a file" "$T/o-base.list" '^/data/keep.txt '
if grep -q -e '^/data/remove-me.txt ' -e '^/data/removedir' -e '/\.wh\.' -e '^/opt/replace/old1' \
	"$T/o-base.list"; then fail "whiteouts and opaque directories applied"; else
	pass "whiteouts and opaque directories applied"; fi
expect_line "unlink before write: hl-b keeps v1" "$T/o-base.list" '^/data/hl-b f 0644 0 0 10 1 '
expect_line "a symlinked parent resolves inside the root" "$T/o-base.list" '^/usr/lib/libnew.so f '
expect_line "device node (c 1:3) in the image" "$T/o-edge.list" '^/dev/null c 0666 0 0 0 1 1:3$'
expect_line "block device (b 7:0) in the image" "$T/o-edge.list" '^/dev/loop0 b 0660 0 0 0 1 7:0$'
expect_line "hard link to a lower-layer file" "$T/o-edge.list" '^/data/x-hardlink-to-keep f 0644 0 0 5 2 '
expect_line "whiteout after the entries it spares" "$T/o-edge.list" '^/data/recreate/new.txt '
if grep -q '^/data/recreate/old.txt' "$T/o-edge.list"; then fail "lower content of a whited-out dir gone"
else pass "lower content of a whited-out dir gone"; fi
if [ $ROOT = no ]; then
	if [ -d "$T/o-base/data/ro-dir" ] && [ -w "$T/o-base/data/ro-dir" ]; then
		pass "directories stay writable by the user"; else fail "directories stay writable by the user"; fi
	ours rmt oci "$FX/oci:base"
	run rm -rf "$T/o-rmt"
	expect_rc 0 "the user can remove the unpacked tree"
fi

# The map applied by the SquashFS packer (bootstrap_owner_hook): the image
# gets the real owners, modes and devices whoever unpacked the layers.
if command -v unsquashfs >/dev/null; then
	for ref in base edge; do
		run "$OCITOOL" pack "$T/o-$ref" "$T/$ref.sqfs" --map "$T/o-$ref.map"
		expect_rc 0 "pack oci:$ref with the ownership map"
		unsquashfs -lln "$T/$ref.sqfs" | awk '{ print $1, $2, $NF }' >"$T/$ref.sq"
	done
	sq_line() { # DESC FILE LINE
		if grep -qxF -- "$3" "$2"; then pass "$1"; else fail "$1 (no \"$3\")"; fi
	}
	sq_line "squashfs: owner 1234:5678 and mode 0750" "$T/base.sq" "drwxr-x--- 1234/5678 squashfs-root/data/owned"
	sq_line "squashfs: owner 1000:1000" "$T/base.sq" "-rw-r----- 1000/1000 squashfs-root/home/user/.profile"
	sq_line "squashfs: 0555 directory" "$T/base.sq" "dr-xr-xr-x 0/0 squashfs-root/data/ro-dir"
	sq_line "squashfs: setuid file" "$T/base.sq" "-rwsr-xr-x 0/0 squashfs-root/data/setuid"
	sq_line "squashfs: mode 0000 file" "$T/base.sq" "---------- 0/0 squashfs-root/data/no-perms"
	sq_line "squashfs: character device" "$T/edge.sq" "crw-rw-rw- 0/0 squashfs-root/dev/null"
	sq_line "squashfs: block device" "$T/edge.sq" "brw-rw---- 0/0 squashfs-root/dev/loop0"
	sq_line "squashfs: fifo" "$T/edge.sq" "prw-r--r-- 0/0 squashfs-root/dev/fifo"
	if awk '$2 != "0/0"' "$T/edge.sq" | grep -qv -e /home/user; then
		fail "squashfs: every other owner is root"; else pass "squashfs: every other owner is root"; fi
else
	echo "# unsquashfs missing: packer checks skipped"
fi

# -------------------------------------------------------------- archives
if [ "$HAVE_ARCHIVES" = yes ]; then
	for src in "oci-archive $FX/base.oci.tar" "oci-archive $FX/base.oci.tar:latest" \
		"docker-archive $FX/base.docker.tar" "docker-archive $FX/base.docker.tar:test/base:latest"; do
		set -- $src
		ours arch "$1" "$2"
		expect_rc 0 "$1:$2 unpacks"
		same_tree "$1:$2 equals umoci unpack of the layout" "$T/o-arch.list" "$T/u-base.list"
	done
	ours darch docker-archive "$FX/edge.docker.tar"
	same_tree "docker-archive of the edge image equals umoci unpack" "$T/o-darch.list" "$T/u-edge.list"
	ours darch docker-archive "$FX/base.docker.tar:other/image:1"
	expect_rc 1 "docker-archive with an unknown name fails"
	expect_match err 'available: docker.io/test/base:latest|available: test/base:latest' "and lists RepoTags"
	ours d25 docker-archive "$FX/base.oci.tar"
	same_tree "docker-archive without manifest.json is read as an OCI layout (Docker 25+)" \
		"$T/o-d25.list" "$T/u-base.list"
	gzip -c "$FX/base.oci.tar" >"$T/base.oci.tar.gz"
	ours gz oci-archive "$T/base.oci.tar.gz"
	same_tree "a gzip-compressed oci-archive" "$T/o-gz.list" "$T/u-base.list"
	gzip -c "$FX/base.docker.tar" >"$T/base.docker.tar.gz"
	ours dgz docker-archive "$T/base.docker.tar.gz"
	same_tree "a gzip-compressed docker-archive (docker save | gzip)" "$T/o-dgz.list" "$T/u-base.list"
	head -c 300000 "$T/base.docker.tar.gz" >"$T/cut.tar.gz"
	ours cut docker-archive "$T/cut.tar.gz"
	expect_rc 1 "a truncated compressed archive fails"
	expect_match err 'decompressing .*cut.tar.gz' "naming the archive"
	ours march oci-archive "$FX/multi.oci.tar" --arch arm64
	expect_rc 0 "oci-archive of an index unpacks"
	if [ "$(cat "$T/o-march/etc/platform")" = linux/arm64/v8 ]; then pass "oci-archive index: --arch arm64"
	else fail "oci-archive index: --arch arm64"; fi
else
	echo "# skopeo missing: archive checks skipped"
fi

# -------------------------------------------------------------- platforms
platform_is() { # DESC EXPECTED ARGS...
	d=$1 e=$2
	shift 2
	ours plat oci "$FX/oci:multi" "$@"
	if [ $RC -eq 0 ] && [ "$(cat "$T/o-plat/etc/platform")" = "$e" ]; then pass "$d"
	else fail "$d (rc $RC, $(cat "$T/o-plat/etc/platform" 2>/dev/null), $ERR)"; fi
}
case $ARCH in amd64 | arm64 | arm)
	h=linux/$ARCH
	[ $ARCH = arm64 ] && h=linux/arm64/v8
	[ $ARCH = arm ] && h=linux/arm/v7
	platform_is "index: the host platform by default" "$h" ;;
esac
platform_is "index: --arch arm64" linux/arm64/v8 --arch arm64
platform_is "index: --arch aarch64" linux/arm64/v8 --arch aarch64
platform_is "index: --arch arm --arch-variant v7" linux/arm/v7 --arch arm --variant v7
platform_is "index: --arch linux/amd64" linux/amd64 --arch linux/amd64
ours plat oci "$FX/oci:multi" --arch s390x
expect_rc 1 "index: no image for s390x"
expect_match err 'no image for platform linux/s390x in the index; available: linux/amd64, linux/arm64/v8, linux/arm/v7$' \
	"the error lists the platforms (the attestation entry is skipped)"
ours plat oci "$FX/oci:multi" --arch sparc
expect_rc 1 "an unknown --arch fails"

# -------------------------------------------------------------- metadata
M=$T/o-base.meta
printf '%s\n' '#!/bin/sh' \
	'export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' \
	'export GREETING="${GREETING:-"hello world"}"' \
	'export EMPTY="${EMPTY:-""}"' \
	'export EQUALS="${EQUALS:-"a=b=c"}"' \
	'export QUOTES="${QUOTES:-"it'"'"'s \"quoted\" \$HOME \`x\` \\\\"}"' >"$T/env.want"
if cmp -s "$T/env.want" "$M/env.sh"; then pass "10-docker2singularity.sh line forms"
else fail "10-docker2singularity.sh line forms"; diff "$T/env.want" "$M/env.sh"; fi
expect_line "runscript has the line Apptainer's runtime looks for" "$M/runscript" \
	'^eval "set \$\{SINGULARITY_OCI_RUN\}"$'
expect_line "runscript OCI_ENTRYPOINT" "$M/runscript" "^OCI_ENTRYPOINT='\"/bin/echo\" \"entrypoint:\"'\$"
expect_line "runscript OCI_CMD" "$M/runscript" "^OCI_CMD='\"cmd-default\" \"two words\"'\$"
run sh "$M/runscript"
expect_match out '^entrypoint: cmd-default two words$' "runscript runs ENTRYPOINT CMD"
run sh "$M/runscript" a 'b c'
expect_match out '^entrypoint: a b c$' "arguments replace CMD"
run env SINGULARITY_NO_EVAL=1 sh "$M/runscript" 'x  y'
expect_match out '^entrypoint: x  y$' "SINGULARITY_NO_EVAL keeps arguments as they are"
printf '{\n\t"org.example.html": "\\u003ca\\u0026b\\u003e",\n\t"org.example.kind": "base",\n\t"org.opencontainers.image.title": "sifbuild test"\n}' >"$T/labels.want"
if cmp -s "$T/labels.want" "$M/labels.json"; then pass "labels.json in Go's MarshalIndent form"
else fail "labels.json in Go's MarshalIndent form"; fi
expect_line "oci-config.json in Docker's key order" "$M/oci-config.json" \
	'^\{"Cmd":\["cmd-default","two words"\],"Entrypoint":\["/bin/echo","entrypoint:"\],"Env":\[.*\],"Labels":\{"org.example.html":"\\u003ca\\u0026b\\u003e",.*\},"Volumes":\{"/data":\{\}\},"WorkingDir":"/opt/work","ExposedPorts":\{"80/tcp":\{\}\},"StopSignal":"SIGTERM"\}$'

# ------------------------------------------------ localimage, scratch, busybox
ours edge2 oci "$FX/oci:edge"
ours local localimage "$T/o-edge2"
expect_rc 0 "localimage copies a sandbox directory"
if [ $ROOT = yes ]; then same_tree "localimage copy equals its source" "$T/o-local.list" "$T/o-edge2.list"
else
	"$OCITOOL" list "$T/o-local" --map "$T/o-local.map" --no-owners | grep -v '^/dev/' >"$T/a"
	# the copy sees the source as it is on disk (its own map is not carried)
	"$OCITOOL" list "$T/o-edge2" --no-owners | grep -v '^/dev/' >"$T/b"
	if cmp -s "$T/a" "$T/b"; then pass "localimage copy equals its source"; else
		fail "localimage copy equals its source"; diff "$T/a" "$T/b" | head; fi
fi
ours scratch scratch none
expect_rc 0 "scratch"
if [ -z "$(ls -A "$T/o-scratch")" ] && [ "$(cat "$T/o-scratch.meta/runscript")" = '#!/bin/sh' ]; then
	pass "scratch: empty rootfs, runscript #!/bin/sh"; else fail "scratch: empty rootfs, runscript #!/bin/sh"; fi
BB=$(command -v busybox)
ours bb busybox "file://$BB"
expect_rc 0 "busybox from a file:// MirrorURL"
if [ "$(cat "$T/o-bb/etc/passwd")" = 'root:!:0:0:root:/root:/bin/sh' ] &&
	[ "$(cat "$T/o-bb/etc/group")" = ' root:x:0:' ] && [ -x "$T/o-bb/bin/busybox" ] &&
	[ "$(stat -c %i "$T/o-bb/bin/sh")" = "$(stat -c %i "$T/o-bb/bin/busybox")" ]; then
	pass "busybox: base files as Apptainer writes them, applets hard-linked"
else fail "busybox: base files as Apptainer writes them, applets hard-linked"; fi
ours bb2 busybox "https://example.invalid/busybox"
expect_rc 1 "busybox: http(s) MirrorURL refused for now"
finish
