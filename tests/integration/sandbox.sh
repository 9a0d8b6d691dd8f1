#!/bin/sh
# tests/integration/sandbox.sh: the build sandbox (builder/sandbox) driven by
# tests/sandbox/sbrun, in every privilege mode this user can use. Cases are
# numbered as in docs rootless-modes.md section 10. Run as root (root mode,
# plus the root-mapped modes) and as a plain user (subuid when /etc/subuid has
# an entry, seccomp, fakeroot, rootmap).
#
# Needs busybox-static (a static busybox makes the test rootfs) and user
# namespaces; skips (77) without them unless SIFBUILD_REQUIRE_USERNS=1.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"
SBRUN="$B/tests/sandbox/sbrun"
ME=$(id -u)
USER_NAME=$(id -un)

skip_or_fail() {
	if [ "${SIFBUILD_REQUIRE_USERNS:-0}" = 1 ]; then
		echo "not ok - $1 (SIFBUILD_REQUIRE_USERNS=1)"
		exit 1
	fi
	echo "# SKIP: $1"
	exit 77
}

# ------------------------------------------------------------- fixtures

BUSYBOX=$(command -v busybox || echo /bin/busybox)
if ! [ -x "$BUSYBOX" ] || ! ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable'; then
	skip_or_fail "a static busybox is needed (apt-get install busybox-static)"
fi
# Trees owned by subordinate IDs can only be removed from the namespace.
trap '"$SBRUN" --rm="$T/sub" >/dev/null 2>&1; rm -rf "$T"' EXIT

