#!/usr/bin/env bash
# Starts and stops a loopback ICAP lab: clamd with a custom signature DB (no freshclam, no network)
# and c-icap with the echo, avscan/srv_clamav (virus_scan + clamd) and ex206 services, plus a TLS port.
# Ports are chosen at run time; everything lives under LAB.
#   cicap_lab.sh start LAB   -> writes LAB/env (LAB, ICAP_PORT, ICAPS_PORT, ICAPS_CA, EICAR) and
#                               returns once avscan answers OPTIONS and the TLS port accepts
#   cicap_lab.sh stop LAB    -> stops both daemons (about 1-2 s; c-icap alone takes several)
set -euo pipefail

cmd=${1:?usage: cicap_lab.sh start|stop LAB}
lab=${2:?usage: cicap_lab.sh start|stop LAB}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "cicap_lab: $what not ready after ${seconds}s" >&2
  return 1
}

# A process that exited but was not reaped yet (a zombie) counts as stopped.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

# Every PID the lab started: the launchers, the daemons' own pid files, c-icap's children.
lab_pids() {
  local file pid
  for file in "$lab"/run/c-icap.launcher.pid "$lab"/run/c-icap.pid "$lab"/run/clamd.launcher.pid \
    "$lab"/run/clamd.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || continue
    echo "$pid"
    ps -o pid= --ppid "$pid" 2>/dev/null || true
  done | sort -un
}

