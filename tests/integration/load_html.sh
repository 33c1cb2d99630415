#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_port variables are set by start_serve (printf -v)
# `icapkit load --html` against `icapkit serve` (random 1-20 ms answers, EICAR uploads blocked),
# then the page as a reader meets it: rendered from a file:// URL in headless Chromium
# (render_page.py, Selenium with chromedriver) with no console errors and nothing loaded but the
# page, each of the three SVG plots with a size, drawn marks and coloured pixels inside its box on
# the screenshot; the page's counts agree with the --json summary of the same run.
# Chromium, chromedriver, Selenium and Pillow come from scripts/deps: missing, the test fails.
# ICAPKIT_KEEP_WORK=1 keeps the work directory with report.html and report.png.
# Usage: load_html.sh ICAPKIT_BINARY SOURCE_DIR
set -u
. "$2/tests/integration/itest_lib.sh"
itest_init load_html "$1" "$2"
# shellcheck source=tests/integration/proxy_lib.sh
. "$itest_dir/proxy_lib.sh"

for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || die "$tool is not installed (scripts/deps installs chromium and chromium-driver)"
done
"$PY" -c 'import selenium, PIL' 2>/dev/null ||
  die "$PY cannot import selenium and PIL (scripts/deps installs python3-selenium and python3-pil)"

cat >"$WORK/scenario.json" <<'JSON'
{"name": "eicar-blocked", "rules": [
  {"name": "eicar", "match": {"contains": "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"},
   "verdict": {"type": "block", "threat": "EICAR-Test-File"},
   "delay": {"min_ms": 1, "max_ms": 20, "seed": 7}},
  {"name": "all", "verdict": "clean", "delay": {"min_ms": 1, "max_ms": 20, "seed": 7}}]}
JSON
start_serve icap --vendor opswat --scenario "$WORK/scenario.json"
url=icap://127.0.0.1:$icap_port/OMSScanReq-AV
note "icapkit serve :$icap_port"
json() { # json FILE EXPR: prints EXPR evaluated on the parsed FILE (as j)
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# --- an open-model run of 3 s at 100 req/s, a fifth EICAR: a series of 3+ seconds, blocked bars
icapkit run --limit 60 load --server "$url" --rate 100 --duration 3s --eicar-ratio 0.2 \
  --size 4k,32k --threshold 'p99<5s' --threshold 'errors<=0' \
  --html "$WORK/report.html" --json "$WORK/report.json" -q
expect_rc run 0 "the run and its thresholds pass"
[ -s "$WORK/report.html" ] || die "--html wrote no report ($(output run | tail -n 3))"
requests=$(json "$WORK/report.json" "j['counts']['requests']")
blocked=$(json "$WORK/report.json" "j['counts']['blocked']")
seconds=$(json "$WORK/report.json" "len(j['series'])")
[ "${blocked:-0}" -gt 0 ] || fail "report.json: no blocked requests with --eicar-ratio 0.2"
[ "${seconds:-0}" -ge 2 ] || fail "report.json: a series of ${seconds:-?} second(s) for a 3 s run"
grep -q "^<p class=\"lead\">$requests requests in " "$WORK/report.html" ||
  fail "report.html: the lead line does not count the $requests requests of report.json"
grep -q "data-outcome=\"blocked\"><text[^>]*>blocked</text>" "$WORK/report.html" ||
  fail "report.html: no blocked bar in the outcome plot"
grep -q ">$blocked ([0-9.]*%)</text>" "$WORK/report.html" ||
  fail "report.html: the outcome plot does not show the $blocked blocked requests"
grep -q '<td class="ok">passed</td>' "$WORK/report.html" || fail "report.html: no passed threshold"
grep -Eqi '<script|https?://|src=|href=|url\(' "$WORK/report.html" &&
  fail "report.html refers to a script or an external resource"

# --- the page in headless Chromium
note "rendering report.html in headless Chromium"
timeout -k 5 90 "$PY" "$itest_dir/render_page.py" "$WORK/report.html" "$WORK/report.png" \
  "$WORK/chromium-profile" "$WORK/chromedriver.log" latency-plot throughput-plot outcome-plot \
  >"$WORK/render.out" 2>&1
render_rc=$?
sed 's/^/    /' "$WORK/render.out"
if [ $render_rc -ne 0 ]; then
  fail "the rendered page failed its checks (render_page.py exit $render_rc; chromedriver log in $WORK/chromedriver.log)"
fi
[ -s "$WORK/report.png" ] || fail "no screenshot was taken"
finish
