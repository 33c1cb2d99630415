#!/usr/bin/env bash
# Starts and stops a loopback ICAP lab: clamd with a custom signature DB (no freshclam, no network)
# and c-icap with the echo, avscan/srv_clamav (virus_scan + clamd) and ex206 services, plus a TLS port.
# Ports are chosen at run time; everything lives under LAB.
#   cicap_lab.sh start LAB   -> writes LAB/env (ICAP_PORT, ICAPS_PORT, LAB) and returns when ready
#   cicap_lab.sh stop LAB
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

stop_pidfile() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid
  pid=$(cat "$file" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

start() {
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
  wait_for 60 "clamd socket" test -S "$lab/run/clamd.sock"

  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$lab/run/icaps.key" -out "$lab/run/icaps.pem" \
    -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1

  local icap_port icaps_port
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
ModulesDir /usr/lib/x86_64-linux-gnu/c_icap
ServicesDir /usr/lib/x86_64-linux-gnu/c_icap
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
  c-icap -f "$lab/c-icap.conf" -N -D -d 1 >"$lab/log/c-icap.stdout" 2>&1 &
  echo $! >"$lab/run/c-icap.launcher.pid"
  wait_for 30 "c-icap on port $icap_port" \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$icap_port"
  printf 'LAB=%s\nICAP_PORT=%s\nICAPS_PORT=%s\nICAPS_CA=%s\nEICAR=%s\n' "$lab" "$icap_port" \
    "$icaps_port" "$lab/run/icaps.pem" "$lab/samples/eicar.com" >"$lab/env"
}

stop() {
  [ -d "$lab" ] || return 0
  stop_pidfile "$lab/run/c-icap.launcher.pid"
  stop_pidfile "$lab/run/c-icap.pid"
  stop_pidfile "$lab/run/clamd.launcher.pid"
  stop_pidfile "$lab/run/clamd.pid"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) echo "usage: cicap_lab.sh start|stop LAB" >&2; exit 2 ;;
esac
