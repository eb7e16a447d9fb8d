//! Every wait of a store call is bounded (R45): a writer that holds the file makes other
//! writers wait at most the busy timeout, and writers of this process wait for their turn
//! at most the acquire timeout; a claim, a notification claim and a rescue with nothing
//! to do take no write lock at all, so they answer while another process writes.

use std::time::Duration;

use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{JobRuns, NotificationOutbox, RunLogs, StoreError};
use tokio::time::timeout;

use crate::{LEASE, claim, log, queued, raw, seed, t};

/// Far longer than any of these calls takes when it does not wait.
const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_with_nothing_to_do_take_no_write_lock() {
    // spec: R45
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    // A write lock would be waited for a minute: the calls below must not wait at all.
    let options = SqliteStoreOptions::default().busy_timeout(Duration::from_secs(60));
    let store = SqliteJobStore::open(&path, options).await.unwrap();
    seed(&store, &[queued("later", 100)]).await;
    let mut other = raw(&path).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let nothing_due = timeout(PATIENCE, async {
        (
            claim(&store, "a", 1, 10).await,
            store
                .claim_notifications("a", t(1), 10, LEASE)
                .await
                .unwrap(),
            store.rescue(t(1)).await.unwrap(),
        )
    })
    .await
    .expect("nothing to do: no write lock waited for");
    assert!(nothing_due.0.is_empty() && nothing_due.1.is_empty() && nothing_due.2.is_empty());

    let due = tokio::spawn({
        let store = store.clone();
        async move { claim(&store, "a", 100, 10).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !due.is_finished(),
        "a claim with a run due waits for the lock"
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    assert_eq!(timeout(PATIENCE, due).await.unwrap().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_wait_for_the_file_and_for_their_turn_within_bounds() {
    // spec: R45
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let options = SqliteStoreOptions::default()
        .busy_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_millis(200));
    let store = SqliteJobStore::open(&path, options).await.unwrap();
    seed(&store, &[queued("j", 0)]).await;
    let mut other = raw(&path).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    // The claim takes this process's turn and waits for the other process's lock…
    let claiming = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .claim(&bgtasks_store::ClaimRequest {
                    node: "a",
                    now: t(1),
                    limit: 1,
                    lease: LEASE,
                    job_types: None,
                })
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // …so a second write of this process waits for its turn, at most the acquire timeout.
    let turn = timeout(PATIENCE, store.append_logs(&[log("j", 1, "ok")]))
        .await
        .expect("the wait for a turn is bounded");
    match turn {
        Err(error @ StoreError::Unavailable { .. }) => {
            assert!(error.to_string().contains("store run logs"), "{error}");
        }
        other => panic!("expected the turn to time out, got {other:?}"),
    }
    // The claim gives up once the busy timeout has passed.
    let claimed = timeout(PATIENCE, claiming)
        .await
        .expect("the wait for the file is bounded")
        .unwrap();
    assert!(
        matches!(claimed, Err(ref error) if error.is_transient()),
        "{claimed:?}"
    );

    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    store.append_logs(&[log("j", 2, "ok")]).await.unwrap();
    assert_eq!(claim(&store, "a", 3, 1).await.len(), 1);
}
