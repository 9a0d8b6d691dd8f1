#!/bin/sh
# tests/integration/journal.sh: the ownership journal privilege mode (issue 9,
# ownership-journal.md): `sifbuild build --userns-mode=journal` as a plain
# user records what %post asks for (chown, chown -h, chgrp, device mknod) and
# the packed image carries it, checked with `unsquashfs -lln`; hard links,
# renames, setuid bits after chown and reused inode numbers behave as under
# real root; auto picks the journal without a subuid range; killing the
# build or the supervisor leaves no process and fails with a clear message;
# the overhead against seccomp mode is measured and printed.
# As root the builds run as the user sbtest (runuser); as a plain user they
# run as that user. The Debian comparison with a real-root build is in
# journal_slow.sh.
. "${SB_SRCDIR:-.}/tests/integration/lib.sh"

for t in unsquashfs; do
	command -v $t >/dev/null || { echo "# SKIP: $t not installed"; exit 77; }
done
BUSYBOX=$(command -v busybox || echo /bin/busybox)
ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable' ||
	{ echo "# SKIP: a static busybox is needed (busybox-static)"; exit 77; }
. "$S/tests/integration/journal_lib.sh"
journal_user_setup || exit 77

export SIFBUILD_TMPDIR="$T/buildtmp"
mkdir -p "$SIFBUILD_TMPDIR"
[ -z "$AS" ] || chown -R "$AS" "$T"

# ----------------------------------------------- section 3.1 busybox cases
cat >"$T/cases.def" <<'EOF'
Bootstrap: busybox
MirrorURL: file:///bin/busybox

%post
	touch /f /s1 /h1 /g
	chown 1000:1000 /f
	ln -s /f /symlink
	chown -h 5:5 /symlink
	mkdir /dir
	chgrp 100 /dir
	# setuid: cleared by a chown after it, kept when chown comes first
	chmod 4755 /s1
	chown 1000 /s1
	touch /s2
	chown 1001:1001 /s2
	chmod 4755 /s2
	# hard links share the owner; a rename keeps it
	ln /h1 /h2
	chown 33:33 /h2
	mv /h1 /h1-renamed
	# busybox chgrp passes the uid it stats: stat answers from the journal
	chown 5:5 /g
	chgrp 100 /g
	ls -ln /g | awk '{print $3":"$4}' >/stat-g
	# a chown of a missing file fails as the kernel would
	chown 1 /nope 2>/dev/null && echo "chown of a missing file succeeded" >/bad
	chown 1 /f/x 2>/dev/null && echo "chown through a file succeeded" >/bad
	# an owner of a deleted file must not reach a new file on its inode
	touch /del
	chown 77:77 /del
	i=$(stat -c %i /del)
	rm /del
	n=0
	while [ $n -lt 200 ]; do
		touch /new$n
		if [ "$(stat -c %i /new$n)" = "$i" ]; then echo /new$n >/reused; break; fi
		n=$((n + 1))
	done
	# device nodes: placeholders in the build, real nodes in the image
	mknod /null c 1 3
	mknod -m 600 /sda b 8 0
	stat -c '%F %t:%T' /null >/stat-null
	mkfifo /fifo
	chown 9:9 /fifo
EOF

# The journal is an append-only file in the build directory: kept with
# --no-cleanup (and after a crash), one "C <inode key> UID GID" line per chown.
run $AS_RUN "$SIFBUILD" build -q --no-cleanup --userns-mode=journal "$T/kept.sif" "$T/cases.def"
expect_rc 0 "a journal build with --no-cleanup"
jlog=$(ls "$SIFBUILD_TMPDIR"/sifbuild-build-*/stage-1/ownership-journal.log 2>/dev/null | head -1)
if [ -n "$jlog" ] && grep -q '^C .* 1000 1000$' "$jlog" && grep -q '^N ' "$jlog"; then
	pass "the build directory keeps the on-disk journal (chown and mknod lines)"
else
	fail "the build directory keeps the on-disk journal (${jlog:-no log})"
fi
rm -rf "$SIFBUILD_TMPDIR"/sifbuild-build-* 2>/dev/null
[ -z "$AS" ] || $AS_RUN rm -rf "$SIFBUILD_TMPDIR"/sifbuild-build-* 2>/dev/null

