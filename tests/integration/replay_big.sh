#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# `icapkit replay` of captures with 10,000 requests (a raw HTTP file and a HAR, about 25 MB each)
# through the in-process proxy and `icapkit serve`: every request gets its record, the EICAR
# uploads among them are blocked, and peak memory stays bounded: records are streamed and bodies
# are not all held: the 10,000-request replay needs at most 10 MB more than a 1,000-request one
# (what stays per request is its outcome for the summary, JUnit and expectations, under 1 KB;
# the bodies average 5 KB) and less than the capture's size.
# Usage: replay_big.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init replay_big "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

[ -x /usr/bin/time ] || die "/usr/bin/time is missing (scripts/deps installs the time package)"
start_serve icap --vendor generic
icap_servers=127.0.0.1:$icap_port
vs_config "$WORK/vs.json" '{"vendor": "ICAP_VENDOR_GENERIC", "service_uri": "/avscan"}' \
  '[{"name": "scan-writes", "index": 10, "enable": true,
     "match": {"method": {"match_criteria": "IS_IN", "methods": ["HTTP_METHOD_POST"]}},
     "action": {"action": "HTTP_SECURITY_ACTION_REQUEST_CHECK_ICAP"}}]'

# make_capture FORMAT COUNT FILE: COUNT uploads of 2-8 KB, every 500th the EICAR test file.
make_capture() {
  "$PY" - "$@" "$src/testdata/samples/eicar.com" <<'PY'
import base64, json, sys
fmt, count, path, eicar_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
eicar = open(eicar_path, "rb").read()
def body(i):
    if i % 500 == 499:
        return eicar
    line = b"upload %06d: plain text that no scanner objects to ...........\n" % i
    return (line * (32 + i % 128))[: 2048 + (i * 37) % 6144]
def name(i):
    return "eicar-%d.com" % i if i % 500 == 499 else "file-%d.txt" % i
with open(path, "wb") as out:
    if fmt == "raw":
        for i in range(count):
            b = body(i)
            out.write(b"POST /upload/%s HTTP/1.1\r\nHost: big.example.test\r\n"
                      b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                      % (name(i).encode(), len(b)) + b)
    else:
        out.write(b'{"log": {"version": "1.2", "creator": {"name": "replay_big", "version": "1"},'
                  b' "entries": [')
        for i in range(count):
            b = body(i)
            entry = {"startedDateTime": "2024-03-05T10:00:00.000Z", "time": 1,
                     "request": {"method": "POST", "url": "http://big.example.test/upload/" + name(i),
                                 "httpVersion": "HTTP/1.1", "headers": [], "queryString": [],
                                 "cookies": [], "headersSize": -1, "bodySize": len(b),
                                 "postData": {"mimeType": "application/octet-stream",
                                              "text": base64.b64encode(b).decode(),
                                              "encoding": "base64"}},
                     "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                                  "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "text/plain"},
                                  "redirectURL": "", "headersSize": -1, "bodySize": 0},
                     "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
            out.write((b"," if i else b"") + json.dumps(entry).encode())
        out.write(b"]}}")
PY
}

# replay_measured NAME CAPTURE: sets RC, ELAPSED_MS and PEAK_KB (maximum resident set size).
replay_measured() {
  local name=$1 capture=$2 start
  start=$(date +%s%N)
  timeout -k 5 240 /usr/bin/time -f 'peak_kb=%M' "$bin" replay "$capture" --config "$WORK/vs.json" \
    --upstream stub --concurrency 8 --log "$WORK/$name.ndjson" -q >"$WORK/$name.out" 2>"$WORK/$name.err"
  RC=$?
  ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
  PEAK_KB=$(sed -n 's/^peak_kb=//p' "$WORK/$name.err" | tail -n 1)
  [ -n "$PEAK_KB" ] || PEAK_KB=0
}

for format in raw har; do
  make_capture "$format" 1000 "$WORK/small.$format"
  make_capture "$format" 10000 "$WORK/big.$format"
  replay_measured "small-$format" "$WORK/small.$format"
  small_kb=$PEAK_KB
  replay_measured "big-$format" "$WORK/big.$format"
  big_kb=$PEAK_KB
  expect_rc "big-$format" 0 "10,000 requests replayed"
  capture_kb=$(($(stat -c %s "$WORK/big.$format") / 1024))
  note "$format: capture ${capture_kb} KB; peak RSS ${small_kb} KB (1,000 requests), ${big_kb} KB (10,000) in ${ELAPSED_MS} ms"
  records "$WORK/big-$format.ndjson" --count 10000
  blocked=$(grep -c '"action":"ICAP_BLOCKED"' "$WORK/big-$format.ndjson")
  [ "$blocked" -eq 20 ] || fail "$format: $blocked blocked records, want the 20 EICAR uploads"
  passed=$(grep -c '"action":"ICAP_PASSED"' "$WORK/big-$format.ndjson")
  [ "$passed" -eq 9980 ] || fail "$format: $passed passed records, want 9980"
  [ "$big_kb" -gt 0 ] || fail "$format: no peak RSS measured"
  [ "$big_kb" -le $((small_kb + 10240)) ] ||
    fail "$format: peak RSS grew from ${small_kb} KB (1,000 requests) to ${big_kb} KB (10,000): memory is not bounded"
  [ "$big_kb" -lt "$capture_kb" ] ||
    fail "$format: peak RSS ${big_kb} KB is not below the capture's ${capture_kb} KB: bodies are held"
done
finish
