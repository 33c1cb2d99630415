#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_upstream and start_serve (printf -v)
# `icapkit proxy` as an HTTP/1.1 proxy, with `icapkit serve` (opswat) as ICAP and
# upstream_recorder.py as the origin: bad flags and configs (exit 2, one line); the port file;
# Via and X-Forwarded-For added, hop-by-hop headers removed; the forward-proxy form; a TLS
# listener (generated certificate) and an https upstream (--upstream-cacert, --upstream-insecure);
# request smuggling vectors (CL+TE, bad or repeated Content-Length, equal values included, bad
# Transfer-Encoding, bad chunking, bad request-target bytes) -> 400 and a closed connection,
# nothing smuggled upstream, refused at the first bad line, a significant record saying what the
# client got; empty lines before a request ignored; absolute-form Host replaced; WebSocket
# upgrades and CONNECT -> 501; too large heads -> 431;
# slow clients cut off (header, body and idle timeouts); 1,000 concurrent keep-alive clients all
# answered right; SIGTERM drains an in-flight request (exit 0) and --drain-timeout bounds it.
# Usage: proxy_http.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init proxy_http "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"
samples=$src/testdata/samples

start_upstream up
upstream_url=http://127.0.0.1:$up_port
start_upstream other
cat >"$WORK/scenario.json" <<'EOF'
{"name": "proxy-http", "description": "/slow-drain takes 3 s",
 "rules": [{"name": "slow", "match": {"url": "/slow-drain"}, "verdict": "clean", "delay": {"ms": 3000}}]}
EOF
start_serve icap --vendor opswat --scenario "$WORK/scenario.json"
icap_servers=127.0.0.1:$icap_port
vs_config "$WORK/main.json" '{"fail_action": "ICAP_FAIL_CLOSED"}'
head -c 4096 /dev/urandom >"$WORK/clean.bin"
clean_sha=$(sha256 "$WORK/clean.bin")

# --- flags and configs ---------------------------------------------------------------------------
icapkit help proxy --help
expect_rc help 0 "--help"
for flag in --config --listen --tls-listen --cert --key --upstream --upstream-cacert --upstream-insecure \
  --log --log-layout --admin --port-file --threads --spool-memory --temp-dir --header-timeout \
  --idle-timeout --body-timeout --max-header-bytes --max-header-count --drain-timeout --quiet; do
  expect_output help "$flag" "the $flag flag in --help"
done
echo '{"icap_profile": ' >"$WORK/bad.json"
vs_config "$WORK/badfield.json" '{"preview_size": 999999}'
bad_runs=(
  "no-config|"
  "missing-file|--config $WORK/nonexistent.json"
  "bad-json|--config $WORK/bad.json"
  "bad-field|--config $WORK/badfield.json"
  "bad-listen|--config $WORK/main.json --listen nonsense"
  "bad-upstream|--config $WORK/main.json --upstream icap://127.0.0.1:1344/x"
  "bad-layout|--config $WORK/main.json --log-layout newest"
  "bad-flag|--config $WORK/main.json --no-such-flag"
)
for entry in "${bad_runs[@]}"; do
  IFS='|' read -r name args <<<"$entry"
  # shellcheck disable=SC2086 # args is a word list
  icapkit "$name" --limit 10 proxy $args --listen 127.0.0.1:0
  expect_rc "$name" 2 "a usage or config error"
  lines=$(output "$name" | grep -c .)
  [ "$lines" -ge 1 ] && [ "$lines" -le 3 ] || fail "$name: $lines lines of output, want one naming the problem"
done
expect_output bad-field "preview_size" "the bad field's name"
expect_output bad-listen "listen" "the bad flag"

# The example configuration of icapkit-proxy(1) loads and starts (its ICAP servers need not run).
timeout -k 2 20 "$bin" proxy --config "$src/testdata/proxy/example.json" --listen 127.0.0.1:0 \
  --upstream "$upstream_url" --port-file "$WORK/man-example.ports" -q >"$WORK/man-example.out" 2>&1 &
ex_pid=$!
wait_for 10 test -s "$WORK/man-example.ports" ||
  fail "the man page's example config (testdata/proxy/example.json) did not start: $(tail -n 3 "$WORK/man-example.out")"
