#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy` enforcing an ICAP profile against `icapkit serve` (opswat), with curl as the client
# and upstream_recorder.py as the origin, all on loopback ports chosen at run time:
#   clean uploads (Content-Length and chunked, under and past the preview) reach the upstream
#   byte-identical; EICAR (also past the preview) gets the server's 403 page and the upstream
#   receives nothing; a sanitized page reaches the upstream rewritten, with its Content-Length;
#   a slow answer under response_timeout is served and significant; a timeout and an unreachable
#   server with fail_action open (forwarded) and closed (503); an upload over buffer_size with
#   buffer_size_exceed_action open (forwarded unscanned) and closed (413); preview 0, preview
#   off, preview on and allow_204 on/off as sent to the server; RESPMOD with icap_response_profile
#   (EICAR download -> 403); the /stats counters; the legacy log layout. Every record is
#   schema-validated.
# Usage: proxy_enforce.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_enforce "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"
samples=$src/testdata/samples
loopback_ip=2130706433 # 127.0.0.1 as Avi writes icap_server_ip

# --- files
f=$WORK/files
mkdir -p "$f" "$WORK/www"
head -c 4096 /dev/urandom >"$f/clean4k.bin"
head -c 500 /dev/urandom >"$f/clean500.bin"
head -c 204800 /dev/urandom >"$f/clean200k.bin"
cp "$samples/eicar.com" "$f/eicar.com"
{ head -c 8000 /dev/zero | tr '\0' 'a'; cat "$samples/eicar.com"; } >"$f/eicar-late.txt"
cp "$samples/page-with-script.html" "$f/page.html"
cp "$f/clean200k.bin" "$WORK/www/clean200k.bin"
cp "$samples/eicar.com" "$WORK/www/eicar.com"

# --- peers
start_upstream up --dir "$WORK/www" --save-bodies "$WORK/bodies"
upstream_url=http://127.0.0.1:$up_port
cat >"$WORK/scenario.json" <<'EOF'
{
  "name": "proxy-enforce",
  "description": "Slow answers selected by URL: /slow-warn 800 ms, /slow-timeout 4 s.",
  "rules": [
    {"name": "slow-warn", "match": {"url": "/slow-warn"}, "verdict": "clean", "delay": {"ms": 800}},
    {"name": "slow-timeout", "match": {"url": "/slow-timeout"}, "verdict": "clean", "delay": {"ms": 4000}}
  ]
}
EOF
start_serve icap --vendor opswat --scenario "$WORK/scenario.json"
icap_servers=127.0.0.1:$icap_port
note "upstream :$up_port, icapkit serve :$icap_port"

post() { # post NAME FILE [PATH] [curl args]: uploads FILE as application/octet-stream
  local name=$1 file=$2 path=${3:-/upload/$(basename "$2")}
  shift 3 2>/dev/null || shift $#
  req "$name" --data-binary "@$file" -H 'Content-Type: application/octet-stream' "$@" "$path"
}
serve_reqmods_since() { # serve_reqmods_since TIME: REQMODs serve began at or after TIME (UTC)
  "$PY" - "$WORK/icap.serve.ndjson" "$1" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines() if sys.argv[1] else []
print(sum(1 for l in lines if l.strip() and json.loads(l)["method"] == "REQMOD"
          and json.loads(l)["time"] >= sys.argv[2]))
PY
}
serve_last_reqmod() { # serve_last_reqmod FIELD: that field of serve's newest REQMOD line
  grep '"method":"REQMOD"' "$WORK/icap.serve.ndjson" | tail -n 1 |
    "$PY" -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())[sys.argv[1]]))' "$1"
}
passes_through() { # passes_through NAME FILE WHAT: 200, and the upstream got FILE's bytes
  expect_code "$1" 200 "$3" || return 1
  expect_upstream "$1: $3" "sha256=$(sha256 "$2")" "length=$(stat -c %s "$2")"
  [ "$(resp_header "$1" X-Body-SHA256)" = "$(sha256 "$2")" ] ||
    fail "$1: the client did not get the upstream's answer (X-Body-SHA256 missing or wrong)"
}

