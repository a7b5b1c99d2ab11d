#!/usr/bin/env bash
# Start a local Mosquitto broker for the integration tests on 127.0.0.1:1884, using
# infra/mosquitto/mosquitto-test.conf (raised queue/inflight limits; see the comments there).
#
# Idempotent: if something already accepts connections on 127.0.0.1:1884 it does nothing.
# Otherwise it installs `mosquitto` with apt-get if missing, starts it in the background
# (log: ${TMPDIR:-/tmp}/iotbench-mosquitto.log, pid: ${TMPDIR:-/tmp}/iotbench-mosquitto.pid)
# and waits up to 20 s for the port. Prints the broker URL on stdout as its last line.
#
# Debian's mosquitto package may also start its own broker on 1883 (from /etc/mosquitto); that one
# is not used. Started as root, Mosquitto 2 drops privileges to the `mosquitto` user after reading
# its configuration and opening its listener; the log file is opened by this shell, not by it.
set -euo pipefail

HOST=127.0.0.1
PORT=1884
READY_DEADLINE_S=20

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONF="$REPO_ROOT/infra/mosquitto/mosquitto-test.conf"
RUN_DIR="${TMPDIR:-/tmp}"
LOG_FILE="$RUN_DIR/iotbench-mosquitto.log"
PID_FILE="$RUN_DIR/iotbench-mosquitto.pid"
URL="mqtt://$HOST:$PORT"

log() { printf '[start-mosquitto %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_open() {
  # bash's /dev/tcp: no mosquitto-clients, nc or ss needed. timeout guards a black-holed connect.
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
}

if port_open; then
  log "something already accepts connections on $HOST:$PORT; leaving it alone"
  echo "$URL"
  exit 0
fi

[[ -r "$CONF" ]] || die "missing $CONF"

find_mosquitto() {
  command -v mosquitto 2>/dev/null || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; } || true
}
MOSQUITTO="$(find_mosquitto)"
if [[ -z "$MOSQUITTO" ]]; then
  log "mosquitto not found: installing it with apt-get"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends mosquitto
  MOSQUITTO="$(find_mosquitto)"
  [[ -n "$MOSQUITTO" ]] || die "mosquitto still missing after apt-get install"
fi

# A stale broker of ours that is alive but not listening (should not happen): stop it first.
if [[ -s "$PID_FILE" ]]; then
  old_pid="$(cat "$PID_FILE")"
  if [[ "$old_pid" =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null \
     && grep -qa mosquitto "/proc/$old_pid/cmdline" 2>/dev/null; then
    log "stopping unresponsive mosquitto pid $old_pid from $PID_FILE"
    kill "$old_pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$PID_FILE"
fi

mkdir -p "$RUN_DIR"
log "starting $MOSQUITTO -c $CONF (log: $LOG_FILE)"
# Not `-d`: a daemonised mosquitto detaches stdout, and log_dest is stdout. setsid + nohup keep it
# alive after this script (and a CI step's process group) ends. stdbuf -oL: Mosquitto 2.0.11 does
# not flush stdout, so without it the log file stays empty until the buffer fills.
STDBUF=()
if command -v stdbuf >/dev/null 2>&1; then STDBUF=(stdbuf -oL); fi
nohup setsid "${STDBUF[@]}" "$MOSQUITTO" -c "$CONF" >>"$LOG_FILE" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"

deadline=$((SECONDS + READY_DEADLINE_S))
until port_open; do
  if ! kill -0 "$pid" 2>/dev/null; then
    log "mosquitto exited; last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 || true
    rm -f "$PID_FILE"
    die "mosquitto failed to start"
  fi
  if ((SECONDS >= deadline)); then
    log "port $HOST:$PORT still closed after ${READY_DEADLINE_S}s; last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 || true
    die "mosquitto did not start listening"
  fi
  sleep 0.2
done
log "mosquitto (pid $pid) accepts connections on $HOST:$PORT"
echo "$URL"
