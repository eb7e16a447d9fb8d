//! Every store call is bounded (R45): each connection of the pool starts with a statement
//! timeout and an idle-in-transaction timeout, and a call that gets no answer in time
//! fails as unavailable instead of waiting on.

use std::time::{Duration, Instant};

use bgtasks_postgres::PostgresJobStore;
use bgtasks_store::{JobControl, JobDefinitions};
use bgtasks_store_conformance::queued;
use sqlx::{Connection, PgConnection};

use crate::support;

// spec: R45
#[tokio::test]
async fn every_connection_starts_with_the_session_timeouts() {
    let url = support::fresh_database().await;
    let options = support::options()
        .with_statement_timeout(Duration::from_millis(1500))
        .with_idle_in_transaction_timeout(Duration::from_secs(7));
    let store = PostgresJobStore::connect(&url, options).await.unwrap();
    let (statement, idle, keepalive): (String, String, String) = sqlx::query_as(
        "SELECT current_setting('statement_timeout'), \
           current_setting('idle_in_transaction_session_timeout'), \
           current_setting('tcp_keepalives_idle')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((statement.as_str(), idle.as_str()), ("1500ms", "7s"));
    assert!(
        keepalive == "30" || keepalive == "0",
        "30 s over TCP (0 on a Unix socket): {keepalive}"
    );
    let started = Instant::now();
    let error = sqlx::query("SELECT pg_sleep(10)")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "cut by the server after {:?}: {error}",
        started.elapsed()
    );
    assert!(error.to_string().contains("statement timeout"), "{error}");
}

// spec: R45
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_gets_no_answer_in_time_fails_as_unavailable() {
    let url = support::fresh_database().await;
    let store = PostgresJobStore::connect(
        &url,
        support::caller_clock_options().with_call_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    store.insert(&[queued("held", 0)]).await.unwrap();
    // Another session holds the job's row: the pause waits for it, well within the
    // statement timeout, but not past the call timeout.
    let mut other = PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT 1 FROM bgtasks_jobs WHERE id = 'held' FOR UPDATE")
        .execute(&mut other)
        .await
        .unwrap();
    let started = Instant::now();
    let error = store.pause("held").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(error.is_transient(), "unavailable: {error:?}");
    let message = error.to_string();
    assert!(
        message.contains("pause a job") && message.contains("call_timeout"),
        "{message}"
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    assert!(
        store.pause("held").await.unwrap().is_ok(),
        "the store works on once the row is free"
    );
}
