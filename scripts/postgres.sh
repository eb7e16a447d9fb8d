#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free loopback port for the tests, installing
# the server from Debian's packages if it is missing. Source it: it exports
# BGTASKS_TEST_POSTGRES_URL (a superuser URL; tests create their own databases) and
# registers stop_postgres, which the caller runs on exit.
#   . scripts/postgres.sh && start_postgres && trap stop_postgres EXIT

pg_bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_postgres() {
    if [ -n "$(pg_bin_dir)" ] && [ -x "$(pg_bin_dir)/initdb" ]; then
        return
    fi
    echo "[postgres.sh] installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
    [ -x "$(pg_bin_dir)/initdb" ] || { echo "[postgres.sh] PostgreSQL could not be installed" >&2; return 1; }
}

start_postgres() {
    ensure_postgres || return 1
    local bin; bin=$(pg_bin_dir)
    PG_DIR=$(mktemp -d /tmp/bgtasks-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local as_pg=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$PG_DIR"
        as_pg=(su postgres -s /bin/sh -c)
    else
        as_pg=(sh -c)
    fi
    "${as_pg[@]}" "'$bin/initdb' -D '$PG_DIR/data' -U postgres -A trust -E UTF8 --no-sync >'$PG_DIR/initdb.log' 2>&1" \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    "${as_pg[@]}" "'$bin/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -o \"-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB\" start >/dev/null" \
        || { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_CTL="$bin/pg_ctl"
    export BGTASKS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:${PG_PORT}/postgres"
    export BGTASKS_TEST_POSTGRES_BIN="$bin"
    export BGTASKS_TEST_POSTGRES_DATA="$PG_DIR/data"
    echo "[postgres.sh] PostgreSQL on 127.0.0.1:${PG_PORT} (data in $PG_DIR)" >&2
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        if [ "$(id -u)" = 0 ]; then
            su postgres -s /bin/sh -c "'$PG_CTL' -D '$PG_DIR/data' -m immediate stop" >/dev/null 2>&1 || true
        else
            "$PG_CTL" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_DIR"
    fi
}
