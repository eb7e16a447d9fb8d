//! The reference's store queries (R27): waiting, Period and Running jobs, every field
//! round-tripped, clean-up, run logs.

use bgtasks_abstractions::{JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus};

use crate::DynStoreFactory;
use crate::support::{ids, log, queued, record, seed, t};

/// R27: the waiting filter, order and limit.
pub async fn waiting_filter_and_order(factory: &dyn DynStoreFactory) {
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
    seed(
        store.as_ref(),
        &[
            high,
            retried,
            early,
            late,
            abandoned,
            running,
            paused,
            period,
            exhausted,
            runs_left,
            unscheduled,
        ],
    )
    .await;
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
pub async fn period_jobs_by_the_same_filter(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let period = |id: &str, status: JobStatus, abandoned: bool, priority: JobPriority| {
        let mut job = JobInfo::period(id, "t", "0 * * * * ?");
        job.status = status;
        job.is_abandoned = abandoned;
        job.priority = priority;
        job.next_run_time = Some(t(10));
        job
    };
    seed(
        store.as_ref(),
        &[
            period("a", JobStatus::Queuing, false, JobPriority::Low),
            period("b", JobStatus::FailedRetry, false, JobPriority::High),
            period("c", JobStatus::Queuing, true, JobPriority::High),
            period("d", JobStatus::Paused, false, JobPriority::High),
            queued("once", 0),
        ],
    )
    .await;
    assert_eq!(ids(store.list_period(10).await.unwrap()), vec!["b", "a"]);
    assert_eq!(store.list_period(1).await.unwrap().len(), 1);
}

/// R27: Running jobs of a node (pinned to it or to none), at most N.
pub async fn running_jobs_of_a_node(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut jobs = Vec::new();
    for (id, node) in [("mine", Some("a")), ("free", None), ("theirs", Some("b"))] {
        let mut job = queued(id, 0);
        job.status = JobStatus::Running;
        job.node_name = node.map(str::to_owned);
        jobs.push(job);
    }
    jobs.push(queued("queued", 0));
    seed(store.as_ref(), &jobs).await;
    let mut found = ids(store.list_running("a", 10).await.unwrap());
    found.sort();
    assert_eq!(found, vec!["free", "mine"]);
    assert_eq!(store.list_running("a", 1).await.unwrap().len(), 1);
}

/// R1, R4, R5: every field survives a round trip, with every status, priority, kind and
/// source code.
pub async fn round_trips_every_field_and_code(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let kinds = [JobKind::Once, JobKind::Period, JobKind::Persistent];
    let sources = [JobSource::None, JobSource::User, JobSource::System];
    let mut jobs = Vec::new();
    for (i, status) in JobStatus::ALL.into_iter().enumerate() {
        let priority = JobPriority::ALL[i % JobPriority::ALL.len()];
        jobs.push(JobInfo {
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
            time_limit: Some(90 + i as i64),
            actions: vec![
                bgtasks_abstractions::JobAction::new("JobExecutedFailedProvider")
                    .with_parameter("to", "ops@example.com, dev@example.com")
                    .with_parameter("culture", "zh-Hans"),
                bgtasks_abstractions::JobAction::new("Other").with_parameter("n", i),
            ],
        });
    }
    let mut bare = JobInfo::once("bare", "t");
    bare.creation_time = t(0);
    bare.begin_time = t(0);
    jobs.push(bare);
    seed(store.as_ref(), &jobs).await;
    for job in &jobs {
        let stored = record(store.as_ref(), &job.id).await;
        assert_eq!(&stored.job, job, "status {}", job.status);
        assert_eq!(
            (
                stored.revision,
                stored.lease,
                stored.interrupt,
                stored.triggered
            ),
            (1, None, None, false),
            "a new job is at revision 1, not running"
        );
    }
}

/// R27: clean-up removes Completed jobs older than the expiry (not recent ones), oldest
/// first, optionally of one node, at most N, with their logs.
pub async fn cleanup_removes_old_completed_jobs_not_recent_ones(factory: &dyn DynStoreFactory) {
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
    let mut stale_but_active = queued("active", 0);
    stale_but_active.last_run_time = Some(t(1));
    seed(
        store.as_ref(),
        &[
            completed("old-run", Some(10), None, 0, None),
            completed("recent-run", Some(500), None, 0, None),
            completed("old-end", None, Some(20), 0, None),
            completed("old-created", None, None, 30, None),
            completed("old-other-node", Some(5), None, 0, Some("b")),
            stale_but_active,
        ],
    )
    .await;
    store
        .append_logs(&[log("old-run", 1, "ok"), log("recent-run", 1, "ok")])
        .await
        .unwrap();

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
pub async fn logs_are_newest_first_and_limited(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let logs: Vec<_> = (0..5)
        .map(|i| {
            let mut entry = log(if i == 2 { "other" } else { "j" }, i, &format!("run {i}"));
            entry.exception = (i == 3).then(|| "boom: 'quoted' \"text\"".to_owned());
            entry.tenant_id = (i == 4).then(uuid::Uuid::new_v4);
            entry.duration_ms = 12;
            entry
        })
        .collect();
    for entry in &logs {
        store
            .append_logs(std::slice::from_ref(entry))
            .await
            .unwrap();
    }
    let listed = store.list_logs("j", 10).await.unwrap();
    let messages: Vec<&str> = listed.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, vec!["run 4", "run 3", "run 1", "run 0"]);
    assert!(listed[0].tenant_id.is_some());
    assert_eq!(listed[1], logs[3], "every field kept");
    assert_eq!(store.list_logs("j", 2).await.unwrap().len(), 2);
    assert!(store.list_logs("none", 10).await.unwrap().is_empty());
}
