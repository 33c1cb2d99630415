#!/usr/bin/env bash
# `icapkit replay` with its in-process proxy against the reference ICAP server: c-icap 0.5.10
# avscan (virus_scan over clamd, custom signature DB) from tests/integration/lab. The EICAR
# uploads of the raw, HAR and pcapng captures are blocked with clamd's threat name, the clean
# ones pass with their recorded responses; the expectations recorded here hold on a second run,
# and c-icap's access log counts one REQMOD per request the rule sent to ICAP.
# Usage: replay_cicap.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init replay_cicap "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

threat=Test.EICAR.Custom-NDB.UNOFFICIAL
caps=$src/testdata/captures
captures=("$caps"/raw/eicar_upload.http "$caps"/raw/single_post.http "$caps"/har/base64_upload.har
  "$caps"/har/json_api_post.har "$caps"/har/browser_form_upload.har "$caps"/pcap/uploads.pcapng)
start_lab
icap_servers=127.0.0.1:$ICAP_PORT
writes='[{"name": "scan-writes", "index": 10, "enable": true,
  "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST", "HTTP_METHOD_PUT"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]'
vs_config "$WORK/vs.json" \
  '{"vendor": "ICAP_VENDOR_GENERIC", "service_uri": "/avscan", "fail_action": "ICAP_FAIL_CLOSED"}' "$writes"
note "c-icap :$ICAP_PORT"
CICAP_ACCESS_LOG=$LAB/log/access.log
reqmods() { grep -c REQMOD "$CICAP_ACCESS_LOG" 2>/dev/null || true; }
access_before=$(reqmods)

icapkit first --limit 90 replay "${captures[@]}" --config "$WORK/vs.json" --log "$WORK/first.ndjson" \
  --record-expectations "$WORK/expect.json"
expect_rc first 0 "a replay against c-icap"
validate "$WORK/first.ndjson"
log=$WORK/first.ndjson
for origin in "eicar_upload.http message 1" "base64_upload.har entry 1"; do
  records "$log" --origin "$origin" icap_log.action=ICAP_BLOCKED response_code=403 \
    "icap_log.request_logs.0.opswat_log.threat_id=$threat" icap_log.request_logs.0.icap_response_code=200
done
records "$log" --origin "single_post.http message 1" icap_log.action=ICAP_PASSED response_code=200
records "$log" --origin "json_api_post.har entry 1" icap_log.action=ICAP_PASSED response_code=201
records "$log" --origin "browser_form_upload.har entry 1" icap_log.action=ICAP_PASSED
"$PY" - "$log" "$threat" <<'PY' || fail "uploads.pcapng: want the EICAR upload blocked and every other upload passed"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pcap = [r for r in recs if r["replay"]["origin"].startswith("uploads.pcapng")]
for r in pcap:
    want = "ICAP_BLOCKED" if r["uri_path"] == "/upload/eicar.com" else (
        "ICAP_PASSED" if r["method"] in ("POST", "PUT") else "ICAP_DISABLED")
    if r["icap_log"]["action"] != want:
        print(r["uri_path"], r["icap_log"]["action"], "want", want); sys.exit(1)
sys.exit(0 if len(pcap) >= 6 else 1)
PY

icapkit second --limit 90 replay "${captures[@]}" --config "$WORK/vs.json" --expect "$WORK/expect.json" \
  --junit "$WORK/second.xml"
expect_rc second 0 "the recorded expectations hold against c-icap"
grep -q 'failures="0"' "$WORK/second.xml" || fail "second.xml reports failures"

# c-icap counted one REQMOD per request the rule sent to it, over both runs.
sent=$("$PY" -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['icap_log']['action'] in ('ICAP_PASSED','ICAP_BLOCKED')))" "$log")
enough() { [ "$(reqmods)" -ge $((access_before + 2 * sent)) ]; }
wait_for 5 enough
have=$(($(reqmods) - access_before))
[ "$have" -eq $((2 * sent)) ] || fail "c-icap's access log has $have REQMODs, want $((2 * sent)) (2 runs x $sent)"
finish
