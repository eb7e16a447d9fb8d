#!/usr/bin/env bash
# Runs every test of the workspace, after setting up what the tests need on this
# machine: a real SMTP server on loopback (Python's aiosmtpd, installed if missing), a
# throwaway PostgreSQL cluster on a loopback port (installed from Debian's packages if
# missing), and headless Chromium with a CJK font and playwright-core for the dashboard's
# browser test (Debian's chromium and fonts-wqy-microhei, `npm ci`), and Debian's
# Prometheus for the dashboard's query test (never started as a service).
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

APT_UPDATED=""
apt_install() {
    if [ -z "${APT_UPDATED}" ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The dashboard's browser test (crates/admin/tests/browser.rs) drives Debian's Chromium
# with playwright-core from npm (which downloads no browser of its own).
ensure_browser() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
    command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]} (the dashboard's browser test)"
        apt_install "${missing[@]}"
    fi
    /usr/bin/chromium --version >/dev/null 2>&1 || { log "chromium does not start"; exit 1; }
    log "installing playwright-core for the browser test (npm ci)"
    npm ci --prefix crates/admin/tests/browser --no-audit --no-fund --loglevel=error >/dev/null
}

# The Grafana dashboard's query test (crates/admin/tests/dashboard.rs) runs Debian's
# Prometheus itself, with its own config on a loopback port: the package's service is
# kept from starting (a policy-rc.d that forbids it, where none is there), and stopped
# and disabled should it have started anyway.
ensure_prometheus() {
    if [ ! -x /usr/bin/prometheus ]; then
        log "installing prometheus (the dashboard's query test)"
        local policy=/usr/sbin/policy-rc.d made_policy=""
        if [ ! -e "${policy}" ]; then
            printf '#!/bin/sh\n# No service starts while test.sh installs packages.\nexit 101\n' >"${policy}"
            chmod +x "${policy}"
            made_policy=1
        fi
        apt_install --no-install-recommends prometheus \
            || { [ -z "${made_policy}" ] || rm -f "${policy}"; log "prometheus could not be installed"; exit 1; }
        [ -z "${made_policy}" ] || rm -f "${policy}"
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            systemctl disable --now prometheus >/dev/null 2>&1 || true
        elif [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
            /etc/init.d/prometheus stop >/dev/null 2>&1 || true
        fi
    fi
    /usr/bin/prometheus --version >/dev/null 2>&1 || { log "prometheus does not start"; exit 1; }
    export BGTASKS_TEST_PROMETHEUS=/usr/bin/prometheus
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
ensure_browser
ensure_prometheus
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
