#!/bin/bash
# The progress line of icapkit scan: shown on a terminal when many files are scanned, never in a
# pipe (logs and CI output stay clean). The terminal is a pseudo-terminal made by script(1).
# Also what -q leaves out: scan's progress line, and all of options' output on success.
# Usage: scan_progress.sh ICAPKIT_BINARY
set -u
icapkit=$1
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

"$icapkit" serve --vendor opswat --listen 127.0.0.1:0 --port-file "$work/ports" --threads 1 -q &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$work/ports" ] && break
  sleep 0.1
done
[ -s "$work/ports" ] || { echo "FAIL: serve did not write its port file"; exit 1; }
url="icap://$(sed -n 1p "$work/ports")/OMSScanReq-AV"

mkdir "$work/files"
for i in $(seq 1 25); do
  printf 'clean file %s\n' "$i" >"$work/files/f$i.txt"
done

# On a terminal: the progress line ("[done/total] ... MiB read") is drawn on stderr.
timeout 60 script -qec "'$icapkit' scan --server '$url' --jobs 2 -r '$work/files'" \
  "$work/tty.out" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] || fail "scan on a terminal exited $rc, want 0"
grep -q '/25\] ' "$work/tty.out" || fail "no progress line on a terminal: $(head -c 300 "$work/tty.out")"
grep -q "25 passed" "$work/tty.out" || fail "no summary on a terminal"

# In a pipe: the same scan draws no progress line and no terminal control codes.
timeout 60 "$icapkit" scan --server "$url" --jobs 2 -r "$work/files" >"$work/pipe.out" 2>"$work/pipe.err"
rc=$?
[ $rc -eq 0 ] || fail "scan in a pipe exited $rc, want 0"
if grep -q '/25\] ' "$work/pipe.out" "$work/pipe.err" || grep -q $'\033' "$work/pipe.err"; then
  fail "progress or control codes in a pipe: $(cat "$work/pipe.err")"
fi

# -q on a terminal: no progress line either.
timeout 60 script -qec "'$icapkit' scan -q --server '$url' -r '$work/files'" "$work/quiet.out" \
  >/dev/null 2>&1
grep -q '/25\] ' "$work/quiet.out" && fail "progress line shown with -q"

# options -q: nothing on stdout, the exit status says the service answered 200.
out=$(timeout 30 "$icapkit" options -q "$url"); rc=$?
[ $rc -eq 0 ] || fail "options -q exited $rc, want 0"
[ -z "$out" ] || fail "options -q printed: $out"
out=$(timeout 30 "$icapkit" options "$url"); rc=$?
[ $rc -eq 0 ] && grep -q "Methods" <<<"$out" || fail "options without -q: exit $rc, output: $out"

[ $failures -eq 0 ] && echo "scan progress ok"
exit $((failures > 0))
