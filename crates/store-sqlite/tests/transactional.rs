//! Queueing in the caller's own transaction on a real SQLite file (R49), with a running
//! runtime on the file: a job queued in a transaction that rolls back never exists and
//! never runs; one whose transaction commits runs exactly once; the business row written
//! beside it is there exactly when the job is; a batch of 1,000 is one transaction; a
//! batch with one invalid job is refused whole; a repeated id is stored once.
// spec: R49

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, JobStatus, SystemClock, job_fn};
use bgtasks_core::store::{JobDefinitions, JobRuns};
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_sqlite::sqlx::{self, Sqlite, Transaction};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions, enqueue_in};

/// How many times each job ran.
type Runs = Arc<Mutex<HashMap<String, u32>>>;

async fn open(path: &Path, watch: Option<Duration>) -> SqliteJobStore {
    let options = SqliteStoreOptions::default().watch_interval(watch);
    let store = SqliteJobStore::open(path, options).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, total INTEGER)")
        .execute(store.pool())
        .await
        .unwrap();
    store
}

/// A started runtime on `store` whose "count" jobs count their runs in the result.
async fn node(store: &SqliteJobStore) -> (Runtime, Runs) {
    let runs = Runs::default();
    let counted = runs.clone();
    let runtime = Runtime::builder()
        .node_name("node-a")
        .store(Arc::new(store.clone()))
        .lock_provider(Arc::new(store.lock_provider(Arc::new(SystemClock))))
        .workers(4)
        .runnable(
            "count",
            job_fn(move |ctx| {
                let runs = counted.clone();
                async move {
                    *runs
                        .lock()
                        .unwrap()
                        .entry(ctx.job_id().to_owned())
                        .or_default() += 1;
                    Ok::<(), JobError>(())
                }
            }),
        )
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    (runtime, runs)
}

/// A job as the runtime's queueing prepares it: due now.
fn queued(id: &str) -> JobInfo {
    let mut job = JobInfo::once(id, "count");
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(job.begin_time);
    job
}

async fn begin(store: &SqliteJobStore) -> Transaction<'static, Sqlite> {
    store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap()
}

async fn write_invoice(tx: &mut Transaction<'static, Sqlite>, id: &str) {
    sqlx::query("INSERT INTO invoices (id, total) VALUES (?, 100)")
        .bind(id.to_owned())
        .execute(&mut **tx)
        .await
        .unwrap();
}

