#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# The flags of `icapkit load` not covered by load_serve.sh, each asserted on what icapkit serve
# received (its --log) or on the summary a user reads: --files (the bodies sent are the files'),
# --mode respmod, --start-at (nothing is sent before the time), --warmup (sent, not counted),
# ICAPS (icaps:// with --cacert; TLS timed per connection), --ndjson with --sample, -H (the
# server's rules see it), the error kinds reset (split by connection), overload (503) and
# protocol, a threshold on one error kind, the 100 Continue and 204-in-preview counters.
# Usage: load_flags.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init load_flags "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

json() { # json FILE EXPR: prints EXPR evaluated on the parsed FILE (as j)
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>&1
}
# serve_lines NAME METHOD EXPR: EXPR (a python expression over `r`, one serve --log line) for each
# of serve NAME's METHOD transactions, one per line.
serve_lines() {
  "$PY" - "$WORK/$1.serve.ndjson" "$2" "$3" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        if r["method"] == sys.argv[2]:
            print(eval(sys.argv[3]))
PY
}

# Every rule is decided on the ICAP head (no body needed), so X-Early answers 204 right after the
# preview; the faults are chosen by -H 'X-Fault: ...'; everything else waits 5 ms.
cat >"$WORK/rules.json" <<'JSON'
{"name": "load-flags", "rules": [
  {"name": "early", "match": {"icap_header": {"name": "X-Early", "regex": "yes"}}, "verdict": "clean"},
  {"name": "reset", "match": {"icap_header": {"name": "X-Fault", "regex": "^reset$"}}, "fault": {"type": "reset", "after_bytes": 10}},
  {"name": "overload", "match": {"icap_header": {"name": "X-Fault", "regex": "^overload$"}}, "fault": {"type": "status", "status": 503}},
  {"name": "protocol", "match": {"icap_header": {"name": "X-Fault", "regex": "^protocol$"}}, "fault": {"type": "malformed", "raw": "ICAP/1.0 2OO OK\r\n\r\n"}},
  {"name": "tenant", "match": {"icap_header": {"name": "X-Tenant", "regex": "^blocked$"}}, "verdict": {"type": "block", "threat": "Tenant"}},
  {"name": "eicar", "match": {"contains": "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"}, "verdict": {"type": "block", "threat": "EICAR-Test-File"}},
  {"name": "all", "verdict": "clean", "delay": {"ms": 5}}]}
JSON
start_serve icap --vendor opswat --scenario "$WORK/rules.json"
url=icap://127.0.0.1:$icap_port/OMSScanReq-AV
note "icapkit serve :$icap_port"
serve_reset() { : >"$WORK/icap.serve.ndjson"; }

# --- --files: a glob of regular files, cycled; their bytes are what the server scans -------------
lf=$WORK/load-files
mkdir -p "$lf"
head -c 1000 /dev/urandom >"$lf/a.bin"
head -c 3000 /dev/urandom >"$lf/b.bin"
cp "$src/testdata/samples/eicar.com" "$lf/c.com"
serve_reset
icapkit files load --server "$url" --connections 3 --requests 30 --files "$lf/*" --json "$WORK/files.json"
expect_rc files 0 "30 requests from three files"
[ "$(json "$WORK/files.json" "j['counts']['requests'], j['counts']['blocked'], j['settings']['files']")" = "30 10 3" ] ||
  fail "files.json: want 30 requests, 10 blocked (every third body is eicar.com), 3 files; got $(json "$WORK/files.json" "j['counts'], j['settings']")"
