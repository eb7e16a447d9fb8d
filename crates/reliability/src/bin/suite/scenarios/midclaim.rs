//! Scenario 15, `shutdown-mid-claim` (R47): `SIGTERM` reaches a process while a claim is
//! in flight — the store has leased runs to it, and the answer has not reached its
//! runtime yet (its store answers slowly). The shutdown waits for the claim, then gives
//! every run it brought back at once: another process runs them within moments, long
//! before their 30 s lease would have expired. The process started none of them and
//! exits 0.

use std::time::{Duration, Instant};

use bgtasks_reliability::runlog::now_micros;

use super::{check_completed_once, record};
use crate::harness::{Res, Spec, StoreKind, Suite, ensure, runs_of, secs};

const LEASE_MS: u64 = 30_000;
const CLAIM_DELAY_MS: u64 = 3000;
const JOBS: usize = 8;

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "midclaim").await?;
    let spec = Spec {
        workers: 4,
        lease_ms: LEASE_MS,
        renew_ms: 1000,
        grace_ms: 5000,
        ..Spec::default()
    };
    let mut staying = env.spawn("staying", spec).await?;
    staying.hold().await?;
    let delay = vec!["--claim-delay-ms".to_owned(), CLAIM_DELAY_MS.to_string()];
    let mut leaving = env.spawn_with("leaving", spec, &delay).await?;
    let ids: Vec<String> = (0..JOBS).map(|i| format!("midclaim-{i}")).collect();
    env.queue(ids.iter().map(|id| record(id.clone(), 300)).collect())
        .await?;
    leaving
        .wait_line("claimed ", Duration::from_secs(30))
        .await?;
    // The claim is in the store, not yet in the process: these runs are in flight.
    let in_flight = env.raw.leased_to("midclaim-", "leaving").await?;
    ensure!(
        !in_flight.is_empty(),
        "the claim announced by the process holds no lease"
    );
    let termed = now_micros();
    let sent = Instant::now();
    leaving.signal("TERM").await?;
    staying.release().await?;
    let (status, took) = leaving
        .wait_exit(sent, Duration::from_millis(CLAIM_DELAY_MS + 5000 + 10_000))
        .await?;
    ensure!(
        status.success(),
        "the terminated process exited with {status}"
    );
    ensure!(
        leaving.said_stopped(),
        "the terminated process did not shut down cleanly"
    );
    env.wait_completed("midclaim-", JOBS, Duration::from_secs(30))
        .await?;
    let runs = env.runs()?;
    let mut pickup = 0.0f64;
    for id in &in_flight {
        let job_runs = runs_of(&runs, id);
        ensure!(
            job_runs.len() == 1 && job_runs[0].pid == staying.pid && job_runs[0].finished(),
            "{id}, claimed by the leaving process mid-shutdown, should have run once on the \
             other: {job_runs:?}"
        );
        let after = secs(termed, job_runs[0].start.unwrap_or(i64::MAX));
        pickup = pickup.max(after);
        ensure!(
            after < 15.0,
            "{id} was taken up {after:.1} s after SIGTERM: not given back at once (lease {} s)",
            LEASE_MS / 1000
        );
    }
    ensure!(
        runs.iter().all(|r| r.pid != leaving.pid),
        "the leaving process started a run"
    );
    check_completed_once(&env, &ids).await?;
    let (status, _) = staying.terminate(Duration::from_secs(20)).await?;
    ensure!(status.success(), "the other process exited with {status}");
    env.raw.close().await;
    Ok(format!(
        "SIGTERM while a claim of {} runs was in flight (the store answering {:.0} s late): \
         the process waited for it, gave every run back and exited 0 after {:.1} s; the other \
         process ran each once, ≤ {pickup:.1} s after the SIGTERM (lease {} s); 0 lost",
        in_flight.len(),
        CLAIM_DELAY_MS as f64 / 1000.0,
        took.as_secs_f64(),
        LEASE_MS / 1000
    ))
}
