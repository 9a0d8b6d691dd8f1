# tests/integration/lib.sh: helpers for the shell integration tests.
# Each test sources this, calls its checks, and ends with `finish`.
set -u
B=${SB_BUILDDIR:-$(pwd)}
S=${SB_SRCDIR:-$(pwd)}
SIFBUILD="$B/sifbuild"
FIX="$S/tests/fixtures/defs"
T=$(mktemp -d "${TMPDIR:-/tmp}/sbtest.XXXXXX")
trap 'rm -rf "$T"' EXIT
n_pass=0
n_fail=0

pass() { n_pass=$((n_pass + 1)); echo "ok - $1"; }
fail() { n_fail=$((n_fail + 1)); echo "not ok - $1"; }

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR, status in $RC.
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# expect_rc N DESC
expect_rc() {
	if [ "$RC" -eq "$1" ]; then pass "$2"; else
		fail "$2 (exit $RC, expected $1; stderr: $ERR)"; fi
}

# expect_match WHAT PATTERN DESC: WHAT is "out" or "err"; grep -E pattern.
expect_match() {
	if [ "$1" = out ]; then v=$OUT; else v=$ERR; fi
	if printf '%s\n' "$v" | grep -Eq -- "$2"; then pass "$3"; else
		fail "$3 (no /$2/ in $1: $v)"; fi
}

expect_one_line_err() {
	if [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] && [ -n "$ERR" ]; then pass "$1"; else
		fail "$1 (stderr not one line: $ERR)"; fi
}

finish() {
	echo "$n_pass passed, $n_fail failed"
	[ "$n_fail" -eq 0 ]
}

# The Debian mirror this machine's apt uses (never written into the project):
# the first "URIs:" of a .sources file, or the first "deb URL" line, whose
# path is not a security archive. Empty when none is configured.
debian_mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		sed -n 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n' | grep -v -e security -e '^$' | head -1
	done | head -1 | grep . && return 0
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' |
		grep -v security | head -1
}
