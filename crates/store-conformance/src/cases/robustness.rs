//! One job cannot stop a store: attempts and rescues are counted (R43), rows that cannot
//! be scheduled are set aside (R42), run logs are kept within bounds (R46).

use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobKind, JobStatus};
use bgtasks_store::{CompletionOutcome, LogQuery, LogRetention, RemoveIf};

use crate::DynStoreFactory;
use crate::support::{LEASE, claim, claim_one, complete, finished, log, queued, record, seed, t};

/// R43: every claim counts an attempt; a rescue counts one more in a row, and the next
/// claim says how many; a completion sets them back to zero.
pub async fn attempts_and_rescues_are_counted(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("crashy", 0)]).await;
    let first = claim_one(store.as_ref(), "a", 1).await;
    assert_eq!((first.attempt, first.rescues), (1, 0));
    let mut now = 1;
    for rescued in 1..=3 {
        now += LEASE.as_secs() as i64 + 1;
        assert_eq!(
            store.rescue(t(now)).await.unwrap().len(),
            1,
            "its node died"
        );
        let again = claim_one(store.as_ref(), "a", now).await;
        assert_eq!(
            (again.attempt, again.rescues),
            (1 + i64::from(rescued), rescued),
            "claim {} after {rescued} rescues in a row",
            1 + rescued
        );
        let stored = record(store.as_ref(), "crashy").await;
        assert_eq!((stored.attempts, stored.rescues), (again.attempt, rescued));
        if rescued == 3 {
            let mut done = finished(&again, JobStatus::Completed);
            done.job.trigger_count = 1;
            assert_eq!(
                complete(store.as_ref(), done).await,
                CompletionOutcome::Saved
            );
        }
    }
    let after = record(store.as_ref(), "crashy").await;
    assert_eq!(
        (after.attempts, after.rescues),
        (4, 0),
        "a completion ends the streak"
    );
}

/// R42: a due job that cannot be scheduled (a Period job whose stored cron does not
/// parse) is set aside — Stopped, the reason as its result — and never stops the claims
/// of the others; numbers far beyond the bounds written straight into the store neither
/// panic nor block a claim.
pub async fn rows_that_cannot_be_scheduled_are_set_aside_and_claims_go_on(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    let mut bad_cron = JobInfo::period("bad-cron", "t", "not a cron at all");
    bad_cron.status = JobStatus::Queuing;
    bad_cron.next_run_time = Some(t(0));
    bad_cron.creation_time = t(-100);
    let mut huge = JobInfo::persistent("huge-interval", "t", i64::MAX, 0);
    huge.status = JobStatus::Running;
    huge.next_run_time = Some(t(1));
    huge.trigger_count = i32::MAX;
    huge.try_count = i32::MAX - 1;
    huge.max_try_count = i32::MAX;
    huge.lock_timeout = i64::MAX;
    huge.creation_time = t(-100);
    let mut far = queued("far-future", 0);
    far.next_run_time = Some(t(200 * 365 * 24 * 3600));
    seed(
        store.as_ref(),
        &[bad_cron, huge, far, queued("innocent", 2)],
    )
    .await;
    let claimed = claim(store.as_ref(), "a", 10, 10).await;
    let mut ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["huge-interval", "innocent"], "the others are claimed");
    let huge = claimed
        .iter()
        .find(|c| c.job.id == "huge-interval")
        .unwrap();
    assert_eq!(huge.job.kind, JobKind::Persistent);
    assert_eq!(
        huge.job.next_run_time, None,
        "an interval past the end of time has no next run, and no overflow"
    );
    let aside = record(store.as_ref(), "bad-cron").await;
    assert_eq!(
        (
            aside.job.status,
            aside.job.next_run_time,
            aside.lease.is_none()
        ),
        (JobStatus::Stopped, None, true),
        "set aside"
    );
    assert!(
        aside
            .job
            .result
            .as_deref()
            .is_some_and(|r| r.contains("not a cron at all")),
        "the reason is its result: {:?}",
        aside.job.result
    );
    assert!(claim(store.as_ref(), "a", 20, 10).await.is_empty());
    assert!(store.find("far-future").await.unwrap().is_some());
}

/// R46: run logs are kept by age and by count per job; a job removed takes its logs.
pub async fn logs_are_kept_by_age_and_by_count_per_job(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("busy", 0), queued("quiet", 0)]).await;
    let mut logs: Vec<_> = (0..10)
        .map(|i| log("busy", 100 + i, &format!("busy {i}")))
        .collect();
    logs.push(log("quiet", 1, "old"));
    logs.push(log("quiet", 105, "recent"));
    store.append_logs(&logs).await.unwrap();
    let retention = LogRetention {
        max_age: Some(Duration::from_secs(50)),
        max_per_job: Some(4),
    };
    let removed = store.prune_logs(&retention, t(150), 1000).await.unwrap();
    assert_eq!(
        removed, 7,
        "6 of busy beyond its newest 4, and quiet's old one"
    );
    let busy: Vec<String> = store
        .list_logs("busy", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.message)
        .collect();
    assert_eq!(busy, ["busy 9", "busy 8", "busy 7", "busy 6"]);
    let quiet = store.list_logs("quiet", 100).await.unwrap();
    assert_eq!(quiet.len(), 1);
    assert_eq!(quiet[0].message, "recent");
    let by_age_only = LogRetention {
        max_age: Some(Duration::from_secs(40)),
        max_per_job: None,
    };
    assert_eq!(
        store.prune_logs(&by_age_only, t(150), 1000).await.unwrap(),
        5,
        "busy 6 to 9 (t(106)..t(109)) and quiet's recent one (t(105)) are over 40 s old"
    );
    let none = LogRetention {
        max_age: None,
        max_per_job: None,
    };
    assert_eq!(store.prune_logs(&none, t(10_000), 1000).await.unwrap(), 0);
    store
        .append_logs(&[log("busy", 200, "last")])
        .await
        .unwrap();
    store
        .remove("busy", RemoveIf::Always)
        .await
        .unwrap()
        .unwrap();
    let page = store
        .query_logs(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert!(page.items.iter().all(|e| e.log.job_id != "busy"));
}
