//! Migrating a file of schema version 1 (written by the first release) to the current
//! version: every job, run in flight, log, action and lock is kept (the actions now in
//! their jobs), and lease tokens go on from above every token version 1 handed out
//! (R38). The helpers here write files of older versions for `migration_v2` too.

use std::sync::Arc;

use bgtasks_abstractions::RunLease;
use bgtasks_abstractions::{
    JobAction, JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus, SystemClock,
};
use bgtasks_sqlite::SCHEMA_VERSION;
use bgtasks_store::{
    CompletionOutcome, JobDefinitions, JobLockProvider, JobRecord, JobRuns, LeaseInfo,
    RenewOutcome, RunCompletion, RunLogs,
};
use sqlx::SqliteConnection;

use crate::{LEASE, claim, open, raw, t};

/// The schema of version 1, as the first release created it.
pub(crate) const V1: &str = include_str!("../../migrations/0001_jobs_logs_actions_locks.sql");

/// Writes a job as an older schema did: every `JobInfo` field of version 1, the columns
/// of `extra` (such as version 1's `fencing_token` or version 2's `revision`), and the
/// lease of a run in flight.
pub(crate) async fn insert_old(
    conn: &mut SqliteConnection,
    job: &JobInfo,
    extra: &[(&str, i64)],
    lease: Option<&LeaseInfo>,
) {
    let mut columns: Vec<&str> = vec![
        "id",
        "tenant_id",
        "name",
        "job_group",
        "job_type",
        "args",
        "status",
        "description",
        "creation_time",
        "begin_time",
        "end_time",
        "last_run_time",
        "next_run_time",
        "kind",
        "cron",
        "trigger_count",
        "try_count",
        "max_try_count",
        "max_count",
        "is_abandoned",
        "interval_secs",
        "priority",
        "lock_timeout",
        "node_name",
        "result",
        "source",
        "base_interval",
        "lease_token",
        "lease_node",
        "lease_expires_at",
        "lease_due_at",
    ];
    columns.extend(extra.iter().map(|(column, _)| *column));
    let sql = format!(
        "INSERT INTO bgtasks_jobs ({}) VALUES ({})",
        columns.join(", "),
        vec!["?"; columns.len()].join(", ")
    );
    // The statement is built from the fixed column names above only.
    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(job.id.clone())
        .bind(job.tenant_id.map(|t| t.hyphenated().to_string()))
        .bind(job.name.clone())
        .bind(job.group.clone())
        .bind(job.job_type.clone())
        .bind(serde_json::to_string(&job.args).unwrap())
        .bind(i64::from(job.status.code()))
        .bind(job.description.clone())
        .bind(job.creation_time.timestamp_micros())
        .bind(job.begin_time.timestamp_micros())
        .bind(job.end_time.map(|t| t.timestamp_micros()))
        .bind(job.last_run_time.map(|t| t.timestamp_micros()))
        .bind(job.next_run_time.map(|t| t.timestamp_micros()))
        .bind(i64::from(job.kind.code()))
        .bind(job.cron.clone())
        .bind(i64::from(job.trigger_count))
        .bind(i64::from(job.try_count))
        .bind(i64::from(job.max_try_count))
        .bind(i64::from(job.max_count))
        .bind(i64::from(job.is_abandoned))
        .bind(job.interval)
        .bind(i64::from(job.priority.code()))
        .bind(job.lock_timeout)
        .bind(job.node_name.clone())
        .bind(job.result.clone())
        .bind(i64::from(job.source.code()))
        .bind(job.base_interval)
        .bind(lease.map(|l| l.token))
        .bind(lease.map(|l| l.node.clone()))
        .bind(lease.map(|l| l.expires_at.timestamp_micros()))
        .bind(lease.map(|l| l.due_at.timestamp_micros()));
    for (_, value) in extra {
        insert = insert.bind(*value);
    }
    insert.execute(conn).await.unwrap();
}

