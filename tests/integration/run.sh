#!/bin/sh
# tests/integration/run.sh: `sifbuild run|exec|shell|test` and `sifbuild
# inspect` on SIFs built from a busybox tree and on the tree itself. As root
# both ways of opening a SIF are checked (squashfuse when installed, and
# extraction with SIFBUILD_NO_FUSE=1), then the main cases again as uid 65534;
# as a plain user the suite runs as that user.
#
# Needs busybox-static and user namespaces (as a plain user); skips (77)
# without them unless SIFBUILD_REQUIRE_USERNS=1.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
ME=$(id -u)

skip_or_fail() {
	if [ "${SIFBUILD_REQUIRE_USERNS:-0}" = 1 ]; then
		echo "not ok - $1 (SIFBUILD_REQUIRE_USERNS=1)"
		exit 1
	fi
	echo "# SKIP: $1"
	exit 77
}

expect_out() { # expect_out TEXT DESC: stdout is exactly TEXT, stderr empty
	if [ "$OUT" = "$1" ] && [ -z "$ERR" ]; then pass "$2"; else
		fail "$2 (stdout '$OUT', expected '$1'; stderr '$ERR')"; fi
}

BUSYBOX=$(command -v busybox || echo /bin/busybox)
if ! [ -x "$BUSYBOX" ] || ! ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable'; then
	skip_or_fail "a static busybox is needed (apt-get install busybox-static)"
fi

# ------------------------------------------------------------- the image

I="$T/img"
mkdir -p "$I/bin" "$I/.singularity.d/env" "$I/scif/apps/hello/scif/env"
cp "$BUSYBOX" "$I/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -s busybox "$I/bin/$a"
done
printf '#!/bin/sh\necho "runscript $GREETING"\nfor a in "$@"; do echo "[$a]"; done\nexit ${RS_RC:-0}\n' \
	>"$I/.singularity.d/runscript"
printf '#!/bin/sh\necho "testing $GREETING"\nexit 3\n' >"$I/.singularity.d/test"
printf 'export GREETING=hello\n' >"$I/.singularity.d/env/90-environment.sh"
printf 'Usage: just run it\n' >"$I/.singularity.d/runscript.help"
printf '{\n\t"maintainer": "me \\u003cme@example.org\\u003e",\n\t"version": "1.0"\n}' \
	>"$I/.singularity.d/labels.json"
A="$I/scif/apps/hello/scif"
printf '#!/bin/sh\necho "app hello $APPVAR: $*"\n' >"$A/runscript"
printf '#!/bin/sh\necho "app test"\n' >"$A/test"
printf 'export APPVAR=appvalue\n' >"$A/env/90-environment.sh"
printf '{\n\t"SCIF_APP_NAME": "hello"\n}' >"$A/labels.json"
chmod 755 "$I/.singularity.d/runscript" "$I/.singularity.d/test" "$A/runscript" "$A/test"

run "$SIFBUILD" build "$T/img.sif" "$I/"
expect_rc 0 "build a SIF from the busybox tree"
cp "$T/img.sif" "$T/old.sif"
run "$SIFBUILD" sif del 2 "$T/old.sif"
expect_rc 0 "an older-style SIF: inspect-metadata.json removed"

# Temporary files go here; it must be empty after every command.
BASE="$T/base"
mkdir -p "$BASE"
chmod 1777 "$BASE"
export SIFBUILD_TMPDIR="$BASE"
base_empty() {
	if [ -z "$(ls -A "$BASE")" ] && ! grep -q " $BASE" /proc/self/mountinfo; then
		pass "$1: nothing left in the temp base"
	else fail "$1: left in $BASE: $(ls -A "$BASE")"; fi
}

run "$SIFBUILD" exec "$T/img.sif" true
if [ "$RC" -ne 0 ]; then
	case "$ERR" in
	*namespace* | *"Operation not permitted"*) skip_or_fail "user namespaces unavailable: $ERR" ;;
	esac
fi
expect_rc 0 "exec true"

# ----------------------------------------------------------- run cases

