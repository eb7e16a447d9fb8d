//! The in-memory store's contract (R27) and its claims, leases and fencing.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobKind, JobPriority, JobStatus};
use chrono::{DateTime, TimeZone, Utc};

use super::InMemoryJobStore;
use crate::store::{CompletionOutcome, JobStore, ReleaseMode};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

fn queued(id: &str, due: i64) -> JobInfo {
    let mut job = JobInfo::once(id, "t");
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(due));
    job
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn waiting_filter_and_order() {
    // spec: R27
    let store = InMemoryJobStore::new();
    let mut high = queued("high", 50);
    high.priority = JobPriority::High;
    let mut retried = queued("retried", 10);
    retried.status = JobStatus::FailedRetry;
    retried.try_count = 2;
    let early = queued("early", 5);
    let late = queued("late", 20);
    let mut abandoned = queued("abandoned", 1);
    abandoned.is_abandoned = true;
    let mut running = queued("running", 1);
    running.status = JobStatus::Running;
    let mut period = JobInfo::period("period", "t", "0 * * * * ?");
    period.status = JobStatus::Queuing;
    let mut exhausted = queued("exhausted", 1);
    exhausted.max_count = 2;
    exhausted.trigger_count = 2;
    exhausted.max_try_count = 3;
    exhausted.try_count = 3;
    let mut runs_left = queued("runs-left", 30);
    runs_left.max_count = 5;
    runs_left.trigger_count = 1;
    runs_left.max_try_count = 3;
    runs_left.try_count = 3;
    for job in [
        &high, &retried, &early, &late, &abandoned, &running, &period, &exhausted, &runs_left,
    ] {
        store.store(job).await.unwrap();
    }
    let ids: Vec<String> = store
        .list_waiting(10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec!["high", "early", "late", "retried", "runs-left"]);
    let limited = store.list_waiting(2).await.unwrap();
    assert_eq!(limited.len(), 2);
    let periods: Vec<String> = store
        .list_period(10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(periods, vec!["period"]);
}

#[tokio::test]
async fn running_jobs_of_a_node() {
    // spec: R27
    let store = InMemoryJobStore::new();
    for (id, node) in [("mine", Some("a")), ("free", None), ("theirs", Some("b"))] {
        let mut job = queued(id, 0);
        job.status = JobStatus::Running;
        job.node_name = node.map(str::to_owned);
        store.store(&job).await.unwrap();
    }
    store.store(&queued("queued", 0)).await.unwrap();
    let mut ids: Vec<String> = store
        .list_running("a", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["free", "mine"]);
    assert_eq!(store.list_running("a", 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn insert_find_store_remove() {
    // spec: R27
    let store = InMemoryJobStore::new();
    let job = queued("j", 0);
    assert!(store.insert(&job).await.unwrap());
    assert!(
        !store.insert(&job).await.unwrap(),
        "a duplicate id is refused"
    );
    let mut changed = job.clone();
    changed.description = "changed".into();
    store.store(&changed).await.unwrap();
    assert_eq!(
        store.find("j").await.unwrap().unwrap().description,
        "changed"
    );
    assert!(store.remove("j").await.unwrap());
    assert!(!store.remove("j").await.unwrap());
    assert!(store.find("j").await.unwrap().is_none());
}

#[tokio::test]
async fn cleanup_removes_old_completed_jobs_not_recent_ones() {
    // spec: R27
    let store = InMemoryJobStore::new();
    let completed =
        |id: &str, last_run: Option<i64>, end: Option<i64>, created: i64, node: Option<&str>| {
            let mut job = JobInfo::once(id, "t");
            job.status = JobStatus::Completed;
            job.last_run_time = last_run.map(t);
            job.end_time = end.map(t);
            job.creation_time = t(created);
            job.node_name = node.map(str::to_owned);
            job
        };
    for job in [
        completed("old-run", Some(10), None, 0, None),
        completed("recent-run", Some(500), None, 0, None),
        completed("old-end", None, Some(20), 0, None),
        completed("old-created", None, None, 30, None),
        completed("old-other-node", Some(5), None, 0, Some("b")),
    ] {
        store.store(&job).await.unwrap();
    }
    let mut stale_but_active = queued("active", 0);
    stale_but_active.last_run_time = Some(t(1));
    store.store(&stale_but_active).await.unwrap();

    let of_node_b: Vec<String> = store
        .cleanup(Some("b"), t(100), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(of_node_b, vec!["old-other-node"]);
    let first: Vec<String> = store
        .cleanup(None, t(100), 2)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(first, vec!["old-run", "old-end"], "oldest first, at most 2");
    let rest: Vec<String> = store
        .cleanup(None, t(100), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(rest, vec!["old-created"]);
    assert!(
        store.find("recent-run").await.unwrap().is_some(),
        "recent jobs are kept"
    );
    assert!(
        store.find("active").await.unwrap().is_some(),
        "only Completed jobs are removed"
    );
}

#[tokio::test]
async fn claims_take_due_runs_by_priority_and_move_the_schedule() {
    // spec: R27
    let store = InMemoryJobStore::new();
    let mut low = queued("low", 0);
    low.priority = JobPriority::Low;
    let mut high = queued("high", 5);
    high.priority = JobPriority::High;
    let future = queued("future", 100);
    let mut persistent = JobInfo::persistent("persistent", "t", 60, 0);
    persistent.status = JobStatus::Queuing;
    persistent.next_run_time = Some(t(1));
    for job in [&low, &high, &future, &persistent] {
        store.insert(job).await.unwrap();
    }
    assert_eq!(store.next_due_time("n").await.unwrap(), Some(t(0)));
    let claimed = store.claim_due("n", t(10), 10, LEASE).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(ids, vec!["high", "persistent", "low"]);
    let persistent = claimed.iter().find(|c| c.job.id == "persistent").unwrap();
    assert_eq!(
        persistent.job.next_run_time,
        Some(t(70)),
        "the claim moved it one interval on"
    );
    assert_eq!(persistent.lease.due_at, t(1));
    assert!(
        store
            .claim_due("n", t(10), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "leased runs are not claimed twice"
    );
    assert_eq!(store.next_due_time("n").await.unwrap(), Some(t(100)));
}

#[tokio::test]
async fn a_period_tick_is_claimed_once_across_nodes() {
    // spec: R3
    let store = Arc::new(InMemoryJobStore::new());
    let mut period = JobInfo::period("tick", "t", "0/10 * * * * ?");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(0));
    period.kind = JobKind::Period;
    store.insert(&period).await.unwrap();
    let a = store.claim_due("a", t(1), 5, LEASE).await.unwrap();
    let b = store.claim_due("b", t(1), 5, LEASE).await.unwrap();
    assert_eq!(a.len() + b.len(), 1);
    let next = a[0].job.next_run_time.unwrap();
    assert!(next > t(1) && (next - t(1)).num_seconds() <= 10);
}

#[tokio::test]
async fn pinned_jobs_are_claimed_only_by_their_node() {
    // spec: R30
    let store = InMemoryJobStore::new();
    let mut pinned = queued("pinned", 0);
    pinned.node_name = Some("b".into());
    store.insert(&pinned).await.unwrap();
    assert!(
        store
            .claim_due("a", t(1), 5, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_due_time("a").await.unwrap(),
        None,
        "node a does not wake for b's job"
    );
    assert_eq!(store.claim_due("b", t(1), 5, LEASE).await.unwrap().len(), 1);
}

#[tokio::test]
async fn completion_is_fenced_by_the_lease_token() {
    // spec: R27
    let store = InMemoryJobStore::new();
    store.insert(&queued("j", 0)).await.unwrap();
    let first = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    // Node a stops renewing; the lease expires and the run is rescued.
    assert_eq!(
        store.rescue_expired(t(40)).await.unwrap(),
        vec!["j".to_owned()]
    );
    let logs = store.list_logs("j", 5).await.unwrap();
    assert!(
        logs[0].exception.as_deref().unwrap().contains("node `a`"),
        "the log shows the interruption"
    );
    let second = store
        .claim_due("b", t(41), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(second.lease.token > first.lease.token);
    assert_eq!(
        second.lease.due_at,
        t(0),
        "the rescued run is the same run, due at its old time"
    );
    let mut stale = first.job.clone();
    stale.result = Some("stale".into());
    assert_eq!(
        store.complete_run(&first.lease, &stale).await.unwrap(),
        CompletionOutcome::LeaseLost
    );
    assert_eq!(
        store
            .renew_leases("a", std::slice::from_ref(&first.lease), t(100))
            .await
            .unwrap(),
        vec!["j".to_owned()]
    );
    let mut fresh = second.job.clone();
    fresh.status = JobStatus::Completed;
    assert_eq!(
        store.complete_run(&second.lease, &fresh).await.unwrap(),
        CompletionOutcome::Saved
    );
    assert_eq!(
        store.find("j").await.unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(
        store
            .release_run(&second.lease, ReleaseMode::KeepSchedule)
            .await
            .unwrap(),
        CompletionOutcome::LeaseLost
    );
}

#[tokio::test]
async fn renewed_leases_are_not_rescued_and_released_runs_come_back() {
    // spec: R27
    let store = InMemoryJobStore::new();
    store.insert(&queued("j", 0)).await.unwrap();
    let run = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .renew_leases("a", std::slice::from_ref(&run.lease), t(100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.rescue_expired(t(60)).await.unwrap().is_empty());
    assert_eq!(
        store
            .release_run(&run.lease, ReleaseMode::RunAgainAt(t(0)))
            .await
            .unwrap(),
        CompletionOutcome::Saved
    );
    assert_eq!(store.claim_due("b", t(2), 1, LEASE).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_job_paused_during_its_run_stays_paused() {
    // spec: R26
    let store = InMemoryJobStore::new();
    let mut job = JobInfo::persistent("p", "t", 10, 0);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(0));
    store.insert(&job).await.unwrap();
    let run = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    let mut paused = store.find("p").await.unwrap().unwrap();
    paused.status = JobStatus::Paused;
    store.store(&paused).await.unwrap();
    let mut outcome = run.job.clone();
    outcome.status = JobStatus::Running;
    store.complete_run(&run.lease, &outcome).await.unwrap();
    assert_eq!(
        store.find("p").await.unwrap().unwrap().status,
        JobStatus::Paused
    );
    assert!(
        store
            .claim_due("a", t(100), 1, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn past_end_time_is_never_claimed() {
    // spec: R3
    let store = InMemoryJobStore::new();
    let mut job = queued("late", 0);
    job.end_time = Some(t(5));
    store.insert(&job).await.unwrap();
    assert!(
        store
            .claim_due("a", t(10), 1, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.find("late").await.unwrap().unwrap().next_run_time,
        None
    );
}

#[tokio::test]
async fn stale_index_entries_do_not_pile_up() {
    let store = InMemoryJobStore::new();
    store.insert(&queued("j", 0)).await.unwrap();
    for i in 0..100 {
        let run = store
            .claim_due("a", t(i), 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        store
            .release_run(&run.lease, ReleaseMode::RunAgainAt(t(i)))
            .await
            .unwrap();
    }
    assert!(store.index_len() <= 2, "{}", store.index_len());
}
