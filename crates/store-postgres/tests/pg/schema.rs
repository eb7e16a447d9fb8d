//! The schema: its version (a newer one is refused), migrations off, a schema of its own,
//! data that survives a restart. The upgrades of older databases are in `upgrades`.

use bgtasks_abstractions::{JobAction, JobInfo, JobStatus};
use bgtasks_postgres::{PostgresJobStore, SCHEMA_VERSION};
use bgtasks_store::{CompletionOutcome, JobDefinitions, JobLog, JobRuns, RunLogs};
use bgtasks_store_conformance::support::{complete, finished};
use bgtasks_store_conformance::{queued, t};

use super::claim;
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
    let actions =
        vec![JobAction::new("JobExecutedFailedProvider").with_parameter("to", "ops@example.com")];
    let mut period = JobInfo::period("report", "t", "0/10 * * * * ?")
        .with_arg("to", "ops")
        .with_action(actions[0].clone());
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
        exception_type: None,
        tenant_id: None,
        node: "n1".into(),
        duration_ms: 3,
        lease_token: None,
    };
    assert_eq!(
        store.complete(&[done], &[log]).await.unwrap(),
        vec![CompletionOutcome::Saved]
    );
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
        before.job.actions, actions,
        "the actions are kept with the job"
    );
    assert_eq!((before.attempts, before.rescues), (1, 0));
    let again = claim(&reopened, "n2", 11, 1).await.remove(0);
    assert!(
        again.lease.token > run.lease.token,
        "lease tokens keep growing across restarts"
    );
}
