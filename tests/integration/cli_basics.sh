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
echo "cli basics ok"
