//! LISTEN/NOTIFY: the wake-up signal (`bgtasks_due`) and the control signal
//! (`bgtasks_control`), across pools, and the listener's reconnection.

use std::time::{Duration, Instant};

use bgtasks_abstractions::JobStatus;
use bgtasks_store::{GiveBack, JobControl, JobDefinitions, JobRuns, RemoveIf};
use bgtasks_store_conformance::queued;
use tokio::sync::Notify;

use super::claim;
use crate::support;

/// Waits up to `within` for a poke.
async fn poked(notify: &Notify, within: Duration) -> bool {
    tokio::time::timeout(within, notify.notified())
        .await
        .is_ok()
}

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_through_another_pool_wakes_a_subscriber() {
    let url = support::fresh_database().await;
    let listening = support::connect_fixed(&url).await;
    let writer = support::connect_fixed(&url).await;
    let signal = listening.subscribe_due().expect("the store signals");
    assert!(
        poked(&signal, Duration::from_secs(5)).await,
        "one wake-up once listening (work may have been missed before)"
    );
    assert!(!poked(&signal, QUIET).await, "then quiet");

    let started = Instant::now();
    writer.insert(&[queued("j", 0)]).await.unwrap();
    assert!(
        poked(&signal, Duration::from_secs(1)).await,
        "woken by the insert"
    );
    println!("woken {:?} after the insert", started.elapsed());

    // A write that makes nothing due (a Completed job) does not wake anyone.
    let mut done = queued("done", 0);
    done.status = JobStatus::Completed;
    writer.insert(&[done]).await.unwrap();
    assert!(!poked(&signal, QUIET).await);

    // A claim makes nothing due; a give-back does.
    let run = claim(&writer, "n", 1, 1).await.remove(0);
    assert!(!poked(&signal, QUIET).await, "a claim");
    writer
        .give_back(&run.lease, GiveBack::RunAgain)
        .await
        .unwrap();
    assert!(poked(&signal, Duration::from_secs(1)).await, "a give-back");
}

// spec: R39
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_stopping_or_removing_a_running_job_signals_its_node() {
    let url = support::fresh_database().await;
    let node = support::connect_fixed(&url).await;
    let admin = support::connect_fixed(&url).await;
    let control = node.subscribe_control().expect("the store signals control");
    let due = node.subscribe_due().expect("and due jobs");
    assert!(
        poked(&control, Duration::from_secs(5)).await,
        "one signal once listening (a pause may have been missed before)"
    );
    assert!(poked(&due, Duration::from_secs(1)).await);
    admin
        .insert(&[
            queued("a", 0),
            queued("b", 0),
            queued("c", 0),
            queued("idle", 500),
        ])
        .await
        .unwrap();
    let runs = claim(&node, "n", 1, 3).await;
    assert_eq!(runs.len(), 3);
    assert!(poked(&due, Duration::from_secs(1)).await, "the inserts");
    assert!(
        !poked(&control, QUIET).await,
        "inserts and claims are not control"
    );

    admin.pause("idle").await.unwrap().unwrap();
    admin
        .trigger("a", bgtasks_store_conformance::t(2))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !poked(&control, QUIET).await,
        "pausing a job that is not running, or triggering one that is, needs no renewal"
    );
    admin.pause("a").await.unwrap().unwrap();
    assert!(poked(&control, Duration::from_secs(1)).await, "a pause");
    admin.stop("b").await.unwrap().unwrap();
    assert!(poked(&control, Duration::from_secs(1)).await, "a stop");
    admin.remove("c", RemoveIf::Always).await.unwrap().unwrap();
    assert!(poked(&control, Duration::from_secs(1)).await, "a removal");
    admin
        .remove("idle", RemoveIf::Always)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !poked(&control, QUIET).await,
        "removing a job that is not running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_and_wakes_after_its_connection_dies() {
    let url = support::fresh_database().await;
    let listening = support::connect_fixed(&url).await;
    let writer = support::connect_fixed(&url).await;
    let signal = listening.subscribe_due().unwrap();
    let control = listening.subscribe_control().unwrap();
    assert!(poked(&signal, Duration::from_secs(5)).await);
    assert!(poked(&control, Duration::from_secs(1)).await);
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_one(writer.pool())
    .await
    .unwrap();
    assert_eq!(killed, 1, "the one LISTEN connection, for both channels");
    assert!(
        poked(&signal, Duration::from_secs(5)).await,
        "a wake-up after reconnecting"
    );
    assert!(
        poked(&control, Duration::from_secs(1)).await,
        "and a control signal: a pause may have been missed"
    );
    writer.insert(&[queued("after", 0)]).await.unwrap();
    assert!(
        poked(&signal, Duration::from_secs(2)).await,
        "listening again"
    );
}
