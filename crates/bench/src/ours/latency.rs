//! Enqueue → start latency of our runtime, per store. On PostgreSQL the job is queued by
//! a producer runtime on its own pool, so the consuming node learns of it through
//! LISTEN/NOTIFY; in memory and on SQLite it is queued on the consuming runtime.

use std::sync::Arc;

use bgtasks::prelude::*;

use super::{OpenedStore, StoreKind};
use crate::BenchResult;
use crate::latency::{LatencySamples, measure};
use crate::probe::{StartSignal, start_signal};
use crate::scale::{Scale, WORKERS};

fn noop(signal: StartSignal) -> impl JobRunnable + 'static {
    let signal = Arc::new(signal);
    job_fn(move |_ctx| {
        let signal = signal.clone();
        async move {
            signal.started();
            signal.finished();
            Ok::<(), JobError>(())
        }
    })
}

/// One latency run on `kind`.
pub(crate) async fn run(kind: StoreKind, scale: &Scale) -> BenchResult<LatencySamples> {
    let opened = OpenedStore::open(kind).await?;
    let (signal, mut watch) = start_signal();
    let runtime = BackgroundTasks::builder()
        .workers(WORKERS)
        .store(opened.store.clone())
        .runnable("noop", noop(signal.clone()))
        .build()?;
    runtime.start().await?;
    let producer = match kind {
        StoreKind::Postgres => Some(
            BackgroundTasks::builder()
                .node_name("producer")
                .store(opened.second_postgres_handle().await?)
                .runnable("noop", noop(signal))
                .build()?,
        ),
        _ => None,
    };
    let queue_on = producer.clone().unwrap_or_else(|| runtime.clone());
    let samples = measure(scale.latency_jobs, scale.latency_budget, &mut watch, |i| {
        let queue_on = queue_on.clone();
        async move {
            queue_on
                .queue(JobInfo::once(format!("l{i}"), "noop"))
                .await?;
            Ok(())
        }
    })
    .await?;
    runtime.shutdown().await?;
    drop((runtime, producer, queue_on));
    opened.close().await?;
    Ok(samples)
}
