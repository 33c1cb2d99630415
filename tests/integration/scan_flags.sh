#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_fake and start_serve (printf -v)
# Every request, server and TLS flag of `icapkit scan`, asserted on what the ICAP server received
# (fake_servers.py record: the ICAP and HTTP heads and the body of each exchange) or on what
# icapkit serve did with it: --content-type and its guess from the file name (REQMOD and
# RESPMOD), --multipart (the exact form body a browser sends), --http-header, --x-client-ip,
# -H/--icap-header, --profile (pool, service, preview size), repeated --server failing over to
# the next server and the record naming it, --slow-threshold (the record's slow significance),
# mutual TLS (--cert/--key) against a server requiring a client certificate, --sni against a
# certificate that names only the SNI host, --tls-min against a server offering only TLS 1.2.
# Usage: scan_flags.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init scan_flags "$1" "$2"
samples=$src/testdata/samples

wait_file() { # wait_file FILE: up to 10 s for FILE to exist and be non-empty
  local _
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# start_fake NAME [record options]: fake_servers.py record, logging to WORK/NAME.fake.ndjson;
# sets NAME_port.
start_fake() {
  local name=$1
  shift
  "$PY" "$itest_dir/fake_servers.py" record "$WORK/$name.port" --log "$WORK/$name.fake.ndjson" \
    "$@" 2>"$WORK/$name.fake.err" </dev/null &
  background_pids+=($!)
  wait_file "$WORK/$name.port" || die "fake server $name did not start: $(tail -n 3 "$WORK/$name.fake.err")"
  printf -v "${name}_port" '%s' "$(cat "$WORK/$name.port")"
}
fake_log() { echo "$WORK/$1.fake.ndjson"; }
fake_reset() { : >"$(fake_log "$1")"; } # the log before the next run starts empty

# start_serve NAME [serve flags]: icapkit serve on 127.0.0.1:0; sets NAME_port.
start_serve() {
  local name=$1
  shift
  timeout -k 5 300 "$bin" serve --listen 127.0.0.1:0 --port-file "$WORK/$name.ports" --threads 2 \
    -q --log "$WORK/$name.serve.ndjson" "$@" </dev/null >"$WORK/$name.serve.out" 2>&1 &
  background_pids+=($!)
  wait_file "$WORK/$name.ports" || die "icapkit serve $name did not start: $(tail -n 3 "$WORK/$name.serve.out")"
  printf -v "${name}_port" '%s' "$(sed -n 1p "$WORK/$name.ports" | sed 's/.*://')"
}

# --- files ---------------------------------------------------------------------------------------
f=$WORK/files
mkdir -p "$f"
cp "$samples/clean.txt" "$samples/clean.pdf" "$samples/clean.png" "$f/"
head -c 3000 /dev/urandom >"$f/noextension"
printf 'line one\r\nline "two"\n' >"$f/form.txt"

start_fake rec --preview 1024
url=icap://127.0.0.1:$rec_port/recsvc
log=$(fake_log rec)

# --- the Content-Type guessed from the file name, and --content-type -------------------------------
fake_reset rec
icapkit ct-guess scan --server "$url" --jobs 1 --output ndjson "$f/clean.txt" "$f/clean.pdf" \
  "$f/clean.png" "$f/noextension"
expect_rc ct-guess 0 "four clean files"
records "$log" --count 4
records "$log" --index 0 method=REQMOD "request_line=POST /upload/clean.txt HTTP/1.1" \
  http_headers.content-type=text/plain "http_headers.content-length=$(stat -c %s "$f/clean.txt")"
records "$log" --index 1 http_headers.content-type=application/pdf
records "$log" --index 2 http_headers.content-type=image/png
records "$log" --index 3 http_headers.content-type=application/octet-stream
"$PY" - "$log" "$f/clean.pdf" <<'PY' || fail "ct-guess: the server did not receive clean.pdf's bytes as the body"
import json, sys
entry = [json.loads(l) for l in open(sys.argv[1])][1]
sys.exit(0 if entry["body"].encode("latin-1") == open(sys.argv[2], "rb").read() else 1)
PY

fake_reset rec
icapkit ct-respmod scan --server "$url" --mode respmod --jobs 1 "$f/clean.pdf" "$f/noextension"
expect_rc ct-respmod 0 "clean downloads"
records "$log" --count 2
records "$log" --index 0 method=RESPMOD "request_line=GET /download/clean.pdf HTTP/1.1" \
  response_headers.content-type=application/pdf http_headers.content-type!
records "$log" --index 1 response_headers.content-type=application/octet-stream

fake_reset rec
icapkit ct-given scan --server "$url" --content-type 'text/x-icapkit; charset=utf-8' "$f/clean.pdf"
expect_rc ct-given 0 "a clean file"
records "$log" --count 1 "http_headers.content-type=text/x-icapkit; charset=utf-8"

# --- --multipart: the form body a browser sends ----------------------------------------------------
# check_form LOG INDEX FILE TYPE: the body is one form-data part named "file" carrying FILE's
# bytes with its name and TYPE, framed by the boundary the Content-Type announces, and
# Content-Length is the body's length.
check_form() {
  "$PY" - "$@" <<'PY'
import json, os, sys
log, index, path, part_type = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
entry = [json.loads(l) for l in open(log)][index]
headers = entry["http_headers"]
prefix = "multipart/form-data; boundary="
if not headers.get("content-type", "").startswith(prefix):
    sys.exit(f"Content-Type is {headers.get('content-type')!r}, want {prefix}...")
boundary = headers["content-type"][len(prefix):]
want = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"{os.path.basename(path)}\"\r\nContent-Type: {part_type}\r\n\r\n").encode()
want += open(path, "rb").read() + f"\r\n--{boundary}--\r\n".encode()
body = entry["body"].encode("latin-1")
if body != want:
    sys.exit(f"the form body differs from a browser's: got {body[:200]!r}..., want {want[:200]!r}...")
if headers.get("content-length") != str(len(want)):
    sys.exit(f"Content-Length {headers.get('content-length')}, body {len(want)} bytes")
PY
}
fake_reset rec
icapkit multipart scan --server "$url" --multipart --jobs 1 "$f/form.txt" "$f/clean.png"
expect_rc multipart 0 "a clean form upload"
records "$log" --count 2 method=REQMOD
out=$(check_form "$log" 0 "$f/form.txt" text/plain 2>&1) || fail "multipart form.txt: $out"
out=$(check_form "$log" 1 "$f/clean.png" image/png 2>&1) || fail "multipart clean.png: $out"
b1=$("$PY" "$itest_dir/records.py" "$log" --index 0 --get http_headers.content-type)
b2=$("$PY" "$itest_dir/records.py" "$log" --index 1 --get http_headers.content-type)
[ "$b1" != "$b2" ] || fail "multipart: two uploads used the same boundary ($b1)"

