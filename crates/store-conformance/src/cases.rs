//! The cases. Each takes the factory and checks one part of the store contract (R27, R28).

use std::collections::HashSet;
use std::time::Duration;

use bgtasks_abstractions::{JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus};
use bgtasks_core::store::{CompletionOutcome, JobLog, JobStore, ReleaseMode, RunCompletion};
use futures_util::future::join_all;

use crate::StoreFactory;
use crate::support::{queued, t};

const LEASE: Duration = Duration::from_secs(30);

fn ids(jobs: Vec<JobInfo>) -> Vec<String> {
    jobs.into_iter().map(|j| j.id).collect()
}

/// R27: the waiting filter, order and limit.
pub async fn waiting_filter_and_order(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
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
    let mut paused = queued("paused", 1);
    paused.status = JobStatus::Paused;
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
    let mut unscheduled = queued("unscheduled", 0);
    unscheduled.next_run_time = None;
    for job in [
        &high,
        &retried,
        &early,
        &late,
        &abandoned,
        &running,
        &paused,
        &period,
        &exhausted,
        &runs_left,
        &unscheduled,
    ] {
        store.store(job).await.unwrap();
    }
    assert_eq!(
        ids(store.list_waiting(20).await.unwrap()),
        vec![
            "high",
            "early",
            "late",
            "unscheduled",
            "retried",
            "runs-left"
        ],
        "priority, then fewest tries, then earliest next run (none last)"
    );
    assert_eq!(
        ids(store.list_waiting(2).await.unwrap()),
        vec!["high", "early"]
    );
}

/// R27: Period jobs by the same filter.
pub async fn period_jobs_by_the_same_filter(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let period = |id: &str, status: JobStatus, abandoned: bool, priority: JobPriority| {
        let mut job = JobInfo::period(id, "t", "0 * * * * ?");
        job.status = status;
        job.is_abandoned = abandoned;
        job.priority = priority;
        job.next_run_time = Some(t(10));
        job
    };
    for job in [
        period("a", JobStatus::Queuing, false, JobPriority::Low),
        period("b", JobStatus::FailedRetry, false, JobPriority::High),
        period("c", JobStatus::Queuing, true, JobPriority::High),
        period("d", JobStatus::Paused, false, JobPriority::High),
    ] {
        store.store(&job).await.unwrap();
    }
    store.store(&queued("once", 0)).await.unwrap();
    assert_eq!(ids(store.list_period(10).await.unwrap()), vec!["b", "a"]);
    assert_eq!(store.list_period(1).await.unwrap().len(), 1);
}

/// R27: Running jobs of a node (pinned to it or to none), at most N.
pub async fn running_jobs_of_a_node(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    for (id, node) in [("mine", Some("a")), ("free", None), ("theirs", Some("b"))] {
        let mut job = queued(id, 0);
        job.status = JobStatus::Running;
        job.node_name = node.map(str::to_owned);
        store.store(&job).await.unwrap();
    }
    store.store(&queued("queued", 0)).await.unwrap();
    let mut found = ids(store.list_running("a", 10).await.unwrap());
    found.sort();
    assert_eq!(found, vec!["free", "mine"]);
    assert_eq!(store.list_running("a", 1).await.unwrap().len(), 1);
}

/// R27: insert refuses duplicates; store replaces; remove deletes.
pub async fn insert_find_store_remove(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
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
    store.store(&queued("new-by-store", 0)).await.unwrap();
    assert!(
        store.find("new-by-store").await.unwrap().is_some(),
        "store inserts too"
    );
    assert!(store.remove("j").await.unwrap());
    assert!(!store.remove("j").await.unwrap());
    assert!(store.find("j").await.unwrap().is_none());
    assert!(store.find("never").await.unwrap().is_none());
    let batch = [
        queued("m1", 0),
        queued("new-by-store", 0),
        queued("m2", 0),
        queued("m1", 0),
    ];
    assert_eq!(
        store.insert_many(&batch).await.unwrap(),
        vec![true, false, true, false],
        "existing and repeated ids are refused"
    );
    assert!(store.insert_many(&[]).await.unwrap().is_empty());
    assert!(store.find("m2").await.unwrap().is_some());
}

