//! Idle cost (run in a fresh child process): CPU time a started runtime uses while its
//! only jobs are due in an hour.

use std::time::Duration;

use bgtasks::prelude::*;
use chrono::{TimeDelta, Utc};

use super::{OpenedStore, StoreKind};
use crate::BenchResult;
use crate::child::cpu_seconds;
use crate::scale::WORKERS;

/// In the child: the share of one core (in %) used over `window`.
pub(crate) async fn measure(kind: StoreKind, jobs: usize, window: Duration) -> BenchResult<f64> {
    let opened = OpenedStore::open(kind).await?;
    let runtime = BackgroundTasks::builder()
        .workers(WORKERS)
        .store(opened.store.clone())
        .runnable("noop", job_fn(|_ctx| async { Ok::<(), JobError>(()) }))
        .build()?;
    let due = Utc::now() + TimeDelta::hours(1);
    let batch = (0..jobs)
        .map(|i| {
            let mut job = JobInfo::once(format!("later{i}"), "noop");
            job.begin_time = due;
            job
        })
        .collect();
    runtime.queue_many(batch).await?;
    runtime.start().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cpu_seconds()?;
    tokio::time::sleep(window).await;
    let used = cpu_seconds()? - before;
    runtime.shutdown().await?;
    drop(runtime);
    opened.close().await?;
    Ok(used / window.as_secs_f64() * 100.0)
}
