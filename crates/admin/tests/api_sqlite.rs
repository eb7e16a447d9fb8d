//! The admin API against a real server on a runtime on SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod api;
mod support;

api_suite!(support::Backend::Sqlite);
