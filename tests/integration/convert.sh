#!/bin/sh
# sifbuild build TARGET.sif IMAGE-REFERENCE: OCI layout, oci-archive,
# docker-archive and docker:// (a real registry on 127.0.0.1) converted to
# SIF images with Apptainer's OCI metadata, checked with the reference tools.
. "$(dirname "$0")/lib.sh"

for t in siftool unsquashfs skopeo; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
VALIDATE="$S/../shared/tools/validate-sif.sh"
FX="$T/fx"
MKTAR="$B/tests/oci/mktar" sh "$S/tests/fixtures/make-oci-images.sh" "$FX" >"$T/fx.log" 2>&1
rc=$?
[ $rc -eq 77 ] && { echo "SKIP: OCI fixtures: $(tail -1 "$T/fx.log")"; exit 77; }
[ $rc -eq 0 ] || { cat "$T/fx.log"; fail "OCI fixtures"; finish; exit 1; }

# partition listing and one file of an image
listing() {
	off=$("$SIFBUILD" sif info 4 "$1" | sed -n 's/^ *Offset: *//p')
	unsquashfs -o "$off" -lln "$1" 2>/dev/null
}
extract() {
	off=$("$SIFBUILD" sif info 4 "$1" | sed -n 's/^ *Offset: *//p')
	rm -rf "$T/x" && unsquashfs -o "$off" -no-xattrs -d "$T/x" "$1" "$2" >/dev/null 2>&1
	cat "$T/x/$2"
}

check_image() { # NAME SIF
	run siftool list "$2"
	expect_match out "JSON.Generic" "$1: SIF has its JSON objects"
	run "$SIFBUILD" sif info 3 "$2"
	expect_match out "Name: +oci-config.json" "$1: oci-config.json object"
	if [ -x "$VALIDATE" ]; then
		run sh "$VALIDATE" "$2"
		expect_rc 0 "$1: validate-sif.sh accepts it"
	fi
	l=$(listing "$2")
	printf '%s\n' "$l" | grep -q ' squashfs-root/bin/busybox$' && pass "$1: image has /bin/busybox" ||
		fail "$1: image has /bin/busybox"
	printf '%s\n' "$l" | grep -q '^drwxr-xr-x 0/0 .* squashfs-root/.singularity.d/env$' &&
		pass "$1: skeleton added, owned by root" || fail "$1: skeleton added, owned by root"
	rs=$(extract "$2" .singularity.d/runscript)
	printf '%s\n' "$rs" | grep -qx 'eval "set ${SINGULARITY_OCI_RUN}"' &&
		pass "$1: OCI runscript with Apptainer's eval line" || fail "$1: OCI runscript"
	env=$(extract "$2" .singularity.d/env/10-docker2singularity.sh)
	printf '%s\n' "$env" | grep -q '^export PATH="' && pass "$1: image ENV as 10-docker2singularity.sh" ||
		fail "$1: image ENV as 10-docker2singularity.sh ($env)"
}

export SOURCE_DATE_EPOCH=1700000000

