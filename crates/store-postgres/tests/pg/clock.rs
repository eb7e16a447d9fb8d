//! One clock (R45): on the database's clock (the default), leases expire, runs and
//! notifications fall due, jobs count as due and locks lapse by the database's `now()`,
//! whatever time the caller passes.

use std::time::{Duration, Instant};

use bgtasks_abstractions::JobStatus;
use bgtasks_store::{
    ClaimRequest, JobControl, JobDefinitions, JobLockProvider, JobRuns, JobStatistics,
    NewNotification, NotificationKind, NotificationOutbox, RenewOutcome,
};
use bgtasks_store_conformance::queued;
use bgtasks_store_conformance::support::{complete, finished};
use chrono::{DateTime, TimeZone, Utc};

use crate::support;

fn year(y: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap()
}

/// How long the test waits at most for something that takes about a second.
const PATIENCE: Duration = Duration::from_secs(30);

// spec: R45
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_expire_and_runs_fall_due_by_the_database_clock() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut past = queued("past", 0);
    past.next_run_time = Some(year(2000));
    let mut future = queued("future", 0);
    future.next_run_time = Some(year(2100));
    store.insert(&[past, future]).await.unwrap();

    let request = |now: DateTime<Utc>, lease: Duration| ClaimRequest {
        node: "n",
        now,
        limit: 10,
        lease,
        job_types: None,
    };
    let claimed_at = Instant::now();
    let runs = store
        .claim(&request(year(2200), Duration::from_secs(1)))
        .await
        .unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.job.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["past"],
        "due by the database's clock, not the caller's 2200"
    );
    let lease = runs[0].lease.clone();
    let db_now = Utc::now();
    assert!(
        (lease.expires_at - db_now).num_seconds().abs() < 60,
        "the lease ends one second after the database's now: {}",
        lease.expires_at
    );

    // A rescuer that believes it is 2100 does not rescue a lease the database says is
    // valid; once a real second has passed, it does.
    assert!(
        store.rescue(year(2100)).await.unwrap().is_empty(),
        "not expired yet"
    );
    let rescued = loop {
        let rescued = store.rescue(year(2100)).await.unwrap();
        if !rescued.is_empty() {
            break rescued;
        }
        assert!(claimed_at.elapsed() < PATIENCE, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        claimed_at.elapsed() >= Duration::from_millis(900),
        "rescued after {:?}, before its second was up",
        claimed_at.elapsed()
    );
    assert_eq!(rescued[0].job_id, "past");
    assert_eq!(rescued[0].expired_at, lease.expires_at);

    // A claim and a renewal made by a caller who believes it is 2000 lease from the
    // database's now too.
    let again = store
        .claim(&request(year(2000), Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        store
            .renew(
                "n",
                &[again[0].lease.clone()],
                Duration::from_secs(120),
                year(2000)
            )
            .await
            .unwrap(),
        vec![RenewOutcome::Renewed]
    );
    let held = store.find("past").await.unwrap().unwrap().lease.unwrap();
    assert!(
        held.expires_at > again[0].lease.expires_at && held.expires_at > Utc::now(),
        "renewed until the database's now + 120 s: {}",
        held.expires_at
    );
    assert!(store.rescue(year(2100)).await.unwrap().is_empty());

    // Control transitions schedule from the database's now too.
    let triggered = store.trigger("future", year(1990)).await.unwrap().unwrap();
    let due = triggered.job.next_run_time.unwrap();
    assert!(
        (due - Utc::now()).num_seconds().abs() < 60,
        "due now: {due}"
    );
    assert_eq!(triggered.job.status, JobStatus::Queuing);
}

// spec: R28
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_expire_by_the_database_clock_and_release_only_their_own() {
    let url = support::fresh_database().await;
    let a = support::connect(&url).await.lock_provider();
    let b = support::connect(&url).await.lock_provider();
    assert!(a.try_lock("job", 1).await.unwrap());
    assert!(
        !a.try_lock("job", 1).await.unwrap(),
        "held, even for its holder"
    );
    assert!(!b.try_lock("job", 1).await.unwrap());
    b.release("job").await.unwrap();
    assert!(
        !b.try_lock("job", 1).await.unwrap(),
        "b cannot release a's lock"
    );
    // The lock lapses after one second of the database's clock: wait for it (bounded),
    // and check that it did not lapse early.
    let taken = Instant::now();
    while !b.try_lock("job", 60).await.unwrap() {
        assert!(taken.elapsed() < PATIENCE, "the lock never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        taken.elapsed() >= Duration::from_millis(900),
        "expired after {:?}, before its second was up",
        taken.elapsed()
    );
    assert!(!a.try_lock("job", 60).await.unwrap());
}

// spec: R45, R51
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_claims_and_counts_use_the_database_clock() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut job = queued("j", 0);
    job.next_run_time = Some(year(2000));
    let mut waiting = queued("waiting", 0);
    waiting.next_run_time = Some(year(2001));
    store.insert(&[job, waiting]).await.unwrap();
    let run = store
        .claim(&ClaimRequest {
            node: "n",
            now: year(1990),
            limit: 1,
            lease: Duration::from_secs(60),
            job_types: None,
        })
        .await
        .unwrap()
        .remove(0);
    let mut done = finished(&run, JobStatus::Completed);
    done.notifications.push(NewNotification {
        id: "note".into(),
        job_id: "j".into(),
        action: "mail".into(),
        kind: NotificationKind::Success,
        payload: serde_json::json!({}),
        created_at: year(2000),
        min_interval: None,
    });
    assert!(complete(&store, done).await.is_saved());

    // A caller who believes it is 1990 would find nothing due; the database's clock says
    // the notification (due in 2000) is, and leases it from its own now.
    let claimed = store
        .claim_notifications("n", year(1990), 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let (_, until) = claimed[0].notification.leased_to.clone().unwrap();
    assert!(
        (until - Utc::now()).num_seconds().abs() < 120,
        "leased until the database's now + 60 s: {until}"
    );
    let counts = store.counts(year(1990)).await.unwrap();
    assert_eq!(
        (counts.due, counts.oldest_due),
        (1, Some(year(2001))),
        "due by the database's clock"
    );
}
