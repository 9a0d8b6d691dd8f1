#!/bin/sh
# tests/integration/defbuild.sh: definition-file builds end to end (issue 6),
# as whoever runs the suite (root in CI's first pass, a plain user in the
# second): every example builds with no network, the SIFs pass siftool and
# validate-sif.sh, the /.singularity.d layout is complete with the right
# modes, the images run (sifbuild run/exec/inspect), failures and SIGTERM
# leave nothing behind, and SOURCE_DATE_EPOCH builds are bit-identical.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"

for t in siftool unsquashfs; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
BUSYBOX=$(command -v busybox || echo /bin/busybox)
ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable' ||
	{ echo "SKIP: a static busybox is needed (busybox-static)"; exit 77; }
if ! unshare -U true 2>/dev/null && [ "$(id -u)" -ne 0 ]; then
	[ "${SIFBUILD_REQUIRE_USERNS:-0}" = 1 ] && { echo "not ok - user namespaces unavailable"; exit 1; }
	echo "SKIP: user namespaces unavailable"; exit 77
fi
VALIDATE="$S/../shared/tools/validate-sif.sh"
EX="$S/examples"
TMPB="$T/buildtmp"
mkdir -p "$TMPB"
export SIFBUILD_TMPDIR="$TMPB"
cd "$S" || exit 1

listing() { # listing SIF: unsquashfs -lln of the primary partition, paths from /
	id=$("$SIFBUILD" sif list "$1" | awk -F'|' '/FS \(Squashfs/ {print $1+0; exit}')
	off=$("$SIFBUILD" sif info "$id" "$1" | sed -n 's/^ *Offset: *//p')
	unsquashfs -o "$off" -lln "$1" | sed 's| squashfs-root| |'
}
has_entry() { # has_entry LISTING MODE PATH DESC
	if printf '%s\n' "$1" | grep -Eq "^$2 .* $3( -> .*)?\$"; then pass "$4"; else
		fail "$4 (no '$2 ... $3')"; fi
}
tmp_empty() { # tmp_empty DESC: the build temp base holds nothing
	if [ -z "$(ls -A "$TMPB")" ]; then pass "$1"; else fail "$1 ($(ls -A "$TMPB"))"; fi
}
same() { # same GOT WANT DESC
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (got '$1', want '$2')"; fi
}

# ------------------------------------------------------------ the base image
run "$SIFBUILD" build -q "$T/base.sif" "$EX/busybox-base.def"
expect_rc 0 "busybox base builds from file:///bin/busybox"
run siftool list "$T/base.sif"
expect_match out "Def.FILE" "siftool lists Def.FILE"
expect_match out "FS \(Squashfs/\*System/amd64\)" "siftool lists the primary partition"
if [ -x "$VALIDATE" ]; then
	run sh "$VALIDATE" "$T/base.sif"
	expect_rc 0 "validate-sif.sh accepts the base image"
fi
L=$(listing "$T/base.sif")
for e in "-rw-r--r-- /.singularity.d/Singularity" "-rw-r--r-- /.singularity.d/labels.json" \
	"-rwxr-xr-x /.singularity.d/runscript" "-rwxr-xr-x /.singularity.d/startscript" \
	"-rwxr-xr-x /.singularity.d/actions/exec" "-rwxr-xr-x /.singularity.d/actions/run" \
	"-rwxr-xr-x /.singularity.d/actions/shell" "-rwxr-xr-x /.singularity.d/actions/start" \
	"-rwxr-xr-x /.singularity.d/actions/test" "-rwxr-xr-x /.singularity.d/env/01-base.sh" \
	"-rwxr-xr-x /.singularity.d/env/90-environment.sh" \
	"-rwxr-xr-x /.singularity.d/env/94-appsbase.sh" "-rwxr-xr-x /.singularity.d/env/95-apps.sh" \
	"-rwxr-xr-x /.singularity.d/env/99-base.sh" "-rwxr-xr-x /.singularity.d/env/99-runtimevars.sh" \
	"drwxr-xr-x /.singularity.d/libs" "lrwxrwxrwx /singularity" "lrwxrwxrwx /environment" \
	"lrwxrwxrwx /.run" "lrwxrwxrwx /.exec" "lrwxrwxrwx /.shell" "lrwxrwxrwx /.test" \
	"-rwxr-xr-x /bin/busybox" "-rw-r--r-- /etc/passwd" "drwxr-xr-x /var/tmp"; do
	has_entry "$L" "${e%% *}" "${e#* }" "base image has ${e#* } (${e%% *})"
