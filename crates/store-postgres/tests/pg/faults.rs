//! Faults: dropped connections are "unavailable" and the pool reconnects; rows that do not
//! decode name the job and column, and a due one is set aside rather than blocking claims;
//! NUL characters in a run's output (its result, logs and notifications) never fail a
//! batch; a batch insert keeps every field.

use bgtasks_abstractions::{JobAction, JobArgs, JobInfo, JobPriority, JobSource, JobStatus};
use bgtasks_store::{
    CompletionOutcome, JobControl, JobDefinitions, JobLog, JobRuns, NewNotification,
    NotificationKind, NotificationOutbox, NotificationQuery, RunCompletion, RunLogs, StoreError,
};
use bgtasks_store_conformance::{queued, t};

use super::claim;
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_unavailable_then_the_pool_reconnects() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut admin = support::admin_connection().await;
    store.insert(&[queued("j", 0)]).await.unwrap();
    let database: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(store.pool())
        .await
        .unwrap();
    for _ in 0..3 {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&database)
        .execute(&mut admin)
        .await
        .unwrap();
        // The pooled connections are dead; what fails is "unavailable" (the runtime backs
        // off and retries), and the pool opens new connections by itself.
        let mut found = None;
        for _ in 0..10 {
            match store.find("j").await {
                Ok(job) => {
                    found = job;
                    break;
                }
                Err(error) => assert!(error.is_transient(), "{error:?}"),
            }
        }
        assert!(found.is_some(), "the pool reconnected");
    }
}

