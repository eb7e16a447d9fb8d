//! The typed API (R48–R50): job types as Rust types, options in the enqueue call,
//! recurring jobs declared by key, unique jobs, outcome handles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{
    Job, JobContext, JobError, JobExceptionType, JobInfo, JobPriority, JobResultExt, JobStatus,
    JobType,
};
use bgtasks_core::JobScheduler;
use bgtasks_core::store::JobDefinitions;
use bgtasks_core::typed::{Enqueued, OutcomeError, Schedule, Scheduled, UniquePolicy};
use serde::{Deserialize, Serialize};

use crate::common::{builder, start};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SendInvoice {
    invoice: u64,
    to: String,
}

impl JobType for SendInvoice {
    const TYPE: &'static str = "send-invoice";
}

/// The host's shared state: counts the invoices sent.
#[derive(Default)]
struct Mailer {
    sent: AtomicUsize,
}

impl Job for SendInvoice {
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        if self.invoice == 0 {
            // `?` on a standard error type.
            let _: u64 = "not a number".parse()?;
        }
        if self.to.is_empty() {
            return Err(JobError::business("no recipient"));
        }
        ctx.state::<Mailer>()?.sent.fetch_add(1, Ordering::SeqCst);
        ctx.set_result(format!("invoice {} to {}", self.invoice, self.to));
        Ok(())
    }
}