# Streaming (the default for references) against the rootfs path
# (SIFBUILD_NO_STREAM=1): the same listing and the same file contents.
contents() { # SIF DIR: md5 of every regular file of the partition
	off=$("$SIFBUILD" sif info 4 "$1" | sed -n 's/^ *Offset: *//p')
	rm -rf "$2" && unsquashfs -o "$off" -no-xattrs -d "$2" "$1" >/dev/null 2>&1
	chmod -R u+rwX "$2" # modes are in the listing; as a user, read everything
	(cd "$2" && find . -type f -print0 | sort -z | xargs -0 md5sum)
	rm -rf "$2"
}
compare_stream() { # NAME REF [BUILD OPTIONS...]
	name=$1 ref=$2
	shift 2
	rm -f "$T/st.sif" "$T/rf.sif"
	run "$SIFBUILD" build "$@" "$T/st.sif" "$ref"
	expect_rc 0 "$name: streamed build"
	SIFBUILD_NO_STREAM=1 "$SIFBUILD" build "$@" "$T/rf.sif" "$ref" >/dev/null 2>"$T/rf.err" ||
		fail "$name: rootfs build ($(cat "$T/rf.err"))"
	listing "$T/st.sif" >"$T/st.l"
	listing "$T/rf.sif" >"$T/rf.l"
	if [ -s "$T/st.l" ] && cmp -s "$T/st.l" "$T/rf.l"; then
		pass "$name: streamed listing equals the rootfs path's"
	else
		fail "$name: streamed listing equals the rootfs path's"
		diff "$T/rf.l" "$T/st.l" | head -20
	fi
	contents "$T/st.sif" "$T/st.x" >"$T/st.c"
	contents "$T/rf.sif" "$T/rf.x" >"$T/rf.c"
	[ -s "$T/st.c" ] && cmp -s "$T/st.c" "$T/rf.c" &&
		pass "$name: streamed file contents equal the rootfs path's" ||
		fail "$name: streamed file contents equal the rootfs path's"
	for id in 1 2 3; do # Def.FILE, inspect-metadata.json, oci-config.json
		"$SIFBUILD" sif dump $id "$T/st.sif" >"$T/st.$id" 2>&1
		"$SIFBUILD" sif dump $id "$T/rf.sif" >"$T/rf.$id" 2>&1
		if [ -s "$T/st.$id" ] && cmp -s "$T/st.$id" "$T/rf.$id"; then
			pass "$name: streamed object $id equals the rootfs path's"
		else
			fail "$name: streamed object $id equals the rootfs path's"
			diff "$T/rf.$id" "$T/st.$id" | head -10
		fi
	done
}
# peak kB used under a fresh SIFBUILD_TMPDIR while CMD runs (CMD writes $T/tmp.sif)
peak_tmp() { # DIR CMD...
	d=$1
	shift
	rm -rf "$d" "$T/tmp.sif" && mkdir "$d"
	SIFBUILD_TMPDIR="$d" "$@" >/dev/null 2>&1 &
	pid=$! peak=0
	while kill -0 $pid 2>/dev/null; do
		k=$(du -sk "$d" 2>/dev/null | cut -f1)
		[ "${k:-0}" -gt "$peak" ] && peak=$k
		sleep 0.02
	done
	wait $pid
	echo "$peak"
}
run "$SIFBUILD" build "$T/layout.sif" "oci:$FX/oci:base"
expect_rc 0 "oci: layout"
check_image oci "$T/layout.sif"
run "$SIFBUILD" sif dump 1 "$T/layout.sif"
expect_match out "^bootstrap: oci$" "Def.FILE names the agent"
. "$FX/images.env"
if [ "${HAVE_ARCHIVES:-0}" = 1 ]; then
	run "$SIFBUILD" build "$T/archive.sif" "oci-archive:$FX/base.oci.tar"
	expect_rc 0 "oci-archive:"
	check_image oci-archive "$T/archive.sif"
	run "$SIFBUILD" build "$T/docker.sif" "docker-archive:$FX/base.docker.tar"
	expect_rc 0 "docker-archive:"
	check_image docker-archive "$T/docker.sif"
	# the same image through three containers: the same root filesystem
	a=$(listing "$T/layout.sif" | md5sum) b=$(listing "$T/archive.sif" | md5sum)
	[ "$a" = "$b" ] && pass "oci: and oci-archive: give the same tree" ||
		fail "oci: and oci-archive: give the same tree"
fi

compare_stream "oci:base" "oci:$FX/oci:base"
compare_stream "oci:edge" "oci:$FX/oci:edge"
compare_stream "oci:multi" "oci:$FX/oci:multi"
compare_stream "oci:multi arm64" "oci:$FX/oci:multi" --arch arm64
if [ "${HAVE_ARCHIVES:-0}" = 1 ]; then
	compare_stream "oci-archive:base" "oci-archive:$FX/base.oci.tar"
	compare_stream "docker-archive:base" "docker-archive:$FX/base.docker.tar"
