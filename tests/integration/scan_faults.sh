#!/usr/bin/env bash
# `icapkit scan` and `icapkit options` against servers that misbehave (fake_servers.py) and a port
# nobody listens on. What a user must see every time: exit status 2 within --timeout (plus a
# margin), a message naming the file and the cause, and an ICAP_FAILED record that validates.
# Nothing may hang: every run is bounded by `timeout`.
# Usage: scan_faults.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init scan_faults "$1" "$2"

timeout_ms=2000
margin_ms=3000 # process start, OPTIONS, a loaded CI machine; a hang would take 30 s or more

start_fake() { # start_fake MODE -> sets fake_port
  local port_file=$WORK/fake-$1.port
  "$PY" "$itest_dir/fake_servers.py" "$1" "$port_file" 2>"$WORK/fake-$1.log" </dev/null &
  background_pids+=($!)
  for _ in $(seq 1 100); do
    [ -s "$port_file" ] && break
    sleep 0.05
  done
  [ -s "$port_file" ] || die "fake server '$1' did not start (see $WORK/fake-$1.log)"
  fake_port=$(cat "$port_file")
}

# 20 KB so that a 1024-byte preview leaves a remainder (the continue-stall server needs one).
sample=$WORK/upload.txt
for i in $(seq 1 400); do echo "line $i of a clean text file for the fault tests......."; done >"$sample"