# === fail_action open, response_timeout 2 s, slow threshold 400 ms ================================
vs_config "$WORK/open.json" \
  '{"fail_action": "ICAP_FAIL_OPEN", "response_timeout": 2000, "slow_response_warning_threshold": 400}'
start_proxy open "$WORK/open.json"

post clean4k "$f/clean4k.bin"
if passes_through clean4k "$f/clean4k.bin" "a clean upload passes"; then
  expect_upstream "clean4k" headers.via? "headers.x-forwarded-for~127.0.0.1" path=/upload/clean4k.bin \
    method=POST "headers.content-length=4096"
fi
rec source=proxy method=POST uri_path=/upload/clean4k.bin response_code=200 significant=false \
  http_security_policy_rule_name=scan-uploads icap_log.action=ICAP_PASSED \
  icap_log.request_logs.0.action=ICAP_PASSED icap_log.request_logs.0.icap_method=ICAP_METHOD_REQMOD \
  icap_log.request_logs.0.http_method=HTTP_METHOD_POST icap_log.request_logs.0.icap_response_code=204 \
  icap_log.request_logs.0.icap_server_port="$icap_port" icap_log.request_logs.0.icap_server_ip=$loopback_ip \
  icap_log.request_logs.0.complete_body_sent=true icap_log.request_logs.0.pool_name? \
  icap_log.request_logs.0.vendor=ICAP_VENDOR_OPSWAT "icap_log.request_logs.0.icap_headers_sent_to_server~Allow: 204" \
  "icap_log.request_logs.0.icap_absolute_uri~/OMSScanReq-AV"

post clean200k "$f/clean200k.bin"
passes_through clean200k "$f/clean200k.bin" "a 200 KB upload (past the preview) passes"
# preview_size 5000, but serve (opswat) advertises Preview: 4096 in OPTIONS: the smaller one counts.
rec icap_log.action=ICAP_PASSED "icap_log.request_logs.0.icap_headers_sent_to_server~Preview: 4096"

post chunked "$f/clean200k.bin" /upload/chunked.bin -H 'Transfer-Encoding: chunked'
passes_through chunked "$f/clean200k.bin" "a chunked 200 KB upload passes"
rec icap_log.action=ICAP_PASSED

post eicar "$f/eicar.com"
expect_code eicar 403 "the ICAP server's block page reaches the client"
grep -q 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$WORK/eicar.body" && fail "eicar: the 403 body carries the EICAR file"
expect_upstream_none "an EICAR upload"
rec response_code=403 icap_log.action=ICAP_BLOCKED icap_log.request_logs.0.action=ICAP_BLOCKED \
  icap_log.request_logs.0.icap_response_code=200 icap_log.request_logs.0.http_response_code=403 \
  significant=true significant_log~ADF_ICAP_BLOCKED icap_log.request_logs.0.opswat_log.threat_id? \
  http_security_policy_rule_name=scan-uploads

post eicar-late "$f/eicar-late.txt"
expect_code eicar-late 403 "EICAR at byte 8000, past the preview, is found"
expect_upstream_none "EICAR past the preview"
rec icap_log.action=ICAP_BLOCKED

# The built-in sanitizer (opswat): <script>...</script> replaced; the upstream gets the rewrite.
req sanitize --data-binary "@$f/page.html" -H 'Content-Type: text/html' /upload/page.html
if expect_code sanitize 200 "a sanitized page is forwarded"; then
  expect_upstream "sanitize" "headers.content-length?"
  body=$(up_field body_file)
  length=$(up_field length)
  declared=$(up_field headers.content-length)
  if [ -z "$body" ] || ! [ -f "$body" ]; then
    fail "sanitize: the upstream saved no body"
  else
    grep -qi '<script' "$body" && fail "sanitize: the upstream received the page with its <script>"
    grep -q 'script removed by icapkit serve' "$body" ||
      fail "sanitize: the upstream did not receive the sanitizer's rewrite"
    [ "$declared" = "$length" ] && [ "$length" = "$(stat -c %s "$body")" ] ||
      fail "sanitize: Content-Length $declared sent to the upstream, but the body has $length bytes"
    [ "$length" != "$(stat -c %s "$f/page.html")" ] ||
      fail "sanitize: the rewritten body has the original's length ($length); Content-Length not recomputed?"
  fi
  rec icap_log.action=ICAP_MODIFIED significant_log~ADF_ICAP_MODIFIED \
    icap_log.request_logs.0.modified_content_length="$length" icap_log.request_logs.0.icap_response_code=200