done
if printf '%s\n' "$L" | grep -q ' 0/0 '; then pass "files are owned by root"; else
	fail "files are owned by root"; fi
"$SIFBUILD" sif dump 1 "$T/base.sif" >"$T/base.def.out"
# Apptainer stores the stages' text: comments before the first header go
sed -n '/^Bootstrap:/,$p' "$EX/busybox-base.def" | cmp -s "$T/base.def.out" - &&
	pass "Def.FILE is the definition" || fail "Def.FILE is the definition"
tmp_empty "no build directory left after a build"
A="--build-arg BASE=$T/base.sif"

# -------------------------------------------------------------- hello.def
# shellcheck disable=SC2086
run "$SIFBUILD" build $A "$T/hello.sif" "$EX/hello.def"
expect_rc 0 "hello.def builds on the base image"
expect_match err "Running %post" "progress names the %post step"
expect_match err "Running %test" "%test ran after the build"
run "$SIFBUILD" run "$T/hello.sif"
expect_rc 0 "sifbuild run hello.sif"
same "$OUT" "Hello from a sifbuild image (built by sifbuild)" "run prints exactly the runscript output"
run "$SIFBUILD" exec "$T/hello.sif" sh -c 'echo "$GREETING $BUILT_IN_POST"'
same "$OUT" "Hello yes" "exec sees %environment and what %post wrote to \$APPTAINER_ENVIRONMENT"
run "$SIFBUILD" inspect --labels "$T/hello.sif"
expect_match out "Author: sifbuild" "inspect --labels shows %labels"
expect_match out "org.label-schema.usage.singularity.deffile.bootstrap: localimage" \
	"inspect --labels shows the automatic header labels"
run "$SIFBUILD" inspect --runscript "$T/hello.sif"
expect_match out 'echo "\$GREETING from a sifbuild image' "inspect --runscript"
run "$SIFBUILD" inspect --helpfile "$T/hello.sif"
expect_match out "A minimal image built by sifbuild" "inspect --helpfile"
run "$SIFBUILD" inspect --deffile "$T/hello.sif"
expect_match out "^From: $T/base.sif\$" "inspect --deffile shows the templated definition"
L=$(listing "$T/hello.sif")
has_entry "$L" "-rwxr-xr-x" "/.singularity.d/test" "%test stored as /.singularity.d/test"
has_entry "$L" "-rw-r--r--" "/.singularity.d/runscript.help" "%help stored"
has_entry "$L" "-rw-r--r--" "/.singularity.d/bootstrap_history/Apptainer0" \
	"the base image's definition kept in bootstrap_history"
has_entry "$L" "-rw-r--r--" "/.singularity.d/env/91-environment.sh" "91-environment.sh written by %post"
if printf '%s\n' "$L" | grep -q '/.post.script\|/.build.labels'; then
	fail "no build leftovers in the image"; else pass "no build leftovers in the image"; fi

# ---------------------------------------------------------------- reproducible
# shellcheck disable=SC2086
SOURCE_DATE_EPOCH=1700000000 "$SIFBUILD" build -q $A "$T/r1.sif" "$EX/hello.def" &&
	SOURCE_DATE_EPOCH=1700000000 "$SIFBUILD" build -q $A "$T/r2.sif" "$EX/hello.def"
if cmp -s "$T/r1.sif" "$T/r2.sif"; then pass "SOURCE_DATE_EPOCH builds are bit-identical"; else
	fail "SOURCE_DATE_EPOCH builds are bit-identical"; fi

