//! `poison-crash-loop` (R43): a job whose run aborts its process (`std::process::abort`
//! right after its `start` line). The suite restarts the dead process each time, as a
//! service manager would. Every claim counts an attempt; after `max_rescues` (2 here)
//! rescues in a row the next claim does not run the job but fails it as System
//! (`bgtasks.crashed`), and the retry policy takes over: one more try after the interval,
//! two more crashes, and the job is abandoned at its max try count (2) — four crashes in
//! all, never a fifth. The four runs that were in flight on the process at the first
//! crash are rescued and completed exactly once by the other process; nothing is lost.
//!
//! Work goes where the scenario needs it, not where luck sends it: the steady process
//! is held until the first crash, so the bystanders run on the doomed one; the restarted
//! process runs only the poison job's type, so no bystander is caught in a later crash
//! (a run rescued twice in a row is itself charged, by design).

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use bgtasks::{JobExceptionType, JobInfo, JobStatus};
use bgtasks_reliability::runlog;
use bgtasks_reliability::settings;

use super::{check_completed_once, logs_of, record};
use crate::harness::{
    Context, Res, Spec, StoreKind, Suite, Worker, deaths, ensure, runs_of, secs, wait_for,
};

const BYSTANDERS: usize = 4;
const WORK_MS: u64 = 4000;
const MAX_RESCUES: u32 = 2;
const MAX_TRIES: i32 = 2;
/// Crashes before abandonment: each try is `MAX_RESCUES` crashes, then a failure.
const CRASHES: usize = MAX_RESCUES as usize * MAX_TRIES as usize;

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "poison").await?;
    let spec = Spec {
        workers: BYSTANDERS + 1,
        lease_ms: 2000,
        renew_ms: 400,
        rescue_ms: 400,
        ..Spec::default()
    };
    let rescues = settings::args(&[("max_rescues", MAX_RESCUES.to_string())]);
    let with_types = |types: &str| {
        let mut args = vec!["--types".to_owned(), types.to_owned()];
        args.extend(rescues.iter().cloned());
        args
    };
    let mut steady = env
        .spawn_with("steady", spec, &with_types("record"))
        .await?;
    steady.hold().await?;
    let mut crash = env
        .spawn_with("crash", spec, &with_types("record,poison"))
        .await?;
    let ids: Vec<String> = (0..BYSTANDERS).map(|i| format!("bystander-{i}")).collect();
    env.queue(ids.iter().map(|id| record(id.clone(), WORK_MS)).collect())
        .await?;
    wait_for(
        Duration::from_secs(20),
        "the bystanders to start",
        || async {
            let runs = env.runs()?;
            Ok((runs.iter().filter(|r| r.start.is_some()).count() >= BYSTANDERS).then_some(()))
        },
    )
    .await?;
    env.queue(vec![
        JobInfo::once("poison", "poison")
            .with_arg("abort", true)
            .with_interval(1)
            .with_max_try_count(MAX_TRIES),
    ])
    .await?;

    // Restart the process each time it dies, until the poison job is abandoned.
    let mut dead: Vec<Worker> = Vec::new();
    let began = Instant::now();
    loop {
        if !crash.alive() {
            let status = crash
                .child
                .wait()
                .await
                .ctx("wait for the crashed worker")?;
            crash.died = Some(runlog::now_micros());
            crash.exit = Some(status);
            if dead.is_empty() {
                steady.release().await?;
            }
            let restarted = env.spawn_with("crash", spec, &with_types("poison")).await?;
            dead.push(std::mem::replace(&mut crash, restarted));
            ensure!(
                dead.len() <= CRASHES,
                "the poison job crashed its process {} times; after {CRASHES} it should have been abandoned",
                dead.len()
            );
        }
        let poison = env
            .store
            .jobs
            .find("poison")
            .await
            .ctx("find")?
            .ok_or("poison lost")?;
        if poison.job.is_abandoned && poison.lease.is_none() {
            break;
        }
        ensure!(
            began.elapsed() < Duration::from_secs(120),
            "after 120 s the poison job is {} at try {} with {} crashes",
            poison.job.status,
            poison.job.try_count,
            dead.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.wait_completed("bystander-", BYSTANDERS, Duration::from_secs(30))
        .await?;
    // The last process lives on: no fifth crash comes after the abandonment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ensure!(
        crash.alive() && steady.alive(),
        "a worker died after the poison job was abandoned"
    );

    ensure!(
        dead.len() == CRASHES,
        "{} crashes, expected {CRASHES} ({MAX_TRIES} tries × {MAX_RESCUES} rescues)",
        dead.len()
    );
    for worker in &dead {
        let signal = worker.exit.and_then(|s| s.signal());
        ensure!(
            signal == Some(6),
            "a crashed worker ended with {:?}, not SIGABRT",
            worker.exit
        );
    }
    let record = env
        .store
        .jobs
        .find("poison")
        .await
        .ctx("find")?
        .ok_or("poison lost")?;
    let poison = &record.job;
    ensure!(
        poison.status == JobStatus::Stopped
            && poison.try_count == MAX_TRIES
            && poison.next_run_time.is_none(),
        "the poison job: expected Stopped at try {MAX_TRIES}, no next run; got {} at try {} (next {:?})",
        poison.status,
        poison.try_count,
        poison.next_run_time
    );
    let claims = CRASHES + MAX_TRIES as usize;
    ensure!(
        record.attempts == claims as i64,
        "the poison job counted {} attempts; it was claimed {claims} times",
        record.attempts
    );
    let logs = logs_of(&env, "poison", claims).await?;
    let rescued = logs
        .iter()
        .filter(|l| {
            l.exception
                .as_deref()
                .is_some_and(|e| e.contains("lease of node `crash` expired"))
        })
        .count();
    let crashed: Vec<_> = logs
        .iter()
        .filter(|l| {
            l.exception
                .as_deref()
                .is_some_and(|e| e.contains(&format!("rescued {MAX_RESCUES} times in a row")))
        })
        .collect();
    ensure!(
        rescued == CRASHES
            && crashed.len() == MAX_TRIES as usize
            && crashed
                .iter()
                .all(|l| l.exception_type == Some(JobExceptionType::SYSTEM)),
        "the poison job's run logs: expected {CRASHES} rescues and {MAX_TRIES} System failures for crashing; got {:?}",
        logs.iter()
            .map(|l| (l.exception_type, l.exception.clone()))
            .collect::<Vec<_>>()
    );

    let runs = env.runs()?;
    let poison_runs = runs_of(&runs, "poison");
    let started = poison_runs.iter().filter(|r| r.start.is_some()).count();
    ensure!(
        poison_runs.len() == claims && started == CRASHES,
        "the poison job: {} claims and {started} runs started in the run logs; expected {claims} claims, \
         {CRASHES} started (the failed claims do not run it)",
        poison_runs.len()
    );
    // The retry of the first crashed failure waits for the interval ×1.5 (2 s).
    let mut failures: Vec<_> = crashed.iter().map(|l| runlog::micros(l.run_time)).collect();
    failures.sort_unstable();
    // The failed claim is the one closest to the failure's run time; the retry, the next.
    let failed = poison_runs
        .iter()
        .enumerate()
        .min_by_key(|(_, r)| (r.claimed - failures[0]).abs())
        .map(|(i, _)| i)
        .ctx("no claim of the poison job")?;
    let retry = poison_runs
        .get(failed + 1)
        .map(|r| r.claimed)
        .ctx("no claim after the first failure")?;
    let retried_after = secs(failures[0], retry);
    ensure!(
        retried_after >= 1.9,
        "the poison job was claimed again {retried_after:.2} s after its first failure; its retry interval is 2 s"
    );

    check_completed_once(&env, &ids).await?;
    for id in &ids {
        let job_runs = runs_of(&runs, id);
        let finished: Vec<_> = job_runs.iter().filter(|r| r.finished()).collect();
        ensure!(
            finished.len() == 1 && finished[0].pid == steady.pid,
            "bystander {id} should have completed exactly once, on the steady process; runs: {job_runs:?}"
        );
    }
    let mut all: Vec<&Worker> = dead.iter().collect();
    all.extend([&crash, &steady]);
    let overlaps = runlog::overlaps(&runs, &deaths(&all));
    ensure!(overlaps.is_empty(), "concurrent duplicates: {overlaps:?}");
    let took = began.elapsed().as_secs_f64();
    env.raw.close().await;
    Ok(format!(
        "a job that aborts its process: {CRASHES} crashes (SIGABRT), each process restarted; after {MAX_RESCUES} \
         rescues in a row the claim failed it as System without running it ({} failures), retried \
         {retried_after:.1} s later, abandoned at try {MAX_TRIES} with {} attempts counted, no 5th crash; \
         the {BYSTANDERS} runs in flight at the first crash rescued and completed exactly once by the other \
         process, 0 duplicates, 0 lost; {took:.1} s from the first crash to abandonment",
        crashed.len(),
        record.attempts
    ))
}
