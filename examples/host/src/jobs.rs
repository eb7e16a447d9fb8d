//! The demo's job types and jobs.

use bgtasks::actions::JobAction;
use bgtasks::exception_handling::JOB_EXECUTED_FAILED_ACTION;
use bgtasks::prelude::*;

/// A cron heartbeat every 5 seconds.
pub(crate) fn heartbeat() -> impl JobRunnable {
    job_fn(|ctx: JobRunnableContext| async move {
        ctx.set_result(format!("beat #{}", ctx.trigger_count() + 1));
        Ok::<(), JobError>(())
    })
}

/// A repeating job that reports which round it is.
pub(crate) fn report() -> impl JobRunnable {
    job_fn(|ctx: JobRunnableContext| async move {
        let round = ctx.trigger_count() + 1;
        ctx.set_result(format!("report round {round} written"));
        Ok::<(), JobError>(())
    })
}

/// Fails with a network time-out on its first two runs, then succeeds (counting the
/// job's runs, so a restart of the host picks up where it was).
pub(crate) fn flaky_sync() -> impl JobRunnable {
    job_fn(|ctx: JobRunnableContext| async move {
        let attempt = ctx.trigger_count() + 1;
        let endpoint: String = ctx.get("endpoint")?;
        if attempt <= 2 {
            return Err(JobError::timeout(format!(
                "{endpoint} did not answer within 2 s"
            )));
        }
        ctx.set_result(format!("synced with {endpoint} on attempt {attempt}"));
        Ok(())
    })
}

/// Always refused by a business rule.
pub(crate) fn void_invoice() -> impl JobRunnable {
    job_fn(|ctx: JobRunnableContext| async move {
        let invoice: u64 = ctx.get("invoice")?;
        Err::<(), JobError>(JobError::business(format!(
            "invoice {invoice} is void and cannot be sent"
        )))
    })
}

/// The failure e-mail of the invoice job: its first and its final failure, in Chinese.
fn invoice_mail() -> JobAction {
    JobAction::new(JOB_EXECUTED_FAILED_ACTION)
        .with_parameter("to", "billing@example.com, oncall@example.com")
        .with_parameter("subject", "Invoice job failed")
        .with_parameter("culture", "zh-Hans")
        .with_parameter("notify", "first-and-final")
}

/// The failure e-mail of the sync job: only a final failure (it recovers, so none).
fn sync_mail() -> JobAction {
    JobAction::new(JOB_EXECUTED_FAILED_ACTION)
        .with_parameter("to", "integrations@example.com")
        .with_parameter("notify", "final")
}

/// The demo's jobs.
pub(crate) fn demo_jobs() -> Vec<JobInfo> {
    vec![
        JobInfo::period("heartbeat", "heartbeat", "0/5 * * * * ?")
            .with_group("demo")
            .with_name("Cron heartbeat"),
        JobInfo::persistent("daily-report", "report", 3, 4)
            .with_group("demo")
            .with_name("Repeating report (every 3 s, 4 times)"),
        JobInfo::once("flaky-sync", "sync")
            .with_group("demo")
            .with_name("Sync that times out twice")
            .with_arg("endpoint", "https://partner.example/api")
            .with_interval(1)
            .with_action(sync_mail()),
        JobInfo::once("void-invoice", "invoice")
            .with_group("demo")
            .with_name("Invoice refused by a business rule")
            .with_arg("invoice", 1042)
            .with_interval(1)
            .with_max_try_count(3)
            .with_action(invoice_mail()),
    ]
}