stop_pid "$ex_pid"

# --- port file, admin, headers -------------------------------------------------------------------
start_proxy main "$WORK/main.json" --tls-listen 127.0.0.1:0
grep -Eq '^listen 127\.0\.0\.1:[0-9]+$' "$WORK/main.pports" && grep -Eq '^tls_listen 127\.0\.0\.1:[0-9]+$' "$WORK/main.pports" &&
  grep -Eq '^admin 127\.0\.0\.1:[0-9]+$' "$WORK/main.pports" ||
  fail "the port file does not hold 'listen', 'tls_listen' and 'admin' ADDR:PORT lines: $(cat "$WORK/main.pports")"

req hop -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: secret' -H 'Keep-Alive: timeout=5' \
  -H 'Proxy-Authorization: Basic Zm9vOmJhcg==' -H 'X-End-To-End: kept' /page
if expect_code hop 200 "a GET passes"; then
  expect_upstream hop headers.via? "headers.x-forwarded-for~127.0.0.1" headers.x-hop! headers.keep-alive! \
    headers.proxy-authorization! headers.x-end-to-end=kept
  [ -n "$(resp_header hop Via)" ] || fail "hop: the response to the client has no Via header"
fi
req xff -H 'X-Forwarded-For: 192.0.2.7' /page
expect_upstream xff "headers.x-forwarded-for~192.0.2.7" "headers.x-forwarded-for~127.0.0.1"

# Forward proxy: an absolute-form target goes to its own host, not to the configured upstream.
upstream_name=other req forward -x "http://127.0.0.1:$proxy_port" "http://127.0.0.1:$other_port/fwd?x=1"
expect_code forward 200 "an absolute-form request is forwarded to its host"
upstream_name=other expect_upstream forward method=GET path=/fwd?x=1 headers.via? "headers.x-forwarded-for~127.0.0.1"
rec uri_path=/fwd
# RFC 9112 3.2.2: the Host sent on is the target's authority, not the client's Host; the same
# request head goes to ICAP (POST /upload is checked) and upstream.
upstream_name=other req forward-host -x "http://127.0.0.1:$proxy_port" -H 'Host: evil.example' \
  "http://127.0.0.1:$other_port/fwd-host"
expect_code forward-host 200 "an absolute-form request with a foreign Host"
upstream_name=other expect_upstream forward-host "headers.host=127.0.0.1:$other_port"
rec "host=127.0.0.1:$other_port"
upstream_name=other req forward-host-icap -x "http://127.0.0.1:$proxy_port" -H 'Host: evil.example' \
  --data-binary "@$WORK/clean.bin" "http://127.0.0.1:$other_port/upload/clean.bin"
expect_code forward-host-icap 200 "an absolute-form upload with a foreign Host, through ICAP"
upstream_name=other expect_upstream forward-host-icap "headers.host=127.0.0.1:$other_port" "sha256=$clean_sha"
rec "host=127.0.0.1:$other_port" icap_log.action=ICAP_PASSED
upstream_name=other req forward-eicar -x "http://127.0.0.1:$proxy_port" --data-binary "@$samples/eicar.com" \
  "http://127.0.0.1:$other_port/upload/e.com"
expect_code forward-eicar 403 "the forward-proxy form is enforced too"
upstream_name=other expect_upstream_none "an EICAR upload through the forward proxy"

# TLS listener with the generated certificate.
req tls-clean -k --data-binary "@$WORK/clean.bin" "https://127.0.0.1:$tls_port/upload/clean.bin"
expect_code tls-clean 200 "an upload over the TLS listener passes" &&
  expect_upstream tls-clean "sha256=$clean_sha"
req tls-eicar -k --data-binary "@$samples/eicar.com" "https://127.0.0.1:$tls_port/upload/eicar.com"
expect_code tls-eicar 403 "EICAR over the TLS listener is blocked"
expect_upstream_none "EICAR over the TLS listener"
finish_proxy

# --- https upstream --------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/up.key" -out "$WORK/up.pem" >/dev/null 2>&1 ||
  die "openssl could not make a certificate"