# ------------------------------------------------------------- multistage.def
# shellcheck disable=SC2086
run "$SIFBUILD" build -q $A "$T/multi.sif" "$EX/multistage.def"
expect_rc 0 "multistage.def builds"
run "$SIFBUILD" run "$T/multi.sif" a b
same "$OUT" "hello from the build stage, args: a b" "%files from STAGE copied the artifact"
L=$(listing "$T/multi.sif")
if printf '%s\n' "$L" | grep -q ' /out/'; then fail "only the named file is copied"; else
	pass "only the named file is copied"; fi

# -------------------------------------------------------------------- apps.def
# shellcheck disable=SC2086
run "$SIFBUILD" build -q $A "$T/apps.sif" "$EX/apps.def"
expect_rc 0 "apps.def builds"
run "$SIFBUILD" run --app cowsay "$T/apps.sif"
same "$OUT" "the cow says moo" "run --app cowsay uses %apprun and %appenv"
run "$SIFBUILD" run --app foo-bar "$T/apps.sif"
same "$OUT" "foo is bar" "an app with '-' in its name runs"
run "$SIFBUILD" exec "$T/apps.sif" cat /scif/apps/cowsay/installed
same "$OUT" "installed in /scif/apps/cowsay" "%appinstall ran in the app directory"
run "$SIFBUILD" inspect --list-apps "$T/apps.sif"
expect_match out "cowsay" "inspect --list-apps names cowsay"
L=$(listing "$T/apps.sif")
for p in /scif/apps/cowsay/scif/runscript /scif/apps/cowsay/scif/env/90-environment.sh \
	/scif/apps/cowsay/scif/test /scif/apps/cowsay/scif/labels.json \
	/scif/apps/cowsay/scif/runscript.help /scif/apps/cowsay/base.def \
	/scif/data/cowsay/input /scif/data/cowsay/output; do
	if printf '%s\n' "$L" | grep -q " $p\$"; then pass "apps image has $p"; else
		fail "apps image has $p"; fi
done

# --------------------------------------------------------------- build-args.def
# shellcheck disable=SC2086
run "$SIFBUILD" build -q $A "$T/args1.sif" "$EX/build-args.def"
expect_rc 0 "build-args.def builds with the defaults"
run "$SIFBUILD" run "$T/args1.sif"
same "$OUT" "Hello, version 1.0" "defaults from %arguments"
printf 'VERSION=2.5\n' >"$T/args.env"
# shellcheck disable=SC2086
run "$SIFBUILD" build -q $A --build-arg GREETING=Hi --build-arg-file "$T/args.env" \
	"$T/args2.sif" "$EX/build-args.def"
expect_rc 0 "build-args.def builds with --build-arg and --build-arg-file"
run "$SIFBUILD" run "$T/args2.sif"
same "$OUT" "Hi, version 2.5" "build args substitute"
printf 'Bootstrap: localimage\nFrom: {{ BASE }}\n\n%%post\n    echo {{ NOPE }}\n' >"$T/undef.def"
# shellcheck disable=SC2086
run "$SIFBUILD" build $A "$T/undef.sif" "$T/undef.def"
expect_rc 2 "an undefined build arg fails"
expect_match err "undef.def:5: .*NOPE" "the error names the file and line"
# shellcheck disable=SC2086
run "$SIFBUILD" build $A --build-arg EXTRA=1 "$T/unused.sif" "$EX/hello.def"
expect_match err "unused build args: EXTRA" "an unused build arg is fatal"
# shellcheck disable=SC2086
run "$SIFBUILD" build -q $A --build-arg EXTRA=1 --warn-unused-build-args "$T/unused.sif" \
	"$EX/hello.def"
expect_rc 0 "--warn-unused-build-args only warns"

