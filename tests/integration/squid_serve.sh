#!/bin/bash
# shellcheck disable=SC2317 # functions called from traps and wait_for look unreachable
# Squid 5.7 (Debian's package) as the ICAP client of `icapkit serve --vendor generic`, with curl
# through Squid to a local origin server (origin_server.py), all on 127.0.0.1 ports chosen at run
# time. Config as in ../shared/reference/interop/squid.conf.in (reqmod_precache + respmod_precache).
# Squid 5.7 keeps at most 64 KB of a body in flight to an ICAP service: a service that answers only
# once the whole body is in (c-icap's avscan, icapkit serve by default) waits for the rest until
# icap_io_timeout, and Squid answers 500 ERR_ICAP_FAILURE. Real antivirus servers meet this by
# trickling (c-icap's SendPercentData): the main serve here runs with --trickle-after 32768.
# Checks: clean downloads (3 KB, 200 KB) and clean uploads (3 KB, 200 KB) pass byte-identical; EICAR
# downloads (RESPMOD) and uploads (REQMOD) get 403; EICAR at the end of a 200 KB download, found after
# trickling began, cuts the transfer (the client never gets the whole file); a scenario delay (4 s)
# above icap_io_timeout (2 s) makes Squid fail the request with bypass=off (HTTP 500, X-Squid-Error:
# ERR_ICAP_FAILURE) and pass it with bypass=on; and the caveat itself: the same 200 KB download
# through a serve without trickling stalls into ERR_ICAP_FAILURE (an expected failure: if Squid
# ever stops stalling, this check fails so icapkit-serve(1)'s CAVEATS can be updated).
# One Squid serves all: http_port "strict" uses bypass=off services on /avscan, "lenient" uses
# bypass=on services on /srv_clamav, "stall" uses the serve without trickling (myportname ACLs).
# Usage: squid_serve.sh ICAPKIT_BINARY SOURCE_DIR
set -u
src=$2
# shellcheck source=tests/integration/itest_lib.sh
. "$src/tests/integration/itest_lib.sh"
itest_init squid_serve "$1" "$src"
samples=$src/testdata/samples
deadline=$(($(date +%s) + 90)) # the whole script: ~90 s

squid_bin=$(command -v squid || echo /usr/sbin/squid)
if [ ! -x "$squid_bin" ]; then
  die "squid is not installed (scripts/deps installs it); this test needs Squid 5.7 as the ICAP client"
fi

origin_pid='' serve_pid='' plain_pid='' squid_pid=''
stop_pid() { # stop_pid PID: TERM, up to 5 s, then KILL
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  timeout 5 tail --pid="$1" -f /dev/null 2>/dev/null
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
stop_all() {
  stop_pid "$squid_pid"
  squid_pid=
  stop_pid "$serve_pid"
  serve_pid=
  stop_pid "$plain_pid"
  plain_pid=
  stop_pid "$origin_pid"
  origin_pid=
}
# shellcheck disable=SC2154 # rc is set inside the trap
trap 'rc=$?; stop_all; (exit $rc); itest_cleanup' EXIT
# Squid and serve must not outlive a script killed outright (SIGKILL from a CTest timeout runs no
# trap): a watchdog kills them when this shell is gone. The origin watches its parent itself.
chmod 711 "$WORK" # Squid drops to user proxy; it must reach its directories below WORK

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 on timeout
  local end=$(($(date +%s) + $1))
  shift
  until "$@" 2>/dev/null; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}
port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# --- test files
mkdir -p "$WORK/www"
head -c 3072 /dev/urandom | base64 -w 76 | head -c 3072 >"$WORK/www/clean3k.txt"
head -c 204800 /dev/urandom >"$WORK/www/clean200k.bin"
cp "$samples/eicar.com" "$WORK/www/eicar.com"
# EICAR in the last 100 bytes of 200 KB: found long after trickling began.
{ head -c 204700 /dev/urandom; cat "$samples/eicar.com"; } >"$WORK/www/late-eicar.bin"
cp "$WORK/www/clean3k.txt" "$WORK/upload.txt"
cp "$WORK/www/clean200k.bin" "$WORK/upload200k.bin"
cp "$samples/eicar.com" "$WORK/upload-eicar.com"