fake_reset rec
icapkit multipart-type scan --server "$url" --multipart --content-type application/x-custom "$f/form.txt"
expect_rc multipart-type 0 "a clean form upload"
out=$(check_form "$log" 0 "$f/form.txt" application/x-custom 2>&1) || fail "multipart --content-type: $out"

icapkit multipart-respmod scan --server "$url" --multipart --mode respmod "$f/form.txt"
expect_rc multipart-respmod 2 "--multipart with --mode respmod is a usage error"
expect_output multipart-respmod "--multipart.*reqmod" "that --multipart needs --mode reqmod"

# The form's file name reaches a server that reads forms: icapkit serve blocks it by name.
cat >"$WORK/by-name.json" <<'JSON'
{"name": "by-name", "rules": [
  {"name": "no-forms", "match": {"file_name": "form.txt"}, "verdict": {"type": "block", "threat": "Form Name"}},
  {"name": "tenant", "match": {"icap_header": {"name": "X-Tenant", "regex": "^blocked-tenant$"}},
   "verdict": {"type": "block", "threat": "Tenant Rule"}},
  {"name": "office", "match": {"client_ip": "10.20.30.0/24"}, "verdict": {"type": "block", "threat": "Office Rule"}},
  {"name": "slow", "match": {"file_name": "slow.txt"}, "verdict": "clean", "delay": {"ms": 400}}]}
JSON
start_serve mock --vendor generic --scenario "$WORK/by-name.json"
mock_url=icap://127.0.0.1:$mock_port/avscan
cp "$f/form.txt" "$f/renamed.txt"
icapkit multipart-serve scan --server "$mock_url" --multipart --url 'http://icapkit.test/form' \
  --output ndjson "$f/form.txt" "$f/renamed.txt"
expect_rc multipart-serve 1 "the form named form.txt is blocked by name"
records "$WORK/multipart-serve.out" --file form.txt icap_log.action=ICAP_BLOCKED \
  icap_log.request_logs.0.opswat_log.threat_id="Form Name"
records "$WORK/multipart-serve.out" --file renamed.txt icap_log.action=ICAP_PASSED