# run_cases LABEL IMAGE: the run/exec/shell/test behaviour on one image.
run_cases() {
	L=$1 IMG=$2
	run "$SIFBUILD" run "$IMG" "a b" c
	expect_out "runscript hello
[a b]
[c]" "[$L] run prints exactly the runscript's output, arguments kept"
	RS_RC=7 run "$SIFBUILD" run "$IMG"
	expect_rc 7 "[$L] the runscript's exit status (host variable passed) is sifbuild's"
	RS_RC=7 run "$SIFBUILD" run --cleanenv "$IMG"
	expect_rc 0 "[$L] --cleanenv keeps the host variable out"
	run "$SIFBUILD" exec "$IMG" sh -c 'echo "$GREETING"; exit 42'
	expect_rc 42 "[$L] exec: the command's exit status"
	expect_out hello "[$L] exec sees variables from /.singularity.d/env"
	APPTAINERENV_GREETING="o'ver  \$x" SINGULARITYENV_OTHER=x run "$SIFBUILD" exec "$IMG" \
		sh -c 'echo "$GREETING $OTHER"'
	expect_out "o'ver  \$x x" "[$L] APPTAINERENV_/SINGULARITYENV_ set variables, over %environment"
	run "$SIFBUILD" exec "$IMG" sh -c 'id -u; touch /new-file'
	if [ "$RC" -ne 0 ] && [ "$(printf '%s\n' "$OUT" | head -1)" = "$ME" ]; then
		pass "[$L] runs as the caller's uid $ME on a read-only root"
	else fail "[$L] identity/read-only root (rc $RC, out $OUT)"; fi
	run "$SIFBUILD" exec "$IMG" sh -c 'kill -TERM $$'
	expect_rc 143 "[$L] a program killed by a signal gives 128+N"
	printf 'echo "in shell $GREETING"\nexit 4\n' >"$T/stdin"
	"$SIFBUILD" shell "$IMG" <"$T/stdin" >"$T/out" 2>"$T/err"
	RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
	expect_rc 4 "[$L] shell reads commands from stdin, its status returned"
	expect_out "in shell hello" "[$L] shell sources the environment"
	run "$SIFBUILD" test "$IMG"
	expect_rc 3 "[$L] test runs /.singularity.d/test"
	expect_out "testing hello" "[$L] ... printing only its output"
	base_empty "$L"
}

run_sif_cases() {
	L=$1
	run_cases "$L" "$T/img.sif"
	run "$SIFBUILD" run --app hello "$T/img.sif" x
	expect_out "app hello appvalue: x" "[$L] --app runs the app's runscript with its environment"
	run "$SIFBUILD" exec --app hello "$T/img.sif" sh -c 'echo "$APPTAINER_APPNAME $SINGULARITY_APPNAME"'
	expect_out "hello hello" "[$L] --app sets APPTAINER_APPNAME and SINGULARITY_APPNAME"
	run "$SIFBUILD" test --app hello "$T/img.sif"
	expect_out "app test" "[$L] test --app runs the app's test"
	run "$SIFBUILD" run --app nope "$T/img.sif"
	expect_rc 2 "[$L] an unknown app is bad input"
	expect_one_line_err "[$L] ... reported in one line"
	mkdir -p "$T/bindsrc"
	echo bound >"$T/bindsrc/f"
	run "$SIFBUILD" exec --bind "$T/bindsrc:/mnt:ro" "$T/img.sif" sh -c 'cat /mnt/f; touch /mnt/g'
	if [ "$OUT" = bound ] && [ "$RC" -ne 0 ] && ! [ -e "$T/bindsrc/g" ]; then
		pass "[$L] --bind SRC:DST:ro"
	else fail "[$L] --bind SRC:DST:ro (rc $RC, out $OUT)"; fi
	# SIGTERM while the program sleeps: forwarded, everything removed.
	"$SIFBUILD" exec "$T/img.sif" sleep 37 >"$T/bg.out" 2>&1 &
	bg=$!
	i=0
	until grep -qzx 37 /proc/[0-9]*/cmdline 2>/dev/null || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -TERM $bg
	wait $bg
	RC=$?
	expect_rc 143 "[$L] SIGTERM during a run ends sifbuild by SIGTERM"
	sleep 0.3
	if grep -qzx 37 /proc/[0-9]*/cmdline 2>/dev/null; then
		fail "[$L] the sleeping program outlived sifbuild"
	else pass "[$L] the sleeping program was ended"; fi
	base_empty "[$L] after SIGTERM"
	base_empty "$L"
}

if [ "$ME" -eq 0 ] && "$SIFBUILD" exec -v "$T/img.sif" true 2>&1 | grep -q squashfuse; then
	run_sif_cases fuse
else
	echo "# squashfuse not usable here: the SIF is extracted"
fi
SIFBUILD_NO_FUSE=1 run_sif_cases extract
run_cases dir "$I"
rm -f "$I/.singularity.d/test"
run "$SIFBUILD" test "$I"
if [ "$RC" -eq 0 ] && [ -z "$OUT" ] && [ -n "$ERR" ]; then
	pass "[dir] test without a test script: status 0, a notice on stderr only"
else fail "[dir] test without a test script (rc $RC, out '$OUT', err '$ERR')"; fi

run "$SIFBUILD" exec "$T/img.sif"
expect_rc 2 "exec without a command is bad usage"
run "$SIFBUILD" run "$T/missing.sif"
expect_rc 2 "a missing image is bad input"
expect_one_line_err "... reported in one line"
printf 'not a sif' >"$T/junk.sif"
run "$SIFBUILD" run "$T/junk.sif"
expect_rc 2 "a file that is no SIF is bad input"
expect_one_line_err "... reported in one line"
run "$SIFBUILD" inspect "$T/junk.sif"
expect_rc 2 "inspect: a file that is no SIF is bad input"
run "$SIFBUILD" exec --bind "$T/nonexistent:/mnt" "$T/img.sif" true
expect_rc 2 "a --bind source that does not exist is bad input"
expect_match err "bind $T/nonexistent:/mnt: source" "... naming the bind"
base_empty "errors"

