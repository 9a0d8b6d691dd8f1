#!/bin/sh
# sifbuild parse and lint on real files: output, exit codes, FILE:LINE errors.
. "$(dirname "$0")/lib.sh"

run "$SIFBUILD" parse "$FIX/simple.def"
expect_rc 0 "parse simple"
expect_match out "^  bootstrap: docker" "summary names the agent"
expect_match out "%post  lines 6-7" "summary gives section line ranges"

run "$SIFBUILD" parse --json "$FIX/multistage.def"
expect_rc 0 "parse --json multistage"
n=$(printf '%s\n' "$OUT" | grep -c '"header": {')
[ "$n" -eq 2 ] && pass "two stages in JSON" || fail "two stages in JSON (got $n)"
expect_match out '"args": "from build"' "%files from args kept"
raw=$(printf '%s\n' "$OUT" | sed -n 's/.*"raw": "\(.*\)",/\1/p' | head -1 | base64 -d | head -1)
[ "$raw" = "Bootstrap: docker" ] && pass "raw starts at Bootstrap: (leading comment dropped)" ||
	fail "raw starts at Bootstrap: (got '$raw')"

run "$SIFBUILD" parse "$FIX/args.def"
expect_rc 2 "undefined build var is an error"
expect_match err "args.def:10: build var UNDEFINED_VAR is not defined through either --build-arg \(--build-arg-file\) or 'arguments' section" "undefined var message and line"
expect_one_line_err "undefined var: one line"

run "$SIFBUILD" parse --json --build-arg UNDEFINED_VAR=x --build-arg TAG=edge "$FIX/args.def"
expect_rc 0 "build args fill placeholders"
expect_match out '"from": "alpine:edge"' "--build-arg overrides %arguments default"
expect_match out 'echo \\"x\\" # \{\{ IN_COMMENT \}\}' "placeholder after # left alone"

run "$SIFBUILD" parse --build-arg UNDEFINED_VAR=x --build-arg NOPE=1 "$FIX/args.def"
expect_rc 0 "unused build arg is not fatal for parse"
expect_match err "warning: unused build args: NOPE" "unused build arg warning"

run "$SIFBUILD" parse --json --build-arg-file "$FIX/arg_file.txt" --build-arg UNDEFINED_VAR=y "$FIX/args.def"
expect_rc 0 "--build-arg-file"
expect_match out '"from": "debian:12"' "--build-arg-file values used"
expect_match err 'arg_file.txt:5: Skipping "not a pair" in build arg file' "bad build-arg-file line warned with its line"

run "$SIFBUILD" parse --build-arg "=x" "$FIX/simple.def"
expect_rc 2 "malformed --build-arg is an error"
expect_match err 'missing key portion' "malformed --build-arg message"

run "$SIFBUILD" parse "$FIX/bad_section.def"
expect_rc 2 "bad section exits 2"
expect_match err "bad_section.def:7: invalid section\(s\) specified: pots" "bad section FILE:LINE"
expect_one_line_err "bad section: one line"

run "$SIFBUILD" parse "$FIX/bad_header.def"
expect_rc 2 "bad header exits 2"
expect_match err "bad_header.def:2: failed to parse deffile header: invalid header keyword found: form" "bad header FILE:LINE"

: >"$T/empty.def"
run "$SIFBUILD" parse "$T/empty.def"
expect_rc 2 "empty file exits 2"
expect_match err "^$T/empty.def: empty definition file" "empty file: FILE: message"

run "$SIFBUILD" parse "$T/missing.def"
expect_rc 2 "missing file exits 2"
expect_match err "missing.def: cannot read definition file: No such file" "missing file message"

run "$SIFBUILD" parse --json "$FIX/continuation.def"
expect_rc 0 "continuation before a blank line parses (Apptainer panics)"
expect_match out '"includecmd": "yes "' "continued value kept"

# lint
run "$SIFBUILD" lint "$FIX/simple.def"
expect_rc 0 "lint clean file exits 0"
expect_match out "simple.def: ok" "lint clean file says ok"

run "$SIFBUILD" lint "$FIX/bad_section.def"
expect_rc 2 "lint error exits 2"
expect_match out "bad_section.def:7: error: unknown section %pots \(did you mean %post\?\)" "lint suggests %post"

run "$SIFBUILD" lint "$FIX/bad_header.def"
expect_match out "bad_header.def:2: error: unknown header keyword form \(did you mean from\?\)" "lint suggests from"

run "$SIFBUILD" lint "$FIX/crlf.def"
expect_rc 1 "lint warnings only exits 1"
expect_match out "crlf.def:1: warning: CRLF" "lint CRLF"

run "$SIFBUILD" lint "$FIX/invisible.def"
expect_match out "invisible.def:5: warning: invisible Unicode character U\+200B" "lint invisible Unicode"

run "$SIFBUILD" lint "$FIX/continuation.def"
expect_match out "continuation.def:3: warning: .*continu" "lint header continuation before blank line"

run "$SIFBUILD" lint "$FIX/lint_many.def"
expect_rc 2 "lint_many exits 2"
expect_match out "lint_many.def:2: warning: header values are not expanded" "lint \$VAR in header"
expect_match out "lint_many.def:7: error: line starting with '%' inside the here-document started at line 6" "lint % in heredoc"
expect_match out "warning: duplicate stage name one" "lint duplicate stage"
expect_match out "lint_many.def:14: warning: %files from nosuchstage: no earlier stage" "lint unreachable %files from"

run "$SIFBUILD" lint "$FIX/args.def"
expect_rc 2 "lint undefined build var exits 2"
expect_match out "args.def:10: error: build var UNDEFINED_VAR is not defined" "lint undefined var with line"

run "$SIFBUILD" lint --build-arg UNDEFINED_VAR=1 --build-arg EXTRA=2 "$FIX/args.def"
expect_rc 1 "lint unused build arg is a warning"
expect_match out "warning: unused build arg: EXTRA" "lint unused build arg"

printf 'Bootstrap: library\nFrom: x\n' >"$T/lib.def"
run "$SIFBUILD" lint "$T/lib.def"
expect_rc 1 "lint unsupported agent is a warning"
expect_match out "lib.def:1: warning: bootstrap agent library: not supported by sifbuild" "lint unsupported agent"

printf 'Bootstrap: Docker\nFrom: x\n' >"$T/case.def"
run "$SIFBUILD" lint "$T/case.def"
expect_rc 1 "lint unknown agent is a warning"
expect_match out "case.def:1: warning: invalid build source Docker \(did you mean docker\?\)" "lint agent case"
for ex in "$S"/examples/*.def; do
	run "$SIFBUILD" lint "$ex"
	expect_rc 0 "example $(basename "$ex") lints clean"
	run "$SIFBUILD" parse --json "$ex"
	expect_rc 0 "example $(basename "$ex") parses"
done
finish
