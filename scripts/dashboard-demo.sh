#!/usr/bin/env bash
# Draws docs/images/dashboard.png from a real run: the example host (its SQLite store, its
# /metrics on a loopback port) under a job mix for a few minutes, scraped every 5 s by a
# real Prometheus, and then scripts/dashboard-preview.py evaluating the Grafana dashboard's
# own queries over that run. Nothing here is Grafana: see docs/observability.md.
#
# Usage: bash scripts/dashboard-demo.sh [MINUTES (default 5)] [OUT (default docs/images/dashboard.png)]
# Needs: prometheus (BGTASKS_TEST_PROMETHEUS, else on PATH; Debian's `prometheus`
# package), curl, and python3 with matplotlib (`python3 -m pip install matplotlib`).
#
# The job mix, sent through the host's admin API (POST /api/background-jobs) every 2 s
# on top of the host's own demo jobs (a cron heartbeat every 5 s, a repeating report, a
# flaky sync and a void invoice): an interval job (a report every 15 s) at the start; a
# report (a success) each tick; a partner sync (two Network time-outs, retried, then a
# success) every third tick; a void invoice (a Business failure, retried twice,
# abandoned, its failures mailed as .eml files) every tenth; and a burst of 40 reports
# sent at once every 45th, which makes the queue wait.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-5}
OUT=${2:-docs/images/dashboard.png}
SCRAPE=5

log() { printf '[dashboard-demo] %s\n' "$*" >&2; }

PROMETHEUS=${BGTASKS_TEST_PROMETHEUS:-$(command -v prometheus || true)}
[ -n "${PROMETHEUS}" ] && [ -x "${PROMETHEUS}" ] \
    || { log "no prometheus: apt-get install prometheus, or set BGTASKS_TEST_PROMETHEUS"; exit 1; }
command -v curl >/dev/null || { log "curl is needed"; exit 1; }
python3 -c 'import matplotlib' 2>/dev/null \
    || { log "matplotlib is needed: python3 -m pip install matplotlib"; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # URL WHAT
    for _ in $(seq 1 150); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    log "$2 did not answer at $1"
    exit 1
}

WORK=$(mktemp -d)
HOST_PID=""
PROM_PID=""
cleanup() {
    if [ -n "${HOST_PID}" ]; then kill -INT "${HOST_PID}" 2>/dev/null || true; wait "${HOST_PID}" 2>/dev/null || true; fi
    if [ -n "${PROM_PID}" ]; then kill "${PROM_PID}" 2>/dev/null || true; wait "${PROM_PID}" 2>/dev/null || true; fi
    rm -rf "${WORK}"
}
trap cleanup EXIT

log "building the example host"
cargo build --quiet -p bgtasks-example-host
HOST_BIN="${CARGO_TARGET_DIR:-target}/debug/bgtasks-example-host"

HOST_PORT=$(free_port)
HOST="http://127.0.0.1:${HOST_PORT}"
env -u BGTASKS_SMTP_HOST -u BGTASKS_STORE_URL -u BGTASKS_ADMIN_TOKEN -u BGTASKS_ADMIN_READ_TOKEN \
    "${HOST_BIN}" --admin-addr "127.0.0.1:${HOST_PORT}" --duration $((MINUTES * 60 + 300)) \
    --data-dir "${WORK}/host" >"${WORK}/host.log" 2>&1 &
HOST_PID=$!
wait_for "${HOST}/metrics" "the example host"
log "example host on ${HOST} (output in ${WORK}/host.log while it runs)"

PROM_PORT=$(free_port)
PROM="http://127.0.0.1:${PROM_PORT}"
cat >"${WORK}/prometheus.yml" <<EOF
global:
  scrape_interval: ${SCRAPE}s
  evaluation_interval: ${SCRAPE}s
scrape_configs:
  - job_name: bgtasks-example-host
    static_configs:
      - targets: ["127.0.0.1:${HOST_PORT}"]
EOF
"${PROMETHEUS}" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/tsdb" \
    --web.listen-address="127.0.0.1:${PROM_PORT}" >"${WORK}/prometheus.log" 2>&1 &
PROM_PID=$!
wait_for "${PROM}/-/ready" "Prometheus"
log "Prometheus on ${PROM}, scraping every ${SCRAPE}s"

post() { # JSON
    curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d "$1" \
        "${HOST}/api/background-jobs" || log "the host refused a job: $1"
}

START=$(date +%s)
TICKS=$((MINUTES * 30))
log "feeding jobs for ${MINUTES} min"
post '{"id":"quarter-minute-report","type":"report","jobType":2,"interval":15,"args":{"title":"quarter-minute report"}}'
for tick in $(seq 1 "${TICKS}"); do
    post "{\"type\":\"report\",\"args\":{\"title\":\"ad-hoc report ${tick}\"}}"
    if [ $((tick % 3)) -eq 0 ]; then
        post '{"type":"sync","args":{"endpoint":"https://partner.example/api"}}'
    fi
    if [ $((tick % 10)) -eq 0 ]; then
        post "{\"type\":\"invoice\",\"args\":{\"invoice\":$((2000 + tick))},\"maxTryCount\":3,
              \"actions\":[{\"name\":\"JobExecutedFailedProvider\",\"parameters\":{\"to\":\"billing@example.com\"}}]}"
    fi
    if [ $((tick % 45)) -eq 0 ]; then
        burst=()
        for n in $(seq 1 40); do
            post "{\"type\":\"report\",\"args\":{\"title\":\"burst ${tick}-${n}\"}}" &
            burst+=($!)
        done
        wait "${burst[@]}"
    fi
    sleep 2
done
# Two more scrapes, so that the last runs are in.
sleep $((2 * SCRAPE))
END=$(date +%s)
SPAN=$(python3 -c "print(round((${END} - ${START}) / 60 + 0.5, 1))")

python3 scripts/dashboard-preview.py --prometheus "${PROM}" --out "${OUT}" \
    --minutes "${SPAN}" --end "${END}" --scrape-interval "${SCRAPE}"
