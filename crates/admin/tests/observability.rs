//! Metrics, health probes and the `/metrics` endpoint through the admin router: a known
//! sequence of runs scraped to exact counts (in memory under tokio's paused clock, and on
//! SQLite and PostgreSQL through a real server), readiness that follows the store (also a
//! real PostgreSQL server that stops), and the notifications counter against real
//! deliveries (SMTP and HTTP).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod support;

#[path = "observability/cluster.rs"]
mod cluster;
#[path = "observability/durable.rs"]
mod durable;
#[path = "observability/memory.rs"]
mod memory;
#[path = "observability/notifications.rs"]
mod notifications;
#[path = "observability/outage.rs"]
mod outage;
#[path = "observability/probes.rs"]
mod probes;
#[path = "observability/scrape.rs"]
mod scrape;