# --- origin
"$PY" "$itest_dir/origin_server.py" "$WORK/www" "$WORK/origin.port" $$ 2>"$WORK/origin.log" &
origin_pid=$!
wait_for 10 test -s "$WORK/origin.port" || die "the origin server did not start (see $WORK/origin.log)"
origin_port=$(cat "$WORK/origin.port")
origin=http://127.0.0.1:$origin_port

# --- icapkit serve (generic: avscan and srv_clamav do REQMOD and RESPMOD), 4 s delay for /slow/
cat >"$WORK/scenario.json" <<'EOF'
{
  "name": "squid-slow",
  "description": "URLs under /slow/ take 4 s, above Squid's icap_io_timeout of 2 s.",
  "rules": [
    {"name": "slow", "match": {"url": "/slow/"}, "verdict": "clean", "delay": {"ms": 4000}}
  ]
}
EOF
timeout -k 5 150 "$bin" serve --vendor generic --listen 127.0.0.1:0 --port-file "$WORK/serve.ports" \
  --threads 2 --scenario "$WORK/scenario.json" --log "$WORK/serve.ndjson" --trickle-after 32768 \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
serve_pid=$!
# The same without trickling, for the stall check.
timeout -k 5 150 "$bin" serve --vendor generic --listen 127.0.0.1:0 \
  --port-file "$WORK/serve-plain.ports" --threads 1 --log "$WORK/serve-plain.ndjson" \
  >"$WORK/serve-plain.out" 2>"$WORK/serve-plain.err" &
plain_pid=$!
wait_for 10 test -s "$WORK/serve.ports" ||
  die "icapkit serve did not write its port file: $(tail -n 5 "$WORK/serve.err")"
wait_for 10 test -s "$WORK/serve-plain.ports" ||
  die "icapkit serve (no trickling) did not write its port file: $(tail -n 5 "$WORK/serve-plain.err")"
serve_port=$(sed -n 1p "$WORK/serve.ports" | sed 's/.*://')
plain_port=$(sed -n 1p "$WORK/serve-plain.ports" | sed 's/.*://')
icap=icap://127.0.0.1:$serve_port
icap_plain=icap://127.0.0.1:$plain_port

# --- Squid
strict_port=$(free_port)
lenient_port=$(free_port)
while [ "$lenient_port" = "$strict_port" ]; do lenient_port=$(free_port); done
stall_port=$(free_port)
while [ "$stall_port" = "$strict_port" ] || [ "$stall_port" = "$lenient_port" ]; do
  stall_port=$(free_port)
done
S=$WORK/squid
mkdir -p "$S/log" "$S/run" "$S/cache"
cat >"$S/squid.conf" <<EOF
http_port 127.0.0.1:$strict_port name=strict
http_port 127.0.0.1:$lenient_port name=lenient
http_port 127.0.0.1:$stall_port name=stall
visible_hostname icaplab-squid
pid_filename $S/run/squid.pid
cache_effective_user proxy
access_log stdio:$S/log/access.log
cache_log $S/log/cache.log
icap_log stdio:$S/log/icap.log
coredump_dir $S/cache
cache deny all
shutdown_lifetime 1 seconds

acl localnet src 127.0.0.0/8
acl lenient myportname lenient
acl stall myportname stall
http_access allow localnet
http_access deny all

icap_enable on
icap_preview_enable on
icap_preview_size 1024
icap_persistent_connections on
icap_206_enable on
adaptation_send_client_ip on
adaptation_send_username off
icap_service_failure_limit -1
icap_connect_timeout 5 seconds
icap_io_timeout 2 seconds

icap_service svc_req  reqmod_precache  $icap/avscan bypass=off on-overload=wait max-conn=20
icap_service svc_resp respmod_precache $icap/avscan bypass=off on-overload=wait max-conn=20
icap_service svc_req_bypass  reqmod_precache  $icap/srv_clamav bypass=on on-overload=wait max-conn=20
icap_service svc_resp_bypass respmod_precache $icap/srv_clamav bypass=on on-overload=wait max-conn=20
icap_service svc_resp_plain respmod_precache $icap_plain/avscan bypass=off on-overload=wait max-conn=20
adaptation_access svc_req_bypass allow lenient
adaptation_access svc_resp_bypass allow lenient
adaptation_access svc_req allow !lenient !stall
adaptation_access svc_resp allow !lenient !stall
adaptation_access svc_resp_plain allow stall
EOF
if [ "$(id -u)" -eq 0 ]; then
  chown -R proxy:proxy "$S" || die "cannot chown $S to proxy (Squid runs as cache_effective_user proxy)"