# mk_bbroot DIR: a busybox-only rootfs (static: fakeroot cannot work in it).
mk_bbroot() {
	mkdir -p "$1/bin" "$1/etc" "$1/root" "$1/tmp" "$1/var"
	cp "$BUSYBOX" "$1/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -s busybox "$1/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' \
		>"$1/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

# mk_hostroot DIR: a glibc rootfs made of the host's /usr (bound read-only
# with --bind=/usr:/usr:ro), for the dynamic programs fakeroot needs.
mk_hostroot() {
	mkdir -p "$1/usr" "$1/etc" "$1/root" "$1/tmp"
	for l in bin lib lib64 sbin; do
		[ -e "/$l" ] && ln -s "usr/$l" "$1/$l"
	done
	cp "$T/bb/etc/passwd" "$T/bb/etc/group" "$1/etc/"
}

mk_bbroot "$T/bb"
mk_hostroot "$T/host"
HOSTBIND=--bind=/usr:/usr:ro

# Listing of a tree (names, types, modes, owners, sizes) to compare.
snap() { (cd "$1" && find . -printf '%p %y %m %U:%G %s\n' | sort); }
# Mounts of the caller that mention the test directory.
mounts_of_t() { grep -c " $T" /proc/self/mountinfo; }
# Live processes with an argument exactly $1 (zombies have no cmdline).
live() { grep -zlx -- "$1" /proc/[0-9]*/cmdline 2>/dev/null; }
# bg_start CMD...: starts sbrun in the background (pid in $bg) with a
# watchdog so a hang cannot stall the suite; bg_wait sets $rc.
bg_start() {
	"$@" >"$T/bg.out" 2>"$T/bg.err" &
	bg=$!
	(sleep 60; kill -KILL $bg 2>/dev/null) >/dev/null 2>&1 &
	wd=$!
}
bg_wait() {
	wait $bg
	rc=$?
	kill $wd 2>/dev/null
	wait $wd 2>/dev/null
}
# wait_for CMD...: polls (up to 5 s) until CMD prints something.
wait_for() {
	i=0
	while [ $i -lt 100 ] && [ -z "$("$@")" ]; do sleep 0.05; i=$((i + 1)); done
}
# Temporary files: sbrun gets a private TMPDIR that must stay empty, and
# nothing named after the sandbox may appear in /tmp (other suites run in
# parallel, so only those names are checked there).
mkdir -p "$T/tmpdir"
export TMPDIR="$T/tmpdir"
tmp_list() { for f in /tmp/.sifbuild* "$TMPDIR"/* "$TMPDIR"/.[!.]*; do [ -e "$f" ] && echo "$f"; done; }
TMP0=$(tmp_list)
tmp_leftovers() { printf '%s\n%s\n' "$TMP0" "$(tmp_list)" | sort | uniq -u | grep -v '^$'; }

sbr() { run timeout -k 5 60 "$SBRUN" "$@"; }

# ------------------------------------------------------------ skip check

sbr --mode=rootmap --bare "$T/bb" /bin/true
if [ "$RC" -ne 0 ]; then
	USERNS=no
	[ "$ME" -eq 0 ] || skip_or_fail "user namespaces unavailable: $ERR"
	[ "${SIFBUILD_REQUIRE_USERNS:-0}" = 1 ] && fail "user namespaces unavailable: $ERR"
	echo "# user namespaces unavailable ($ERR): root mode only"
else
	USERNS=yes
fi

SUBUID=no
if [ "$ME" -ne 0 ] && [ "$USERNS" = yes ]; then
	sbr --mode=subuid --bare "$T/bb" /bin/true
	if [ "$RC" -eq 0 ]; then
		SUBUID=yes
		SUBSTART=$(awk -F: -v u="$USER_NAME" -v n="$ME" \
			'($1 == u || $1 == n) && $3 == 65536 { print $2; exit }' /etc/subuid)
	else
		echo "# subuid cases (10-13) skipped: $ERR"
	fi
fi

MODES=""
[ "$ME" -eq 0 ] && MODES="root"
[ "$SUBUID" = yes ] && MODES="$MODES subuid"
[ "$USERNS" = yes ] && MODES="$MODES seccomp fakeroot rootmap"

# root_for MODE: the rootfs and extra options for MODE.
root_for() {
	if [ "$1" = fakeroot ]; then R="$T/host" X=$HOSTBIND; else R="$T/bb" X=""; fi
}

# ------------------------------------------------ common cases (1-5), per mode

common_cases() {
	m=$1
	root_for "$m"
	before=$(snap "$R")
	host_resolv=$(cat /etc/resolv.conf 2>/dev/null)

	# 1. root inside, and the expected ID map.
	sbr --mode="$m" $X "$R" -- /bin/sh -c 'id -u; id -g; wc -l </proc/self/uid_map'
	case $m in root) lines=1 ;; subuid) lines=2 ;; *) lines=1 ;; esac
	if [ "$RC" -eq 0 ] && [ "$OUT" = "$(printf '0\n0\n%s' $lines)" ]; then
		pass "[$m] 1: id -u/-g are 0, uid_map has $lines line(s)"
	else fail "[$m] 1: id/uid_map (rc $RC, out: $OUT, err: $ERR)"; fi
	expect_match err "^INFO: " "[$m] the chosen mode is printed as one INFO line"

	# 2. exit status, and a failing %post names its section.
	sbr --mode="$m" $X "$R" -- /bin/sh -c 'exit 7'
	expect_rc 7 "[$m] 2: exit 7 propagates"
	printf 'echo step1\nfalse\necho never\n' >"$T/post-fail"
	sbr --mode="$m" $X --post="$T/post-fail" "$R"
	expect_rc 1 "[$m] 2: failing %post (sh -e) fails"
	expect_match err '%post section: exit status 1' "[$m] 2: message names %post"
	expect_match err '\+ false' "[$m] 2: %post runs with -x (trace on stderr)"
	if printf '%s' "$OUT" | grep -q never; then fail "[$m] 2: -e not honoured"; fi

	# 3. /dev, PID namespace, /sys read-only, resolv.conf from the host.
	sbr --mode="$m" $X "$R" -- /bin/sh -c '
		test -c /dev/null && echo x >/dev/null && echo devnull-ok
		test -c /dev/zero && test -c /dev/urandom && test -e /dev/ptmx && echo devs-ok
		test -d /dev/shm && test -d /dev/pts && echo dirs-ok
		echo "pid=$$"
		tr "\0" " " </proc/1/cmdline; echo
		echo "procs=$(ls /proc | grep -c "^[0-9]")"
		touch /sys/sifbuild-probe 2>/dev/null || echo sys-ro
		cat /etc/resolv.conf 2>/dev/null; (echo x >>/etc/resolv.conf) 2>/dev/null || echo resolv-ro'
	expect_match out '^devnull-ok$' "[$m] 3: /dev/null is a writable character device"
	expect_match out '^devs-ok$' "[$m] 3: zero, urandom, ptmx present"
	expect_match out '^dirs-ok$' "[$m] 3: /dev/shm and /dev/pts present"
	# Under fakeroot the script runs below the fakeroot command and faked.
	pid=$(printf '%s\n' "$OUT" | sed -n 's/^pid=//p')
	if [ "$pid" = 2 ] || { [ "$m" = fakeroot ] && [ "${pid:-99}" -lt 30 ]; }; then
		pass "[$m] 3: own PID namespace (the script is PID $pid)"
	else fail "[$m] 3: script PID $pid"; fi
	expect_match out 'sbrun' "[$m] 3: PID 1 is the sandbox's reaper"
	procs=$(printf '%s\n' "$OUT" | sed -n 's/^procs=//p')
	if [ "${procs:-99}" -le 10 ]; then pass "[$m] 3: no host processes visible"; else
		fail "[$m] 3: $procs processes visible"; fi
	expect_match out '^sys-ro$' "[$m] 3: /sys is read-only"
	expect_match out '^resolv-ro$' "[$m] 3: resolv.conf is bound read-only"
	if [ -n "$host_resolv" ]; then
		if printf '%s\n' "$OUT" | grep -qF -- "$(printf '%s\n' "$host_resolv" | head -1)"; then
			pass "[$m] 3: the host's resolv.conf is visible"
		else fail "[$m] 3: host resolv.conf not visible"; fi
	fi

	# 3. a DNS lookup through the bound resolv.conf (skipped offline).
	mhost=$(debian_mirror | sed -n 's|^[a-z]*://\([^/:]*\).*|\1|p')
	if [ "$m" != fakeroot ] && [ -n "$mhost" ] && getent hosts "$mhost" >/dev/null 2>&1; then
		sbr --mode="$m" "$R" -- timeout 10 nslookup "$mhost"
		expect_rc 0 "[$m] 3: DNS lookup inside works"
	fi

	# %test runs with a read-only rootfs; /tmp stays writable.
	sbr --mode="$m" --ro $X "$R" -- /bin/sh -c \
		'touch /root/t 2>/dev/null || echo root-ro; touch /tmp/t && echo tmp-rw'
	expect_match out '^root-ro$' "[$m] read-only rootfs (%test) refuses writes"
	expect_match out '^tmp-rw$' "[$m] ... while /tmp stays writable"

	# 4. nothing left behind, after success and after failure.
	after=$(snap "$R")
	if [ "$before" = "$after" ]; then pass "[$m] 4: rootfs unchanged (mount points removed)"
	else fail "[$m] 4: rootfs changed: $(printf '%s\n%s\n' "$before" "$after" | sort | uniq -u)"; fi
	if [ "$(mounts_of_t)" -eq 0 ]; then pass "[$m] 4: no mounts remain"; else
		fail "[$m] 4: mounts remain"; fi
	if [ -z "$(tmp_leftovers)" ]; then pass "[$m] 4: no temp dirs left in /tmp"; else
		fail "[$m] 4: left in /tmp: $(tmp_leftovers)"; fi

	# 5. SIGTERM to the caller: nothing survives.
	nmark=$((nmark + 1))
	mark="3$$$nmark"
	bg_start "$SBRUN" --mode="$m" $X "$R" -- /bin/sh -c \
		"sleep 1$mark & sleep 2$mark & echo started; wait"
	wait_for live "2$mark"
	kill -TERM $bg
	bg_wait
	i=0
	left() { live "1$mark"; live "2$mark"; }
	while [ $i -lt 40 ] && [ -n "$(left)" ]; do sleep 0.05; i=$((i + 1)); done
	if [ -z "$(left)" ]; then pass "[$m] 5: SIGTERM leaves no process"; else
		fail "[$m] 5: processes left: $(left)"; fi
	if [ $rc -eq 143 ] && grep -q 'interrupted by signal 15' "$T/bg.err"; then
		pass "[$m] 5: SIGTERM ends the run with 143"
	else fail "[$m] 5: rc $rc, stderr: $(cat "$T/bg.err")"; fi
	if [ "$before" = "$(snap "$R")" ] && [ "$(mounts_of_t)" -eq 0 ]; then
		pass "[$m] 5: no mount or mount point left after SIGTERM"
	else fail "[$m] 5: leftovers after SIGTERM"; fi

	# 5. SIGINT (Ctrl-C) is forwarded the same way.
	bg_start "$SBRUN" --mode="$m" $X "$R" -- /bin/sh -c "sleep 4$mark; echo not-reached"
	wait_for live "4$mark"
	kill -INT $bg
	bg_wait
	if [ $rc -eq 130 ] && [ -z "$(live "4$mark")" ] && ! grep -q not-reached "$T/bg.out"; then
		pass "[$m] 5: SIGINT stops the script (130), nothing left"
	else fail "[$m] 5: SIGINT: rc $rc, $(cat "$T/bg.err")"; fi

	# The reaper: a daemon the script leaves behind dies with it.
	sbr --mode="$m" $X "$R" -- /bin/sh -c "sleep 5$mark >/dev/null 2>&1 & exit 0"
	expect_rc 0 "[$m] 5: a script that leaves a daemon running still returns"
	if [ -z "$(live "5$mark")" ]; then pass "[$m] 5: ... and the daemon is gone"; else
		fail "[$m] 5: daemon survived: $(live "5$mark")"; fi
}

nmark=0
for m in $MODES; do
	common_cases "$m"
done

# -------------------------------------------------------- bind and env

if [ -n "$MODES" ]; then
	set -- $MODES
	m=$1
	mkdir -p "$T/data"
	echo hello >"$T/data/in"
	before=$(snap "$T/bb")
	sbr --mode="$m" --bind="$T/data:/mnt/data:ro" "$T/bb" -- /bin/sh -c \
		'cat /mnt/data/in; echo x >/mnt/data/out 2>/dev/null || echo ro-ok'
	expect_match out '^hello$' "[$m] --bind SRC:DST:ro is visible"
	expect_match out '^ro-ok$' "[$m] --bind ...:ro is read-only"
	sbr --mode="$m" --bind="$T/data:/mnt/data" "$T/bb" -- /bin/sh -c 'echo w >/mnt/data/out'
	if [ "$RC" -eq 0 ] && [ "$(cat "$T/data/out" 2>/dev/null)" = w ]; then
		pass "[$m] --bind SRC:DST is writable through to the host"
	else fail "[$m] rw bind (rc $RC, $ERR)"; fi
	if [ "$before" = "$(snap "$T/bb")" ]; then pass "[$m] bind mount points removed"; else
		fail "[$m] bind mount points left"; fi
	sbr --mode="$m" --bind="$T/data:/mnt:xx" "$T/bb" /bin/true
	expect_rc 2 "[$m] a bad --bind spec is a usage error"
	sbr --mode="$m" --bind="$T/missing:/mnt/x" "$T/bb" /bin/true
	expect_match err "bind source $T/missing: No such file" "[$m] a missing bind source is named"
	if [ "$before" = "$(snap "$T/bb")" ]; then pass "[$m] ... and nothing is left in the image"
	else fail "[$m] missing bind source left mount points"; fi

	# The image's /.singularity.d/env/*.sh are sourced first (OCI ENV).
	mkdir -p "$T/bb/.singularity.d/env"
	printf 'export FROM_IMAGE=oci-env\n' >"$T/bb/.singularity.d/env/10-docker2singularity.sh"
	printf 'export SECOND="$FROM_IMAGE-2"\n' >"$T/bb/.singularity.d/env/90-environment.sh"
	printf 'echo "$FROM_IMAGE $SECOND"\n' >"$T/post-imgenv"
	sbr --mode="$m" --image-env --post="$T/post-imgenv" "$T/bb"
	expect_match out '^oci-env oci-env-2$' "[$m] %post sees the image's env files, in order"
	rm -rf "$T/bb/.singularity.d"

	printf 'env | sort\n' >"$T/post-env"
	SB_SECRET_VAR=leak TERM=xterm-sbtest run timeout 60 "$SBRUN" --mode="$m" \
		--post="$T/post-env" "$T/bb"
	expect_match out '^APPTAINER_ENVIRONMENT=/.singularity.d/env/91-environment.sh$' \
		"[$m] %post sees APPTAINER_ENVIRONMENT"
	expect_match out '^HOME=/root$' "[$m] %post has HOME=/root"
	expect_match out '^TERM=xterm-sbtest$' "[$m] TERM passes through"
	if printf '%s' "$OUT" | grep -q SB_SECRET_VAR; then fail "[$m] host env leaked"; else
		pass "[$m] clean environment (host variables do not leak)"; fi
	if [ ! -e "$T/bb/.post.script" ]; then pass "[$m] /.post.script removed"; else
		fail "[$m] /.post.script left"; fi
fi

# ----------------------------------------------------------- root mode

if [ "$ME" -eq 0 ]; then
	sbr --mode=root "$T/bb" -- /bin/sh -c 'cat /proc/self/uid_map; touch /root/r; chown 1000:1000 /root/r'
	expect_match out '^ +0 +0 +4294967295$' "[root] no user namespace"
	if [ "$(stat -c %u:%g "$T/bb/root/r")" = 1000:1000 ]; then
		pass "[root] chown is real"; else fail "[root] chown not real"; fi
	rm -f "$T/bb/root/r"
fi

# ------------------------------------------------------- mode (a) rootmap

if [ "$USERNS" = yes ]; then
	sbr --mode=rootmap "$T/bb" -- /bin/sh -c 'touch /x; chown 0:0 /x && echo chown0-ok
		chown 1000:1000 /x; cat /proc/self/setgroups; su nobody -c "id -u" || echo su-failed'
	if [ "$(stat -c %u "$T/bb/x" 2>/dev/null)" = "$ME" ]; then
		pass "[rootmap] 6: a file made inside belongs to the invoking user"
	else fail "[rootmap] 6: owner $(stat -c %u "$T/bb/x" 2>/dev/null)"; fi
	expect_match out '^chown0-ok$' "[rootmap] 7: chown 0:0 succeeds"
	expect_match err 'Invalid argument' "[rootmap] 7: chown 1000:1000 fails with EINVAL"
	expect_match out '^deny$' "[rootmap] 8: setgroups is deny"
	expect_match out '^su-failed$' "[rootmap] 8: su nobody fails"
	rm -f "$T/bb/x"
	expect_match err 'package installs that need other user or group IDs will fail' \
		"[rootmap] warns about package installs"
fi

# -------------------------------------------------------- mode (b) subuid

if [ "$SUBUID" = yes ]; then
	mk_bbroot "$T/sub"
	sbr --mode=subuid "$T/sub" -- /bin/sh -c 'cat /proc/self/uid_map /proc/self/setgroups
		touch /root/f; chown 1000:1000 /root/f
		mkdir -p /home/u; chown 1000:1000 /home/u; chmod 0700 /home/u; touch /home/u/.profile
		su nobody -c "id -u"; id -G'
	expect_match out "^ +0 +$ME +1\$" "[subuid] 10: uid_map line 0 -> caller, count 1"
	expect_match out '^ +1 +[0-9]+ +65536$' "[subuid] 10: uid_map line 1.., count 65536"
	expect_match out '^allow$' "[subuid] 10: setgroups is allow"
	if [ -n "$SUBSTART" ] && [ "$(stat -c %u "$T/sub/root/f")" = $((SUBSTART + 999)) ]; then
		pass "[subuid] 11: chown 1000 inside -> host owner start+999"
	else fail "[subuid] 11: host owner $(stat -c %u "$T/sub/root/f") (start $SUBSTART)"; fi
	expect_match out '^65534$' "[subuid] 11: su nobody -c 'id -u' prints 65534"
	expect_match out '^0$' "[subuid] host supplementary groups dropped (id -G is 0)"
	if rm -rf "$T/sub/home" 2>/dev/null; then
		fail "[subuid] 13: expected the host user to be unable to delete /home/u"
	else pass "[subuid] 13: subordinate-owned files resist plain rm"; fi
	sbr --rm="$T/sub"
	if [ "$RC" -eq 0 ] && [ ! -e "$T/sub" ]; then
		pass "[subuid] 13: cleanup re-enters the namespace and removes the tree"
	else fail "[subuid] 13: cleanup failed ($ERR)"; fi

	# 14. too small a range, or a missing helper: one info line, next mode.
	printf '%s:100000:1000\n' "$USER_NAME" >"$T/small"
	sbr --subuid-file="$T/small" "$T/bb" /bin/true
	expect_match err 'subuid mapping unavailable: .*range count lower than 65536; falling back' \
		"[subuid] 14: small range falls back with one info line"
	expect_match err 'ownership journal' "[subuid] 14: ... to the journal mode"
	sbr --newuidmap=/nonexistent/newuidmap "$T/bb" /bin/true
	expect_match err 'subuid mapping unavailable: .*newuidmap' \
		"[subuid] 14: missing newuidmap falls back"
	expect_rc 0 "[subuid] 14: and the run succeeds"
	sbr --ignore-userns "$T/bb" /bin/true
	expect_match err 'subordinate IDs' "[subuid] --ignore-userns keeps the subuid mode"
	: >"$T/empty"
	sbr --mode=subuid --subuid-file="$T/empty" "$T/bb" /bin/true
	expect_rc 125 "[subuid] 10: explicit subuid without an entry fails"
	expect_match err "subuid mode: .*no entry for $USER_NAME" "[subuid] 10: ... naming the cause"
	expect_one_line_err "[subuid] 10: ... in one line"
fi

# The one-line failure when user namespaces are disabled: a nested user
# namespace whose user.max_user_namespaces is 0 (util-linux unshare).
if [ "$USERNS" = yes ] && unshare -Ur true 2>/dev/null; then
	run unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_user_namespaces &&
		exec "$0" --mode=rootmap "$1" /bin/true' "$SBRUN" "$T/bb"
	expect_rc 125 "user namespaces disabled: the run fails"
	expect_match err 'user namespaces are disabled \(sysctl user.max_user_namespaces=0\)' \
		"user namespaces disabled: the message names the sysctl"
	expect_one_line_err "user namespaces disabled: in one line"
fi

# Under `unshare -r` (how crun also tests) the caller is uid 0 of a user
# namespace: auto means root mode, which must still work there.
if [ "$USERNS" = yes ] && unshare -Ur true 2>/dev/null; then
	run unshare -Ur "$SBRUN" "$T/bb" -- /bin/sh -c 'id -u; echo pid=$$; test -c /dev/null && echo dev-ok'
	expect_match err 'running as root' "[unshare -r] auto picks root mode"
	expect_match out '^pid=2$' "[unshare -r] own PID namespace"
	expect_match out '^dev-ok$' "[unshare -r] /dev is usable"
fi

# A fresh proc is refused when the caller's /proc has something mounted
# over part of it (common in containers): the sandbox falls back to binding
# the existing /proc. Made here with a tmpfs over /proc/sys/fs in an outer
# user + mount namespace.
if [ "$USERNS" = yes ] && unshare -Urm true 2>/dev/null; then
	run unshare -Urm sh -c 'mount -t tmpfs none /proc/sys/fs &&
		exec "$0" --mode=rootmap "$1" -- /bin/sh -c "echo pid=\$\$; grep -c \" /proc/sys/fs \" /proc/self/mountinfo"' \
		"$SBRUN" "$T/bb"
	expect_rc 0 "[proc fallback] the run works when a fresh proc is refused"
	expect_match out '^pid=2$' "[proc fallback] still its own PID namespace"
	expect_match out '^1$' "[proc fallback] /proc is the bound one (its over-mount is visible)"
fi

# --ignore-userns: only subuid remains.
if [ "$USERNS" = yes ] && [ "$ME" -ne 0 ]; then
	sbr --ignore-subuid --ignore-userns "$T/bb" /bin/true
	expect_rc 125 "--ignore-subuid --ignore-userns leaves no mode"
	expect_match err 'ignore-userns' "... and says why"
fi

# ------------------------------------------------------ mode (c) fakeroot

if [ "$USERNS" = yes ]; then
	sbr --mode=fakeroot $HOSTBIND "$T/host" -- /bin/sh -c '
		echo "key=${FAKEROOTKEY:+set} dont=$FAKEROOTDONTTRYCHOWN"
		touch /root/f && chown 1000:1000 /root/f && stat -c %u /root/f
		setpriv --reuid=65534 --regid=65534 --clear-groups id -u
		mknod /root/n c 1 3 && test -c /root/n && echo mknod-ok'
	expect_match out '^key=set dont=1$' "[fakeroot] 15: FAKEROOTKEY and FAKEROOTDONTTRYCHOWN=1 set"
	expect_match out '^1000$' "[fakeroot] 15: chown 1000 then stat shows 1000 inside"
	if [ "$(stat -c %u "$T/host/root/f")" = "$ME" ]; then
		pass "[fakeroot] 15: on the host the file is the user's"
	else fail "[fakeroot] 15: host owner $(stat -c %u "$T/host/root/f")"; fi
	expect_match out '^65534$' "[fakeroot] 16: setuid(65534) then id -u prints 65534"
	expect_match out '^mknod-ok$' "[fakeroot] 16: mknod c 1 3 && test -c succeeds inside"
	if [ -f "$T/host/root/n" ] && [ ! -s "$T/host/root/n" ]; then
		pass "[fakeroot] 16: the 'device' is an empty regular file on the host"
	else fail "[fakeroot] 16: $(ls -l "$T/host/root/n" 2>&1)"; fi
	rm -f "$T/host/root/f" "$T/host/root/n"

	# The lies survive from %post to %test with a state directory.
	mkdir -p "$T/frstate"
	sbr --mode=fakeroot $HOSTBIND --fakeroot-state="$T/frstate" "$T/host" -- /bin/sh -c \
		'touch /root/g && chown 1000:1000 /root/g && mknod /root/nd c 1 3'
	sbr --mode=fakeroot $HOSTBIND --fakeroot-state="$T/frstate" --ro "$T/host" -- /bin/sh -c \
		'stat -c "%u %F" /root/g /root/nd'
	expect_match out '^1000 regular' "[fakeroot] with a state dir a later run sees the faked owner"
	expect_match out '^0 character special' "[fakeroot] ... and the faked device"
	sbr --mode=fakeroot $HOSTBIND "$T/host" -- stat -c %u /root/g
	expect_match out '^0$' "[fakeroot] without it the lies are gone"
	rm -f "$T/host/root/g" "$T/host/root/nd"

	# Without a host fakeroot, the image's own one is used (here the host's
	# /usr is the image's; Debian reaches fakeroot through alternatives).
	mkdir -p "$T/host/etc/alternatives"
	ln -sf /usr/bin/fakeroot-sysv "$T/host/etc/alternatives/fakeroot"
	sbr --mode=fakeroot --fakeroot=/nonexistent/fakeroot $HOSTBIND "$T/host" -- /bin/sh -c \
		'touch /root/i && chown 4242 /root/i && stat -c %u /root/i; echo "$FAKEROOTDONTTRYCHOWN"'
	expect_match err "fakeroot command \\(the image's own\\)" "[fakeroot] falls back to the image's fakeroot"
	expect_match out '^4242$' "[fakeroot] ... which works"
	rm -f "$T/host/root/i"
	rm -rf "$T/host/etc/alternatives"

	# 18. static busybox image: the in-image probe fails cleanly.
	sbr --mode=fakeroot "$T/bb" /bin/true
	expect_rc 125 "[fakeroot] 18: explicit fakeroot in a static image is refused"
	expect_match err 'fakeroot command does not work in this image' "[fakeroot] 18: ... saying why"
fi
# The automatic order (as root, auto means root mode).
if [ "$USERNS" = yes ] && [ "$ME" -ne 0 ]; then
	sbr --ignore-subuid --ignore-seccomp "$T/bb" -- /bin/sh -c 'echo ran'
	expect_match err 'fakeroot command does not work in this image.*; not using it' \
		"[fakeroot] 18: auto falls back with a message"
	expect_match err 'root-mapped user namespace only' "[fakeroot] 18: ... to rootmap"
	expect_match out '^ran$' "[fakeroot] 18: and the run works"
	sbr --ignore-subuid --ignore-seccomp $HOSTBIND "$T/host" -- /bin/sh -c 'echo ran'
	expect_match err 'runs under the fakeroot command' "[fakeroot] auto picks fakeroot when seccomp is off"
	sbr --ignore-subuid --ignore-seccomp --ignore-fakeroot-command $HOSTBIND "$T/host" /bin/true
	expect_match err 'root-mapped user namespace only' "[fakeroot] --ignore-fakeroot-command skips it"
	sbr --ignore-subuid "$T/bb" /bin/true
	expect_match err 'ownership journal' "[journal] auto without subuid picks the journal (self-test passed)"
fi

# ------------------------------------------------------- mode (d) seccomp

if [ "$USERNS" = yes ]; then
	sbr --mode=seccomp "$T/bb" -- /bin/sh -c '
		touch /root/f; chown 1000:1000 /root/f && echo chown-rc0; stat -c %u:%g /root/f
		mknod /root/n c 1 3 && echo mknod-rc0; test -e /root/n || echo no-node
		mkfifo /root/p && test -p /root/p && echo fifo-real; rm -f /root/p
		su nobody -c "id -u"
		echo "apt=$APT_CONFIG"; cat "$APT_CONFIG"'
	expect_match out '^chown-rc0$' "[seccomp] 19: chown 1000:1000 exits 0"
	expect_match out '^0:0$' "[seccomp] 19: ... and the owner stays 0:0 (the documented lie)"
	expect_match out '^mknod-rc0$' "[seccomp] 19: mknod c 1 3 exits 0"
	expect_match out '^no-node$' "[seccomp] 19: ... and creates nothing"
	expect_match out '^fifo-real$' "[seccomp] 19: FIFOs are not faked"
	expect_match out '^0$' "[seccomp] 19: setuid(65534) is faked: id -u still 0"
	expect_match out '^apt=/.sifbuild/apt.conf$' "[seccomp] 20: APT_CONFIG points at the hook"
	expect_match out '^APT::Sandbox::User "root";$' "[seccomp] 20: the hook disables apt's sandbox user"
	rm -f "$T/bb/root/f"
	if [ ! -e "$T/bb/.sifbuild" ]; then pass "[seccomp] 20: the image's tree is untouched"; else
		fail "[seccomp] 20: /.sifbuild left in the image"; fi
	sbr --mode=seccomp $HOSTBIND "$T/host" -- setpriv --reuid=65534 --regid=65534 --clear-groups id -u
	expect_match out '^0$' "[seccomp] 19: setpriv --reuid 65534 id -u prints 0 (glibc program)"
	# 22. A hand-assembled static i386 program (no toolchain needed): it calls
	# chown32("/root/f32", 1000, 1000) through int 0x80 and exits with the
	# result's low byte (0, or 234 for -EINVAL).
	c32hex="7f454c46010101000000000000000000 02000300 01000000 54800408 34000000
		00000000 00000000 3400 2000 0100 0000 0000 0000 01000000 00000000 00800408
		00800408 7d000000 7d000000 05000000 00100000 b8d4000000 bb73800408
		b9e8030000 bae8030000 cd80 89c3 b801000000 cd80 2f726f6f742f66333200"
	if [ "$(uname -m)" = x86_64 ] &&
		printf '%s' "$c32hex" | tr -d ' \t\n' | "$BUSYBOX" xxd -r -p >"$T/bb/root/c32" &&
		chmod 755 "$T/bb/root/c32" && touch "$T/bb/root/f32" &&
		sbr --mode=rootmap "$T/bb" /root/c32 && [ "$RC" -eq 234 ]; then
		pass "[rootmap] 22: the 32-bit chown32 really runs (EINVAL)"
		sbr --mode=seccomp "$T/bb" /root/c32
		expect_rc 0 "[seccomp] 22: 32-bit chown32 is faked too (compat arch in the filter)"
	else
		echo "# [seccomp] 22 skipped: cannot run i386 programs here ($RC: $ERR)"
	fi
	rm -f "$T/bb/root/c32" "$T/bb/root/f32"
fi

# ------------------------------------------------------ %setup on the host

printf 'echo "setup uid=$(id -u) rootfs=$APPTAINER_ROOTFS env=$APPTAINER_ENVIRONMENT"\n: >"$SINGULARITY_ROOTFS/from-setup"\n' >"$T/setup.sh"
for m in $MODES; do
	[ "$m" = fakeroot ] && continue
	root_for "$m"
	sbr --mode="$m" --setup="$T/setup.sh" "$R"
	want=0
	[ "$m" = root ] && want=$ME
	expect_match out "^setup uid=$want rootfs=$R env=/.singularity.d/env/91-environment.sh\$" \
		"[$m] %setup runs on the host with APPTAINER_ROOTFS (uid $want)"
	if [ -e "$R/from-setup" ] && [ "$(stat -c %u "$R/from-setup")" = "$ME" ]; then
		pass "[$m] %setup writes into the rootfs as the user"
	else fail "[$m] %setup output missing"; fi
	rm -f "$R/from-setup"
	printf 'exit 3\n' >"$T/setup-fail.sh"
	sbr --mode="$m" --setup="$T/setup-fail.sh" "$R"
	expect_rc 3 "[$m] a failing %setup returns its status"
	expect_match err 'failed to run %setup script: exit status 3' "[$m] ... with Apptainer's message"
done

# -------------------------------------- 24: namespaced file capabilities

SETCAP=$(command -v setcap)
for c in /usr/sbin/setcap /sbin/setcap; do [ -z "$SETCAP" ] && [ -x $c ] && SETCAP=$c; done
if [ "$USERNS" = yes ] && [ -n "$SETCAP" ]; then
	for m in seccomp rootmap $([ "$SUBUID" = yes ] && echo subuid); do
		cp "$BUSYBOX" "$T/host/root/capbin"
		sbr --mode="$m" $HOSTBIND "$T/host" -- "$SETCAP" cap_net_raw+ep /root/capbin
		expect_rc 0 "[$m] 24: setcap works inside"
		sbr --mode="$m" --getfcap="$T/host/root/capbin"
		expect_match out '^v2$' "[$m] 24: read through the build namespace it is a v2 capability"
		if [ "$ME" -ne 0 ]; then
			sbr --getfcap-host="$T/host/root/capbin"
			expect_match out "^v3 rootid=$ME\$" "[$m] 24: on disk it is v3 bound to uid $ME"
		fi
		rm -f "$T/host/root/capbin"
	done
else
	echo "# 24 skipped: no setcap (Debian package libcap2-bin) or no user namespaces"
fi

finish
