#!/usr/bin/env bash
# Runs every test of the workspace, after setting up what the tests need on this
# machine: a real SMTP server on loopback (Python's aiosmtpd, installed if missing) and a
# throwaway PostgreSQL cluster on a loopback port (installed from Debian's packages if
# missing).
# Usage: bash scripts/test.sh [extra nextest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

ensure_aiosmtpd() {
    if python3 -c 'import aiosmtpd' 2>/dev/null; then
        return
    fi
    log "installing aiosmtpd (a real SMTP server for the e-mail tests)"
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd \
        || { apt-get update -qq && apt-get install -y -qq python3-aiosmtpd; }
    python3 -c 'import aiosmtpd' || { log "aiosmtpd could not be installed"; exit 1; }
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_smtp() {
    SMTP_DIR=$(mktemp -d)
    SMTP_PORT=$(free_port)
    python3 -m aiosmtpd -n -l "127.0.0.1:${SMTP_PORT}" -c aiosmtpd.handlers.Mailbox "${SMTP_DIR}/maildir" \
        >"${SMTP_DIR}/server.log" 2>&1 &
    SMTP_PID=$!
    for _ in $(seq 1 100); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', ${SMTP_PORT}), 0.2)" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    kill -0 "${SMTP_PID}" 2>/dev/null || { log "the SMTP server did not start:"; cat "${SMTP_DIR}/server.log" >&2; exit 1; }
    export BGTASKS_TEST_SMTP_HOST=127.0.0.1
    export BGTASKS_TEST_SMTP_PORT="${SMTP_PORT}"
    export BGTASKS_TEST_MAILDIR="${SMTP_DIR}/maildir"
    log "SMTP server on 127.0.0.1:${SMTP_PORT}, mail in ${BGTASKS_TEST_MAILDIR}"
}

. "$(dirname "$0")/postgres.sh"

cleanup() {
    if [ -n "${SMTP_PID:-}" ]; then kill "${SMTP_PID}" 2>/dev/null || true; fi
    if [ -n "${SMTP_DIR:-}" ]; then rm -rf "${SMTP_DIR}"; fi
    stop_postgres
}
trap cleanup EXIT

ensure_aiosmtpd
start_smtp
start_postgres

log "doc tests"
cargo test --workspace --all-features --doc --quiet

log "unit and integration tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --all-features --no-fail-fast "$@"
else
    cargo test --workspace --all-features --no-fail-fast "$@"
fi

log "reliability suite (real worker processes against SQLite and PostgreSQL; docs/reliability.md)"
cargo build --quiet -p bgtasks-reliability --bins
cargo run --quiet -p bgtasks-reliability --bin reliability-suite