start_upstream tlsup --tls "$WORK/up.pem" "$WORK/up.key"
for mode in cacert insecure none; do
  flags=(--upstream "https://127.0.0.1:$tlsup_port")
  case $mode in
  cacert) flags+=(--upstream-cacert "$WORK/up.pem") ;;
  insecure) flags+=(--upstream-insecure) ;;
  esac
  start_proxy "https-$mode" "$WORK/main.json" "${flags[@]}"
  upstream_name=tlsup req "https-$mode" --data-binary "@$WORK/clean.bin" /upload/clean.bin
  if [ $mode = none ]; then
    [ "$CODE" -ge 500 ] 2>/dev/null ||
      fail "https-none: HTTP $CODE; an upstream certificate nobody trusts should give a 5xx"
    upstream_name=tlsup expect_upstream_none "an unverified https upstream"
  else
    expect_code "https-$mode" 200 "an https upstream with --upstream-$mode" &&
      upstream_name=tlsup expect_upstream "https-$mode" "sha256=$clean_sha"
  fi
  finish_proxy
done

# --- smuggling and limits (raw bytes) ------------------------------------------------------------
start_proxy raw "$WORK/main.json" --max-header-count 100
# vector NAME PRINTF-FORMAT WANT-STATUS(ES, a regex) WHAT [streamed]: a 4xx/5xx answer and a close
# within 5 s (so also before the header timeout: a head known bad is refused at its bad line);
# nothing reaches the upstream, or with "streamed" (a path without ICAP, whose body is relayed as it
# arrives) at most the start of the broken request, and never a smuggled second one; the record is
# significant, says why, carries the status the client got and no ICAP verdict.
vector() {
  local name=$1 bytes=$2 want=$3 what=$4 streamed=${5:-}
  printf "$bytes" >"$WORK/$name.raw"
  local before
  before=$(up_count up)
  REC_BEFORE=$(rec_count)
  raw "$name" --wait 5
  if ! [[ $RAW_STATUS =~ ^($want)$ ]] || [ "$RAW_CLOSED" != yes ]; then
    fail "$name: status $RAW_STATUS, connection closed: $RAW_CLOSED; want $want and a close ($what)"
    sed 's/^/    | /' "$WORK/$name.rawout" >&2
  fi
  if [ -z "$streamed" ]; then
    [ "$(up_count up)" = "$before" ] || fail "$name: the upstream received a request ($what)"
  else
    [ "$(up_count up)" -le $((before + 1)) ] || fail "$name: the upstream received two requests ($what)"
  fi
  ! grep -q '"path":"/smuggled"' "$WORK/up.upstream.ndjson" || fail "$name: a smuggled request reached the upstream"
  # The record flags the refusal and says what the client got; never an ICAP failure.
  rec_expr "r.get('significant') is True and 'refused' in r.get('significance', '') and \
str(r.get('response_code', 'none')) == '$RAW_STATUS' and not r.get('significant_log') and \
r['icap_log']['action'] == 'ICAP_DISABLED'" "$name: the record of the refused request"
}
H='Host: test\r\n'
vector cl-te "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n" 400 "Content-Length with Transfer-Encoding"
vector cl-te-allowed "POST /page HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" 400 "CL+TE on a path without ICAP"
vector two-cl "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" 400 "two different Content-Length fields"
vector cl-list "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!" 400 "a Content-Length list"
vector cl-negative "POST /upload/a HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n" 400 "a negative Content-Length"
vector cl-plus "POST /upload/a HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello" 400 "Content-Length with a sign"
vector cl-hex "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello" 400 "a hex Content-Length"
vector cl-huge "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n" 400 "an overflowing Content-Length"
vector te-xchunked "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" 400 "an unknown transfer coding"
vector te-not-last "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n" 400 "chunked not the final coding"
vector te-space "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" 400 "whitespace before the colon"
vector te-fold "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" 400 "an obs-folded Transfer-Encoding"
vector chunk-bad-size "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" 400 "a chunk size that is not hex"
vector chunk-negative "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n" 400 "a negative chunk size"
vector chunk-overflow "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n" 400 "an overflowing chunk size"
vector chunk-long "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n" 400 "chunk data longer than its size"
vector chunk-allowed "POST /page HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n" 400 "bad chunking on a path without ICAP" streamed
vector no-host "GET / HTTP/1.1\r\n\r\n" 400 "an HTTP/1.1 request without Host"
vector bad-version "GET / HTTP/9.1\r\n${H}\r\n" '400|505' "an unknown HTTP version"
# Repeated Content-Length with equal values: an origin reading "5, 5" as 0 would take "hello" as
# the start of the next request on the pooled connection.
vector cl-equal-list "POST /page HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n${H}\r\n" 400 "a Content-Length list of equal values, without ICAP"
vector cl-equal-fields "POST /page HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello" 400 "two equal Content-Length fields, without ICAP"
vector cl-equal-icap "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello" 400 "a Content-Length list of equal values, on the way to ICAP"
rec_expr "r.get('method') == 'POST' and r.get('uri_path') == '/upload/a'" "cl-equal-icap: the record names the parsed method and path"
# Bytes a request-target cannot hold: a client error (400) before any ICAP work, not a 503.
vector target-utf8 "POST /upload/caf\xc3\xa9 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello" 400 "a non-ASCII request target"
vector target-pipe "GET /a|b HTTP/1.1\r\n${H}\r\n" 400 "a '|' in the request target"
vector target-pct "GET /a%%zz HTTP/1.1\r\n${H}\r\n" 400 "a bad percent-encoding in the request target"
# A head known bad is refused at its bad line: no final CRLF is sent, the connection stays open,
# and the answer must come long before the header timeout (default 10 s > the 5 s wait).
vector early-cl-huge "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n" 400 "an overflowing Content-Length without the blank line"
vector early-cl-te "POST /upload/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n" 400 "CL+TE without the blank line"
vector early-target "GET /caf\xc3\xa9 HTTP/1.1\r\n" 400 "a non-ASCII target without the rest of the head"
# Unparsable heads: the record has no method (not "GET").
vector garbage "\x16\x03\x01\x00\xa5\x01 hello\r\n\r\n" 400 "a TLS ClientHello on the plain listener"
rec_expr "'method' not in r" "garbage: a head that could not be parsed is recorded without a method"
vector blank-lines "\r\n\r\n\r\n\r\n\r\nGET /page HTTP/1.1\r\n${H}\r\n" 400 "five empty lines before the request line (the bound is four)"
# WebSocket: not tunnelled, refused before anything goes upstream; CONNECT likewise.
vector websocket "GET /chat HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n" 501 "a WebSocket upgrade"
vector connect "CONNECT test:443 HTTP/1.1\r\nHost: test:443\r\n\r\n" 501 "CONNECT"

