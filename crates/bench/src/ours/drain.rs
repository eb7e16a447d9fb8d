//! Drain: queue N no-op jobs, start the runtime, time until every run finished: the
//! runnable counted N, and then no run is left in flight (a run leaves the in-flight set
//! after its after-listeners, so with the executed event on its completion is saved —
//! the same moment its `RunReport` is broadcast, without a subscriber's wake-up per run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks::prelude::*;

use super::{OpenedStore, StoreKind};
use crate::BenchResult;
use crate::probe::Counter;
use crate::scale::WORKERS;

/// How our runtime is set up for a drain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrainSetup {
    /// Whether the executed and log events are on (the default).
    pub(crate) listeners: bool,
    /// Claimed runs beyond the running ones (`None`: the default, as many as workers).
    pub(crate) prefetch: Option<usize>,
}

/// The longest a drain may go without finishing.
const STALL_LIMIT: Duration = Duration::from_secs(300);

/// Jobs per `queue_many` call when filling the store.
const QUEUE_CHUNK: usize = 10_000;

/// One drain of `n` jobs; returns jobs per second.
pub(crate) async fn run(kind: StoreKind, n: usize, setup: DrainSetup) -> BenchResult<f64> {
    let opened = OpenedStore::open(kind).await?;
    let counter = Arc::new(Counter::new(n));
    let hits = counter.clone();
    let mut builder = BackgroundTasks::builder()
        .workers(WORKERS)
        .store(opened.store.clone())
        .runnable(
            "noop",
            job_fn(move |_ctx| {
                let hits = hits.clone();
                async move {
                    hits.hit();
                    Ok::<(), JobError>(())
                }
            }),
        );
    if !setup.listeners {
        builder = builder.without_executed_event().without_log_event();
    }
    if let Some(prefetch) = setup.prefetch {
        builder = builder.configure(|o| o.prefetch = Some(prefetch));
    }
    let runtime = builder.build()?;
    for start in (0..n).step_by(QUEUE_CHUNK) {
        let jobs = (start..(start + QUEUE_CHUNK).min(n))
            .map(|i| JobInfo::once(format!("j{i}"), "noop"))
            .collect();
        runtime.queue_many(jobs).await?;
    }
    let started = Instant::now();
    runtime.start().await?;
    if tokio::time::timeout(STALL_LIMIT, counter.wait())
        .await
        .is_err()
    {
        return Err(format!("drain stalled: {} of {n} runs counted", counter.count()).into());
    }
    let settle_until = Instant::now() + STALL_LIMIT;
    while runtime.running_count() > 0 {
        if Instant::now() > settle_until {
            return Err("drain stalled: runs stayed in flight".into());
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let elapsed = started.elapsed();
    runtime.shutdown().await?;
    drop(runtime);
    opened.close().await?;
    Ok(n as f64 / elapsed.as_secs_f64())
}