# -------------------------------------------------------------- inspect

for img in "$T/img.sif" "$T/old.sif" "$I"; do
	case $img in *img.sif) L=sif ;; *old.sif) L=old-sif ;; *) L=dir ;; esac
	run "$SIFBUILD" inspect "$img"
	expect_out "maintainer: me <me@example.org>
version: 1.0" "[$L] inspect: labels by default"
	run "$SIFBUILD" inspect --labels "$img"
	expect_match out '^version: 1.0$' "[$L] inspect --labels"
	run "$SIFBUILD" inspect --runscript "$img"
	expect_out "$(cat "$I/.singularity.d/runscript")" "[$L] inspect --runscript"
	run "$SIFBUILD" inspect --helpfile "$img"
	expect_out "Usage: just run it" "[$L] inspect --helpfile"
	run "$SIFBUILD" inspect --environment "$img"
	expect_out "=== /.singularity.d/env/90-environment.sh ===
export GREETING=hello" "[$L] inspect --environment"
	run "$SIFBUILD" inspect --list-apps "$img"
	expect_out hello "[$L] inspect --list-apps"
	run "$SIFBUILD" inspect --app hello --runscript "$img"
	expect_out "$(cat "$A/runscript")" "[$L] inspect --app hello --runscript"
	run "$SIFBUILD" inspect --app hello --labels "$img"
	expect_out "SCIF_APP_NAME: hello" "[$L] inspect --app hello --labels"
	run "$SIFBUILD" inspect --json "$img"
	expect_match out '^		"attributes": \{$' "[$L] inspect --json: Go's tab-indented layout"
	expect_match out '"maintainer": "me \\u003cme@example.org\\u003e"' \
		"[$L] ... with Go's HTML-safe escapes"
	for f in --all "--json --runscript --test --app hello"; do
		# shellcheck disable=SC2086
		"$SIFBUILD" inspect $f "$img" >"$T/j.json" 2>"$T/err"
		if python3 -m json.tool "$T/j.json" >/dev/null 2>&1; then
			pass "[$L] inspect $f is valid JSON"
		else fail "[$L] inspect $f: not JSON: $(head -c 300 "$T/j.json")"; fi
	done
	"$SIFBUILD" inspect --all "$img" >"$T/all-$L.json"
	if command -v jq >/dev/null; then
		v=$(jq -r '.data.attributes.apps.hello.runscript, .data.attributes.labels.version, .type' \
			"$T/all-$L.json" | tr '\n' ' ')
		if [ "$v" = "$(cat "$A/runscript" | tr '\n' ' ')1.0 container " ]; then
			pass "[$L] inspect --all: app runscript, labels and type (jq)"
		else fail "[$L] inspect --all (jq): $v"; fi
	fi
done
run "$SIFBUILD" inspect --test "$T/img.sif"
expect_out "$(printf '#!/bin/sh\necho "testing $GREETING"\nexit 3')" "inspect --test"
run "$SIFBUILD" inspect --deffile "$T/img.sif"
expect_out "bootstrap: localimage" "inspect --deffile: the definition stored in the SIF"
if cmp -s "$T/all-sif.json" "$T/all-old-sif.json"; then
	pass "a SIF without inspect-metadata.json inspects the same (from its tree)"
else fail "old SIF inspect differs: $(diff "$T/all-sif.json" "$T/all-old-sif.json" | head -5)"; fi
run "$SIFBUILD" inspect "$T/missing.sif"
expect_rc 2 "inspect: a missing image is bad input"
base_empty "inspect"

# ------------------------------------------ root: again as a plain user

if [ "$ME" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$T"
	chmod -R a+rX "$I" "$T/img.sif"
	asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/ "$@"; }
	if asuser test -x "$SIFBUILD"; then
		(cd / && asuser "$SIFBUILD" run "$T/img.sif" u) >"$T/out" 2>"$T/err"
		RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
		case "$ERR" in
		*namespace*) echo "# as uid 65534: user namespaces unavailable: $ERR" ;;
		*)
			expect_out "runscript hello
[u]" "[uid 65534] run prints exactly the runscript's output"
			(cd / && asuser "$SIFBUILD" exec "$T/img.sif" id -u) >"$T/out" 2>"$T/err"
			RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
			expect_out 65534 "[uid 65534] the program runs as the caller's own uid"
			(cd / && asuser "$SIFBUILD" run --app hello "$I" y) >"$T/out" 2>"$T/err"
			RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
			expect_rc 0 "[uid 65534] a sandbox directory owned by root runs"
			base_empty "uid 65534"
			;;
		esac
	else
		echo "# uid 65534 cannot reach $SIFBUILD: unprivileged cases left to the user run"
	fi
fi

finish
