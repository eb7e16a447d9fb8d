//! Scenario 6: three processes with eight workers each drain ten thousand jobs. Every job
//! completes, the completions the jobs themselves wrote add up to the number of jobs,
//! and no job ran twice, let alone at the same time.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bgtasks::JobStatus;
use bgtasks_reliability::runlog;

use super::record;
use crate::harness::{Res, Spec, StoreKind, Suite, deaths, describe_states, ensure};

/// Jobs per store. SQLite (one writer at a time on one file) drains them more slowly
/// than PostgreSQL but within the suite's budget.
fn jobs_for(kind: StoreKind) -> usize {
    match kind {
        StoreKind::Postgres => 10_000,
        StoreKind::Sqlite => 10_000,
    }
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let jobs = jobs_for(kind);
    let env = suite.env(kind, "load").await?;
    let seeding = Instant::now();
    env.queue(
        (0..jobs)
            .map(|i| record(format!("load-{i:05}"), 0))
            .collect(),
    )
    .await?;
    let seeded_in = seeding.elapsed();
    let spec = Spec {
        workers: 8,
        lease_ms: 5000,
        renew_ms: 1000,
        rescue_ms: 1000,
        ..Spec::default()
    };
    let draining = Instant::now();
    let mut workers = Vec::new();
    for node in ["w1", "w2", "w3"] {
        workers.push(env.spawn(node, spec).await?);
    }
    env.wait_completed("load-", jobs, Duration::from_secs(200))
        .await?;
    let drained_in = draining.elapsed();
    for worker in &mut workers {
        ensure!(worker.alive(), "worker {} died", worker.node);
    }

    let states = env.raw.states("load-").await?;
    ensure!(
        states.len() == jobs,
        "{} of {jobs} jobs are in the store",
        states.len()
    );
    let wrong: Vec<_> = states
        .iter()
        .filter(|s| {
            s.status != i64::from(JobStatus::Completed.code())
                || s.trigger_count != 1
                || s.try_count != 0
                || s.leased
        })
        .collect();
    ensure!(
        wrong.is_empty(),
        "{} jobs are not Completed once ({}); first: {:?}",
        wrong.len(),
        describe_states(&states),
        wrong.first()
    );
    let runs = env.runs()?;
    let mut per_job: HashMap<&str, usize> = HashMap::new();
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    let mut completions = 0;
    for run in runs.iter().filter(|r| r.job.starts_with("load-")) {
        if run.finished() {
            completions += 1;
            *per_job.entry(run.job.as_str()).or_default() += 1;
            *per_node.entry(run.node.as_str()).or_default() += 1;
        }
    }
    let twice = per_job.values().filter(|n| **n > 1).count();
    ensure!(
        completions == jobs && per_job.len() == jobs && twice == 0,
        "{completions} completions for {jobs} jobs ({} distinct, {twice} more than once)",
        per_job.len()
    );
    let all: Vec<_> = workers.iter().collect();
    let overlaps = runlog::overlaps(&runs, &deaths(&all));
    ensure!(
        overlaps.is_empty(),
        "{} concurrent duplicates",
        overlaps.len()
    );
    for worker in &mut workers {
        let (status, _) = worker.terminate(Duration::from_secs(10)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    env.raw.close().await;
    let shares: Vec<String> = per_node.iter().map(|(n, c)| format!("{n} {c}")).collect();
    Ok(format!(
        "{jobs} jobs, 3 processes × 8 workers: {completions} completions written by the jobs = {jobs}, \
         0 twice, 0 concurrent duplicates, 0 lost; shares {}; queued in {:.1} s, drained in {:.1} s ({:.0} jobs/s)",
        shares.join(", "),
        seeded_in.as_secs_f64(),
        drained_in.as_secs_f64(),
        jobs as f64 / drained_in.as_secs_f64()
    ))
}