run $AS_RUN "$SIFBUILD" build --userns-mode=journal "$T/cases.sif" "$T/cases.def"
expect_rc 0 "busybox cases build in journal mode"
expect_match err "ownership journal" "the mode line names the ownership journal"
L=$(listing "$T/cases.sif")
entry() { # entry MODE OWNER PATH DESC
	if printf '%s\n' "$L" | grep -Eq "^$1 $2 .* $3( -> .*)?\$"; then pass "$4"; else
		fail "$4 (want '$1 $2 ... $3'; have: $(printf '%s\n' "$L" | grep -E " $3( |\$)"))"
	fi
}
entry -rw-r--r-- 1000/1000 /f "chown 1000:1000 /f is in the image"
entry lrwxrwxrwx 5/5 /symlink "chown -h 5:5 changed the symlink itself"
entry drwxr-xr-x 0/100 /dir "chgrp 100 /dir is in the image"
entry -rwxr-xr-x 1000/0 /s1 "chown after chmod 4755 clears setuid, as under root"
entry -rwsr-xr-x 1001/1001 /s2 "chmod 4755 after chown keeps setuid"
entry -rw-r--r-- 33/33 /h2 "hard link h2 has the owner"
entry -rw-r--r-- 33/33 /h1-renamed "the renamed other name has the owner"
entry -rw-r--r-- 5/100 /g "busybox chgrp after chown keeps the uid (stat answered)"
entry crw-r--r-- 0/0 /null "mknod c 1 3 gives a character device"
entry brw------- 0/0 /sda "mknod -m 600 b 8 0 gives a block device with its mode"
entry prw-r--r-- 9/9 /fifo "a FIFO is real and its owner recorded"
if printf '%s\n' "$L" | grep -Eq '^c.* 1, *3 .* /null$'; then pass "/null is 1:3"; else
	fail "/null is 1:3"; fi
if printf '%s\n' "$L" | grep -q ' /bad$'; then fail "chown errors mirror the kernel's"; else
	pass "chown errors mirror the kernel's (ENOENT, ENOTDIR)"; fi
X=$(extract_file "$T/cases.sif" stat-g)
same "$X" "5:100" "ls -ln inside %post shows the journaled owner"
X=$(extract_file "$T/cases.sif" stat-null)
same "$X" "character special file 1:3" "stat inside %post shows the placeholder as a device"
R=$(extract_file "$T/cases.sif" reused)
if [ -n "$R" ]; then
	entry -rw-r--r-- 0/0 "$R" "a new file on a deleted file's inode number is root-owned"
else
	echo "# no inode number was reused in 200 tries; that case is untested"
fi
if printf '%s\n' "$L" | grep -Eq ' (6553[45]|[0-9]{5,})/'; then
	fail "no file has an unmapped owner"; else pass "no file has an unmapped owner"; fi

# ------------------------------------- i386 ABI: 16-bit IDs, chown32, statx
if [ "$(uname -m)" = x86_64 ] && [ -x "$B/tests/sandbox/i386calls" ]; then
	cat >"$T/i386.def" <<EOF
Bootstrap: busybox
MirrorURL: file:///bin/busybox

%files
	$B/tests/sandbox/i386calls /i386calls

%post
	touch /a /b
	ln -s a /l
	/i386calls /a /l /b
	rm /i386calls
EOF
	run $AS_RUN "$SIFBUILD" build --userns-mode=journal "$T/i386.sif" "$T/i386.def"
	expect_rc 0 "i386-ABI chown16/lchown16/chown32/statx succeed under the journal"
	expect_match out "statx=0 uid=70000 gid=70001" "i386 statx answers from the journal"
	L=$(listing "$T/i386.sif")
	entry -rw-r--r-- 0/40 /a "chown16(a, 0xFFFF, 40) keeps the uid, sets gid 40"
	entry lrwxrwxrwx 41/0 /l "lchown16(l, 41, 0xFFFF) sets the symlink's uid only"
	entry -rw-r--r-- 70000/70001 /b "chown32(b, 70000, 70001) is in the image"
fi

# ------------------------- syscall-level cases (errors, dirfd, fd paths, ...)
if [ -x "$B/tests/sandbox/jcalls" ]; then
	cat >"$T/jcalls.def" <<EOF