/// Creates a file at schema `version`, applying the migrations up to it by hand as the
/// releases of those versions did.
pub(crate) async fn create_old(
    path: &std::path::Path,
    migrations: &[&'static str],
    version: i64,
) -> SqliteConnection {
    let mut conn = raw(path).await;
    sqlx::raw_sql(
        "PRAGMA journal_mode = WAL; CREATE TABLE bgtasks_schema (version INTEGER NOT NULL);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for migration in migrations {
        sqlx::raw_sql(*migration).execute(&mut conn).await.unwrap();
    }
    sqlx::query("INSERT INTO bgtasks_schema (version) VALUES (?)")
        .bind(version)
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

pub(crate) fn running_job() -> JobInfo {
    let mut job = JobInfo::persistent("running", "report", 60, 0);
    job.tenant_id = Some(uuid::Uuid::new_v4());
    job.name = "nightly".into();
    job.group = "reports".into();
    job.args = JobArgs::from_value(serde_json::json!({"to": "ops@example.com"})).unwrap();
    job.status = JobStatus::Running;
    job.description = "written by version 1".into();
    job.creation_time = t(-500);
    job.begin_time = t(-500);
    job.end_time = Some(t(90_000));
    job.last_run_time = Some(t(-60));
    job.next_run_time = Some(t(60));
    job.trigger_count = 3;
    job.max_try_count = 5;
    job.priority = JobPriority::High;
    job.node_name = Some("node-a".into());
    job.result = Some("OK".into());
    job.source = JobSource::User;
    job.base_interval = Some(60);
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_file_keeps_everything_and_its_tokens_go_on_growing() {
    // spec: R1, R12, R28, R31, R38
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let running = running_job();
    let mut idle = JobInfo::once("idle", "t");
    idle.status = JobStatus::Queuing;
    idle.creation_time = t(-100);
    idle.begin_time = t(-100);
    idle.next_run_time = Some(t(5));
    assert_eq!(idle.kind, JobKind::Once);
    // A run in flight when version 1 stopped: the highest token it handed out is 41.
    let lease = LeaseInfo {
        node: "node-a".into(),
        token: 41,
        expires_at: t(30),
        due_at: t(0),
    };
    let mut conn = create_old(&path, &[V1], 1).await;
    insert_old(&mut conn, &running, &[("fencing_token", 41)], Some(&lease)).await;
    insert_old(&mut conn, &idle, &[("fencing_token", 7)], None).await;
    sqlx::raw_sql(
        "INSERT INTO bgtasks_job_logs (job_id, job_name, job_group, job_type, message, run_time, \
           exception, tenant_id, node, duration_ms) \
           VALUES ('running', 'nightly', 'reports', 'report', 'OK', 0, NULL, NULL, 'node-a', 5); \
         INSERT INTO bgtasks_job_actions (job_id, actions) \
           VALUES ('running', '[{\"name\":\"Notify\",\"parameters\":{}}]'); \
         INSERT INTO bgtasks_locks (key, owner, expires_at) \
           VALUES ('running', 'a-version-1-provider', 9000000000000000);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();

    let store = open(&path).await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    let mut with_actions = running.clone();
    with_actions.actions = vec![JobAction::new("Notify")];
    assert_eq!(
        store.find("running").await.unwrap().unwrap(),
        JobRecord {
            job: with_actions,
            revision: 1,
            lease: Some(lease.clone()),
            interrupt: None,
            triggered: false,
            attempts: 0,
            rescues: 0,
        },
        "every field, its actions, and the lease of the run in flight"
    );
    assert_eq!(
        store.find("idle").await.unwrap().unwrap(),
        JobRecord::new(idle)
    );
    let logs = store.list_logs("running", 10).await.unwrap();
    assert_eq!((logs.len(), logs[0].message.as_str()), (1, "OK"));
    let locks = store.lock_provider(Arc::new(SystemClock));
    assert!(
        !locks.try_lock("running", 60).await.unwrap(),
        "the lock is still held"
    );
    let columns: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('bgtasks_jobs') WHERE name = 'fencing_token'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(columns, 0, "the per-row counter is gone");

    // The run in flight goes on under its old lease, and new claims get greater tokens.
    let old = RunLease {
        job_id: "running".into(),
        token: 41,
        node: "node-a".into(),
        expires_at: t(30),
        due_at: t(0),
    };
    assert_eq!(
        store
            .renew("node-a", std::slice::from_ref(&old), LEASE, t(10))
            .await
            .unwrap(),
        vec![RenewOutcome::Renewed]
    );
    let claimed = claim(&store, "node-a", 10, 5).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, "idle");
    assert!(
        claimed[0].lease.token > 41,
        "token {} was handed out by version 1",
        claimed[0].lease.token
    );
    let mut done = running.clone();
    done.trigger_count = 4;
    assert_eq!(
        store
            .complete(&[RunCompletion::new(old, done)], &[])
            .await
            .unwrap(),
        vec![CompletionOutcome::Saved]
    );
    assert_eq!(
        store
            .find("running")
            .await
            .unwrap()
            .unwrap()
            .job
            .trigger_count,
        4
    );
}
