#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy`'s fail action when the ICAP server answers an error status (4xx or 5xx) rather
# than a verdict: fail_action open forwards the upload to the upstream unchanged, closed answers
# 503 and the upstream receives nothing; either way the record is ICAP_FAILED with the server
# error significance, and the next clean upload passes. curl -> proxy -> upstream_recorder.py,
# ICAP by icapkit serve with a scenario choosing the status by URL.
# Usage: proxy_fail_status.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_fail_status "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

f=$WORK/files
mkdir -p "$f"
head -c 4096 /dev/urandom >"$f/clean4k.bin"

start_upstream up
upstream_url=http://127.0.0.1:$up_port
cat >"$WORK/scenario.json" <<'EOF'
{"name": "proxy-fail-status", "rules": [
  {"name": "status-400", "match": {"url": "/upload/status400"}, "fault": {"type": "status", "status": 400}},
  {"name": "status-500", "match": {"url": "/upload/status500"}, "fault": {"type": "status", "status": 500}},
  {"name": "status-503", "match": {"url": "/upload/status503"}, "fault": {"type": "status", "status": 503}}]}
EOF
start_serve icap --vendor opswat --scenario "$WORK/scenario.json"
icap_servers=127.0.0.1:$icap_port
note "upstream :$up_port, icapkit serve :$icap_port"

post() { # post NAME FILE PATH
  req "$1" --data-binary "@$2" -H 'Content-Type: application/octet-stream' "$3"
}

for action in OPEN CLOSED; do
  vs_config "$WORK/$action.json" "{\"fail_action\": \"ICAP_FAIL_$action\", \"response_timeout\": 5000}"
  start_proxy "$action" "$WORK/$action.json"
  for status in 400 500 503; do
    name=$action-$status
    post "$name" "$f/clean4k.bin" "/upload/status$status"
    if [ $action = OPEN ]; then
      expect_code "$name" 200 "fail_action open forwards the upload after ICAP $status"
      expect_upstream "$name: fail_action open after ICAP $status" "sha256=$(sha256 "$f/clean4k.bin")" \
        "length=4096"
    else
      expect_code "$name" 503 "fail_action closed answers 503 after ICAP $status"
      expect_upstream_none "$name: an upload the ICAP server answered $status with fail_action closed"
    fi
    rec icap_log.action=ICAP_FAILED significant=true "icap_log.request_logs.0.icap_response_code=$status" \
      significant_log~ADF_ICAP_SERVER_ERROR
  done
  post "$action-clean" "$f/clean4k.bin" /upload/clean4k.bin
  expect_code "$action-clean" 200 "a clean upload after the errors passes"
  expect_upstream "$action-clean: a clean upload" "sha256=$(sha256 "$f/clean4k.bin")"
  rec icap_log.action=ICAP_PASSED
  finish_proxy
done

finish
