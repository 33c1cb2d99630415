#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy` choosing what to do by the http_security_policy, as the NSX ALB virtual service
# does: one rule per match type (path, method, host_hdr, hdrs, query, client_ip, cookie), each
# seen in the client's answer, in what the upstream received and in the record's
# http_security_policy_rule_name; the rules are listed out of order in the file, so index decides;
# overlapping rules (lowest index wins); disabled rules never apply; the actions
# REQUEST_CHECK_ICAP, ALLOW, SEND_RESPONSE and CLOSE_CONN; no matching rule -> ICAP_DISABLED.
# ICAP is `icapkit serve` (opswat); every record is schema-validated.
# Usage: proxy_rules.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_rules "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"
samples=$src/testdata/samples

start_upstream up
upstream_url=http://127.0.0.1:$up_port
start_serve icap --vendor opswat
icap_servers=127.0.0.1:$icap_port
head -c 2048 /dev/urandom >"$WORK/clean.bin"
clean_sha=$(sha256 "$WORK/clean.bin")

# Listed in the file in no particular order: the index decides.
rules='[
 {"name": "allow-rest", "index": 1000, "enable": true, "match": {},
  "action": {"action": "HTTP_SECURITY_ACTION_ALLOW"}},
 {"name": "by-cookie", "index": 80, "enable": true,
  "match": {"cookie": {"key": "session", "match_criteria": "HDR_EQUALS", "value": ["evil"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_CLOSE_CONN"}},
 {"name": "by-query", "index": 70, "enable": true,
  "match": {"query": {"match_criteria": "QUERY_MATCH_CONTAINS", "match_str": ["scan=1"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}},
 {"name": "by-header", "index": 60, "enable": true,
  "match": {"hdrs": [{"hdr": "X-Scan", "match_criteria": "HDR_EQUALS", "value": ["yes"]}]},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}},
 {"name": "by-host", "index": 50, "enable": true,
  "match": {"host_hdr": {"match_criteria": "HDR_EQUALS", "value": ["blocked.example"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE", "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_404"}},
 {"name": "by-method", "index": 40, "enable": true,
  "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_DELETE"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE", "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_403"}},
 {"name": "disabled-path", "index": 15, "enable": false,
  "match": {"path": {"match_criteria": "BEGINS_WITH", "match_str": ["/upload"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE", "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_501"}},
 {"name": "by-path", "index": 20, "enable": true,
  "match": {"path": {"match_criteria": "BEGINS_WITH", "match_str": ["/upload"], "match_case": "SENSITIVE"}},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}},
 {"name": "by-client-ip", "index": 10, "enable": true,
  "match": {"client_ip": {"match_criteria": "IS_IN", "addrs": [{"addr": "127.0.0.2", "type": "V4"}]}},
  "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE", "status_code": 429}},
 {"name": "disabled-all", "index": 1, "enable": false, "match": {},
  "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE", "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_501"}}
]'
vs_config "$WORK/rules.json" '{}' "$rules"
start_proxy rules "$WORK/rules.json"

# scanned NAME RULE WHAT: the upstream got the body and the record names RULE with ICAP_PASSED.
scanned() {
  expect_code "$1" 200 "$3" || return 1
  expect_upstream "$1: $3" "sha256=$clean_sha"
  rec "http_security_policy_rule_name=$2" icap_log.action=ICAP_PASSED \
    icap_log.request_logs.0.icap_method=ICAP_METHOD_REQMOD
}
allowed() { # allowed NAME WHAT: ALLOW (allow-rest): forwarded without ICAP
  expect_code "$1" 200 "$2" || return 1
  expect_upstream "$1: $2"
  rec http_security_policy_rule_name=allow-rest icap_log.action=ICAP_DISABLED
}
sent() { # sent NAME CODE RULE WHAT: SEND_RESPONSE with CODE, nothing upstream
  expect_code "$1" "$2" "$4"
  expect_upstream_none "$1: $4"
  rec "http_security_policy_rule_name=$3" "response_code=$2" icap_log.action=ICAP_DISABLED
}
upload=(--data-binary "@$WORK/clean.bin" -H 'Content-Type: application/octet-stream')

# path (index 20; disabled-path at 15 and disabled-all at 1 must not apply)
req path "${upload[@]}" /upload/a.bin
scanned path by-path "a POST under /upload goes to ICAP (by-path; the disabled rules before it are skipped)"
req path-eicar --data-binary "@$samples/eicar.com" /upload/eicar.com
expect_code path-eicar 403 "by-path sends uploads to ICAP, which blocks EICAR"
rec http_security_policy_rule_name=by-path icap_log.action=ICAP_BLOCKED
req path-case "${upload[@]}" /UPLOAD/a.bin
allowed path-case "/UPLOAD does not match a SENSITIVE BEGINS_WITH /upload"
req path-get /upload/listing
expect_code path-get 200 "a GET under /upload (by-path has no method condition) is scanned and passes"
expect_upstream "path-get" method=GET path=/upload/listing length=0
rec http_security_policy_rule_name=by-path icap_log.action=ICAP_PASSED

# method (index 40), and an overlap: DELETE /upload matches by-path (20) and by-method (40)
req method -X DELETE /things/1
sent method 403 by-method "DELETE gets the by-method rule's 403"
req overlap -X DELETE /upload/x
expect_code overlap 200 "DELETE /upload/x: by-path (index 20) wins over by-method (index 40)"
rec http_security_policy_rule_name=by-path

# host_hdr (50)
req host -H 'Host: blocked.example' /anything
sent host 404 by-host "Host: blocked.example gets by-host's 404"
req host-other -H 'Host: fine.example' /anything
allowed host-other "another Host passes"

# hdrs (60): a header sends a GET to ICAP
req header -H 'X-Scan: yes' "${upload[@]}" /data
scanned header by-header "X-Scan: yes sends the request to ICAP"
req header-no -H 'X-Scan: no' "${upload[@]}" /data
allowed header-no "X-Scan: no does not match by-header"

# query (70)
req query "${upload[@]}" '/data?a=b&scan=1'
scanned query by-query "?scan=1 sends the request to ICAP"
rec uri_query='a=b&scan=1' uri_path=/data
# header (60) and query (70) both match: the lower index wins
req both -H 'X-Scan: yes' "${upload[@]}" '/data?scan=1'
scanned both by-header "X-Scan and ?scan=1: by-header (60) wins over by-query (70)"

# cookie (80): CLOSE_CONN
req cookie -H 'Cookie: theme=dark; session=evil' /data
if [ "$CODE" != 000 ]; then
  fail "cookie: HTTP $CODE; CLOSE_CONN (session=evil) should close the connection without an answer"
  show_http cookie
fi
expect_upstream_none "a request the by-cookie rule closes"
req cookie-fine -H 'Cookie: session=good' /data
allowed cookie-fine "another session cookie passes"

# client_ip (10): from 127.0.0.2, every request gets 429, even an upload
req client-ip --interface 127.0.0.2 "${upload[@]}" /upload/a.bin
sent client-ip 429 by-client-ip "a client at 127.0.0.2 gets by-client-ip's 429 (index 10, before by-path)"
rec client_ip=127.0.0.2
req client-ip-other --interface 127.0.0.1 /data
allowed client-ip-other "a client at 127.0.0.1 is not matched by by-client-ip"
finish_proxy

# --- without a catch-all rule: what matches no rule is ICAP_DISABLED and names no rule
rules='[{"name": "scan-put", "index": 5, "enable": true,
  "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_PUT"]}},
  "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]'
vs_config "$WORK/nomatch.json" '{}' "$rules"
start_proxy nomatch "$WORK/nomatch.json"
req nomatch "${upload[@]}" /upload/a.bin
expect_code nomatch 200 "a request no rule matches is forwarded"
expect_upstream "nomatch" "sha256=$clean_sha"
rec icap_log.action=ICAP_DISABLED
rule=$(rec_get http_security_policy_rule_name)
[ -z "$rule" ] || [ "$rule" = absent ] || fail "nomatch: the record names rule '$rule' although none matched"
req put -X PUT "${upload[@]}" /store/a.bin
scanned put scan-put "PUT matches scan-put"
finish_proxy

# --- no http_security_policy at all: nothing goes to ICAP
vs_config "$WORK/nopolicy.json" '{}' '[]'
"$PY" - "$WORK/nopolicy.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); del c["http_security_policy"]; json.dump(c, open(sys.argv[1], "w"))
PY
start_proxy nopolicy "$WORK/nopolicy.json"
req nopolicy --data-binary "@$samples/eicar.com" /upload/eicar.com
expect_code nopolicy 200 "without a security policy nothing is scanned (EICAR passes, as on the load balancer)"
rec icap_log.action=ICAP_DISABLED
finish_proxy

finish
