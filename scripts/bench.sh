#!/usr/bin/env bash
# Runs the side-by-side benchmarks (crates/bench) against a throwaway PostgreSQL that
# this script starts and stops.
#   bash scripts/bench.sh            full run (release build), writes docs/benchmarks.md
#   bash scripts/bench.sh --quick    smoke run for CI (dev build, small N, one run each)
# Other arguments are passed to the binary (--only SECTION,..., --out PATH, --no-doc).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=(--release)
for arg in "$@"; do
    if [ "$arg" = "--quick" ]; then
        # The peers' release build takes minutes; the smoke run checks only that every
        # workload runs, so it uses the dev build that clippy and the tests share.
        profile=()
    fi
done

cargo build --quiet "${profile[@]}" -p bgtasks-bench

. scripts/postgres.sh
start_postgres
trap stop_postgres EXIT
export BGTASKS_BENCH_POSTGRES_URL="$BGTASKS_TEST_POSTGRES_URL"
export BGTASKS_BENCH_COMMAND="bash scripts/bench.sh${*:+ $*}"

target_dir="${CARGO_TARGET_DIR:-target}"
if [ ${#profile[@]} -eq 0 ]; then
    "$target_dir/debug/bgtasks-bench" "$@"
else
    "$target_dir/release/bgtasks-bench" "$@"
fi