fi
timeout 20 "$squid_bin" -k parse -f "$S/squid.conf" >"$S/parse.log" 2>&1 || {
  sed 's/^/    | /' "$S/parse.log" >&2
  die "squid -k parse rejected the generated config"
}
timeout -k 5 150 "$squid_bin" -N -f "$S/squid.conf" >"$S/stdout.log" 2>&1 &
squid_pid=$!
script_pid=$$
(
  while kill -0 "$script_pid" 2>/dev/null; do sleep 1; done
  kill -TERM "$squid_pid" "$serve_pid" "$plain_pid" 2>/dev/null
) >/dev/null 2>&1 </dev/null &
background_pids+=($!)
if ! wait_for 20 port_answers "$strict_port" || ! wait_for 5 port_answers "$lenient_port" ||
  ! wait_for 5 port_answers "$stall_port"; then
  echo "    --- squid cache.log / stdout (last 20 lines):" >&2
  tail -n 20 "$S/log/cache.log" "$S/stdout.log" 2>/dev/null | sed 's/^/    | /' >&2
  kill -0 "$squid_pid" 2>/dev/null || die "Squid exited at start (see the log above)"
  die "Squid did not open its ports within 25 s (see the log above)"
fi
note "origin :$origin_port, icapkit serve :$serve_port (trickling) :$plain_port (not), squid :$strict_port (bypass=off) :$lenient_port (bypass=on) :$stall_port (no trickling)"

# --- checks
# get NAME SQUIDPORT URL [curl args...]: body to WORK/NAME.body, headers to WORK/NAME.hdr,
# sets CODE (000 when curl failed) and ELAPSED_MS.
get() {
  local name=$1 port=$2 url=$3
  shift 3
  local start
  start=$(date +%s%N)
  CODE=$(timeout -k 2 20 curl -sS --noproxy '' -x "http://127.0.0.1:$port" --max-time 15 \
    -o "$WORK/$name.body" -D "$WORK/$name.hdr" -w '%{http_code}' "$@" "$url" 2>"$WORK/$name.err")
  [ -n "$CODE" ] || CODE=000
  ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
}
show_http() { # the response head and curl's complaint, for a failure message
  echo "    --- $1: HTTP $CODE after ${ELAPSED_MS} ms; response head:" >&2
  tr -d '\r' <"$WORK/$1.hdr" 2>/dev/null | sed 's/^/    | /' >&2
  sed 's/^/    | curl: /' "$WORK/$1.err" >&2
}
expect_code() { # expect_code NAME WANT WHAT
  if [ "$CODE" != "$2" ]; then
    fail "$1: HTTP $CODE, want $2 ($3)"
    show_http "$1"
    return 1
  fi
}

for f in clean3k.txt clean200k.bin; do
  get "get-$f" "$strict_port" "$origin/$f"
  expect_code "get-$f" 200 "a clean download passes Squid's RESPMOD" &&
    { [ "$(sha256 "$WORK/get-$f.body")" = "$(sha256 "$WORK/www/$f")" ] ||
      fail "get-$f: the body that came through Squid differs from the origin's file"; }
done

for f in upload.txt upload200k.bin; do
  get "post-$f" "$strict_port" "$origin/upload" --data-binary "@$WORK/$f" \
    -H 'Content-Type: application/octet-stream'
  if expect_code "post-$f" 200 "a clean upload passes Squid's REQMOD"; then
    got=$(tr -d '\r' <"$WORK/post-$f.hdr" | sed -n 's/^X-Body-SHA256: //Ip')
    [ "$got" = "$(sha256 "$WORK/$f")" ] ||
      fail "post-$f: the origin received a body with SHA-256 '$got', not the uploaded file's"
  fi
done

# EICAR found after trickling began: serve cuts the connection, so the client must not get the
# whole file (Squid has already sent its 200 head; the body ends early).
get late-eicar "$strict_port" "$origin/late-eicar.bin"
if [ "$(sha256 "$WORK/late-eicar.body" 2>/dev/null)" = "$(sha256 "$WORK/www/late-eicar.bin")" ]; then
  fail "late-eicar: the client received the whole file although serve found EICAR in it"
fi
if grep -qF 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$WORK/late-eicar.body" 2>/dev/null; then
  fail "late-eicar: the EICAR string reached the client"
fi
grep -q '"decision":"trickle-cut"' "$WORK/serve.ndjson" ||
  fail "late-eicar: serve --log has no trickle-cut transaction"