# RFC 9112 2.2: an empty line before a request line, and a CRLF between pipelined requests, are
# ignored.
printf "\r\nGET /page HTTP/1.1\r\n${H}Connection: close\r\n\r\n" >"$WORK/leading-crlf.raw"
raw leading-crlf --wait 5
[ "$RAW_STATUS" = 200 ] || fail "leading-crlf: an empty line before the request line got $RAW_STATUS, want 200"
printf "POST /page HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello\r\nGET /second HTTP/1.1\r\n${H}Connection: close\r\n\r\n" >"$WORK/pipeline-crlf.raw"
raw pipeline-crlf --wait 5
[ "$(sed -n 's/^statuses //p' "$WORK/pipeline-crlf.rawout")" = "200,200" ] ||
  fail "pipeline-crlf: two pipelined requests with a CRLF between them got $(sed -n 's/^statuses //p' "$WORK/pipeline-crlf.rawout"), want 200,200"

# A pipelined second request after a valid one is answered separately, not merged.
printf "POST /page HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /second HTTP/1.1\r\n${H}Connection: close\r\n\r\n" >"$WORK/pipeline.raw"
raw pipeline --wait 5
[ "$(sed -n 's/^statuses //p' "$WORK/pipeline.rawout")" = "200,200" ] ||
  fail "pipeline: two pipelined requests got $(sed -n 's/^statuses //p' "$WORK/pipeline.rawout"), want 200,200"

