//! `/health/live` and `/health/ready`: the runtime's liveness and readiness
//! ([`Runtime::liveness`], [`Runtime::readiness`]) as JSON, 200 when the probe passes and
//! 503 when it does not. They need no token, so that Kubernetes (or a load balancer) can
//! call them; they show loop names, times and store errors, never a job.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bgtasks_core::{Probe, Runtime};

use crate::state::AdminState;

/// A router serving `GET /health/live` and `GET /health/ready` for `runtime`, the store
/// check of readiness bounded by `store_timeout`, to merge into any axum app.
pub fn health_router<S: Clone + Send + Sync + 'static>(
    runtime: Runtime,
    store_timeout: Duration,
) -> Router<S> {
    let live = runtime.clone();
    Router::new()
        .route(
            "/health/live",
            get(move || {
                let runtime = live.clone();
                async move { respond(runtime.liveness()) }
            }),
        )
        .route(
            "/health/ready",
            get(move || {
                let runtime = runtime.clone();
                async move { respond(runtime.readiness(store_timeout).await) }
            }),
        )
}

/// The routes the admin router adds outside its token check: the probes, and `/metrics`
/// when the configuration has a Prometheus handle.
pub(crate) fn routes(state: &AdminState) -> Router<AdminState> {
    let config = &state.config;
    let router = health_router(state.runtime.clone(), config.readiness_timeout);
    match &config.metrics {
        Some(handle) => router.merge(crate::prometheus::metrics_router(handle.clone())),
        None => router,
    }
}

fn respond(probe: Probe) -> Response {
    let status = if probe.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(probe)).into_response()
}