# --------------------------------------------------------------- from-oci.def
OCI="$T/oci"
if sh "$S/tests/fixtures/make-oci-images.sh" "$OCI" >/dev/null 2>&1 && [ -f "$OCI/base.oci.tar" ]; then
	run "$SIFBUILD" build -q --build-arg IMAGE="$OCI/base.oci.tar" "$T/oci.sif" "$EX/from-oci.def"
	expect_rc 0 "from-oci.def builds from an oci-archive"
	run siftool list "$T/oci.sif"
	expect_match out "oci-config.json|JSON.Generic" "the OCI config is kept"
	L=$(listing "$T/oci.sif")
	has_entry "$L" "-rwxr-xr-x" "/.singularity.d/env/10-docker2singularity.sh" "OCI ENV file written"
	has_entry "$L" "-rw-r--r--" "/etc/converted" "%post ran on the OCI base"
	# %files from a stage whose owners live in the ownership map (a plain
	# user's OCI unpack): the owners travel with the copy.
	printf 'Bootstrap: oci-archive\nFrom: %s\nStage: one\n\nBootstrap: localimage\nFrom: %s\n\n%%files from one\n    /home/user /home/user\n    /data/setuid /opt/setuid\n' \
		"$OCI/base.oci.tar" "$T/base.sif" >"$T/owners.def"
	run "$SIFBUILD" build -q "$T/owners.sif" "$T/owners.def"
	expect_rc 0 "%files from an OCI stage builds"
	L=$(listing "$T/owners.sif")
	has_entry "$L" "drwxr-x--- 1000/1000" "/home/user" "%files from keeps a copied directory's owner (1000) and mode"
	has_entry "$L" "-rw-r----- 1000/1000" "/home/user/.profile" "%files from keeps a copied file's owner"
	has_entry "$L" "-rwsr-xr-x 0/0" "/opt/setuid" "%files from keeps the setuid bit"
else
	echo "# SKIP: from-oci.def (OCI fixtures need skopeo)"
fi

# ------------------------------------------------ scripts, files, failures
mkdir -p "$T/ctx/sub"
echo one >"$T/ctx/sub/a.txt"
echo two >"$T/ctx/sub/b.txt"
cat >"$T/full.def" <<EOF
Bootstrap: localimage
From: $T/base.sif

%setup
    echo "setup was here" > "\$APPTAINER_ROOTFS/setup.txt"