# Module directory of this architecture's c-icap (x86_64-linux-gnu, aarch64-linux-gnu, ...).
modules_dir() {
  local echo_so
  echo_so=$(ls /usr/lib/*/c_icap/srv_echo.so 2>/dev/null | head -n 1)
  [ -n "$echo_so" ] || { echo "cicap_lab: c-icap is not installed (run scripts/deps)" >&2; return 1; }
  dirname "$echo_so"
}

# Ready = avscan answers OPTIONS 200 (so the virus_scan module loaded) and the TLS port accepts.
# Gives up at once when c-icap died (port taken meanwhile, bad config), else after 30 s.
wait_cicap() { # wait_cicap ICAP_PORT ICAPS_PORT
  local launcher
  launcher=$(cat "$lab/run/c-icap.launcher.pid")
  for _ in $(seq 1 300); do
    alive "$launcher" || { echo "cicap_lab: c-icap exited during start" >&2; return 1; }
    if c-icap-client -i 127.0.0.1 -p "$1" -s avscan -v 2>&1 | grep -q "ICAP/1.0 200" &&
      bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "cicap_lab: c-icap avscan on port $1 not ready after 30s" >&2
  return 1
}

start() {
  for tool in c-icap c-icap-client clamd openssl; do
    command -v "$tool" >/dev/null || { echo "cicap_lab: $tool not found (run scripts/deps)" >&2; return 1; }
  done
  local modules
  modules=$(modules_dir)
  mkdir -p "$lab"/{db,log,run,tmp,samples}
  lab=$(cd "$lab" && pwd)
  local eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
  printf '%s' "$eicar" >"$lab/samples/eicar.com"
  echo "$(md5sum "$lab/samples/eicar.com" | cut -d' ' -f1):68:Test.EICAR.Custom-HDB" >"$lab/db/custom.hdb"
  local hex
  hex=$(printf '%s' 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' | od -An -tx1 | tr -d ' \n')
  echo "Test.EICAR.Custom-NDB:0:*:$hex" >"$lab/db/custom.ndb"

  cat >"$lab/clamd.conf" <<CONF
LogFile $lab/log/clamd.log
LogTime yes
PidFile $lab/run/clamd.pid
DatabaseDirectory $lab/db
TemporaryDirectory $lab/tmp
LocalSocket $lab/run/clamd.sock
LocalSocketMode 660
Foreground yes
MaxConnectionQueueLength 30
MaxThreads 4
StreamMaxLength 1000M
MaxFileSize 1000M
MaxScanSize 1000M
CONF
  clamd -c "$lab/clamd.conf" >"$lab/log/clamd.stdout" 2>&1 &
  echo $! >"$lab/run/clamd.launcher.pid"
  wait_for 60 "clamd socket" test -S "$lab/run/clamd.sock" || { tail -n 5 "$lab/log/clamd.stdout" >&2; return 1; }

  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$lab/run/icaps.key" -out "$lab/run/icaps.pem" \
    -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1

  # A free port is probed, then handed to c-icap: another process may take it in between, so a
  # start that fails is retried with fresh ports.
  local icap_port icaps_port attempt
  for attempt in 1 2 3; do
    icap_port=$(free_port)
    icaps_port=$(free_port)
    cat >"$lab/c-icap.conf" <<CONF
PidFile $lab/run/c-icap.pid
CommandsSocket $lab/run/c-icap.ctl
Timeout 300
MaxKeepAliveRequests 100
KeepAliveTimeout 600
StartServers 1
MaxServers 2
MinSpareThreads 5
MaxSpareThreads 10
ThreadsPerChild 10
MaxRequestsPerChild 0
Port 127.0.0.1:$icap_port
TlsPort 127.0.0.1:$icaps_port cert=$lab/run/icaps.pem key=$lab/run/icaps.key
ServerAdmin root@localhost
ServerName icaplab
TmpDir $lab/tmp
MaxMemObject 131072
DebugLevel 1
Pipelining on
SupportBuggyClients off
ModulesDir $modules
ServicesDir $modules
TemplateDir /usr/share/c_icap/templates/
TemplateDefaultLanguage en
LoadMagicFile /etc/c-icap/c-icap.magic
RemoteProxyUsers off
ServerLog $lab/log/server.log
AccessLog $lab/log/access.log
Service echo srv_echo.so
Module common clamd_mod.so
clamd_mod.ClamdSocket $lab/run/clamd.sock
Service antivirus_module virus_scan.so
ServiceAlias srv_clamav virus_scan
ServiceAlias avscan virus_scan?allow204=on&sizelimit=off&mode=simple
virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE GIF JPEG MSOFFICE
virus_scan.SendPercentData 5
virus_scan.StartSendPercentDataAfter 2M
virus_scan.MaxObjectSize 5M
virus_scan.DefaultEngine clamd
Service ex206 srv_ex206.so
CONF
    rm -f "$lab/run/c-icap.pid"
    c-icap -f "$lab/c-icap.conf" -N -D -d 1 >"$lab/log/c-icap.stdout" 2>&1 &
    echo $! >"$lab/run/c-icap.launcher.pid"
    if wait_cicap "$icap_port" "$icaps_port"; then
      break
    fi
    echo "cicap_lab: c-icap start $attempt failed; last lines of its log:" >&2
    tail -n 5 "$lab/log/c-icap.stdout" "$lab/log/server.log" >&2 2>/dev/null || true
    stop_cicap
    [ "$attempt" -lt 3 ] || return 1
  done
  printf 'LAB=%s\nICAP_PORT=%s\nICAPS_PORT=%s\nICAPS_CA=%s\nEICAR=%s\n' "$lab" "$icap_port" \
    "$icaps_port" "$lab/run/icaps.pem" "$lab/samples/eicar.com" >"$lab/env"
}

# TERM to everything at once (c-icap alone takes seconds to stop; in parallel with clamd about
# one), KILL what is left after 10 s.
stop_pids() {
  local pids=("$@") pid left
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 200); do
    left=0
    for pid in "${pids[@]}"; do
      alive "$pid" && left=1
    done
    [ $left -eq 1 ] || return 0
    sleep 0.05
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

stop_cicap() {
  local pids=() pid child
  for pid in $(cat "$lab/run/c-icap.launcher.pid" "$lab/run/c-icap.pid" 2>/dev/null | sort -un); do
    pids+=("$pid")
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do pids+=("$child"); done
  done
  stop_pids "${pids[@]}"
}

stop() {
  [ -d "$lab" ] || return 0
  local pids
  mapfile -t pids < <(lab_pids)
  stop_pids "${pids[@]}"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) echo "usage: cicap_lab.sh start|stop LAB" >&2; exit 2 ;;
esac
