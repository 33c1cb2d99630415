#!/usr/bin/env bash
# What a new user sees first: --version, --help, and a clear one-line error with exit 2 on a bad flag.
set -u
bin=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$bin" --version) || fail "--version exited $?"
[[ $out =~ ^icapkit\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$out'"

out=$("$bin" --help) || fail "--help exited $?"
grep -q "Usage: icapkit" <<<"$out" || fail "--help has no usage line"
grep -q "icap_log" <<<"$out" || fail "--help does not say what icapkit writes"

err=$("$bin" --no-such-flag 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || fail "bad flag exited $rc, want 2"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "bad flag printed more than one line: $err"
grep -q -- "--no-such-flag" <<<"$err" || fail "bad flag message does not name the flag: $err"

# scan and options: every flag issue 3 names is in --help, usage errors exit 2 with one line.
out=$("$bin" scan --help) || fail "scan --help exited $?"
for flag in -r --server --profile --vendor --mode --url --method --content-type --multipart --preview \
  --no-204 --allow-206 --connect-timeout --timeout --slow-threshold --jobs --icap-header --http-header \
  --x-client-ip --save-modified --output --log --log-layout --cacert --cert --key --sni --tls-min \
  --insecure; do
  grep -q -- "$flag\b" <<<"$out" || fail "scan --help does not list $flag"
done
out=$("$bin" options --help) || fail "options --help exited $?"
for flag in --output --timeout --cacert --insecure; do
  grep -q -- "$flag\b" <<<"$out" || fail "options --help does not list $flag"
done

err=$("$bin" scan --no-such-flag 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || fail "scan with a bad flag exited $rc, want 2"
grep -q -- "--no-such-flag" <<<"$err" || fail "scan's bad-flag message does not name the flag: $err"
err=$(timeout 10 "$bin" scan /dev/null 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] || fail "scan without --server or --profile (built-in test engine) exited $rc, want 0"
grep -qi -- "built-in test engine" <<<"$err" ||
  fail "scan without a server does not say it uses the built-in test engine: $err"
err=$(timeout 10 "$bin" options 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || fail "options without a URL exited $rc, want 2"
echo "cli basics ok"