fi

post slow-warn "$f/clean4k.bin" /upload/slow-warn
passes_through slow-warn "$f/clean4k.bin" "an answer slower than the warning threshold is still served"
rec significant=true significant_log~ADF_ICAP_SERVER_HIGH_RESPONSE_TIME icap_log.action=ICAP_PASSED
[ "$ELAPSED_MS" -ge 800 ] || fail "slow-warn: answered in $ELAPSED_MS ms although the ICAP server takes 800 ms"

# /stats: what this proxy did so far.
if stats stats-open; then
  for want in "s['icap_passed'] >= 4" "s['icap_blocked'] == 2" "s['icap_modified'] == 1" \
    "s['icap_timedout'] == 0" "s['icap_time_exceeded_warning_threshold'] >= 1" \
    "s['http_requests'] == 7" "s['icap_requests'] == 7" "s['latency_ms']['p99'] >= s['latency_ms']['p50']" \
    "any(x['address'].endswith(':$icap_port') and x['up'] for x in s['servers'])"; do
    [ "$(stats_get stats-open "$want")" = True ] ||
      fail "/stats: want $want; got $(head -c 600 "$WORK/stats-open.json")"
  done
else
  fail "GET /stats on the admin port failed: $(cat "$WORK/stats-open.curlerr")"
fi

post timeout-open "$f/clean4k.bin" /upload/slow-timeout
passes_through timeout-open "$f/clean4k.bin" "fail_action open forwards after response_timeout"
rec significant=true significant_log~ADF_ICAP_TIMEDOUT http_security_policy_rule_name=scan-uploads
rec_expr "int(r['icap_log']['request_logs'][0].get('latency', 0)) >= 1900" \
  "timeout-open: the request log's latency should be the ~2000 ms spent before the timeout"
[ "$ELAPSED_MS" -ge 1900 ] && [ "$ELAPSED_MS" -lt 3800 ] ||
  fail "timeout-open: answered after $ELAPSED_MS ms; response_timeout is 2000 ms, the server takes 4000"

req get-root /
expect_code get-root 200 "a GET no scan rule matches is forwarded"
expect_upstream "get-root" method=GET path=/
rec icap_log.action=ICAP_DISABLED http_security_policy_rule_name=allow-rest icap_log.request_logs!

# A slow answer is not a dead server: the next upload is scanned as usual.
post after-timeout-open "$f/clean4k.bin"
passes_through after-timeout-open "$f/clean4k.bin" "a clean upload right after an ICAP timeout passes"
rec icap_log.action=ICAP_PASSED
if stats stats-timeout; then
  [ "$(stats_get stats-timeout "s['icap_timedout']")" = 1 ] ||
    fail "/stats: icap_timedout is $(stats_get stats-timeout "s['icap_timedout']") after one timeout"
fi
finish_proxy
note "fail open: passes, blocks, rewrite, slow, timeout, stats checked"

# === fail_action closed ===========================================================================
vs_config "$WORK/closed.json" '{"fail_action": "ICAP_FAIL_CLOSED", "response_timeout": 2000}'
start_proxy closed "$WORK/closed.json"
post timeout-closed "$f/clean4k.bin" /upload/slow-timeout
expect_code timeout-closed 503 "fail_action closed answers 503 after response_timeout"
expect_upstream_none "a timed-out upload with fail_action closed"
rec response_code=503 significant=true significant_log~ADF_ICAP_TIMEDOUT icap_log.action=ICAP_FAILED
post closed-clean "$f/clean4k.bin"
passes_through closed-clean "$f/clean4k.bin" "a clean upload right after an ICAP timeout passes (fail_action closed)"
finish_proxy

