//! The file: it survives restarts with everything in it; it runs in WAL mode with full
//! sync; files that are not ours, damaged, newer or unusable are refused naming the path;
//! `sqlite:` URLs open files and in-memory databases.

use std::sync::Arc;

use bgtasks_abstractions::{
    JobAction, JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus, SystemClock,
};
use bgtasks_sqlite::{SCHEMA_VERSION, SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{
    CompletionOutcome, JobControl, JobDefinitions, JobLockProvider, JobRuns, RenewOutcome,
    RunCompletion, RunLogs,
};

use crate::{LEASE, claim, log, open, open_err, queued, raw, seed, t};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_the_file_keeps_every_job_token_log_action_and_lock() {
    // spec: R1, R12, R27, R28, R31, R38
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/jobs.db");
    let store = open(&path).await;
    let mut full = queued("full", 0);
    full.tenant_id = Some(uuid::Uuid::new_v4());
    full.args = JobArgs::from_value(serde_json::json!({"to": "ops@example.com", "n": 2})).unwrap();
    full.kind = JobKind::Persistent;
    full.interval = 60;
    full.max_count = 5;
    full.priority = JobPriority::AboveNormal;
    full.source = JobSource::User;
    full.node_name = Some("node-a".into());
    full.end_time = Some(t(100_000));
    full.base_interval = Some(60);
    full.time_limit = Some(90);
    full.actions = vec![JobAction::new("JobExecutedFailedProvider").with_parameter("to", "a@b.c")];
    let mut period = JobInfo::period("period", "t", "0/10 * * * * ?");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(10));
    seed(&store, &[full.clone(), period]).await;

    // One run claimed and completed, one claimed and left leased, then paused.
    let first = claim(&store, "node-a", 1, 1).await.remove(0);
    let mut outcome = first.job.clone();
    outcome.status = JobStatus::Running;
    outcome.trigger_count = 1;
    outcome.result = Some("OK".into());
    let completion = RunCompletion::new(first.lease.clone(), outcome);
    assert_eq!(
        store
            .complete(&[completion], &[log("full", 1, "OK")])
            .await
            .unwrap(),
        vec![CompletionOutcome::Saved]
    );
    let leased = claim(&store, "node-a", 11, 1).await.remove(0);
    assert_eq!(leased.job.id, "period");
    store.pause("period").await.unwrap().unwrap();
    let locks = store.lock_provider(Arc::new(SystemClock));
    assert!(locks.try_lock("full", 600).await.unwrap());
    let saved_full = store.find("full").await.unwrap().unwrap();
    let saved_period = store.find("period").await.unwrap().unwrap();
    let logs = store.list_logs("full", 10).await.unwrap();
    store.close().await;
    drop(store);

    let reopened = open(&path).await;
    assert_eq!(reopened.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(reopened.find("full").await.unwrap().unwrap(), saved_full);
    assert_eq!(saved_full.job.trigger_count, 1);
    assert_eq!(
        reopened.find("period").await.unwrap().unwrap(),
        saved_period
    );
    assert_eq!(reopened.list_logs("full", 10).await.unwrap(), logs);
    assert_eq!(
        (saved_full.job.actions, saved_full.job.time_limit),
        (full.actions, Some(90)),
        "the actions and the time limit are kept with the job"
    );
    let other_locks = reopened.lock_provider(Arc::new(SystemClock));
    assert!(
        !other_locks.try_lock("full", 600).await.unwrap(),
        "the lock is still held"
    );
    // The lease and its pause survived: the node learns of the pause at its renewal.
    let renew = |at: i64| {
        let (store, lease) = (reopened.clone(), leased.lease.clone());
        async move {
            store
                .renew("node-a", std::slice::from_ref(&lease), LEASE, t(at))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        renew(20).await,
        vec![RenewOutcome::Interrupt(
            bgtasks_abstractions::Interruption::Paused
        )]
    );
    reopened.resume("period", t(21)).await.unwrap().unwrap();
    assert_eq!(
        renew(22).await,
        vec![RenewOutcome::Renewed],
        "the pause is withdrawn"
    );
    let rescued = reopened.rescue(t(53)).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(
        (rescued[0].job_id.as_str(), rescued[0].expired_at),
        ("period", t(52))
    );
    let again = claim(&reopened, "node-a", 53, 1).await.remove(0);
    assert_eq!(again.job.id, "period");
    assert!(
        again.lease.token > leased.lease.token,
        "tokens go on growing across restarts"
    );
    assert_eq!(again.lease.due_at, t(10), "the rescued run is the same run");
}

#[tokio::test]
async fn the_file_is_in_wal_mode_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    let mut conn = store.pool().acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!((mode.as_str(), sync, keys), ("wal", 2, 1));
}

#[tokio::test]
async fn a_newer_schema_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = open(&path).await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3);
    store.close().await;
    let mut conn = raw(&path).await;
    sqlx::query("UPDATE bgtasks_schema SET version = 7")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
    let message = open_err(&path).await;
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("version 7") && message.contains(&format!("version {SCHEMA_VERSION}")),
        "{message}"
    );
}

#[tokio::test]
async fn a_foreign_sqlite_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let mut conn = raw(&path).await;
    sqlx::raw_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
    let before = std::fs::read(&path).unwrap();

    let message = open_err(&path).await;
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("`users`"), "{message}");
    assert!(message.contains("bgtasks_schema"), "{message}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "not a byte of the file changed (no tables added, no switch to WAL)"
    );
}

#[tokio::test]
async fn a_corrupt_file_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let noise: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, noise).unwrap();
    let message = open_err(&path).await;
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("not a usable SQLite database"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unusable_path_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be created where a file is.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let under_a_file = file.join("jobs.db");
    let message = open_err(&under_a_file).await;
    assert!(
        message.contains(&file.display().to_string()) && message.contains("cannot create"),
        "{message}"
    );
    // A directory is not a database file.
    let message = open_err(dir.path()).await;
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn connect_takes_sqlite_urls_on_disk_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("url.db");
    let url = format!("sqlite://{}", path.display());
    let on_disk = SqliteJobStore::connect(&url, SqliteStoreOptions::default())
        .await
        .unwrap();
    seed(&on_disk, &[queued("j", 0)]).await;
    on_disk.close().await;
    assert!(open(&path).await.find("j").await.unwrap().is_some());

    let memory = SqliteJobStore::connect("sqlite::memory:", SqliteStoreOptions::default())
        .await
        .unwrap();
    assert_eq!(memory.schema_version().await.unwrap(), SCHEMA_VERSION);
    seed(&memory, &[queued("m", 0)]).await;
    assert_eq!(claim(&memory, "a", 1, 5).await.len(), 1);
    assert!(memory.find("m").await.unwrap().unwrap().lease.is_some());

    let message = SqliteJobStore::connect("postgres://nope", SqliteStoreOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("postgres://nope"), "{message}");
}
