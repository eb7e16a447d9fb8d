//! Enqueue through bgtasks' public API on a runtime that is built but not started: one
//! job per call with the typed `runtime.enqueue(value)`, many per call with the same
//! enqueues made into jobs (`Enqueue::to_job`) and stored with `queue_many`.

use std::ops::Range;

use bgtasks::prelude::*;
use serde::{Deserialize, Serialize};

use super::{OpenedStore, StoreKind};
use crate::BenchResult;
use crate::enqueue::{self, Mode, Producer};

/// The job enqueued: no arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Noop {}

impl JobType for Noop {
    const TYPE: &'static str = "noop";
}

impl Producer for Runtime {
    async fn one(&self, i: usize) -> BenchResult<()> {
        let handle = self.enqueue(Noop {}).await?;
        if handle.status() != Enqueued::Inserted {
            return Err(format!("enqueue {i}: job `{}` was not inserted", handle.id()).into());
        }
        Ok(())
    }

    async fn many(&self, range: Range<usize>) -> BenchResult<()> {
        let wanted = range.len();
        let jobs = range
            .map(|_| self.enqueue(Noop {}).to_job())
            .collect::<Result<Vec<_>, _>>()?;
        let inserted = self.queue_many(jobs).await?;
        let stored = inserted.iter().filter(|i| **i).count();
        if stored != wanted {
            return Err(format!("queue_many stored {stored} of {wanted} jobs").into());
        }
        Ok(())
    }
}

/// One enqueue run of `n` jobs on a fresh store of `kind`; jobs per second.
pub(crate) async fn run(kind: StoreKind, n: usize, mode: Mode) -> BenchResult<f64> {
    let opened = OpenedStore::open(kind).await?;
    let runtime = BackgroundTasks::builder()
        .store(opened.store.clone())
        .register_fn::<Noop, _, _, _>(|_job, _ctx| async { Ok::<(), JobError>(()) })
        .build()?;
    let rate = enqueue::run(&runtime, n, mode).await?;
    runtime.shutdown().await?;
    drop(runtime);
    opened.close().await?;
    Ok(rate)
}
