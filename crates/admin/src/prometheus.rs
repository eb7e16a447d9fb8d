//! The `/metrics` endpoint: bgtasks' metrics (and any other the host records through the
//! `metrics` facade) in the Prometheus text format, rendered by
//! `metrics-exporter-prometheus`. The admin router serves it when its configuration has a
//! handle ([`AdminConfig::metrics`](crate::AdminConfig::metrics)); [`metrics_router`]
//! serves it on its own.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bgtasks_core::metrics::names;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// How often the installed recorder's upkeep runs (it drains histogram samples between
/// scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// A Prometheus builder with bgtasks' histogram buckets (queue wait 1 ms–60 s, run
/// durations 5 ms–1 h, store calls 0.5 ms–30 s, claim batches 1–1,000): add your own
/// settings, then build or install it.
pub fn prometheus_builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(names::JOB_QUEUE_WAIT_SECONDS.to_owned()),
            names::QUEUE_WAIT_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(names::JOB_DURATION_SECONDS.to_owned()),
            names::DURATION_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(names::STORE_OPERATION_DURATION_SECONDS.to_owned()),
            names::STORE_OPERATION_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(names::CLAIM_BATCH_SIZE.to_owned()),
            names::CLAIM_BATCH_BUCKETS,
        )
}

/// Installs a Prometheus recorder with bgtasks' buckets as the process's `metrics`
/// recorder, gives the metrics their descriptions, and (inside a tokio runtime) runs its
/// upkeep every 5 s. Pass the handle to [`AdminConfig::metrics`](crate::AdminConfig::metrics)
/// or [`metrics_router`]. Fails if a recorder is installed already.
pub fn install_prometheus_recorder() -> Result<PrometheusHandle, BuildError> {
    let handle = prometheus_builder()?.install_recorder()?;
    bgtasks_core::metrics::describe();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let upkeep = handle.clone();
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(UPKEEP_EVERY);
            loop {
                ticks.tick().await;
                upkeep.run_upkeep();
            }
        });
    }
    Ok(handle)
}

/// A router serving `GET /metrics` from `handle`, to merge into any axum app (no token:
/// serve it where only the scraper reaches it).
pub fn metrics_router<S: Clone + Send + Sync + 'static>(handle: PrometheusHandle) -> Router<S> {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { render(&handle) }
        }),
    )
}

/// The scrape: the text exposition format.
fn render(handle: &PrometheusHandle) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
