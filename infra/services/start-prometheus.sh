#!/usr/bin/env bash
# Start a Prometheus (Debian's `prometheus` package, no systemd) that scrapes a bench on this machine.
#
#   bash infra/services/start-prometheus.sh [CONFIG]    # default: infra/prometheus/prometheus-local.yml
#   iotbench run --profile ci --metrics-port 9464
#
# Idempotent: if something already answers on 127.0.0.1:${IOTBENCH_PROMETHEUS_PORT:-9090}/-/ready it
# does nothing. Otherwise it installs `prometheus` with apt-get if missing, starts it in the background
# with its own storage folder (${TMPDIR:-/tmp}/iotbench-prometheus-data; log and pid beside it), and
# waits up to 30 s for /-/ready. The Debian package may try to start its own service: there is no
# systemd here, and that one is not used. Prints the Prometheus URL on stdout as its last line.
# (The integration test test/integration/observe-prometheus.test.ts starts its own Prometheus.)
set -euo pipefail

HOST=127.0.0.1
PORT="${IOTBENCH_PROMETHEUS_PORT:-9090}"
READY_DEADLINE_S=30
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONF="${1:-$REPO_ROOT/infra/prometheus/prometheus-local.yml}"
RUN_DIR="${TMPDIR:-/tmp}"
DATA_DIR="$RUN_DIR/iotbench-prometheus-data"
LOG_FILE="$RUN_DIR/iotbench-prometheus.log"
PID_FILE="$RUN_DIR/iotbench-prometheus.pid"
URL="http://$HOST:$PORT"

log() { printf '[start-prometheus %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ready() {
  # bash's /dev/tcp: no curl needed. An HTTP/1.0 GET of /-/ready answers 200 once Prometheus serves.
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT; printf 'GET /-/ready HTTP/1.0\r\n\r\n' >&3; head -n 1 <&3" 2>/dev/null | grep -q ' 200'
}

if ready; then
  log "a Prometheus already answers on $URL; leaving it alone"
  echo "$URL"
  exit 0
fi
[[ -r "$CONF" ]] || die "missing $CONF"

PROMETHEUS="$(command -v prometheus || true)"
if [[ -z "$PROMETHEUS" ]]; then
  log "prometheus not found: installing it with apt-get"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends prometheus
  PROMETHEUS="$(command -v prometheus || true)"
  [[ -n "$PROMETHEUS" ]] || die "prometheus still missing after apt-get install"
fi

mkdir -p "$DATA_DIR"
log "starting $PROMETHEUS --config.file $CONF on $HOST:$PORT (log: $LOG_FILE)"
nohup setsid "$PROMETHEUS" --config.file="$CONF" --storage.tsdb.path="$DATA_DIR" \
  --web.listen-address="$HOST:$PORT" --log.level=warn >>"$LOG_FILE" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"

deadline=$((SECONDS + READY_DEADLINE_S))
until ready; do
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 30 "$LOG_FILE" >&2 || true
    rm -f "$PID_FILE"
    die "prometheus exited"
  fi
  ((SECONDS < deadline)) || { tail -n 30 "$LOG_FILE" >&2 || true; die "prometheus not ready after ${READY_DEADLINE_S}s"; }
  sleep 0.3
done
log "prometheus (pid $pid) ready on $URL"
echo "$URL"