%files
    $T/ctx/sub/*.txt /data/
    $T/ctx/sub/a.txt

%post
    test -f /setup.txt
    test "\$(cat /data/b.txt)" = two
    echo "custom.label from-post" >> "\$APPTAINER_LABELS"

%runscript
    cat /data/a.txt /setup.txt
EOF
run "$SIFBUILD" build -q "$T/full.sif" "$T/full.def"
expect_rc 0 "%setup, %files (glob to a directory, no destination) and %post"
run "$SIFBUILD" run "$T/full.sif"
same "$OUT" "one
setup was here" "%setup and %files results are in the image"
run "$SIFBUILD" inspect --labels "$T/full.sif"
expect_match out "custom.label: from-post" "labels written to \$APPTAINER_LABELS in %post"
L=$(listing "$T/full.sif")
has_entry "$L" "-rw-r--r--" "$T/ctx/sub/a.txt" "a %files source without destination keeps its path"

# --bind and --section
printf 'Bootstrap: localimage\nFrom: %s\n\n%%post\n    cp /mnt/sub/b.txt /b.txt\n\n%%runscript\n    echo custom\n\n%%labels\n    mine yes\n' \
	"$T/base.sif" >"$T/bind.def"
run "$SIFBUILD" build -q --bind "$T/ctx:/mnt:ro" "$T/bind.sif" "$T/bind.def"
expect_rc 0 "--bind SRC:DST:ro is visible in %post"
run "$SIFBUILD" exec "$T/bind.sif" cat /b.txt
same "$OUT" "two" "%post read the bound file"
L=$(listing "$T/bind.sif")
if printf '%s\n' "$L" | grep -q ' /mnt/sub'; then fail "the bind leaves nothing in the image"; else
	pass "the bind leaves nothing in the image"; fi
run "$SIFBUILD" build -q --section none --bind "$T/ctx:/mnt" "$T/none.sif" "$T/bind.def"
expect_rc 0 "--section none builds"
run "$SIFBUILD" run "$T/none.sif"
[ "$OUT" != custom ] && pass "--section none leaves %runscript out" || fail "--section none leaves %runscript out"
run "$SIFBUILD" inspect --labels "$T/none.sif"
if printf '%s\n' "$OUT" | grep -q '^mine'; then fail "--section none leaves %labels out"; else
	pass "--section none leaves %labels out"; fi
run "$SIFBUILD" exec "$T/none.sif" cat /b.txt
same "$OUT" "two" "--section does not gate %post (as Apptainer)"
run "$SIFBUILD" build -q --section all,runscript "$T/x.sif" "$T/bind.def"
expect_match err "cannot have all and any other option" "--section all must be alone"

printf 'Bootstrap: localimage\nFrom: %s\n\n%%post\n    echo before\n    false\n' "$T/base.sif" >"$T/fail.def"
run "$SIFBUILD" build "$T/fail.sif" "$T/fail.def"
expect_rc 1 "a failing %post fails the build"
expect_match err "fail.def:4: %post failed with exit status 1" "the error names file, line, section"
[ -e "$T/fail.sif" ] && fail "no target after a failing %post" || pass "no target after a failing %post"
tmp_empty "no temp dirs after a failing %post"

printf 'Bootstrap: localimage\nFrom: %s\n\n%%test\n    exit 3\n' "$T/base.sif" >"$T/tfail.def"
run "$SIFBUILD" build "$T/tfail.sif" "$T/tfail.def"
expect_match err "%test failed with exit status 3" "a failing %test fails the build"
[ -e "$T/tfail.sif" ] && fail "no target after a failing %test" || pass "no target after a failing %test"
run "$SIFBUILD" build -q --notest "$T/tfail.sif" "$T/tfail.def"
expect_rc 0 "--notest skips %test"

printf 'Bootstrap: localimage\nFrom: %s\n\n%%post\n    touch /started\n    sleep 67\n' "$T/base.sif" >"$T/slow.def"
"$SIFBUILD" build -q "$T/slow.sif" "$T/slow.def" >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! ls "$TMPB"/*/stage-1/rootfs/started >/dev/null 2>&1; do
	sleep 0.1; i=$((i + 1))
done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -ne 0 ] && pass "SIGTERM during %post fails the build" || fail "SIGTERM during %post fails the build"
[ -e "$T/slow.sif" ] && fail "no target after SIGTERM" || pass "no target after SIGTERM"
tmp_empty "no temp dirs after SIGTERM"
if pgrep -f "sleep 67" -u "$(id -u)" >/dev/null; then fail "no process left after SIGTERM"; else
	pass "no process left after SIGTERM"; fi

printf 'Bootstrap: busybox\n\n%%post\n    true\n' >"$T/nomirror.def"
run "$SIFBUILD" build "$T/nm.sif" "$T/nomirror.def"
expect_one_line_err "a missing MirrorURL is one line"
expect_match err "nomirror.def:1:" "it names the definition file and line"