sizes=$(serve_lines icap REQMOD 'r["body_bytes"]' | sort -n | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
want="$(stat -c %s "$lf/c.com")x10 1000x10 3000x10 "
[ "$sizes" = "$want" ] || fail "files: icapkit serve received bodies of sizes '$sizes', want '$want' (size x count)"
icapkit files-none load --server "$url" --requests 5 --files "$lf/*.nothing"
expect_rc files-none 2 "a pattern that matches nothing"
expect_output files-none "nothing" "the pattern"

# --- --mode respmod ---------------------------------------------------------------------------------
serve_reset
icapkit respmod load --server "icap://127.0.0.1:$icap_port/OMSScanResp-AV" --mode respmod \
  --connections 2 --requests 20 --eicar-ratio 0.5 --json "$WORK/respmod.json"
expect_rc respmod 0 "20 RESPMODs"
[ "$(json "$WORK/respmod.json" "j['counts']['requests'], j['counts']['blocked'], j['settings']['mode']")" = "20 10 respmod" ] ||
  fail "respmod.json: want 20 requests, 10 blocked, mode respmod; got $(json "$WORK/respmod.json" "j['counts']")"
[ "$(serve_lines icap RESPMOD 'r["service"]' | sort | uniq -c | awk '{print $1, $2}')" = "20 OMSScanResp-AV" ] ||
  fail "respmod: icapkit serve did not receive 20 RESPMODs for OMSScanResp-AV: $(serve_lines icap RESPMOD 'r["service"]' | sort | uniq -c)"
[ "$(serve_lines icap REQMOD 1 | wc -l)" = 0 ] || fail "respmod: icapkit serve received REQMODs"

# --- --start-at: nothing is sent before the time --------------------------------------------------
start_at=$("$PY" -c 'import time; print(f"{time.time() + 1.5:.3f}")')
serve_reset
icapkit start-at load --server "$url" --connections 2 --requests 10 --start-at "$start_at" \
  --json "$WORK/start-at.json"
expect_rc start-at 0 "a delayed start"
[ "$ELAPSED_MS" -ge 1200 ] || fail "start-at: the run took ${ELAPSED_MS} ms, but was to start 1.5 s after it was launched"
first=$(serve_lines icap REQMOD 'r["time"]' | sort | head -n 1)
"$PY" - "$first" "$start_at" <<'PY' || fail "start-at: the first REQMOD arrived at $first, before --start-at $start_at"
import datetime, sys
first = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
# 100 ms for load's steady-to-system clock conversion on a busy machine; without --start-at the
# first request would come 1.5 s earlier.
sys.exit(0 if first.timestamp() >= float(sys.argv[2]) - 0.1 else 1)
PY
rfc=$("$PY" -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))')
icapkit start-at-rfc load --server "$url" --connections 1 --requests 2 --start-at "$rfc" -q
expect_rc start-at-rfc 0 "an RFC 3339 start time"
icapkit start-at-bad load --server "$url" --requests 2 --start-at tomorrow
expect_rc start-at-bad 2 "a bad --start-at" && expect_output start-at-bad "--start-at: 'tomorrow'" "the bad time"

# --- --warmup: sent first, not counted -------------------------------------------------------------
serve_reset
icapkit warmup load --server "$url" --connections 2 --requests 20 --warmup 500ms --json "$WORK/warmup.json"
expect_rc warmup 0 "a run with a warm-up"
[ "$(json "$WORK/warmup.json" "j['counts']['requests'], j['histograms']['total']['count'], j['settings']['warmup_us']")" = "20 20 500000" ] ||
  fail "warmup.json: want 20 counted requests and warmup_us 500000; got $(json "$WORK/warmup.json" "j['counts']['requests'], j['settings']['warmup_us']")"
sent=$(serve_lines icap REQMOD 1 | wc -l)
# Two connections for 500 ms against a 5 ms answer: far more than 10 warm-up requests.
[ "$sent" -ge 30 ] || fail "warmup: icapkit serve received $sent REQMODs; want the 20 counted plus at least 10 warm-up ones"

# --- ICAPS ------------------------------------------------------------------------------------------
start_serve tls --vendor opswat --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --write-cert "$WORK/tls-cert.pem"
tls_port=$(sed -n 2p "$WORK/tls.ports" | sed 's/.*://')
[ -n "$tls_port" ] || die "icapkit serve wrote no TLS address to its port file: $(cat "$WORK/tls.ports")"
icapkit icaps load --server "icaps://127.0.0.1:$tls_port/OMSScanReq-AV" --cacert "$WORK/tls-cert.pem" \
  --connections 2 --requests 20 --no-keepalive --eicar-ratio 0.5 --json "$WORK/icaps.json"
expect_rc icaps 0 "ICAPS with the server's certificate"
[ "$(json "$WORK/icaps.json" "j['counts']['requests'], j['counts']['blocked'], j['counts']['failed'], j['histograms']['tls']['count']")" = "20 10 0 20" ] ||
  fail "icaps.json: want 20 requests, 10 blocked, none failed, 20 TLS handshakes timed; got $(json "$WORK/icaps.json" "j['counts'], j['histograms']['tls']['count']")"
[ "$(serve_lines tls REQMOD 'r["tls"]' | sort | uniq -c | awk '{print $1, $2}')" = "20 True" ] ||
  fail "icaps: icapkit serve did not receive 20 REQMODs over TLS"
expect_output icaps "^  tls: +p50" "the summary's TLS phase"
icapkit icaps-untrusted load --server "icaps://127.0.0.1:$tls_port/OMSScanReq-AV" --requests 5
expect_rc icaps-untrusted 2 "a self-signed certificate is not trusted by default"
expect_output icaps-untrusted "verif|certificate" "that the certificate was not verified"

# --- --ndjson with --sample --------------------------------------------------------------------------
icapkit sample-all load --server "$url" --connections 2 --requests 40 --eicar-ratio 0.25 \
  --ndjson "$WORK/sample-all.ndjson" -q
