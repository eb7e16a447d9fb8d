//! `retention` (R46): a per-second cron runs for a minute on two processes whose
//! retention loops prune every 2 s, keeping 10 run logs per job and none older than 20 s.
//! The run log table is sampled twice a second: the per-second job never holds more than
//! its 10 logs plus what one pass interval adds, and a job on a 4-second cron — under
//! the count bound — keeps only its logs of the last 20 s (plus a pass). Meanwhile a job
//! that fails every run with the failure-mail action (planned, never sent) is removed
//! through the store API: its logs and its actions go with it (checked with SQL), and
//! nothing is planned for it afterwards — not even when a job is queued again under its
//! id, which does not inherit the old job's actions. Mails already planned for its past
//! failures are kept for delivery (an alert about a removed job still goes out).

use std::time::{Duration, Instant};

use bgtasks::store::RemoveIf;
use bgtasks::{JobInfo, JobStatus};
use bgtasks_reliability::settings;

use super::alerts::{mail_action, mail_args};
use super::record;
use crate::harness::{Context, Env, Res, Spec, StoreKind, Suite, ensure, runs_of, wait_for};

/// How long the per-second cron runs.
const STRETCH: Duration = Duration::from_secs(60);
const PASS_MS: u64 = 2000;
const LOGS_PER_JOB: i64 = 10;
const MAX_AGE_SECS: i64 = 20;
/// Seconds between two runs of the slow job.
const SLOW_EVERY: i64 = 4;

/// How many run logs of job `id` the table holds (`None`: all jobs).
async fn log_count(env: &Env, id: Option<&str>) -> Res<i64> {
    let filter = id
        .map(|id| format!(" WHERE job_id = '{id}'"))
        .unwrap_or_default();
    env.raw
        .number(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {}{filter}",
            env.raw.logs_table()
        ))
        .await
}

/// How many notifications of job `id` are stored.
async fn notification_count(env: &Env, id: &str) -> Res<i64> {
    env.raw
        .number(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM bgtasks_notifications WHERE job_id = '{id}'"
        ))
        .await
}