fn invoice(n: u64) -> SendInvoice {
    SendInvoice {
        invoice: n,
        to: "billing@example.com".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_typed_job_is_queued_with_its_options_and_its_outcome_awaited() {
    // spec: R48
    let (b, store) = builder();
    let mailer = Arc::new(Mailer::default());
    let (runtime, _) = start(b.register::<SendInvoice>().state(mailer.clone())).await;
    let mut job = runtime
        .enqueue(invoice(42))
        .priority(JobPriority::High)
        .max_tries(2)
        .delay(Duration::from_secs(10))
        .group("billing")
        .await
        .unwrap();
    assert_eq!(job.status(), Enqueued::Inserted);
    let stored = store.find(job.id()).await.unwrap().unwrap().job;
    assert_eq!(
        (
            stored.job_type.as_str(),
            stored.priority,
            stored.max_try_count,
            stored.group.as_str()
        ),
        ("send-invoice", JobPriority::High, 2, "billing")
    );
    assert_eq!(stored.args.get("invoice"), Some(&serde_json::json!(42)));
    let report = job.outcome(Duration::from_secs(30)).await.unwrap();
    assert!(report.succeeded(), "{report:?}");
    assert!(
        report.run_time >= stored.begin_time,
        "it waited for its delay"
    );
    assert_eq!(
        report.job.unwrap().result.as_deref(),
        Some("invoice 42 to billing@example.com")
    );
    assert_eq!(mailer.sent.load(Ordering::SeqCst), 1);
    let err = job.outcome(Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(err, OutcomeError::TimedOut { .. }), "{err}");
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn errors_are_classified_and_bad_arguments_are_a_business_failure_naming_the_type() {
    // spec: R48
    let (b, _) = builder();
    let (runtime, _) = start(
        b.register::<SendInvoice>()
            .state(Mailer::default())
            .register_fn(|n: Ping, _ctx: JobContext| async move {
                if n.0.is_multiple_of(2) {
                    return Err(std::io::Error::other("upstream hung up")).network();
                }
                Ok(())
            }),
    )
    .await;
    let mut parse = runtime.enqueue(invoice(0)).max_tries(1).await.unwrap();
    let report = parse.outcome(Duration::from_secs(30)).await.unwrap();
    assert_eq!(report.exception_type, Some(JobExceptionType::SYSTEM));
    assert_eq!(
        report.error.unwrap().message(),
        "invalid digit found in string"
    );
    let mut network = runtime.enqueue(Ping(2)).max_tries(1).await.unwrap();
    let report = network.outcome(Duration::from_secs(30)).await.unwrap();
    assert_eq!(report.exception_type, Some(JobExceptionType::NETWORK));
    // Arguments written by hand that do not fit the type.
    runtime
        .queue(
            JobInfo::once("by-hand", "send-invoice")
                .with_arg("invoice", "forty-two")
                .with_max_try_count(1),
        )
        .await
        .unwrap();
    let mut reports = runtime.subscribe();
    let report = loop {
        let report = reports.recv().await.unwrap();
        if report.job_id == "by-hand" {
            break report;
        }
    };
    assert_eq!(report.exception_type, Some(JobExceptionType::BUSINESS));
    let message = report.error.unwrap().message().to_owned();
    assert!(
        message.starts_with("the arguments of job type `send-invoice` do not deserialize"),
        "{message}"
    );
    runtime.shutdown().await.unwrap();
}

#[derive(Debug, Serialize, Deserialize)]
struct Ping(u32);

impl JobType for Ping {
    const TYPE: &'static str = "ping";
}

#[tokio::test(start_paused = true)]
async fn unique_jobs_hold_one_job_per_key_while_it_waits_or_runs() {
    let (b, store) = builder();
    let (runtime, _) = start(b.register::<SendInvoice>().state(Mailer::default())).await;
    let later = Duration::from_secs(3600);
    let first = runtime
        .enqueue(invoice(7))
        .delay(later)
        .unique(UniquePolicy::Skip)
        .await
        .unwrap();
    assert_eq!(first.status(), Enqueued::Inserted);
    assert!(first.id().starts_with("send-invoice:"), "{}", first.id());
    let again = runtime
        .enqueue(invoice(7))
        .delay(later)
        .unique(UniquePolicy::Skip)
        .await
        .unwrap();
    assert_eq!(
        (again.status(), again.id()),
        (Enqueued::Skipped, first.id())
    );
    let other = runtime
        .enqueue(invoice(8))
        .unique(UniquePolicy::Skip)
        .await
        .unwrap();
    assert_ne!(other.id(), first.id(), "another value is another job");

    // Replace: the waiting job under an explicit key takes the new value.
    let keyed = |n| runtime.enqueue(invoice(n)).id("nightly").delay(later);
    assert_eq!(
        keyed(1)
            .unique(UniquePolicy::Replace)
            .await
            .unwrap()
            .status(),
        Enqueued::Inserted
    );
    assert_eq!(
        keyed(2)
            .unique(UniquePolicy::Replace)
            .await
            .unwrap()
            .status(),
        Enqueued::Replaced
    );
    let stored = store.find("nightly").await.unwrap().unwrap();
    assert_eq!(stored.job.args.get("invoice"), Some(&serde_json::json!(2)));
    assert_eq!(stored.revision, 2);

    // Once the job finished, the key is free again.
    let mut now = runtime
        .enqueue(invoice(9))
        .id("soon")
        .unique(UniquePolicy::Skip)
        .await
        .unwrap();
    assert!(
        now.outcome(Duration::from_secs(30))
            .await
            .unwrap()
            .succeeded()
    );
    let again = runtime
        .enqueue(invoice(9))
        .id("soon")
        .unique(UniquePolicy::Skip)
        .await
        .unwrap();
    assert_eq!(again.status(), Enqueued::Inserted);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_schedule_declared_again_updates_the_definition_and_keeps_the_counters() {
    // spec: R50
    let (b, store) = builder();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let (runtime, _) = start(b.register_fn(move |_: Ping, _ctx: JobContext| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok::<(), JobError>(())
        }
    }))
    .await;
    let every_minute = Schedule::cron("0 * * * * ?").unwrap();
    let declared = runtime
        .schedule("ping", Ping(1), every_minute.clone())
        .await
        .unwrap();
    assert_eq!(declared, Scheduled::Inserted);
    assert_eq!(
        runtime
            .schedule("ping", Ping(1), every_minute.clone())
            .await
            .unwrap(),
        Scheduled::Unchanged
    );
    tokio::time::sleep(Duration::from_secs(185)).await;
    let before = store.find("ping").await.unwrap().unwrap();
    assert!(
        before.job.trigger_count >= 3,
        "{:?}",
        before.job.trigger_count
    );
    let hourly =
        Schedule::cron_in("0 30 2 * * ?", bgtasks_abstractions::Tz::Europe__Berlin).unwrap();
    assert_eq!(
        runtime.schedule("ping", Ping(2), hourly).await.unwrap(),
        Scheduled::Updated
    );
    let after = store.find("ping").await.unwrap().unwrap();
    assert_eq!(
        after.job.trigger_count, before.job.trigger_count,
        "counters kept"
    );
    assert_eq!(after.revision, before.revision + 1);
    assert_eq!(
        after.job.cron.as_deref(),
        Some("TZ=Europe/Berlin 0 30 2 * * ?")
    );
    assert_eq!(
        after.job.args.get(bgtasks_abstractions::VALUE_ARG),
        Some(&serde_json::json!(2))
    );
    assert_eq!(after.job.status, JobStatus::Running);
    // Another kind under the key is refused, naming both.
    let err = runtime
        .schedule("ping", Ping(2), Schedule::every(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("job `ping` exists as a Period job"),
        "{err}"
    );
    assert!(runs.load(Ordering::SeqCst) >= 3);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn ids_made_for_typed_jobs_are_uuids_in_the_order_they_were_made() {
    // spec: R48
    // Time-ordered (version 7): a durable store's id index then grows at its right edge
    // instead of taking each new job at a random place.
    let (b, _store) = builder();
    let runtime = b.register::<SendInvoice>().build().unwrap();
    let ids: Vec<String> = (1..=64)
        .map(|n| runtime.enqueue(invoice(n)).to_job().unwrap().id)
        .collect();
    for id in &ids {
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 7, "id {id}");
    }
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids out of order: {ids:?}"
    );
    // An id given stays as given.
    let given = runtime
        .enqueue(invoice(1))
        .id("invoice-1")
        .to_job()
        .unwrap();
    assert_eq!(given.id, "invoice-1");
}
