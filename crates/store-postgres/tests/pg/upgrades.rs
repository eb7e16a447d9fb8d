//! Upgrades: a database of an older schema version is brought to this build's, keeping
//! every job, lease, log, action and lock.

use bgtasks_abstractions::{JobAction, JobStatus};
use bgtasks_postgres::SCHEMA_VERSION;
use bgtasks_store::{JobDefinitions, JobLockProvider, JobRuns, RenewOutcome, RunLogs};
use bgtasks_store_conformance::t;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection, PgConnection, SqlSafeStr};

use super::{LEASE, claim};
use crate::support;

/// The migrations an older build applied (through sqlx, in `bgtasks_migrations`): those
/// up to `version`.
fn up_to(version: i64) -> Migrator {
    let files = [
        (
            1,
            "initial",
            include_str!("../../migrations/0001_initial.sql"),
        ),
        (
            2,
            "store contract",
            include_str!("../../migrations/0002_store_contract.sql"),
        ),
    ];
    let migrations = files
        .into_iter()
        .filter(|(number, _, _)| *number <= version)
        .map(|(number, description, sql)| {
            Migration::new(
                number,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.dangerous_set_table_name("bgtasks_migrations");
    migrator
}

/// A fresh database at schema `version`, and a connection to it.
async fn database_at(version: i64) -> (String, PgConnection) {
    let url = support::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    up_to(version)
        .run_direct(None, &mut conn, false)
        .await
        .unwrap();
    (url, conn)
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
    let (url, mut conn) = database_at(1).await;
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
    assert_eq!(
        (waiting.attempts, waiting.rescues, waiting.job.time_limit),
        (0, 0, None)
    );
    let running = store.find("running").await.unwrap().unwrap();
    let lease = running.lease.expect("the run in flight keeps its lease");
    assert_eq!((lease.node.as_str(), lease.token), ("old-node", 7));
    assert_eq!(
        store.list_logs("waiting", 10).await.unwrap()[0].message,
        "ran on v1"
    );
    assert_eq!(
        waiting.job.actions,
        vec![JobAction::new("Kept")],
        "the actions moved into the job"
    );
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

/// The schema version recorded in the database of `store`.
async fn version_of(store: &bgtasks_postgres::PostgresJobStore) -> i32 {
    sqlx::query_scalar("SELECT version FROM bgtasks_schema")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

// spec: R31, R46
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_database_is_upgraded_with_the_actions_in_their_jobs() {
    let (url, mut conn) = database_at(2).await;
    insert_v1_job(&mut conn, "with-actions", 12, None).await;
    insert_v1_job(&mut conn, "without", 13, Some("busy-node")).await;
    // As a version 2 build left them: a definition updated three times, and the token
    // sequence past the tokens it handed out.
    sqlx::query("UPDATE bgtasks_jobs SET revision = 4 WHERE id = 'with-actions'")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("SELECT setval('bgtasks_lease_tokens', 13)")
        .execute(&mut conn)
        .await
        .unwrap();
    let actions = vec![
        JobAction::new("JobExecutedFailedProvider")
            .with_parameter("to", "ops@example.com, dev@example.com")
            .with_parameter("culture", "zh-Hans"),
        JobAction::new("Other").with_parameter("n", 3),
    ];
    for (job_id, list) in [
        ("with-actions", serde_json::to_value(&actions).unwrap()),
        ("gone-job", serde_json::json!([{"name": "Orphan"}])),
    ] {
        sqlx::query("INSERT INTO bgtasks_job_actions (job_id, actions) VALUES ($1, $2)")
            .bind(job_id)
            .bind(list)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO bgtasks_logs (job_id, job_name, job_group, job_type, message, run_time, \
           exception, node, duration_ms) \
         VALUES ('with-actions', 'name', 'Default', 't', 'failed on v2', $1, 'boom', 'n', 5)",
    )
    .bind(t(-50))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO bgtasks_locks (key, owner, expires_at) \
         VALUES ('locked', 'v2-owner', now() + interval '1 hour')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = support::connect_fixed(&url).await;
    assert_eq!(version_of(&store).await, SCHEMA_VERSION);
    let moved = store.find("with-actions").await.unwrap().unwrap();
    assert_eq!(
        moved.job.actions, actions,
        "the action rows are in the job now"
    );
    assert_eq!(
        (
            moved.revision,
            moved.job.description.as_str(),
            moved.attempts
        ),
        (4, "from v1", 0)
    );
    let without = store.find("without").await.unwrap().unwrap();
    assert!(without.job.actions.is_empty());
    assert_eq!(
        without.lease.map(|l| l.token),
        Some(13),
        "its lease is kept"
    );
    let gone: bool = sqlx::query_scalar("SELECT to_regclass('bgtasks_job_actions') IS NULL")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(gone, "the actions table is dropped");
    let logs = store.list_logs("with-actions", 10).await.unwrap();
    assert_eq!(
        (logs[0].message.as_str(), logs[0].exception_type),
        ("failed on v2", None)
    );
    assert!(
        !store.lock_provider().try_lock("locked", 60).await.unwrap(),
        "the lock is still held"
    );
    let run = claim(&store, "n", 1, 10).await;
    assert_eq!(run.len(), 1);
    assert_eq!((run[0].attempt, run[0].rescues), (1, 0));
    assert!(run[0].lease.token > 13);
    assert_eq!(run[0].job.actions, actions, "a claim carries the actions");
}