fi
# An image that ships its own /.singularity.d and SCIF apps (an Apptainer
# image pushed as OCI): base layer 1, then two layers of metadata with a
# whiteout, a replaced file, a hard link and symlinks inside the image. The
# streamed build must see them as the rootfs path does (objects 1-3 above).
add_image() { # LAYOUT REF SPEC...: base layer 1, then a layer per spec
	[ -d "$1" ] || cp -r "$FX/oci" "$1"
	lay=$1 name=$2
	shift 2
	mt=application/vnd.oci.image.layer.v1.tar+gzip
	bm=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "base") | .digest' "$lay/index.json")
	l1=$(jq -c '.layers[0]' "$lay/blobs/sha256/${bm#sha256:}")
	bc=$(jq -r '.config.digest' "$lay/blobs/sha256/${bm#sha256:}")
	d1=$(jq -c '.rootfs.diff_ids[0]' "$lay/blobs/sha256/${bc#sha256:}")
	layers=$l1 diffs=$d1
	for spec in "$@"; do
		"$B/tests/oci/mktar" <"$spec" >"$T/l.tar" || return 1
		diffs="$diffs,\"sha256:$(sha256sum <"$T/l.tar" | cut -d' ' -f1)\""
		gzip -n -1 "$T/l.tar"
		h=$(sha256sum <"$T/l.tar.gz" | cut -d' ' -f1)
		layers="$layers,{\"mediaType\":\"$mt\",\"digest\":\"sha256:$h\",\"size\":$(wc -c <"$T/l.tar.gz")}"
		mv "$T/l.tar.gz" "$lay/blobs/sha256/$h"
	done
	printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$ARCH" "$diffs" >"$T/c.json"
	ch=$(sha256sum <"$T/c.json" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$ch" "$(wc -c <"$T/c.json")" "$layers" >"$T/m.json"
	mh=$(sha256sum <"$T/m.json" | cut -d' ' -f1)
	msz=$(wc -c <"$T/m.json")
	mv "$T/c.json" "$lay/blobs/sha256/$ch"
	mv "$T/m.json" "$lay/blobs/sha256/$mh"
	jq -c ".manifests += [{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$mh\",\"size\":$msz,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$name\"}}]" \
		"$lay/index.json" >"$T/i.json" && mv "$T/i.json" "$lay/index.json"
}
TAB=$(printf '\t')
ent() { (IFS=$TAB; printf '%s\n' "$*"); }
{
	ent d .singularity.d 0755 0 0
	ent d .singularity.d/env 0755 0 0
	ent f .singularity.d/env/01-base.sh 0755 0 0 '# image 01\n'
	ent f .singularity.d/env/10-docker2singularity.sh 0755 0 0 'export FROM_IMAGE=1\n'
	ent f .singularity.d/env/90-environment.sh 0755 1000 1000 'export IMAGE_ENV=shipped\n'
	ent f .singularity.d/env/91-environment.sh 0755 0 0 'export GONE=1\n'
	ent f .singularity.d/env/94-environment.sh 0644 0 0 'export LATER=1\n'
	ent f .singularity.d/runscript 0755 0 0 '#!/bin/sh\necho image runscript\n'
	ent f .singularity.d/startscript 0755 0 0 '#!/bin/sh\necho image startscript\n'
	ent f .singularity.d/labels.json 0644 0 0 '{"org.example.from": "image"}'
	ent d .singularity.d/actions 0755 0 0
	ent f .singularity.d/actions/run 0755 0 0 '#!/bin/sh\necho image run action\n'
	ent d usr/share 0755 0 0
	ent f usr/share/help.txt 0644 0 0 'image help text\n'
	ent h .singularity.d/runscript.help usr/share/help.txt
	ent f usr/share/test.sh 0755 0 0 '#!/bin/sh\necho image test\n'
	ent l .singularity.d/test ../usr/share/test.sh
	ent f scif/apps/foo/scif/env/90-environment.sh 0755 0 0 'export FOO=1\n'
	ent f scif/apps/foo/scif/runscript 0755 0 0 '#!/bin/sh\necho foo\n'
	ent f scif/apps/foo/scif/startscript 0755 0 0 '#!/bin/sh\necho foo start\n'
	ent f scif/apps/foo/scif/labels.json 0644 0 0 '{"app": "foo"}'
	ent f scif/apps/foo/bin/tool 0755 0 0 'not metadata\n'
	ent l scif/apps/bar foo
	ent f scif/apps/plain 0644 0 0 'a file\n'
	ent d scif/apps/.hidden 0755 0 0
} >"$T/s1.spec"
{
	ent f .singularity.d/env/.wh.91-environment.sh 0644 0 0 ''
	ent f .singularity.d/env/94-environment.sh 0755 0 0 'export LATER=2\n'
	ent l .singularity.d/runscript.help /usr/share/help.txt
} >"$T/s2.spec"
if command -v jq >/dev/null && add_image "$T/sing" sing "$T/s1.spec" "$T/s2.spec"; then
	compare_stream "oci:sing (ships /.singularity.d)" "oci:$T/sing:sing"
	"$SIFBUILD" sif dump 2 "$T/st.sif" >"$T/sing.json"
	for want in '"/.singularity.d/env/90-environment.sh":"export IMAGE_ENV=shipped"' \
		'"/.singularity.d/env/94-environment.sh":"export LATER=2"' \
		'"startscript":"#!/bin/sh\necho image startscript"' '"test":"#!/bin/sh\necho image test"' \
		'"helpfile":"image help text"' '"org.example.from":"image"' '"bar":{' '"plain":{}' \
		'"app":"foo"' 'export FOO=1'; do
		grep -qF "$want" "$T/sing.json" && pass "oci:sing: inspect metadata has ${want%%\\*}" ||
			fail "oci:sing: inspect metadata has ${want%%\\*}"
	done
	grep -q 'GONE=1\|FROM_IMAGE\|hidden' "$T/sing.json" &&
		fail "oci:sing: whited-out, replaced and hidden metadata left out" ||
		pass "oci:sing: whited-out, replaced and hidden metadata left out"
