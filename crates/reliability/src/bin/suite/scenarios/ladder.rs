//! Scenario 9, on a durable store in real time: the reference retry ladder (R15–R17) from
//! an interval of 1 s — retries 2 s, 3 s and 4 s apart (×1.5, rounded half to even),
//! priority Normal → BelowNormal → Low, abandoned after the fourth failure — with the
//! failure e-mail sent through a real SMTP server per the `first-and-final` policy (two
//! mails: the first failure and the abandoning one). The exact 300 → 450 → 675 … ladder
//! runs under a paused clock in `crates/reliability/tests/retry_ladder.rs`.

use std::sync::Arc;
use std::time::Duration;

use bgtasks::actions::{JobAction, JobActionsExt};
use bgtasks::exception_handling::JOB_EXECUTED_FAILED_ACTION;
use bgtasks::notifications::failure_email_definitions;
use bgtasks::{
    BackgroundTasks, JobError, JobExceptionType, JobInfo, JobPriority, JobRunnableContext,
    JobScheduler, JobStatus, job_fn,
};

use crate::harness::{Context, Res, StoreKind, Suite, ensure};

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "ladder").await?;
    let smtp = suite.smtp().await?;
    let runtime = BackgroundTasks::builder()
        .node_name(format!("suite-{}", kind.name()))
        .workers(1)
        .store(env.store.jobs.clone())
        .lock_provider(env.store.locks.clone())
        .job_actions(failure_email_definitions(Arc::new(smtp.transport()?)))
        .runnable(
            "fails",
            job_fn(|_ctx: JobRunnableContext| async move {
                Err::<(), _>(JobError::http(503, "warehouse is down"))
            }),
        )
        .build()
        .ctx("build the runtime")?;
    let mut reports = runtime.subscribe();
    runtime.start().await.ctx("start")?;
    let id = format!("ladder-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    runtime
        .queue(
            JobInfo::once(id.clone(), "fails")
                .with_interval(1)
                .with_max_try_count(4)
                .with_action(
                    JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                        .with_parameter("to", "ops@example.com, oncall@example.com")
                        .with_parameter("notify", "first-and-final"),
                ),
        )
        .await
        .ctx("queue")?;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let report = tokio::time::timeout(Duration::from_secs(15), reports.recv())
            .await
            .map_err(|_| format!("only {} runs within the ladder's time", seen.len()))?
            .ctx("run reports")?;
        seen.push(report);
    }
    // (status, try count, priority, interval after the failure, abandoned)
    let expected = [
        (
            JobStatus::FailedRetry,
            1,
            JobPriority::Normal,
            Some(2),
            false,
        ),
        (
            JobStatus::FailedRetry,
            2,
            JobPriority::BelowNormal,
            Some(3),
            false,
        ),
        (JobStatus::FailedRetry, 3, JobPriority::Low, Some(4), false),
        (JobStatus::Stopped, 4, JobPriority::Low, None, true),
    ];
    let mut gaps = Vec::new();
    for (i, (report, want)) in seen.iter().zip(expected).enumerate() {
        ensure!(
            report.exception_type == Some(JobExceptionType::NETWORK),
            "run {i}: failure type {:?}",
            report.exception_type
        );
        let job = report
            .job
            .as_ref()
            .ok_or_else(|| format!("run {i}: no saved state"))?;
        let got = (
            job.status,
            job.try_count,
            job.priority,
            want.3.map(|_| job.interval),
            job.is_abandoned,
        );
        ensure!(got == want, "run {i}: saved {got:?}, expected {want:?}");
        if i > 0 {
            let gap = (report.run_time - seen[i - 1].run_time).num_milliseconds() as f64 / 1000.0;
            let interval = expected[i - 1].3.unwrap_or_default() as f64;
            ensure!(
                gap >= interval - 0.05 && gap <= interval + 3.0,
                "run {i} came {gap:.2} s after the previous one, expected {interval} s"
            );
            gaps.push(format!("{gap:.2}"));
        }
    }
    let last = seen
        .last()
        .and_then(|r| r.job.as_ref())
        .ok_or("no final state")?;
    ensure!(
        last.next_run_time.is_none(),
        "the abandoned job is still scheduled"
    );
    let extra = tokio::time::timeout(Duration::from_secs(3), reports.recv()).await;
    ensure!(extra.is_err(), "the abandoned job ran again");
    let stored = env
        .store
        .jobs
        .find(&id)
        .await
        .ctx("find")?
        .ok_or("job lost")?
        .job;
    ensure!(
        (stored.status, stored.try_count, stored.is_abandoned) == (JobStatus::Stopped, 4, true),
        "stored {:?}",
        (stored.status, stored.try_count, stored.is_abandoned)
    );
    let mails = smtp.settled_count(&id, 2, Duration::from_secs(10)).await;
    ensure!(
        mails == 2,
        "{mails} failure mails for the first-and-final policy, expected 2"
    );
    runtime.shutdown().await.ctx("shut down")?;
    env.raw.close().await;
    Ok(format!(
        "4 failures (HTTP 503 → Network) from interval 1 s: retries after {} s (×1.5 half-to-even), priority \
         Normal → BelowNormal → Low, Stopped and abandoned at try 4, not run again; 2 failure mails \
         (first-and-final) received by the SMTP server",
        gaps.join(" / ")
    ))
}
