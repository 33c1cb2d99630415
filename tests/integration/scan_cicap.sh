#!/usr/bin/env bash
# `icapkit scan` and `icapkit options` against the real reference peers: c-icap 0.5.10 with the
# virus_scan module over clamd (custom signature DB), its echo and ex206 services. One lab, many
# checks: verdicts over REQMOD and RESPMOD, threat names, preview boundary, --no-204, 206 merge,
# directories, stdin, --jobs, OPTIONS, and every NDJSON record against the schema.
# Usage: scan_cicap.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init scan_cicap "$1" "$2"

threat=Test.EICAR.Custom-NDB.UNOFFICIAL
start_lab
avscan=icap://127.0.0.1:$ICAP_PORT/avscan
loopback_ip=2130706433 # 127.0.0.1 as Avi writes icap_server_ip

# ---- samples -------------------------------------------------------------------------------
s=$WORK/samples
mkdir -p "$s"
cp "$EICAR" "$s/eicar.com"
text_kb() { # text_kb KB: readable text of about KB kilobytes
  local i
  for i in $(seq 1 $(($1 * 1024 / 64))); do printf 'line %04d: plain text that no scanner objects to ...........\n' "$i"; done
}
text_kb 3 >"$s/clean.txt"
{ text_kb 3; cat "$EICAR"; } >"$s/eicar-appended.txt"
# EICAR at byte 8000, far past a 1024-byte preview, followed by more text.
{ text_kb 8 | head -c 8000; cat "$EICAR"; text_kb 2; } >"$s/eicar-late.txt"
cat >"$s/page.html" <<'HTML'
<!DOCTYPE html>
<html lang="en">
<head><title>icapkit ex206 page</title></head>
<body>
<p>Hello from the icapkit integration tests.</p>
</body>
</html>
HTML
eicar_sha=$(sha256 "$s/eicar.com")

blocked_checks=(icap_log.action=ICAP_BLOCKED icap_log.request_logs.0.action=ICAP_BLOCKED
  icap_log.request_logs.0.icap_response_code=200 icap_log.request_logs.0.http_response_code=403
  significant=true significant_log~ADF_ICAP_BLOCKED)

# ---- OPTIONS --------------------------------------------------------------------------------
# The ISTag c-icap itself reports, read with c-icap-client, so the check does not trust icapkit.
istag=$(timeout 10 c-icap-client -i 127.0.0.1 -p "$ICAP_PORT" -s avscan -v 2>&1 |
  sed -n 's/^[[:space:]]*ISTag: *//p' | tr -d '"\r' | head -n 1)
[ -n "$istag" ] || fail "c-icap-client could not read avscan's ISTag (lab broken?)"

icapkit options options "$avscan"
if expect_rc options 0 "OPTIONS 200 from avscan"; then
  expect_output options "Methods.*(RESPMOD.*REQMOD|REQMOD.*RESPMOD)" "the service's Methods"
  expect_output options "ISTag.*${istag//+/\\+}" "avscan's ISTag ($istag)"
  expect_output options "Preview[^0-9]*1024" "Preview 1024"
  expect_output options "Allow[^0-9]*204" "Allow: 204"
  expect_output options "Options-TTL[^0-9]*3600" "Options-TTL 3600"
fi
icapkit options-json options --output json "$avscan"
if expect_rc options-json 0 "OPTIONS 200 from avscan, JSON"; then
  "$PY" - "$WORK/options-json.out" "$istag" <<'PY' || fail "options --output json: $(cat "$WORK/options-json.check")"
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except ValueError as e:
    open(sys.argv[1].replace(".out", ".check"), "w").write(f"stdout is not one JSON document: {e}")
    sys.exit(1)
text = json.dumps(doc)
missing = [w for w in (sys.argv[2], "1024", "REQMOD", "RESPMOD") if w not in text]
open(sys.argv[1].replace(".out", ".check"), "w").write(f"JSON lacks {missing}: {text[:300]}")
sys.exit(1 if missing else 0)
PY
fi
icapkit options-nosuch options "icap://127.0.0.1:$ICAP_PORT/nosuch"
expect_rc options-nosuch 2 "c-icap answers 404 for an unknown service"
expect_output options-nosuch "404|not found" "that the service does not exist"