# Limits: the default 65536-byte head and --max-header-count 100.
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
vector head-too-big "GET /page HTTP/1.1\r\n${H}X-Big: $big\r\n\r\n" 431 "a 70 KB header over --max-header-bytes 65536"
many=$(for i in $(seq 1 120); do printf 'X-H%d: v\\r\\n' "$i"; done)
vector too-many "GET /page HTTP/1.1\r\n${H}${many}\r\n" 431 "120 headers over --max-header-count 100"
fine=$(for i in $(seq 1 50); do printf 'X-H%d: v\\r\\n' "$i"; done)
printf "GET /page HTTP/1.1\r\n${H}${fine}Connection: close\r\n\r\n" >"$WORK/fine.raw"
raw fine --wait 5
[ "$RAW_STATUS" = 200 ] || fail "fine: 50 headers got $RAW_STATUS, want 200 (under the limits)"
finish_proxy

start_proxy small "$WORK/main.json" --max-header-bytes 4096 --max-header-count 20
mid=$(head -c 5000 /dev/zero | tr '\0' 'b')
vector small-head "GET /page HTTP/1.1\r\n${H}X-Mid: $mid\r\n\r\n" 431 "a 5 KB header over --max-header-bytes 4096"
vector small-count "GET /page HTTP/1.1\r\n${H}$(for i in $(seq 1 25); do printf 'X-H%d: v\\r\\n' "$i"; done)\r\n" 431 "25 headers over --max-header-count 20"
finish_proxy

# --- slow clients --------------------------------------------------------------------------------
start_proxy slow "$WORK/main.json" --header-timeout 1000 --body-timeout 1000 --idle-timeout 1000
slow_client() { # slow_client NAME BYTES WHAT: sends BYTES, waits; the proxy must answer 408 or close within 4 s
  printf "$2" >"$WORK/$1.raw"
  raw "$1" --wait 6
  if [ "$RAW_CLOSED" != yes ] || [ "${RAW_MS:-99999}" -gt 4000 ] || { [ "$RAW_STATUS" != none ] && [ "$RAW_STATUS" != 408 ] && [ "$3" != idle ]; }; then
    fail "$1: status $RAW_STATUS, closed $RAW_CLOSED after ${RAW_MS} ms; want 408 or a close within ~1 s ($3)"
    sed 's/^/    | /' "$WORK/$1.rawout" >&2
  fi
}
# The record says what the client got: the status, or no response_code for a silent close.
slow_record() {
  rec_expr "r.get('significant') is True and str(r.get('response_code', 'none')) == '$RAW_STATUS' and \
r.get('method') == '$2'" "$1: the record of a stalled client (the client saw status $RAW_STATUS)"
}
REC_BEFORE=$(rec_count)
slow_client slow-head "GET /page HTTP/1.1\r\n${H}X-Partial: " "a head that never ends (--header-timeout 1000)"
slow_record slow-head GET
REC_BEFORE=$(rec_count)
slow_client slow-body "POST /upload/a HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\nonly-part-of-the-body" "a body that stops (--body-timeout 1000)"
slow_record slow-body POST
slow_client idle "GET /page HTTP/1.1\r\n${H}\r\n" idle
[ "$(sed -n 's/^status //p' "$WORK/idle.rawout")" = 200 ] || fail "idle: the request before the idle wait was not answered 200"
finish_proxy

# --- 1,000 concurrent keep-alive clients ---------------------------------------------------------
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
start_proxy many "$WORK/main.json"
start=$(date +%s%N)
timeout -k 5 100 "$PY" "$itest_dir/http_clients.py" 127.0.0.1 "$proxy_port" --clients 1000 --requests 4 \
  --body-bytes 1024 --path /upload/concurrent --deadline 90 >"$WORK/many.out" 2>&1