expect_rc sample-all 0 "40 requests"
validate "$WORK/sample-all.ndjson"
records "$WORK/sample-all.ndjson" --count 40 --each icap_log.request_logs.0.icap_method=ICAP_METHOD_REQMOD
[ "$(grep -c '"ICAP_BLOCKED"' "$WORK/sample-all.ndjson")" -ge 10 ] || fail "sample-all: want 10 blocked records"
icapkit sample-quarter load --server "$url" --connections 2 --requests 200 --sample 0.25 \
  --ndjson "$WORK/sample-quarter.ndjson" -q
expect_rc sample-quarter 0 "200 requests"
n=$(grep -c . "$WORK/sample-quarter.ndjson")
# Binomial(200, 0.25): mean 50, standard deviation 6.1; 20..80 is beyond 4.9 deviations.
{ [ "$n" -ge 20 ] && [ "$n" -le 80 ]; } || fail "sample-quarter: $n records for 200 requests at --sample 0.25, want about 50"
validate "$WORK/sample-quarter.ndjson"
icapkit sample-none load --server "$url" --connections 2 --requests 50 --sample 0 \
  --ndjson "$WORK/sample-none.ndjson" -q
expect_rc sample-none 0 "50 requests"
{ [ -e "$WORK/sample-none.ndjson" ] && [ ! -s "$WORK/sample-none.ndjson" ]; } ||
  fail "sample-none: --sample 0 wants an empty --ndjson file"

# --- -H reaches the server's rules ---------------------------------------------------------------------
icapkit header load --server "$url" --connections 2 --requests 10 -H 'X-Tenant: blocked' --json "$WORK/header.json"
expect_rc header 0 "a run"
[ "$(json "$WORK/header.json" "j['counts']['blocked']")" = 10 ] || fail "header: -H 'X-Tenant: blocked' should block all 10"

# --- error kinds --------------------------------------------------------------------------------------
# A reset is counted on the connection it hit: the first request goes out on the connection the
# OPTIONS opened (reused), the nine others each on a new one (load_failures.sh has the rest).
icapkit err-reset load --server "$url" --connections 2 --requests 10 -H "X-Fault: reset" \
  --threshold 'errors<1%' --threshold 'errors.reset_new_connection<=9' --json "$WORK/err-reset.json"
expect_rc err-reset 1 "every request fails (reset): the errors threshold fails"
[ "$(json "$WORK/err-reset.json" "j['counts']['failed'], j['counts']['errors']['reset_new_connection'], j['counts']['errors']['reset_reused_connection']")" = "10 9 1" ] ||
  fail "err-reset.json: want 10 failed requests, 9 reset on a new connection and 1 on the reused OPTIONS connection; got $(json "$WORK/err-reset.json" "j['counts']['errors']")"
expect_output err-reset "errors: reset_new_connection 9 reset_reused_connection 1$" "the summary's reset counts"
expect_output err-reset "threshold errors.reset_new_connection<=9: passed \(errors.reset_new_connection = 9\)" \
  "a threshold on one error kind"
for kind in overload protocol; do
  icapkit "err-$kind" load --server "$url" --connections 2 --requests 10 -H "X-Fault: $kind" \
    --threshold 'errors<1%' --json "$WORK/err-$kind.json"
  expect_rc "err-$kind" 1 "every request fails ($kind): the errors threshold fails"
  [ "$(json "$WORK/err-$kind.json" "j['counts']['failed'], j['counts']['errors'].get('$kind')")" = "10 10" ] ||
    fail "err-$kind.json: want 10 failed requests, all counted as $kind; got $(json "$WORK/err-$kind.json" "j['counts']['errors']")"
  expect_output "err-$kind" "$kind 10" "the summary's $kind count"
done

# --- the 100 Continue and 204-in-preview counters ------------------------------------------------
icapkit continue load --server "$url" --connections 2 --requests 20 --preview 1024 --size 4k \
  --json "$WORK/continue.json"
expect_rc continue 0 "previews answered 100 Continue"
[ "$(json "$WORK/continue.json" "j['counts']['got_100'], j['counts']['preview_204'], j['counts']['passed']")" = "20 0 20" ] ||
  fail "continue.json: want 20 got_100, no 204 in preview; got $(json "$WORK/continue.json" "j['counts']")"
serve_reset
icapkit early load --server "$url" --connections 2 --requests 20 --preview 1024 --size 4k -H 'X-Early: yes' \
  --json "$WORK/early.json"
expect_rc early 0 "previews answered 204"
[ "$(json "$WORK/early.json" "j['counts']['got_100'], j['counts']['preview_204'], j['counts']['decided_in_preview'], j['counts']['passed']")" = "0 20 20 20" ] ||
  fail "early.json: want 20 answers 204 in preview and no 100 Continue; got $(json "$WORK/early.json" "j['counts']")"
[ "$(serve_lines icap REQMOD 'str(r["sent_continue"]) + " " + str(r["status"])' | sort | uniq -c | awk '{$1=$1; print}')" = "20 False 204" ] ||
  fail "early: icapkit serve's log does not show 20 answers 204 without 100 Continue"

finish
