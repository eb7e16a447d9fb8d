//! What is particular to the SQLite store: the file survives restarts; files that are not
//! ours, are damaged or are newer are refused with the path in the error; rows that do not
//! decode are named; writers on one file wait for each other rather than fail; and writes
//! by another process wake this one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{
    JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus, SystemClock,
};
use bgtasks_actions::{JobAction, JobActionStore};
use bgtasks_core::JobLockProvider;
use bgtasks_core::store::{CompletionOutcome, JobLog, JobStore, RunCompletion, StoreError};
use bgtasks_sqlite::{SCHEMA_VERSION, SqliteJobStore, SqliteStoreOptions};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, SqliteConnection};

const LEASE: Duration = Duration::from_secs(30);

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

fn queued(id: &str, due: i64) -> JobInfo {
    let mut job = JobInfo::once(id, "t");
    job.creation_time = t(-1000);
    job.begin_time = t(-1000);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(due));
    job
}

async fn open(path: &Path) -> SqliteJobStore {
    SqliteJobStore::open(path, SqliteStoreOptions::default())
        .await
        .unwrap()
}

async fn open_err(path: &Path) -> String {
    match SqliteJobStore::open(path, SqliteStoreOptions::default()).await {
        Ok(_) => panic!("`{}` should be refused", path.display()),
        Err(error) => error.to_string(),
    }
}