else
	fail "an image with its own /.singularity.d made"
fi

{
	ent d opt/meta 0755 0 0
	ent d opt/meta/scif 0755 0 0
	ent d opt/meta/env 0755 0 0
	ent f opt/meta/scif/runscript 0755 0 0 "#!/bin/sh\\necho meta app"
	ent l scif/apps/meta /opt/meta
	ent f opt/meta/env/90-environment.sh 0755 0 0 'export VIA_LINK=1\n'
	ent f opt/meta/runscript 0755 0 0 '#!/bin/sh\necho via link\n'
	ent l scif/apps/loop .
} >"$T/s3.spec"
# SCIF apps through an absolute symlink and a symlink loop
if add_image "$T/sing" sing3 "$T/s3.spec"; then
	compare_stream "oci:sing3 (symlinked apps)" "oci:$T/sing:sing3"
	grep -qF '"meta":{"runscript":"#!/bin/sh\necho meta app"}' "$T/st.2" &&
		pass "oci:sing3: app metadata read through a symlink" ||
		fail "oci:sing3: app metadata read through a symlink"
fi
# The malicious-layer corpus streamed: the same outcome (exit status, and
# the same tree when both succeed; modification times aside, which the rootfs
# path takes from the unpacking for directories later layers change) as the
# rootfs path, and nothing written outside the build's folders.
mkdir -p "$T/bad-out"
if command -v jq >/dev/null && MKTAR="$B/tests/oci/mktar" sh "$S/tests/fixtures/make-bad-layers.sh" \
	"$T/bad" "$T/bad-out" >"$T/bad.log" 2>&1; then
	before=$(cd "$T/bad-out" && find . | LC_ALL=C sort | md5sum)
	bad_ok=0 bad_n=0
	for r in $(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$T/bad/bad/index.json"); do
		bad_n=$((bad_n + 1))
		rm -f "$T/bs.sif" "$T/bn.sif"
		"$SIFBUILD" build "$T/bs.sif" "oci:$T/bad/bad:$r" >/dev/null 2>"$T/bs.err"
		a=$?
		SIFBUILD_NO_STREAM=1 "$SIFBUILD" build "$T/bn.sif" "oci:$T/bad/bad:$r" >/dev/null 2>&1
		b=$?
		if [ $a -ne $b ]; then
			echo "# $r: streamed exit $a, rootfs path $b: $(cat "$T/bs.err")"
			continue
		fi
		if [ $a -eq 0 ]; then
			listing "$T/bs.sif" | awk '{ $4 = $5 = ""; print }' >"$T/bs.l"
			listing "$T/bn.sif" | awk '{ $4 = $5 = ""; print }' >"$T/bn.l"
			cmp -s "$T/bs.l" "$T/bn.l" || { echo "# $r: trees differ"; continue; }
		elif [ "$(wc -l <"$T/bs.err")" -ne 1 ]; then
			echo "# $r: error is not one line"
			continue
		fi
		bad_ok=$((bad_ok + 1))
	done
	[ $bad_n -ge 15 ] && [ $bad_ok -eq $bad_n ] &&
		pass "malicious corpus: $bad_ok/$bad_n cases stream like the rootfs path" ||
		fail "malicious corpus: $bad_ok/$bad_n cases stream like the rootfs path"
	[ "$(cd "$T/bad-out" && find . | LC_ALL=C sort | md5sum)" = "$before" ] &&
		[ -z "$(ls -a / /tmp "$(dirname "$T")" 2>/dev/null | grep sifbuild-evil)" ] &&
		pass "malicious corpus streamed: nothing written outside the build" ||
		fail "malicious corpus streamed: nothing written outside the build"
else
	cat "$T/bad.log"
	fail "malicious corpus made"
fi

# no root filesystem in the build's temp dir while streaming
kb=$(peak_tmp "$T/tmpd" "$SIFBUILD" build "$T/tmp.sif" "oci:$FX/oci:base")
[ "$kb" -le 64 ] && pass "streamed build: temp dir peak ${kb} kB" ||
	fail "streamed build: temp dir peak ${kb} kB (more than 64)"
[ -z "$(ls -A "$T/tmpd")" ] && pass "streamed build leaves the temp dir empty" ||
	fail "streamed build leaves the temp dir empty"
kb2=$(SIFBUILD_NO_STREAM=1 peak_tmp "$T/tmpd" "$SIFBUILD" build "$T/tmp.sif" "oci:$FX/oci:base")
echo "# temp dir peak: streamed ${kb} kB, rootfs path ${kb2} kB"
run "$SIFBUILD" build "$T/again.sif" "oci:$FX/oci:base"
cmp -s "$T/layout.sif" "$T/again.sif" && pass "conversion is reproducible under SOURCE_DATE_EPOCH" ||
	fail "conversion is reproducible under SOURCE_DATE_EPOCH"
run "$SIFBUILD" build --arch arm64 "$T/arm.sif" "oci:$FX/oci:multi"
expect_rc 0 "--arch picks a platform from an index"
[ "$(extract "$T/arm.sif" etc/platform)" = "linux/arm64/v8" ] && pass "arm64 image chosen" ||
	fail "arm64 image chosen"
run "$SIFBUILD" build --arch s390x "$T/none.sif" "oci:$FX/oci:multi"
expect_rc 2 "no matching platform fails"
expect_match err "amd64" "the error lists the available platforms"
[ ! -e "$T/none.sif" ] && pass "failed conversion leaves no target" || fail "failed conversion leaves no target"
run "$SIFBUILD" build "$T/x.sif" "oci:$FX/oci:nosuchtag"
expect_rc 2 "unknown tag fails"
expect_one_line_err "unknown tag: one line"

# docker:// from a registry on 127.0.0.1
if command -v docker-registry >/dev/null && command -v jq >/dev/null; then
	R="$T/reg"
	trap 'sh "$S/tests/fixtures/registry.sh" stop "$R" >/dev/null 2>&1; rm -rf "$T"' EXIT
	port=$(sh "$S/tests/fixtures/registry.sh" start "$R" 2>"$T/reg.log")
	if [ -n "$port" ] && sh "$S/tests/fixtures/registry.sh" seed "$R" >>"$T/reg.log" 2>&1; then
		export SIFBUILD_CACHEDIR="$T/cache"
		run "$SIFBUILD" build --nohttps "$T/reg.sif" "docker://127.0.0.1:$port/seed/busybox:latest"
		expect_rc 0 "docker:// from a local registry"
		check_image docker "$T/reg.sif"
		compare_stream "docker://" "docker://127.0.0.1:$port/seed/busybox:latest" --nohttps
		# Streamed from the blob cache: no copy of the image in the build
		# dir. A 24 MB incompressible layer keeps the build long enough for
		# du to see a copy (--disable-cache shows it does).
		head -c 25165824 /dev/urandom >"$T/rand.bin"
		ent F data/random.bin 0644 0 0 "$T/rand.bin" >"$T/big.spec"
		if add_image "$T/sing" big "$T/big.spec" &&
			skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$T/sing:big" \
				"docker://127.0.0.1:$port/test/big:latest" >"$T/sk.log" 2>&1; then
			big="docker://127.0.0.1:$port/test/big:latest"
			"$SIFBUILD" build --nohttps "$T/tmp.sif" "$big" >/dev/null 2>&1 # cached
			kb=$(peak_tmp "$T/tmpd" "$SIFBUILD" build --nohttps "$T/tmp.sif" "$big")
			[ "$kb" -le 64 ] && pass "docker:// streamed from the cache: temp dir peak ${kb} kB" ||
				fail "docker:// streamed from the cache: temp dir peak ${kb} kB (more than 64)"
			kb=$(peak_tmp "$T/tmpd" "$SIFBUILD" build --nohttps --disable-cache "$T/tmp.sif" "$big")
			[ "$kb" -ge 20000 ] && [ "$kb" -le 30000 ] &&
				pass "docker:// --disable-cache keeps only the compressed blobs (${kb} kB)" ||
				fail "docker:// --disable-cache keeps only the compressed blobs (${kb} kB)"
			[ -z "$(ls -A "$T/tmpd")" ] && pass "docker:// --disable-cache leaves the temp dir empty" ||
				fail "docker:// --disable-cache leaves the temp dir empty"
			compare_stream "docker:// --disable-cache" "$big" --nohttps --disable-cache
		else
			cat "$T/sk.log"
			fail "an image pushed to the local registry"
		fi
		run "$SIFBUILD" sif dump 1 "$T/reg.sif"
		expect_match out "^from: 127.0.0.1:$port/seed/busybox:latest$" "Def.FILE keeps the reference"
		run "$SIFBUILD" push --nohttps "$T/reg.sif" "oras://127.0.0.1:$port/test/roundtrip:v1"
		expect_rc 0 "push the SIF as an ORAS artifact"
		expect_match out "sha256:[0-9a-f]{64}" "push prints the manifest digest"
		run skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/test/roundtrip:v1"
		expect_match out "application/vnd.sylabs.sif.layer.v1.sif" "pushed manifest has the SIF layer media type"
		run "$SIFBUILD" build --nohttps "$T/pulled.sif" "oras://127.0.0.1:$port/test/roundtrip:v1"
		expect_rc 0 "build from oras://"
		cmp -s "$T/reg.sif" "$T/pulled.sif" && pass "push then build oras:// is bit-identical" ||
			fail "push then build oras:// is bit-identical"
		# Definition files starting from the registry (issue 6/7).
		printf 'Bootstrap: docker\nFrom: 127.0.0.1:%s/seed/busybox:latest\n\n%%post\n    echo via-def > /etc/def\n' \
			"$port" >"$T/docker.def"
		run "$SIFBUILD" build -q --nohttps "$T/dock-def.sif" "$T/docker.def"
		expect_rc 0 "Bootstrap: docker from a local registry"
		run "$SIFBUILD" inspect --labels "$T/dock-def.sif"
		expect_match out "org.opencontainers.image.base.name: 127.0.0.1:$port/seed/busybox:latest" \
			"Bootstrap: docker sets the base.name label"
		expect_match out "org.opencontainers.image.base.digest: sha256:[0-9a-f]{64}" \
			"Bootstrap: docker sets the base.digest label"
		run "$SIFBUILD" exec "$T/dock-def.sif" cat /etc/def
		[ "$OUT" = via-def ] && pass "%post ran on the docker base" || fail "%post ran on the docker base ($OUT $ERR)"
		printf 'Bootstrap: oras\nFrom: 127.0.0.1:%s/test/roundtrip:v1\n\n%%post\n    echo via-oras > /etc/oras\n' \
			"$port" >"$T/oras.def"
		run "$SIFBUILD" build -q --nohttps "$T/oras-def.sif" "$T/oras.def"
		expect_rc 0 "Bootstrap: oras from a local registry"
		run "$SIFBUILD" exec "$T/oras-def.sif" cat /etc/oras
		[ "$OUT" = via-oras ] && pass "%post ran on the oras base" || fail "%post ran on the oras base ($OUT $ERR)"
		run "$SIFBUILD" build "$T/tls.sif" "docker://127.0.0.1:$port/seed/busybox:latest"
		expect_rc 1 "HTTPS to a plain-HTTP registry fails"
		expect_one_line_err "HTTPS to a plain-HTTP registry: one line"
	else
		cat "$T/reg.log"
		fail "local registry started and seeded"
	fi
else
	echo "# docker-registry or jq missing: docker:// not checked"
fi
finish