/// R1, R4, R5: every field survives a round trip, with every status, priority, kind and
/// source code.
pub async fn round_trips_every_field_and_code(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let kinds = [JobKind::Once, JobKind::Period, JobKind::Persistent];
    let sources = [JobSource::None, JobSource::User, JobSource::System];
    for (i, status) in JobStatus::ALL.into_iter().enumerate() {
        let priority = JobPriority::ALL[i % JobPriority::ALL.len()];
        let job = JobInfo {
            id: format!("job-{i}-ünïcødé"),
            tenant_id: Some(uuid::Uuid::new_v4()),
            name: format!("name {i} 名前"),
            group: format!("group {i}"),
            job_type: "type.with.dots".into(),
            args: JobArgs::from_value(serde_json::json!({
                "text": "a \"quoted\" 'value'", "n": i, "nested": {"list": [1, 2.5, null, true]}
            }))
            .unwrap(),
            status,
            description: "line one\nline two".into(),
            creation_time: t(-100),
            begin_time: t(-50),
            end_time: Some(t(10_000)),
            last_run_time: Some(t(5)),
            next_run_time: Some(t(60)),
            kind: kinds[i % 3],
            cron: Some("0/30 * * * * ?".into()),
            trigger_count: 7,
            try_count: 3,
            max_try_count: 9,
            max_count: 11,
            is_abandoned: i % 2 == 0,
            interval: 86_400,
            priority,
            lock_timeout: 120,
            node_name: Some("node-a".into()),
            result: Some("result text".into()),
            source: sources[i % 3],
            base_interval: Some(300),
        };
        store.store(&job).await.unwrap();
        assert_eq!(
            store.find(&job.id).await.unwrap().unwrap(),
            job,
            "status {status}"
        );
    }
    let mut bare = JobInfo::once("bare", "t");
    bare.creation_time = t(0);
    bare.begin_time = t(0);
    store.store(&bare).await.unwrap();
    assert_eq!(
        store.find("bare").await.unwrap().unwrap(),
        bare,
        "the optional fields stay empty"
    );
}

/// R27: clean-up removes Completed jobs older than the expiry (not recent ones), oldest
/// first, optionally of one node, at most N.
pub async fn cleanup_removes_old_completed_jobs_not_recent_ones(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let completed =
        |id: &str, last_run: Option<i64>, end: Option<i64>, created: i64, node: Option<&str>| {
            let mut job = JobInfo::once(id, "t");
            job.status = JobStatus::Completed;
            job.last_run_time = last_run.map(t);
            job.end_time = end.map(t);
            job.creation_time = t(created);
            job.begin_time = t(created);
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
    for job_id in ["old-run", "recent-run"] {
        store
            .store_log(&JobLog {
                job_id: job_id.into(),
                job_name: "n".into(),
                job_group: "g".into(),
                job_type: "t".into(),
                message: "ok".into(),
                run_time: t(1),
                exception: None,
                tenant_id: None,
                node: "a".into(),
                duration_ms: 1,
            })
            .await
            .unwrap();
    }

    assert_eq!(
        ids(store.cleanup(Some("b"), t(100), 10).await.unwrap()),
        vec!["old-other-node"]
    );
    assert_eq!(
        ids(store.cleanup(None, t(100), 2).await.unwrap()),
        vec!["old-run", "old-end"],
        "oldest first, at most 2"
    );
    assert_eq!(
        ids(store.cleanup(None, t(100), 10).await.unwrap()),
        vec!["old-created"]
    );
    assert!(
        store.find("recent-run").await.unwrap().is_some(),
        "recent jobs are kept"
    );
    assert!(
        store.find("active").await.unwrap().is_some(),
        "only Completed jobs are removed"
    );
    assert!(store.find("old-run").await.unwrap().is_none());
    assert!(
        store.list_logs("old-run", 10).await.unwrap().is_empty(),
        "logs go with the job"
    );
    assert_eq!(store.list_logs("recent-run", 10).await.unwrap().len(), 1);
}

/// R12, R27: run logs are stored, listed newest first per job, at most N.
pub async fn logs_are_newest_first_and_limited(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    for i in 0..5 {
        let log = JobLog {
            job_id: if i == 2 { "other".into() } else { "j".into() },
            job_name: "name".into(),
            job_group: "group".into(),
            job_type: "type".into(),
            message: format!("run {i}"),
            run_time: t(i),
            exception: (i == 3).then(|| "boom: 'quoted' \"text\"".to_owned()),
            tenant_id: (i == 4).then(uuid::Uuid::new_v4),
            node: "node-a".into(),
            duration_ms: 12,
        };
        store.store_log(&log).await.unwrap();
    }
    let logs = store.list_logs("j", 10).await.unwrap();
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, vec!["run 4", "run 3", "run 1", "run 0"]);
    assert!(logs[0].tenant_id.is_some());
    assert_eq!(
        logs[1].exception.as_deref(),
        Some("boom: 'quoted' \"text\"")
    );
    assert_eq!(
        (logs[1].node.as_str(), logs[1].duration_ms, logs[1].run_time),
        ("node-a", 12, t(3))
    );
    assert_eq!(store.list_logs("j", 2).await.unwrap().len(), 2);
    assert!(store.list_logs("none", 10).await.unwrap().is_empty());
}

