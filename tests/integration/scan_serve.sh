#!/usr/bin/env bash
# `icapkit scan` against `icapkit serve`, for each vendor (opswat, lastline, generic): blocked,
# clean and sanitized files give the exit status, action and vendor details (opswat_log,
# nsx_defender_log) a user relies on; then every scenario fault the mock server can inject
# produces the failure the client reports; and `icapkit scan` with no server uses the built-in
# test engine and says so. Every run is bounded by `timeout`; every record is schema-validated.
# Usage: scan_serve.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init scan_serve "$1" "$2"
samples=$src/testdata/samples

server_pid=
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null
  timeout 10 tail --pid="$server_pid" -f /dev/null 2>/dev/null
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=
}

start_server() { # start_server NAME SERVE-ARGS... -> sets port
  local name=$1
  shift
  stop_server
  local ports=$WORK/$name.ports
  timeout -k 5 600 "$bin" serve --listen 127.0.0.1:0 --port-file "$ports" --threads 2 -q \
    --log "$WORK/$name.serve.ndjson" "$@" </dev/null >"$WORK/$name.serve.out" 2>&1 &
  server_pid=$!
  background_pids+=($!)
  for _ in $(seq 1 200); do
    [ -s "$ports" ] && break
    sleep 0.05
  done
  [ -s "$ports" ] || die "$name: icapkit serve $* did not write its port file (see $WORK/$name.serve.out)"
  port=$(sed -n 1p "$ports" | sed 's/.*://')
}

# Records of run NAME come from its stdout (--output ndjson).
ndjson() { echo "$WORK/$1.out"; }

# --- each vendor: blocked, clean, sanitized -------------------------------------------------------
# vendor | REQMOD service | RESPMOD service
vendors=(
  "opswat|OMSScanReq-AV|OMSScanResp-AV"
  "lastline|lastline|lastline"
  "generic|avscan|srv_clamav"
)
for entry in "${vendors[@]}"; do
  IFS='|' read -r vendor req_service resp_service <<<"$entry"
  upper=$(echo "$vendor" | tr '[:lower:]' '[:upper:]')
  start_server "$vendor" --vendor "$vendor"
  for mode in reqmod respmod; do
    service=$req_service
    [ $mode = respmod ] && service=$resp_service
    url=icap://127.0.0.1:$port/$service
    tag=$vendor-$mode

    icapkit "$tag-eicar" scan --server "$url" --vendor "$vendor" --mode $mode --output ndjson \
      "$samples/eicar.com"
    expect_rc "$tag-eicar" 1 "EICAR is blocked by $vendor"
    log=$(ndjson "$tag-eicar")
    validate "$log"
    records "$log" --count 1 --file eicar.com icap_log.action=ICAP_BLOCKED \
      icap_log.request_logs.0.vendor="ICAP_VENDOR_$upper" significant_log~ADF_ICAP_BLOCKED
    case $vendor in
    opswat)
      records "$log" --file eicar.com icap_log.request_logs.0.opswat_log.reason? \
        icap_log.request_logs.0.opswat_log.threat_id? icap_log.request_logs.0.opswat_log.violations?
      ;;
    generic) # c-icap virus_scan style: a threat and violations, but no X-Blocked-Reason to log
      records "$log" --file eicar.com icap_log.request_logs.0.opswat_log.threat_id=Eicar-Test-Signature \
        icap_log.request_logs.0.opswat_log.violations.0.threat_name=Eicar-Test-Signature
      ;;
    lastline)
      records "$log" --file eicar.com icap_log.request_logs.0.nsx_defender_log.score? \
        icap_log.request_logs.0.nsx_defender_log.task_uuid? icap_log.request_logs.0.opswat_log!
      task=$("$PY" "$itest_dir/records.py" "$log" --get icap_log.request_logs.0.nsx_defender_log.task_uuid 2>&1)
      if [ -z "$task" ]; then
        fail "$tag-eicar: no task_uuid in the nsx_defender_log"
      else
        records "$log" --file eicar.com \
          "icap_log.request_logs.0.nsx_defender_log.status_url=https://user.lastline.com/portal#/analyst/task/$task/overview"
      fi
      ;;
    esac

    icapkit "$tag-clean" scan --server "$url" --vendor "$vendor" --mode $mode --output ndjson \
      "$samples/clean.txt" "$samples/clean.pdf"
    expect_rc "$tag-clean" 0 "clean files pass $vendor"
    log=$(ndjson "$tag-clean")
    validate "$log"
    records "$log" --count 2 --files clean.txt,clean.pdf --each icap_log.action=ICAP_PASSED \
      icap_log.request_logs.0.vendor="ICAP_VENDOR_$upper"
  done
  # The built-in sanitizer is OPSWAT's (content disarm): its <script> blocks are removed.
  if [ "$vendor" = opswat ]; then
    for mode in reqmod respmod; do
      service=$req_service
      [ $mode = respmod ] && service=$resp_service
      tag=$vendor-$mode-sanitized
      icapkit "$tag" scan --server "icap://127.0.0.1:$port/$service" --vendor opswat --mode $mode \
        --output ndjson --save-modified "$WORK/$tag.saved" "$samples/page-with-script.html"
      expect_rc "$tag" 1 "the sanitized page counts as modified"
      log=$(ndjson "$tag")
      validate "$log"
      records "$log" --count 1 icap_log.action=ICAP_MODIFIED \
        icap_log.request_logs.0.modified_content_length? icap_log.request_logs.0.vendor=ICAP_VENDOR_OPSWAT
      if ! grep -q "script removed by icapkit serve" "$WORK/$tag.saved/page-with-script.html" 2>/dev/null ||
        grep -qi "<script" "$WORK/$tag.saved/page-with-script.html"; then
        fail "$tag: the saved content is not the sanitized page"
      fi
    done
  fi
  note "$vendor: blocked, clean$([ "$vendor" = opswat ] && echo ", sanitized") as expected"