rc=$?
many_ms=$((($(date +%s%N) - start) / 1000000))
[ "$many_ms" -lt 95000 ] || fail "1,000 clients: the run took $many_ms ms (bound 95 s)"
note "1,000 clients x 4 requests: $(head -n 1 "$WORK/many.out")"
[ $rc -eq 0 ] || { fail "1,000 concurrent clients: not every answer was right (exit $rc)"; sed 's/^/    | /' "$WORK/many.out" | head -n 12 >&2; }
wait_for 10 test "$(rec_count)" -ge 4000 || fail "1,000 clients: the proxy wrote $(rec_count) records, want 4000"
if stats many-stats; then
  [ "$(stats_get many-stats "s['http_requests']")" = 4000 ] ||
    fail "/stats http_requests is $(stats_get many-stats "s['http_requests']") after 4000 requests"
  [ "$(stats_get many-stats "s['icap_passed']")" = 2000 ] ||
    fail "/stats icap_passed is $(stats_get many-stats "s['icap_passed']") after 2000 clean uploads"
fi
finish_proxy

# --- SIGTERM: an in-flight request completes, new connections are refused, exit 0 ---------------
icap_connected() { ss -Htn state established "( dport = :$icap_port )" | grep -q .; }
start_proxy drain "$WORK/main.json" --drain-timeout 10000
# The proxy has no ICAP connection yet; once it has one, the request is in flight.
timeout -k 2 30 curl -sS --noproxy '*' -o "$WORK/drain.body" -w '%{http_code}' \
  --data-binary "@$WORK/clean.bin" "http://127.0.0.1:$proxy_port/upload/slow-drain" >"$WORK/drain.code" 2>"$WORK/drain.curlerr" &
curl_pid=$!
wait_for 5 icap_connected || fail "drain: the proxy never connected to the ICAP server"
kill -TERM "$proxy_pid"
proxy_listening() { ss -Htln "( sport = :$proxy_port )" | grep -q .; }
wait_for 5 eval '! proxy_listening' || fail "drain: the proxy still listened 5 s after SIGTERM"
timeout 5 curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$proxy_port/page" >"$WORK/drain-new.code" 2>/dev/null
[ "$(cat "$WORK/drain-new.code")" = 000 ] ||
  fail "drain: a new request during the drain got HTTP $(cat "$WORK/drain-new.code"); the listener should be closed"
wait "$curl_pid"
[ "$(cat "$WORK/drain.code")" = 200 ] ||
  fail "drain: the in-flight request got HTTP $(cat "$WORK/drain.code") after SIGTERM, want 200 ($(cat "$WORK/drain.curlerr"))"
wait_for 5 eval '! alive "$proxy_pid"' || fail "drain: the proxy was still running 5 s after its last request finished"
finish_proxy

# --drain-timeout bounds the wait for a request that does not finish in time.
start_proxy drain-short "$WORK/main.json" --drain-timeout 500
timeout -k 2 30 curl -sS --noproxy '*' -o /dev/null --data-binary "@$WORK/clean.bin" \
  "http://127.0.0.1:$proxy_port/upload/slow-drain" >/dev/null 2>&1 &
curl_pid=$!
wait_for 5 icap_connected || fail "drain-short: the proxy never connected to the ICAP server"
start=$(date +%s%N)
kill -TERM "$proxy_pid"
wait_for 10 eval '! alive "$proxy_pid"'
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 2000 ] || fail "drain-short: the proxy took $ms ms to exit with --drain-timeout 500 (the ICAP answer takes 3000)"
stop_proxy
wait "$curl_pid" 2>/dev/null

# --- --log - writes the records to standard output ------------------------------------------------
timeout -k 2 20 "$bin" proxy --config "$WORK/main.json" --listen 127.0.0.1:0 --port-file "$WORK/stdout.ports" \
  --log - -q >"$WORK/stdout.ndjson" 2>"$WORK/stdout.err" &
out_pid=$!
if wait_for 10 test -s "$WORK/stdout.ports"; then
  p=$(sed -n 's/^listen .*:\([0-9]*\)$/\1/p' "$WORK/stdout.ports")
  curl -sS --noproxy '*' -o /dev/null "http://127.0.0.1:$p/page" 2>/dev/null
  wait_for 5 grep -q '"source":"proxy"' "$WORK/stdout.ndjson" || fail "--log -: no record on standard output"
fi
stop_pid "$out_pid"
[ ! -s "$WORK/stdout.ndjson" ] || validate "$WORK/stdout.ndjson"

finish