# --- --http-header ----------------------------------------------------------------------------------
fake_reset rec
icapkit http-header scan --server "$url" --http-header 'X-Test-One: alpha beta' \
  --http-header 'Cookie: session=42' "$f/clean.txt"
expect_rc http-header 0 "a clean file"
records "$log" --count 1 "http_headers.x-test-one=alpha beta" http_headers.cookie=session=42 \
  http_headers.host=icapkit.test icap_headers.x-test-one!
fake_reset rec
icapkit http-header-respmod scan --server "$url" --mode respmod --http-header 'Referer: http://a.test/' \
  "$f/clean.txt"
expect_rc http-header-respmod 0 "a clean download"
records "$log" --count 1 http_headers.referer=http://a.test/
icapkit http-header-bad scan --server "$url" --http-header 'no colon here' "$f/clean.txt"
expect_rc http-header-bad 2 "a header without a colon is a usage error"
expect_output http-header-bad "no colon here" "the bad header"

# --- -H/--icap-header and --x-client-ip: to the ICAP server, not the HTTP message ----------------------
fake_reset rec
icapkit icap-header scan --server "$url" -H 'X-Tenant: acme' --icap-header 'X-Authenticated-User: dGVzdA==' \
  --x-client-ip 10.20.30.40 --output ndjson "$f/clean.txt"
expect_rc icap-header 0 "a clean file"
records "$log" --count 1 icap_headers.x-tenant=acme icap_headers.x-authenticated-user=dGVzdA== \
  icap_headers.x-client-ip=10.20.30.40 http_headers.x-tenant! http_headers.x-client-ip!
records "$WORK/icap-header.out" --count 1 client_ip=10.20.30.40 \
  "icap_log.request_logs.0.icap_headers_sent_to_server~X-Tenant: acme"
# Rules keyed on them decide: the same clean file is blocked for one tenant and one office only.
icapkit tenant-blocked scan --server "$mock_url" -H 'X-Tenant: blocked-tenant' "$f/clean.txt"
expect_rc tenant-blocked 1 "the tenant rule blocks on the ICAP header"
expect_output tenant-blocked "Tenant Rule" "the rule's threat"
icapkit tenant-other scan --server "$mock_url" -H 'X-Tenant: acme' "$f/clean.txt"
expect_rc tenant-other 0 "another tenant passes"
icapkit office-blocked scan --server "$mock_url" --x-client-ip 10.20.30.40 "$f/clean.txt"
expect_rc office-blocked 1 "the office rule blocks on X-Client-IP"
expect_output office-blocked "Office Rule" "the rule's threat"
grep -q '"x_client_ip":"10.20.30.40"' "$WORK/mock.serve.ndjson" ||
  fail "office-blocked: icapkit serve's log shows no X-Client-IP 10.20.30.40"
icapkit office-other scan --server "$mock_url" --x-client-ip 192.0.2.7 "$f/clean.txt"
expect_rc office-other 0 "another client address passes"
icapkit client-ip-bad scan --server "$mock_url" --x-client-ip 10.20.30 "$f/clean.txt"
expect_rc client-ip-bad 2 "a bad address is a usage error"
expect_output client-ip-bad "10\.20\.30" "the bad address"
icapkit icap-header-bad scan --server "$mock_url" -H 'X Tenant: acme' "$f/clean.txt"
expect_rc icap-header-bad 2 "a header name with a space is a usage error"

# --- --slow-threshold: the record's slow significance ------------------------------------------------
# Only lower bounds on time (a 400 ms answer is over 100 ms; it is under 5 s on any machine), so
# the test needs no quiet machine.
cp "$f/clean.txt" "$f/slow.txt"
icapkit slow scan --server "$mock_url" --slow-threshold 100 --output ndjson "$f/slow.txt"
expect_rc slow 0 "slow but clean"
records "$WORK/slow.out" --count 1 icap_log.action=ICAP_PASSED significant=true \
  significant_log~ADF_ICAP_SERVER_HIGH_RESPONSE_TIME
icapkit not-slow scan --server "$mock_url" --slow-threshold 5000 --output ndjson "$f/slow.txt"
expect_rc not-slow 0 "clean"
records "$WORK/not-slow.out" --count 1 significant_log!~ADF_ICAP_SERVER_HIGH_RESPONSE_TIME

