//! The admin API against a real server on a runtime on PostgreSQL (a fresh database per
//! test on `BGTASKS_TEST_POSTGRES_URL`; `bash scripts/test.sh` starts the server).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod api;
mod support;

api_suite!(support::Backend::Postgres);