# === ICAP server down ============================================================================
for action in OPEN CLOSED; do
  icap_servers=127.0.0.1:$(free_port) vs_config "$WORK/down-$action.json" "{\"fail_action\": \"ICAP_FAIL_$action\"}"
  start_proxy "down-$action" "$WORK/down-$action.json"
  post "down-$action" "$f/clean4k.bin"
  if [ $action = OPEN ]; then
    passes_through down-OPEN "$f/clean4k.bin" "fail_action open forwards when the ICAP server is down"
  else
    expect_code down-CLOSED 503 "fail_action closed answers 503 when the ICAP server is down"
    expect_upstream_none "an upload with the ICAP server down and fail_action closed"
  fi
  rec significant=true significant_log~ADF_ICAP_CONNECTION_ERROR
  finish_proxy
done

# === a 200 without Encapsulated (issue 13): a protocol error, so the fail action applies =========
# fake_servers.py answers every REQMOD with "200 OK", no Encapsulated, then an HTTP message.
noenc_port_file=$WORK/fake-no-encapsulated.port
"$PY" "$itest_dir/fake_servers.py" no-encapsulated "$noenc_port_file" \
  2>"$WORK/fake-no-encapsulated.log" </dev/null &
background_pids+=($!)
wait_for 5 test -s "$noenc_port_file" || die "fake_servers.py no-encapsulated did not start"
for action in OPEN CLOSED; do
  icap_servers=127.0.0.1:$(cat "$noenc_port_file") vs_config "$WORK/noenc-$action.json" \
    "{\"fail_action\": \"ICAP_FAIL_$action\"}"
  start_proxy "noenc-$action" "$WORK/noenc-$action.json"
  post "noenc-$action" "$f/clean4k.bin"
  if [ $action = OPEN ]; then
    passes_through noenc-OPEN "$f/clean4k.bin" "fail_action open forwards the original after an unframable ICAP answer"
  else
    expect_code noenc-CLOSED 503 "fail_action closed answers 503 to an unframable ICAP answer"
    expect_upstream_none "an upload answered by an ICAP 200 without Encapsulated, fail_action closed"
  fi
  rec significant=true icap_log.action=ICAP_FAILED significant_log~ADF_ICAP_SERVER_ERROR \
    icap_log.request_logs.0.icap_response_code=200 "significance~without an Encapsulated header"
  finish_proxy
done

# === buffer_size 1 KB ============================================================================
for action in CLOSED OPEN; do
  vs_config "$WORK/buffer-$action.json" "{\"buffer_size\": 1, \"buffer_size_exceed_action\": \"ICAP_FAIL_$action\"}"
  start_proxy "buffer-$action" "$WORK/buffer-$action.json"
  # serve writes a transaction's line when it ends, which for the previous proxy's last one can be
  # after this proxy started: count only REQMODs that began after this upload was sent.
  sent_at=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  post "buffer-$action" "$f/clean4k.bin"
  if [ $action = OPEN ]; then
    passes_through buffer-OPEN "$f/clean4k.bin" "an upload over buffer_size is forwarded with ICAP_FAIL_OPEN"
    [ "$(serve_reqmods_since "$sent_at")" = 0 ] ||
      fail "buffer-OPEN: the upload over buffer_size went to the ICAP server (it should pass unscanned)"
  else
    expect_code buffer-CLOSED 413 "an upload over buffer_size gets 413 with ICAP_FAIL_CLOSED"
    expect_upstream_none "an upload over buffer_size with ICAP_FAIL_CLOSED"
  fi
  rec significant=true significant_log~ADF_ICAP_BODY_SIZE_BIGGER_THAN_CONFIGURED
  # Under the limit, still scanned: a clean 500-byte upload passes, EICAR is blocked.
  post "buffer-$action-small" "$f/clean500.bin"
  passes_through "buffer-$action-small" "$f/clean500.bin" "an upload under buffer_size is scanned and passes"
  rec icap_log.action=ICAP_PASSED
  post "buffer-$action-eicar" "$f/eicar.com"
  expect_code "buffer-$action-eicar" 403 "EICAR under buffer_size is still blocked"
  finish_proxy