# --- --profile: the pool's server, the service, the preview size, the pool name ---------------------
cat >"$WORK/profile.json" <<JSON
{
  "icap_profile": {"name": "flag-profile", "pool_group_ref": "/api/poolgroup?name=flag-group",
    "service_uri": "/profile-svc", "vendor": "ICAP_VENDOR_GENERIC", "allow_204": true,
    "enable_preview": true, "preview_size": 16, "fail_action": "ICAP_FAIL_CLOSED",
    "response_timeout": 5000, "slow_response_warning_threshold": 10000},
  "pool_groups": [{"name": "flag-group", "members": [{"pool_ref": "/api/pool?name=flag-pool", "priority_label": "10"}]}],
  "pools": [{"name": "flag-pool", "servers": [{"ip": {"addr": "127.0.0.1", "type": "V4"}, "port": $rec_port}]}]
}
JSON
fake_reset rec
icapkit profile scan --profile "$WORK/profile.json" --output ndjson "$f/noextension"
expect_rc profile 0 "a clean file through the profile's pool"
records "$log" --count 1 method=REQMOD "uri~:$rec_port/profile-svc" preview=16 sent_continue=true \
  body_length=3000
records "$WORK/profile.out" --count 1 icap_log.request_logs.0.pool_name~flag-pool \
  "icap_log.request_logs.0.icap_server_port=$rec_port" icap_log.request_logs.0.vendor=ICAP_VENDOR_GENERIC

# --- repeated --server: the first is down, the second answers, the records name it ------------------
down=$(free_port)
fake_reset rec
icapkit failover scan --server "icap://127.0.0.1:$down/recsvc" --server "$url" --jobs 1 \
  --output ndjson "$f/clean.txt" "$f/clean.pdf"
expect_rc failover 0 "the second server scans both files"
records "$log" --count 2 method=REQMOD
records "$WORK/failover.out" --count 2 --each icap_log.action=ICAP_PASSED \
  "icap_log.request_logs.-1.icap_server_port=$rec_port" "icap_log.request_logs.-1.icap_absolute_uri~:$rec_port/recsvc"
# The first file's record keeps the refused attempt; the second file went to the up server at once.
records "$WORK/failover.out" --file clean.txt icap_log.request_logs.0.action=ICAP_FAILED \
  "icap_log.request_logs.0.icap_absolute_uri~:$down/recsvc" icap_log.request_logs.2!
records "$WORK/failover.out" --file clean.pdf icap_log.request_logs.1!
icapkit failover-verbose scan --server "icap://127.0.0.1:$down/recsvc" --server "$url" -v "$f/clean.txt"
expect_rc failover-verbose 0 "the second server scans the file"
expect_output failover-verbose "server icap://127\.0\.0\.1:$rec_port/recsvc" "the server that answered"
fake_reset rec
icapkit first-up scan --server "$url" --server "icap://127.0.0.1:$down/recsvc" --output ndjson "$f/clean.txt"
expect_rc first-up 0 "the first server answers"
records "$WORK/first-up.out" --count 1 "icap_log.request_logs.0.icap_server_port=$rec_port"

