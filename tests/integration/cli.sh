#!/bin/sh
# The command table, --help texts, and usage errors.
. "$(dirname "$0")/lib.sh"

run "$SIFBUILD" --help
expect_rc 0 "--help exits 0"
for c in build parse lint pull push cache sif inspect run exec shell test version help; do
	expect_match out "^  $c " "--help lists $c"
done
if printf '%s\n' "$OUT" | grep -Eq '^  (instance|overlay|sign|verify) '; then
	fail "--help lists only working commands"; else pass "--help lists only working commands"; fi

for c in build parse lint pull push cache sif inspect run exec shell test version help; do
	run "$SIFBUILD" $c --help
	expect_rc 0 "$c --help exits 0"
	expect_match out "^Usage: sifbuild $c" "$c --help shows usage"
done
run "$SIFBUILD" help parse
expect_match out "--build-arg-file" "help parse shows parse options"

run "$SIFBUILD" prase x.def
expect_rc 2 "unknown command exits 2"
expect_one_line_err "unknown command: one line"
expect_match err "did you mean 'parse'" "unknown command: hint"

run "$SIFBUILD" parse --jsn "$FIX/simple.def"
expect_rc 2 "unknown option exits 2"
expect_one_line_err "unknown option: one line"
expect_match err "did you mean --json" "unknown option: hint"

run "$SIFBUILD" parse --build-arg
expect_rc 2 "missing option value exits 2"
expect_match err "needs a value" "missing option value: message"

run "$SIFBUILD" parse
expect_rc 2 "missing file exits 2"
expect_one_line_err "missing file: one line"

run "$SIFBUILD"
expect_rc 2 "no command exits 2"

run "$SIFBUILD" version
expect_rc 0 "version exits 0"
expect_match out '^sifbuild [0-9]+\.[0-9]+' "version prints the version"
run "$SIFBUILD" version --verbose
expect_match out '^libarchive ' "version --verbose names libraries"
finish
