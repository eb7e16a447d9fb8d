//! Claims: order, schedule, pins, types, end times, concurrency, tokens.

use std::collections::HashSet;

use bgtasks_abstractions::{JobInfo, JobPriority, JobStatus};
use bgtasks_store::{ClaimRequest, CompletionOutcome, RemoveIf};
use futures_util::future::join_all;

use crate::DynStoreFactory;
use crate::support::{LEASE, claim, claim_one, complete, finished, queued, record, seed, t};

/// Claims take due runs by priority, lease them, and move the schedule on.
pub async fn claims_take_due_runs_by_priority_and_move_the_schedule(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut low = queued("low", 0);
    low.priority = JobPriority::Low;
    let mut high = queued("high", 5);
    high.priority = JobPriority::High;
    let future = queued("future", 100);
    let mut persistent = JobInfo::persistent("persistent", "t", 60, 0);
    persistent.status = JobStatus::Queuing;
    persistent.next_run_time = Some(t(1));
    let mut paused = queued("paused", 0);
    paused.status = JobStatus::Paused;
    let mut stopped = queued("stopped", 0);
    stopped.status = JobStatus::Stopped;
    stopped.is_abandoned = true;
    seed(
        store.as_ref(),
        &[low, high, future, persistent, paused, stopped],
    )
    .await;
    assert_eq!(store.next_due_time("n", None).await.unwrap(), Some(t(0)));
    let claimed = claim(store.as_ref(), "n", 10, 10).await;
    let claimed_ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(claimed_ids, vec!["high", "persistent", "low"]);
    let persistent = claimed.iter().find(|c| c.job.id == "persistent").unwrap();
    assert_eq!(
        persistent.job.next_run_time,
        Some(t(70)),
        "the claim moved it one interval on"
    );
    assert_eq!(persistent.lease.due_at, t(1));
    assert_eq!(persistent.lease.node, "n");
    assert_eq!(persistent.lease.expires_at, t(40));
    let stored = record(store.as_ref(), "persistent").await;
    let lease = stored.lease.expect("the store shows the lease");
    assert_eq!(
        (
            lease.node.as_str(),
            lease.token,
            lease.due_at,
            lease.expires_at
        ),
        ("n", persistent.lease.token, t(1), t(40))
    );
    let once = claimed.iter().find(|c| c.job.id == "low").unwrap();
    assert_eq!(
        once.job.next_run_time, None,
        "a Once job has no following run"
    );
    assert!(
        claim(store.as_ref(), "n", 10, 10).await.is_empty(),
        "leased runs are not claimed twice"
    );
    assert_eq!(
        store.next_due_time("n", None).await.unwrap(),
        Some(t(100)),
        "leased runs are not waited for; the next free one is"
    );
    assert_eq!(
        claim(store.as_ref(), "n", 200, 1).await.len(),
        1,
        "the limit holds"
    );
}

/// R3: a Period tick is claimed by one handle only; the claim moves to the next tick.
pub async fn a_period_tick_is_claimed_once_across_handles(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    let mut period = JobInfo::period("tick", "t", "0/10 * * * * ?");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(0));
    seed(store.as_ref(), &[period]).await;
    let (a, b) = tokio::join!(
        claim(store.as_ref(), "a", 1, 5),
        claim(other.as_ref(), "b", 1, 5)
    );
    assert_eq!(a.len() + b.len(), 1);
    let claimed = a.into_iter().chain(b).next().unwrap();
    assert_eq!(
        claimed.job.next_run_time,
        Some(t(10)),
        "the next tick after the claim"
    );
}

/// R30: a job pinned to a node is claimed (and awaited) only by that node.
pub async fn pinned_jobs_are_claimed_only_by_their_node(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut pinned = queued("pinned", 0);
    pinned.node_name = Some("b".into());
    seed(store.as_ref(), &[pinned]).await;
    assert!(claim(store.as_ref(), "a", 1, 5).await.is_empty());
    assert_eq!(
        store.next_due_time("a", None).await.unwrap(),
        None,
        "node a does not wake for b's job"
    );
    assert_eq!(store.next_due_time("b", None).await.unwrap(), Some(t(0)));
    assert_eq!(claim(store.as_ref(), "b", 1, 5).await.len(), 1);
}

