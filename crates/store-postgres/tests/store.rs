//! What only the PostgreSQL store does: connecting (and failing to), its schema version,
//! surviving a restart, LISTEN/NOTIFY wake-ups, and faults (dropped connections, corrupt
//! rows).
// spec: R27, R28, R31

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_actions::{JobAction, JobActionStore};
use bgtasks_core::JobLockProvider;
use bgtasks_core::store::{CompletionOutcome, JobLog, JobStore, StoreError};
use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions, SCHEMA_VERSION};
use bgtasks_store_conformance::{queued, t};
use tokio::sync::Notify;

const LEASE: Duration = Duration::from_secs(30);

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_credentials_within_the_timeout() {
    let port = closed_port();
    let url = format!("postgres://someone:s3cret-pass@127.0.0.1:{port}/jobs");
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let error = PostgresJobStore::connect(
        &url,
        PostgresStoreOptions::default().with_connect_timeout(timeout),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < timeout + Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let message = error.to_string();
    assert!(
        error.is_transient(),
        "unavailable, so a caller may retry: {error:?}"
    );
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("s3cret"), "no password in: {message}");
}

#[tokio::test]
async fn bad_urls_and_options_are_errors_not_panics() {
    let error = PostgresJobStore::connect("mysql://nope", PostgresStoreOptions::default())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("invalid PostgreSQL URL"),
        "{error}"
    );
    let error = PostgresJobStore::connect(
        "postgres://u:pw-secret@127.0.0.1:notaport/db",
        PostgresStoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("invalid PostgreSQL URL"),
        "{error}"
    );
    assert!(!error.to_string().contains("pw-secret"), "{error}");
    let error = PostgresJobStore::connect(
        "postgres://u:pw@127.0.0.1:1/db",
        PostgresStoreOptions::default().with_schema("Bad Name"),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("option `schema`"), "{error}");
}

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
    let other = PostgresJobStore::connect(&url, support::options().with_schema("jobs_b"))
        .await
        .unwrap();
    other.insert(&queued("only-in-b", 0)).await.unwrap();
    assert!(other.find("only-in-b").await.unwrap().is_some());
    assert!(public.find("only-in-b").await.unwrap().is_none());
    let schema: String =
        sqlx::query_scalar("SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'bgtasks_jobs' AND table_schema <> 'public'")
            .fetch_one(public.pool())
            .await
            .unwrap();
    assert_eq!(schema, "jobs_b");
}

// spec: R1, R12, R27, R31
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_counters_logs_and_actions_survive_a_restart() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut period = JobInfo::period("report", "t", "0/10 * * * * ?").with_arg("to", "ops");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(0));
    period.creation_time = t(-10);
    period.begin_time = t(-10);
    store.insert(&period).await.unwrap();
    store.insert(&queued("once", 100)).await.unwrap();
    let run = store
        .claim_due("n1", t(1), 10, LEASE)
        .await
        .unwrap()
        .remove(0);
    let mut outcome = run.job.clone();
    outcome.status = JobStatus::Running;
    outcome.trigger_count = 1;
    outcome.last_run_time = Some(t(1));
    outcome.result = Some("OK".into());
    assert_eq!(
        store.complete_run(&run.lease, &outcome).await.unwrap(),
        CompletionOutcome::Saved
    );
    store
        .store_log(&JobLog {
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
        })
        .await
        .unwrap();
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

    let reopened = support::connect(&url).await;
    assert_eq!(reopened.find("report").await.unwrap().unwrap(), before);
    assert_eq!(before.trigger_count, 1);
    assert_eq!(before.next_run_time, Some(t(10)), "the claim moved it on");
    assert_eq!(
        reopened.find("once").await.unwrap().unwrap(),
        queued("once", 100)
    );
    let logs = reopened.list_logs("report", 10).await.unwrap();
    assert_eq!((logs.len(), logs[0].duration_ms), (1, 3));
    assert_eq!(
        reopened.action_store().get_actions("report").await.unwrap(),
        actions
    );
    let again = reopened
        .claim_due("n2", t(11), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(
        again.lease.token > run.lease.token,
        "fencing tokens keep growing across restarts"
    );
}

