#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# `icapkit replay` with its in-process proxy against `icapkit serve` (OPSWAT personality, the
# sanitize-html scenario): the project's HAR, raw HTTP and pcap captures. EICAR uploads are
# blocked with the threat name, an HTML upload is rewritten, clean uploads pass with their
# recorded responses, GETs go nowhere near ICAP, uploads the capture lacks are flagged and never
# sent; records validate; --record-expectations then --expect passes, an edited expectation
# fails with exit 1 and a JUnit failure naming the request; --filter, --limit, --output ndjson,
# --upstream stub, --speed; bad captures, flags and expectation files exit 2 with a clear line.
# Usage: replay_serve.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init replay_serve "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

caps=$src/testdata/captures
start_serve icap --vendor opswat --scenario "$src/testdata/scenarios/sanitize-html.json"
icap_servers=127.0.0.1:$icap_port
writes='[{"name": "scan-writes", "index": 10, "enable": true,
  "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST", "HTTP_METHOD_PUT"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]'
vs_config "$WORK/vs.json" '{}' "$writes"
note "icapkit serve :$icap_port"
all=("$caps"/raw/*.http "$caps"/har/*.har "$caps"/pcap/uploads.pcap)
# Requests in testdata/captures/raw/*.http (10) and HAR entries (12); the pcap's are counted
# from the records.
total=22

# --- everything, in-process, recorded upstream
icapkit all --limit 60 replay "${all[@]}" --config "$WORK/vs.json" --log "$WORK/all.ndjson" \
  --junit "$WORK/all.xml" --record-expectations "$WORK/expect.json"
expect_rc all 0 "no expectations given, nothing failed"
validate "$WORK/all.ndjson"
log=$WORK/all.ndjson
pcap_requests=$("$PY" -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['replay']['origin'].startswith('uploads.pcap')))" "$log")
[ "$pcap_requests" -ge 6 ] || fail "all: $pcap_requests requests from uploads.pcap, want the 6+ curl made"
records "$log" --count "$((total + pcap_requests))"
records "$log" --origin "eicar_upload.http message 1" icap_log.action=ICAP_BLOCKED response_code=403 \
  "icap_log.request_logs.0.opswat_log.threat_id~EICAR" replay.body_captured=true source=proxy \
  http_security_policy_rule_name=scan-writes
records "$log" --origin "base64_upload.har entry 1" icap_log.action=ICAP_BLOCKED response_code=403
records "$log" --origin "html_upload.http message 1" icap_log.action=ICAP_MODIFIED response_code=200
records "$log" --origin "json_api_post.har entry 1" icap_log.action=ICAP_PASSED response_code=201
records "$log" --origin "mitmproxy_style.har entry 1" icap_log.action=ICAP_PASSED response_code=302
records "$log" --origin "several.http message 1" icap_log.action=ICAP_DISABLED response_code=200
records "$log" --origin "missing_body.har entry 1" replay.body_captured=false response_code! \
  "replay.note~52311" significant=true source=replay
"$PY" - "$log" <<'PY' || fail "uploads.pcap: the EICAR upload is not the one blocked request (see above)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pcap = [r for r in recs if r["replay"]["origin"].startswith("uploads.pcap")]
blocked = [r["uri_path"] for r in pcap if r["icap_log"]["action"] == "ICAP_BLOCKED"]
if blocked != ["/upload/eicar.com"]:
    print("blocked from uploads.pcap:", blocked); sys.exit(1)
if any(r["icap_log"]["action"] not in ("ICAP_PASSED", "ICAP_BLOCKED", "ICAP_DISABLED") for r in pcap):
    print([r["icap_log"]["action"] for r in pcap]); sys.exit(1)
PY
expect_output all "not replayed, body not in the capture: 2" "the two uploads whose bodies the HAR export left out"
expect_output all "ICAP_BLOCKED 3" "three blocked uploads in the summary"
"$PY" -c "import sys, xml.dom.minidom as m; d=m.parse(sys.argv[1]); sys.exit(0 if len(d.getElementsByTagName('testcase')) == int(sys.argv[2]) else 1)" \
  "$WORK/all.xml" "$((total + pcap_requests))" || fail "all.xml is not JUnit XML with one test case per request"

# --- the recorded expectations pass; an edited one fails, and JUnit names the request
icapkit again --limit 60 replay "${all[@]}" --config "$WORK/vs.json" --expect "$WORK/expect.json" \
  --junit "$WORK/again.xml" -q
expect_rc again 0 "the expectations just recorded hold"
[ ! -s "$WORK/again.err" ] || { fail "again: -q printed something although all matched"; show again; }
"$PY" - "$WORK/expect.json" "$WORK/edited.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
for x in e["expectations"]:
    if x.get("url", "").endswith("/upload/eicar.com") and x["method"] == "POST":
        x["action"], x["status"] = "ICAP_PASSED", 200
        x.pop("threat", None)
json.dump(e, open(sys.argv[2], "w"), indent=2)
PY
icapkit edited --limit 60 replay "${all[@]}" --config "$WORK/vs.json" --expect "$WORK/edited.json" \
  --junit "$WORK/edited.xml"
expect_rc edited 1 "an expectation no longer holds"
expect_output edited "MISMATCH #[0-9]+ POST http://av-test.example.test/upload/eicar.com" "the mismatching request"
expect_output edited "action: expected ICAP_PASSED, got ICAP_BLOCKED" "what was expected and what happened"
grep -q '<testcase name="#[0-9]* POST http://av-test.example.test/upload/eicar.com" classname="eicar_upload.http message 1"[^>]*>' "$WORK/edited.xml" &&
  grep -q '<failure message="action: expected ICAP_PASSED, got ICAP_BLOCKED; status: expected 200, got 403"' "$WORK/edited.xml" ||
  fail "edited.xml: no JUnit failure naming the EICAR upload"

# --- a request without an expectation is reported, not guessed
echo '{"expectations": [{"method": "GET", "url_regex": ".", "action": "ICAP_DISABLED"}]}' >"$WORK/partial.json"
icapkit partial replay "$caps/raw/several.http" --config "$WORK/vs.json" --expect "$WORK/partial.json" \
  --junit "$WORK/partial.xml"
expect_rc partial 0 "missing expectations do not fail the run"
expect_output partial "NO EXPECTATION #1 POST" "the POSTs without an expectation"
grep -q '<skipped message="no expectation"' "$WORK/partial.xml" || fail "partial.xml: no skipped test case"

# --- --filter, --limit, --output ndjson, --upstream stub
icapkit filtered replay "${all[@]}" --config "$WORK/vs.json" --filter 'PUT|POST /upload' --limit 3 \
  --output ndjson --upstream stub
expect_rc filtered 0 "a filtered replay"
"$PY" - "$WORK/filtered.out" <<'PY' || fail "filtered: want 3 records, PUT/POST under /upload, on stdout"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = len(recs) == 3 and all(r["method"] in ("PUT", "POST") and "/upload" in r["uri_path"] for r in recs)
sys.exit(0 if ok else 1)
PY
icapkit stub replay "$caps/har/json_api_post.har" --config "$WORK/vs.json" --upstream stub --log "$WORK/stub.ndjson"
records "$WORK/stub.ndjson" response_code=200 icap_log.action=ICAP_PASSED

# --- --speed 1x keeps the recorded gaps (3 downloads 1 s apart), max does not wait
icapkit paced replay "$caps/har/download_recorded_response.har" --config "$WORK/vs.json" --speed 1x
paced_ms=$ELAPSED_MS
icapkit fast replay "$caps/har/download_recorded_response.har" --config "$WORK/vs.json" --speed max
[ "$paced_ms" -ge 2000 ] || fail "--speed 1x took ${paced_ms} ms for requests recorded 2 s apart"
[ "$ELAPSED_MS" -lt "$paced_ms" ] || fail "--speed max (${ELAPSED_MS} ms) was not faster than 1x (${paced_ms} ms)"

# --- bad input: one clear line, exit 2, no crash
icapkit truncated replay "$caps/har/bad/truncated.har" --config "$WORK/vs.json"
expect_rc truncated 2 "a truncated HAR" && expect_output truncated "truncated.har: .*byte [0-9]+" "the file and the byte offset"
icapkit wrongtype replay "$caps/har/bad/wrong_type.har" --config "$WORK/vs.json"
expect_rc wrongtype 2 "a HAR with a wrong type" && expect_output wrongtype "wrong_type.har: entry 1" "the file and the entry"
icapkit badraw replay "$caps/raw/bad/cl_and_te.http" --config "$WORK/vs.json"
expect_rc badraw 2 "a raw request with both framings" && expect_output badraw "cl_and_te.http: message 1" "the file and the message"
icapkit badpcap replay "$caps/pcap/truncated.pcap" --config "$WORK/vs.json"
expect_rc badpcap 2 "a truncated pcap" && expect_output badpcap "truncated.pcap" "the file"
icapkit both replay "$caps/raw/several.http" --config "$WORK/vs.json" --target http://127.0.0.1:9
expect_rc both 2 "--config and --target together" && expect_output both "either --config" "which flags clash"
icapkit speed replay "$caps/raw/several.http" --config "$WORK/vs.json" --speed fast
expect_rc speed 2 "a bad --speed" && expect_output speed "--speed fast" "the bad value"
icapkit filter replay "$caps/raw/several.http" --config "$WORK/vs.json" --filter 'POST ('
expect_rc filter 2 "a bad --filter" && expect_output filter "--filter POST \(" "the bad filter"
echo '{"expectations": [{"index": 0, "action": "BLOCKED"}]}' >"$WORK/bad-expect.json"
icapkit badexpect replay "$caps/raw/several.http" --config "$WORK/vs.json" --expect "$WORK/bad-expect.json"
expect_rc badexpect 2 "an unknown action" && expect_output badexpect "bad-expect.json: expectations\[0\].action" "the entry and the member"
icapkit refused replay "$caps/raw/several.http" --target "http://127.0.0.1:$(free_port)"
expect_rc refused 2 "nothing listens at --target" && expect_output refused "failed: 3" "three failed requests"

# --- every flag of --help is in the man page
icapkit help replay --help
for flag in $(grep -oE -- '--[a-z][a-z0-9-]+' "$WORK/help.out" | sort -u); do
  [ "$flag" = --help ] && continue
  grep -q -- "Fl ${flag#-}" "$src/man/icapkit-replay.1" || fail "icapkit-replay.1 does not document $flag"
done
finish
