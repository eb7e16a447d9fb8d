//! The scenarios, one module each.

pub(crate) mod admin_race;
pub(crate) mod alerts;
pub(crate) mod alerts_outage;
pub(crate) mod bad_input;
pub(crate) mod control;
pub(crate) mod cron;
pub(crate) mod deploy;
pub(crate) mod huge;
pub(crate) mod hung;
pub(crate) mod kill9;
pub(crate) mod ladder;
pub(crate) mod listeners;
pub(crate) mod load;
pub(crate) mod midclaim;
pub(crate) mod outage;
pub(crate) mod partition;
pub(crate) mod poison;
pub(crate) mod race;
pub(crate) mod renewal;
pub(crate) mod retention;
pub(crate) mod sigterm;

use std::time::Duration;

use bgtasks::{JobInfo, JobLog, JobStatus};

use crate::harness::{Context, Env, Res, ensure, wait_for};

/// A `record` job that works for `sleep_ms` milliseconds.
pub(crate) fn record(id: impl Into<String>, sleep_ms: u64) -> JobInfo {
    JobInfo::once(id, "record").with_arg("sleep_ms", sleep_ms)
}

/// Each job is in the store, Completed, ran once as far as its counters tell (trigger
/// count 1, try count 0, not abandoned), and holds no lease.
pub(crate) async fn check_completed_once(env: &Env, ids: &[String]) -> Res<()> {
    for id in ids {
        let job = env
            .store
            .jobs
            .find(id)
            .await
            .ctx("find a job")?
            .ok_or_else(|| format!("job {id} is lost: not in the store"))?
            .job;
        ensure!(
            job.status == JobStatus::Completed
                && job.trigger_count == 1
                && job.try_count == 0
                && !job.is_abandoned
                && job.next_run_time.is_none(),
            "job {id}: expected Completed, trigger count 1, try count 0; got {} / {} / {} (abandoned {}, next {:?})",
            job.status,
            job.trigger_count,
            job.try_count,
            job.is_abandoned,
            job.next_run_time
        );
    }
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let leased: Vec<String> = env
        .raw
        .states("")
        .await?
        .into_iter()
        .filter(|s| s.leased && wanted.contains(s.id.as_str()))
        .map(|s| s.id)
        .collect();
    ensure!(leased.is_empty(), "jobs still hold a lease: {leased:?}");
    Ok(())
}

/// The run logs of a job once there are at least `count` (logs are written in batches,
/// shortly after the job's state).
pub(crate) async fn logs_of(env: &Env, id: &str, count: usize) -> Res<Vec<JobLog>> {
    wait_for(
        Duration::from_secs(10),
        &format!("{count} run logs of {id}"),
        || async {
            let logs = env
                .store
                .jobs
                .list_logs(id, 100)
                .await
                .ctx("list run logs")?;
            Ok((logs.len() >= count).then_some(logs))
        },
    )
    .await
}

/// Runs that were interrupted (a `cancel` line) less than a lease after their own claim
/// while their process was running normally (not within one of the `frozen` intervals,
/// in microseconds): their own lease cannot have expired, so the runtime interrupted them
/// for the loss of an earlier lease of the same job. This is the known defect described
/// in docs/reliability.md; scenarios count these runs and report them.
pub(crate) fn interrupted_for_an_old_lease<'a>(
    runs: &'a [bgtasks_reliability::runlog::Run],
    lease_ms: u64,
    frozen: &[(i64, i64)],
) -> Vec<&'a bgtasks_reliability::runlog::Run> {
    let lease = i64::try_from(lease_ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    runs.iter()
        .filter(|run| {
            run.cancel.is_some_and(|cancel| {
                cancel - run.claimed < lease
                    && !frozen
                        .iter()
                        .any(|(from, to)| *from < cancel && *to > run.claimed)
            })
        })
        .collect()
}

/// When the lease a rescue log reports expired, in microseconds since the epoch (the
/// stores write "the lease of node `N` expired at <RFC 3339> before the run completed").
pub(crate) fn lease_expiry(log: &JobLog) -> Option<i64> {
    let text = log.exception.as_deref()?;
    let after = text.split("expired at ").nth(1)?;
    let stamp = after.split(' ').next()?;
    chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.timestamp_micros())
}
