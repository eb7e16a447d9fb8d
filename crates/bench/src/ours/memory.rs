//! Resident memory per job (run in a fresh child process): pending Once jobs, and
//! scheduled Period/Persistent jobs, in the in-memory store of a runtime that is not
//! started.

use bgtasks::prelude::*;
use chrono::{TimeDelta, Utc};

use crate::BenchResult;
use crate::child::resident_bytes;
use crate::scale::WORKERS;

/// Jobs per `queue_many` call.
const CHUNK: usize = 10_000;

/// What the memory child measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemoryCase {
    /// Once jobs, due now, never run.
    Pending,
    /// Half Period (hourly cron), half Persistent (hourly, first run in an hour).
    Scheduled,
}

impl MemoryCase {
    /// Its name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scheduled => "scheduled",
        }
    }

    /// Parses [`name`](Self::name).
    pub(crate) fn parse(name: &str) -> BenchResult<Self> {
        match name {
            "pending" => Ok(Self::Pending),
            "scheduled" => Ok(Self::Scheduled),
            other => Err(format!("unknown memory case `{other}`").into()),
        }
    }
}

fn job(case: MemoryCase, i: usize) -> JobInfo {
    match case {
        MemoryCase::Pending => JobInfo::once(format!("j{i}"), "noop"),
        MemoryCase::Scheduled if i.is_multiple_of(2) => {
            JobInfo::period(format!("p{i}"), "noop", "0 0 * * * ?")
        }
        MemoryCase::Scheduled => {
            let mut job = JobInfo::persistent(format!("s{i}"), "noop", 3600, 0);
            job.begin_time = Utc::now() + TimeDelta::hours(1);
            job
        }
    }
}

/// In the child: resident bytes before and after queueing `n` jobs; returns
/// (before, after).
pub(crate) async fn measure(case: MemoryCase, n: usize) -> BenchResult<(f64, f64)> {
    let runtime = BackgroundTasks::builder()
        .workers(WORKERS)
        .runnable("noop", job_fn(|_ctx| async { Ok::<(), JobError>(()) }))
        .build()?;
    let before = resident_bytes()?;
    for start in (0..n).step_by(CHUNK) {
        let jobs = (start..(start + CHUNK).min(n))
            .map(|i| job(case, i))
            .collect();
        runtime.queue_many(jobs).await?;
    }
    let after = resident_bytes()?;
    drop(runtime);
    Ok((before, after))
}
