//! Scenario 5: `SIGTERM` to a process with runs going and more claimed. It must stop
//! taking runs, let the running ones finish within the grace period, interrupt the rest,
//! give every unfinished run back at once — so another process runs it within moments,
//! not after the 30 s lease — and exit 0.

use std::time::Duration;

use bgtasks::JobPriority;
use bgtasks_reliability::runlog::{self, now_micros};

use super::{check_completed_once, record};
use crate::harness::{Res, Spec, StoreKind, Suite, deaths, ensure, runs_of, secs, wait_for};

const LEASE_MS: u64 = 30_000;
const GRACE_MS: u64 = 4000;
const SHORT_MS: u64 = 3000;
const LONG_MS: u64 = 8000;

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "sigterm").await?;
    let spec = Spec {
        workers: 4,
        lease_ms: LEASE_MS,
        renew_ms: 500,
        rescue_ms: 500,
        grace_ms: GRACE_MS,
        interrupt_grace_ms: 1000,
    };
    // The other process starts first and is held, so that it takes only what is given
    // back, and no process start-up stands between the runs starting and the SIGTERM.
    let mut staying = env.spawn("staying", spec).await?;
    staying.hold().await?;
    let mut leaving = env.spawn("leaving", spec).await?;
    let short: Vec<String> = (0..2).map(|i| format!("term-short-{i}")).collect();
    let long: Vec<String> = (0..2).map(|i| format!("term-long-{i}")).collect();
    let queued: Vec<String> = (0..4).map(|i| format!("term-queued-{i}")).collect();
    let mut jobs = Vec::new();
    jobs.extend(
        short
            .iter()
            .map(|id| record(id.clone(), SHORT_MS).with_priority(JobPriority::High)),
    );
    jobs.extend(
        long.iter()
            .map(|id| record(id.clone(), LONG_MS).with_priority(JobPriority::High)),
    );
    jobs.extend(queued.iter().map(|id| record(id.clone(), 500)));
    env.queue(jobs).await?;
    // Four workers: the four High runs start; the four others are claimed with them and
    // wait for a worker.
    wait_for(Duration::from_secs(20), "four runs to start", || async {
        let runs = env.runs()?;
        Ok((runs.iter().filter(|r| r.start.is_some()).count() >= 4).then_some(()))
    })
    .await?;
    let termed = now_micros();
    let sent = std::time::Instant::now();
    leaving.signal("TERM").await?;
    staying.release().await?;
    let (status, took) = leaving
        .wait_exit(sent, Duration::from_millis(GRACE_MS + 1000 + 5000))
        .await?;
    ensure!(
        status.success(),
        "the terminated process exited with {status}"
    );
    ensure!(
        leaving.said_stopped(),
        "the terminated process did not shut down cleanly"
    );
    env.wait_completed("term-", 8, Duration::from_secs(30))
        .await?;

    let runs = env.runs()?;
    let on_leaving: Vec<_> = runs.iter().filter(|r| r.pid == leaving.pid).collect();
    ensure!(
        on_leaving
            .iter()
            .all(|r| r.start.is_none_or(|s| s < termed)),
        "the terminated process started a run after SIGTERM"
    );
    for id in &short {
        let job_runs = runs_of(&runs, id);
        ensure!(
            job_runs.len() == 1 && job_runs[0].pid == leaving.pid && job_runs[0].finished(),
            "short job {id} should have finished on the terminated process within the grace: {job_runs:?}"
        );
        ensure!(
            job_runs[0].end.is_some_and(|end| end > termed),
            "short job {id} finished before SIGTERM (the machine is too slow for this scenario's timing)"
        );
    }
    let mut pickup = 0.0f64;
    for id in &long {
        let job_runs = runs_of(&runs, id);
        let first = job_runs
            .iter()
            .find(|r| r.pid == leaving.pid)
            .ok_or_else(|| format!("long job {id} never ran on the terminated process"))?;
        let cancelled = first
            .cancel
            .ok_or_else(|| format!("long job {id} was not interrupted: {first:?}"))?;
        ensure!(
            secs(termed, cancelled) >= (GRACE_MS as f64 / 1000.0) - 0.3,
            "long job {id} was interrupted {:.1} s after SIGTERM, before the grace period ended",
            secs(termed, cancelled)
        );
        let again = job_runs
            .iter()
            .find(|r| r.pid == staying.pid && r.finished())
            .ok_or_else(|| {
                format!("long job {id} was not run again by the other process: {job_runs:?}")
            })?;
        let after = secs(cancelled, again.start.unwrap_or_default());
        pickup = pickup.max(after);
        ensure!(
            after < 10.0,
            "long job {id} was taken up {after:.1} s after it was given back (the lease is 30 s)"
        );
    }
    for id in &queued {
        let job_runs = runs_of(&runs, id);
        ensure!(
            job_runs.len() == 1 && job_runs[0].pid == staying.pid && job_runs[0].finished(),
            "queued job {id} should have run once, on the other process: {job_runs:?}"
        );
        let after = secs(termed, job_runs[0].start.unwrap_or_default());
        pickup = pickup.max(after);
        ensure!(
            after < 10.0,
            "queued job {id} was taken up {after:.1} s after SIGTERM (the lease is 30 s)"
        );
    }
    let mut all_ids = short.clone();
    all_ids.extend(long.iter().cloned());
    all_ids.extend(queued.iter().cloned());
    check_completed_once(&env, &all_ids).await?;
    let overlaps = runlog::overlaps(&runs, &deaths(&[&leaving, &staying]));
    ensure!(overlaps.is_empty(), "concurrent duplicates: {overlaps:?}");
    let (status, _) = staying.terminate(Duration::from_secs(10)).await?;
    ensure!(status.success(), "the other process exited with {status}");
    env.raw.close().await;
    Ok(format!(
        "SIGTERM with 4 runs going and 4 claimed: 2 finished within the {:.0} s grace, 2 interrupted at its end \
         and given back with the 4 queued; the other process took each up ≤ {pickup:.1} s later (lease {:.0} s); \
         exit 0 after {:.1} s; try count 0; 0 duplicates, 0 lost",
        GRACE_MS as f64 / 1000.0,
        LEASE_MS as f64 / 1000.0,
        took.as_secs_f64()
    ))
}
