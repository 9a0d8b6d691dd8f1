# tests/registry/registry-checks.sh: sourced by tests/integration/registry.sh
# after the per-mode pulls (uses its variables and helpers): credentials,
# corrupt blobs, faults, resume, concurrency, cache commands, push, offline.
# shellcheck shell=sh disable=SC2015

# ---------------------------------------------------------- credentials
# expect_fail PATTERN DESC: the last run failed (exit 1) with PATTERN on stderr
expect_fail() {
	if [ "$RC" -eq 1 ]; then expect_match err "$1" "$2"; else fail "$2 (exit $RC, expected 1: $OUT $ERR)"; fi
}
export SIFBUILD_CACHEDIR="$T/cache-auth"
run "$SB" --nohttps "$H:$PB/seed/busybox:latest"
expect_fail "127\.0\.0\.1:$PB requires authentication" "basic: no credentials is one clear error"
t0=$(date +%s)
run env APPTAINER_DOCKER_USERNAME=alice APPTAINER_DOCKER_PASSWORD=wrong "$SB" --nohttps "$H:$PB/seed/busybox:latest"
t1=$(date +%s)
[ $((t1 - t0)) -le 3 ] || fail "basic: wrong password took $((t1 - t0)) s"
expect_fail "registry 127\.0\.0\.1:$PB rejected the credentials of user 'alice'" "basic: wrong password fails fast, naming the registry"
expect_one_line_err "basic: wrong password is one line"
run env SINGULARITY_DOCKER_USERNAME=alice SINGULARITY_DOCKER_PASSWORD=s3cret "$SB" --nohttps "$H:$PB/seed/busybox:latest"
[ "$OUT" = "$SEED_BUSYBOX" ] && pass "basic: SINGULARITY_DOCKER_* credentials" || fail "basic: SINGULARITY_ env ($ERR)"
run "$SB" --nohttps --authfile "$R/basic/docker/config.json" "$H:$PB/seed/busybox:latest"
[ "$OUT" = "$SEED_BUSYBOX" ] && pass "basic: --authfile" || fail "basic: --authfile ($ERR)"
run "$SB" --nohttps --authfile "$T/nonexistent.json" "$H:$PB/seed/busybox:latest"
expect_fail "nonexistent.json" "a missing --authfile is an error naming it"
mkdir -p "$T/bin" "$T/helper"
cat >"$T/bin/docker-credential-sbtest" <<'EOF'
#!/bin/sh
read -r server
f="$(dirname "$0")/creds-$server.json"
[ -f "$f" ] && exec cat "$f"
echo "credentials not found in native keychain"
exit 1
EOF
printf '{"ServerURL":"x","Username":"alice","Secret":"s3cret"}\n' >"$T/bin/creds-$H:$PB.json"
printf '{"ServerURL":"x","Username":"bob","Secret":"pw-2"}\n' >"$T/bin/creds-$H:$PTB.json"
chmod +x "$T/bin/docker-credential-sbtest"
printf '{"credHelpers":{"%s:%s":"sbtest"}}\n' "$H" "$PB" >"$T/helper/config.json"
run env DOCKER_CONFIG="$T/helper" PATH="$T/bin:$PATH" "$SB" --nohttps "$H:$PB/seed/busybox:latest"
[ "$OUT" = "$SEED_BUSYBOX" ] && pass "basic: credHelpers (docker-credential-NAME get)" || fail "credHelpers ($ERR)"
printf '{"credsStore":"sbtest"}\n' >"$T/helper/config.json"
run env DOCKER_CONFIG="$T/helper" PATH="$T/bin:$PATH" "$SB" --nohttps "$H:$PTB/seed/busybox:latest"
[ "$OUT" = "$SEED_BUSYBOX" ] && pass "token+basic: credsStore helper" || fail "credsStore ($ERR)"
run env APPTAINER_DOCKER_USERNAME=bob APPTAINER_DOCKER_PASSWORD=nope "$SB" --nohttps "$H:$PTB/seed/busybox:latest"
expect_fail "registry 127\.0\.0\.1:$PTB rejected the credentials of user 'bob'" "token+basic: wrong password, one clear error"
run env DOCKER_CONFIG="$R/oauth/docker" "$SB" --nohttps "$H:$PO/seed/busybox:latest"
[ "$OUT" = "$SEED_BUSYBOX" ] && pass "token: identitytoken via the OAuth2 refresh_token grant" || fail "identitytoken ($ERR)"
mkdir -p "$T/badid"
sed 's/sbtest-refresh/wrong-refresh/' "$R/oauth/docker/config.json" >"$T/badid/config.json"
run env DOCKER_CONFIG="$T/badid" "$SB" --nohttps "$H:$PO/seed/busybox:latest"
expect_fail "registry 127\.0\.0\.1:$PO rejected the credentials of user '<token>'" "token: a wrong identitytoken is one clear error"
run "$SB" --nohttps "$H:$PT/seed/notgranted:latest"
expect_fail "127\.0\.0\.1:$PT" "token: a repository outside the grant fails naming the registry"
run "$SB" --nohttps "$H:$PA/seed/busybox:nosuchtag"
expect_fail "seed/busybox:nosuchtag not found on registry 127\.0\.0\.1:$PA.*MANIFEST_UNKNOWN" "unknown tag: not found with the registry's code"
run "$SB" "$H:$PA/seed/busybox:latest"
expect_fail "127\.0\.0\.1:$PA.*--nohttps" "https to a plain-HTTP registry suggests --nohttps"

