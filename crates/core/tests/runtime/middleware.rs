//! Middleware wraps every run: a per-type concurrency limit, and a middleware of the
//! host's own that sees each run and can skip it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, JobRunnableContext, job_fn};
use bgtasks_core::{ConcurrencyLimit, JobScheduler, Next, RunMiddleware};

use crate::common::{builder, reports_within, start};

/// A runnable that tracks how many of its runs overlap.
fn overlapping(
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
) -> impl bgtasks_abstractions::JobRunnable {
    job_fn(move |_ctx: JobRunnableContext| {
        let (now, most) = (now.clone(), most.clone());
        async move {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(running, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(10)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            Ok::<(), JobError>(())
        }
    })
}

/// Skips the runs of jobs whose id starts with `skip-`, and counts the others.
struct Gate(Arc<AtomicUsize>);

impl RunMiddleware for Gate {
    async fn call(&self, ctx: &JobRunnableContext, next: Next<'_>) -> Result<(), JobError> {
        if ctx.job_id().starts_with("skip-") {
            ctx.set_result("skipped by the gate");
            return Ok(());
        }
        self.0.fetch_add(1, Ordering::SeqCst);
        next.run().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_concurrency_limit_holds_a_type_to_its_slots_and_middleware_sees_every_run() {
    let (b, _) = builder();
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (free_now, free_most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let passed = Arc::new(AtomicUsize::new(0));
    let (runtime, mut reports) = start(
        b.workers(8)
            .middleware(Gate(passed.clone()))
            .middleware(ConcurrencyLimit::new().limit("export", 2))
            .runnable("export", overlapping(now.clone(), most.clone()))
            .runnable("free", overlapping(free_now, free_most.clone())),
    )
    .await;
    let at = runtime.clock().now();
    let mut jobs: Vec<JobInfo> = (0..5)
        .map(|n| JobInfo::once(format!("export-{n}"), "export").with_begin_time(at))
        .collect();
    jobs.extend((0..3).map(|n| JobInfo::once(format!("free-{n}"), "free").with_begin_time(at)));
    jobs.push(JobInfo::once("skip-me", "free").with_begin_time(at));
    runtime.queue_many(jobs).await.unwrap();
    let done = reports_within(&mut reports, Duration::from_secs(60)).await;
    assert_eq!(done.len(), 9);
    assert!(done.iter().all(|r| r.succeeded()), "{done:?}");
    assert_eq!(most.load(Ordering::SeqCst), 2, "two exports at a time");
    assert_eq!(
        free_most.load(Ordering::SeqCst),
        3,
        "other types are not held"
    );
    assert_eq!(
        passed.load(Ordering::SeqCst),
        8,
        "the gate saw every run it let through"
    );
    let skipped = done.iter().find(|r| r.job_id == "skip-me").unwrap();
    assert_eq!(
        skipped.job.as_ref().and_then(|j| j.result.as_deref()),
        Some("skipped by the gate")
    );
    runtime.shutdown().await.unwrap();
}
