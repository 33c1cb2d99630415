#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy` in front of upstream_recorder.py with the real reference ICAP server: c-icap
# 0.5.10 avscan (virus_scan over clamd, custom signature DB) from tests/integration/lab. Clean
# uploads (3 KB, 300 KB, chunked) reach the upstream byte-identical; EICAR, also far past the
# preview, gets c-icap's 403 page and the upstream receives nothing; allow_204 off (c-icap echoes
# the request: still byte-identical); ICAPS to c-icap's TLS port; RESPMOD (icap_response_profile):
# an EICAR download -> 403, a clean one passes. Every record is schema-validated.
# Usage: proxy_cicap.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_cicap "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

threat=Test.EICAR.Custom-NDB.UNOFFICIAL
start_lab
f=$WORK/files
mkdir -p "$f" "$WORK/www"
text_kb() { # readable text of about KB kilobytes
  local i
  for i in $(seq 1 $(($1 * 1024 / 64))); do printf 'line %05d: plain text that no scanner objects to ..........\n' "$i"; done
}
text_kb 3 >"$f/clean3k.txt"
text_kb 300 >"$f/clean300k.txt"
cp "$EICAR" "$f/eicar.com"
{ text_kb 16; cat "$EICAR"; text_kb 2; } >"$f/eicar-late.txt"
cp "$f/clean300k.txt" "$WORK/www/clean300k.txt"
cp "$EICAR" "$WORK/www/eicar.com"
start_upstream up --dir "$WORK/www"
upstream_url=http://127.0.0.1:$up_port
icap_servers=127.0.0.1:$ICAP_PORT
generic='"vendor": "ICAP_VENDOR_GENERIC", "service_uri": "/avscan", "fail_action": "ICAP_FAIL_CLOSED"'
note "c-icap :$ICAP_PORT (ICAPS :$ICAPS_PORT), upstream :$up_port"

upload() { # upload NAME FILE [curl args]
  local name=$1 file=$2
  shift 2
  req "$name" --data-binary "@$file" -H 'Content-Type: text/plain' "$@" "/upload/$(basename "$file")"
}
passes() { # passes NAME FILE WHAT
  expect_code "$1" 200 "$3" || return 1
  expect_upstream "$1: $3" "sha256=$(sha256 "$2")" "length=$(stat -c %s "$2")"
  rec icap_log.action=ICAP_PASSED icap_log.request_logs.0.vendor=ICAP_VENDOR_GENERIC \
    icap_log.request_logs.0.icap_server_port="$ICAP_PORT" "icap_log.request_logs.0.icap_absolute_uri~/avscan"
}
blocked() { # blocked NAME WHAT
  expect_code "$1" 403 "$2"
  grep -q 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$WORK/$1.body" && fail "$1: the 403 body carries the EICAR file"
  expect_upstream_none "$1: $2"
  rec icap_log.action=ICAP_BLOCKED icap_log.request_logs.0.icap_response_code=200 \
    icap_log.request_logs.0.http_response_code=403 significant=true significant_log~ADF_ICAP_BLOCKED \
    "icap_log.request_logs.0.opswat_log.threat_id=$threat" http_security_policy_rule_name=scan-uploads
}

# --- avscan, preview on (5000), 204 allowed
vs_config "$WORK/avscan.json" "{$generic}"
start_proxy avscan "$WORK/avscan.json"
upload clean3k "$f/clean3k.txt"
passes clean3k "$f/clean3k.txt" "a clean 3 KB upload passes c-icap"
upload clean300k "$f/clean300k.txt"
passes clean300k "$f/clean300k.txt" "a clean 300 KB upload passes c-icap"
upload chunked "$f/clean300k.txt" -H 'Transfer-Encoding: chunked'
passes chunked "$f/clean300k.txt" "a chunked 300 KB upload passes c-icap"
upload eicar "$f/eicar.com"
blocked eicar "c-icap blocks an EICAR upload"
upload eicar-late "$f/eicar-late.txt"
blocked eicar-late "c-icap blocks EICAR at byte 16 K, past the preview"
finish_proxy

# --- allow_204 off: c-icap answers 200 with the request; it is forwarded unchanged
vs_config "$WORK/no204.json" "{$generic, \"allow_204\": false}"
start_proxy no204 "$WORK/no204.json"
upload no204 "$f/clean300k.txt"
passes no204 "$f/clean300k.txt" "with allow_204 off c-icap's 200 echo is forwarded byte-identical"
rec "icap_log.request_logs.0.icap_headers_sent_to_server!~Allow: 204"
upload no204-eicar "$f/eicar.com"
blocked no204-eicar "EICAR is blocked with allow_204 off"
finish_proxy

# --- ICAPS to c-icap's TLS port
vs_config "$WORK/icaps.json" "{$generic}" '' \
  "{\"pools\": [{\"name\": \"icap\", \"servers\": [{\"ip\": {\"addr\": \"127.0.0.1\", \"type\": \"V4\"}, \"port\": $ICAPS_PORT}],
    \"icapkit_tls\": {\"ca_file\": \"$ICAPS_CA\"}}]}"
start_proxy icaps "$WORK/icaps.json"
upload icaps-clean "$f/clean3k.txt"
expect_code icaps-clean 200 "a clean upload passes c-icap over ICAPS" &&
  expect_upstream icaps-clean "sha256=$(sha256 "$f/clean3k.txt")"
rec icap_log.action=ICAP_PASSED "icap_log.request_logs.0.icap_absolute_uri~icaps://" \
  icap_log.request_logs.0.icap_server_port="$ICAPS_PORT"
upload icaps-eicar "$f/eicar.com"
expect_code icaps-eicar 403 "c-icap blocks EICAR over ICAPS"
expect_upstream_none "EICAR over ICAPS"
finish_proxy

# --- RESPMOD: downloads scanned by avscan
vs_config "$WORK/respmod.json" "{$generic}" '[{"name": "scan-all", "index": 1, "enable": true, "match": {},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]' \
  '{"icap_response_profile": {"name": "downloads", "pool_group_ref": "/api/poolgroup?name=icap-group",
    "service_uri": "/avscan", "vendor": "ICAP_VENDOR_GENERIC", "fail_action": "ICAP_FAIL_CLOSED"}}'
start_proxy respmod "$WORK/respmod.json"
req dl-clean /download/clean300k.txt
expect_code dl-clean 200 "a clean 300 KB download passes c-icap's RESPMOD" &&
  { [ "$(sha256 "$WORK/dl-clean.body")" = "$(sha256 "$WORK/www/clean300k.txt")" ] ||
    fail "dl-clean: the downloaded body differs from the upstream's file"; }
req dl-eicar /download/eicar.com
expect_code dl-eicar 403 "c-icap blocks an EICAR download (RESPMOD)"
grep -q 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$WORK/dl-eicar.body" && fail "dl-eicar: the 403 body carries the EICAR file"
rec icap_log.action=ICAP_BLOCKED response_code=403
rec_expr "any(l.get('icap_method') == 'ICAP_METHOD_RESPMOD' and l.get('action') == 'ICAP_BLOCKED' for l in r['icap_log']['request_logs'])" \
  "dl-eicar: no blocked RESPMOD request log"
finish_proxy

finish