done

# === preview and allow_204, as sent to the server ================================================
# name | profile | wanted in icap_headers_sent_to_server | unwanted | serve log: preview | allow_204
variants=(
  'preview0|{"preview_size": 0}|Preview: 0||0|true'
  'preview1024|{"preview_size": 1024}|Preview: 1024|Preview: 4096|1024|true'
  'preview-off|{"enable_preview": false}||Preview:|null|true'
  'no204|{"allow_204": false, "preview_size": 1024}|Preview: 1024|Allow: 204|1024|false'
)
for v in "${variants[@]}"; do
  IFS='|' read -r name profile want unwanted want_preview want_204 <<<"$v"
  vs_config "$WORK/$name.json" "$profile"
  start_proxy "$name" "$WORK/$name.json"
  post "$name" "$f/clean4k.bin"
  passes_through "$name" "$f/clean4k.bin" "a clean upload passes with $profile"
  checks=(icap_log.action=ICAP_PASSED)
  [ -z "$want" ] || checks+=("icap_log.request_logs.0.icap_headers_sent_to_server~$want")
  [ -z "$unwanted" ] || checks+=("icap_log.request_logs.0.icap_headers_sent_to_server!~$unwanted")
  if [ "$want_204" = true ]; then
    checks+=("icap_log.request_logs.0.icap_headers_sent_to_server~Allow: 204")
  fi
  rec "${checks[@]}"
  [ "$(serve_last_reqmod preview)" = "$want_preview" ] ||
    fail "$name: icapkit serve saw preview $(serve_last_reqmod preview), want $want_preview ($profile)"
  [ "$(serve_last_reqmod allow_204)" = "$want_204" ] ||
    fail "$name: icapkit serve saw allow_204 $(serve_last_reqmod allow_204), want $want_204 ($profile)"
  finish_proxy
done

# === RESPMOD: icap_response_profile scans what the upstream answers ================================
vs_config "$WORK/respmod.json" '{}' '[{"name": "scan-all", "index": 1, "enable": true, "match": {},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]' \
  '{"icap_response_profile": {"name": "resp-profile", "pool_group_ref": "/api/poolgroup?name=icap-group",
    "service_uri": "/OMSScanResp-AV", "vendor": "ICAP_VENDOR_OPSWAT"}}'
start_proxy respmod "$WORK/respmod.json"
req dl-clean /download/clean200k.bin
expect_code dl-clean 200 "a clean 200 KB download passes RESPMOD" &&
  { [ "$(sha256 "$WORK/dl-clean.body")" = "$(sha256 "$WORK/www/clean200k.bin")" ] ||
    fail "dl-clean: the downloaded body differs from the upstream's file"; }
rec_expr "any(l.get('icap_method') == 'ICAP_METHOD_RESPMOD' for l in r['icap_log']['request_logs'])" \
  "dl-clean: the record has no RESPMOD request log"
req dl-eicar /download/eicar.com
expect_code dl-eicar 403 "an EICAR download is blocked by RESPMOD"
grep -q 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$WORK/dl-eicar.body" && fail "dl-eicar: the 403 body carries the EICAR file"
rec icap_log.action=ICAP_BLOCKED response_code=403 significant_log~ADF_ICAP_BLOCKED
rec_expr "any(l.get('icap_method') == 'ICAP_METHOD_RESPMOD' and l.get('action') == 'ICAP_BLOCKED' for l in r['icap_log']['request_logs'])" \
  "dl-eicar: no blocked RESPMOD request log"
finish_proxy

# === --log-layout legacy (20.1.x): reason and threat_id on the request log =========================
vs_config "$WORK/legacy.json" '{}'
start_proxy legacy "$WORK/legacy.json" --log-layout legacy
post legacy-eicar "$f/eicar.com"
expect_code legacy-eicar 403 "EICAR is blocked (legacy log layout)"
rec icap_log.action=ICAP_BLOCKED icap_log.request_logs.0.threat_id? icap_log.request_logs.0.opswat_log!
finish_proxy

finish