run "$SB" --nohttps --disable-cache "$H:$PA/seed/busybox:dup" "$T/dup"
[ "$OUT" = "$SEED_DUP" ] && same_as_seed "$T/dup" "$SEED_DUP" && pass "a layer listed twice is fetched once" ||
	fail "duplicate layer ($ERR)"

if [ "$(uname -m)" = x86_64 ]; then
	run "$SB" --nohttps "$H:$PA/seed/multi@$SEED_MULTI_ARM64"
	[ "$OUT" = "$SEED_MULTI_ARM64" ] && expect_match err "warning: .* is an image for linux/arm64, not amd64" \
		"a plain manifest for another platform is pulled with a warning"
fi

# ---------------------------------------------------------- HTTPS (the default transport)
export SIFBUILD_CACHEDIR="$T/cache-tls"
run "$SB" --ca-file "$R/tls/tls/cert.pem" "$H:$PS/seed/busybox:latest" "$T/tls-oci"
[ "$OUT" = "$SEED_BUSYBOX" ] && same_as_seed "$T/tls-oci" "$SEED_BUSYBOX" && pass "https: image pulled (CA file trusted)" ||
	fail "https pull ($ERR)"
rm -rf "$SIFBUILD_CACHEDIR"
run "$SB" "$H:$PS/seed/busybox:latest"
expect_fail "registry 127\.0\.0\.1:$PS: https://.*certificate" "https: an untrusted certificate is one clear error"
run "$SB" --nohttps "$H:$PS/seed/busybox:latest"
expect_fail "registry speaks HTTPS: drop --nohttps" "--nohttps to an HTTPS registry says so"

