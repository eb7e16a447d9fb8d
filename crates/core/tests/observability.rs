//! Spans, events, the trace context carried from an enqueue to its runs (also onto
//! another node), and the store gauges refreshed by one node — on the in-memory store
//! under tokio's paused clock.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[path = "observability/capture.rs"]
mod capture;
#[path = "observability/docs.rs"]
mod docs;
#[path = "observability/gauges.rs"]
mod gauges;
#[path = "observability/otel.rs"]
mod otel;
#[path = "observability/spans.rs"]
mod spans;