async fn invoice_exists(store: &SqliteJobStore, id: &str) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM invoices WHERE id = ?")
        .bind(id.to_owned())
        .fetch_one(store.pool())
        .await
        .unwrap()
        == 1
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Queues `id` in a committed transaction of its own and waits until it ran: every job
/// committed before it had its chance to run too.
async fn run_marker(store: &SqliteJobStore, runs: &Runs, id: &str) {
    let mut tx = begin(store).await;
    assert_eq!(
        enqueue_in(&mut tx, &[queued(id)]).await.unwrap(),
        vec![true]
    );
    tx.commit().await.unwrap();
    store.notify_due();
    wait_until(id, || runs.lock().unwrap().contains_key(id)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_in_a_transaction_rolled_back_never_exists_and_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = open(&path, Some(Duration::from_millis(50))).await;
    let (runtime, runs) = node(&store).await;
    let other_process = open(&path, None).await;

    let mut tx = begin(&store).await;
    write_invoice(&mut tx, "inv-1").await;
    assert_eq!(
        enqueue_in(&mut tx, &[queued("rolled-back")]).await.unwrap(),
        vec![true],
        "inserted in the transaction"
    );
    assert!(
        other_process.find("rolled-back").await.unwrap().is_none(),
        "not visible before the commit"
    );
    tx.rollback().await.unwrap();

    run_marker(&store, &runs, "marker").await;
    runtime.shutdown().await.unwrap();
    assert!(store.find("rolled-back").await.unwrap().is_none());
    assert!(!invoice_exists(&store, "inv-1").await);
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs, HashMap::from([("marker".to_owned(), 1)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_in_a_transaction_committed_runs_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = open(&path, Some(Duration::from_millis(50))).await;
    let (runtime, runs) = node(&store).await;
    let other_process = open(&path, None).await;

    // A connection of the application's own pool, not the store's.
    let app = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full),
        )
        .await
        .unwrap();
    let mut tx = app.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("INSERT INTO invoices (id, total) VALUES ('inv-2', 100)")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        enqueue_in(&mut tx, &[queued("committed")]).await.unwrap(),
        vec![true]
    );
    assert!(other_process.find("committed").await.unwrap().is_none());
    tx.commit().await.unwrap();
    // No `notify_due`: the store's watcher sees the commit of another connection.
    wait_until("the committed job ran", || {
        runs.lock().unwrap().contains_key("committed")
    })
    .await;

    run_marker(&store, &runs, "marker").await;
    runtime.shutdown().await.unwrap();
    assert_eq!(runs.lock().unwrap()["committed"], 1, "ran exactly once");
    let record = store.find("committed").await.unwrap().unwrap();
    assert_eq!(
        (record.job.status, record.job.trigger_count, record.attempts),
        (JobStatus::Completed, 1, 1)
    );
    assert!(invoice_exists(&store, "inv-2").await);
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_jobs_in_one_transaction_are_queued_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = open(&path, Some(Duration::from_millis(50))).await;
    let (runtime, runs) = node(&store).await;
    let batch = |prefix: &str| -> Vec<JobInfo> {
        (0..1000)
            .map(|i| queued(&format!("{prefix}-{i:04}")))
            .collect()
    };

    let mut tx = begin(&store).await;
    for i in 0..1000 {
        write_invoice(&mut tx, &format!("lost-{i}")).await;
    }
    assert!(
        enqueue_in(&mut tx, &batch("lost"))
            .await
            .unwrap()
            .iter()
            .all(|i| *i)
    );
    tx.rollback().await.unwrap();

    let jobs = batch("bulk");
    let mut tx = begin(&store).await;
    for i in 0..1000 {
        write_invoice(&mut tx, &format!("bulk-{i}")).await;
    }
    let inserted = enqueue_in(&mut tx, &jobs).await.unwrap();
    assert_eq!(inserted, vec![true; 1000]);
    tx.commit().await.unwrap();
    store.notify_due();
    wait_until("every job of the batch ran", || {
        runs.lock().unwrap().len() == 1000
    })
    .await;
    run_marker(&store, &runs, "marker").await;
    runtime.shutdown().await.unwrap();

    let runs = runs.lock().unwrap().clone();
    for job in &jobs {
        assert_eq!(runs.get(&job.id), Some(&1), "{}", job.id);
    }
    assert!(!runs.keys().any(|id| id.starts_with("lost-")));
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM bgtasks_jobs WHERE id LIKE 'lost-%'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    let invoices: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!((stored, invoices), (0, 1000));
}

#[tokio::test]
async fn a_batch_with_one_invalid_job_is_refused_whole_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("app.db"), None).await;
    let mut bad_cron = JobInfo::period("bad-cron", "count", "not a cron");
    bad_cron.status = JobStatus::Queuing;
    let unprepared = JobInfo::once("unprepared", "count");
    assert_eq!(unprepared.status, JobStatus::None);

    let mut tx = begin(&store).await;
    for (bad, reason) in [
        (bad_cron, "invalid cron expression `not a cron`"),
        (unprepared, "status None"),
    ] {
        let batch = [queued("good-1"), bad.clone(), queued("good-2")];
        let error = enqueue_in(&mut tx, &batch).await.unwrap_err();
        let message = error.to_string();
        assert!(!error.is_transient(), "{message}");
        assert!(message.contains(&format!("`{}`", bad.id)), "{message}");
        assert!(message.contains(reason), "{message}");
        assert!(message.contains("none of the batch's 3 jobs"), "{message}");
    }
    // Nothing was written, and the transaction goes on.
    write_invoice(&mut tx, "inv-3").await;
    tx.commit().await.unwrap();
    for id in ["good-1", "bad-cron", "unprepared", "good-2"] {
        assert!(store.find(id).await.unwrap().is_none(), "{id}");
    }
    assert!(invoice_exists(&store, "inv-3").await);
}