# --- TLS: certificates -------------------------------------------------------------------------------
t=$WORK/tls
mkdir -p "$t"
mkcert() { # mkcert NAME CN SIGNER [SAN]: NAME.pem/NAME.key signed by SIGNER (self-signed: "")
  local name=$1 cn=$2 signer=$3 san=${4:-}
  if [ -z "$signer" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -keyout "$t/$name.key" -out "$t/$name.pem" -subj "/CN=$cn" >/dev/null 2>&1
    return
  fi
  local ext=()
  if [ -n "$san" ]; then
    printf 'subjectAltName=%s\n' "$san" >"$t/$name.ext"
    ext=(-extfile "$t/$name.ext")
  fi
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$t/$name.key" -out "$t/$name.csr" -subj "/CN=$cn" >/dev/null 2>&1 &&
    openssl x509 -req -in "$t/$name.csr" -CA "$t/$signer.pem" -CAkey "$t/$signer.key" \
      -CAcreateserial -days 2 -out "$t/$name.pem" "${ext[@]}" >/dev/null 2>&1
}
if ! { mkcert ca "icapkit flag-test CA" "" && mkcert other-ca "icapkit other CA" "" &&
  mkcert server icap.test ca DNS:icap.test && mkcert client icapkit-test-client ca &&
  mkcert stranger icapkit-stranger other-ca; }; then
  die "openssl could not make the test certificates"
fi

# --- --sni: the certificate names icap.test only; the URL has the address --------------------------
start_fake tls12 --tls-cert "$t/server.pem" --tls-key "$t/server.key" --tls-max 1.2
tls_url=icaps://127.0.0.1:$tls12_port/recsvc
log=$(fake_log tls12)
icapkit no-sni scan --server "$tls_url" --cacert "$t/ca.pem" "$f/clean.txt"
expect_rc no-sni 2 "the certificate does not name 127.0.0.1"
expect_output no-sni "verif|certificate|mismatch" "that the certificate does not match"
fake_reset tls12
icapkit sni scan --server "$tls_url" --cacert "$t/ca.pem" --sni icap.test --output ndjson "$f/clean.txt"
expect_rc sni 0 "--sni icap.test matches the certificate"
records "$log" --count 1 method=REQMOD tls.sni=icap.test tls.version=TLSv1.2
records "$WORK/sni.out" --count 1 icap_log.action=ICAP_PASSED
icapkit sni-wrong scan --server "$tls_url" --cacert "$t/ca.pem" --sni other.test "$f/clean.txt"
expect_rc sni-wrong 2 "a name the certificate does not carry"

# --- --tls-min: a server offering at most TLS 1.2 -----------------------------------------------------
fake_reset tls12
icapkit tls-min-13 scan --server "$tls_url" --cacert "$t/ca.pem" --sni icap.test --tls-min 1.3 \
  "$f/clean.txt"
expect_rc tls-min-13 2 "the server offers only TLS 1.2"
expect_output tls-min-13 "TLS|SSL|protocol version|handshake" "that the TLS handshake failed"
records "$log" --count 1 event=tls_handshake_failed
icapkit tls-min-12 scan --server "$tls_url" --cacert "$t/ca.pem" --sni icap.test --tls-min 1.2 "$f/clean.txt"
expect_rc tls-min-12 0 "TLS 1.2 is accepted with --tls-min 1.2"

# --- mutual TLS: a server requiring a client certificate its CA signed ------------------------------
start_fake mtls --tls-cert "$t/server.pem" --tls-key "$t/server.key" --client-ca "$t/ca.pem"
mtls_url=icaps://127.0.0.1:$mtls_port/recsvc
log=$(fake_log mtls)
tls_flags=(--cacert "$t/ca.pem" --sni icap.test)
fake_reset mtls
icapkit mtls-none scan --server "$mtls_url" "${tls_flags[@]}" --output ndjson "$f/clean.txt"
expect_rc mtls-none 2 "no client certificate: the server refuses"
expect_output mtls-none "TLS|SSL|certificate" "that TLS failed"
records "$WORK/mtls-none.out" --count 1 icap_log.action=ICAP_FAILED
grep -q '"method"' "$log" && fail "mtls-none: the server received a request without a client certificate"
fake_reset mtls
icapkit mtls-stranger scan --server "$mtls_url" "${tls_flags[@]}" --cert "$t/stranger.pem" \
  --key "$t/stranger.key" "$f/clean.txt"
expect_rc mtls-stranger 2 "a client certificate the server's CA did not sign"
grep -q '"method"' "$log" && fail "mtls-stranger: the server received a request from an unknown client"
fake_reset mtls
icapkit mtls scan --server "$mtls_url" "${tls_flags[@]}" --cert "$t/client.pem" --key "$t/client.key" \
  --output ndjson "$f/clean.txt" "$f/clean.pdf"
expect_rc mtls 0 "the client certificate is accepted"
records "$log" --count 2 --each method=REQMOD tls.client_subject=icapkit-test-client
records "$WORK/mtls.out" --count 2 --each icap_log.action=ICAP_PASSED
icapkit mtls-nokey scan --server "$mtls_url" "${tls_flags[@]}" --cert "$t/client.pem" "$f/clean.txt"
expect_rc mtls-nokey 2 "--cert without --key is a usage error"
expect_output mtls-nokey "--key" "that --key is needed"
icapkit mtls-mismatch scan --server "$mtls_url" "${tls_flags[@]}" --cert "$t/client.pem" \
  --key "$t/stranger.key" --output ndjson "$f/clean.txt" "$f/clean.txt" "$f/clean.txt"
expect_rc mtls-mismatch 2 "a key that does not belong to the certificate"
expect_output mtls-mismatch "does not match|key" "that the key does not match"
# Said once, before any file: not once per file, and no records.
n=$(grep -Eci "does not match|key" "$WORK/mtls-mismatch.err")
[ "$n" = 1 ] || fail "mtls-mismatch: the key problem was said $n times for 3 files, want once"
[ ! -s "$WORK/mtls-mismatch.out" ] || fail "mtls-mismatch: records were written although no file was scanned"

finish