# ---- EICAR, REQMOD (the default mode: the upload a browser would make) --------------------------
log=$WORK/eicar-reqmod.ndjson
icapkit eicar-reqmod scan --server "$avscan" --vendor generic --log "$log" "$s/eicar.com"
expect_rc eicar-reqmod 1 "EICAR uploaded (REQMOD) is blocked"
expect_output eicar-reqmod "$threat" "the threat name"
expect_output eicar-reqmod "eicar\.com" "the file name"
expect_output eicar-reqmod "block" "the verdict (blocked)"
validate "$log"
records "$log" --count 1 --file eicar.com "${blocked_checks[@]}" \
  icap_log.request_logs.0.icap_method=ICAP_METHOD_REQMOD \
  icap_log.request_logs.0.http_method=HTTP_METHOD_POST \
  icap_log.request_logs.0.vendor=ICAP_VENDOR_GENERIC \
  icap_log.request_logs.0.opswat_log.threat_id=$threat \
  icap_log.request_logs.0.icap_server_ip=$loopback_ip \
  icap_log.request_logs.0.icap_server_port="$ICAP_PORT" \
  icap_log.request_logs.0.icap_absolute_uri~/avscan \
  icap_log.request_logs.0.icap_headers_received_from_server~X-Infection-Found \
  icap_log.request_logs.0.icap_headers_received_from_server!~"ICAP/1.0 200" \
  source=scan file.size=68 file.sha256="$eicar_sha"

# ---- EICAR, RESPMOD, OPSWAT vendor (the profile default) and the legacy layout ----------------
log=$WORK/eicar-respmod.ndjson
icapkit eicar-respmod scan --server "$avscan" --mode respmod --vendor opswat --log "$log" "$s/eicar.com"
expect_rc eicar-respmod 1 "EICAR downloaded (RESPMOD) is blocked"
expect_output eicar-respmod "$threat" "the threat name"
validate "$log"
records "$log" --count 1 --file eicar.com "${blocked_checks[@]}" \
  icap_log.request_logs.0.icap_method=ICAP_METHOD_RESPMOD \
  icap_log.request_logs.0.vendor=ICAP_VENDOR_OPSWAT \
  icap_log.request_logs.0.opswat_log.threat_id=$threat

log=$WORK/eicar-legacy.ndjson
icapkit eicar-legacy scan --server "$avscan" --log-layout legacy --log "$log" "$s/eicar.com"
expect_rc eicar-legacy 1 "EICAR is blocked (legacy log layout)"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_BLOCKED \
  icap_log.request_logs.0.threat_id=$threat icap_log.request_logs.0.opswat_log!

# ---- clean file --------------------------------------------------------------------------------
log=$WORK/clean.ndjson
icapkit clean scan --server "$avscan" --log "$log" "$s/clean.txt"
expect_rc clean 0 "a clean file passes"
expect_output clean "pass|clean" "the verdict (passed)"
expect_no_output clean "$threat" "a threat for a clean file"
validate "$log"
records "$log" --count 1 --file clean.txt icap_log.action=ICAP_PASSED \
  icap_log.request_logs.0.action=ICAP_PASSED icap_log.request_logs.0.icap_response_code=204 \
  significant=false file.size="$(stat -c %s "$s/clean.txt")" file.sha256="$(sha256 "$s/clean.txt")"

# ---- EICAR inside larger bodies ------------------------------------------------------------------
log=$WORK/appended.ndjson
icapkit appended scan --server "$avscan" --log "$log" "$s/eicar-appended.txt"
expect_rc appended 1 "EICAR appended to 3 KB of text is blocked"
expect_output appended "$threat" "the threat name"
validate "$log"
records "$log" --count 1 "${blocked_checks[@]}" icap_log.request_logs.0.opswat_log.threat_id=$threat

log=$WORK/late.ndjson
icapkit late scan --server "$avscan" --preview 1024 --log "$log" "$s/eicar-late.txt"
expect_rc late 1 "EICAR at byte 8000, past a 1024-byte preview, is blocked"
expect_output late "$threat" "the threat name"
validate "$log"
records "$log" --count 1 "${blocked_checks[@]}" \
  icap_log.request_logs.0.icap_headers_sent_to_server~"Preview: 1024"

