//! The in-memory store's own upkeep. Its contract is checked by the store conformance
//! suite (`bgtasks-store-conformance`), run from the workspace's `tests/` crate.

use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobStatus};
use chrono::{DateTime, TimeZone, Utc};

use super::InMemoryJobStore;
use crate::store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, JobDefinitions, JobRuns, RemoveIf,
    RunCompletion,
};

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

async fn insert(store: &InMemoryJobStore, job: JobInfo) {
    assert_eq!(store.insert(&[job]).await.unwrap(), vec![true]);
}

async fn remove(store: &InMemoryJobStore, id: &str) -> bool {
    store.remove(id, RemoveIf::Always).await.unwrap().is_ok()
}

async fn claim(store: &InMemoryJobStore, node: &str, now: i64, limit: usize) -> Vec<ClaimedRun> {
    store
        .claim(&ClaimRequest {
            node,
            now: t(now),
            limit,
            lease: LEASE,
            job_types: None,
        })
        .await
        .unwrap()
}

async fn complete(
    store: &InMemoryJobStore,
    lease: &bgtasks_abstractions::RunLease,
    job: &JobInfo,
) -> CompletionOutcome {
    let completion = RunCompletion::new(lease.clone(), job.clone());
    store.complete(&[completion], &[]).await.unwrap()[0]
}

#[tokio::test]
async fn stale_index_entries_do_not_pile_up() {
    let store = InMemoryJobStore::new();
    insert(&store, queued("j", 0)).await;
    for i in 0..100 {
        let run = claim(&store, "a", i, 1).await.remove(0);
        store
            .give_back(&run.lease, GiveBack::RunAt(t(i)))
            .await
            .unwrap();
    }
    assert!(store.index_len() <= 2, "{}", store.index_len());
}

mod compact {
    use std::cmp::Ordering;
    use std::mem::size_of;

    use bgtasks_abstractions::{JobArgs, JobKind, JobPriority, JobSource};
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::store::memory::slot::{Interner, Slot};
    use crate::store::rules::{apply_run_state, cleanup_reference_time, is_waiting, waiting_order};

    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..400).prop_map(t)
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("a".to_owned()),
            Just("b".to_owned()),
            "[a-z]{0,20}",
        ]
    }

    fn status() -> impl Strategy<Value = JobStatus> {
        proptest::sample::select(JobStatus::ALL.to_vec())
    }

    fn job() -> impl Strategy<Value = JobInfo> {
        let names = (
            text(),
            prop::option::of(text()),
            text(),
            text(),
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(any::<u128>().prop_map(Uuid::from_u128)),
            prop::option::of((text(), any::<i64>())),
        );
        let times = (
            time(),
            time(),
            prop::option::of(time()),
            prop::option::of(time()),
            prop::option::of(time()),
        );
        let state = (
            status(),
            proptest::sample::select(vec![JobKind::Once, JobKind::Period, JobKind::Persistent]),
            proptest::sample::select(JobPriority::ALL.to_vec()),
            proptest::sample::select(vec![JobSource::None, JobSource::User, JobSource::System]),
            any::<bool>(),
            (0i32..4, 0i32..4, 0i32..4, 0i32..4),
            (any::<i64>(), any::<i64>(), prop::option::of(any::<i64>())),
            (prop::option::of(1i64..100), any::<bool>()),
        );
        (names, times, state).prop_map(
            |(
                (id, name, group, job_type, description, cron, node, result, tenant, arg),
                (creation, begin, end, last, next),
                (status, kind, priority, source, abandoned, counts, numbers, extras),
            )| {
                let (time_limit, with_action) = extras;
                let (trigger_count, try_count, max_try_count, max_count) = counts;
                let (interval, lock_timeout, base_interval) = numbers;
                let name = name.unwrap_or_else(|| id.clone());
                let args = arg.map_or_else(JobArgs::new, |(k, v)| JobArgs::new().with(k, v));
                JobInfo {
                    id,
                    tenant_id: tenant,
                    name,
                    group,
                    job_type,
                    args,
                    status,
                    description,
                    creation_time: creation,
                    begin_time: begin,
                    end_time: end,
                    last_run_time: last,
                    next_run_time: next,
                    kind,
                    cron,
                    trigger_count,
                    try_count,
                    max_try_count,
                    max_count,
                    is_abandoned: abandoned,
                    interval,
                    priority,
                    lock_timeout,
                    node_name: node,
                    result,
                    source,
                    base_interval,
                    time_limit,
                    actions: if with_action {
                        vec![
                            bgtasks_abstractions::JobAction::new("mail")
                                .with_parameter("to", "a@b.c"),
                        ]
                    } else {
                        Vec::new()
                    },
                }
            },
        )
    }

    fn slot(job: &JobInfo, interner: &mut Interner) -> Slot {
        Slot::new(job, job.id.as_str().into(), interner)
    }

    proptest! {
        #[test]
        fn a_job_comes_back_as_it_was_stored(first in job(), second in job()) {
            let mut interner = Interner::default();
            let mut stored = slot(&first, &mut interner);
            prop_assert_eq!(stored.to_job(), first.clone());
            let second = JobInfo { id: first.id.clone(), ..second };
            stored.replace(&second, &mut interner);
            prop_assert_eq!(stored.to_job(), second);
        }

        #[test]
        fn the_compact_filters_and_orders_match_the_stores(a in job(), b in job(), period in any::<bool>()) {
            let mut interner = Interner::default();
            let (sa, sb) = (slot(&a, &mut interner), slot(&b, &mut interner));
            prop_assert_eq!(sa.is_waiting(period), is_waiting(&a, period));
            prop_assert_eq!(Slot::waiting_order(&sa, &sb), waiting_order(&a, &b));
            prop_assert_eq!(sa.cleanup_reference_time(), cleanup_reference_time(&a));
            prop_assert_eq!(sa.runs_on("a"), a.runs_on("a"));
        }

        #[test]
        fn the_compact_run_state_matches_the_stores(stored in job(), outcome in job()) {
            let mut interner = Interner::default();
            let mut compact = slot(&stored, &mut interner);
            compact.apply_run_state(&outcome);
            let mut expected = stored;
            apply_run_state(&mut expected, &outcome);
            prop_assert_eq!(compact.to_job(), expected);
        }
    }

    #[test]
    fn a_slot_is_a_fraction_of_a_job() {
        // The point of the compact form: see `slot.rs`.
        assert!(size_of::<Slot>() <= 192, "{}", size_of::<Slot>());
        assert_eq!(size_of::<Option<Slot>>(), size_of::<Slot>());
    }

    #[test]
    fn jobs_share_their_texts_and_cron_parse() {
        let mut interner = Interner::default();
        let a = slot(
            &JobInfo::period("a", "report", "0 0 * * * ?"),
            &mut interner,
        );
        let b = slot(
            &JobInfo::period("b", "report", "0 0 * * * ?"),
            &mut interner,
        );
        // "Default", "report" and the expression.
        assert_eq!(interner.len(), 3);
        let (ja, jb) = (a.to_job(), b.to_job());
        assert_eq!(
            (ja.group.as_str(), jb.job_type.as_str()),
            ("Default", "report")
        );
        assert!(a.schedule().is_some() && b.schedule().is_some());
        assert_eq!(waiting_order(&ja, &jb), Ordering::Equal);
    }

    #[tokio::test]
    async fn texts_no_job_uses_are_dropped() {
        let store = InMemoryJobStore::new();
        for round in 0..20 {
            for i in 0..100 {
                let job = queued(&format!("{round}-{i}"), 0).with_group(format!("g{round}-{i}"));
                insert(&store, job).await;
            }
            for i in 0..100 {
                assert!(remove(&store, &format!("{round}-{i}")).await);
            }
        }
        let interned = store.lock().interner.len();
        assert!(interned <= 300, "{interned}");
    }
}

#[tokio::test]
async fn a_reused_place_does_not_run_at_the_old_jobs_time() {
    let store = InMemoryJobStore::new();
    insert(&store, queued("old", 0)).await;
    assert!(remove(&store, "old").await);
    insert(&store, queued("new", 100)).await;
    assert!(claim(&store, "a", 10, 10).await.is_empty());
    assert_eq!(store.next_due_time("a", None).await.unwrap(), Some(t(100)));
    let runs = claim(&store, "a", 100, 10).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].job.id, "new");
}

#[tokio::test]
async fn leases_stay_tracked_when_others_end() {
    let store = InMemoryJobStore::new();
    for id in ["a", "b", "c", "d"] {
        insert(&store, queued(id, 0)).await;
    }
    let runs = claim(&store, "n", 0, 10).await;
    assert_eq!(runs.len(), 4);
    let lease = |id: &str| {
        runs.iter()
            .find(|r| r.job.id == id)
            .map(|r| r.lease.clone())
            .unwrap()
    };
    assert!(remove(&store, "a").await);
    store
        .give_back(&lease("d"), GiveBack::RunAt(t(1_000)))
        .await
        .unwrap();
    let mut done = lease("c");
    let job = runs.iter().find(|r| r.job.id == "c").unwrap().job.clone();
    assert_eq!(
        complete(&store, &done, &job).await,
        CompletionOutcome::Saved
    );
    done.token += 100;
    assert_eq!(
        complete(&store, &done, &job).await,
        CompletionOutcome::LeaseLost
    );
    let rescued = store.rescue(t(100)).await.unwrap();
    let rescued: Vec<&str> = rescued.iter().map(|r| r.job_id.as_str()).collect();
    assert_eq!(rescued, vec!["b"]);
    assert_eq!(store.lock().leased.len(), 0);
}

#[tokio::test]
async fn pinned_jobs_go_to_their_node_in_priority_order() {
    let store = InMemoryJobStore::new();
    insert(
        &store,
        queued("low", 0).with_priority(bgtasks_abstractions::JobPriority::Low),
    )
    .await;
    insert(
        &store,
        queued("pinned", 0)
            .with_node("b")
            .with_priority(bgtasks_abstractions::JobPriority::High),
    )
    .await;
    let a = claim(&store, "a", 0, 10).await;
    assert_eq!(
        a.iter().map(|r| r.job.id.as_str()).collect::<Vec<_>>(),
        ["low"]
    );
    insert(&store, queued("normal", 0)).await;
    let b = claim(&store, "b", 0, 10).await;
    assert_eq!(
        b.iter().map(|r| r.job.id.as_str()).collect::<Vec<_>>(),
        ["pinned", "normal"]
    );
    assert_eq!(b[0].lease.node, "b");
}

#[tokio::test]
async fn runs_queued_out_of_due_order_come_due_in_order() {
    let store = InMemoryJobStore::new();
    for (id, due) in [("c", 50), ("a", 10), ("b", 30), ("d", 50), ("e", 5)] {
        insert(&store, queued(id, due)).await;
    }
    assert_eq!(store.next_due_time("n", None).await.unwrap(), Some(t(5)));
    assert!(remove(&store, "e").await);
    assert_eq!(store.next_due_time("n", None).await.unwrap(), Some(t(10)));
    let ids = |runs: Vec<ClaimedRun>| runs.into_iter().map(|r| r.job.id).collect::<Vec<_>>();
    assert_eq!(ids(claim(&store, "n", 20, 10).await), ["a"]);
    assert_eq!(store.next_due_time("n", None).await.unwrap(), Some(t(30)));
    assert_eq!(ids(claim(&store, "n", 60, 10).await), ["b", "c", "d"]);
}

#[tokio::test]
async fn claims_read_only_the_indexes_of_their_types_and_keep_the_others() {
    // spec: R41
    let store = InMemoryJobStore::new();
    for (id, job_type, due) in [("r1", "report", 0), ("m1", "mail", 0), ("r2", "report", 1)] {
        let mut job = queued(id, due);
        job.job_type = job_type.into();
        insert(&store, job).await;
    }
    let mail = vec!["mail".to_owned()];
    let request = ClaimRequest {
        node: "n",
        now: t(5),
        limit: 10,
        lease: LEASE,
        job_types: Some(&mail),
    };
    let claimed = store.claim(&request).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, "m1");
    assert!(store.claim(&request).await.unwrap().is_empty());
    assert_eq!(
        store.next_due_time("n", Some(&mail)).await.unwrap(),
        None,
        "no mail job is scheduled any more"
    );
    let reports = claim(&store, "n", 5, 10).await;
    let ids: Vec<&str> = reports.iter().map(|r| r.job.id.as_str()).collect();
    assert_eq!(
        ids,
        ["r1", "r2"],
        "the other type's runs were left in place, in order"
    );
}