/// Claims take due runs by priority, lease them, and move the schedule on.
pub async fn claims_take_due_runs_by_priority_and_move_the_schedule(factory: &dyn StoreFactory) {
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
    for job in [&low, &high, &future, &persistent, &paused, &stopped] {
        store.insert(job).await.unwrap();
    }
    assert_eq!(store.next_due_time("n").await.unwrap(), Some(t(0)));
    let claimed = store.claim_due("n", t(10), 10, LEASE).await.unwrap();
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
    let once = claimed.iter().find(|c| c.job.id == "low").unwrap();
    assert_eq!(
        once.job.next_run_time, None,
        "a Once job has no following run"
    );
    assert!(
        store
            .claim_due("n", t(10), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "leased runs are not claimed twice"
    );
    assert_eq!(
        store.next_due_time("n").await.unwrap(),
        Some(t(100)),
        "leased runs are not waited for; the next free one is"
    );
    let two = store.claim_due("n", t(200), 1, LEASE).await.unwrap();
    assert_eq!(two.len(), 1, "the limit holds");
}

/// R3: a Period tick is claimed by one handle only; the claim moves to the next tick.
pub async fn a_period_tick_is_claimed_once_across_handles(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    let mut period = JobInfo::period("tick", "t", "0/10 * * * * ?");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(0));
    store.insert(&period).await.unwrap();
    let (a, b) = tokio::join!(
        store.claim_due("a", t(1), 5, LEASE),
        other.claim_due("b", t(1), 5, LEASE)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1);
    let claimed = a.into_iter().chain(b).next().unwrap();
    assert_eq!(
        claimed.job.next_run_time,
        Some(t(10)),
        "the next tick after the claim"
    );
}

/// R30: a job pinned to a node is claimed (and awaited) only by that node.
pub async fn pinned_jobs_are_claimed_only_by_their_node(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
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
    assert_eq!(store.next_due_time("b").await.unwrap(), Some(t(0)));
    assert_eq!(store.claim_due("b", t(1), 5, LEASE).await.unwrap().len(), 1);
}

/// Completion is fenced: after a rescue the old owner's result is refused.
pub async fn completion_is_fenced_by_the_lease_token(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    store.insert(&queued("j", 0)).await.unwrap();
    let first = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store.rescue_expired(t(20)).await.unwrap().is_empty(),
        "not expired yet"
    );
    assert_eq!(
        store.rescue_expired(t(40)).await.unwrap(),
        vec!["j".to_owned()]
    );
    let logs = store.list_logs("j", 5).await.unwrap();
    assert!(
        logs[0]
            .exception
            .as_deref()
            .unwrap_or_default()
            .contains("node `a`"),
        "the log shows the interruption: {logs:?}"
    );
    let rescued = store.find("j").await.unwrap().unwrap();
    assert_eq!(
        (rescued.try_count, rescued.trigger_count),
        (0, 0),
        "a rescue is not a failed try"
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
    fresh.result = Some("fresh".into());
    assert_eq!(
        store.complete_run(&second.lease, &fresh).await.unwrap(),
        CompletionOutcome::Saved
    );
    let saved = store.find("j").await.unwrap().unwrap();
    assert_eq!(
        (saved.status, saved.result.as_deref()),
        (JobStatus::Completed, Some("fresh"))
    );
    assert_eq!(
        store
            .release_run(&second.lease, ReleaseMode::KeepSchedule)
            .await
            .unwrap(),
        CompletionOutcome::LeaseLost,
        "a completed run's lease is over"
    );
}

/// Renewed leases are not rescued; a released run can be claimed again.
pub async fn renewed_leases_are_not_rescued_and_released_runs_come_back(
    factory: &dyn StoreFactory,
) {
    let store = factory.fresh().await;
    store.insert(&queued("j", 0)).await.unwrap();
    let run = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .renew_leases("b", std::slice::from_ref(&run.lease), t(100))
            .await
            .unwrap()
            == vec!["j".to_owned()],
        "another node cannot renew it"
    );
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
    let again = store.claim_due("b", t(2), 1, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        store
            .release_run(&again[0].lease, ReleaseMode::KeepSchedule)
            .await
            .unwrap(),
        CompletionOutcome::Saved
    );
    assert!(
        store
            .claim_due("b", t(3), 1, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "kept the schedule the claim gave it: a Once job has none"
    );
}

