# shellcheck shell=bash disable=SC2034
# Shared helpers for the integration scripts (sourced, not run). Usage in a script:
#   . "$src/tests/integration/itest_lib.sh"; itest_init NAME "$bin" "$src"
# Gives: a private WORK dir (mktemp), a trap that always stops the lab and the fake servers,
# check-and-continue failures (every failed check is printed, the script exits 1 at the end),
# `icapkit NAME ARGS...` with a hard time limit, and record assertions on NDJSON logs.

PY=/usr/bin/python3 # the system python has python3-jsonschema (scripts/deps); a pyenv may not
failures=0
lab_started=0
background_pids=()

itest_init() { # itest_init NAME BIN SRC
  itest_name=$1
  bin=$2
  src=$3
  [ -x "$bin" ] || { echo "FAIL: icapkit binary '$bin' not found or not executable" >&2; exit 1; }
  itest_dir=$src/tests/integration
  schema=$src/schema/icap_log_record.schema.json
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/icapkit-$itest_name.XXXXXX")
  trap itest_cleanup EXIT
  trap 'exit 130' INT TERM
  itest_start=$(date +%s%N)
}

itest_cleanup() {
  local rc=$?
  [ $lab_started -eq 0 ] || "$itest_dir/lab/cicap_lab.sh" stop "$WORK/lab" || true
  local pid
  for pid in "${background_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${background_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] || [ $failures -ne 0 ]; then
    echo "$itest_name: kept $WORK for inspection (icapkit output in *.out/*.err, lab logs in lab/log)" >&2
  elif [ -z "${ICAPKIT_KEEP_WORK:-}" ]; then
    rm -rf "$WORK"
  fi
}

fail() { # a check failed: say what a user would notice; the script goes on with the next check
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

die() { # the script cannot go on (lab did not start, ...)
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
  exit 1
}

note() { echo "-- $*"; }

finish() { # last line of every script
  local ms=$((($(date +%s%N) - itest_start) / 1000000))
  if [ $failures -ne 0 ]; then
    echo "$itest_name: $failures check(s) failed (${ms} ms)" >&2
    exit 1
  fi
  echo "$itest_name: all checks passed (${ms} ms)"
  exit 0
}

start_lab() {
  "$itest_dir/lab/cicap_lab.sh" start "$WORK/lab" || {
    lab_started=1
    die "the c-icap + clamd lab did not start (logs in $WORK/lab/log)"
  }
  lab_started=1
  # shellcheck disable=SC1091
  . "$WORK/lab/env"
  # If this script is killed outright (SIGKILL from a CTest timeout runs no trap), stop the lab
  # anyway instead of leaving c-icap and clamd running.
  local script_pid=$$
  (
    while kill -0 "$script_pid" 2>/dev/null; do sleep 1; done
    "$itest_dir/lab/cicap_lab.sh" stop "$WORK/lab"
  ) >/dev/null 2>&1 </dev/null &
  background_pids+=($!)
}

# icapkit NAME [--limit SECONDS] [--stdin FILE] ARGS...: runs the binary under `timeout` (default
# 30 s), stdout to WORK/NAME.out, stderr to WORK/NAME.err. Sets RC and ELAPSED_MS; RC 124 = hung.
icapkit() {
  local name=$1 limit=30 input=/dev/null
  shift
  while :; do
    case "${1:-}" in
    --limit) limit=$2; shift 2 ;;
    --stdin) input=$2; shift 2 ;;
    *) break ;;
    esac
  done
  local start
  start=$(date +%s%N)
  timeout -k 5 "$limit" "$bin" "$@" <"$input" >"$WORK/$name.out" 2>"$WORK/$name.err"
  RC=$?
  ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
  if [ $RC -eq 124 ] || [ $RC -eq 137 ]; then
    fail "$name: icapkit $* did not finish within ${limit}s (killed; it hangs)"
  fi
  return 0
}

# Both streams of run NAME, with the work directory's path replaced by "$WORK" so that a pattern
# never matches the temporary path itself (it holds the script name: scan_tls, ...).
output() { cat "$WORK/$1.out" "$WORK/$1.err" | sed "s|$WORK|\$WORK|g"; }

show() { # the end of a run's output, indented, for failure messages
  echo "    --- icapkit $1 stdout+stderr (last 15 lines):" >&2
  output "$1" | tail -n 15 | sed 's/^/    | /' >&2
}

expect_rc() { # expect_rc NAME WANT WHAT-IT-MEANS
  if [ "$RC" != "$2" ]; then
    fail "$1: exit status $RC, want $2 ($3)"
    show "$1"
    return 1
  fi
}

expect_output() { # expect_output NAME EXTENDED-REGEX WHAT (case-insensitive, stdout+stderr)
  if ! output "$1" | grep -Eqi -- "$2"; then
    fail "$1: output does not show $3 (no match for /$2/)"
    show "$1"
    return 1
  fi
}

expect_no_output() { # expect_no_output NAME EXTENDED-REGEX WHAT
  if output "$1" | grep -Eqi -- "$2"; then
    fail "$1: output shows $3 (matched /$2/)"
    show "$1"
    return 1
  fi
}

# records LOG [--file NAME | --index N] PATH=VALUE ... : assertions on NDJSON records; see records.py.
records() {
  local out
  if ! out=$("$PY" "$itest_dir/records.py" "$@" 2>&1); then
    fail "$out"
    return 1
  fi
  [ -z "$out" ] || echo "$out"
}

validate() { # validate LOG: every record in LOG against the project's JSON Schema
  local out
  if [ ! -s "$1" ]; then
    fail "no NDJSON records were written to $1"
    return 1
  fi
  if ! out=$("$PY" "$itest_dir/schema/validate_records.py" "$schema" "$1" 2>&1); then
    fail "records in $(basename "$1") do not validate against schema/icap_log_record.schema.json:"
    echo "$out" | head -n 20 | sed 's/^/    /' >&2
    return 1
  fi
}

free_port() { # a loopback port nothing listens on (for "connection refused")
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }
