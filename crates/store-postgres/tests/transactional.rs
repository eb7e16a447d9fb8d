//! Queueing in the caller's own transaction on a real PostgreSQL (R49), with a running
//! runtime on the database: a job queued in a transaction that rolls back never exists
//! and never runs, though the runtime runs other jobs meanwhile; one whose transaction
//! commits runs exactly once; the business row written beside it is there exactly when
//! the job is; the wake-up is delivered at the commit and never after a rollback; a batch
//! of 1,000 is one transaction; a batch with one invalid job is refused whole without
//! aborting the transaction; a repeated id is stored once, also across two transactions
//! racing; a store in a schema of its own is reached by name.
// spec: R49

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, JobStatus, job_fn};
use bgtasks_core::store::JobDefinitions;
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_postgres::sqlx::postgres::PgListener;
use bgtasks_postgres::sqlx::{self, PgPool, Postgres, Transaction};
use bgtasks_postgres::{DUE_CHANNEL, PostgresJobStore, enqueue_in, enqueue_in_schema};

/// How many times each job ran.
type Runs = Arc<Mutex<HashMap<String, u32>>>;

/// A started runtime on `store` whose "count" jobs count their runs.
async fn node(store: &PostgresJobStore) -> (Runtime, Runs) {
    let runs = Runs::default();
    let counted = runs.clone();
    let runtime = Runtime::builder()
        .node_name("node-a")
        .lock_provider(Arc::new(store.lock_provider()))
        .store(Arc::new(store.clone()))
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

/// The application's own pool on the database (no bgtasks settings), with its table.
async fn application(url: &str) -> PgPool {
    let pool = PgPool::connect(url).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, total INT)")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

/// A job as the runtime's queueing prepares it: due now.
fn queued(id: &str) -> JobInfo {
    let mut job = JobInfo::once(id, "count");
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(job.begin_time);
    job
}

async fn write_invoice(tx: &mut Transaction<'static, Postgres>, id: &str) {
    sqlx::query("INSERT INTO invoices (id, total) VALUES ($1, 100)")
        .bind(id)
        .execute(&mut **tx)
        .await
        .unwrap();
}

async fn invoices(app: &PgPool, like: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM invoices WHERE id LIKE $1")
        .bind(like)
        .fetch_one(app)
        .await
        .unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Queues `id` through the store and waits until it ran.
async fn run_through_store(store: &PostgresJobStore, runs: &Runs, id: &str) {
    assert_eq!(store.insert(&[queued(id)]).await.unwrap(), vec![true]);
    wait_until(id, || runs.lock().unwrap().contains_key(id)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_in_a_transaction_rolled_back_never_exists_and_never_runs() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let app = application(&url).await;
    let (runtime, runs) = node(&store).await;

    let mut tx = app.begin().await.unwrap();
    write_invoice(&mut tx, "inv-1").await;
    assert_eq!(
        enqueue_in(&mut tx, &[queued("rolled-back")]).await.unwrap(),
        vec![true]
    );
    // The runtime goes on claiming and running while the transaction is open; it never
    // sees the uncommitted job.
    run_through_store(&store, &runs, "during").await;
    assert!(store.find("rolled-back").await.unwrap().is_none());
    tx.rollback().await.unwrap();

    run_through_store(&store, &runs, "marker").await;
    runtime.shutdown().await.unwrap();
    assert!(store.find("rolled-back").await.unwrap().is_none());
    assert_eq!(invoices(&app, "inv-1").await, 0);
    let runs = runs.lock().unwrap().clone();
    assert_eq!(
        runs,
        HashMap::from([("during".to_owned(), 1), ("marker".to_owned(), 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_in_a_transaction_committed_runs_exactly_once() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let app = application(&url).await;
    let (runtime, runs) = node(&store).await;

    let mut tx = app.begin().await.unwrap();
    write_invoice(&mut tx, "inv-2").await;
    assert_eq!(
        enqueue_in(&mut tx, &[queued("committed")]).await.unwrap(),
        vec![true]
    );
    run_through_store(&store, &runs, "during").await;
    assert!(!runs.lock().unwrap().contains_key("committed"));
    tx.commit().await.unwrap();
    wait_until("the committed job ran", || {
        runs.lock().unwrap().contains_key("committed")
    })
    .await;

    run_through_store(&store, &runs, "marker").await;
    runtime.shutdown().await.unwrap();
    assert_eq!(runs.lock().unwrap()["committed"], 1, "ran exactly once");
    let record = store.find("committed").await.unwrap().unwrap();
    assert_eq!(
        (record.job.status, record.job.trigger_count, record.attempts),
        (JobStatus::Completed, 1, 1)
    );
    assert_eq!(invoices(&app, "inv-2").await, 1);
}

#[tokio::test]
async fn the_wake_up_is_delivered_at_the_commit_and_never_after_a_rollback() {
    let url = support::fresh_database().await;
    let _store = support::connect(&url).await;
    let app = application(&url).await;
    let mut listener = PgListener::connect(&url).await.unwrap();
    listener
        .listen_all([DUE_CHANNEL, "bgtasks_test_marker"])
        .await
        .unwrap();
    // Notifications arrive in commit order: a marker committed after the transaction
    // comes first exactly when the transaction sent nothing.
    let next_channel = async |listener: &mut PgListener| {
        tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("a notification within 10 s")
            .unwrap()
            .channel()
            .to_owned()
    };
    let marker = async || {
        sqlx::query("NOTIFY bgtasks_test_marker")
            .execute(&app)
            .await
            .unwrap();
    };

    let mut tx = app.begin().await.unwrap();
    enqueue_in(&mut tx, &[queued("rolled-back")]).await.unwrap();
    tx.rollback().await.unwrap();
    marker().await;
    assert_eq!(next_channel(&mut listener).await, "bgtasks_test_marker");

    let mut tx = app.begin().await.unwrap();
    enqueue_in(&mut tx, &[queued("committed")]).await.unwrap();
    marker().await;
    assert_eq!(
        next_channel(&mut listener).await,
        "bgtasks_test_marker",
        "nothing before the commit"
    );
    tx.commit().await.unwrap();
    assert_eq!(next_channel(&mut listener).await, DUE_CHANNEL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_jobs_in_one_transaction_are_queued_together_or_not_at_all() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let app = application(&url).await;
    let (runtime, runs) = node(&store).await;
    let batch = |prefix: &str| -> Vec<JobInfo> {
        (0..1000)
            .map(|i| queued(&format!("{prefix}-{i:04}")))
            .collect()
    };

    let mut tx = app.begin().await.unwrap();
    for i in 0..1000 {
        write_invoice(&mut tx, &format!("lost-{i}")).await;
    }
    assert_eq!(
        enqueue_in(&mut tx, &batch("lost")).await.unwrap(),
        vec![true; 1000]
    );
    tx.rollback().await.unwrap();

    let jobs = batch("bulk");
    let mut tx = app.begin().await.unwrap();
    for i in 0..1000 {
        write_invoice(&mut tx, &format!("bulk-{i}")).await;
    }
    assert_eq!(enqueue_in(&mut tx, &jobs).await.unwrap(), vec![true; 1000]);
    tx.commit().await.unwrap();
    wait_until("every job of the batch ran", || {
        runs.lock().unwrap().len() == 1000
    })
    .await;
    run_through_store(&store, &runs, "marker").await;
    runtime.shutdown().await.unwrap();

    let runs = runs.lock().unwrap().clone();
    for job in &jobs {
        assert_eq!(runs.get(&job.id), Some(&1), "{}", job.id);
    }
    assert!(!runs.keys().any(|id| id.starts_with("lost-")));
    let lost: i64 = sqlx::query_scalar("SELECT count(*) FROM bgtasks_jobs WHERE id LIKE 'lost-%'")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(lost, 0);
    assert_eq!(
        (
            invoices(&app, "lost-%").await,
            invoices(&app, "bulk-%").await
        ),
        (0, 1000)
    );
}

#[tokio::test]
async fn a_batch_with_one_invalid_job_is_refused_whole_and_the_transaction_goes_on() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let app = application(&url).await;
    let mut bad_cron = JobInfo::period("bad-cron", "count", "not a cron");
    bad_cron.status = JobStatus::Queuing;
    let unprepared = JobInfo::once("unprepared", "count");
    let mut nul = queued("nul");
    nul.description = "a\0b".into();
    let nul_arg = queued("nul-arg").with_arg("text", "b\0d");

    let mut tx = app.begin().await.unwrap();
    for (bad, reason) in [
        (bad_cron, "invalid cron expression `not a cron`"),
        (unprepared, "status None"),
        (nul, "the description holds a NUL character"),
        (nul_arg, "argument `text` holds a NUL character"),
    ] {
        let batch = [queued("good-1"), bad.clone(), queued("good-2")];
        let error = enqueue_in(&mut tx, &batch).await.unwrap_err();
        let message = error.to_string();
        assert!(!error.is_transient(), "{message}");
        assert!(message.contains(&format!("job `{}`", bad.id)), "{message}");
        assert!(message.contains(reason), "{message}");
        assert!(message.contains("none of the batch's 3 jobs"), "{message}");
    }
    // No statement was sent: the transaction is not aborted.
    write_invoice(&mut tx, "inv-3").await;
    tx.commit().await.unwrap();
    for id in [
        "good-1",
        "bad-cron",
        "unprepared",
        "nul",
        "nul-arg",
        "good-2",
    ] {
        assert!(store.find(id).await.unwrap().is_none(), "{id}");
    }
    assert_eq!(invoices(&app, "inv-3").await, 1);
}

#[tokio::test]
async fn a_repeated_id_is_stored_once_and_an_existing_one_is_left_alone() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let app = application(&url).await;
    let mut first = queued("dup");
    first.name = "first".into();
    let mut second = queued("dup");
    second.name = "second".into();

    let mut tx = app.begin().await.unwrap();
    let inserted = enqueue_in(&mut tx, &[first, second, queued("other")])
        .await
        .unwrap();
    assert_eq!(inserted, vec![true, false, true]);
    tx.commit().await.unwrap();
    let stored = store.find("dup").await.unwrap().unwrap();
    assert_eq!((stored.job.name.as_str(), stored.revision), ("first", 1));

    let mut again = queued("dup");
    again.name = "again".into();
    let mut conn = app.acquire().await.unwrap();
    assert_eq!(enqueue_in(&mut conn, &[again]).await.unwrap(), vec![false]);
    assert_eq!(
        enqueue_in(&mut conn, &[]).await.unwrap(),
        Vec::<bool>::new()
    );
    assert_eq!(store.find("dup").await.unwrap().unwrap().job.name, "first");
}

/// Waits until some transaction waits for a lock another holds.
async fn until_one_waits_for_a_lock(app: &PgPool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE NOT granted")
            .fetch_one(app)
            .await
            .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no one waits");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_transactions_queueing_one_id_store_it_once() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let app = application(&url).await;
    for (commit_first, second_inserts) in [(true, false), (false, true)] {
        let id = format!("raced-{commit_first}");
        let mut first = app.begin().await.unwrap();
        assert_eq!(
            enqueue_in(&mut first, &[queued(&id)]).await.unwrap(),
            vec![true]
        );
        let second = tokio::spawn({
            let (app, id) = (app.clone(), id.clone());
            async move {
                let mut second = app.begin().await.unwrap();
                let inserted = enqueue_in(&mut second, &[queued(&id)]).await.unwrap();
                second.commit().await.unwrap();
                inserted
            }
        });
        until_one_waits_for_a_lock(&app).await;
        if commit_first {
            first.commit().await.unwrap();
        } else {
            first.rollback().await.unwrap();
        }
        assert_eq!(second.await.unwrap(), vec![second_inserts], "{id}");
        assert!(store.find(&id).await.unwrap().is_some(), "{id}");
    }
}

#[tokio::test]
async fn a_store_in_a_schema_of_its_own_is_reached_by_name() {
    let url = support::fresh_database().await;
    let store = PostgresJobStore::connect(&url, support::options().with_schema("jobs"))
        .await
        .unwrap();
    let app = application(&url).await;

    let mut tx = app.begin().await.unwrap();
    let error = enqueue_in(&mut tx, &[queued("lost")]).await.unwrap_err();
    assert!(
        error.to_string().contains("enqueue_in_schema"),
        "the error says what to do: {error}"
    );
    tx.rollback().await.unwrap();

    let mut tx = app.begin().await.unwrap();
    let error = enqueue_in_schema(&mut tx, "jobs; DROP TABLE invoices", &[queued("x")])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("lower-case ASCII"), "{error}");
    write_invoice(&mut tx, "inv-4").await;
    assert_eq!(
        enqueue_in_schema(&mut tx, "jobs", &[queued("found")])
            .await
            .unwrap(),
        vec![true]
    );
    tx.commit().await.unwrap();
    assert!(store.find("found").await.unwrap().is_some());
    assert_eq!(invoices(&app, "inv-4").await, 1);
}