get get-eicar "$strict_port" "$origin/eicar.com"
expect_code get-eicar 403 "serve blocks an EICAR download in RESPMOD" &&
  { grep -qF 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$WORK/get-eicar.body" &&
    fail "get-eicar: the 403 body still carries the EICAR file"; }

posts_before=$(grep -c '"POST /upload' "$WORK/origin.log")
get post-eicar "$strict_port" "$origin/upload" --data-binary "@$WORK/upload-eicar.com" \
  -H 'Content-Type: application/octet-stream'
expect_code post-eicar 403 "serve blocks an EICAR upload in REQMOD"
[ "$(grep -c '"POST /upload' "$WORK/origin.log")" = "$posts_before" ] ||
  fail "post-eicar: the EICAR upload reached the origin"

# A 4 s delay against icap_io_timeout 2 s: bypass=off fails the request, bypass=on passes it.
get slow-strict "$strict_port" "$origin/slow/clean3k.txt"
if expect_code slow-strict 500 "the ICAP delay exceeds icap_io_timeout and bypass=off"; then
  grep -qi '^X-Squid-Error: ERR_ICAP_FAILURE' "$WORK/slow-strict.hdr" ||
    { fail "slow-strict: no 'X-Squid-Error: ERR_ICAP_FAILURE' header"; show_http slow-strict; }
fi
get slow-lenient "$lenient_port" "$origin/slow/clean3k.txt"
expect_code slow-lenient 200 "with bypass=on Squid passes the request when ICAP times out" &&
  { [ "$(sha256 "$WORK/slow-lenient.body")" = "$(sha256 "$WORK/www/clean3k.txt")" ] ||
    fail "slow-lenient: the body differs from the origin's file"; }
# The control: the same fast URL through the lenient port (services on /srv_clamav) still scans.
get eicar-lenient "$lenient_port" "$origin/eicar.com"
expect_code eicar-lenient 403 "the bypass=on services still block EICAR when they answer in time"

# What serve saw: REQMOD and RESPMOD from Squid, on both services.
for want in '"method":"REQMOD"' '"method":"RESPMOD"' 'avscan' 'srv_clamav'; do
  grep -q "$want" "$WORK/serve.ndjson" 2>/dev/null || fail "serve --log has no line with $want"
done
grep -q '"rule":"slow"' "$WORK/serve.ndjson" 2>/dev/null || fail "serve --log: the /slow/ rule never matched"
grep -q '"body_bytes":204800' "$WORK/serve.ndjson" 2>/dev/null ||
  fail "serve --log: no transaction carried the whole 200 KB body (Squid should send it all to RESPMOD)"
[ "$(grep -c '"trickled":true' "$WORK/serve.ndjson")" -ge 3 ] ||
  fail "serve --log: fewer than 3 trickled transactions (200 KB download, upload, late EICAR)"

# The caveat (an expected failure): without trickling, Squid 5.7 stalls on the 200 KB download
# until icap_io_timeout and answers 500 ERR_ICAP_FAILURE.
get stall "$stall_port" "$origin/clean200k.bin"
if [ "$CODE" = 200 ]; then
  fail "stall: Squid passed a 200 KB download through a serve without trickling; Squid no longer" \
    "stalls, so icapkit-serve(1)'s CAVEATS and this check are out of date"
elif [ "$CODE" = 500 ]; then
  grep -qi '^X-Squid-Error: ERR_ICAP_FAILURE' "$WORK/stall.hdr" ||
    { fail "stall: HTTP 500 without 'X-Squid-Error: ERR_ICAP_FAILURE'"; show_http stall; }
  got=$(grep -o '"body_bytes":[0-9]*' "$WORK/serve-plain.ndjson" | head -n 1 | cut -d: -f2)
  [ -n "$got" ] && [ "$got" -lt 204800 ] ||
    fail "stall: serve (no trickling) logged body_bytes '$got', not a body cut short by the stall"
else
  fail "stall: HTTP $CODE, want 500 ERR_ICAP_FAILURE (the stall the caveat describes)"
  show_http stall
fi

[ "$(date +%s)" -le "$deadline" ] || fail "the test took longer than its 90 s budget"
[ "$failures" -eq 0 ] || {
  echo "    --- squid cache.log (last 15 lines):" >&2
  tail -n 15 "$S/log/cache.log" 2>/dev/null | sed 's/^/    | /' >&2
}
finish
