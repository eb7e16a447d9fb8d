//! `/health/live` and `/health/ready`: ready follows the store (false while it does not
//! answer, true again after); live stays true; neither needs a token.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use bgtasks_admin::{Admin, AdminConfig};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::store::{InMemoryJobStore, StoreError};
use bgtasks_core::{JobScheduler, Runtime};
use serde_json::Value;

use crate::scrape::get;

/// The in-memory store, which stops answering (every call hangs) while `silent` is set,
/// as a database cut off by a fault that does not close connections.
struct Silenceable {
    inner: Arc<InMemoryJobStore>,
    silent: AtomicBool,
}

impl Silenceable {
    async fn gate<T>(
        this: &Self,
        _what: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if this.silent.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        call.await
    }
}

bgtasks_core::store::forward_capabilities!(
    impl[] Silenceable => |this| this.inner, bounded by Silenceable::gate;
    JobDefinitions, JobRuns, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

fn check<'a>(probe: &'a Value, name: &str) -> &'a Value {
    probe["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {probe}"))
}

async fn probe(router: &axum::Router, path: &str) -> (StatusCode, Value) {
    let (status, body) = get(router, path).await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test(start_paused = true)]
async fn ready_follows_the_store_and_live_stays_true() {
    // spec: R42 (the loops' liveness is observable), R45 (every store call is bounded)
    let store = Arc::new(Silenceable {
        inner: Arc::new(InMemoryJobStore::new()),
        silent: AtomicBool::new(false),
    });
    let runtime = Runtime::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store.clone())
        .node_name("probed")
        .configure(|o| {
            o.shutdown_grace = Duration::from_secs(1);
            o.store_timeout = Duration::from_secs(5);
        })
        .build()
        .unwrap();
    // Tokens are configured, and the probes need none.
    let config = AdminConfig::new()
        .operator_token("operator-token")
        .readiness_timeout(Duration::from_secs(2));
    let router = Admin::new(runtime.clone(), config).router();

    let (status, ready) = probe(&router, "/health/ready").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not started: {ready}"
    );
    assert_eq!(check(&ready, "state")["ok"], false);
    assert_eq!(probe(&router, "/health/live").await.0, StatusCode::OK);

    runtime.start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, ready) = probe(&router, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["ok"], true);
    assert_eq!(ready["node"], "probed");
    assert_eq!(ready["state"], "started");
    for name in ["claim loop", "rescuer", "lease renewals", "store"] {
        assert_eq!(check(&ready, name)["ok"], true, "{name}: {ready}");
    }

    store.silent.store(true, Ordering::SeqCst);
    let (status, ready) = probe(&router, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    let store_check = check(&ready, "store");
    assert_eq!(store_check["ok"], false);
    assert_eq!(
        store_check["detail"], "the store did not answer within 2s",
        "{ready}"
    );
    let (status, live) = probe(&router, "/health/live").await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["ok"], true);

    store.silent.store(false, Ordering::SeqCst);
    let (status, ready) = probe(&router, "/health/ready").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ready again once the store answers: {ready}"
    );
    assert_eq!(probe(&router, "/health/live").await.0, StatusCode::OK);

    runtime.shutdown().await.unwrap();
    let (status, ready) = probe(&router, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["state"], "shuttingDown");
}

#[tokio::test(start_paused = true)]
async fn metrics_are_not_served_unless_configured() {
    let runtime = Runtime::builder()
        .clock(Arc::new(TokioClock::new()))
        .build()
        .unwrap();
    let router = Admin::new(runtime, AdminConfig::new()).router();
    let (status, _) = get(&router, "/metrics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
