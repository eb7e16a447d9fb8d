//! Scenario 2: runs that last two and a half times their lease, kept alive by renewals,
//! across three processes whose rescuers look for expired leases every 400 ms: none is
//! ever rescued or run twice.
//!
//! The lease is 4 s with a renewal every 0.4 s: ten renewals per lease, so that a
//! renewal the store answers a few seconds late (a machine under load) still lands inside
//! the lease. A lease shorter than the store's worst answer is a configuration the lease
//! watchdog must cut (R45, scenario `network-partition`), not one this scenario is about.

use std::time::Duration;

use bgtasks_reliability::runlog;

use super::{check_completed_once, logs_of, record};
use crate::harness::{Res, Spec, StoreKind, Suite, deaths, ensure, runs_of, secs, wait_for};

const JOBS: usize = 6;
const LEASE_MS: u64 = 4000;
const RENEW_MS: u64 = 400;
const WORK_MS: u64 = 10_000;

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "renewal").await?;
    let spec = Spec {
        workers: 2,
        lease_ms: LEASE_MS,
        renew_ms: RENEW_MS,
        rescue_ms: 400,
        ..Spec::default()
    };
    let mut workers = Vec::new();
    for node in ["r1", "r2", "r3"] {
        workers.push(env.spawn(node, spec).await?);
    }
    let ids: Vec<String> = (0..JOBS).map(|i| format!("long-{i}")).collect();
    env.queue(ids.iter().map(|id| record(id.clone(), WORK_MS)).collect())
        .await?;
    // Runs of 10 s on two workers per process: every job is running within a few seconds.
    wait_for(
        Duration::from_secs(30),
        "every long run to start",
        || async {
            let runs = env.runs()?;
            Ok((runs.iter().filter(|r| r.start.is_some()).count() >= JOBS).then_some(()))
        },
    )
    .await?;
    env.wait_completed("long-", JOBS, Duration::from_secs(40))
        .await?;
    for worker in &mut workers {
        ensure!(worker.alive(), "worker {} died", worker.node);
    }
    let runs = env.runs()?;
    let mut shortest = f64::MAX;
    let mut nodes = std::collections::BTreeSet::new();
    for id in &ids {
        let job_runs = runs_of(&runs, id);
        ensure!(
            job_runs.len() == 1 && job_runs[0].finished(),
            "job {id} should have run exactly once; runs: {job_runs:?}"
        );
        let run = job_runs[0];
        let took = secs(run.start.unwrap_or_default(), run.end.unwrap_or_default());
        shortest = shortest.min(took);
        nodes.insert(run.node.clone());
        let logs = logs_of(&env, id, 1).await?;
        ensure!(
            logs.len() == 1 && logs[0].exception.is_none(),
            "job {id}: expected one clean run log (no rescue), got {:?}",
            logs.iter()
                .map(|l| (l.message.clone(), l.exception.clone()))
                .collect::<Vec<_>>()
        );
    }
    ensure!(
        shortest * 1000.0 >= (LEASE_MS * 2) as f64,
        "a run took only {shortest:.1} s: not longer than its lease"
    );
    check_completed_once(&env, &ids).await?;
    let all: Vec<_> = workers.iter().collect();
    let overlaps = runlog::overlaps(&runs, &deaths(&all));
    ensure!(overlaps.is_empty(), "concurrent duplicates: {overlaps:?}");
    let lost: usize = workers.iter().map(|w| w.log_count("lost the lease")).sum();
    ensure!(lost == 0, "{lost} leases were lost");
    for worker in &mut workers {
        let (status, _) = worker.terminate(Duration::from_secs(10)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    env.raw.close().await;
    Ok(format!(
        "{JOBS} runs of {:.1} s (≥ {:.1}× the {:.1} s lease, renewed every {:.1} s) on {} of 3 processes \
         rescuing every 0.4 s: each ran once, 0 rescues, 0 leases lost, 0 duplicates, 0 lost",
        WORK_MS as f64 / 1000.0,
        shortest * 1000.0 / LEASE_MS as f64,
        LEASE_MS as f64 / 1000.0,
        RENEW_MS as f64 / 1000.0,
        nodes.len()
    ))
}
