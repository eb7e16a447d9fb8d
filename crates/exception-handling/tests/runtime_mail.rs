//! The failed-job e-mail with the whole runtime: real runs, a real SMTP server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bgtasks_exception_handling::DynMailTransport;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, JobRunnableContext, JobStatus, job_fn};
use bgtasks_actions::{DeliveryOptions, JobAction, JobActionDefinitionManager, JobActionsExt};
use bgtasks_core::retry::FixedIntervalRetryPolicy;
use bgtasks_core::store::{
    InMemoryJobStore, JobDefinitions, NotificationOutbox, NotificationQuery, NotificationState,
    RunLogs,
};
use bgtasks_core::{JobScheduler, RunReport, Runtime};
use bgtasks_exception_handling::{
    JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
    SmtpMailTransport, SmtpTls,
};
use support::{SmtpServer, free_port, unique_job_id};
use tokio::sync::broadcast;

/// A runtime whose failed jobs retry every 50 ms, with the failure e-mail wired to
/// `transport`, and a runnable type `fails` that always fails with a Network failure.
fn runtime(transport: Option<Arc<dyn DynMailTransport>>) -> (Runtime, Arc<InMemoryJobStore>) {
    let store = Arc::new(InMemoryJobStore::new());
    let mut builder = Runtime::builder()
        .store(store.clone())
        .retry_policy(Arc::new(FixedIntervalRetryPolicy::new(
            Duration::from_millis(50),
        )))
        .runnable(
            "fails",
            job_fn(|_ctx: JobRunnableContext| async move {
                Err::<(), _>(JobError::http(503, "warehouse is down"))
            }),
        );
    if let Some(transport) = transport {
        let notifier = Arc::new(JobExecutedFailedNotifier::new(transport));
        let definitions = JobActionDefinitionManager::new()
            .with_provider(&JobExecutedFailedDefinitionProvider::new(notifier));
        let options = DeliveryOptions {
            poll_interval: Duration::from_millis(50),
            notifier_timeout: Duration::from_secs(5),
            ..DeliveryOptions::default()
        };
        builder = builder
            .job_actions_with(Arc::new(definitions), options)
            .unwrap();
    }
    (builder.build().unwrap(), store)
}

async fn until_abandoned(
    reports: &mut broadcast::Receiver<RunReport>,
    jobs: usize,
) -> Vec<RunReport> {
    let mut all = Vec::new();
    let mut abandoned = 0;
    while abandoned < jobs {
        let report = tokio::time::timeout(Duration::from_secs(20), reports.recv())
            .await
            .expect("runs keep coming")
            .unwrap();
        if report.job.as_ref().is_some_and(|j| j.is_abandoned) {
            abandoned += 1;
        }
        all.push(report);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_policy_mails_the_expected_failures_of_a_ladder_that_ends_in_abandonment() {
    // spec: R32, R33
    let server = SmtpServer::start();
    let (runtime, store) = runtime(Some(Arc::new(server.transport())));
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    let mut expected = Vec::new();
    for (policy, mails) in [("every", 4), ("first-and-final", 2), ("final", 1)] {
        let id = unique_job_id(policy);
        runtime
            .queue(
                JobInfo::once(id.clone(), "fails")
                    .with_max_try_count(4)
                    .with_action(
                        JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                            .with_parameter("to", "ops@example.com, oncall@example.com")
                            .with_parameter("notify", policy),
                    ),
            )
            .await
            .unwrap();
        expected.push((id, mails));
    }
    let runs = until_abandoned(&mut reports, 3).await;
    assert_eq!(runs.len(), 12, "three jobs, four runs each");
    for (id, mails) in &expected {
        let received = server.wait_for(id, *mails).await;
        assert!(
            received.iter().all(|m| m.rcpt_to.len() == 2),
            "both recipients on every mail"
        );
        server.assert_count_settles(id, *mails).await;
        let job = store.find(id).await.unwrap().unwrap().job;
        assert_eq!(
            (job.status, job.try_count, job.is_abandoned),
            (JobStatus::Stopped, 4, true)
        );
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_smtp_server_changes_nothing_in_the_jobs_state_and_keeps_the_mail() {
    // spec: R32, R36, R51
    let port = free_port();
    let dead = SmtpMailTransport::builder("127.0.0.1")
        .port(port)
        .tls(SmtpTls::None)
        .from("jobs@example.com".parse().unwrap())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (with_mail, mailed_store) = runtime(Some(Arc::new(dead)));
    let (without_mail, plain_store) = runtime(None);
    let id = unique_job_id("dead-smtp");
    for runtime in [&with_mail, &without_mail] {
        let mut reports = runtime.subscribe();
        runtime.start().await.unwrap();
        runtime
            .queue(
                JobInfo::once(id.clone(), "fails")
                    .with_max_try_count(3)
                    .with_action(
                        JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                            .with_parameter("to", "ops@example.com"),
                    ),
            )
            .await
            .unwrap();
        until_abandoned(&mut reports, 1).await;
    }
    // The three mails wait in the outbox, each tried and kept for a retry.
    let query = NotificationQuery {
        job_id: Some(id.clone()),
        limit: 10,
        ..NotificationQuery::default()
    };
    let pending = loop {
        let page = mailed_store.list_notifications(&query).await.unwrap();
        if page.items.len() == 3
            && page
                .items
                .iter()
                .all(|n| n.attempts >= 1 && n.leased_to.is_none())
        {
            break page.items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for notification in &pending {
        assert_eq!(notification.state, NotificationState::Pending);
        let error = notification.last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains(&format!("smtp://127.0.0.1:{port}")),
            "{error}"
        );
    }
    for runtime in [&with_mail, &without_mail] {
        runtime.shutdown().await.unwrap();
    }
    let comparable = |mut job: JobInfo| {
        job.last_run_time = None;
        job.creation_time = chrono::DateTime::UNIX_EPOCH;
        job.begin_time = chrono::DateTime::UNIX_EPOCH;
        job
    };
    let mailed = comparable(mailed_store.find(&id).await.unwrap().unwrap().job);
    let plain = comparable(plain_store.find(&id).await.unwrap().unwrap().job);
    assert_eq!(
        mailed, plain,
        "the notifier's failure left no trace on the job"
    );
    assert_eq!(mailed.status, JobStatus::Stopped);
    assert_eq!(
        mailed_store.list_logs(&id, 10).await.unwrap().len(),
        plain_store.list_logs(&id, 10).await.unwrap().len()
    );
    assert!(
        plain_store
            .list_notifications(&query)
            .await
            .unwrap()
            .items
            .is_empty(),
        "no actions wired, no notifications"
    );
}