# ---- --no-204: the server must return the whole body, unchanged ---------------------------------
log=$WORK/no204.ndjson
icapkit no204 scan --server "$avscan" --mode respmod --no-204 --save-modified "$WORK/no204-saved" \
  --log "$log" "$s/clean.txt"
expect_rc no204 0 "a clean file passes with --no-204"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_PASSED icap_log.request_logs.0.icap_response_code=200 \
  icap_log.request_logs.0.icap_headers_sent_to_server!~"Allow: 204"
if [ ! -f "$WORK/no204-saved/clean.txt" ]; then
  fail "no204: --save-modified did not save the body c-icap returned as no204-saved/clean.txt (has: $(ls "$WORK/no204-saved" 2>&1 | tr '\n' ' '))"
elif ! cmp -s "$s/clean.txt" "$WORK/no204-saved/clean.txt"; then
  fail "no204: the body returned with ICAP 200 differs from the file sent (c-icap returns it unmodified)"
fi

# ---- echo streams a 1 MiB body back while still receiving it ---------------------------------
# c-icap starts answering (200 + body) before the request body is complete; the client must keep
# sending while it reads (ERRATA e7), or both sides wait on each other until a deadline fires.
# --preview off: 0.5.10's echo answers previews alternately with 204 and 100 (see scan_large.sh).
head -c $((1024 * 1024)) /dev/urandom >"$s/stream.bin"
log=$WORK/echo-stream.ndjson
icapkit echo-stream scan --server "icap://127.0.0.1:$ICAP_PORT/echo" --no-204 --preview off \
  --timeout 10000 --save-modified "$WORK/echo-saved" --log "$log" "$s/stream.bin"
expect_rc echo-stream 0 "1 MiB echoed back unchanged passes"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_PASSED icap_log.request_logs.0.icap_response_code=200 \
  icap_log.request_logs.0.complete_body_sent=true
cmp -s "$s/stream.bin" "$WORK/echo-saved/stream.bin" ||
  fail "echo-stream: the saved copy of a 1 MiB body echoed by c-icap is missing or differs"

# ---- ex206: Allow: 206 and use-original-body ----------------------------------------------------
# The reference is what c-icap-client -206 -o produces, but c-icap-client 0.5.10 writes an empty
# file for a 206 ("use -1 from the original body data", reference/icap-protocol.md 1.6). So the
# expected bytes come from icap_ref.py, an independent client that applies the documented merge
# (returned chunks + original body from use-original-body=N), and are checked to be the page with
# c-icap's comment inserted right after the <html ...> tag and nothing else changed. Should a
# c-icap-client ever write the merged body, it is compared as well.
url=http://example.test/page.html
status=$("$PY" "$itest_dir/icap_ref.py" respmod-206 "$ICAP_PORT" ex206 "$s/page.html" "$url" \
  "$WORK/expected-206.html" 2>&1)
[ "$status" = 206 ] || fail "ex206 did not answer 206 to the reference client (got: $status)"
"$PY" - "$s/page.html" "$WORK/expected-206.html" <<'PY' || fail "the reference 206 merge is not the page plus one comment after <html ...>"
import re, sys
original, merged = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
end_of_tag = re.search(rb"<html[^>]*>", original).end()
inserted = merged[end_of_tag:len(merged) - (len(original) - end_of_tag)]
ok = (merged.startswith(original[:end_of_tag]) and merged.endswith(original[end_of_tag:])
      and b"<!--" in inserted and b"-->" in inserted and len(merged) > len(original))
sys.exit(0 if ok else 1)
PY
timeout 10 c-icap-client -i 127.0.0.1 -p "$ICAP_PORT" -s ex206 -f "$s/page.html" -resp "$url" -206 \
  -o "$WORK/cicap-client-206.html" >"$WORK/cicap-client-206.log" 2>&1

