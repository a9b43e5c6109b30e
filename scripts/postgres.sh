#!/usr/bin/env bash
# A throwaway PostgreSQL 15 + PostGIS 3 server for the PostGIS store's tests.
#
#   bash scripts/postgres.sh start   # install if missing, init .pg/, start, create the test db
#   bash scripts/postgres.sh url     # print the connection URL for HAZARDLEDGER_TEST_POSTGRES
#   bash scripts/postgres.sh stop    # stop the server (safe when it is not running)
#
# The cluster lives in the repository's .pg/, which this script makes ignore itself (as a
# Python venv does), listens only on 127.0.0.1 and a socket inside .pg/, and trusts every
# local connection: it holds nothing but test data.
set -euo pipefail

PORT=54329
HOST=127.0.0.1
DATABASE=hazardledger_test
BIN=/usr/lib/postgresql/15/bin
PACKAGES=(postgresql-15 postgresql-15-postgis-3)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_DIR="$ROOT/.pg"
CLUSTER="$PG_DIR/cluster"
DATA="$CLUSTER/data"
SOCKETS="$CLUSTER/run"
LOG="$CLUSTER/server.log"
URL="postgresql://postgres@$HOST:$PORT/$DATABASE"

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# Postgres refuses to run as root, so as root every server command runs as the postgres user.
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_packages() {
    # postgis.control only exists once the PostGIS extension package is installed
    if [ -x "$BIN/postgres" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; then
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "installing Debian packages: ${PACKAGES[*]}"
    $sudo apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" \
        || { $sudo apt-get update -q \
             && $sudo apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; }
}

running() {
    [ -f "$DATA/PG_VERSION" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

psql_as_postgres() {
    PGOPTIONS="-c client_min_messages=warning" as_postgres "$BIN/psql" -h "$SOCKETS" -p "$PORT" \
        -U postgres -v ON_ERROR_STOP=1 -q "$@"
}

init_cluster() {
    mkdir -p "$SOCKETS"
    # a database cluster churns megabytes of binary files: keep every one out of git
    [ -f "$PG_DIR/.gitignore" ] \
        || printf '# created by scripts/postgres.sh: a throwaway test cluster\n*\n' \
            >"$PG_DIR/.gitignore"
    # when run as root the postgres user must own what it writes (and reach it from the repo)
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$CLUSTER" "$SOCKETS"
        as_postgres test -w "$CLUSTER" || {
            echo "the postgres user cannot reach $CLUSTER: every directory above it needs o+x" >&2
            exit 1; }
    fi
    if [ -f "$DATA/PG_VERSION" ]; then
        return
    fi
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >/dev/null
    {
        echo "listen_addresses = '$HOST'"
        echo "port = $PORT"
        echo "unix_socket_directories = '$SOCKETS'"
        echo "fsync = off  # a throwaway test cluster: speed over durability"
        echo "max_connections = 200"
    } | as_postgres tee -a "$DATA/postgresql.conf" >/dev/null
    # trust only loopback TCP and the socket; no other address is listened on anyway
    printf '%s\n' \
        "local all all trust" \
        "host all all 127.0.0.1/32 trust" \
        | as_postgres tee "$DATA/pg_hba.conf" >/dev/null
}

start() {
    install_packages
    init_cluster
    if ! running; then
        as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 120 start >/dev/null
    fi
    for _ in $(seq 1 120); do
        "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" && break
        sleep 0.5
    done
    "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" \
        || { echo "postgres did not start: see $LOG" >&2; exit 1; }
    # template1 first, so every database created from now on (per-test ones too) has PostGIS
    psql_as_postgres -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis"
    if [ -z "$(psql_as_postgres -d postgres -tA \
            -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]; then
        psql_as_postgres -d postgres -c "CREATE DATABASE $DATABASE TEMPLATE template1"
    fi
    psql_as_postgres -d "$DATABASE" -c "CREATE EXTENSION IF NOT EXISTS postgis"
    echo "$URL"
}

stop() {
    if running; then
        as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        echo "stopped"
    else
        echo "not running"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
