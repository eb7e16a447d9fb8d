//! The demo's job types — each a serde type whose value is one job's arguments — and the
//! jobs the host declares with them.

use std::time::Duration;

use bgtasks::prelude::*;
use serde::{Deserialize, Serialize};

/// A cron heartbeat; handled by [`heartbeat`], a plain async function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    /// What is beating.
    pub(crate) service: String,
}

impl JobType for Heartbeat {
    const TYPE: &'static str = "heartbeat";
}

/// Runs a heartbeat: registered with `register_fn(jobs::heartbeat)`.
pub(crate) async fn heartbeat(beat: Heartbeat, ctx: JobContext) -> Result<(), JobError> {
    ctx.set_result(format!(
        "{} beat #{}",
        beat.service,
        ctx.trigger_count() + 1
    ));
    Ok(())
}

/// A repeating report that says which round it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    /// The report's title.
    pub(crate) title: String,
}

impl JobType for Report {
    const TYPE: &'static str = "report";
}

impl Job for Report {
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let round = ctx.trigger_count() + 1;
        ctx.set_result(format!("{} round {round} written", self.title));
        Ok(())
    }
}

/// A sync with a partner that times out on its first two runs, then succeeds (counting
/// the job's runs, so that a restart of the host picks up where it was).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SyncPartner {
    /// The partner's endpoint.
    pub(crate) endpoint: String,
}

impl JobType for SyncPartner {
    const TYPE: &'static str = "sync";
}

impl Job for SyncPartner {
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let attempt = ctx.trigger_count() + 1;
        if attempt <= 2 {
            // A time-out is a Network failure: retried on the ladder.
            return Err(JobError::timeout(format!(
                "{} did not answer within 2 s",
                self.endpoint
            )));
        }
        ctx.set_result(format!(
            "synced with {} on attempt {attempt}",
            self.endpoint
        ));
        Ok(())
    }
}

/// An invoice that a business rule always refuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SendInvoice {
    /// The invoice's number.
    pub(crate) invoice: u64,
}

impl JobType for SendInvoice {
    const TYPE: &'static str = "invoice";
}

impl Job for SendInvoice {
    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        Err(JobError::business(format!(
            "invoice {} is void and cannot be sent",
            self.invoice
        )))
    }
}

/// The ids of the demo's jobs, in the order they are shown.
pub(crate) const DEMO_JOBS: [&str; 4] = ["heartbeat", "daily-report", "flaky-sync", "void-invoice"];

/// Declares the demo's jobs: the two recurring ones by key, the two one-off ones under
/// fixed ids. A job kept in the store from an earlier start of the host is said so.
pub(crate) async fn declare(runtime: &BackgroundTasks) -> Result<(), Box<dyn std::error::Error>> {
    let heartbeat = Heartbeat {
        service: "example-host".to_owned(),
    };
    let declared = runtime
        .schedule("heartbeat", heartbeat, Schedule::cron("0/5 * * * * ?")?)
        .group("demo")
        .name("Cron heartbeat")
        .await?;
    say_scheduled(runtime, "heartbeat", declared).await?;

    let report = Report {
        title: "daily report".to_owned(),
    };
    let every_3s = Schedule::every(Duration::from_secs(3)).times(4);
    let declared = runtime
        .schedule("daily-report", report, every_3s)
        .group("demo")
        .name("Repeating report (every 3 s, 4 times)")
        .await?;
    say_scheduled(runtime, "daily-report", declared).await?;

    let sync = SyncPartner {
        endpoint: "https://partner.example/api".to_owned(),
    };
    let queued = runtime
        .enqueue(sync)
        .id("flaky-sync")
        .group("demo")
        .name("Sync that times out twice")
        // Only a final failure is mailed: it recovers, so none is.
        .action(FailureEmail::to("integrations@example.com").notify(NotifyPolicy::Final))
        .await?;
    say_enqueued(runtime, queued.id(), queued.status()).await?;

    let queued = runtime
        .enqueue(SendInvoice { invoice: 1042 })
        .id("void-invoice")
        .group("demo")
        .name("Invoice refused by a business rule")
        .max_tries(3)
        // Its first and its final failure are mailed, in Chinese.
        .action(
            FailureEmail::to("billing@example.com")
                .and_to("oncall@example.com")
                .subject("Invoice job failed")
                .culture("zh-Hans")
                .notify(NotifyPolicy::FirstAndFinal),
        )
        .await?;
    say_enqueued(runtime, queued.id(), queued.status()).await?;
    Ok(())
}

/// Says so when a one-off job was already stored.
async fn say_enqueued(
    runtime: &BackgroundTasks,
    id: &str,
    status: Enqueued,
) -> Result<(), Box<dyn std::error::Error>> {
    if status != Enqueued::Inserted
        && let Some(kept) = runtime.store().find(id).await?.map(|r| r.job)
    {
        println!(
            "{id}: already in the store from an earlier run (status {}, {} runs so far)",
            kept.status, kept.trigger_count
        );
    }
    Ok(())
}

/// Says what declaring a recurring job again did to the stored one.
async fn say_scheduled(
    runtime: &BackgroundTasks,
    key: &str,
    declared: Scheduled,
) -> Result<(), Box<dyn std::error::Error>> {
    let what = match declared {
        Scheduled::Inserted => return Ok(()),
        Scheduled::Updated => "its definition updated",
        Scheduled::Unchanged => "its definition unchanged",
    };
    if let Some(kept) = runtime.store().find(key).await?.map(|r| r.job) {
        println!(
            "{key}: already in the store from an earlier run, {what} (status {}, {} runs so far)",
            kept.status, kept.trigger_count
        );
    }
    Ok(())
}
