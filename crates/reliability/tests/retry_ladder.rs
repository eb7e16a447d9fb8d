//! Scenario 9 of the reliability suite, exactly: the reference retry ladder end to end
//! under a paused clock (hours of retries in no real time), with the failure e-mail sent
//! per each notify policy. The suite binary runs the same ladder in real time against
//! SQLite and PostgreSQL from a 1 s interval.
// spec: R15, R16, R17, R18, R33

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bgtasks::TokioClock;
use bgtasks::actions::{JobAction, JobActionsExt};
use bgtasks::exception_handling::{InMemoryMailTransport, JOB_EXECUTED_FAILED_ACTION};
use bgtasks::notifications::failure_email_definitions;
use bgtasks::{
    BackgroundTasks, InMemoryJobStore, JobDefinitions, JobError, JobExceptionType, JobInfo,
    JobPriority, JobRunnableContext, JobScheduler, JobStatus, RunReport, job_fn,
};

/// The three policies, with how many of six failures each mails.
const POLICIES: [(&str, usize); 3] = [("every", 6), ("first-and-final", 2), ("final", 1)];

#[tokio::test(start_paused = true)]
async fn six_failures_climb_the_reference_ladder_and_mail_per_policy() {
    let store = Arc::new(InMemoryJobStore::new());
    let transport = Arc::new(
        InMemoryMailTransport::new().with_from("Jobs <jobs@bgtasks.test>".parse().unwrap()),
    );
    let runtime = BackgroundTasks::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store.clone())
        .job_actions(failure_email_definitions(transport.clone()))
        .runnable(
            "fails",
            job_fn(|_ctx: JobRunnableContext| async move {
                Err::<(), _>(JobError::http(503, "warehouse is down"))
            }),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    for (policy, _) in POLICIES {
        let id = format!("ladder-{policy}");
        runtime
            .queue(
                JobInfo::once(id, "fails")
                    .with_max_try_count(6)
                    .with_action(
                        JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                            .with_parameter("to", "ops@example.com")
                            .with_parameter("notify", policy),
                    ),
            )
            .await
            .unwrap();
    }

    let mut runs: HashMap<String, Vec<RunReport>> = HashMap::new();
    for _ in 0..POLICIES.len() * 6 {
        // The longest wait of the ladder is 2277 s.
        let report = tokio::time::timeout(Duration::from_secs(2300), reports.recv())
            .await
            .expect("the ladder goes on")
            .unwrap();
        runs.entry(report.job_id.clone()).or_default().push(report);
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(24 * 3600), reports.recv())
            .await
            .is_err(),
        "an abandoned job ran again within a day"
    );

    // After failure n: (status, priority, interval). Max try count 6: BelowNormal when
    // 6/3 < tries <= 6/2, Low when tries > 6/1.5; the interval grows ×1.5 half-to-even.
    let expected = [
        (JobStatus::FailedRetry, JobPriority::Normal, 450),
        (JobStatus::FailedRetry, JobPriority::Normal, 675),
        (JobStatus::FailedRetry, JobPriority::BelowNormal, 1012),
        (JobStatus::FailedRetry, JobPriority::BelowNormal, 1518),
        (JobStatus::FailedRetry, JobPriority::Low, 2277),
    ];
    for (policy, mails) in POLICIES {
        let id = format!("ladder-{policy}");
        let job_runs = &runs[&id];
        assert_eq!(job_runs.len(), 6, "{id}");
        for (n, report) in job_runs.iter().enumerate() {
            assert_eq!(report.exception_type, Some(JobExceptionType::NETWORK));
            let saved = report.job.as_ref().expect("saved after every run");
            assert_eq!(saved.try_count, n as i32 + 1, "{id} run {n}");
            if let Some((status, priority, interval)) = expected.get(n) {
                assert_eq!(
                    (saved.status, saved.priority, saved.interval),
                    (*status, *priority, *interval),
                    "{id} after failure {}",
                    n + 1
                );
                let next = &job_runs[n + 1];
                assert_eq!(
                    (next.run_time - report.run_time).num_seconds(),
                    *interval,
                    "{id}: retry {} after the grown interval",
                    n + 1
                );
            } else {
                assert_eq!(
                    (
                        saved.status,
                        saved.is_abandoned,
                        saved.next_run_time,
                        saved.priority
                    ),
                    (JobStatus::Stopped, true, None, JobPriority::Low),
                    "{id} is abandoned after the sixth failure"
                );
            }
        }
        let stored = store.find(&id).await.unwrap().unwrap().job;
        assert_eq!(
            (stored.status, stored.try_count, stored.is_abandoned),
            (JobStatus::Stopped, 6, true)
        );
        let sent: Vec<String> = transport
            .sent()
            .iter()
            .map(|m| m.text())
            .filter(|text| text.contains(&format!("X-Bgtasks-Job-Id: {id}\r")))
            .collect();
        assert_eq!(sent.len(), mails, "{policy}: mails");
        for text in &sent {
            assert!(
                text.contains("Subject: From job execute exception"),
                "{text}"
            );
            assert!(text.contains("warehouse is down"), "{text}");
            assert!(text.contains("To: ops@example.com"), "{text}");
        }
    }
    runtime.shutdown().await.unwrap();
}
