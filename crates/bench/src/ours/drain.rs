//! Drain: queue N no-op jobs, start the runtime, time until every run finished: the
//! runnable counted N, and then no run is left in flight (a run leaves the in-flight set
//! after its after-listeners, so with the executed event on its completion is saved —
//! the same moment its `RunReport` is broadcast, without a subscriber's wake-up per run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks::JobOptOuts;
use bgtasks::prelude::*;

use super::{OpenedStore, StoreKind};
use crate::probe::Counter;
use crate::scale::WORKERS;
use crate::{BenchResult, progress};

/// How our runtime is set up for a drain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrainSetup {
    /// Whether the executed and log events are on (the default).
    pub(crate) listeners: bool,
    /// Claimed runs beyond the running ones (`None`: the default, sized from the rate).
    pub(crate) prefetch: Option<usize>,
    /// Whether the job type opts out of state handling and logging (R11), the listeners
    /// staying on.
    pub(crate) opted_out: bool,
}

/// The no-op runnable: counts its runs; opts out of state handling and logging if told.
struct Noop {
    hits: Arc<Counter>,
    opted_out: bool,
}

impl JobRunnable for Noop {
    async fn execute(&self, _context: &JobRunnableContext) -> Result<(), JobError> {
        self.hits.hit();
        Ok(())
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts {
            skip_status_handling: self.opted_out,
            skip_logging: self.opted_out,
            skip_actions: self.opted_out,
        }
    }
}

/// The longest a drain may go without finishing (longer for large drains: see
/// [`stall_limit`]).
const STALL_LIMIT: Duration = Duration::from_secs(300);

/// Drains at least this large say how far they have come every [`NOTE_EVERY`].
const NOTED: usize = 200_000;
/// How often a large drain notes its progress.
const NOTE_EVERY: Duration = Duration::from_secs(15);

/// The longest a drain of `n` jobs may take: [`STALL_LIMIT`], or 1 ms per job.
pub(crate) fn stall_limit(n: usize) -> Duration {
    STALL_LIMIT.max(Duration::from_millis(n as u64))
}

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
            Noop {
                hits,
                opted_out: setup.opted_out,
            },
        );
    if !setup.listeners {
        builder = builder.without_executed_event().without_log_event();
    }
    if let Some(prefetch) = setup.prefetch {
        builder = builder.configure(|o| o.prefetch = Some(prefetch));
    }
    let runtime = builder.build()?;
    let filling = Instant::now();
    for start in (0..n).step_by(QUEUE_CHUNK) {
        let jobs = (start..(start + QUEUE_CHUNK).min(n))
            .map(|i| JobInfo::once(format!("j{i}"), "noop"))
            .collect();
        runtime.queue_many(jobs).await?;
        let queued = (start + QUEUE_CHUNK).min(n);
        if n >= NOTED && queued.is_multiple_of(10 * QUEUE_CHUNK) {
            progress::note(&format!(
                "drain of {n}: {queued} queued ({:.0} s)",
                filling.elapsed().as_secs_f64()
            ));
        }
    }
    let started = Instant::now();
    runtime.start().await?;
    let ticker = (n >= NOTED).then(|| {
        let counter = counter.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(NOTE_EVERY).await;
                progress::note(&format!(
                    "drain of {n}: {} run ({:.0} s)",
                    counter.count(),
                    started.elapsed().as_secs_f64()
                ));
            }
        })
    });
    let finished = tokio::time::timeout(stall_limit(n), counter.wait()).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    if finished.is_err() {
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
