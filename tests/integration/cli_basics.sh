#!/usr/bin/env bash
# What a new user sees first: --version, --help and `help SUBCOMMAND`; a clear one-line error with
# exit 2 on a bad flag, a bad number or a bad duration in every subcommand, naming the flag (and
# the closest known one); times with units everywhere; the same exit status for the same failure
# in serve and proxy; and scan against a server that is not there: one line, not one per file.
# Usage: cli_basics.sh ICAPKIT
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=itest_lib.sh
. "$src/tests/integration/itest_lib.sh"
itest_init cli_basics "$1" "$src"
subcommands=(options scan serve proxy replay report load)

out=$("$bin" --version) || fail "--version exited $?"
[[ $out =~ ^icapkit\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$out'"

out=$("$bin" --help) || fail "--help exited $?"
grep -q "Usage: icapkit" <<<"$out" || fail "--help has no usage line"
grep -q "icap_log" <<<"$out" || fail "--help does not say what icapkit writes"

# expect_usage NAME PATTERN WHAT: run NAME exited 2 with exactly one stderr line matching PATTERN
# (fixed string), nothing on stdout, and no 300-digit bound (CLI11's own range message).
expect_usage() {
  expect_rc "$1" 2 "$3" || return 1
  local lines
  lines=$(wc -l <"$WORK/$1.err")
  [ "$lines" -eq 1 ] || { fail "$1: $lines stderr lines for $3, want 1"; show "$1"; return 1; }
  grep -qF -- "$2" "$WORK/$1.err" || { fail "$1: stderr does not say \"$2\" ($3)"; show "$1"; }
  [ ! -s "$WORK/$1.out" ] || { fail "$1: printed on stdout for $3"; show "$1"; }
  if grep -Eq '[0-9]{20}' "$WORK/$1.err"; then
    fail "$1: the message holds a very long number ($3)"
    show "$1"
  fi
}

note "--help of scan and options lists every common flag"
out=$("$bin" scan --help) || fail "scan --help exited $?"
for flag in -r --server --profile --vendor --mode --url --method --content-type --multipart --preview \
  --no-204 --allow-206 --connect-timeout --timeout --slow-threshold --jobs --icap-header --http-header \
  --x-client-ip --save-modified --output --log --log-layout --cacert --cert --key --sni --tls-min \
  --insecure; do
  grep -q -- "$flag\b" <<<"$out" || fail "scan --help does not list $flag"
done
out=$("$bin" options --help) || fail "options --help exited $?"
for flag in --output --timeout --cacert --insecure; do
  grep -q -- "$flag\b" <<<"$out" || fail "options --help does not list $flag"
done

note "unknown flags are named, in every subcommand, before any other complaint"
icapkit topflag --no-such-flag
expect_usage topflag "unknown flag '--no-such-flag'" "an unknown top-level flag"
for sub in "${subcommands[@]}"; do
  icapkit "bogus-$sub" "$sub" --bogus
  expect_usage "bogus-$sub" "$sub: unknown flag '--bogus'" "an unknown flag of $sub"
  expect_no_output "bogus-$sub" "is required" "a missing argument instead of the unknown flag"
done
icapkit bogus-value report --bogus=1 "$0"
expect_usage bogus-value "report: unknown flag '--bogus'" "an unknown flag with =VALUE"
icapkit typo-flag scan --timout 5s /dev/null
expect_usage typo-flag "unknown flag '--timout'; did you mean '--timeout'?" "a mistyped flag"
icapkit typo-sub scna /dev/null
expect_usage typo-sub "unknown subcommand 'scna'; did you mean 'scan'?" "a mistyped subcommand"
icapkit typo-sub2 lod
expect_usage typo-sub2 "did you mean 'load'?" "a mistyped subcommand"
icapkit far-sub frobnicate
expect_usage far-sub "unknown subcommand 'frobnicate'" "an unknown subcommand"
expect_no_output far-sub "did you mean" "a suggestion for a name close to nothing"

note "icapkit help [SUBCOMMAND] prints what --help prints"
icapkit help-top help
expect_rc help-top 0 "icapkit help"
cmp -s "$WORK/help-top.out" <("$bin" --help) || fail "icapkit help differs from icapkit --help"
for sub in "${subcommands[@]}"; do
  icapkit "help-$sub" help "$sub"
  expect_rc "help-$sub" 0 "icapkit help $sub"
  if ! cmp -s "$WORK/help-$sub.out" <("$bin" "$sub" --help); then
    fail "icapkit help $sub differs from icapkit $sub --help"
  fi
  grep -q "Usage: icapkit $sub" "$WORK/help-$sub.out" || fail "icapkit help $sub has no usage line"
done
icapkit help-help help help
expect_rc help-help 0 "icapkit help help"
cmp -s "$WORK/help-help.out" <("$bin" help --help) || fail "icapkit help help differs from help --help"
icapkit help-typo help serv
expect_usage help-typo "did you mean 'serve'?" "help for a mistyped subcommand"

note "bad numbers say what the flag takes, in every subcommand"
icapkit rate load --rate abc --server icap://127.0.0.1:9/x
expect_usage rate "--rate: a number > 0, got 'abc'" "a rate that is not a number"
icapkit rate0 load --rate 0 --server icap://127.0.0.1:9/x
expect_usage rate0 "--rate: a number > 0, got '0'" "a zero rate"
icapkit ratio load --eicar-ratio 2 --server icap://127.0.0.1:9/x
expect_usage ratio "--eicar-ratio: a number from 0 to 1, got '2'" "a share above 1"
icapkit sample load --sample nan --server icap://127.0.0.1:9/x
expect_usage sample "--sample: a number from 0 to 1, got 'nan'" "a probability that is not a number"
icapkit conns load --connections -3 --server icap://127.0.0.1:9/x
expect_usage conns "--connections: a whole number from 1 to 100000, got '-3'" "negative connections"
icapkit reqs load --requests 1.5 --server icap://127.0.0.1:9/x
expect_usage reqs "--requests: a whole number from 1 to " "a fraction of a request"
icapkit lthreads load --threads 999 --server icap://127.0.0.1:9/x
expect_usage lthreads "--threads: a whole number from 1 to 256, got '999'" "too many threads"
icapkit jobs scan --jobs 0 /dev/null
expect_usage jobs "--jobs: a whole number from 1 to 256, got '0'" "zero jobs"
icapkit top report --top x "$0"
expect_usage top "--top: a whole number from 1 to 100000, got 'x'" "a --top that is not a number"
icapkit conc replay --concurrency 0 --target http://127.0.0.1:9 "$0"
expect_usage conc "--concurrency: a whole number from 1 to 1024, got '0'" "zero concurrency"
icapkit limit replay --limit -1 --target http://127.0.0.1:9 "$0"
expect_usage limit "--limit: a whole number from 1 to " "a negative limit"
icapkit hcount proxy --config "$src/testdata/proxy/example.json" --max-header-count 0
expect_usage hcount "--max-header-count: a whole number from 1 to 10000, got '0'" "zero header fields"
icapkit hbytes proxy --config "$src/testdata/proxy/example.json" --max-header-bytes 1k
expect_usage hbytes "--max-header-bytes: a whole number from 1024 to 1048576, got '1k'" \
  "a header limit with a unit"
icapkit pthreads proxy --config "$src/testdata/proxy/example.json" --threads many
expect_usage pthreads "--threads: a whole number from 0 to 1024, got 'many'" "threads as a word"
icapkit sthreads serve --threads -1
expect_usage sthreads "--threads: a whole number from 0 to 1024, got '-1'" "negative threads"
icapkit trickle serve --trickle-percent 0
expect_usage trickle "--trickle-percent: a whole number from 1 to 100, got '0'" "a zero share"
icapkit smax serve --max-connections lots
expect_usage smax "--max-connections: a whole number from 0 to 1000000, got 'lots'" \
  "a connection cap that is not a number"

note "times take units (500ms, 5s, 1m30s) in every subcommand; a bare number keeps its unit"
icapkit badtime scan --timeout 5x /dev/null
expect_usage badtime "--timeout: a duration from 1ms to 1h (e.g. 500ms, 5s, 1m30s; a bare number is ms), got '5x'" \
  "a time with an unknown unit"
icapkit longtime replay --timeout 2h --target http://127.0.0.1:9 "$0"
expect_usage longtime "--timeout: a duration from 1ms to 1h" "a time above the flag's maximum"
icapkit proxytime proxy --config "$src/testdata/proxy/example.json" --idle-timeout 1m30
expect_usage proxytime "--idle-timeout: a duration from 1ms to 1h" "a last part without a unit"
icapkit loadtime load --duration 5 --server icap://127.0.0.1:9/x
expect_usage loadtime "--duration: a duration with a unit (e.g. 30s, 2m, 1m30s), got '5'" \
  "a load duration without a unit"
icapkit units-scan --limit 20 scan --timeout 1m30s --connect-timeout 500ms --slow-threshold 2s500ms \
  /dev/null
expect_rc units-scan 0 "scan with --timeout 1m30s, --connect-timeout 500ms, --slow-threshold 2s500ms"
icapkit bare-scan --limit 20 scan --timeout 90000 --connect-timeout 5000 /dev/null
expect_rc bare-scan 0 "scan with bare-number (ms) timeouts"
closed=$(free_port)
icapkit units-load load --server "icap://127.0.0.1:$closed/x" --duration 1m30s --warmup 1s500ms \
  --ramp 10:1m30s --timeout 1m --connect-timeout 1s --slow-threshold 1s
expect_rc units-load 2 "load with units everywhere against a closed port"
expect_output units-load "cannot be reached" "the unreachable server (the flags were accepted)"
icapkit units-options options --timeout 1m30s --connect-timeout 2s "icap://127.0.0.1:$closed/x"
expect_rc units-options 2 "options with units against a closed port"
expect_output units-options "refused" "the refused connection (the flags were accepted)"

note "-k is --insecure, as in curl"
for sub in options scan load; do
  "$bin" "$sub" --help | grep -q -- "-k,--insecure" || fail "$sub --help does not list -k,--insecure"
done
icapkit k-options options -k "icaps://127.0.0.1:$closed/x"
expect_rc k-options 2 "options -k against a closed port"
expect_output k-options "warning: --insecure" "the --insecure warning for -k"
expect_output k-options "refused" "the refused connection (-k was accepted)"

note "a port that cannot be bound: serve and proxy both exit 2"
rm -f "$WORK/holder.ports"
"$bin" serve --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --port-file "$WORK/holder.ports" -q </dev/null \
  >"$WORK/holder.out" 2>&1 &
background_pids+=($!)
for _ in $(seq 1 300); do
  [ -s "$WORK/holder.ports" ] && break
  sleep 0.1
done
[ -s "$WORK/holder.ports" ] || die "icapkit serve (the port holder) did not write its port file"
held=$(sed -n 1p "$WORK/holder.ports")
held_tls=$(sed -n 2p "$WORK/holder.ports")
icapkit bind-serve serve --listen "$held" --analysis-time 1m30s -q
expect_rc bind-serve 2 "serve on a port in use (DESIGN: 2 = error)"
expect_output bind-serve "$held" "which address could not be bound"
icapkit bind-proxy proxy --config "$src/testdata/proxy/example.json" --listen "$held" \
  --header-timeout 10s --idle-timeout 1m30s --body-timeout 30000 --upstream-timeout 1m \
  --drain-timeout 500ms -q
expect_rc bind-proxy 2 "proxy on a port in use, as serve"
expect_output bind-proxy "$held" "which address could not be bound"

note "scan -r against a closed port: one error line, no result lines, exit 2"
mkdir -p "$WORK/tree/sub"
for i in $(seq 1 40); do echo "file $i" >"$WORK/tree/sub/f$i.txt"; done
icapkit closed-scan scan -r "$WORK/tree" --server "icap://127.0.0.1:$closed/x"
expect_usage closed-scan "no ICAP server can be reached" "scan of 40 files with nothing listening"
expect_output closed-scan "refused" "why the server cannot be reached"
closed2=$(free_port)
icapkit closed-two scan -r "$WORK/tree" --server "icap://127.0.0.1:$closed/x" \
  --server "icap://127.0.0.1:$closed2/x" --output ndjson
expect_usage closed-two "127.0.0.1:$closed2" "two servers, neither listening: both named on one line"
icapkit one-of-two --limit 20 scan "$WORK/tree/sub/f1.txt" --server "icap://127.0.0.1:$closed/x" \
  --server "icap://${held}/OMSScanReq-AV"
expect_rc one-of-two 0 "one of two servers listening: the scan goes on (fail-over)"

note "every file fails TLS verification (self-signed): said once, then stop"
icapkit tls-once scan -r "$WORK/tree" --server "icaps://$held_tls/OMSScanReq-AV" --log "$WORK/tls-once.ndjson"
expect_rc tls-once 2 "TLS verification fails for every file"
expect_output tls-once "stopped after 5 files in a row could not connect" "why the scan stopped"
err_lines=$(wc -l <"$WORK/tls-once.err")
[ "$err_lines" -eq 2 ] || { fail "tls-once: $err_lines stderr lines, want 2 (the first file, the stop)"; show tls-once; }
[ "$(grep -c "verif" "$WORK/tls-once.err")" -eq 2 ] || fail "tls-once: the cause is not in both lines"
validate "$WORK/tls-once.ndjson"
records "$WORK/tls-once.ndjson" --each icap_log.action=ICAP_FAILED

note "the server goes away after the start: the cause once, then stop"
# A server that accepts one connection (the start-up check), then closes its listener.
"$PY" - "$WORK/once.port" <<'PY' 2>"$WORK/once.log" &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(30)
conn, _ = s.accept()
conn.close()
s.close()
PY
background_pids+=($!)
for _ in $(seq 1 300); do
  [ -s "$WORK/once.port" ] && break
  sleep 0.1
done
[ -s "$WORK/once.port" ] || die "the accept-once server did not start (see $WORK/once.log)"
icapkit gone scan -r "$WORK/tree" --jobs 1 --server "icap://127.0.0.1:$(cat "$WORK/once.port")/x" \
  --log "$WORK/gone.ndjson"
expect_rc gone 2 "the server went away after the start-up check"
expect_output gone "stopped after 5 files in a row could not connect" "why the scan stopped"
expect_output gone "not scanned" "how many files were not scanned"
err_lines=$(wc -l <"$WORK/gone.err")
[ "$err_lines" -le 4 ] || { fail "gone: $err_lines stderr lines for 40 files, want at most 4"; show gone; }
result_lines=$(grep -c "f[0-9]*\.txt" "$WORK/gone.out")
[ "$result_lines" -lt 40 ] || fail "gone: $result_lines result lines: the scan did not stop"
expect_output gone "40 files: 0 passed, 0 modified, 0 blocked, 40 failed" \
  "the files not scanned counted as failed"
# Each file that was tried has its record; a refused connection is ICAP_FAILED and significant.
validate "$WORK/gone.ndjson"
records "$WORK/gone.ndjson" --count "$result_lines"
records "$WORK/gone.ndjson" --file f10.txt icap_log.action=ICAP_FAILED significant=true \
  significant_log~ADF_ICAP_CONNECTION_ERROR

finish
