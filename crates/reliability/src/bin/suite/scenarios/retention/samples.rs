//! Samples of the run-log table and the pruning passes the workers logged, checked
//! against what a pass guarantees (R46).

use bgtasks_reliability::runlog::now_micros;

use super::{LOGS_PER_JOB, MAX_AGE_SECS, PASS_MS, log_count, run_time_micros};
use crate::harness::{Env, Res, Worker, ensure, secs};

/// The most run logs seen at once over the stretch.
#[derive(Debug, Default)]
pub(super) struct Peaks {
    pub(super) samples: usize,
    pub(super) table: i64,
    pub(super) fast: i64,
    pub(super) slow: i64,
    /// The oldest run log of the slow job, in seconds before the sample.
    pub(super) slow_age: f64,
}

/// The run logs of the two cron jobs at one moment.
#[derive(Debug)]
pub(super) struct Sample {
    /// When the read began and when it had returned, in µs since the epoch.
    pub(super) before: i64,
    pub(super) after: i64,
    /// The per-second job's log ids.
    pub(super) fast: Vec<String>,
    /// The slow job's logs: id and run time (µs).
    pub(super) slow: Vec<(String, i64)>,
}

/// Takes one sample of the run log table.
pub(super) async fn sample(env: &Env, peaks: &mut Peaks) -> Res<Sample> {
    peaks.samples += 1;
    let before = now_micros();
    let run_time = run_time_micros(env);
    let rows = env
        .raw
        .text_rows(&format!(
            "SELECT CAST(id AS TEXT), {run_time}, job_id FROM {} \
             WHERE job_id IN ('tick-fast', 'tick-slow')",
            env.raw.logs_table()
        ))
        .await?;
    let after = now_micros();
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    for (id, at, job) in rows {
        match job.as_deref() {
            Some("tick-fast") => fast.push(id),
            _ => slow.push((id, at)),
        }
    }
    peaks.table = peaks.table.max(log_count(env, None).await?);
    peaks.fast = peaks
        .fast
        .max(i64::try_from(fast.len()).unwrap_or(i64::MAX));
    peaks.slow = peaks
        .slow
        .max(i64::try_from(slow.len()).unwrap_or(i64::MAX));
    if let Some(oldest) = slow.iter().map(|(_, at)| *at).min() {
        peaks.slow_age = peaks.slow_age.max(secs(oldest, before));
    }
    Ok(Sample {
        before,
        after,
        fast,
        slow,
    })
}

/// A pruning pass: when it had completed (its log line), and a time it certainly began
/// after: a node's passes follow one another, each after a pause of the retention
/// interval, so a pass begins at least an interval after the line of the pass before it
/// on the same node. Only passes that removed something are logged; one that removed
/// nothing is missed, which only makes the check below take an earlier pass — looser,
/// never wrong.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pass {
    pub(super) ended: i64,
    pub(super) began_after: i64,
}

/// Taken off a pass's known start: the pause between passes is timed on the monotonic
/// clock, the log lines and the pass's age cutoff on the wall clock, which may drift
/// from it by a little over one interval.
const CLOCK_SLACK_US: i64 = 100_000;

/// The passes the workers logged, in µs since the epoch.
pub(super) fn pass_times(workers: &[Worker]) -> Vec<Pass> {
    let mut passes = Vec::new();
    for worker in workers {
        let mut ends: Vec<i64> = worker
            .log_lines("retention removed")
            .into_iter()
            .map(|(at, _)| at)
            .collect();
        ends.sort_unstable();
        passes.extend(ends.windows(2).map(|w| Pass {
            ended: w[1],
            began_after: w[0] + i64::try_from(PASS_MS * 1000).unwrap_or(i64::MAX) - CLOCK_SLACK_US,
        }));
    }
    passes
}

/// What the samples checked against the passes showed.
#[derive(Debug, Default)]
pub(super) struct Checked {
    pub(super) samples: usize,
    /// The most per-second logs left from before the last pass.
    pub(super) fast_old: usize,
    /// How long before the pass began the slow job's oldest survivor ran, at most.
    pub(super) slow_age_secs: f64,
    /// The longest from the last pass's start bound to a sample, in seconds.
    pub(super) latest_pass_secs: f64,
}

/// Checks what a pass guarantees (R46). For each sample, the last pass that completed
/// before it was read, and an earlier sample read before that pass began: the logs
/// present in both were seen by the pass, so of the per-second job at most
/// [`LOGS_PER_JOB`] of them are left, and of the slow job none that ran more than
/// [`MAX_AGE_SECS`] before the pass began.
pub(super) fn check_samples(samples: &[Sample], passes: &[Pass]) -> Res<Checked> {
    let mut checked = Checked {
        slow_age_secs: f64::MIN,
        ..Checked::default()
    };
    for sample in samples {
        let Some(pass) = passes
            .iter()
            .filter(|p| p.ended < sample.before)
            .max_by_key(|p| p.began_after)
        else {
            continue;
        };
        let Some(earlier) = samples
            .iter()
            .filter(|s| s.after < pass.began_after)
            .max_by_key(|s| s.after)
        else {
            continue;
        };
        checked.samples += 1;
        checked.latest_pass_secs = checked
            .latest_pass_secs
            .max(secs(pass.began_after, sample.before));
        let old: Vec<&String> = sample
            .fast
            .iter()
            .filter(|id| earlier.fast.contains(id))
            .collect();
        ensure!(
            old.len() <= LOGS_PER_JOB as usize,
            "the per-second job still held {} of the run logs it had {:.1} s before a pass that \
             completed {:.1} s before the sample (ids {old:?}); a pass keeps {LOGS_PER_JOB}",
            old.len(),
            secs(earlier.after, pass.began_after),
            secs(pass.ended, sample.before)
        );
        checked.fast_old = checked.fast_old.max(old.len());
        let limit = pass.began_after - MAX_AGE_SECS * 1_000_000;
        for (id, at) in sample
            .slow
            .iter()
            .filter(|(id, _)| earlier.slow.iter().any(|(e, _)| e == id))
        {
            checked.slow_age_secs = checked.slow_age_secs.max(secs(*at, pass.began_after));
            ensure!(
                *at >= limit,
                "the 4-second job still held run log {id} of {:.1} s before a pass that began \
                 after {} µs and completed {:.1} s before the sample; a pass keeps {MAX_AGE_SECS} s",
                secs(*at, pass.began_after),
                pass.began_after,
                secs(pass.ended, sample.before)
            );
        }
    }
    Ok(checked)
}
