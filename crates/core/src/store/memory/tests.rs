//! The in-memory store's own upkeep. Its contract is checked by the store conformance
//! suite (`bgtasks-store-conformance`), run from the workspace's `tests/` crate.

use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobStatus};
use chrono::{DateTime, TimeZone, Utc};

use super::InMemoryJobStore;
use crate::store::{JobStore, ReleaseMode};

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
