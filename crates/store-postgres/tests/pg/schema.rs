//! The schema: its version (a newer one is refused), migrations off, a schema of its own,
//! data that survives a restart, and the upgrade of a version 1 database.

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_actions::{JobAction, JobActionStore};
use bgtasks_postgres::{PostgresJobStore, SCHEMA_VERSION};
use bgtasks_store::{
    CompletionOutcome, JobDefinitions, JobLockProvider, JobLog, JobRuns, RenewOutcome, RunLogs,
};
use bgtasks_store_conformance::support::{complete, finished};
use bgtasks_store_conformance::{queued, t};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection, PgConnection, SqlSafeStr};

use super::{LEASE, claim};
use crate::support;

#[tokio::test]
async fn a_newer_schema_is_refused_naming_both_versions() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    sqlx::query("UPDATE bgtasks_schema SET version = 99")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let error = PostgresJobStore::connect(&url, support::options())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("version 99"), "{message}");
    assert!(
        message.contains(&format!("(version {SCHEMA_VERSION})")),
        "{message}"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn without_migrations_a_missing_schema_is_an_error() {
    let url = support::fresh_database().await;
    let error = PostgresJobStore::connect(&url, support::options().with_migrate(false))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no bgtasks schema"), "{error}");
    support::connect(&url).await;
    PostgresJobStore::connect(&url, support::options().with_migrate(false))
        .await
        .expect("the schema is there now");
}

#[tokio::test]
async fn a_schema_of_its_own_keeps_the_tables_apart() {
    let url = support::fresh_database().await;
    let public = support::connect(&url).await;
    let other =
        PostgresJobStore::connect(&url, support::caller_clock_options().with_schema("jobs_b"))
            .await
            .unwrap();
    other.insert(&[queued("only-in-b", 0)]).await.unwrap();
    assert!(other.find("only-in-b").await.unwrap().is_some());
    assert!(public.find("only-in-b").await.unwrap().is_none());
    let schema: String = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables \
         WHERE table_name = 'bgtasks_jobs' AND table_schema <> 'public'",
    )
    .fetch_one(public.pool())
    .await
    .unwrap();
    assert_eq!(schema, "jobs_b");
    let mut other_runs = claim(&other, "n", 1, 1).await;
    assert_eq!(other_runs.len(), 1, "the schema has its own token sequence");
    assert_eq!(
        complete(
            &other,
            finished(&other_runs.remove(0), JobStatus::Completed)
        )
        .await,
        CompletionOutcome::Saved
    );
}

// spec: R1, R12, R27, R31
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_counters_logs_and_actions_survive_a_restart() {
    let url = support::fresh_database().await;
    let store = support::connect_fixed(&url).await;
    let mut period = JobInfo::period("report", "t", "0/10 * * * * ?").with_arg("to", "ops");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(0));
    period.creation_time = t(-10);
    period.begin_time = t(-10);
    store.insert(&[period, queued("once", 100)]).await.unwrap();
    let run = claim(&store, "n1", 1, 10).await.remove(0);
    let mut done = finished(&run, JobStatus::Running);
    done.job.result = Some("OK".into());
    let log = JobLog {
        job_id: "report".into(),
        job_name: "report".into(),
        job_group: "Default".into(),
        job_type: "t".into(),
        message: "OK".into(),
        run_time: t(1),
        exception: None,
        tenant_id: None,
        node: "n1".into(),
        duration_ms: 3,
    };
    assert_eq!(
        store.complete(&[done], &[log]).await.unwrap(),
        vec![CompletionOutcome::Saved]
    );
    let actions =
        vec![JobAction::new("JobExecutedFailedProvider").with_parameter("to", "ops@example.com")];
    store
        .action_store()
        .set_actions("report", actions.clone())
        .await
        .unwrap();
    let before = store.find("report").await.unwrap().unwrap();
    store.close().await;
    drop(store);

    let reopened = support::connect_fixed(&url).await;
    assert_eq!(reopened.find("report").await.unwrap().unwrap(), before);
    assert_eq!(before.job.trigger_count, 1);
    assert_eq!(
        before.job.next_run_time,
        Some(t(10)),
        "the claim moved it on"
    );
    assert_eq!(
        reopened.find("once").await.unwrap().unwrap().job,
        queued("once", 100)
    );
    let logs = reopened.list_logs("report", 10).await.unwrap();
    assert_eq!((logs.len(), logs[0].duration_ms), (1, 3));
    assert_eq!(
        reopened.action_store().get_actions("report").await.unwrap(),
        actions
    );
    let again = claim(&reopened, "n2", 11, 1).await.remove(0);
    assert!(
        again.lease.token > run.lease.token,
        "lease tokens keep growing across restarts"
    );
}