/// Waits up to `within` for a poke.
async fn poked(notify: &Notify, within: Duration) -> bool {
    tokio::time::timeout(within, notify.notified())
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_through_another_pool_wakes_a_subscriber() {
    let url = support::fresh_database().await;
    let listening = support::connect(&url).await;
    let writer = support::connect(&url).await;
    let signal = listening.subscribe_due().expect("the store signals");
    assert!(
        poked(&signal, Duration::from_secs(5)).await,
        "one wake-up once listening (work may have been missed before)"
    );
    assert!(
        !poked(&signal, Duration::from_millis(300)).await,
        "then quiet"
    );

    let started = Instant::now();
    writer.insert(&queued("j", 0)).await.unwrap();
    assert!(
        poked(&signal, Duration::from_secs(1)).await,
        "woken by the insert"
    );
    println!("woken {:?} after the insert", started.elapsed());

    // A write that makes nothing due (a Completed job) does not wake anyone.
    let mut done = queued("done", 0);
    done.status = JobStatus::Completed;
    writer.insert(&done).await.unwrap();
    assert!(!poked(&signal, Duration::from_millis(300)).await);

    // A claim and its completion into Completed make nothing due either; a release does.
    let run = writer
        .claim_due("n", t(1), 1, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert!(!poked(&signal, Duration::from_millis(300)).await, "a claim");
    writer
        .release_run(
            &run.lease,
            bgtasks_core::store::ReleaseMode::RunAgainAt(t(5)),
        )
        .await
        .unwrap();
    assert!(poked(&signal, Duration::from_secs(1)).await, "a release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_and_wakes_after_its_connection_dies() {
    let url = support::fresh_database().await;
    let listening = support::connect(&url).await;
    let writer = support::connect(&url).await;
    let signal = listening.subscribe_due().unwrap();
    assert!(poked(&signal, Duration::from_secs(5)).await);
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_one(writer.pool())
    .await
    .unwrap();
    assert_eq!(killed, 1, "the one LISTEN connection");
    assert!(
        poked(&signal, Duration::from_secs(5)).await,
        "a wake-up after reconnecting"
    );
    writer.insert(&queued("after", 0)).await.unwrap();
    assert!(
        poked(&signal, Duration::from_secs(2)).await,
        "listening again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_unavailable_then_the_pool_reconnects() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut admin = support::admin_connection().await;
    store.insert(&queued("j", 0)).await.unwrap();
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
    store.insert(&queued("bad-status", 0)).await.unwrap();
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
}

#[tokio::test]
async fn a_due_row_that_does_not_decode_does_not_block_claims() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    let mut first = queued("broken", 0);
    first.priority = bgtasks_abstractions::JobPriority::High;
    store.insert(&first).await.unwrap();
    store.insert(&queued("fine", 0)).await.unwrap();
    sqlx::query("UPDATE bgtasks_jobs SET args = '[1, 2]' WHERE id = 'broken'")
        .execute(store.pool())
        .await
        .unwrap();
    let claimed = store.claim_due("n", t(1), 1, LEASE).await.unwrap();
    assert!(
        claimed.is_empty(),
        "the broken row took the one slot this time"
    );
    let claimed = store.claim_due("n", t(1), 1, LEASE).await.unwrap();
    assert_eq!(claimed[0].job.id, "fine", "and no longer blocks the others");
    let next: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT next_run_time FROM bgtasks_jobs WHERE id = 'broken'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(next, None, "taken off the schedule, kept for inspection");
}

// spec: R28
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_expire_by_the_database_clock_and_release_only_their_own() {
    let url = support::fresh_database().await;
    let a = support::connect(&url).await.lock_provider();
    let b = support::connect(&url).await.lock_provider();
    assert!(a.try_lock("job", 1).await.unwrap());
    assert!(
        !a.try_lock("job", 1).await.unwrap(),
        "held, even for its holder"
    );
    assert!(!b.try_lock("job", 1).await.unwrap());
    b.release("job").await.unwrap();
    assert!(
        !b.try_lock("job", 1).await.unwrap(),
        "b cannot release a's lock"
    );
    // The lock lapses after one second of the database's clock: wait for it (bounded),
    // and check that it did not lapse early.
    let taken = std::time::Instant::now();
    let deadline = taken + Duration::from_secs(30);
    while !b.try_lock("job", 60).await.unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        taken.elapsed() >= Duration::from_millis(900),
        "expired after {:?}, before its second was up",
        taken.elapsed()
    );
    assert!(!a.try_lock("job", 60).await.unwrap());
}

#[tokio::test]
async fn a_store_handle_is_shareable_and_says_it_batches() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    assert!(JobStore::prefers_batched_writes(&store));
    let shared: Arc<dyn JobStore> = Arc::new(store.clone());
    assert!(shared.find("none").await.unwrap().is_none());
    assert!(
        format!("{store:?}").contains("127.0.0.1") || format!("{store:?}").contains("localhost")
    );
}

// spec: R12, R20
#[tokio::test]
async fn a_nul_character_in_a_runs_output_does_not_fail_its_batch() {
    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    store.insert(&queued("a", 0)).await.unwrap();
    store.insert(&queued("b", 0)).await.unwrap();
    let runs = store.claim_due("n", t(1), 2, LEASE).await.unwrap();
    let completions: Vec<bgtasks_core::store::RunCompletion> = runs
        .iter()
        .map(|run| {
            let mut job = run.job.clone();
            job.status = JobStatus::Completed;
            job.result = Some(format!("out\0put of {}", job.id));
            bgtasks_core::store::RunCompletion {
                lease: run.lease.clone(),
                job,
            }
        })
        .collect();
    let outcomes = store.complete_runs(&completions).await.unwrap();
    assert_eq!(outcomes, vec![CompletionOutcome::Saved; 2]);
    assert_eq!(
        store.find("a").await.unwrap().unwrap().result.as_deref(),
        Some("out\u{FFFD}put of a")
    );
    let log = JobLog {
        job_id: "a".into(),
        job_name: "a".into(),
        job_group: "g".into(),
        job_type: "t".into(),
        message: "mes\0sage".into(),
        run_time: t(1),
        exception: Some("bo\0om".into()),
        tenant_id: None,
        node: "n".into(),
        duration_ms: 1,
    };
    store.store_logs(&[log.clone(), log]).await.unwrap();
    let logs = store.list_logs("a", 10).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].exception.as_deref(), Some("bo\u{FFFD}om"));
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
        .with_priority(bgtasks_abstractions::JobPriority::High)
        .with_lock_timeout(120)
        .with_node("node-a")
        .with_source(bgtasks_abstractions::JobSource::System);
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
        .insert_many(&[rich.clone(), bare.clone(), rich.clone()])
        .await
        .unwrap();
    assert_eq!(inserted, vec![true, true, false]);
    assert_eq!(store.find("rich").await.unwrap().unwrap(), rich);
    assert_eq!(store.find("bare").await.unwrap().unwrap(), bare);
    assert_eq!(
        store.insert_many(&[bare]).await.unwrap(),
        vec![false],
        "an existing id is refused"
    );
}

fn nested_args() -> bgtasks_abstractions::JobArgs {
    bgtasks_abstractions::JobArgs::from_value(
        "{\"list\": [1, 2.5, null, true], \"text\": \"a \\\"quoted\\\" 'value'\"}"
            .parse()
            .unwrap(),
    )
    .unwrap()
}
