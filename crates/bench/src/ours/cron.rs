//! Cron lateness: a Period job on `0/1 * * * * ?` in memory; each run notes how long after
//! its whole-second tick the runnable started (wall clock).

use std::sync::Arc;
use std::time::Duration;

use bgtasks::prelude::*;
use chrono::{DurationRound, TimeDelta, Utc};
use tokio::sync::mpsc;

use crate::BenchResult;
use crate::scale::{Scale, WORKERS};

/// One cron run: the lateness of each observed tick, in milliseconds.
pub(crate) async fn run(scale: &Scale) -> BenchResult<Vec<f64>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<f64>();
    let tx = Arc::new(tx);
    let runtime = BackgroundTasks::builder()
        .workers(WORKERS)
        .runnable(
            "tick",
            job_fn(move |ctx| {
                let tx = tx.clone();
                async move {
                    let started = Utc::now();
                    let tick = ctx
                        .run_time()
                        .duration_trunc(TimeDelta::seconds(1))
                        .map_err(|e| JobError::new(e.to_string()))?;
                    let late = (started - tick).num_microseconds().unwrap_or(i64::MAX);
                    let _ = tx.send(late as f64 / 1e3);
                    Ok::<(), JobError>(())
                }
            }),
        )
        .build()?;
    runtime.start().await?;
    runtime
        .queue(JobInfo::period("cron-lateness", "tick", "0/1 * * * * ?"))
        .await?;
    let mut samples = Vec::with_capacity(scale.cron_ticks);
    while samples.len() < scale.cron_ticks {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(late)) => samples.push(late),
            _ => return Err("the Period job stopped firing".into()),
        }
    }
    runtime.shutdown().await?;
    Ok(samples)
}
