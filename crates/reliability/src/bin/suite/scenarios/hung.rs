//! `hung-runnable` (R44): a runnable that ignores its cancellation, with a time limit of
//! 2 s, on a process with a single worker. At the limit the run is cancelled; it does not
//! stop, so after the grace (1.5 s) it is dropped and the worker is free: the job queued
//! behind it runs on that same worker. The run fails with code `Timeout`, which the
//! finder classifies System (a second process maps the code to Network, showing that the
//! code is what decides), and the job follows its retry policy: retried after its
//! interval ×1.5, then abandoned at its max try count. The dropped runs never reach
//! their end.

use std::time::Duration;

use bgtasks::{JobExceptionType, JobInfo, JobLog, JobStatus};
use bgtasks_reliability::runlog::Run;
use bgtasks_reliability::settings;

use super::{check_completed_once, logs_of, record};
use crate::harness::{Context, Env, Res, Spec, StoreKind, Suite, ensure, runs_of, secs, wait_for};

const LIMIT_SECS: u64 = 2;
const GRACE_MS: u64 = 1500;
/// The job's interval: its first retry comes 3 s (2 × 1.5) after the failure.
const INTERVAL_SECS: i64 = 2;

/// A run that sleeps ten minutes, deaf to its cancellation, limited to [`LIMIT_SECS`],
/// pinned to `node`, two tries.
fn hung(id: &str, node: &str) -> JobInfo {
    record(id, 600_000)
        .with_arg("ignore_cancel", true)
        .with_time_limit(Duration::from_secs(LIMIT_SECS))
        .with_interval(INTERVAL_SECS)
        .with_max_try_count(2)
        .with_node(node)
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "hung").await?;
    let spec = Spec {
        workers: 1,
        ..Spec::default()
    };
    let grace = settings::args(&[("time_limit_grace_ms", GRACE_MS.to_string())]);
    let mut single = env.spawn_with("single", spec, &grace).await?;
    let mut mapped_args = grace.clone();
    mapped_args.extend(settings::args(&[(
        "error_code.Timeout",
        "network".to_owned(),
    )]));
    let mut mapped = env.spawn_with("mapped", spec, &mapped_args).await?;
    env.queue(vec![hung("hung", "single"), hung("hung-mapped", "mapped")])
        .await?;
    let first = wait_for(Duration::from_secs(20), "the hung run to start", || async {
        Ok(started(&env.runs()?, "hung").first().map(|r| (*r).clone()))
    })
    .await?;
    // Queued once the hung run holds the only worker: it can run only when that worker
    // is free again.
    env.queue(vec![record("after", 0).with_node("single")])
        .await?;

    // After the first failure: FailedRetry, one try charged, the next run after the
    // interval grown ×1.5.
    let retry = wait_for(Duration::from_secs(20), "the first Timeout", || async {
        let job = env
            .store
            .jobs
            .find("hung")
            .await
            .ctx("find")?
            .ok_or("hung is lost")?;
        Ok((job.job.try_count >= 1).then_some(job.job))
    })
    .await?;
    ensure!(
        retry.status == JobStatus::FailedRetry && retry.try_count == 1 && !retry.is_abandoned,
        "after the first Timeout: expected FailedRetry, try 1; got {} / try {} (abandoned {})",
        retry.status,
        retry.try_count,
        retry.is_abandoned
    );
    let next = retry
        .next_run_time
        .ctx("the retried job has no next run time")?;
    let last = retry
        .last_run_time
        .ctx("the retried job has no last run time")?;
    // The run ended when it was dropped, at its limit + grace; the retry is due the
    // grown interval after that.
    let cut_at = LIMIT_SECS as f64 + GRACE_MS as f64 / 1000.0;
    let retry_after = (next - last).num_milliseconds() as f64 / 1000.0 - cut_at;
    ensure!(
        retry.interval == 3 && (2.99..=4.0).contains(&retry_after),
        "the retry should come 3 s (2 s × 1.5) after the run ended; interval {} s, next run {retry_after:.3} s after it",
        retry.interval
    );

    for id in ["hung", "hung-mapped"] {
        wait_for(
            Duration::from_secs(30),
            &format!("{id} to be abandoned"),
            || async {
                let job = env
                    .store
                    .jobs
                    .find(id)
                    .await
                    .ctx("find")?
                    .ok_or("job lost")?;
                Ok((job.job.is_abandoned && job.lease.is_none()).then_some(()))
            },
        )
        .await?;
    }
    env.wait_completed("after", 1, Duration::from_secs(10))
        .await?;
    check_completed_once(&env, &["after".to_owned()]).await?;
    for worker in [&mut single, &mut mapped] {
        ensure!(worker.alive(), "worker {} died", worker.node);
    }

    let runs = env.runs()?;
    let hung_runs = started(&runs, "hung");
    ensure!(
        hung_runs.len() == 2 && started(&runs, "hung-mapped").len() == 2,
        "each hung job should have run twice (two tries); runs: {:?}",
        runs_of(&runs, "hung")
    );
    let deaf = runs
        .iter()
        .filter(|r| r.job.starts_with("hung") && (r.end.is_some() || r.cancel.is_some()))
        .count();
    ensure!(
        deaf == 0,
        "{deaf} hung runs reached their end or saw their cancellation: they were not dropped"
    );
    let after = runs_of(&runs, "after");
    let after_start = after
        .first()
        .and_then(|r| r.start)
        .ctx("the job behind the hung run never started")?;
    ensure!(
        after[0].pid == single.pid,
        "the job behind the hung run ran on another process"
    );
    let first_start = first.start.unwrap_or_default();
    let freed_after = secs(first_start, after_start);
    ensure!(
        freed_after >= cut_at - 0.05 && freed_after <= cut_at + 4.0,
        "the worker was free {freed_after:.2} s after the hung run started; the limit and grace are {cut_at:.1} s"
    );
    let retried_after = secs(first_start, hung_runs[1].start.unwrap_or_default());

    let system = timeouts(&env, "hung", JobExceptionType::SYSTEM).await?;
    let network = timeouts(&env, "hung-mapped", JobExceptionType::NETWORK).await?;
    let stored = env
        .store
        .jobs
        .find("hung")
        .await
        .ctx("find")?
        .ok_or("hung lost")?
        .job;
    ensure!(
        (stored.status, stored.try_count, stored.next_run_time) == (JobStatus::Stopped, 2, None),
        "after the second Timeout: expected Stopped, try 2, no next run; got {} / try {} / next {:?}",
        stored.status,
        stored.try_count,
        stored.next_run_time
    );
    env.raw.close().await;
    Ok(format!(
        "a runnable deaf to cancellation with a {LIMIT_SECS} s time limit on a 1-worker process: cut and \
         dropped, the worker free {freed_after:.2} s after it started (limit + grace {cut_at:.1} s), the job \
         behind it run there; {system} Timeout failures classified System (and {network} Network where the \
         code map says so); FailedRetry at try 1, due again {retry_after:.2} s after the dropped run \
         ended (interval 2 s ×1.5; rerun {retried_after:.1} s after the first start), Stopped and abandoned at try 2; 0 of 4 dropped \
         runs reached their end"
    ))
}

/// The runs of job `id` that started (exactly that id), in order.
fn started<'a>(runs: &'a [Run], id: &str) -> Vec<&'a Run> {
    runs_of(runs, id)
        .into_iter()
        .filter(|r| r.start.is_some())
        .collect()
}

/// Checks that job `id` has two run logs, each a time-limit failure of type `expected`;
/// how many.
async fn timeouts(env: &Env, id: &str, expected: JobExceptionType) -> Res<usize> {
    let logs: Vec<JobLog> = logs_of(env, id, 2).await?;
    let failures = logs
        .iter()
        .filter(|l| {
            l.exception_type == Some(expected)
                && l.exception
                    .as_deref()
                    .is_some_and(|e| e.contains("ran past its time limit of 2 s"))
        })
        .count();
    ensure!(
        failures == 2 && logs.len() == 2,
        "job {id}: expected 2 time-limit failures of type {expected}; logs: {:?}",
        logs.iter()
            .map(|l| (l.exception_type, l.exception.clone()))
            .collect::<Vec<_>>()
    );
    Ok(failures)
}
