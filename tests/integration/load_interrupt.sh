#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# `icapkit load` never loses a run (issue 13): SIGINT/SIGTERM during a long run against
# `icapkit serve` end it with the summary printed and --json/--html/--prom written, marked
# interrupted, exit 130/143; requests still in flight after the grace are abandoned; a second
# signal still writes the outputs. Before any load: output paths that cannot be written and
# --files matches that cannot be read are errors with the OS's reason (exit 2, no crash); a
# directory stands for its files; `load --json` pipes into `report --merge` with its ready
# percentiles recomputed.
# Usage: load_interrupt.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init load_interrupt "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

# Clean uploads are answered at once, EICAR ones after 5 s (beyond the 2 s grace): with --eicar-ratio 0.5 a run always
# has requests in flight that no grace lets finish.
cat >"$WORK/hold.json" <<'JSON'
{"name": "hold-eicar", "rules": [
  {"name": "eicar", "match": {"contains": "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"},
   "verdict": {"type": "block", "threat": "EICAR-Test-File"}, "delay": {"ms": 5000}},
  {"name": "all", "verdict": "clean"}]}
JSON
start_serve icap --vendor opswat --scenario "$WORK/hold.json"
url=icap://127.0.0.1:$icap_port/OMSScanReq-AV
serve_log=$WORK/icap.serve.ndjson
note "icapkit serve :$icap_port"
json() { # json FILE EXPR: prints EXPR evaluated on the parsed FILE (as j)
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# REQMODs serve answered: OPTIONS lines do not show that load is sending (each connection may
# open with one).
reqmods() { grep -c '"method":"REQMOD"' "$serve_log" 2>/dev/null || true; }
reqmods_more_than() { [ "$(reqmods)" -gt "$1" ]; }

# start_load NAME ARGS...: `icapkit load` in the background (bounded by timeout); LOAD_PID is
# icapkit itself (timeout's child), so that a signal reaches it and not the timeout wrapper.
start_load() {
  local name=$1
  shift
  timeout -k 5 120 "$bin" load "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
  LOAD_WRAPPER=$!
  background_pids+=("$LOAD_WRAPPER")
  LOAD_PID=
  wait_for 10 pgrep -P "$LOAD_WRAPPER" >/dev/null || die "$name: icapkit load did not start"
  LOAD_PID=$(pgrep -P "$LOAD_WRAPPER")
}
# finish_load NAME: waits for the background load; sets RC.
finish_load() {
  wait "$LOAD_WRAPPER"
  RC=$?
  if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
    fail "$1: icapkit load did not end after the signal (killed)"
  fi
}

# --- SIGINT in the middle of a 10-minute closed-model run
before=$(reqmods)
start_load int --server "$url" --connections 4 --duration 600s --eicar-ratio 0.5 --timeout 30000 \
  --json "$WORK/int.json" --html "$WORK/int.html" --prom "$WORK/int.prom" --ndjson "$WORK/int.ndjson"
# Running: serve has answered clean uploads of this run. Each connection then soon waits on an
# EICAR upload, so at most 4 clean ones are answered before the 5 s hold.
wait_for 30 reqmods_more_than "$before" || die "int: icapkit load sent nothing in 30 s"
kill -INT "$LOAD_PID"
finish_load int
expect_rc int 130 "SIGINT ends the run as a shell expects (128 + 2)"
expect_output int "SIGINT: stopping; requests in flight get 2000 ms" "the signal is acknowledged"
expect_output int "^interrupted by SIGINT: stopped early, [1-9][0-9]* requests in flight abandoned" \
  "the human summary says the run was interrupted, with the abandoned requests"
expect_output int "^requests [1-9][0-9]* in" "the human summary counts what completed"
if [ -s "$WORK/int.json" ]; then
  [ "$(json "$WORK/int.json" "j['interrupted'], j['signal'], j['counts']['requests'] > 0, j['abandoned'] > 0")" = "True SIGINT True True" ] ||
    fail "int.json: want interrupted, SIGINT, requests and abandoned requests"
  [ "$(json "$WORK/int.json" "j['histograms']['total']['unit'], j['histograms']['total']['p99'] > 0, j['histograms']['total']['p50'] <= j['histograms']['total']['p99'] <= j['histograms']['total']['max']")" = "us True True" ] ||
    fail "int.json: histograms.total has no usable p50/p99/max in us"
  for field in p50 p90 p99 p99_9 max mean; do
    [ "$(json "$WORK/int.json" "'$field' in j['histograms']['connect']")" = True ] ||
      fail "int.json: histograms.connect has no $field"
  done
else
  fail "int: --json was not written"
fi
grep -q "Interrupted by SIGINT" "$WORK/int.html" 2>/dev/null || fail "int.html missing or without the interruption note"
grep -q '^icapkit_load_interrupted 1$' "$WORK/int.prom" 2>/dev/null || fail "int.prom missing or without icapkit_load_interrupted 1"
[ "$(lines "$WORK/int.ndjson")" -eq "$(json "$WORK/int.json" "j['counts']['requests']")" ] ||
  fail "int.ndjson: not one record per counted request"

# --- load --json | report --merge: the interrupted run merges, its percentiles recomputed
icapkit merge report --merge "$WORK/int.json" -o "$WORK/merged.json"
expect_rc merge 0 "report --merge reads load's JSON with its ready percentiles"
expect_output merge "^interrupted by SIGINT" "the merged summary is still marked interrupted"
[ "$(json "$WORK/merged.json" "j['interrupted'], j['histograms']['total']['p99'] == json.load(open('$WORK/int.json'))['histograms']['total']['p99']")" = "True True" ] ||
  fail "merged.json: not interrupted, or its p99 differs from the single input's"

# --- SIGTERM, and a second signal during the grace: outputs still written
before=$(reqmods)
start_load term --server "$url" --connections 2 --duration 600s --eicar-ratio 0.5 --timeout 30000 \
  --json "$WORK/term.json" -q
wait_for 30 reqmods_more_than "$before" || die "term: icapkit load sent nothing in 30 s"
kill -TERM "$LOAD_PID"
wait_for 10 grep -q "SIGTERM: stopping" "$WORK/term.err" || fail "term: the first signal was not acknowledged"
kill -TERM "$LOAD_PID" 2>/dev/null
finish_load term
expect_rc term 143 "SIGTERM ends the run with 128 + 15"
expect_output term "^interrupted by SIGTERM" "the summary is printed even with -q"
[ "$(json "$WORK/term.json" "j['interrupted'], j['signal']")" = "True SIGTERM" ] ||
  fail "term.json: not marked interrupted by SIGTERM"

# --- output paths are checked before any load, with the OS's reason
before=$(lines "$serve_log")
icapkit nodir load --server "$url" --requests 5 --json "$WORK/no/such/dir/out.json"
expect_rc nodir 2 "an output in a missing directory"
expect_output nodir "--json: cannot write '.*/no/such/dir/out.json': No such file or directory" "the OS's reason"
icapkit isdir load --server "$url" --requests 5 --html "$WORK"
expect_rc isdir 2 "a directory as output file"
expect_output isdir "--html: cannot write '.*': Is a directory" "the OS's reason"
icapkit ndjsondir load --server "$url" --requests 5 --prom "$WORK/ok.prom" --ndjson "$WORK/no/x.ndjson"
expect_rc ndjsondir 2 "an --ndjson path in a missing directory"
[ ! -e "$WORK/ok.prom" ] || fail "ndjsondir: the check left a file behind"
[ "$(lines "$serve_log")" -eq "$before" ] || fail "output checks: load was sent before the paths were checked"

# --- --files: unreadable matches, directories, globs
mkdir -p "$WORK/bodies/sub" "$WORK/empty"
printf 'first body\n' >"$WORK/bodies/a.txt"
printf 'second body, a little longer\n' >"$WORK/bodies/sub/b.txt"
ln -s "$WORK/gone" "$WORK/dangling.bin"
mkfifo "$WORK/fifo.bin"
icapkit dangling load --server "$url" --requests 5 --files "$WORK/dangling.bin"
expect_rc dangling 2 "a dangling symlink in --files"
expect_output dangling "--files: cannot read '.*dangling.bin': No such file or directory" "the file and the reason"
expect_no_output dangling "terminate called|runtime_error" "a crash"
icapkit fifo load --server "$url" --requests 5 --files "$WORK/fifo.bin"
expect_rc fifo 2 "a FIFO in --files"
expect_output fifo "--files: cannot read '.*fifo.bin': not a regular file or a directory" "the FIFO"
icapkit globbad load --server "$url" --requests 5 --files "$WORK/bodies/*.txt" --files "$WORK/*.bin"
expect_rc globbad 2 "a glob matching a dangling symlink and a FIFO"
expect_output globbad "--files: cannot read '.*\.bin': " "the unreadable match"
icapkit nomatch load --server "$url" --requests 5 --files "$WORK/*.nothing"
expect_rc nomatch 2 "a glob that matches nothing"
expect_output nomatch "--files: '.*\*\.nothing' matches no file" "the pattern"
icapkit emptydir load --server "$url" --requests 5 --files "$WORK/empty"
expect_rc emptydir 2 "a directory without files"
expect_output emptydir "--files: directory '.*empty' holds no regular file" "the directory"
if [ "$(id -u)" != 0 ]; then
  printf 'secret\n' >"$WORK/locked.txt"
  chmod 000 "$WORK/locked.txt"
  icapkit locked load --server "$url" --requests 5 --files "$WORK/locked.txt"
  expect_rc locked 2 "an unreadable file"
  expect_output locked "--files: cannot read '.*locked.txt': Permission denied" "the reason"
else
  note "running as root: permission bits do not stop reads, the Permission denied case is skipped"
fi
icapkit dir load --server "$url" --connections 2 --requests 6 --files "$WORK/bodies" \
  --ndjson "$WORK/dir.ndjson" --json "$WORK/dir.json"
expect_rc dir 0 "a directory of files"
[ "$(json "$WORK/dir.json" "j['settings']['files'], j['counts']['requests'], j['counts']['bytes_sent']")" = "2 6 120" ] ||
  fail "dir.json: want the 2 files under bodies/ (recursively) sent 3 times each (120 bytes)"
finish
