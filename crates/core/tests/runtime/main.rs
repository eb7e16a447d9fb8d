//! The runtime end to end on the in-memory store, under tokio's paused clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod control;
mod failures;
mod listeners;
mod middleware;
mod partition;
mod retention;
mod robustness;
mod scheduling;
mod system_jobs;
mod transitions;
mod typed;
