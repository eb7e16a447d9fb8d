//! The signals: a job queued by another process wakes this one; a pause, stop or removal
//! of a running job makes its node renew at once — from this handle directly, from
//! another one through the file — and other writes do not.

use std::time::{Duration, Instant};

use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{JobControl, JobDefinitions, JobRuns, RemoveIf};
use tokio::time::timeout;

use crate::{claim, queued, seed};

/// Long enough for any watcher tick on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

fn watching() -> SqliteStoreOptions {
    SqliteStoreOptions::default().watch_interval(Some(Duration::from_millis(50)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_by_another_process_wakes_the_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let node = SqliteJobStore::open(&path, watching()).await.unwrap();
    let producer = SqliteJobStore::open(&path, watching()).await.unwrap();
    let due = node.subscribe_due().unwrap();
    // The watcher compares the file's version with the one it read last; an insert made
    // before its first read is not a change to it. So insert until one wakes the handle
    // (bounded), rather than sleeping and hoping the watcher has looked by then.
    let deadline = Instant::now() + PATIENCE;
    for i in 0.. {
        seed(&producer, &[queued(&format!("from-elsewhere-{i}"), 0)]).await;
        if timeout(Duration::from_millis(250), due.notified())
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no insert by the other process woke this handle within {PATIENCE:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_handle_signals_control_at_once_only_for_running_jobs() {
    // spec: R39
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteStoreOptions::default().watch_interval(None);
    let store = SqliteJobStore::open(dir.path().join("jobs.db"), options)
        .await
        .unwrap();
    let control = store.subscribe_control().unwrap();
    seed(
        &store,
        &[queued("idle", 100), queued("busy", 0), queued("gone", 0)],
    )
    .await;
    store.pause("idle").await.unwrap().unwrap();
    store.stop("idle").await.unwrap().unwrap();
    assert!(
        timeout(Duration::from_millis(100), control.notified())
            .await
            .is_err(),
        "no run to interrupt: no signal"
    );
    assert_eq!(claim(&store, "a", 1, 5).await.len(), 2);
    let fired = || async { timeout(Duration::ZERO, control.notified()).await.is_ok() };
    store.pause("busy").await.unwrap().unwrap();
    assert!(
        fired().await,
        "a pause of a running job fires before the call returns"
    );
    store.stop("busy").await.unwrap().unwrap();
    assert!(fired().await, "so does a stop");
    store
        .remove("gone", RemoveIf::Always)
        .await
        .unwrap()
        .unwrap();
    assert!(fired().await, "and a removal");
    store.trigger("busy", crate::t(2)).await.unwrap().unwrap();
    assert!(
        !fired().await,
        "a trigger withdraws the stop: nothing to interrupt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_from_another_handle_reaches_the_node_and_other_writes_do_not() {
    // spec: R39
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let node = SqliteJobStore::open(&path, watching()).await.unwrap();
    let admin = SqliteJobStore::open(&path, watching()).await.unwrap();
    let control = node.subscribe_control().unwrap();
    let due = node.subscribe_due().unwrap();
    seed(&node, &[queued("j", 0), queued("k", 0)]).await;
    assert_eq!(claim(&node, "a", 1, 2).await.len(), 2);
    // Drain what the node's own writes fired.
    let _ = timeout(Duration::from_millis(200), due.notified()).await;

    admin.pause("j").await.unwrap().unwrap();
    timeout(PATIENCE, control.notified())
        .await
        .expect("the node learns of the pause through the file");
    // The same look at the file fired the due signal first: take it.
    timeout(PATIENCE, due.notified()).await.unwrap();

    seed(&admin, &[queued("other", 50)]).await;
    timeout(PATIENCE, due.notified())
        .await
        .expect("the insert is seen");
    assert!(
        timeout(Duration::from_millis(300), control.notified())
            .await
            .is_err(),
        "an insert is no control transition"
    );

    admin.remove("k", RemoveIf::Always).await.unwrap().unwrap();
    timeout(PATIENCE, control.notified())
        .await
        .expect("the node learns of the removal through the file");
}