/// The migrations a version 1 build applied (through sqlx, in `bgtasks_migrations`).
fn version_one() -> Migrator {
    let sql = include_str!("../../migrations/0001_initial.sql");
    let initial = Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    );
    let mut migrator = Migrator::with_migrations(vec![initial]);
    migrator.dangerous_set_table_name("bgtasks_migrations");
    migrator
}

/// Inserts a job row as a version 1 build wrote it, with the lease token `token`.
async fn insert_v1_job(conn: &mut PgConnection, id: &str, token: i64, lease_node: Option<&str>) {
    sqlx::query(
        "INSERT INTO bgtasks_jobs (id, name, job_group, job_type, args, status, description, \
           creation_time, begin_time, next_run_time, kind, trigger_count, try_count, \
           max_try_count, max_count, is_abandoned, interval_secs, priority, lock_timeout_secs, \
           source, lease_token, lease_node, lease_expires_at, lease_due_at) \
         VALUES ($1, 'name', 'Default', 't', '{\"k\": \"v\"}', 5, 'from v1', $2, $2, $3, 0, \
           3, 0, 50, 0, FALSE, 300, 15, 0, -1, $4, $5, \
           CASE WHEN $5::text IS NULL THEN NULL ELSE $6::timestamptz END, \
           CASE WHEN $5::text IS NULL THEN NULL ELSE $2 END)",
    )
    .bind(id)
    .bind(t(-100))
    .bind(lease_node.is_none().then(|| t(0)))
    .bind(token)
    .bind(lease_node)
    .bind(t(1000))
    .execute(conn)
    .await
    .expect("insert a version 1 row");
}

// spec: R38
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_is_upgraded_keeping_everything() {
    let url = support::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    version_one()
        .run_direct(None, &mut conn, false)
        .await
        .unwrap();
    insert_v1_job(&mut conn, "waiting", 41, None).await;
    insert_v1_job(&mut conn, "running", 7, Some("old-node")).await;
    sqlx::query(
        "INSERT INTO bgtasks_logs (job_id, job_name, job_group, job_type, message, run_time, \
           node, duration_ms) VALUES ('waiting', 'name', 'Default', 't', 'ran on v1', $1, 'n', 5)",
    )
    .bind(t(-50))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("INSERT INTO bgtasks_job_actions (job_id, actions) VALUES ('waiting', '[{\"name\": \"Kept\", \"parameters\": {}}]')")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO bgtasks_locks (key, owner, expires_at) \
         VALUES ('locked', 'v1-owner', now() + interval '1 hour')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = support::connect_fixed(&url).await;
    let version: i32 = sqlx::query_scalar("SELECT version FROM bgtasks_schema")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let waiting = store
        .find("waiting")
        .await
        .unwrap()
        .expect("the job is kept");
    assert_eq!(
        (
            waiting.job.status,
            waiting.job.trigger_count,
            waiting.job.description.as_str(),
            waiting.job.args.get_str("k").unwrap(),
            waiting.job.next_run_time
        ),
        (JobStatus::Queuing, 3, "from v1", "v".to_owned(), Some(t(0)))
    );
    assert_eq!(
        (
            waiting.revision,
            waiting.lease,
            waiting.interrupt,
            waiting.triggered
        ),
        (1, None, None, false)
    );
    let running = store.find("running").await.unwrap().unwrap();
    let lease = running.lease.expect("the run in flight keeps its lease");
    assert_eq!((lease.node.as_str(), lease.token), ("old-node", 7));
    assert_eq!(
        store.list_logs("waiting", 10).await.unwrap()[0].message,
        "ran on v1"
    );
    let kept = store.action_store().get_actions("waiting").await.unwrap();
    assert_eq!(kept, vec![JobAction::new("Kept")]);
    assert!(
        !store.lock_provider().try_lock("locked", 60).await.unwrap(),
        "the lock is still held"
    );

    let run = claim(&store, "new-node", 1, 10).await;
    assert_eq!(run.len(), 1, "the waiting job, not the running one");
    assert!(
        run[0].lease.token > 41,
        "token {} is past every token version 1 handed out",
        run[0].lease.token
    );
    let old_lease = bgtasks_abstractions::RunLease {
        job_id: "running".into(),
        token: 7,
        node: "old-node".into(),
        expires_at: t(1000),
        due_at: t(-100),
    };
    assert_eq!(
        store
            .renew("old-node", &[old_lease], LEASE, t(2))
            .await
            .unwrap(),
        vec![RenewOutcome::Renewed],
        "the run in flight goes on under its version 1 lease"
    );
}
