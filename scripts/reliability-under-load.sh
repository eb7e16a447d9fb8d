#!/usr/bin/env bash
# Runs the whole reliability suite (both stores) several times in a row while a release
# build of the workspace, in a target directory of its own, keeps both cores busy — the
# check that the suite asserts guarantees, not the timing of a quiet machine
# (docs/reliability.md, "Under load").
#
# Usage: bash scripts/reliability-under-load.sh [RUNS] [--no-load] [-- SUITE ARGUMENTS]
#   RUNS       how many runs in a row (default 10); it stops at the first failure
#   --no-load  run the suite alone
#   -- ...     passed to reliability-suite (e.g. `-- --store sqlite --only cron-three-processes`)
# Needs what scripts/test.sh provides: PostgreSQL (BGTASKS_TEST_POSTGRES_URL and _BIN,
# started here with scripts/postgres.sh when unset) and, optionally, an SMTP server
# (the suite starts aiosmtpd itself otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
load=1
suite_args=()
while [ $# -gt 0 ]; do
    arg="$1"
    shift
    case "$arg" in
        --) suite_args=("$@"); break ;;
        --no-load) load="" ;;
        ''|*[!0-9]*) echo "unknown argument \`$arg\`: expected a number of runs or --no-load" >&2; exit 2 ;;
        *) runs="$arg" ;;
    esac
done
[ "$runs" -ge 1 ] || { echo "the number of runs must be at least 1, not $runs" >&2; exit 2; }

log() { printf '[reliability-under-load] %s\n' "$*" >&2; }

work=$(mktemp -d)
load_pid=""
cleanup() {
    touch "$work/stop"
    if [ -n "$load_pid" ]; then kill -- -"$load_pid" 2>/dev/null || kill "$load_pid" 2>/dev/null || true; fi
    if [ -n "${started_postgres:-}" ]; then stop_postgres; fi
    rm -rf "$work/target" "$work/bin"
}
trap cleanup EXIT

if [ -z "${BGTASKS_TEST_POSTGRES_URL:-}" ]; then
    . scripts/postgres.sh
    start_postgres
    started_postgres=1
fi

# The binaries under test are copied out, so that the load build (or any other) cannot
# replace them between runs.
log "building the suite and its worker"
cargo build --quiet -p bgtasks-reliability --bins
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$work/bin"
cp "$target_dir/debug/reliability-suite" "$target_dir/debug/bgtasks-reliability-worker" "$work/bin/"

if [ -n "$load" ]; then
    log "keeping both cores busy with a release build of the workspace (in $work/target)"
    setsid bash -c '
        while [ ! -e "$1/stop" ]; do
            rm -rf "$1/target"
            CARGO_TARGET_DIR="$1/target" cargo build --quiet --release --workspace -j2 >/dev/null 2>&1 || true
        done' _ "$work" &
    load_pid=$!
fi

passed=0
for i in $(seq 1 "$runs"); do
    started=$(date +%s)
    log "run $i of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    if "$work/bin/reliability-suite" "${suite_args[@]}" >"$work/run-$i.log" 2>&1; then
        passed=$((passed + 1))
        log "run $i: $(tail -n 1 "$work/run-$i.log") in $(( $(date +%s) - started )) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    else
        cp "$work/run-$i.log" "./reliability-run-$i.log"
        grep '^FAIL' "$work/run-$i.log" >&2 || true
        log "run $i failed after $passed passed in a row; its log is ./reliability-run-$i.log"
        exit 1
    fi
done
log "$passed of $runs runs in a row passed; their logs are in $work"
