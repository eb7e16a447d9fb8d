//! Connecting, and failing to: errors name the server, never the password, within the
//! timeout; bad URLs and options are errors, not panics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions, TimeSource};
use bgtasks_store::{JobRuns, JobStore};

use crate::support;

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_credentials_within_the_timeout() {
    let port = closed_port();
    let url = format!("postgres://someone:s3cret-pass@127.0.0.1:{port}/jobs");
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let error = PostgresJobStore::connect(
        &url,
        PostgresStoreOptions::default().with_connect_timeout(timeout),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < timeout + Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let message = error.to_string();
    assert!(
        error.is_transient(),
        "unavailable, so a caller may retry: {error:?}"
    );
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("s3cret"), "no password in: {message}");
}

#[tokio::test]
async fn bad_urls_and_options_are_errors_not_panics() {
    let error = PostgresJobStore::connect("mysql://nope", PostgresStoreOptions::default())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("invalid PostgreSQL URL"),
        "{error}"
    );
    let error = PostgresJobStore::connect(
        "postgres://u:pw-secret@127.0.0.1:notaport/db",
        PostgresStoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("invalid PostgreSQL URL"),
        "{error}"
    );
    assert!(!error.to_string().contains("pw-secret"), "{error}");
    let error = PostgresJobStore::connect(
        "postgres://u:pw@127.0.0.1:1/db",
        PostgresStoreOptions::default().with_schema("Bad Name"),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("option `schema`"), "{error}");
}

#[tokio::test]
async fn a_store_handle_is_shareable_and_says_it_batches() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    assert!(JobRuns::prefers_batched_writes(&store));
    assert_eq!(
        store.time_source(),
        TimeSource::Database,
        "one clock by default"
    );
    let shared: Arc<dyn JobStore> = Arc::new(store.clone());
    assert!(shared.find("none").await.unwrap().is_none());
    assert!(
        format!("{store:?}").contains("127.0.0.1") || format!("{store:?}").contains("localhost")
    );
}
