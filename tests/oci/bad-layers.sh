#!/bin/sh
# tests/oci/bad-layers.sh: the malicious-layer corpus
# (tests/fixtures/make-bad-layers.sh). Each case must fail with its documented
# error or succeed with its documented safe result, and after every case
# nothing outside the build directory may have changed: the test directory
# (minus the build dir) is fingerprinted before and after, the symlink
# targets outside the rootfs are checked, and no sifbuild-evil-* name may
# appear in /, /tmp or the test directory's parent.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
OCITOOL=$B/tests/oci/ocitool
export MKTAR="$B/tests/oci/mktar"
[ -x "$OCITOOL" ] || { echo "SKIP: $OCITOOL not built"; exit 77; }
command -v gzip >/dev/null || { echo "SKIP: gzip missing"; exit 77; }
# $T/area holds the build dir and siblings that must stay as they are;
# $T/area/outside is where the corpus's symlinks point.
A=$T/area
OUT=$A/outside
mkdir -p "$OUT/sub" "$A/build"
echo marker >"$OUT/marker"
echo other >"$OUT/sub/file"
echo sibling >"$A/sibling"
sh "$S/tests/fixtures/make-bad-layers.sh" "$T/corpus" "$OUT" >"$T/mk.log" 2>&1 ||
	{ cat "$T/mk.log"; echo "corpus script failed"; exit 1; }

fingerprint() {
	(cd "$A" && find . "$T/corpus" -path ./build -prune -o -print | LC_ALL=C sort | while read -r f; do
		printf '%s ' "$f"
		stat -c '%F %a %s %Y' "$f" | tr '\n' ' '
		[ -f "$f" ] && [ ! -L "$f" ] && cksum <"$f" | tr '\n' ' '
		echo
	done)
	ls -a / /tmp "$(dirname "$T")" 2>/dev/null | grep sifbuild-evil
}
fingerprint >"$T/before"

while read -r ref expect; do
	R=$A/build/$ref
	run "$OCITOOL" unpack oci "$T/corpus/bad:$ref" "$R" --map "$A/build/$ref.map"
	case $expect in
	error:*)
		re=${expect#error:}
		if [ "$RC" -ne 0 ] && printf '%s\n' "$ERR" | grep -Eq -- "$re"; then
			pass "$ref: refused ($re)"
		else
			fail "$ref: expected an error matching /$re/ (exit $RC: $ERR)"
		fi
		if [ "$(printf '%s\n' "$ERR" | grep -c '^error:')" -eq 1 ]; then pass "$ref: one error line"
		else fail "$ref: one error line ($ERR)"; fi ;;
	ok:*)
		chk=${expect#ok:}
		if [ "$RC" -eq 0 ] && (cd "$R" && eval "$chk"); then pass "$ref: safe result ($chk)"
		else fail "$ref: expected success and $chk (exit $RC: $ERR)"; fi ;;
	esac
	fingerprint >"$T/after"
	if cmp -s "$T/before" "$T/after"; then pass "$ref: nothing changed outside the build dir"
	else fail "$ref: something changed outside the build dir"; diff "$T/before" "$T/after"; fi
done <"$T/corpus/cases"

# The device node case: recorded for the image whoever unpacked it.
"$OCITOOL" list "$A/build/device-node" --map "$A/build/device-node.map" >"$T/dev.list"
if grep -q '^/data/evil-dev c 0666 0 0 0 1 8:0$' "$T/dev.list"; then
	pass "device node recorded as c 8:0 for the image"
else
	fail "device node recorded as c 8:0 for the image ($(grep evil-dev "$T/dev.list"))"
fi
if [ "$(id -u)" -ne 0 ]; then
	run "$OCITOOL" unpack oci "$T/corpus/bad:device-node" "$A/build/dn2"
	expect_match err 'device node\(s\) cannot be created by this user' "a plain user is warned"
fi
# The huge claim wrote no 10 GB file.
if [ "$(du -sk "$A/build/huge-size-claim" | cut -f1)" -lt 1024 ]; then
	pass "huge size claim used no disk"; else fail "huge size claim used no disk"; fi
finish