# Case 24 (rootless-modes.md): a file capability set during the build is
# stored as a plain (v2, root-id-free) capability, never bound to the
# builder's UID. Built by a plain user, checked as root (only root can read
# the capability back after extraction).
if [ "$(id -u)" -eq 0 ] && command -v setcap >/dev/null && command -v getcap >/dev/null; then
	cu=$(id -u sbtest 2>/dev/null || echo 65534)
	CT=$(mktemp -d "$T/cap.XXXXXX") && chmod 755 "$T" && chown "$cu" "$CT"
	printf 'Bootstrap: busybox\nMirrorURL: file://%s\n\n%%setup\n    cp "$APPTAINER_ROOTFS/bin/busybox" "$APPTAINER_ROOTFS/bin/ping2"\n    %s cap_net_raw+ep "$APPTAINER_ROOTFS/bin/ping2"\n' \
		"$BUSYBOX" "$(command -v setcap)" >"$CT/cap.def"
	for m in seccomp rootmap subuid; do
		[ $m = subuid ] && ! grep -q "^$(id -un "$cu" 2>/dev/null):" /etc/subuid && continue
		run setpriv --reuid="$cu" --regid="$cu" --clear-groups env HOME=/tmp SIFBUILD_TMPDIR="$CT" \
			"$SIFBUILD" build -q --userns-mode=$m "$CT/$m.sif" "$CT/cap.def"
		expect_rc 0 "[$m] 24: setcap in a build as uid $cu"
		id=$("$SIFBUILD" sif list "$CT/$m.sif" | awk -F'|' '/FS \(Squashfs/ {print $1+0; exit}')
		off=$("$SIFBUILD" sif info "$id" "$CT/$m.sif" | sed -n 's/^ *Offset: *//p')
		unsquashfs -q -o "$off" -d "$CT/x-$m" "$CT/$m.sif" bin/ping2 >/dev/null 2>&1
		caps=$(getcap -n "$CT/x-$m/bin/ping2")
		case $caps in
		*rootid*) fail "[$m] 24: the capability is v2, not bound to a uid ($caps)" ;;
		*cap_net_raw=ep*) pass "[$m] 24: the capability is v2, not bound to a uid" ;;
		*) fail "[$m] 24: the capability survives packing (got '$caps')" ;;
		esac
	done
fi

# A build directory too small for the base fails at once (root: a tmpfs).
if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=40m tmpfs "$T/small"; then
	# shellcheck disable=SC2086
	run "$SIFBUILD" build $A --tmpdir "$T/small" "$T/small.sif" "$EX/hello.def"
	expect_rc 1 "a too small build directory fails before any work"
	expect_match err "MiB free, the build needs about [0-9]+ MiB" "the error gives free and needed space"
	expect_one_line_err "the space error is one line"
	[ -z "$(ls -A "$T/small")" ] && pass "nothing written to the small directory" ||
		fail "nothing written to the small directory"
	umount "$T/small"
fi

# ----------------------------------------------------- sandbox, update, force
# shellcheck disable=SC2086
run "$SIFBUILD" build -q --sandbox $A "$T/sbox" "$EX/hello.def"
expect_rc 0 "--sandbox builds a directory"
[ -f "$T/sbox/etc/buildinfo" ] && [ -x "$T/sbox/.singularity.d/runscript" ] &&
	pass "the sandbox has the image's files" || fail "the sandbox has the image's files"
run "$SIFBUILD" run "$T/sbox"
same "$OUT" "Hello from a sifbuild image (built by sifbuild)" "the sandbox runs"
printf 'Bootstrap: localimage\nFrom: %s\n\n%%post\n    echo more > /etc/more\n' "$T/base.sif" >"$T/upd.def"
run "$SIFBUILD" build -q "$T/sbox" "$T/upd.def"
expect_rc 2 "an existing target needs --force or --update"
run "$SIFBUILD" build -q --sandbox --update "$T/sbox" "$T/upd.def"
expect_rc 0 "--update builds on the existing sandbox"
[ -f "$T/sbox/etc/buildinfo" ] && [ -f "$T/sbox/etc/more" ] &&
	pass "--update keeps the old files and adds the new" || fail "--update keeps the old files and adds the new"
run "$SIFBUILD" build -q --sandbox --force "$T/sbox" "$T/upd.def"
expect_rc 0 "--force rebuilds the sandbox from scratch"
[ ! -e "$T/sbox/etc/buildinfo" ] && [ -f "$T/sbox/etc/more" ] &&
	pass "--force replaced the sandbox" || fail "--force replaced the sandbox"
run "$SIFBUILD" build -q --update "$T/x.sif" "$T/upd.def"
expect_match err "only sandbox update is supported" "--update needs --sandbox"
tmp_empty "no temp dirs left at the end"
# sb_temp_beside names are hidden: ".TARGET.sifbuild-XXXXXX"
ls -A "$T" | grep -q '\.sifbuild-' && fail "no temp files beside the targets" ||
	pass "no temp files beside the targets"
finish