done

# --- scenario faults: what icapkit scan reports for each -------------------------------------------
cat >"$WORK/faults.json" <<'JSON'
{
  "name": "scan-serve-faults",
  "description": "One fault per file name (scan_serve.sh).",
  "rules": [
    {"name": "stall", "match": {"file_name": "stall.txt"}, "fault": {"type": "stall", "ms": 20000}},
    {"name": "hang-after-100", "match": {"file_name": "continue.txt"}, "fault": {"type": "continue_then_hang", "ms": 20000}},
    {"name": "reset", "match": {"file_name": "reset.txt"}, "verdict": {"type": "block", "threat": "Reset Test"}, "fault": {"type": "reset", "after_bytes": 40}},
    {"name": "close", "match": {"file_name": "close.txt"}, "fault": {"type": "close"}},
    {"name": "malformed", "match": {"file_name": "malformed.txt"}, "fault": {"type": "malformed", "raw": "ICAP/1.0 2OO OK\r\n\r\n"}},
    {"name": "error-500", "match": {"file_name": "status500.txt"}, "fault": {"type": "status", "status": 500}},
    {"name": "error-503", "match": {"file_name": "status503.txt"}, "fault": {"type": "status", "status": 503}},
    {"name": "one-shot", "match": {"file_name": "connclose.txt"}, "fault": {"type": "connection_close"}}
  ]
}
JSON
# 20 KB: larger than any preview, so that "100 Continue then nothing" happens mid-body.
for i in $(seq 1 400); do echo "line $i of a clean text file for the scenario fault tests....."; done >"$WORK/body.txt"
for name in stall continue reset close malformed status500 status503 connclose; do
  cp "$WORK/body.txt" "$WORK/$name.txt"
done
start_server faults --vendor opswat --scenario "$WORK/faults.json"
url=icap://127.0.0.1:$port/OMSScanReq-AV
timeout_ms=1500
deadline_ms=4000

