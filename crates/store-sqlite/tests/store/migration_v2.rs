//! Migrating a file of schema version 2 to version 3: every job, run in flight (with its
//! pending interruption and trigger), log, node and lock is kept; the actions of version
//! 2's table `bgtasks_job_actions` move into their jobs and the table goes; lease tokens
//! go on from the store-wide counter.

use std::sync::Arc;

use bgtasks_abstractions::{Interruption, JobAction, RunLease, SystemClock};
use bgtasks_sqlite::SCHEMA_VERSION;
use bgtasks_store::{
    JobDefinitions, JobLockProvider, JobRecord, JobRuns, LeaseInfo, NodeRegistry, RenewOutcome,
    RunLogs,
};

use crate::migration::{V1, create_old, insert_old, running_job};
use crate::{LEASE, claim, open, queued, t};

/// The migration of version 2, as the previous release applied it.
const V2: &str = include_str!("../../migrations/0002_revision_interrupts_tokens_nodes.sql");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_file_keeps_everything_and_its_actions_move_into_their_jobs() {
    // spec: R1, R12, R28, R31, R38, R39, R40
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let running = running_job();
    let idle = queued("idle", 5);
    // A run in flight when version 2 stopped, paused and triggered meanwhile; the last
    // token version 2 handed out is 41.
    let lease = LeaseInfo {
        node: "node-a".into(),
        token: 41,
        expires_at: t(30),
        due_at: t(0),
    };
    let actions = vec![
        JobAction::new("JobExecutedFailedProvider")
            .with_parameter("to", "ops@example.com, dev@example.com")
            .with_parameter("culture", "zh-Hans"),
        JobAction::new("Other").with_parameter("n", 3),
    ];
    let mut conn = create_old(&path, &[V1, V2], 2).await;
    let v2_columns = [("revision", 3), ("interrupt", 20), ("triggered", 1)];
    insert_old(&mut conn, &running, &v2_columns, Some(&lease)).await;
    insert_old(&mut conn, &idle, &[("revision", 1)], None).await;
    sqlx::query("UPDATE bgtasks_lease_tokens SET last = 41")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO bgtasks_job_actions (job_id, actions) VALUES (?, ?), (?, ?), (?, ?)")
        .bind("running")
        .bind(serde_json::to_string(&actions).unwrap())
        .bind("removed-long-ago")
        .bind(r#"[{"name":"Orphan","parameters":{}}]"#)
        .bind("idle")
        .bind("not json, which version 2 could not read either")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO bgtasks_job_logs (job_id, job_name, job_group, job_type, message, run_time, \
           exception, tenant_id, node, duration_ms) \
           VALUES ('running', 'nightly', 'reports', 'report', 'failed', 0, 'boom', NULL, 'node-a', 5); \
         INSERT INTO bgtasks_locks (key, owner, expires_at) \
           VALUES ('running', 'a-version-2-provider', 9000000000000000); \
         INSERT INTO bgtasks_nodes (node, job_types, started_at, heartbeat_at, running, info) \
           VALUES ('node-a', '[\"report\"]', 0, 0, 1, '{}');",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();

    let store = open(&path).await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    let mut with_actions = running.clone();
    with_actions.actions = actions;
    assert_eq!(
        store.find("running").await.unwrap().unwrap(),
        JobRecord {
            job: with_actions,
            revision: 3,
            lease: Some(lease),
            interrupt: Some(Interruption::Paused),
            triggered: true,
            attempts: 0,
            rescues: 0,
        },
        "every field, the actions moved in, the run in flight with its pause and trigger"
    );
    assert_eq!(
        store.find("idle").await.unwrap().unwrap(),
        JobRecord::new(idle),
        "actions that were not a JSON array are dropped, not made into a bad row"
    );
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'bgtasks_job_actions'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(tables, 0, "the actions table is gone");
    let logs = store.list_logs("running", 10).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (logs[0].exception.as_deref(), logs[0].exception_type),
        (Some("boom"), None),
        "an old log has no failure type"
    );
    let nodes = store.nodes().await.unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].heartbeat.job_types, vec!["report".to_owned()]);
    let locks = store.lock_provider(Arc::new(SystemClock));
    assert!(
        !locks.try_lock("running", 60).await.unwrap(),
        "the lock is still held"
    );

    // The run in flight learns of its pause; a new claim gets a greater token and counts
    // its attempt.
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
        vec![RenewOutcome::Interrupt(Interruption::Paused)]
    );
    let claimed = claim(&store, "node-a", 10, 5).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, "idle");
    assert!(claimed[0].lease.token > 41, "{}", claimed[0].lease.token);
    assert_eq!((claimed[0].attempt, claimed[0].rescues), (1, 0));
}