# ---------------------------------------------------------- corrupt blob
cf="$R/anon/data/docker/registry/v2/blobs/sha256/$(echo "${SEED_CORRUPT_LAYER#sha256:}" | cut -c1-2)/${SEED_CORRUPT_LAYER#sha256:}/data"
size=$(wc -c <"$cf")
head -c "$size" /dev/zero >"$cf"
export SIFBUILD_CACHEDIR="$T/cache-corrupt"
run "$SB" --nohttps "$H:$PA/seed/corrupt:latest"
expect_fail "blob $SEED_CORRUPT_LAYER .*digest mismatch" "corrupt blob: digest error naming the blob"
[ ! -e "$SIFBUILD_CACHEDIR/blobs/sha256/${SEED_CORRUPT_LAYER#sha256:}" ] &&
	[ ! -e "$SIFBUILD_CACHEDIR/tmp/${SEED_CORRUPT_LAYER#sha256:}.partial" ] && blobs_verified "$SIFBUILD_CACHEDIR" &&
	pass "corrupt blob: nothing unverified in the cache" || fail "corrupt blob: cache not clean"

# ---------------------------------------------------------- faults via the proxy
start_proxy() { # NAME ARGS... -> PP (port)
	name=$1
	shift
	rm -f "$T/$name.port"
	"$FP" --upstream "$PA" --port-file "$T/$name.port" --log "$T/$name.log" "$@" &
	PROXY_PIDS="$PROXY_PIDS $!"
	i=0
	while [ ! -s "$T/$name.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	PP=$(cat "$T/$name.port")
}
BIGH=${SEED_BIG_LAYER#sha256:}
export SIFBUILD_CACHEDIR="$T/cache-retry"
start_proxy retry --retry-after 1 --rule "$BIGH:429:1" --rule "$BIGH:503:1"
run "$SB" --nohttps "$H:$PP/seed/big:latest"
[ "$OUT" = "$SEED_BIG" ] && pass "429 then 503 on a blob: retried, pulled" || fail "retries ($ERR)"
expect_match err "^warning: blob ${SEED_BIG_LAYER%"${SEED_BIG_LAYER#???????????????????}"} from registry 127\.0\.0\.1:$PP: HTTP 429; retry 1 of 5 in 1\.0 s" \
	"each retry is reported (status, attempt, wait)"
awk -v h="$BIGH" '$3 ~ h { t[n++] = $1; a[n-1] = $5 } END {
	exit !(n == 3 && a[0] == "429" && a[1] == "503" && a[2] == "pass" && t[1] - t[0] >= 900 && t[2] - t[1] >= 900) }' "$T/retry.log" &&
	pass "Retry-After: 1 honoured (>= 1 s between attempts)" || fail "Retry-After timing: $(cat "$T/retry.log")"
export SIFBUILD_CACHEDIR="$T/cache-cut"
start_proxy cut --rule "$BIGH:cut=2000000:1"
run "$SB" --nohttps "$H:$PP/seed/big:latest"
[ "$OUT" = "$SEED_BIG" ] && grep -q "$BIGH bytes=2000000- pass" "$T/cut.log" &&
	pass "transfer cut at 2000000 bytes: resumed with Range" || fail "resume after cut ($ERR; $(cat "$T/cut.log"))"
export SIFBUILD_CACHEDIR="$T/cache-giveup"
start_proxy giveup --rule "$BIGH:503:20"
run "$SB" --nohttps --retries 2 "$H:$PP/seed/big:latest"
expect_fail "HTTP 503" "persistent 503: fails after the retries"
[ "$(grep -c "$BIGH" "$T/giveup.log")" -eq 3 ] && pass "persistent 503: exactly 1 + 2 attempts" || fail "attempts: $(cat "$T/giveup.log")"

# an interrupted pull (no retries allowed) resumes without fetching finished blobs again
export SIFBUILD_CACHEDIR="$T/cache-killed"
start_proxy killed --rule "$BIGH:cut=3000000:1"
run "$SB" --nohttps --retries -1 "$H:$PP/seed/big:latest"
[ "$RC" -eq 1 ] && [ -s "$SIFBUILD_CACHEDIR/tmp/$BIGH.partial" ] &&
	pass "interrupted pull keeps its partial download" || fail "interrupted pull (rc $RC, $ERR)"
run "$SB" --nohttps "$H:$PP/seed/big:latest"
cfg=$(jq -r .config.digest "$SEED_LAYOUT/blobs/sha256/${SEED_BIG#sha256:}")
[ "$OUT" = "$SEED_BIG" ] && grep -q "$BIGH bytes=3000000- pass" "$T/killed.log" &&
	[ "$(grep -c "${cfg#sha256:}" "$T/killed.log")" -eq 1 ] &&
	pass "second pull resumes at 3000000 and skips finished blobs" || fail "resume after kill ($(cat "$T/killed.log"))"

# a pull killed (SIGKILL) mid-transfer resumes where it stopped
export SIFBUILD_CACHEDIR="$T/cache-sigkill"
start_proxy stall --rule "$BIGH:stall=2500000:1"
"$SB" --nohttps "$H:$PP/seed/big:latest" >/dev/null 2>&1 &
victim=$!
i=0
while [ "$(stat -c %s "$SIFBUILD_CACHEDIR/tmp/$BIGH.partial" 2>/dev/null || echo 0)" -lt 2500000 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -9 $victim 2>/dev/null
wait $victim 2>/dev/null
run "$SB" --nohttps "$H:$PP/seed/big:latest"
[ "$OUT" = "$SEED_BIG" ] && grep -q "$BIGH bytes=2500000- pass" "$T/stall.log" && blobs_verified "$SIFBUILD_CACHEDIR" &&
	pass "pull killed with SIGKILL mid-blob resumes at the byte it reached" || fail "SIGKILL resume ($ERR; $(cat "$T/stall.log"))"

# two processes, one blob: the second waits for the first's lock; when the
# first dies, the second takes the blob over and resumes the first's bytes
export SIFBUILD_CACHEDIR="$T/cache-handover"
start_proxy holder --rule "$BIGH:stall=1500000:1"
HOLDER_PORT=$PP
start_proxy waiter
"$SB" --nohttps "$H:$HOLDER_PORT/seed/big:latest" >/dev/null 2>&1 &
holder=$!
i=0
while [ "$(stat -c %s "$SIFBUILD_CACHEDIR/tmp/$BIGH.partial" 2>/dev/null || echo 0)" -lt 1500000 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
"$SB" --nohttps --progress "$H:$PP/seed/big:latest" >"$T/waiter.out" 2>"$T/waiter.err" &
waiter=$!
sleep 1
if kill -0 $waiter 2>/dev/null && ! grep -q "$BIGH" "$T/waiter.log"; then
	pass "a blob another process is downloading is waited for, not fetched twice"
else
	fail "waiter did not wait ($(cat "$T/waiter.log"))"
fi
kill -9 $holder 2>/dev/null
wait $holder 2>/dev/null
wait $waiter
[ $? -eq 0 ] && [ "$(cat "$T/waiter.out")" = "$SEED_BIG" ] && grep -q "$BIGH bytes=1500000- pass" "$T/waiter.log" &&
	blobs_verified "$SIFBUILD_CACHEDIR" && pass "when the holder dies the waiter resumes its bytes" ||
	fail "handover ($(cat "$T/waiter.err" "$T/waiter.log"))"

# ---------------------------------------------------------- concurrency, progress
export SIFBUILD_CACHEDIR="$T/cache-shared"
"$SB" --nohttps --max-connections 2 "$H:$PA/seed/big:latest" >"$T/c1.out" 2>"$T/c1.err" &
p1=$!
"$SB" --nohttps --max-connections 1 "$H:$PA/seed/big:latest" >"$T/c2.out" 2>"$T/c2.err" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$(cat "$T/c1.out")" = "$SEED_BIG" ] && [ "$(cat "$T/c2.out")" = "$SEED_BIG" ] &&
	blobs_verified "$SIFBUILD_CACHEDIR" && [ -z "$(ls "$SIFBUILD_CACHEDIR/tmp")" ] &&
	pass "two concurrent pulls share the cache" || fail "concurrent pulls ($r1 $r2: $(cat "$T/c1.err" "$T/c2.err"))"
export SIFBUILD_CACHEDIR="$T/cache-progress"
run "$SB" --nohttps --progress "$H:$PA/seed/busybox:latest"
expect_match err "layer 1 sha256:[0-9a-f]{12}: downloaded and verified" "plain progress: a line per blob"
expect_match err "^pulling: 3/3 blobs" "plain progress: totals line"
rm -rf "$SIFBUILD_CACHEDIR"
run "$SB" --nohttps --tty "$H:$PA/seed/busybox:latest"
printf '%s' "$ERR" | grep -q "$(printf '\033')\[2K" && printf '%s' "$ERR" | grep -q "total: 3/3 blobs" &&
	pass "terminal progress: bars redrawn in place" || fail "terminal progress: $ERR"

# ---------------------------------------------------------- cache commands
run "$SB" --cache-list
expect_match out "^$SEED_BUSYBOX [0-9]+ blob" "cache list: blobs with sizes"
expect_match out "^total [0-9]+" "cache list: total"
run "$SB" --cache-clean 30
expect_match out "^removed 0 0" "cache clean --days 30 keeps recent blobs"
run "$SB" --cache-clean 0
expect_match out "^removed 4 " "cache clean removes everything"
run "$SB" --cache-list
expect_match out "^total 0" "cache empty after clean"
export SIFBUILD_CACHEDIR="$T/cache-never"
run "$SB" --nohttps --disable-cache "$H:$PA/seed/busybox:latest" "$T/nocache"
[ "$OUT" = "$SEED_BUSYBOX" ] && [ ! -e "$SIFBUILD_CACHEDIR" ] && same_as_seed "$T/nocache" "$SEED_BUSYBOX" &&
	[ ! -e "$T/nocache/tmp" ] && pass "--disable-cache: layout only, no cache" || fail "disable-cache ($ERR)"
unset SIFBUILD_CACHEDIR
run env APPTAINER_CACHEDIR="$T/appt" "$SB" --nohttps "$H:$PA/seed/busybox:latest"
[ -f "$T/appt/sifbuild/blobs/sha256/${SEED_BUSYBOX#sha256:}" ] && pass "APPTAINER_CACHEDIR/sifbuild is the cache" || fail "APPTAINER_CACHEDIR"
run "$SB" --nohttps "$H:$PA/seed/busybox:latest"
[ -f "$HOME/.cache/sifbuild/blobs/sha256/${SEED_BUSYBOX#sha256:}" ] && pass "HOME/.cache/sifbuild is the default cache" || fail "default cache"

# ---------------------------------------------------------- push
if [ -n "$SEED_SIF" ]; then
	export SIFBUILD_CACHEDIR="$T/cache-push"
	for m in anon:$PA token:$PT basic:$PB; do
		port=${m#*:}
		[ "${m%%:*}" = basic ] && export DOCKER_CONFIG="$R/basic/docker"
		run "$SB" --nohttps --push "$SEED_SIF_FILE" "oras://$H:$port/test/sif:pushed"
		d=$OUT
		run "$SB" --nohttps --sif "$T/rt.sif" "oras://$H:$port/test/sif:pushed"
		[ -n "$d" ] && [ "$OUT" = "$d" ] && cmp -s "$T/rt.sif" "$SEED_SIF_FILE" &&
			pass "${m%%:*}: push then pull of a SIF round-trips bit for bit" || fail "${m%%:*}: push round trip ($ERR)"
		unset DOCKER_CONFIG
	done
	skopeo inspect --raw --tls-verify=false "docker://$H:$PA/test/sif:pushed" >"$T/raw.json" 2>/dev/null
	jq -e '.config.mediaType == "application/vnd.sylabs.sif.config.v1+json" and (.layers | length == 1)
		and .layers[0].mediaType == "application/vnd.sylabs.sif.layer.v1.sif"
		and .layers[0].annotations["org.opencontainers.image.title"] == "busybox.sif"' "$T/raw.json" >/dev/null &&
		pass "skopeo inspect --raw shows the SIF media types" || fail "pushed manifest: $(cat "$T/raw.json")"
	run "$SB" --nohttps --push "$SEED_SIF_FILE" "oras://$H:$PA/test/sif:again"
	grep "test/sif/blobs/uploads" "$R/anon/registry.log" | grep -c POST >"$T/posts"
	[ "$RC" -eq 0 ] && [ "$(cat "$T/posts")" -eq 2 ] && pass "push skips blobs the registry has" || fail "push again ($(cat "$T/posts") POSTs, $ERR)"
	run "$SB" --nohttps --chunk-size 1000 --push "$SEED_SIF_FILE" "oras://$H:$PA/test/push:chunked"
	d=$OUT
	run "$SB" --nohttps --sif "$T/chunked.sif" "oras://$H:$PA/test/push:chunked"
	[ -n "$d" ] && [ "$OUT" = "$d" ] && cmp -s "$T/chunked.sif" "$SEED_SIF_FILE" &&
		[ "$(grep -c '"PATCH /v2/test/push/blobs/uploads/' "$R/anon/registry.log")" -ge 2 ] &&
		pass "chunked push (PATCH uploads) round-trips" || fail "chunked push ($ERR)"
	run "$SB" --nohttps --push "$SEED_LAYOUT/oci-layout" "oras://$H:$PA/test/sif:bad"
	expect_fail "is not a SIF file" "push refuses a non-SIF file"
fi

# ---------------------------------------------------------- the CLI (once sifbuild has pull/push/cache)
if "$SIFBUILD" pull --help >/dev/null 2>&1; then
	export SIFBUILD_CACHEDIR="$T/cache-cli"
	run "$SIFBUILD" pull --no-https --layout "$T/cli-oci" "docker://$H:$PA/seed/busybox:latest"
	[ "$OUT" = "$SEED_BUSYBOX" ] && same_as_seed "$T/cli-oci" "$SEED_BUSYBOX" &&
		pass "sifbuild pull --layout docker://" || fail "sifbuild pull docker ($ERR)"
	if [ -n "$SEED_SIF" ]; then
		run "$SIFBUILD" push --nohttps "$SEED_SIF_FILE" "oras://$H:$PA/test/sif:cli"
		d=$OUT
		run "$SIFBUILD" pull --nohttps "oras://$H:$PA/test/sif:cli" "$T/cli.sif"
		[ -n "$d" ] && [ "$OUT" = "$d" ] && cmp -s "$T/cli.sif" "$SEED_SIF_FILE" &&
			pass "sifbuild push then pull oras:// round-trips" || fail "sifbuild push/pull ($ERR)"
	fi
	run "$SIFBUILD" cache list
	expect_match out "^[0-9]+ blobs, .* in $SIFBUILD_CACHEDIR" "sifbuild cache list"
	run "$SIFBUILD" cache clean --days 0
	expect_match out "^removed [1-9][0-9]* blobs" "sifbuild cache clean"
	run "$SIFBUILD" pull "docker://$H:$PA/seed/busybox:latest"
	[ "$RC" -eq 2 ] && pass "sifbuild pull docker:// without --layout is a usage error" || fail "pull usage ($RC)"
else
	echo "# sifbuild has no 'pull' command yet: CLI checks skipped"
fi

# ---------------------------------------------------------- offline (last: stops the registry)
export SIFBUILD_CACHEDIR="$T/cache-anon"
sh "$F" stop "$R/anon"
run "$SB" --nohttps -v "$H:$PA/seed/busybox:latest" "$T/offline"
printf '%s\n' "$OUT" | grep -qx "$SEED_BUSYBOX" && printf '%s\n' "$OUT" | grep -qx "offline yes" &&
	same_as_seed "$T/offline" "$SEED_BUSYBOX" && pass "registry stopped: second pull works from the cache" ||
	fail "offline pull (rc $RC, $ERR)"
expect_match err "warning: .*using docker://127\.0\.0\.1:$PA/seed/busybox:latest from the cache" "offline pull warns"
run "$SB" --nohttps "$H:$PA/seed/busybox@$SEED_BUSYBOX"
[ "$OUT" = "$SEED_BUSYBOX" ] && [ -z "$ERR" ] && pass "registry stopped: pull by digest needs no network" || fail "offline digest ($ERR)"
run "$SB" --nohttps "$H:$PA/seed/edge:latest"
expect_fail "127\.0\.0\.1:$PA" "registry stopped, nothing cached: error names the registry"
