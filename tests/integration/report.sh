#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2016 # NAME_port variables are set by start_serve (printf -v); '\$WORK' is literal
# `icapkit report` over records the real binary wrote (scan with its built-in engine, a scan
# that could not reach its server, replay through the in-process proxy against icapkit serve)
# and over the NSX ALB guide's 20.1-layout examples: the counts by action match the records, the
# EICAR threat and the blocked requests show, the failed scan is listed with FILE:LINE; JSON
# parses and carries the counts; HTML parses and has no script; bad lines are named FILE:LINE and
# skipped; stdin, --out, --top; bad flags and unreadable input exit 2 with one line; every flag
# of --help is in the man page. Every form icapkit writes reads: `scan --output json` piped in,
# the pretty-printed testdata/logs, one file mixing arrays, pretty and compact documents, an Avi
# export page and a broken document, a 32 MiB array on stdin in bounded memory, and `serve --log`
# (summarised apart from the records).
# Usage: report.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init report "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"
samples=$src/testdata/samples

# --- records from the real subcommands
icapkit scan scan --output ndjson "$samples"/*.txt "$samples"/*.com "$samples"/*.html "$samples"/*.pdf
expect_rc scan 1 "EICAR blocked by the built-in engine"
cp "$WORK/scan.out" "$WORK/scan.ndjson"
# A server that answers OPTIONS and closes without answering the REQMOD: an ICAP_FAILED record.
"$PY" "$itest_dir/fake_servers.py" close "$WORK/close.port" 2>"$WORK/close.log" </dev/null &
background_pids+=($!)
wait_for 30 test -s "$WORK/close.port" || die "fake_servers.py close did not start"
icapkit unreachable scan --server "icap://127.0.0.1:$(cat "$WORK/close.port")/OMSScanReq-AV" \
  --output ndjson "$samples/clean.txt"
expect_rc unreachable 2 "the ICAP server closed the connection without an answer"
cp "$WORK/unreachable.out" "$WORK/failed.ndjson"

start_serve icap --vendor opswat
icap_servers=127.0.0.1:$icap_port
vs_config "$WORK/vs.json" '{}'
icapkit replay --limit 60 replay "$src"/testdata/captures/raw/*.http --config "$WORK/vs.json" \
  --log "$WORK/replay.ndjson" -q
expect_rc replay 0 "the raw captures replayed"
validate "$WORK/scan.ndjson"
validate "$WORK/failed.ndjson"
validate "$WORK/replay.ndjson"

# The guide's examples are pretty-printed JSON; as NDJSON, one record a line.
"$PY" - "$WORK/avi.ndjson" "$src"/testdata/logs/avi-20.1-*.json <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    for name in sorted(sys.argv[2:]):
        out.write(json.dumps(json.load(open(name))) + "\n")
PY
inputs=("$WORK/scan.ndjson" "$WORK/failed.ndjson" "$WORK/replay.ndjson" "$WORK/avi.ndjson")

# What the records hold, counted independently of icapkit.
"$PY" - "${inputs[@]}" >"$WORK/expected.json" <<'PY'
import collections, json, sys
actions, sources, records, adf_blocked = collections.Counter(), collections.Counter(), 0, 0
for name in sys.argv[1:]:
    for line in open(name):
        if line.strip():
            r = json.loads(line)
            records += 1
            log = r.get("icap_log", r)
            actions[log["action"]] += 1
            sources[r.get("source", "unknown")] += 1
            adf_blocked += "ADF_ICAP_BLOCKED" in r.get("significant_log", [])
json.dump({"records": records, "actions": actions, "sources": sources, "adf_blocked": adf_blocked},
          sys.stdout)
PY
expected() { "$PY" -c 'import json,sys; print(eval(sys.argv[2], {}, json.load(open(sys.argv[1]))))' "$WORK/expected.json" "$1"; }
blocked=$(expected 'actions.get("ICAP_BLOCKED", 0)')
passed=$(expected 'actions.get("ICAP_PASSED", 0)')
[ "$blocked" -ge 4 ] || fail "want at least 4 blocked records from scan, replay and the guide, got $blocked"
[ "$(expected 'actions.get("ICAP_FAILED", 0)')" -ge 1 ] || fail "the unreachable scan wrote no ICAP_FAILED record"

# --- human
icapkit human report "${inputs[@]}"
expect_rc human 0 "a report over good records"
expect_output human "^icapkit report: $(expected records) records in 4 files" "the number of records and files"
expect_output human "^  ICAP_BLOCKED +$blocked +[0-9.]+%$" "the blocked count ($blocked)"
expect_output human "^  ICAP_PASSED +$passed +[0-9.]+%$" "the passed count ($passed)"
expect_output human "^  EICAR" "the EICAR threat"
expect_output human "^  ICAP_VENDOR_OPSWAT " "the vendor"
expect_output human "^  ICAP-POOL-GROUP +3 " "the pool of the guide's examples"
expect_output human "^latency of [0-9]+ ICAP requests \(ms\): min [0-9.]+  p50 [0-9.]+  p90 [0-9.]+  p95 [0-9.]+  p99 [0-9.]+  max 1275  mean" "the latency percentiles"
expect_output human "^  1275 ms  \\\$WORK/avi.ndjson:[0-9]  ICAP_BLOCKED  ICAP 200  HTTP 403  icap://100.64.3.15:1344/OMSScanReq-AV   Infected: EICAR" "the guide's blocked request as the slowest, with its threat"
expect_output human "^failed \([0-9]+\)" "the failed section"
expect_output human "^  \\\$WORK/failed.ndjson:1  ICAP_FAILED .*clean.txt" "the failed scan with FILE:LINE"
expect_output human "^    [0-9]{2} ms  \\\$WORK/avi.ndjson:[0-9]  ICAP_BLOCKED" "the latencies aligned"
[ ! -s "$WORK/human.err" ] || { fail "human: stderr not empty for good input"; show human; }

# --- JSON
icapkit json report --output json "${inputs[@]}"
expect_rc json 0 "JSON output"
"$PY" - "$WORK/json.out" "$WORK/expected.json" <<'PY' || fail "json: the report does not match the records (see above)"
import json, sys
report, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
problems = []
if report["records"] != want["records"]:
    problems.append(f"records {report['records']} != {want['records']}")
if report["counts"]["actions"] != want["actions"]:
    problems.append(f"actions {report['counts']['actions']} != {want['actions']}")
if report["counts"]["sources"] != want["sources"]:
    problems.append(f"sources {report['counts']['sources']} != {want['sources']}")
if not any(t.startswith("EICAR") for t in report["counts"]["threats"]):
    problems.append(f"no EICAR threat in {report['counts']['threats']}")
if not any(r["file"].endswith("failed.ndjson") and r["action"] == "ICAP_FAILED" for r in report["failed_records"]):
    problems.append(f"the failed scan is not in failed_records: {report['failed_records']}")
# Every blocked request here was answered 403 (scan: the ICAP server's; proxy: the client's).
if report["counts"]["http_status"].get("403") != want["actions"]["ICAP_BLOCKED"]:
    problems.append(f"http_status {report['counts']['http_status']}: want 403 for each blocked request")
if report["counts"]["significance"].get("ADF_ICAP_BLOCKED") != want["adf_blocked"]:
    problems.append(f"significance {report['counts']['significance']}: want ADF_ICAP_BLOCKED {want['adf_blocked']}")
if report["latency_ms"]["max"] != 1275:
    problems.append(f"latency max {report['latency_ms']['max']}, want 1275")
if list(report)[:4] != ["records", "request_logs", "unreadable_lines", "failed"]:
    problems.append(f"member order {list(report)}")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY

# --- HTML to a file; stdin as input
icapkit html --stdin "$WORK/scan.ndjson" report --output html -o "$WORK/report.html" - "$WORK/avi.ndjson"
expect_rc html 0 "HTML output to --out"
[ ! -s "$WORK/html.out" ] || fail "html: -o given, yet something went to stdout"
"$PY" - "$WORK/report.html" <<'PY' || fail "report.html is not a self-contained page with the counts (see above)"
import sys
from html.parser import HTMLParser
class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.links = [], [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]
    def handle_data(self, data):
        self.text.append(data)
page = Page()
page.feed(open(sys.argv[1], encoding="utf-8").read())
page.close()
text = " ".join(page.text)
problems = []
if "script" in page.tags: problems.append("a <script> element")
if page.links: problems.append(f"external references {page.links}")
for want in ("table", "style", "title"):
    if want not in page.tags: problems.append(f"no <{want}>")
for want in ("ICAP_BLOCKED", "EICAR", "(stdin)", "avi.ndjson"):
    if want not in text: problems.append(f"no '{want}' in the text")
if problems:
    print("; ".join(problems)); sys.exit(1)
PY

# --- bad lines: named FILE:LINE, skipped, counted
{
  head -n 1 "$WORK/scan.ndjson"
  echo '{"icap_log": {"action": "ICAP_PASSED"'
  echo '{"icap_log": {"action": "ICAP_MAYBE"}}'
  echo
  sed -n 2p "$WORK/scan.ndjson"
} >"$WORK/bad.ndjson"
icapkit bad report "$WORK/bad.ndjson"
expect_rc bad 0 "some lines are good"
expect_output bad '^\$WORK/bad.ndjson:2: ' "the truncated line as FILE:LINE"
expect_output bad '^\$WORK/bad.ndjson:3: icap_log.action: ' "the unknown action as FILE:LINE: field"
expect_output bad "warning: 2 unreadable line" "the warning count"
expect_output bad "^icapkit report: 2 records in 1 file, .*, 2 unreadable lines" "the report of the good lines"
icapkit badquiet report -q --output json "$WORK/bad.ndjson"
expect_rc badquiet 0 "-q with some good lines"
[ ! -s "$WORK/badquiet.err" ] || { fail "badquiet: -q still printed warnings"; show badquiet; }
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["unreadable_lines"] == 2 and r["unreadable"][0]["line"] == 2 else 1)' \
  "$WORK/badquiet.out" || fail "badquiet: the JSON report does not count the 2 unreadable lines"
printf 'not json\n{"icap_log": 3}\n' >"$WORK/allbad.ndjson"
icapkit allbad report "$WORK/allbad.ndjson"
expect_rc allbad 2 "no document could be read" && expect_output allbad "no document could be read" "why"

: >"$WORK/empty.ndjson"
icapkit empty report "$WORK/empty.ndjson"
expect_rc empty 0 "an empty log is not an error" && expect_output empty "^icapkit report: 0 records in 1 file" "the empty report"

# --- --top bounds the lists
icapkit top report --top 1 --output json "${inputs[@]}"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if len(r["slowest"]) == 1 and r["slowest"][0]["latency_ms"] == 1275 else 1)' \
  "$WORK/top.out" || fail "top: --top 1 does not list just the slowest record"

# --- every form icapkit writes: scan --output json piped in (a pretty-printed array)
scan_inputs=("$samples"/*.txt "$samples"/*.com "$samples"/*.html "$samples"/*.pdf)
timeout -k 5 60 "$bin" scan --output json "${scan_inputs[@]}" 2>"$WORK/scanjson.scan.err" </dev/null |
  tee "$WORK/scan.json" | timeout -k 5 60 "$bin" report --output json - >"$WORK/scanjson.out" 2>"$WORK/scanjson.err"
rcs=("${PIPESTATUS[@]}")
[ "${rcs[0]}" = 1 ] || fail "scan --output json: exit ${rcs[0]}, want 1 (EICAR blocked)"
[ "${rcs[2]}" = 0 ] || { fail "scan --output json | report -: exit ${rcs[2]}, want 0"; cat "$WORK/scanjson.err" >&2; }
[ ! -s "$WORK/scanjson.err" ] || { fail "scan --output json | report -: stderr not empty"; head -n 5 "$WORK/scanjson.err" >&2; }
"$PY" - "$WORK/scanjson.out" "$WORK/scan.json" "$WORK/scan.ndjson" <<'PY' || fail "scan --output json | report -: the report does not match the scan (see above)"
import collections, json, sys
report, array = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ndjson = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
want = collections.Counter(r["icap_log"]["action"] for r in ndjson)
problems = []
if not isinstance(array, list) or len(array) != len(ndjson):
    problems.append(f"scan --output json is not an array of {len(ndjson)} records")
if report["records"] != len(ndjson) or report["unreadable_lines"] != 0:
    problems.append(f"records {report['records']}, unreadable {report['unreadable_lines']}: want {len(ndjson)}, 0")
if report["counts"]["actions"] != want:
    problems.append(f"actions {report['counts']['actions']} != {dict(want)}")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY

# The guide's examples as the project keeps them (pretty-printed files, two of them bare IcapLogs).
icapkit guide report --output json "$src"/testdata/logs/*.json
expect_rc guide 0 "the pretty-printed examples"
[ ! -s "$WORK/guide.err" ] || { fail "guide: warnings for testdata/logs"; show guide; }
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["records"] == 4 and r["unreadable_lines"] == 0 else 1)' \
  "$WORK/guide.out" || fail "guide: testdata/logs/*.json did not give 4 records and no unreadable line"

# One file mixing a pretty array, pretty and compact documents, an Avi export page
# ({"count", "results"} as the analytics API answers) and a broken pretty document: every
# record is read, the broken one is named by the line it begins on.
"$PY" - "$WORK/mixed.json" "$WORK/mixed.expected" "$WORK/scan.json" "$WORK/scan.ndjson" \
  "$src"/testdata/logs/avi-20.1-*.json <<'PY'
import json, sys
out_name, expected_name, array_name, ndjson_name, guide = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
parts, records = [], 0
array = json.load(open(array_name))
parts.append(json.dumps(array, indent=2)); records += len(array)
for name in guide:
    parts.append(open(name).read().strip()); records += 1
parts.append("{\n  \"icap_log\": {\n    \"action\": \"ICAP_PASSED\"\n    \"request_logs\": []\n  }\n}")
broken_index = len(parts) - 1
page = {"count": len(guide), "results": [json.load(open(n)) for n in guide], "next": None}
parts.append(json.dumps(page, indent=4)); records += len(guide)
ndjson = [l.strip() for l in open(ndjson_name) if l.strip()]
parts.append("\n".join(ndjson)); records += len(ndjson)
parts.append("[]")
text = ""
for i, part in enumerate(parts):
    if i == broken_index:
        broken_line = text.count("\n") + 1
    text += part + ("\n\t \r\n" if i % 2 else "\n")
open(out_name, "w").write("\ufeff" + text)
open(expected_name, "w").write(f"{records} {broken_line}\n")
PY
read -r mixed_records broken_line <"$WORK/mixed.expected"
icapkit mixed report --output json "$WORK/mixed.json"
expect_rc mixed 0 "a mixed file with one broken document"
expect_output mixed "^\\\$WORK/mixed.json:$broken_line: invalid JSON: expected ',' or '}'" "the broken document as FILE:LINE"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["records"] == int(sys.argv[2]) and r["unreadable_lines"] == 1 else 1)' \
  "$WORK/mixed.out" "$mixed_records" || fail "mixed: want $mixed_records records and 1 unreadable document"

# Streaming: a 32 MiB pretty-printed array on stdin is read one element at a time (loading it
# whole would take several times its size).
"$PY" - "$src/testdata/logs/avi-20.1-blocked.json" "$WORK/big.count" <<'PY' |
import json, sys
text = json.dumps(json.load(open(sys.argv[1])), indent=2)
n = (32 << 20) // (len(text) + 2)
open(sys.argv[2], "w").write(f"{n}\n")
sys.stdout.write("[\n")
for i in range(n):
    sys.stdout.write(text + (",\n" if i < n - 1 else "\n"))
sys.stdout.write("]\n")
PY
  timeout -k 5 120 /usr/bin/time -f %M -o "$WORK/big-rss-kib" "$bin" report --output json - \
    >"$WORK/big.out" 2>"$WORK/big.err"
big_records=$(cat "$WORK/big.count")
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["records"] == int(sys.argv[2]) and r["unreadable_lines"] == 0 else 1)' \
  "$WORK/big.out" "$big_records" || { fail "big: a 32 MiB array did not give its $big_records records"; head -n 3 "$WORK/big.err" >&2; }
big_rss=$(tail -n 1 "$WORK/big-rss-kib" 2>/dev/null)
if ! [[ $big_rss =~ ^[0-9]+$ ]]; then
  fail "big: /usr/bin/time did not report a peak RSS ($(cat "$WORK/big-rss-kib" 2>&1))"
elif [ "$big_rss" -ge $((24 * 1024)) ]; then
  fail "big: peak RSS $((big_rss / 1024)) MiB for a 32 MiB array, want under 24 MiB (read one record at a time)"
else
  note "peak RSS of report over a 32 MiB array: ${big_rss} KiB"
fi

# --- icapkit serve --log: the server's side, summarised apart from the records
cp "$WORK/icap.serve.ndjson" "$WORK/served.ndjson" # a snapshot: the server is still running
served=$(grep -c . "$WORK/served.ndjson")
[ "$served" -gt 0 ] || fail "serve --log wrote nothing during the replay"
icapkit served report --output json "$WORK/served.ndjson"
expect_rc served 0 "serve's log alone"
[ ! -s "$WORK/served.err" ] || { fail "served: warnings for serve's log"; show served; }
"$PY" - "$WORK/served.out" "$WORK/served.ndjson" <<'PY' || fail "served: the report does not match serve's log (see above)"
import collections, json, sys
report = json.load(open(sys.argv[1]))
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
problems = []
serve = report.get("serve", {})
if serve.get("transactions") != len(lines) or report["unreadable_lines"] != 0 or report["records"] != 0:
    problems.append(f"serve {serve.get('transactions')}, records {report['records']}, unreadable {report['unreadable_lines']}: want {len(lines)}, 0, 0")
for name, key in (("decisions", "decision"), ("methods", "method")):
    want = collections.Counter(l[key] for l in lines)
    if serve.get("counts", {}).get(name) != want:
        problems.append(f"{name} {serve.get('counts', {}).get(name)} != {dict(want)}")
if serve.get("time_ms", {}).get("count") != len(lines):
    problems.append(f"time_ms {serve.get('time_ms')}")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY
icapkit servedh report "$WORK/replay.ndjson" "$WORK/served.ndjson"
expect_rc servedh 0 "records and serve's log together"
expect_output servedh "^icapkit report: [0-9]+ records in 2 files, .*, $served icapkit serve transactions" "the serve transactions beside the records"
expect_output servedh "^icapkit serve: time to answer $served transactions \(ms\): min" "serve's time to answer"
expect_output servedh "^icapkit serve: decisions \(of $served transactions\)" "serve's decisions"

# --- usage errors: exit 2, one line naming the problem
icapkit badflag report --bogus "$WORK/scan.ndjson"
expect_rc badflag 2 "an unknown flag" && expect_output badflag "--bogus" "the flag"
[ "$(wc -l <"$WORK/badflag.err")" -eq 1 ] || { fail "badflag: more than one line on stderr"; show badflag; }
icapkit badoutput report --output xml "$WORK/scan.ndjson"
expect_rc badoutput 2 "an unknown --output" && expect_output badoutput "--output" "the flag"
[ "$(wc -l <"$WORK/badoutput.err")" -eq 1 ] || { fail "badoutput: more than one line on stderr"; show badoutput; }
icapkit missing report "$WORK/no-such.ndjson"
expect_rc missing 2 "a file that does not exist" && expect_output missing "no-such.ndjson" "the file"
icapkit directory report "$WORK"
expect_rc directory 2 "a directory" && expect_output directory "is a directory" "why"
icapkit nofile report
expect_rc nofile 2 "no FILE given"
icapkit unwritable report -o "$WORK/no-such-dir/r.txt" "$WORK/scan.ndjson"
expect_rc unwritable 2 "--out in a missing directory" && expect_output unwritable "--out .*cannot be written" "the output file"

# --- every flag of --help is in the man page
icapkit help report --help
for flag in $(grep -oE -- '--[a-z][a-z0-9-]+' "$WORK/help.out" | sort -u); do
  [ "$flag" = --help ] && continue
  grep -q -- "Fl ${flag#-}" "$src/man/icapkit-report.1" || fail "icapkit-report.1 does not document $flag"
done
finish