/// R41: a node claims, and waits for, only the job types it runs.
pub async fn claims_take_only_the_job_types_the_node_runs(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut new_type = queued("new-type", 0);
    new_type.job_type = "added-in-v2".into();
    new_type.priority = JobPriority::High;
    let mut old = queued("old-type", 3);
    old.job_type = "report".into();
    seed(store.as_ref(), &[new_type, old]).await;
    let types = vec!["report".to_owned(), "other".to_owned()];
    assert_eq!(
        store.next_due_time("v1", Some(&types)).await.unwrap(),
        Some(t(3)),
        "the unknown type's earlier due time is not waited for"
    );
    let request = ClaimRequest {
        node: "v1",
        now: t(10),
        limit: 10,
        lease: LEASE,
        job_types: Some(&types),
    };
    let claimed = store.claim(&request).await.unwrap();
    let claimed_ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(
        claimed_ids,
        vec!["old-type"],
        "the higher-priority unknown type is left"
    );
    let left = record(store.as_ref(), "new-type").await;
    assert_eq!(
        (
            left.job.status,
            left.job.try_count,
            left.job.next_run_time,
            left.lease
        ),
        (JobStatus::Queuing, 0, Some(t(0)), None),
        "left due, untouched, never failed for its type"
    );
    assert!(store.claim(&request).await.unwrap().is_empty());
    let v2 = vec!["added-in-v2".to_owned()];
    let later = store
        .claim(&ClaimRequest {
            node: "v2",
            job_types: Some(&v2),
            ..request
        })
        .await
        .unwrap();
    assert_eq!(later.len(), 1, "a node that has the type takes it");
}

/// R3: a job past its end time is never claimed and loses its next run time.
pub async fn past_end_time_is_never_claimed(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut job = queued("late", 0);
    job.end_time = Some(t(5));
    seed(store.as_ref(), &[job]).await;
    assert!(claim(store.as_ref(), "a", 10, 1).await.is_empty());
    assert_eq!(record(store.as_ref(), "late").await.job.next_run_time, None);
}

/// Several handles claiming at once take each run exactly once.
pub async fn concurrent_claimers_take_each_run_once(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let jobs: Vec<JobInfo> = (0..300)
        .map(|i| queued(&format!("j{i:03}"), i % 7))
        .collect();
    seed(store.as_ref(), &jobs).await;
    let mut handles = vec![store.clone()];
    for _ in 0..2 {
        handles.push(factory.reopen(&store).await);
    }
    let claimers = handles.into_iter().enumerate().map(|(n, handle)| {
        tokio::spawn(async move {
            let node = format!("node-{n}");
            let mut mine = Vec::new();
            loop {
                let runs = claim(handle.as_ref(), &node, 10, 16).await;
                if runs.is_empty() {
                    break;
                }
                for run in runs {
                    let done = finished(&run, JobStatus::Completed);
                    assert_eq!(
                        complete(handle.as_ref(), done).await,
                        CompletionOutcome::Saved
                    );
                    mine.push(run.job.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        })
    });
    let claimed: Vec<String> = join_all(claimers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    let unique: HashSet<&String> = claimed.iter().collect();
    assert_eq!(claimed.len(), 300, "every run once");
    assert_eq!(unique.len(), 300, "no run twice");
}

/// R38: lease tokens never repeat in a store, not even for a job removed and queued
/// again under the same id.
pub async fn lease_tokens_are_unique_for_the_life_of_the_store(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0), queued("k", 0)]).await;
    let first = claim(store.as_ref(), "a", 1, 2).await;
    assert_eq!(first.len(), 2);
    let mut seen: HashSet<i64> = first.iter().map(|r| r.lease.token).collect();
    assert_eq!(seen.len(), 2, "two jobs, two tokens");
    for round in 0..3 {
        other.remove("j", RemoveIf::Always).await.unwrap().unwrap();
        seed(other.as_ref(), &[queued("j", 0)]).await;
        let again = claim_one(other.as_ref(), "b", 1).await;
        assert!(
            seen.insert(again.lease.token),
            "round {round}: token {} was handed out before",
            again.lease.token
        );
    }
}