#[tokio::test]
async fn a_repeated_id_is_stored_once_and_an_existing_one_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("app.db"), None).await;
    let mut first = queued("dup");
    first.name = "first".into();
    let mut second = queued("dup");
    second.name = "second".into();

    let mut tx = begin(&store).await;
    let inserted = enqueue_in(&mut tx, &[first, second, queued("other")])
        .await
        .unwrap();
    assert_eq!(inserted, vec![true, false, true]);
    tx.commit().await.unwrap();
    let stored = store.find("dup").await.unwrap().unwrap();
    assert_eq!((stored.job.name.as_str(), stored.revision), ("first", 1));

    let mut again = queued("dup");
    again.name = "again".into();
    let mut tx = begin(&store).await;
    assert_eq!(enqueue_in(&mut tx, &[again]).await.unwrap(), vec![false]);
    assert_eq!(enqueue_in(&mut tx, &[]).await.unwrap(), Vec::<bool>::new());
    tx.commit().await.unwrap();
    assert_eq!(store.find("dup").await.unwrap().unwrap().job.name, "first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_due_wakes_the_runtime_of_the_handle_when_nothing_watches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("app.db"), None).await;
    let due = store.subscribe_due().unwrap();
    store.notify_due();
    tokio::time::timeout(Duration::from_secs(5), due.notified())
        .await
        .expect("the due signal fires");

    // The runtime idles (nothing is due; no watcher would see a commit for a minute).
    let (runtime, runs) = node(&store).await;
    run_marker(&store, &runs, "marker").await;
    let mut tx = begin(&store).await;
    enqueue_in(&mut tx, &[queued("woken")]).await.unwrap();
    tx.commit().await.unwrap();
    store.notify_due();
    wait_until("the runtime woke for the job", || {
        runs.lock().unwrap().contains_key("woken")
    })
    .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_database_without_the_schema_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("empty.db"))
            .create_if_missing(true),
    )
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let error = enqueue_in(&mut conn, &[queued("orphan")])
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("job `orphan`"), "{message}");
    assert!(message.contains("open a SqliteJobStore"), "{message}");
}

#[tokio::test]
async fn an_application_database_keeps_the_jobs_beside_its_tables_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let app = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE users (id TEXT PRIMARY KEY)")
        .execute(&app)
        .await
        .unwrap();
    sqlx::query("INSERT INTO users (id) VALUES ('ada')")
        .execute(&app)
        .await
        .unwrap();

    let refused = SqliteJobStore::open(&path, SqliteStoreOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("application_tables"), "{refused}");
    let store = SqliteJobStore::open(
        &path,
        SqliteStoreOptions::default().application_tables(true),
    )
    .await
    .unwrap();

    let mut tx = app.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("INSERT INTO users (id) VALUES ('grace')")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        enqueue_in(&mut tx, &[queued("welcome-grace")])
            .await
            .unwrap(),
        vec![true]
    );
    tx.commit().await.unwrap();
    assert!(store.find("welcome-grace").await.unwrap().is_some());
    let users: Vec<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(users, ["ada", "grace"]);
    // Opened again, the file is the store's and the application's.
    store.close().await;
    SqliteJobStore::open(&path, SqliteStoreOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_batch_of_several_statements_that_fails_leaves_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("app.db"), None).await;
    // A row the database itself refuses, after validation passed.
    sqlx::query(
        "CREATE TRIGGER poison BEFORE INSERT ON bgtasks_jobs WHEN NEW.id = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let mut jobs: Vec<JobInfo> = (0..2500).map(|i| queued(&format!("big-{i:04}"))).collect();
    jobs.push(queued("poison"));
    let stored = async |conn: &mut sqlx::SqliteConnection| -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bgtasks_jobs")
            .fetch_one(conn)
            .await
            .unwrap()
    };

    // In the caller's transaction: the first statements' rows are undone too.
    let mut tx = begin(&store).await;
    write_invoice(&mut tx, "inv-5").await;
    let error = enqueue_in(&mut tx, &jobs).await.unwrap_err();
    assert!(error.to_string().contains("poisoned row"), "{error}");
    assert_eq!(stored(&mut tx).await, 0);
    tx.commit().await.unwrap();
    assert!(invoice_exists(&store, "inv-5").await);

    // On a connection outside a transaction: the batch was one transaction of its own.
    let mut conn = store.pool().acquire().await.unwrap();
    assert!(enqueue_in(&mut conn, &jobs).await.is_err());
    assert_eq!(stored(&mut conn).await, 0);
    jobs.pop();
    assert_eq!(
        enqueue_in(&mut conn, &jobs).await.unwrap(),
        vec![true; 2500]
    );
    assert_eq!(stored(&mut conn).await, 2500);
}