Bootstrap: busybox
MirrorURL: file:///bin/busybox

%files
	$B/tests/sandbox/jcalls /jcalls

%post
	/jcalls
	rm /jcalls
EOF
	run $AS_RUN "$SIFBUILD" build --userns-mode=journal "$T/jcalls.sif" "$T/jcalls.def"
	expect_rc 0 "syscall-level cases pass under the journal"
	[ "$RC" -eq 0 ] || printf '%s\n' "$OUT" | grep FAIL
	L=$(listing "$T/jcalls.sif")
	entry -rw-r--r-- 15/15 /jc/f "chown through an absolute symlink reached the target"
	entry lrwxrwxrwx 16/16 /jc/abs "lchown changed the symlink"
	entry drwxr-xr-x 13/13 /jc/d "fchownat(dirfd, \"\", AT_EMPTY_PATH) changed the directory"
	entry -rw-r--r-- 17/17 /jc/d/g "chown /proc/self/fd/N changed the file"
	entry -rw-r--r-- 18/18 /jc/t "a chown from a second thread is in the image"
	if printf '%s\n' "$L" | grep -Eq '^brw-r----- 0/0 +259, *7 .* /jc/b2$'; then
		pass "block device 259:7 in the image"; else fail "block device 259:7 in the image"; fi
	# Control: seccomp mode's ERRNO(0) fakes cannot pass these cases.
	run $AS_RUN "$SIFBUILD" build --userns-mode=seccomp "$T/jcalls-sc.sif" "$T/jcalls.def"
	[ "$RC" -ne 0 ] && pass "control: the same cases fail in seccomp mode" ||
		fail "control: the same cases fail in seccomp mode"
fi

# ------------------------------------------------------------ mode choice
run $AS_RUN "$SIFBUILD" build --ignore-subuid "$T/auto.sif" "$T/cases.def"
expect_rc 0 "auto without a subuid range builds"
expect_match err "ownership journal" "auto without a subuid range chooses the journal"
L=$(listing "$T/auto.sif")
entry -rw-r--r-- 1000/1000 /f "auto (journal) keeps chown 1000:1000"

# -------------------------------------------------- two %post stages chain
cat >"$T/two.def" <<EOF
Bootstrap: localimage
From: $T/cases.sif

%post
	ls -ln /f | awk '{print \$3":"\$4}' >/stat-f
	chown 2:2 /h1-renamed
	sed -i 's/x/y/' /f
	cp -a /s2 /s2copy
EOF
run $AS_RUN "$SIFBUILD" build --userns-mode=journal "$T/two.sif" "$T/two.def"
expect_rc 0 "a build on the journaled image builds"
L=$(listing "$T/two.sif")
X=$(extract_file "$T/two.sif" stat-f)
same "$X" "1000:1000" "owners from the base image answer stat in %post"
entry -rw-r--r-- 2/2 /h2 "a chown through one hard link reaches the other (base image)"
entry -rw-r--r-- 1000/1000 /f "sed -i keeps the owner (new inode chowned from stat)"
entry -rwsr-xr-x 1001/1001 /s2copy "cp -a copies owner and setuid bit"
entry crw-r--r-- 0/0 /null "device nodes of the base image stay devices"

# --------------------------------------------------- killing, failures
cat >"$T/kill.def" <<'EOF'
Bootstrap: busybox
MirrorURL: file:///bin/busybox

%post
	touch /k && chown 3:3 /k
	sleep 31337
