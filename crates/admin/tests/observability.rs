//! Metrics, health probes and the `/metrics` endpoint through the admin router: a known
//! sequence of runs scraped to exact counts (in memory under tokio's paused clock, and on
//! SQLite and PostgreSQL through a real server), and readiness that follows the store.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod support;

#[path = "observability/durable.rs"]
mod durable;
#[path = "observability/memory.rs"]
mod memory;
#[path = "observability/probes.rs"]
mod probes;
#[path = "observability/scrape.rs"]
mod scrape;