/// R26: a job paused during its run stays paused when the run completes.
pub async fn a_job_paused_during_its_run_stays_paused(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
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
    outcome.trigger_count = 1;
    assert_eq!(
        store.complete_run(&run.lease, &outcome).await.unwrap(),
        CompletionOutcome::Saved
    );
    let saved = store.find("p").await.unwrap().unwrap();
    assert_eq!((saved.status, saved.trigger_count), (JobStatus::Paused, 1));
    assert!(
        store
            .claim_due("a", t(100), 1, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

/// R26: a job removed during its run is gone; completion says so and writes nothing.
pub async fn a_job_removed_during_its_run_is_gone(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    store.insert(&queued("j", 0)).await.unwrap();
    let run = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(store.remove("j").await.unwrap());
    assert_eq!(
        store.complete_run(&run.lease, &run.job).await.unwrap(),
        CompletionOutcome::JobGone
    );
    assert!(store.find("j").await.unwrap().is_none());
    assert!(store.rescue_expired(t(100)).await.unwrap().is_empty());
}

/// R20: completion writes the run-state fields only; the definition edited during the run
/// is kept.
pub async fn completion_writes_only_the_run_state(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    store.insert(&queued("j", 0)).await.unwrap();
    let run = store
        .claim_due("a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    let mut edited = store.find("j").await.unwrap().unwrap();
    edited.description = "edited during the run".into();
    edited.args = JobArgs::new().with("k", "new");
    edited.max_try_count = 7;
    store.store(&edited).await.unwrap();
    let mut outcome = run.job.clone();
    outcome.status = JobStatus::FailedRetry;
    outcome.trigger_count = 1;
    outcome.try_count = 1;
    outcome.interval = 450;
    outcome.priority = JobPriority::BelowNormal;
    outcome.last_run_time = Some(t(1));
    outcome.next_run_time = Some(t(451));
    outcome.result = Some("boom".into());
    outcome.base_interval = Some(300);
    assert_eq!(
        store.complete_run(&run.lease, &outcome).await.unwrap(),
        CompletionOutcome::Saved
    );
    let saved = store.find("j").await.unwrap().unwrap();
    assert_eq!(saved.description, "edited during the run");
    assert_eq!(saved.args.get_str("k").unwrap(), "new");
    assert_eq!(saved.max_try_count, 7);
    assert_eq!(
        (
            saved.status,
            saved.trigger_count,
            saved.try_count,
            saved.interval,
            saved.priority
        ),
        (JobStatus::FailedRetry, 1, 1, 450, JobPriority::BelowNormal)
    );
    assert_eq!(
        (saved.last_run_time, saved.next_run_time),
        (Some(t(1)), Some(t(451)))
    );
    assert_eq!(
        (saved.result.as_deref(), saved.base_interval),
        (Some("boom"), Some(300))
    );
    assert_eq!(
        store.next_due_time("a").await.unwrap(),
        Some(t(451)),
        "due again at its retry"
    );
}

/// Batched completions answer one outcome per run, in order; batched logs are all kept.
pub async fn batched_completions_and_logs(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    for i in 0..5 {
        store.insert(&queued(&format!("j{i}"), 0)).await.unwrap();
    }
    let mut runs = store.claim_due("a", t(1), 5, LEASE).await.unwrap();
    runs.sort_by(|x, y| x.job.id.cmp(&y.job.id));
    assert!(store.remove("j1").await.unwrap());
    assert_eq!(store.rescue_expired(t(100)).await.unwrap().len(), 4);
    let completions: Vec<RunCompletion> = runs
        .iter()
        .map(|run| {
            let mut job = run.job.clone();
            job.status = JobStatus::Completed;
            job.trigger_count = 1;
            RunCompletion {
                lease: run.lease.clone(),
                job,
            }
        })
        .collect();
    let fresh = store
        .claim_due("b", t(101), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    let mut all = completions.clone();
    let mut newer = fresh.job.clone();
    newer.status = JobStatus::Completed;
    all.push(RunCompletion {
        lease: fresh.lease.clone(),
        job: newer,
    });
    let outcomes = store.complete_runs(&all).await.unwrap();
    assert_eq!(outcomes.len(), 6);
    assert_eq!(outcomes[1], CompletionOutcome::JobGone, "j1 was removed");
    for (i, outcome) in outcomes.iter().enumerate().take(5) {
        if i != 1 {
            assert_eq!(*outcome, CompletionOutcome::LeaseLost, "j{i} was rescued");
        }
    }
    assert_eq!(outcomes[5], CompletionOutcome::Saved);
    assert_eq!(
        store.find(&fresh.job.id).await.unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert!(store.complete_runs(&[]).await.unwrap().is_empty());

    let logs: Vec<JobLog> = (0..50)
        .map(|i| JobLog {
            job_id: "logged".into(),
            job_name: "n".into(),
            job_group: "g".into(),
            job_type: "t".into(),
            message: format!("run {i}"),
            run_time: t(i),
            exception: None,
            tenant_id: None,
            node: "a".into(),
            duration_ms: 1,
        })
        .collect();
    store.store_logs(&logs[..48]).await.unwrap();
    store.store_logs(&[]).await.unwrap();
    // Outcomes and logs together (a High job, so that it is the one claimed).
    let other = store.clone();
    let mut together = queued("together", 0);
    together.priority = JobPriority::High;
    other.insert(&together).await.unwrap();
    let run = other
        .claim_due("c", t(200), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    let mut done = run.job.clone();
    done.status = JobStatus::Completed;
    let outcomes = other
        .write_runs(
            &[RunCompletion {
                lease: run.lease.clone(),
                job: done,
            }],
            &logs[48..],
        )
        .await
        .unwrap();
    assert_eq!(outcomes, vec![CompletionOutcome::Saved]);
    assert_eq!(
        other.find("together").await.unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert!(other.write_runs(&[], &[]).await.unwrap().is_empty());
    let kept = store.list_logs("logged", 100).await.unwrap();
    assert_eq!(kept.len(), 50);
    assert_eq!(kept[0].message, "run 49");
}

/// R3: a job past its end time is never claimed and loses its next run time.
pub async fn past_end_time_is_never_claimed(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
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

/// Several handles claiming at once take each run exactly once.
pub async fn concurrent_claimers_take_each_run_once(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let jobs: Vec<JobInfo> = (0..300)
        .map(|i| queued(&format!("j{i:03}"), i % 7))
        .collect();
    for job in &jobs {
        store.insert(job).await.unwrap();
    }
    let mut handles = vec![store.clone()];
    for _ in 0..2 {
        handles.push(factory.reopen(&store).await);
    }
    let claimers = handles.into_iter().enumerate().map(|(n, handle)| {
        tokio::spawn(async move {
            let node = format!("node-{n}");
            let mut mine = Vec::new();
            loop {
                let runs = handle.claim_due(&node, t(10), 16, LEASE).await.unwrap();
                if runs.is_empty() {
                    break;
                }
                for run in runs {
                    let mut done = run.job.clone();
                    done.status = JobStatus::Completed;
                    assert_eq!(
                        handle.complete_run(&run.lease, &done).await.unwrap(),
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

/// Two handles storing the same job: one write wins whole; an insert race has one winner.
pub async fn two_handles_storing_the_same_job(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    let mut a = queued("shared", 0);
    a.description = "from a".into();
    a.priority = JobPriority::High;
    let mut b = queued("shared", 0);
    b.description = "from b".into();
    b.priority = JobPriority::Low;
    let (ra, rb) = tokio::join!(store.insert(&a), other.insert(&b));
    assert_eq!(
        [ra.unwrap(), rb.unwrap()]
            .iter()
            .filter(|inserted| **inserted)
            .count(),
        1,
        "exactly one insert wins"
    );
    for _ in 0..20 {
        let (ra, rb) = tokio::join!(store.store(&a), other.store(&b));
        ra.unwrap();
        rb.unwrap();
        let saved = other.find("shared").await.unwrap().unwrap();
        assert!(
            saved == a || saved == b,
            "a whole write, never a mix: {saved:?}"
        );
    }
}

/// R28: a lock held by one provider excludes another until released or expired.
pub async fn locks_exclude_across_handles(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let (one, two) = factory.locks(&store).await;
    assert!(one.try_lock("job-1", 60).await.unwrap());
    assert!(!two.try_lock("job-1", 60).await.unwrap(), "held elsewhere");
    assert!(
        two.try_lock("job-2", 60).await.unwrap(),
        "other keys are free"
    );
    one.release("job-1").await.unwrap();
    assert!(two.try_lock("job-1", 60).await.unwrap(), "released");
}

/// R31: the action store beside the job store.
pub async fn action_store_round_trips(factory: &dyn StoreFactory) {
    let store = factory.fresh().await;
    let actions = factory.action_store(&store).await;
    crate::actions::round_trip(actions.as_ref()).await;
}
