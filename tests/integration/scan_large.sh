#!/usr/bin/env bash
# A large file (ICAPKIT_LARGE_MB MiB, default 1024) through c-icap's echo service with --no-204:
# the server streams the whole body back, icapkit saves it with --save-modified. The saved copy
# must be identical (SHA-256) and icapkit's peak RSS must stay under 64 MiB: bodies stream through
# fixed buffers, never held whole (DESIGN.md section 2).
# --preview off: c-icap 0.5.10's echo answers a preview alternately with 204 and 100 Continue (a
# per-process toggle, reference/icap-protocol.md 3.3); without a preview and without Allow: 204 it
# always returns the full body, so the test is deterministic.
# Usage: scan_large.sh ICAPKIT_BINARY SOURCE_DIR   (env: ICAPKIT_LARGE_MB)
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init scan_large "$1" "$2"

mb=${ICAPKIT_LARGE_MB:-1024}
rss_limit_kib=$((64 * 1024))
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (package 'time'; run scripts/deps)"

big=$WORK/large.bin
t0=$(date +%s%N)
# Deterministic, incompressible, non-repeating bytes: AES-CTR keystream (a zero-filled or sparse
# file would hide a body shifted by a few bytes).
openssl enc -aes-128-ctr -nosalt -pass pass:icapkit-large -in /dev/zero 2>/dev/null |
  head -c $((mb * 1024 * 1024)) >"$big"
[ "$(stat -c %s "$big")" -eq $((mb * 1024 * 1024)) ] || die "could not generate a ${mb} MiB file in $WORK"
want_sha=$(sha256 "$big")
t1=$(date +%s%N)
note "generated ${mb} MiB in $(((t1 - t0) / 1000000)) ms"

start_lab
log=$WORK/large.ndjson
start=$(date +%s%N)
timeout -k 5 900 /usr/bin/time -f %M -o "$WORK/rss-kib" "$bin" scan \
  --server "icap://127.0.0.1:$ICAP_PORT/echo" --no-204 --preview off --timeout 900000 \
  --save-modified "$WORK/saved" --log "$log" "$big" >"$WORK/large.out" 2>"$WORK/large.err"
RC=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $RC -ne 124 ] || fail "large: icapkit did not finish a ${mb} MiB scan within 900 s"
expect_rc large 0 "an unmodified body returned by echo passes"
note "scan of ${mb} MiB through echo and back: ${ms} ms ($((mb * 1000 / (ms > 0 ? ms : 1))) MiB/s each way)"

rss=$(tail -n 1 "$WORK/rss-kib" 2>/dev/null)
if ! [[ $rss =~ ^[0-9]+$ ]]; then
  fail "large: /usr/bin/time did not report a peak RSS ($(cat "$WORK/rss-kib" 2>&1))"
elif [ "$rss" -ge $rss_limit_kib ]; then
  fail "large: icapkit peak RSS was $((rss / 1024)) MiB for a ${mb} MiB file, want under 64 MiB (bodies must stream)"
else
  note "peak RSS of icapkit: ${rss} KiB"
fi

saved=$WORK/saved/large.bin
if [ ! -f "$saved" ]; then
  fail "large: --save-modified did not write saved/large.bin (has: $(ls "$WORK/saved" 2>&1 | tr '\n' ' '))"
else
  got_size=$(stat -c %s "$saved")
  [ "$got_size" -eq $((mb * 1024 * 1024)) ] ||
    fail "large: the saved copy has $got_size bytes, want $((mb * 1024 * 1024))"
  [ "$(sha256 "$saved")" = "$want_sha" ] || fail "large: the saved copy's SHA-256 differs from the file sent"
fi

validate "$log"
records "$log" --count 1 icap_log.action=ICAP_PASSED icap_log.request_logs.0.icap_response_code=200 \
  file.size=$((mb * 1024 * 1024)) file.sha256="$want_sha"
rm -f "$big" "$saved" # gigabytes; keep the logs if anything failed

finish