log=$WORK/ex206.ndjson
icapkit ex206 scan --server "icap://127.0.0.1:$ICAP_PORT/ex206" --mode respmod --url "$url" \
  --allow-206 --save-modified "$WORK/ex206-saved" --log "$log" "$s/page.html"
expect_rc ex206 1 "content modified by the server (206) counts as modified"
validate "$log"
records "$log" --count 1 icap_log.action=ICAP_MODIFIED icap_log.request_logs.0.action=ICAP_MODIFIED \
  icap_log.request_logs.0.icap_response_code=206 significant_log~ADF_ICAP_MODIFIED \
  icap_log.request_logs.0.icap_headers_sent_to_server~206
saved=$WORK/ex206-saved/page.html
if [ ! -f "$saved" ]; then
  fail "ex206: --save-modified did not write ex206-saved/page.html (has: $(ls "$WORK/ex206-saved" 2>&1 | tr '\n' ' '))"
elif ! cmp -s "$WORK/expected-206.html" "$saved"; then
  fail "ex206: the saved page is not the 206 merge (c-icap's comment after <html>, then the original from use-original-body):"
  diff "$WORK/expected-206.html" "$saved" | head -n 10 | sed 's/^/    /' >&2
fi
if [ -s "$WORK/cicap-client-206.html" ] && ! cmp -s "$WORK/cicap-client-206.html" "$saved"; then
  fail "ex206: the saved page differs from what c-icap-client -206 -o wrote"
fi

# ---- a directory with -r -------------------------------------------------------------------------
mkdir -p "$WORK/tree/sub/deeper"
cp "$s/clean.txt" "$WORK/tree/a.txt"
cp "$s/page.html" "$WORK/tree/sub/b.html"
cp "$s/eicar.com" "$WORK/tree/sub/deeper/infected.com"
log=$WORK/tree.ndjson
icapkit tree scan --server "$avscan" -r --log "$log" "$WORK/tree"
expect_rc tree 1 "a tree holding one EICAR file"
expect_output tree "infected\.com" "the infected file's name"
validate "$log"
records "$log" --files a.txt,b.html,infected.com
records "$log" --file infected.com "${blocked_checks[@]}"
records "$log" --file a.txt icap_log.action=ICAP_PASSED
records "$log" --file b.html icap_log.action=ICAP_PASSED

# ---- stdin ------------------------------------------------------------------------------------------
icapkit stdin-eicar --stdin "$s/eicar.com" scan --server "$avscan" --output ndjson -
expect_rc stdin-eicar 1 "EICAR on stdin is blocked"
validate "$WORK/stdin-eicar.out"
records "$WORK/stdin-eicar.out" --count 1 "${blocked_checks[@]}" file.size=68 file.sha256="$eicar_sha"
icapkit stdin-clean --stdin "$s/clean.txt" scan --server "$avscan" --log "$WORK/stdin-clean.ndjson" -
expect_rc stdin-clean 0 "clean text on stdin passes"
validate "$WORK/stdin-clean.ndjson"
records "$WORK/stdin-clean.ndjson" --count 1 icap_log.action=ICAP_PASSED

# ---- many files in parallel ------------------------------------------------------------------------
mkdir -p "$WORK/many"
names=()
for i in $(seq -w 1 10); do
  { echo "file $i"; text_kb 1; } >"$WORK/many/clean$i.txt"
  names+=("clean$i.txt")
done
cp "$s/eicar.com" "$WORK/many/virus1.com"
cp "$s/eicar-appended.txt" "$WORK/many/virus2.txt"
names+=(virus1.com virus2.txt)
log=$WORK/jobs.ndjson
icapkit jobs scan --server "$avscan" --jobs 4 --log "$log" "$WORK"/many/*
expect_rc jobs 1 "12 files, two of them infected"
validate "$log"
records "$log" --count 12 --files "$(IFS=,; echo "${names[*]}")"
records "$log" --file virus1.com "${blocked_checks[@]}"
records "$log" --file virus2.txt "${blocked_checks[@]}"
for name in "${names[@]:0:10}"; do
  records "$log" --file "$name" icap_log.action=ICAP_PASSED
done
note "jobs: 12 files with --jobs 4 in ${ELAPSED_MS} ms"

finish