# file | what the message must mention | significance the record must carry (empty: none)
cases=(
  "stall|time(d)? ?out|ADF_ICAP_TIMEDOUT"
  "continue|time(d)? ?out|ADF_ICAP_TIMEDOUT"
  "reset|reset|closed|"
  "close|closed|reset|end of|eof|"
  "malformed|protocol error|"
  "status500|500|ADF_ICAP_SERVER_ERROR"
  "status503|503|ADF_ICAP_SERVER_ERROR"
)
for case in "${cases[@]}"; do
  file=${case%%|*}
  rest=${case#*|}
  significance=${rest##*|}
  cause=${rest%|*}
  name=fault-$file
  icapkit "$name" scan --server "$url" --vendor opswat --timeout $timeout_ms --output ndjson \
    "$WORK/$file.txt"
  expect_rc "$name" 2 "the '$file' fault is an error"
  if [ "$ELAPSED_MS" -gt $deadline_ms ]; then
    fail "$name: icapkit took ${ELAPSED_MS} ms (--timeout $timeout_ms, want under $deadline_ms)"
  fi
  expect_output "$name" "$cause" "why the scan failed ($file fault)"
  expect_output "$name" "$file\.txt" "which file failed"
  log=$(ndjson "$name")
  validate "$log"
  records "$log" --count 1 --file "$file.txt" icap_log.action=ICAP_FAILED significant=true \
    ${significance:+significant_log~$significance}
  note "$file: exit $RC after ${ELAPSED_MS} ms"
done

# Connection: close still carries a verdict; the next file goes over a new connection. One job,
# so both files share the client's connection pool in order.
icapkit fault-connclose scan --server "$url" --vendor opswat --jobs 1 --timeout 5000 \
  --output ndjson "$WORK/connclose.txt" "$samples/eicar.com" "$samples/clean.txt"
expect_rc fault-connclose 1 "a verdict despite Connection: close, then EICAR blocked on a new connection"
log=$(ndjson fault-connclose)
validate "$log"
records "$log" --count 3 --file connclose.txt icap_log.action=ICAP_PASSED
records "$log" --file eicar.com icap_log.action=ICAP_BLOCKED
records "$log" --file clean.txt icap_log.action=ICAP_PASSED
p1=$("$PY" "$itest_dir/records.py" "$log" --file connclose.txt --get icap_log.request_logs.0.source_port 2>&1)
p2=$("$PY" "$itest_dir/records.py" "$log" --file eicar.com --get icap_log.request_logs.0.source_port 2>&1)
if [ -n "$p1" ] && [ "$p1" = "$p2" ]; then
  fail "fault-connclose: the file after a Connection: close answer reused its connection (source port $p1)"
fi
stop_server

# --- no server: the built-in test engine -----------------------------------------------------------
icapkit builtin-eicar scan --output ndjson "$samples/eicar.com"
expect_rc builtin-eicar 1 "EICAR blocked by the built-in test engine"
expect_output builtin-eicar "built-in test engine" "that the built-in test engine answers"
if [ "$(grep -ci "built-in test engine" "$WORK/builtin-eicar.err")" != 1 ]; then
  fail "builtin-eicar: want exactly one stderr line about the built-in test engine"
  show builtin-eicar
fi
log=$(ndjson builtin-eicar)
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_BLOCKED icap_log.request_logs.0.vendor=ICAP_VENDOR_OPSWAT \
  icap_log.request_logs.0.icap_absolute_uri~/OMSScanReq-AV
icapkit builtin-samples scan --mode respmod "$samples/clean.txt" "$samples/eicar-in-text.txt" \
  "$samples/page-with-script.html"
expect_rc builtin-samples 1 "blocked and modified samples"
expect_output builtin-samples "OMSScanResp-AV" "the RESPMOD service of the built-in engine"
expect_output builtin-samples "1 passed, 1 modified, 1 blocked, 0 failed" "the summary"
icapkit builtin-lastline scan --vendor lastline --output ndjson "$samples/eicar.com"
expect_rc builtin-lastline 1 "EICAR blocked by the built-in engine as lastline"
records "$(ndjson builtin-lastline)" --count 1 icap_log.request_logs.0.vendor=ICAP_VENDOR_LASTLINE \
  icap_log.request_logs.0.nsx_defender_log.task_uuid?
icapkit builtin-scenario scan --scenario "$WORK/faults.json" --timeout $timeout_ms "$WORK/status503.txt"
expect_rc builtin-scenario 2 "--scenario reaches the built-in engine"
expect_output builtin-scenario "503" "the scenario's 503"
icapkit scenario-with-server scan --server "$url" --scenario "$WORK/faults.json" "$samples/clean.txt"
expect_rc scenario-with-server 2 "--scenario with --server is a usage error"
expect_output scenario-with-server "--scenario.*built-in" "that --scenario is for the built-in engine"

finish