async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_the_file_keeps_every_job_counter_log_action_and_lock() {
    // spec: R1, R12, R27, R28, R31
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
    store.insert(&full).await.unwrap();
    let mut period = JobInfo::period("period", "t", "0/10 * * * * ?");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(10));
    store.insert(&period).await.unwrap();

    // One run claimed and completed, one claimed and left leased: counters and leases.
    let first = store
        .claim_due("node-a", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    let mut outcome = first.job.clone();
    outcome.status = JobStatus::Running;
    outcome.trigger_count = 1;
    outcome.result = Some("OK".into());
    assert_eq!(
        store.complete_run(&first.lease, &outcome).await.unwrap(),
        CompletionOutcome::Saved
    );
    let leased = store
        .claim_due("node-a", t(11), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(leased.job.id, "period");
    store
        .store_log(&JobLog {
            job_id: "full".into(),
            job_name: "full".into(),
            job_group: "Default".into(),
            job_type: "t".into(),
            message: "OK".into(),
            run_time: t(1),
            exception: None,
            tenant_id: full.tenant_id,
            node: "node-a".into(),
            duration_ms: 7,
        })
        .await
        .unwrap();
    let actions = vec![JobAction::new("JobExecutedFailedProvider").with_parameter("to", "a@b.c")];
    store
        .action_store()
        .set_actions("full", actions.clone())
        .await
        .unwrap();
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
    assert_eq!(saved_full.trigger_count, 1);
    assert_eq!(
        reopened.find("period").await.unwrap().unwrap(),
        saved_period
    );
    assert_eq!(reopened.list_logs("full", 10).await.unwrap(), logs);
    assert_eq!(
        reopened.action_store().get_actions("full").await.unwrap(),
        actions
    );
    let other_locks = reopened.lock_provider(Arc::new(SystemClock));
    assert!(
        !other_locks.try_lock("full", 600).await.unwrap(),
        "the lock is still held"
    );
    // The lease survived: it can be renewed by its node and completed, and its fencing
    // token goes on growing after a rescue.
    assert!(
        reopened
            .renew_leases("node-a", std::slice::from_ref(&leased.lease), t(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        reopened.rescue_expired(t(51)).await.unwrap(),
        vec!["period".to_owned()]
    );
    let again = reopened
        .claim_due("node-a", t(52), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(again.job.id, "period");
    assert!(again.lease.token > leased.lease.token);
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
    open(&path).await.close().await;
    let mut conn = raw(&path).await;
    sqlx::query("UPDATE bgtasks_schema SET version = 7")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
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
    conn.close().await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_completions_and_logs_answer_as_one_by_one_would() {
    // spec: R12, R20, R26, R27
    // (Called on the store itself: the runtime's `Arc<dyn JobStore>` reaches these
    // methods only once the core's `Arc<T>` impl forwards them.)
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    assert!(store.prefers_batched_writes());
    for i in 0..5 {
        store.insert(&queued(&format!("j{i}"), 0)).await.unwrap();
    }
    let runs = store.claim_due("a", t(1), 5, LEASE).await.unwrap();
    let run = |id: &str| runs.iter().find(|r| r.job.id == id).unwrap().clone();
    assert!(store.remove("j1").await.unwrap());
    let mut paused = store.find("j2").await.unwrap().unwrap();
    paused.status = JobStatus::Paused;
    store.store(&paused).await.unwrap();
    let mut edited = store.find("j4").await.unwrap().unwrap();
    edited.description = "edited during the run".into();
    store.store(&edited).await.unwrap();
    // j3's lease lapses and another node takes the run.
    sqlx::query("UPDATE bgtasks_jobs SET lease_expires_at = 0 WHERE id = 'j3'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.rescue_expired(t(2)).await.unwrap(), vec!["j3"]);
    let retaken = store
        .claim_due("b", t(3), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(retaken.job.id, "j3");

    let outcome = |run: &bgtasks_core::store::ClaimedRun, status: JobStatus| {
        let mut job = run.job.clone();
        job.status = status;
        job.trigger_count = 1;
        RunCompletion {
            lease: run.lease.clone(),
            job,
        }
    };
    let mut retry = outcome(&run("j4"), JobStatus::FailedRetry);
    retry.job.try_count = 1;
    retry.job.next_run_time = Some(t(451));
    let batch = vec![
        outcome(&run("j0"), JobStatus::Completed),
        outcome(&run("j1"), JobStatus::Completed),
        outcome(&run("j2"), JobStatus::Running),
        outcome(&run("j3"), JobStatus::Completed),
        outcome(&retaken, JobStatus::Completed),
        outcome(&run("j0"), JobStatus::Completed),
        retry,
    ];
    use CompletionOutcome::{JobGone, LeaseLost, Saved};
    assert_eq!(
        store.complete_runs(&batch).await.unwrap(),
        vec![Saved, JobGone, Saved, LeaseLost, Saved, LeaseLost, Saved],
        "in order; a stale lease and a second completion of one lease are refused"
    );
    let find = |id: &'static str| {
        let store = store.clone();
        async move { store.find(id).await.unwrap().unwrap() }
    };
    assert_eq!(find("j0").await.status, JobStatus::Completed);
    assert_eq!(
        (find("j2").await.status, find("j2").await.trigger_count),
        (JobStatus::Paused, 1),
        "paused during the run: stays paused"
    );
    assert_eq!(find("j3").await.status, JobStatus::Completed);
    let j4 = find("j4").await;
    assert_eq!(
        (
            j4.status,
            j4.try_count,
            j4.next_run_time,
            j4.description.as_str()
        ),
        (
            JobStatus::FailedRetry,
            1,
            Some(t(451)),
            "edited during the run"
        ),
        "only the run state is written"
    );
    assert_eq!(store.next_due_time("a").await.unwrap(), Some(t(451)));
    assert!(store.complete_runs(&[]).await.unwrap().is_empty());

    let logs: Vec<JobLog> = (0..50)
        .map(|i| JobLog {
            job_id: "logged".into(),
            job_name: "n".into(),
            job_group: "g".into(),
            job_type: "t".into(),
            message: format!("run {i}"),
            run_time: t(i),
            exception: (i % 2 == 0).then(|| format!("boom {i}")),
            tenant_id: (i == 7).then(uuid::Uuid::new_v4),
            node: "a".into(),
            duration_ms: 3,
        })
        .collect();
    store.store_logs(&logs).await.unwrap();
    store.store_logs(&[]).await.unwrap();
    let mut kept = store.list_logs("logged", 100).await.unwrap();
    kept.reverse();
    assert_eq!(kept, logs, "every log, every field, in order");
}

/// A clock the test moves by hand.
#[derive(Debug)]
struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl bgtasks_abstractions::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn locks_expire_by_the_clock_and_are_released_only_by_their_holder() {
    // spec: R28
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let clock = Arc::new(ManualClock(std::sync::Mutex::new(t(0))));
    let one = open(&path).await.lock_provider(clock.clone());
    let two = open(&path).await.lock_provider(clock.clone());
    assert_ne!(one.owner(), two.owner());
    assert!(one.try_lock("job", 10).await.unwrap());
    assert!(
        !one.try_lock("job", 10).await.unwrap(),
        "a held lock is taken once, as in memory"
    );
    two.release("job").await.unwrap();
    assert!(
        !two.try_lock("job", 10).await.unwrap(),
        "another holder's release does not free it"
    );
    *clock.0.lock().unwrap() = t(10);
    assert!(
        two.try_lock("job", 10).await.unwrap(),
        "expired: taken over"
    );
    one.release("job").await.unwrap();
    assert!(
        !one.try_lock("job", 10).await.unwrap(),
        "the old holder's release does not free the new holder's lock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_does_not_decode_is_named_and_does_not_stall_claims() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    store.insert(&queued("bad", 0)).await.unwrap();
    store.insert(&queued("good", 5)).await.unwrap();
    sqlx::query("UPDATE bgtasks_jobs SET args = '[1, 2]' WHERE id = 'bad'")
        .execute(store.pool())
        .await
        .unwrap();
    match store.find("bad").await {
        Err(StoreError::Corrupt { job, message }) => {
            assert_eq!(job, "bad");
            assert!(message.contains("`args`"), "{message}");
        }
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
    let claimed = store.claim_due("a", t(10), 5, LEASE).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["good"],
        "the bad row is set aside, the good one claimed"
    );
    let next: Option<i64> =
        sqlx::query_scalar("SELECT next_run_time FROM bgtasks_jobs WHERE id = 'bad'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(next, None, "set aside until it is stored again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_holding_the_file_is_waited_for_not_reported() {
    // spec: R27
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = open(&path).await;
    store.insert(&queued("j", 0)).await.unwrap();
    let mut other = raw(&path).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let claim = tokio::spawn({
        let store = store.clone();
        async move { store.claim_due("a", t(1), 1, LEASE).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!claim.is_finished(), "the claim waits for the other writer");
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    let claimed = claim.await.unwrap().unwrap();
    assert_eq!(claimed.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_by_another_process_wakes_the_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let options = SqliteStoreOptions::default().watch_interval(Some(Duration::from_millis(50)));
    let node = SqliteJobStore::open(&path, options.clone()).await.unwrap();
    let producer = SqliteJobStore::open(&path, options).await.unwrap();
    let due = node.subscribe_due().unwrap();
    // The watcher compares the file's version with the one it read last; an insert made
    // before its first read is not a change to it. So insert until one wakes the handle
    // (bounded), rather than sleeping and hoping the watcher has looked by then.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for i in 0.. {
        producer
            .insert(&queued(&format!("from-elsewhere-{i}"), 0))
            .await
            .unwrap();
        if tokio::time::timeout(Duration::from_millis(250), due.notified())
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no insert by the other process woke this handle within 10 s"
        );
    }
}

#[tokio::test]
async fn insert_many_inserts_new_ids_once_in_one_transaction() {
    // spec: R27
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    store.insert(&queued("old", 0)).await.unwrap();
    let mut changed = queued("old", 0);
    changed.description = "must not replace".into();
    let inserted = store
        .insert_many(&[queued("a", 0), changed, queued("b", 1), queued("a", 2)])
        .await
        .unwrap();
    assert_eq!(inserted, vec![true, false, true, false]);
    assert_eq!(store.find("old").await.unwrap().unwrap().description, "");
    assert_eq!(
        store.find("a").await.unwrap().unwrap(),
        queued("a", 0),
        "the first of repeated ids wins"
    );
    assert!(store.insert_many(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn connect_takes_sqlite_urls_on_disk_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("url.db");
    let url = format!("sqlite://{}", path.display());
    let on_disk = SqliteJobStore::connect(&url, SqliteStoreOptions::default())
        .await
        .unwrap();
    on_disk.insert(&queued("j", 0)).await.unwrap();
    on_disk.close().await;
    assert!(open(&path).await.find("j").await.unwrap().is_some());

    let memory = SqliteJobStore::connect("sqlite::memory:", SqliteStoreOptions::default())
        .await
        .unwrap();
    memory.insert(&queued("m", 0)).await.unwrap();
    assert_eq!(
        memory.claim_due("a", t(1), 5, LEASE).await.unwrap().len(),
        1
    );
    assert!(memory.find("m").await.unwrap().is_some());

    let message = SqliteJobStore::connect("postgres://nope", SqliteStoreOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("postgres://nope"), "{message}");
}