#[tokio::test]
async fn a_row_that_does_not_decode_names_the_job_and_column() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    store.insert(&[queued("bad-status", 0)]).await.unwrap();
    sqlx::query("UPDATE bgtasks_jobs SET status = 7 WHERE id = 'bad-status'")
        .execute(store.pool())
        .await
        .unwrap();
    match store.find("bad-status").await.unwrap_err() {
        StoreError::Corrupt { job, message } => {
            assert_eq!(job, "bad-status");
            assert!(message.contains("column `status`"), "{message}");
            assert!(message.contains("unknown job status code 7"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let refused = store.pause("bad-status").await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Corrupt { job, .. } if job == "bad-status"),
        "a transition on a corrupt row says so: {refused:?}"
    );
}

// spec: R42
#[tokio::test]
async fn a_due_row_that_does_not_decode_is_set_aside_and_does_not_block_claims() {
    let url = support::fresh_database().await;
    let store = support::connect_fixed(&url).await;
    let mut first = queued("broken", 0);
    first.priority = JobPriority::High;
    store.insert(&[first, queued("fine", 0)]).await.unwrap();
    sqlx::query("UPDATE bgtasks_jobs SET args = '[1, 2]' WHERE id = 'broken'")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(
        claim(&store, "n", 1, 1).await.is_empty(),
        "the broken row took the one slot this time"
    );
    let claimed = claim(&store, "n", 1, 1).await;
    assert_eq!(claimed[0].job.id, "fine", "and no longer blocks the others");
    let (status, next, result): (i16, Option<chrono::DateTime<chrono::Utc>>, Option<String>) =
        sqlx::query_as(
            "SELECT status, next_run_time, result FROM bgtasks_jobs WHERE id = 'broken'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(
        (status, next),
        (30, None),
        "set aside: Stopped, kept for inspection"
    );
    let result = result.unwrap_or_default();
    assert!(
        result.contains("broken") && result.contains("column `args`"),
        "the reason is its result: {result}"
    );
}

// spec: R12, R20
#[tokio::test]
async fn a_nul_character_in_a_runs_output_does_not_fail_its_batch() {
    let url = support::fresh_database().await;
    let store = support::connect_fixed(&url).await;
    store
        .insert(&[queued("a", 0), queued("b", 0)])
        .await
        .unwrap();
    let runs = claim(&store, "n", 1, 2).await;
    let completions: Vec<RunCompletion> = runs
        .iter()
        .map(|run| {
            let mut job = run.job.clone();
            job.status = JobStatus::Completed;
            job.result = Some(format!("out\0put of {}", job.id));
            let mut done = RunCompletion::new(run.lease.clone(), job);
            done.notifications.push(NewNotification {
                id: format!("note-{}", run.job.id),
                job_id: run.job.id.clone(),
                action: "mail".into(),
                kind: NotificationKind::Completion,
                payload: serde_json::json!({"result": "out\0put"}),
                created_at: t(1),
                min_interval: None,
            });
            done
        })
        .collect();
    let log = JobLog {
        job_id: "a".into(),
        job_name: "a".into(),
        job_group: "g".into(),
        job_type: "t".into(),
        message: "mes\0sage".into(),
        run_time: t(1),
        exception: Some("bo\0om".into()),
        exception_type: Some(bgtasks_abstractions::JobExceptionType::NETWORK),
        tenant_id: None,
        node: "n".into(),
        duration_ms: 1,
        lease_token: None,
    };
    let outcomes = store
        .complete(&completions, std::slice::from_ref(&log))
        .await
        .unwrap();
    assert_eq!(outcomes, vec![CompletionOutcome::Saved; 2]);
    assert_eq!(
        store
            .find("a")
            .await
            .unwrap()
            .unwrap()
            .job
            .result
            .as_deref(),
        Some("out\u{FFFD}put of a")
    );
    store.append_logs(&[log]).await.unwrap();
    let logs = store.list_logs("a", 10).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].exception.as_deref(), Some("bo\u{FFFD}om"));
    assert_eq!(
        logs[0].exception_type,
        Some(bgtasks_abstractions::JobExceptionType::NETWORK),
        "the failure type round-trips"
    );
    let notes = store
        .list_notifications(&NotificationQuery {
            limit: 10,
            ..NotificationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(notes.total, 2, "the notifications are stored too");
    assert_eq!(notes.items[0].payload["result"], "out\u{FFFD}put");
    assert_eq!(logs[1].message, "mes\u{FFFD}sage");
}

// spec: R1, R27
#[tokio::test]
async fn a_batch_insert_keeps_every_field() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut rich = JobInfo::period("rich", "type.x", "0/30 * * * * ?")
        .with_group("g")
        .with_name("名前")
        .with_description("line one\nline two")
        .with_args(nested_args())
        .with_tenant(uuid::Uuid::new_v4())
        .with_end_time(t(10_000))
        .with_priority(JobPriority::High)
        .with_lock_timeout(120)
        .with_node("node-a")
        .with_source(JobSource::System)
        .with_time_limit(std::time::Duration::from_secs(90))
        .with_action(JobAction::new("mail").with_parameter("to", "ops@example.com"));
    rich.status = JobStatus::FailedRetry;
    rich.creation_time = t(-100);
    rich.begin_time = t(-50);
    rich.last_run_time = Some(t(5));
    rich.next_run_time = Some(t(60));
    rich.trigger_count = 7;
    rich.try_count = 3;
    rich.max_try_count = 9;
    rich.max_count = 11;
    rich.is_abandoned = true;
    rich.interval = 86_400;
    rich.result = Some("result".into());
    rich.base_interval = Some(300);
    let bare = queued("bare", 0);
    let inserted = store
        .insert(&[rich.clone(), bare.clone(), rich.clone()])
        .await
        .unwrap();
    assert_eq!(inserted, vec![true, true, false]);
    assert_eq!(store.find("rich").await.unwrap().unwrap().job, rich);
    assert_eq!(store.find("bare").await.unwrap().unwrap().job, bare);
    assert_eq!(
        store.insert(&[bare]).await.unwrap(),
        vec![false],
        "an existing id is refused"
    );
    let mut nul = queued("nul", 0);
    nul.description = "a\0b".into();
    let error = store.insert(&[nul]).await.unwrap_err();
    assert!(
        !error.is_transient(),
        "a definition with NUL is refused: {error}"
    );
}

fn nested_args() -> JobArgs {
    JobArgs::from_value(
        "{\"list\": [1, 2.5, null, true], \"text\": \"a \\\"quoted\\\" 'value'\"}"
            .parse()
            .unwrap(),
    )
    .unwrap()
}