/// The most run logs seen at once over the stretch.
#[derive(Debug, Default)]
struct Peaks {
    samples: usize,
    table: i64,
    fast: i64,
    slow: i64,
    /// The oldest run log of the slow job, in seconds before the sample.
    slow_age: f64,
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "retention").await?;
    let mut args = settings::args(&[
        ("retention.interval_ms", PASS_MS.to_string()),
        ("retention.logs_per_job", LOGS_PER_JOB.to_string()),
        (
            "retention.log_max_age_ms",
            (MAX_AGE_SECS * 1000).to_string(),
        ),
    ]);
    // The failure mail is planned with each outcome and never sent (nothing listens on
    // the discard port): the notifications stay in the outbox to be counted.
    args.extend(mail_args("127.0.0.1:9", &["--alerts", "plan-only"]));
    let mut workers = Vec::new();
    for node in ["keep-1", "keep-2"] {
        workers.push(env.spawn_with(node, Spec::default(), &args).await?);
    }
    let doomed = || {
        record("doomed", 0)
            .with_arg("fail", true)
            .with_interval(1)
            .with_max_try_count(1000)
    };
    env.queue(vec![
        JobInfo::period("tick-fast", "tick", "0/1 * * * * ?"),
        JobInfo::period("tick-slow", "tick", format!("0/{SLOW_EVERY} * * * * ?")),
        doomed().with_action(mail_action("every")),
    ])
    .await?;
    let began = Instant::now();
    let mut peaks = Peaks::default();
    let mut removal: Option<Removal> = None;
    while began.elapsed() < STRETCH {
        sample(&env, &mut peaks).await?;
        if removal.is_none() && began.elapsed() > Duration::from_secs(15) {
            removal = Some(remove_doomed(&env).await?);
            env.queue(vec![doomed()]).await?;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let removal = removal.ctx("the failing job was never removed")?;
    // The job queued again under the removed id fails without a mail: it has no actions.
    let requeued = wait_for(
        Duration::from_secs(20),
        "the new `doomed` to fail",
        || async {
            let job = env
                .store
                .jobs
                .find("doomed")
                .await
                .ctx("find")?
                .ok_or("doomed lost")?;
            Ok((job.job.try_count >= 2).then_some(job.job))
        },
    )
    .await?;
    ensure!(
        requeued.actions.is_empty() && requeued.status == JobStatus::FailedRetry,
        "the job queued again under a removed id: {} with actions {:?}",
        requeued.status,
        requeued.actions
    );
    let after = notification_count(&env, "doomed").await?;
    ensure!(
        after == removal.kept,
        "{} notifications were planned for `doomed` after it was removed (it had {}, now {after})",
        after - removal.kept,
        removal.kept
    );
    for worker in &mut workers {
        ensure!(worker.alive(), "worker {} died", worker.node);
    }

    let fast_bound = LOGS_PER_JOB + PASS_MS as i64 / 1000 + 1;
    ensure!(
        peaks.fast <= fast_bound,
        "the per-second job held {} run logs at once; the bound is {LOGS_PER_JOB} + one pass",
        peaks.fast
    );
    let slow_bound = MAX_AGE_SECS / SLOW_EVERY + 2;
    let age_bound = (MAX_AGE_SECS * 1000 + PASS_MS as i64) as f64 / 1000.0 + 1.0;
    ensure!(
        peaks.slow <= slow_bound && peaks.slow_age <= age_bound,
        "the 4-second job held {} run logs at once, the oldest {:.1} s old; the bound is {MAX_AGE_SECS} s + one pass",
        peaks.slow,
        peaks.slow_age
    );
    let runs = env.runs()?;
    let fast_runs = runs_of(&runs, "tick-fast").len();
    let slow_runs = runs_of(&runs, "tick-slow").len();
    let fast_left = log_count(&env, Some("tick-fast")).await?;
    ensure!(
        fast_runs >= 50 && i64::try_from(fast_runs).unwrap_or(i64::MAX) > fast_left,
        "the per-second job ran {fast_runs} times in {} s",
        STRETCH.as_secs()
    );
    let pruned: usize = workers
        .iter()
        .map(|w| w.log_count("retention removed"))
        .sum();
    for worker in &mut workers {
        worker.terminate(Duration::from_secs(15)).await?;
    }
    env.raw.close().await;
    Ok(format!(
        "a per-second cron for {} s ({fast_runs} runs) and a 4-second one ({slow_runs} runs) on 2 processes, \
         retention every {:.0} s keeping {LOGS_PER_JOB} logs per job and {MAX_AGE_SECS} s: over {} samples \
         the table peaked at {} rows, the per-second job at {} logs (bound {fast_bound}), the 4-second one at \
         {} logs, the oldest {:.1} s old; {pruned} pruning passes removed logs; the failing job removed with \
         its {} logs and its action: 0 logs and 0 job rows left, no actions table, 0 notifications planned \
         after (nor for a job queued again under its id), {} already planned kept for delivery",
        STRETCH.as_secs(),
        PASS_MS as f64 / 1000.0,
        peaks.samples,
        peaks.table,
        peaks.fast,
        peaks.slow,
        peaks.slow_age,
        removal.logs,
        removal.kept
    ))
}

/// Takes one sample of the run log table.
async fn sample(env: &Env, peaks: &mut Peaks) -> Res<()> {
    peaks.samples += 1;
    peaks.table = peaks.table.max(log_count(env, None).await?);
    peaks.fast = peaks.fast.max(log_count(env, Some("tick-fast")).await?);
    let slow = env
        .store
        .jobs
        .list_logs("tick-slow", 100)
        .await
        .ctx("list the slow job's logs")?;
    peaks.slow = peaks
        .slow
        .max(i64::try_from(slow.len()).unwrap_or(i64::MAX));
    let now = chrono::Utc::now();
    if let Some(oldest) = slow.iter().map(|l| l.run_time).min() {
        let age = (now - oldest).num_milliseconds() as f64 / 1000.0;
        peaks.slow_age = peaks.slow_age.max(age);
    }
    Ok(())
}

/// What removing the failing job took away and left.
struct Removal {
    /// Its run logs before the removal.
    logs: i64,
    /// Its notifications planned before the removal (kept for delivery).
    kept: i64,
}

/// Removes the failing job through the store API once it has failed a few times, and
/// checks with SQL that its logs and actions are gone.
async fn remove_doomed(env: &Env) -> Res<Removal> {
    let record = wait_for(
        Duration::from_secs(20),
        "`doomed` to fail 3 times",
        || async {
            let job = env
                .store
                .jobs
                .find("doomed")
                .await
                .ctx("find")?
                .ok_or("doomed lost")?;
            Ok((job.job.try_count >= 3).then_some(job))
        },
    )
    .await?;
    ensure!(
        record.job.actions.len() == 1,
        "`doomed` should carry its failure-mail action"
    );
    let logs = log_count(env, Some("doomed")).await?;
    let planned = notification_count(env, "doomed").await?;
    ensure!(
        logs >= 3 && planned >= 1,
        "`doomed` has {logs} run logs and {planned} planned mails before its removal"
    );
    env.store
        .jobs
        .remove("doomed", RemoveIf::Always)
        .await
        .ctx("remove `doomed`")?
        .map_err(|refusal| format!("the removal of `doomed` was refused: {refusal:?}"))?;
    let rows = env
        .raw
        .number("SELECT CAST(COUNT(*) AS BIGINT) FROM bgtasks_jobs WHERE id = 'doomed'")
        .await?;
    let left = log_count(env, Some("doomed")).await?;
    let actions_table = match env.raw {
        crate::harness::RawDb::Sqlite(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) FROM sqlite_master WHERE name = 'bgtasks_job_actions'"
        }
        crate::harness::RawDb::Postgres(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_tables WHERE tablename = 'bgtasks_job_actions'"
        }
    };
    let tables = env.raw.number(actions_table).await?;
    ensure!(
        rows == 0 && left == 0 && tables == 0,
        "after removing `doomed`: {rows} job rows (holding its actions), {left} run logs, {tables} actions tables"
    );
    // Counted after the removal: an outcome saved just before it may have planned one
    // more; none may come after it.
    let kept = notification_count(env, "doomed").await?;
    ensure!(
        kept >= planned,
        "removing `doomed` removed {} of its planned mails",
        planned - kept
    );
    Ok(Removal { logs, kept })
}
