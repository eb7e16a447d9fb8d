//! Scenario 1: `kill -9` of a worker process in the middle of its runs. After the lease
//! expires another process rescues every run it held and completes each exactly once
//! more; the try count is not charged; the run log of each job shows the interruption.

use std::time::{Duration, Instant};

use bgtasks_reliability::runlog::{self, now_micros};

use super::{check_completed_once, logs_of, record};
use crate::harness::{Res, Spec, StoreKind, Suite, deaths, ensure, runs_of, secs, wait_for};

const JOBS: usize = 4;
const WORK_MS: u64 = 3000;

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "kill9").await?;
    let spec = Spec {
        workers: 2,
        lease_ms: 2000,
        renew_ms: 400,
        rescue_ms: 400,
        ..Spec::default()
    };
    // The survivor starts first and is held: it claims nothing until the kill, so the
    // doomed node holds every run, and no process start-up delays the kill.
    let mut survivor = env
        .spawn(
            "survivor",
            Spec {
                workers: JOBS,
                ..spec
            },
        )
        .await?;
    survivor.hold().await?;
    let mut doomed = env.spawn("doomed", spec).await?;
    let ids: Vec<String> = (0..JOBS).map(|i| format!("k9-{i}")).collect();
    env.queue(ids.iter().map(|id| record(id.clone(), WORK_MS)).collect())
        .await?;
    // Two runs start on the doomed node (two workers); the other two are claimed with
    // them (prefetch) and wait for a worker.
    wait_for(Duration::from_secs(20), "two runs to start", || async {
        let runs = env.runs()?;
        Ok((runs.iter().filter(|r| r.start.is_some()).count() >= 2).then_some(()))
    })
    .await?;
    let killed_at = now_micros();
    let kill_clock = Instant::now();
    doomed.kill9().await?;
    survivor.release().await?;
    env.wait_completed("k9-", JOBS, Duration::from_secs(30))
        .await?;
    let recovered_in = kill_clock.elapsed();

    let runs = env.runs()?;
    let on_doomed: Vec<_> = runs.iter().filter(|r| r.pid == doomed.pid).collect();
    let interrupted = on_doomed.iter().filter(|r| r.start.is_some()).count();
    ensure!(
        interrupted == 2 && on_doomed.iter().all(|r| !r.finished()),
        "the doomed node should have had 2 runs going and none finished; it had {interrupted} started, {} finished",
        on_doomed.iter().filter(|r| r.finished()).count()
    );
    let mut latest_rescue = 0.0f64;
    let mut latest_restart = 0.0f64;
    for id in &ids {
        let job_runs = runs_of(&runs, id);
        let finished: Vec<_> = job_runs.iter().filter(|r| r.finished()).collect();
        ensure!(
            finished.len() == 1 && finished[0].pid == survivor.pid,
            "job {id} should have completed exactly once, on the survivor; runs: {job_runs:?}"
        );
        let started = finished[0].start.unwrap_or_default();
        ensure!(started > killed_at, "job {id} restarted before the kill");
        let logs = logs_of(&env, id, 2).await?;
        let interruptions: Vec<_> = logs
            .iter()
            .filter(|l| {
                l.exception
                    .as_deref()
                    .is_some_and(|e| e.contains("lease of node `doomed` expired"))
            })
            .collect();
        if let Some(rescue) = interruptions.first() {
            let rescued = secs(killed_at, runlog::micros(rescue.run_time));
            latest_rescue = latest_rescue.max(rescued);
            latest_restart = latest_restart.max(secs(killed_at, started));
        }
        ensure!(
            interruptions.len() == 1 && logs.len() == 2,
            "job {id}: expected one interruption log naming node `doomed` and one run log, got {:?}",
            logs.iter()
                .map(|l| (l.node.clone(), l.message.clone(), l.exception.clone()))
                .collect::<Vec<_>>()
        );
    }
    // A lease of 2 s renewed every 0.4 s and rescued every 0.4 s: rescued within
    // lease + rescue interval (+ generous slack for a loaded machine), and run soon after.
    ensure!(
        latest_rescue <= 2.0 + 0.4 + 5.0,
        "the last run was rescued {latest_rescue:.1} s after the kill"
    );
    ensure!(
        latest_restart - latest_rescue <= 5.0,
        "rescued runs started up to {latest_restart:.1} s after the kill, {latest_rescue:.1} s after their rescue"
    );
    check_completed_once(&env, &ids).await?;
    let overlaps = runlog::overlaps(&runs, &deaths(&[&doomed, &survivor]));
    ensure!(overlaps.is_empty(), "concurrent duplicates: {overlaps:?}");
    env.raw.close().await;
    Ok(format!(
        "{JOBS} jobs, 2 processes, 1 kill -9 with {interrupted} runs mid-way and {} claimed but not started; \
         all {JOBS} rescued ≤ {latest_rescue:.1} s after the kill (lease 2 s) and completed exactly once more, started ≤ {latest_restart:.1} s after the kill, \
         try count 0, {JOBS} interruption logs naming the dead node, 0 duplicates, 0 lost; recovered in {:.1} s",
        JOBS - interrupted,
        recovered_in.as_secs_f64()
    ))
}
