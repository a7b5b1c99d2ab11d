#!/usr/bin/env bash
# Start a local PostgreSQL (Debian's postgresql package, no systemd needed) for the integration tests.
#
# Idempotent: safe to run again while the cluster is up. It
#   - installs `postgresql` with apt-get if pg_ctlcluster is missing,
#   - makes sure a cluster `<version> main` exists (highest version under /etc/postgresql),
#   - makes it listen on 127.0.0.1:${IOTBENCH_PG_PORT:-5432} with max_connections = 200
#     (fsync, synchronous_commit, wal settings are left at their defaults: the bench measures
#     real durability),
#   - starts it with pg_ctlcluster and waits (60 s) for pg_isready,
#   - sets the postgres role's password to `postgres` and creates database `iotbench_test`.
# Prints the connection URL on stdout as its last line.
#
# Needs root (or passwordless sudo) for apt-get and the cluster configuration.
set -euo pipefail

PORT="${IOTBENCH_PG_PORT:-5432}"
DB_NAME="iotbench_test"
CLUSTER="main"
MAX_CONNECTIONS=200
READY_DEADLINE_S=60

log() { printf '[start-postgres %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  die "must run as root (or with sudo available)"
fi

# Run a command as the postgres OS user (peer authentication over the Unix socket).
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

# --- 1. package --------------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "pg_ctlcluster not found: installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends postgresql
fi
command -v pg_ctlcluster >/dev/null 2>&1 || die "pg_ctlcluster still missing after installing postgresql"

# --- 2. cluster --------------------------------------------------------------------------------
# Highest version that has a configured cluster directory; else the highest installed server.
PG_VERSION="$(ls -1 /etc/postgresql 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+)?$' | sort -V | tail -n 1 || true)"
if [[ -z "$PG_VERSION" || ! -f "/etc/postgresql/$PG_VERSION/$CLUSTER/postgresql.conf" ]]; then
  if [[ -z "$PG_VERSION" ]]; then
    PG_VERSION="$(ls -1 /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+)?$' | sort -V | tail -n 1 || true)"
  fi
  [[ -n "$PG_VERSION" ]] || die "no PostgreSQL server found under /usr/lib/postgresql"
  log "no cluster $PG_VERSION/$CLUSTER: creating it"
  "${SUDO[@]}" pg_createcluster "$PG_VERSION" "$CLUSTER"
fi
log "using PostgreSQL $PG_VERSION cluster $CLUSTER"

# --- 3. configuration --------------------------------------------------------------------------
# The port goes into postgresql.conf itself (pg_ctlcluster and pg_lsclusters read it from there);
# pg_conftool writes integers verbatim. listen_addresses and max_connections go into a conf.d file,
# which Debian's postgresql.conf includes at its end, so it overrides earlier settings.
# (pg_conftool does not quote 127.0.0.1, which PostgreSQL then rejects: so not pg_conftool for it.)
changed=0
have_port="$(pg_conftool -s "$PG_VERSION" "$CLUSTER" get port 2>/dev/null || true)"
if [[ "$have_port" != "$PORT" ]]; then
  log "setting port = $PORT (was: ${have_port:-<default>})"
  "${SUDO[@]}" pg_conftool "$PG_VERSION" "$CLUSTER" set port "$PORT"
  changed=1
fi

CONF_D="/etc/postgresql/$PG_VERSION/$CLUSTER/conf.d"
CONF_FILE="$CONF_D/50-iotbench.conf"
want_conf="# Written by iotbench infra/services/start-postgres.sh; rewritten on every run.
# Durability settings (fsync, synchronous_commit, full_page_writes) deliberately stay at their
# defaults: the bench measures real durability.
listen_addresses = '127.0.0.1'
max_connections = $MAX_CONNECTIONS
"
if [[ "$(cat "$CONF_FILE" 2>/dev/null || true)"$'\n' != "$want_conf" ]]; then
  log "writing $CONF_FILE (listen_addresses = 127.0.0.1, max_connections = $MAX_CONNECTIONS)"
  "${SUDO[@]}" mkdir -p "$CONF_D"
  printf '%s' "$want_conf" | "${SUDO[@]}" tee "$CONF_FILE" >/dev/null
  "${SUDO[@]}" chmod 644 "$CONF_FILE"
  changed=1
fi
if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" \
     "/etc/postgresql/$PG_VERSION/$CLUSTER/postgresql.conf"; then
  die "postgresql.conf of $PG_VERSION/$CLUSTER has no include_dir = 'conf.d'; cannot apply $CONF_FILE"
fi

# --- 4. start ----------------------------------------------------------------------------------
if "${SUDO[@]}" pg_ctlcluster "$PG_VERSION" "$CLUSTER" status >/dev/null 2>&1; then
  if [[ $changed -eq 1 ]]; then
    log "configuration changed: restarting the cluster"
    "${SUDO[@]}" pg_ctlcluster "$PG_VERSION" "$CLUSTER" restart
  else
    log "cluster already running"
  fi
else
  log "starting the cluster"
  "${SUDO[@]}" pg_ctlcluster "$PG_VERSION" "$CLUSTER" start
fi

PG_ISREADY="$(command -v pg_isready || echo "/usr/lib/postgresql/$PG_VERSION/bin/pg_isready")"
deadline=$((SECONDS + READY_DEADLINE_S))
until "$PG_ISREADY" -q -h 127.0.0.1 -p "$PORT"; do
  if ((SECONDS >= deadline)); then
    log "pg_isready still failing after ${READY_DEADLINE_S}s; last lines of the server log:"
    tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$CLUSTER.log" >&2 || true
    die "PostgreSQL did not become ready on 127.0.0.1:$PORT"
  fi
  sleep 0.5
done
log "PostgreSQL accepts connections on 127.0.0.1:$PORT"

# --- 5. role password and database -------------------------------------------------------------
# Over the Unix socket as the postgres OS user (peer auth); TCP uses scram-sha-256 with this password.
as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres \
  -c "ALTER ROLE postgres WITH PASSWORD 'postgres'" >/dev/null
if [[ "$(as_postgres psql -X -At -p "$PORT" -d postgres \
         -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]]; then
  log "creating database $DB_NAME"
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres -c "CREATE DATABASE $DB_NAME"
fi

echo "postgres://postgres:postgres@127.0.0.1:$PORT/$DB_NAME"
