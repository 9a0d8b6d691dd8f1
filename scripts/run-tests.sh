#!/bin/sh
# scripts/run-tests.sh: quick-start command 2, and what CI runs. Runs every
# test: a -Werror build's `make check`, the same suite as an unprivileged user
# (when started as root: a user is created and the tree copied for it), and the
# suite again built with ASan+UBSan. Ends with one summary line per pass.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. "$top/scripts/deps.sh"
sb_ensure_packages || exit 1
[ -x configure ] || autoreconf -fi >/dev/null || exit 1
jobs=2
results=""
fail=0

# run_pass NAME DIR CONFIGURE-ARGS...: out-of-tree build and make check in DIR.
run_pass() {
	name=$1 dir=$2
	shift 2
	echo "==> [$name] configure $* && make check"
	rm -rf "$dir" && mkdir -p "$dir" &&
		(cd "$dir" && "$top/configure" -q "$@" && make -s -j$jobs &&
			make -s -j$jobs check)
	rc=$?
	summarize "$name" "$dir" $rc
}

# summarize NAME DIR RC: one line per pass, counting individual checks: Check's
# "Checks: N, Failures: F, Errors: E" and the shell tests' "N passed, N failed".
summarize() {
	name=$1 dir=$2 rc=$3
	log="$dir/test-suite.log"
	[ $rc -ne 0 ] && [ -f "$log" ] && head -150 "$log"
	logs=$(find "$dir/tests" -name '*.log' 2>/dev/null)
	# shellcheck disable=SC2086
	[ -n "$logs" ] && grep -h '%: Checks:' $logs
	# shellcheck disable=SC2086
	counts=$( { [ -n "$logs" ] && cat $logs; } | awk '
		/[0-9]+%: Checks: / { gsub(",", ""); p += $3 - $5 - $7; f += $5 + $7 }
		/^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
		END { printf "%d %d", p, f }')
	set -- $counts
	skipped=$(sed -n 's/^# SKIP: *\([0-9][0-9]*\)$/\1/p' "$log" 2>/dev/null)
	line="$name: $1 passed, $2 failed, ${skipped:-0} skipped"
	[ $rc -ne 0 ] && { line="$line (exit $rc)"; fail=1; }
	[ "$2" -ne 0 ] && fail=1
	total_p=$((total_p + $1)); total_f=$((total_f + $2))
	results="$results
$line"
}

total_p=0
total_f=0
# CI turns "user namespaces unavailable" skips into failures; the slow tests
# (a Debian rootfs from the mirror, package installs) run in the root and user
# passes, not under the sanitizers.
[ -n "${CI:-}" ] && export SIFBUILD_REQUIRE_USERNS=1
export SIFBUILD_SLOW_TESTS=${SIFBUILD_SLOW_TESTS:-1}
run_pass default "$top/_build/default" --enable-werror

if [ "$(id -u)" -eq 0 ]; then
	# The same suite as a plain user: a copy of the tree (and ../shared) it owns.
	user=sbtest
	id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user"
	ubase=/tmp/sifbuild-user
	rm -rf "$ubase" && mkdir -p "$ubase"
	cp -a "$top" "$ubase/main" && rm -rf "$ubase/main/_build"
	[ -d "$top/../shared" ] && cp -a "$top/../shared" "$ubase/shared"
	chown -R "$user:$user" "$ubase"
	echo "==> [user] make check as $user"
	su "$user" -s /bin/sh -c "export SIFBUILD_REQUIRE_USERNS=${SIFBUILD_REQUIRE_USERNS:-0} \
		SIFBUILD_SLOW_TESTS=$SIFBUILD_SLOW_TESTS; cd $ubase/main && rm -rf _build/user && mkdir -p _build/user &&
		cd _build/user && ../../configure -q --enable-werror && make -s -j$jobs &&
		make -s -j$jobs check"
	summarize "user($user)" "$ubase/main/_build/user" $?
fi

export SIFBUILD_SLOW_TESTS=0
run_pass sanitizers "$top/_build/asan" --enable-werror --enable-sanitizers

echo
echo "==> summary (default build, unprivileged user, sanitizers)$results"
[ $fail -eq 0 ] || echo "SOME PASSES FAILED"
echo "$total_p passed, $total_f failed"
exit $fail
