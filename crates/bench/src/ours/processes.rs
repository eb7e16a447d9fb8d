//! Several processes draining one PostgreSQL database. The parent queues N jobs, starts
//! P children (this binary again, `__child drain-worker URL NODE`), and once every child
//! has built its runtime tells them all to start. Each child runs a runtime at default
//! options until nothing is due and none of its own runs is in flight, and reports how
//! many runs it did and the wall-clock instant it found the store drained. The drain
//! ends at the last of those instants.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bgtasks::JobStore;
use bgtasks::postgres::{PostgresJobStore, PostgresStoreOptions};
use bgtasks::prelude::*;
use chrono::{TimeDelta, Utc};

use crate::BenchResult;
use crate::child::{self, Spawned};
use crate::pg::FreshDatabase;
use crate::probe::Counter;
use crate::scale::WORKERS;

/// How long the store must look drained before a child believes it.
const CONFIRM: Duration = Duration::from_millis(100);
/// How often a child looks.
const LOOK_EVERY: Duration = Duration::from_millis(5);
/// Jobs per `queue_many` call when filling the store.
const QUEUE_CHUNK: usize = 10_000;

/// Microseconds since the Unix epoch.
fn now_micros() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
}

async fn runtime_on(
    store: Arc<dyn JobStore>,
    node: &str,
    counter: Arc<Counter>,
) -> BenchResult<Runtime> {
    Ok(BackgroundTasks::builder()
        .node_name(node)
        .workers(WORKERS)
        .store(store)
        .runnable(
            "noop",
            job_fn(move |_ctx| {
                let counter = counter.clone();
                async move {
                    counter.hit();
                    Ok::<(), JobError>(())
                }
            }),
        )
        .build()?)
}

/// One drain of `n` jobs by `processes` processes; total jobs per second.
pub(crate) async fn run(n: usize, processes: usize) -> BenchResult<f64> {
    let database = FreshDatabase::create("procs").await?;
    let store = PostgresJobStore::connect(&database.url, PostgresStoreOptions::default()).await?;
    let filler = runtime_on(Arc::new(store.clone()), "filler", Arc::new(Counter::new(0))).await?;
    for start in (0..n).step_by(QUEUE_CHUNK) {
        let jobs = (start..(start + QUEUE_CHUNK).min(n))
            .map(|i| JobInfo::once(format!("p{i}"), "noop"))
            .collect();
        filler.queue_many(jobs).await?;
    }
    filler.shutdown().await?;
    drop(filler);
    store.close().await;
    let url = database.url.clone();
    let limit = super::drain::stall_limit(n);
    let outcome = tokio::task::spawn_blocking(move || orchestrate(&url, processes, limit)).await?;
    database.drop_now().await?;
    let (runs, elapsed) = outcome?;
    if runs != n {
        return Err(format!("{processes} processes ran {runs} of {n} jobs").into());
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// Starts the children, lets them go at once, and collects their runs and the time
/// from the go to the last child's drained instant.
fn orchestrate(url: &str, processes: usize, limit: Duration) -> BenchResult<(usize, Duration)> {
    let mut children: Vec<Spawned> = (0..processes)
        .map(|i| {
            child::spawn(&[
                "drain-worker".to_owned(),
                url.to_owned(),
                format!("proc-{i}"),
                limit.as_secs().to_string(),
            ])
        })
        .collect::<BenchResult<_>>()?;
    for child in &mut children {
        child.wait_for("READY")?;
    }
    let go = now_micros();
    for child in &mut children {
        child.send("GO")?;
    }
    let mut runs = 0;
    let mut last = go;
    for child in children {
        let values = child.finish()?;
        runs += values
            .get("runs")
            .copied()
            .ok_or("child reported no `runs`")? as usize;
        last = last.max(values.get("drained_at").copied().ok_or("no `drained_at`")?);
    }
    Ok((runs, Duration::from_secs_f64((last - go).max(1.0) / 1e6)))
}

/// In the child: builds a runtime named `node` on the database at `url`, says READY,
/// waits for GO, runs until the store is drained; reports `runs` and `drained_at`.
pub(crate) async fn child(url: &str, node: &str, limit: Duration) -> BenchResult<()> {
    let options = PostgresStoreOptions::default().with_migrate(false);
    let store = PostgresJobStore::connect(url, options).await?;
    let counter = Arc::new(Counter::new(usize::MAX));
    let runtime = runtime_on(Arc::new(store.clone()), node, counter.clone()).await?;
    println!("READY");
    let go = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await??;
    if go.trim() != "GO" {
        return Err(format!("child {node}: expected GO, read `{}`", go.trim()).into());
    }
    let started = Instant::now();
    runtime.start().await?;
    let types = vec!["noop".to_owned()];
    let mut idle_since: Option<(Instant, f64)> = None;
    let drained_at = loop {
        if started.elapsed() > limit {
            return Err(format!("child {node}: the drain did not end within {limit:?}").into());
        }
        tokio::time::sleep(LOOK_EVERY).await;
        let idle = runtime.running_count() == 0 && {
            let due = store.next_due_time(node, Some(&types)).await?;
            due.is_none_or(|t| t > Utc::now() + TimeDelta::seconds(1))
        };
        match (idle, idle_since) {
            (false, _) => idle_since = None,
            (true, None) => idle_since = Some((Instant::now(), now_micros())),
            (true, Some((since, at))) if since.elapsed() >= CONFIRM => break at,
            (true, Some(_)) => {}
        }
    };
    runtime.shutdown().await?;
    drop(runtime);
    store.close().await;
    child::report(&[("runs", counter.count() as f64), ("drained_at", drained_at)]);
    Ok(())
}
