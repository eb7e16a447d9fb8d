//! Issue 15: "Ready turns false when the store is stopped and true again after; live stays
//! true" — against a real PostgreSQL server that stops: a cluster of the test's own
//! (`BGTASKS_TEST_POSTGRES_BIN`), never the shared one, stopped with `pg_ctl stop -m fast`
//! under a started runtime and its admin router, then started again.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use bgtasks_admin::{Admin, AdminConfig};
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions};
use serde_json::Value;

use crate::cluster::PrivateCluster;
use crate::scrape::get;

/// How long each change may take to show in the probes: generous, for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

async fn probe(router: &Router, path: &str) -> (StatusCode, Value) {
    let (status, body) = get(router, path).await;
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|error| panic!("{path} answered no JSON ({error}): {body}"));
    (status, json)
}

fn check<'a>(probe: &'a Value, name: &str) -> &'a Value {
    probe["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {probe}"))
}

/// Polls `/health/ready` until its status is `wanted` (at most [`PATIENCE`]), checking at
/// every poll that `/health/live` answers 200; returns the last readiness answer.
async fn ready_becomes(router: &Router, wanted: StatusCode, what: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (live, body) = probe(router, "/health/live").await;
        assert_eq!(live, StatusCode::OK, "live stays true ({what}): {body}");
        assert_eq!(body["ok"], true, "{body}");
        let (status, ready) = probe(router, "/health/ready").await;
        if status == wanted {
            return ready;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/health/ready did not answer {wanted} within {PATIENCE:?} ({what}); last: {status} {ready}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_turns_false_while_postgres_is_stopped_and_true_again_after() {
    // spec: R42 (the loops' liveness is observable), R45 (every store call is bounded)
    let cluster = PrivateCluster::start().await;
    let options = PostgresStoreOptions::default()
        .with_max_connections(4)
        .with_connect_timeout(Duration::from_secs(2))
        .with_call_timeout(Duration::from_secs(5));
    let store = PostgresJobStore::connect(&cluster.url(), options)
        .await
        .expect("connect the store to the private cluster");
    let runtime = Runtime::builder()
        .store(Arc::new(store))
        .node_name("pg-probed")
        .configure(|o| {
            o.shutdown_grace = Duration::from_secs(1);
            o.store_timeout = Duration::from_secs(5);
        })
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    // Tokens are configured, and the probes need none.
    let config = AdminConfig::new()
        .operator_token("operator-token")
        .readiness_timeout(Duration::from_secs(2));
    let router = Admin::new(runtime.clone(), config).router();

    let ready = ready_becomes(&router, StatusCode::OK, "before the stop").await;
    assert_eq!(
        (&ready["ok"], &ready["state"]),
        (&Value::from(true), &Value::from("started"))
    );
    assert_eq!(check(&ready, "store")["ok"], true, "{ready}");

    cluster.stop_fast().await;
    let down = ready_becomes(&router, StatusCode::SERVICE_UNAVAILABLE, "server stopped").await;
    assert_eq!(down["ok"], false, "{down}");
    assert_eq!(
        down["state"], "started",
        "the node itself is not stopped: {down}"
    );
    let store_check = check(&down, "store");
    assert_eq!(store_check["ok"], false, "{down}");
    let detail = store_check["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("the store failed: ") || detail.starts_with("the store did not answer"),
        "the detail names the store and why: {down}"
    );

    cluster.start_server().await;
    let back = ready_becomes(&router, StatusCode::OK, "server started again").await;
    assert_eq!(back["ok"], true, "{back}");
    assert_eq!(check(&back, "store")["ok"], true, "{back}");
    assert_eq!(probe(&router, "/health/live").await.0, StatusCode::OK);

    runtime.shutdown().await.unwrap();
    let dir = cluster.dir();
    drop(cluster);
    assert!(!dir.exists(), "the cluster is removed with its guard");
}