# mode | what the message must mention | significance the record must carry (empty: none checked)
cases=(
  "silent|time(d)? ?out|ADF_ICAP_TIMEDOUT"
  "stall|time(d)? ?out|ADF_ICAP_TIMEDOUT"
  "continue-stall|time(d)? ?out|ADF_ICAP_TIMEDOUT"
  "reset|reset|closed|"
  "close|closed|reset|end of|eof|"
  "garbage|protocol|malformed|invalid|bad_|"
  "garbage-options|protocol|malformed|invalid|bad_|"
)
for case in "${cases[@]}"; do
  mode=${case%%|*}
  rest=${case#*|}
  significance=${rest##*|}
  cause=${rest%|*}
  start_fake "$mode"
  name=fault-$mode
  log=$WORK/$name.ndjson
  icapkit "$name" scan --server "icap://127.0.0.1:$fake_port/fake" --timeout $timeout_ms \
    --log "$log" "$sample"
  expect_rc "$name" 2 "fault: $mode server"
  if [ "$ELAPSED_MS" -gt $((timeout_ms + margin_ms)) ]; then
    fail "$name: icapkit took ${ELAPSED_MS} ms against a '$mode' server with --timeout $timeout_ms"
  fi
  expect_output "$name" "$cause" "why the scan failed ($mode server)"
  expect_output "$name" "upload\.txt" "which file failed"
  validate "$log"
  records "$log" --count 1 --file upload.txt icap_log.action=ICAP_FAILED \
    icap_log.request_logs.0.action=ICAP_FAILED significant=true \
    ${significance:+significant_log~$significance}
  note "$mode: exit $RC after ${ELAPSED_MS} ms"
done

# A 200 without an Encapsulated header, followed by an HTTP message (issue 13): a protocol error,
# never a verdict. Exit 2, nothing saved by --save-modified (no empty or partial file), the reason
# in the record, and a fresh connection for the next file (the unread bytes are never read as its
# answer).
start_fake no-encapsulated
saved=$WORK/saved
mkdir -p "$saved"
cp "$sample" "$WORK/second.txt"
icapkit no-encapsulated scan --server "icap://127.0.0.1:$fake_port/fake" --timeout $timeout_ms \
  --jobs 1 --save-modified "$saved" --log "$WORK/no-encapsulated.ndjson" "$sample" "$WORK/second.txt"
expect_rc no-encapsulated 2 "a 200 without Encapsulated is a protocol error, not a verdict"
expect_output no-encapsulated "without an Encapsulated header" "what was wrong with the answer"
expect_output no-encapsulated " 0 modified, .*2 failed" "both files failed, neither modified"
expect_no_output no-encapsulated "saved to" "nothing saved"
leftover=$(ls -A "$saved")
[ -z "$leftover" ] || fail "no-encapsulated: --save-modified left files behind: $leftover"
validate "$WORK/no-encapsulated.ndjson"
records "$WORK/no-encapsulated.ndjson" --files upload.txt,second.txt --each \
  icap_log.action=ICAP_FAILED icap_log.request_logs.0.action=ICAP_FAILED \
  icap_log.request_logs.0.icap_response_code=200 significant_log~ADF_ICAP_SERVER_ERROR \
  "significance~ICAP 200/201/206 without an Encapsulated header" \
  icap_log.request_logs.0.modified_content_length!
# Each file's request on a connection of its own: the first answer's unread bytes went with its
# connection.
used=$(sed -n 's/^fake\[no-encapsulated\]: \(REQMOD\|RESPMOD\) on connection \([0-9]*\)$/\2/p' \
  "$WORK/fake-no-encapsulated.log" | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')
[ "$used" = "1 " ] && [ "$(grep -cE ': (REQMOD|RESPMOD) on' "$WORK/fake-no-encapsulated.log")" = 2 ] ||
  fail "no-encapsulated: want two requests on two connections; the fake server saw: $(grep -E 'MOD on' "$WORK/fake-no-encapsulated.log" | tr '\n' ';')"
note "no-encapsulated: exit $RC, one connection per file, nothing saved"

# Several files in parallel against a server that never answers: each fails on its own deadline.
start_fake stall
mkdir -p "$WORK/many"
for i in 1 2 3 4 5 6; do cp "$sample" "$WORK/many/file$i.txt"; done
icapkit fault-jobs --limit 60 scan --server "icap://127.0.0.1:$fake_port/fake" --timeout $timeout_ms \
  --jobs 4 --log "$WORK/fault-jobs.ndjson" "$WORK"/many/file*.txt
expect_rc fault-jobs 2 "six files against a stalled server"
# Six files on four connections: two rounds of deadlines at most.
if [ "$ELAPSED_MS" -gt $((2 * timeout_ms + margin_ms)) ]; then
  fail "fault-jobs: 6 files with --jobs 4 took ${ELAPSED_MS} ms against a stalled server (--timeout $timeout_ms)"
fi
validate "$WORK/fault-jobs.ndjson"
records "$WORK/fault-jobs.ndjson" --files file1.txt,file2.txt,file3.txt,file4.txt,file5.txt,file6.txt \
  --each icap_log.action=ICAP_FAILED significant_log~ADF_ICAP_TIMEDOUT
note "6 files, --jobs 4, stalled server: exit $RC after ${ELAPSED_MS} ms"

# Failover mid-file (issue 14): the first --server resets in the middle of its answer or closes
# without one; the file is read again and sent to the next --server, which passes it. Exit 0, the
# record holds both attempts (the failed one first), and -v says where it failed over from.
healthy_ports=$WORK/healthy.ports
timeout -k 5 120 "$bin" serve --listen 127.0.0.1:0 --port-file "$healthy_ports" --threads 1 -q \
  --vendor generic </dev/null >"$WORK/healthy.serve.out" 2>&1 &
background_pids+=($!)
for _ in $(seq 1 200); do
  [ -s "$healthy_ports" ] && break
  sleep 0.05
done
[ -s "$healthy_ports" ] || die "icapkit serve did not start (see $WORK/healthy.serve.out)"
healthy_url=icap://127.0.0.1:$(sed -n 1p "$healthy_ports" | sed 's/.*://')/avscan
for mode in reset close; do
  start_fake "$mode"
  name=failover-$mode
  icapkit "$name" scan -v --vendor generic --server "icap://127.0.0.1:$fake_port/fake" \
    --server "$healthy_url" --timeout $timeout_ms --log "$WORK/$name.ndjson" "$sample"
  expect_rc "$name" 0 "a file the second --server passed after the first failed mid-exchange"
  expect_output "$name" "failed over from icap://127\.0\.0\.1:$fake_port/fake" \
    "which server failed and that the file went to the next one"
  validate "$WORK/$name.ndjson"
  records "$WORK/$name.ndjson" --count 1 --file upload.txt icap_log.action=ICAP_PASSED \
    icap_log.request_logs.0.action=ICAP_FAILED "icap_log.request_logs.0.icap_server_port=$fake_port" \
    icap_log.request_logs.1.action=ICAP_PASSED significant=false
  # The healthy server got the whole file, from its first byte.
  grep -q "REQMOD on" "$WORK/fake-$mode.log" || fail "$name: the failing server never saw the file"
  note "$mode then healthy: exit $RC, two attempts in the record"
done

# stdin that is not kept cannot be sent again once read: no failover, and the record says why.
start_fake reset
icapkit failover-stdin --stdin "$sample" scan --vendor generic \
  --server "icap://127.0.0.1:$fake_port/fake" --server "$healthy_url" --timeout $timeout_ms \
  --log "$WORK/failover-stdin.ndjson" -
expect_rc failover-stdin 2 "stdin lost mid-exchange cannot go to the next server"
validate "$WORK/failover-stdin.ndjson"
records "$WORK/failover-stdin.ndjson" --count 1 icap_log.action=ICAP_FAILED \
  "significance~not sent to another server: the request body was streamed and cannot be sent again"

# `options` against a server that never answers.
start_fake silent
icapkit options-silent options --timeout $timeout_ms "icap://127.0.0.1:$fake_port/fake"
expect_rc options-silent 2 "OPTIONS without an answer is an error"
[ "$ELAPSED_MS" -le $((timeout_ms + margin_ms)) ] ||
  fail "options-silent: took ${ELAPSED_MS} ms with --timeout $timeout_ms"
expect_output options-silent "time(d)? ?out" "that OPTIONS timed out"

# Nobody listens: "connection refused", for scan and for options. scan checks its servers before
# the first file: one line naming the server and the cause, nothing scanned, no record (the
# ICAP_FAILED record of a server that goes away mid-run is checked in cli_basics.sh).
port=$(free_port)
icapkit refused scan --server "icap://127.0.0.1:$port/avscan" --log "$WORK/refused.ndjson" "$sample"
expect_rc refused 2 "connection refused is an error"
expect_output refused "no ICAP server can be reached" "that the server cannot be reached"
expect_output refused "127\.0\.0\.1:$port/avscan: connection refused" "which server refused"
[ ! -s "$WORK/refused.ndjson" ] || fail "refused: records written although nothing was scanned"
icapkit options-refused options "icap://127.0.0.1:$port/avscan"
expect_rc options-refused 2 "OPTIONS to a closed port is an error"
expect_output options-refused "refused" "that the connection was refused"

finish