EOF
live() { grep -zlx -- "$1" /proc/[0-9]*/cmdline 2>/dev/null; }
wait_live() { # wait_live ARG: up to 20 s for a process with that argument
	i=0
	while [ $i -lt 200 ] && [ -z "$(live "$1")" ]; do sleep 0.1; i=$((i + 1)); done
	[ -n "$(live "$1")" ]
}
builder_pid() { # the sifbuild process of the build writing $1
	for p in $(grep -zlx -- "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
		p=${p#/proc/}
		p=${p%/cmdline}
		[ "$(cat /proc/$p/comm 2>/dev/null)" = sifbuild ] && echo "$p"
	done | head -1
}
gone_within() { # gone_within ARG: up to 10 s until no process has ARG
	i=0
	while [ $i -lt 100 ] && [ -n "$(live "$1")" ]; do sleep 0.1; i=$((i + 1)); done
	[ -z "$(live "$1")" ]
}

$AS_RUN "$SIFBUILD" build --userns-mode=journal "$T/kill1.sif" "$T/kill.def" \
	>"$T/kill1.out" 2>&1 &
bg=$!
if wait_live 31337; then
	P=$(builder_pid "$T/kill1.sif")
	kill -KILL "$P"
	wait $bg
	if gone_within 31337; then pass "SIGKILL of the builder mid-%post leaves no process"
	else fail "SIGKILL of the builder mid-%post leaves no process"; fi
	[ -z "$(builder_pid "$T/kill1.sif")" ] && pass "no builder process left" ||
		fail "no builder process left"
else
	fail "%post of kill.def did not start: $(cat "$T/kill1.out")"
	wait $bg
fi
rm -rf "${SIFBUILD_TMPDIR:?}"/*

$AS_RUN "$SIFBUILD" build --userns-mode=journal "$T/kill2.sif" "$T/kill.def" \
	>"$T/kill2.out" 2>&1 &
bg=$!
if wait_live 31337; then
	P=$(builder_pid "$T/kill2.sif")
	# The supervisor is the builder's only child during %post.
	C=$(cat /proc/"$P"/task/*/children | tr ' ' '\n' | grep . | head -1)
	kill -KILL "$C"
	wait $bg
	RC=$?
	ERR=$(cat "$T/kill2.out")
	[ "$RC" -ne 0 ] && pass "the build fails when the supervisor dies" ||
		fail "the build fails when the supervisor dies"
	expect_match err "ownership journal supervisor was killed by signal 9" \
		"the failure names the supervisor"
	if gone_within 31337; then pass "a dead supervisor leaves no process"
	else fail "a dead supervisor leaves no process"; fi
	[ -e "$T/kill2.sif" ] && fail "no image after a supervisor failure" ||
		pass "no image after a supervisor failure"
	[ -z "$(ls -A "$SIFBUILD_TMPDIR")" ] && pass "no build directory left" ||
		fail "no build directory left ($(ls -A "$SIFBUILD_TMPDIR"))"
else
	fail "%post of kill.def did not start: $(cat "$T/kill2.out")"
	wait $bg
fi

# ------------------------------------------------------------ overhead
cat >"$T/load.def" <<'EOF'
Bootstrap: busybox
MirrorURL: file:///bin/busybox

%post
	mkdir /w
	i=0
	while [ $i -lt 2000 ]; do
		echo $i >/w/$i
		chown 1:1 /w/$i
		i=$((i + 1))
	done
	ls -lnR /w /bin >/dev/null
	cp -a /w /w2
	find / -xdev -type f | wc -l >/dev/null
EOF
# post_ms MODE: time of the %post step (from the progress lines, 0.1 s).
post_ms() {
	$AS_RUN env SIFBUILD_JOURNAL_STATS=1 "$SIFBUILD" build --userns-mode="$1" \
		"$T/load-$1.sif" "$T/load.def" >"$T/load.out" 2>&1 || { echo fail; return; }
	grep '^ownership journal: [0-9]* chown' "$T/load.out" | tail -1 >"$T/stats.$1"
	rm -f "$T/load-$1.sif"
	awk '/Running %post/ {a = $3} /Adding metadata/ {b = $3}
		END {gsub(/s\]/, "", a); gsub(/s\]/, "", b); printf "%d\n", (b - a) * 1000}' \
		"$T/load.out"
}
for m in seccomp journal; do
	best=
	for r in 1 2 3; do
		v=$(post_ms $m)
		[ "$v" = fail ] && { best=fail; break; }
		[ -z "$best" ] || [ "$v" -lt "$best" ] && best=$v
	done
	eval "t_$m=\$best"
done
echo "# overhead: %post with 2000 chown + cp -a + ls -lnR (best of 3):" \
	"seccomp ${t_seccomp} ms, journal ${t_journal} ms"
echo "# $(cat "$T/stats.journal")"
[ "$t_journal" != fail ] && pass "the load builds in journal mode" ||
	fail "the load builds in journal mode"

finish
