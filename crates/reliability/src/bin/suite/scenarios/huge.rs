//! `huge-values` (R42): every range-checked field of a definition at its limit and one
//! beyond, queued through the real store. At the limit the job is stored and read back
//! unchanged; one beyond, `queue` fails with an error naming the job, the field and the
//! value, and nothing is written. A job with every bound at its limit at once is claimed
//! and run by a worker, and scheduled ten years on. Then rows poisoned straight in the
//! database (see [`rows`]) are set aside or skipped with a clear log, and the node goes on
//! claiming: an innocent job queued after them runs.

mod rows;

use std::time::Duration;

use bgtasks::abstractions::{
    MAX_ACTIONS, MAX_ARGS_BYTES, MAX_COUNT, MAX_ID_CHARS, MAX_INTERVAL_SECS, MAX_LOCK_TIMEOUT_SECS,
    MAX_NAME_CHARS, MAX_TIME_LIMIT_SECS, MAX_TIME_SECS, MIN_TIME_SECS,
};
use bgtasks::actions::JobAction;
use bgtasks::{JobInfo, JobScheduler};
use chrono::{DateTime, Utc};

use crate::harness::{Context, Env, Res, Spec, StoreKind, Suite, ensure, runs_of, wait_for};

/// Sets a field of a job to a value.
type Setter<T> = fn(&mut JobInfo, T);
/// A field of a job as text.
type Reader = fn(&JobInfo) -> String;

/// One range-checked field: a job at its limit, one beyond, and how the error names the
/// field and the value.
struct Case {
    field: &'static str,
    at_limit: JobInfo,
    beyond: JobInfo,
    /// The value as the error prints it.
    value: String,
    /// The field of a job as text, to compare what was queued with what was stored.
    read: Reader,
}

/// A count as the model keeps it.
fn narrow(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn time(secs: i64) -> Res<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).ctx("a time in chrono's range")
}

/// A job of the case `field` that no node claims (its fields stay as stored).
fn job(field: &str, side: &str) -> JobInfo {
    let id = format!("lim-{}-{side}", field.replace(' ', "-"));
    JobInfo::once(id, "record").with_node("archive")
}

fn cases() -> Res<Vec<Case>> {
    let count = |field: &'static str,
                 set: fn(&mut JobInfo, i64),
                 read: fn(&JobInfo) -> String,
                 max: i64| {
        let (mut at, mut beyond) = (job(field, "at"), job(field, "beyond"));
        set(&mut at, max);
        set(&mut beyond, max + 1);
        Case {
            field,
            at_limit: at,
            beyond,
            value: (max + 1).to_string(),
            read,
        }
    };
    let mut cases = vec![
        count(
            "interval",
            |j, v| j.interval = v,
            |j| j.interval.to_string(),
            MAX_INTERVAL_SECS,
        ),
        count(
            "base interval",
            |j, v| j.base_interval = Some(v),
            |j| format!("{:?}", j.base_interval),
            MAX_INTERVAL_SECS,
        ),
        count(
            "lock timeout",
            |j, v| j.lock_timeout = v,
            |j| j.lock_timeout.to_string(),
            MAX_LOCK_TIMEOUT_SECS,
        ),
        count(
            "max try count",
            |j, v| j.max_try_count = narrow(v),
            |j| j.max_try_count.to_string(),
            MAX_COUNT,
        ),
        count(
            "max count",
            |j, v| j.max_count = narrow(v),
            |j| j.max_count.to_string(),
            MAX_COUNT,
        ),
        count(
            "trigger count",
            |j, v| j.trigger_count = narrow(v),
            |j| j.trigger_count.to_string(),
            MAX_COUNT,
        ),
        count(
            "try count",
            |j, v| j.try_count = narrow(v),
            |j| j.try_count.to_string(),
            MAX_COUNT,
        ),
    ];
    let limit = |secs: i64| Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    cases.push(Case {
        field: "time limit",
        at_limit: job("time limit", "at").with_time_limit(limit(MAX_TIME_LIMIT_SECS)),
        beyond: job("time limit", "beyond").with_time_limit(limit(MAX_TIME_LIMIT_SECS + 1)),
        value: format!("{} s", MAX_TIME_LIMIT_SECS + 1),
        read: |j| format!("{:?}", j.time_limit),
    });
    cases.push(Case {
        field: "time limit",
        at_limit: job("time limit low", "at").with_time_limit(Duration::from_secs(1)),
        beyond: job("time limit low", "beyond").with_time_limit(Duration::ZERO),
        value: "0 s".to_owned(),
        read: |j| format!("{:?}", j.time_limit),
    });
    let (first, last) = (time(MIN_TIME_SECS)?, time(MAX_TIME_SECS)?);
    let (before, after) = (time(MIN_TIME_SECS - 1)?, time(MAX_TIME_SECS + 1)?);
    let times: [(&'static str, Setter<DateTime<Utc>>, Reader, bool); 4] = [
        (
            "begin time",
            |j, t| j.begin_time = t,
            |j| j.begin_time.to_rfc3339(),
            false,
        ),
        (
            "end time",
            |j, t| j.end_time = Some(t),
            |j| format!("{:?}", j.end_time),
            true,
        ),
        (
            "creation time",
            |j, t| j.creation_time = t,
            |j| j.creation_time.to_rfc3339(),
            true,
        ),
        (
            "last run time",
            |j, t| j.last_run_time = Some(t),
            |j| format!("{:?}", j.last_run_time),
            false,
        ),
    ];
    for (field, set, read, high) in times {
        let (mut at, mut beyond) = (job(field, "at"), job(field, "beyond"));
        let (limit, past) = if high { (last, after) } else { (first, before) };
        set(&mut at, limit);
        set(&mut beyond, past);
        cases.push(Case {
            field,
            at_limit: at,
            beyond,
            value: past.to_rfc3339(),
            read,
        });
    }
    let actions = |n: usize, side: &str| {
        (0..n).fold(job("actions", side), |j, i| {
            j.with_action(JobAction::new(format!("Action{i}")))
        })
    };
    cases.push(Case {
        field: "actions",
        at_limit: actions(MAX_ACTIONS, "at"),
        beyond: actions(MAX_ACTIONS + 1, "beyond"),
        value: format!("{} actions", MAX_ACTIONS + 1),
        read: |j| j.actions.len().to_string(),
    });
    // `{"blob":"…"}`: 11 bytes around the text.
    let blob =
        |len: usize, side: &str| job("arguments", side).with_arg("blob", "x".repeat(len - 11));
    cases.push(Case {
        field: "arguments",
        at_limit: blob(MAX_ARGS_BYTES, "at"),
        beyond: blob(MAX_ARGS_BYTES + 1, "beyond"),
        value: format!("{} bytes", MAX_ARGS_BYTES + 1),
        read: |j| {
            serde_json::to_vec(&j.args)
                .map_or(0, |v| v.len())
                .to_string()
        },
    });
    let long_id = |len: usize, side: &str| {
        let mut j = job("id", side);
        let pad = len - j.id.len();
        j.id.push_str(&"i".repeat(pad));
        j
    };
    cases.push(Case {
        field: "id",
        at_limit: long_id(MAX_ID_CHARS, "at"),
        beyond: long_id(MAX_ID_CHARS + 1, "beyond"),
        value: format!("{} characters", MAX_ID_CHARS + 1),
        read: |j| j.id.chars().count().to_string(),
    });
    let texts: [(&'static str, Setter<String>, Reader); 2] = [
        (
            "name",
            |j, t| j.name = t,
            |j| j.name.chars().count().to_string(),
        ),
        (
            "group",
            |j, t| j.group = t,
            |j| j.group.chars().count().to_string(),
        ),
    ];
    for (field, set, read) in texts {
        let (mut at, mut beyond) = (job(field, "at"), job(field, "beyond"));
        set(&mut at, "n".repeat(MAX_NAME_CHARS));
        set(&mut beyond, "n".repeat(MAX_NAME_CHARS + 1));
        cases.push(Case {
            field,
            at_limit: at,
            beyond,
            value: format!("{} characters", MAX_NAME_CHARS + 1),
            read,
        });
    }
    Ok(cases)
}

/// Queues every case through the store: the at-limit job is stored and reads back the
/// same, the one beyond is refused naming job, field and value and is not written.
/// Returns how many of each.
async fn check_limits(env: &Env) -> Res<(usize, usize)> {
    let admin = env.admin()?;
    let cases = cases()?;
    for case in &cases {
        admin
            .queue(case.at_limit.clone())
            .await
            .map_err(|e| format!("{} at its limit was refused: {e}", case.field))?;
        let stored = env
            .store
            .jobs
            .find(&case.at_limit.id)
            .await
            .ctx("find")?
            .ok_or_else(|| format!("{} at its limit was not stored", case.field))?
            .job;
        let (queued, read) = ((case.read)(&case.at_limit), (case.read)(&stored));
        ensure!(
            queued == read,
            "{} at its limit: queued {queued}, the store gave back {read}",
            case.field
        );
        let error = match admin.queue(case.beyond.clone()).await {
            Ok(_) => {
                return Err(format!(
                    "{} beyond its limit ({}) was queued",
                    case.field, case.value
                ));
            }
            Err(e) => e.to_string(),
        };
        let named: String = case.beyond.id.chars().take(64).collect();
        ensure!(
            error.contains(&format!("job `{named}"))
                && error.contains(case.field)
                && error.contains(&case.value),
            "{} beyond its limit: the error should name the job, the field and `{}`: {error}",
            case.field,
            case.value
        );
        let written = env.store.jobs.find(&case.beyond.id).await.ctx("find")?;
        ensure!(
            written.is_none(),
            "{} beyond its limit was written",
            case.field
        );
    }
    let rows = env
        .raw
        .number("SELECT CAST(COUNT(*) AS BIGINT) FROM bgtasks_jobs WHERE id LIKE 'lim-%'")
        .await?;
    ensure!(
        rows == i64::try_from(cases.len()).unwrap_or(i64::MAX),
        "{rows} `lim-` rows stored for {} jobs at their limits",
        cases.len()
    );
    Ok((cases.len(), cases.len()))
}

/// A job with every bound at its limit at once, due now: the worker claims and runs it,
/// and schedules it ten years on. How many years on.
async fn run_everything_at_limit(env: &Env) -> Res<f64> {
    let mut job = JobInfo::persistent("lim-all", "record", MAX_INTERVAL_SECS, MAX_COUNT as i32)
        .with_lock_timeout(MAX_LOCK_TIMEOUT_SECS)
        .with_max_try_count(MAX_COUNT as i32)
        .with_time_limit(Duration::from_secs(MAX_TIME_LIMIT_SECS as u64))
        .with_begin_time(time(MIN_TIME_SECS)?)
        .with_end_time(time(MAX_TIME_SECS)?);
    job.base_interval = Some(MAX_INTERVAL_SECS);
    env.admin()?
        .queue(job)
        .await
        .ctx("queue the job at every limit")?;
    let ran = wait_for(
        Duration::from_secs(20),
        "the job at every limit to run",
        || async {
            let job = env
                .store
                .jobs
                .find("lim-all")
                .await
                .ctx("find")?
                .ok_or("lim-all lost")?;
            Ok((job.job.trigger_count >= 1 && job.lease.is_none()).then_some(job.job))
        },
    )
    .await?;
    let next = ran
        .next_run_time
        .ctx("the job at every limit has no next run")?;
    let years = (next - Utc::now()).num_days() as f64 / 365.25;
    ensure!(
        ran.trigger_count == 1 && ran.try_count == 0 && years > 9.9,
        "the job at every limit: trigger count {}, try count {}, next run in {years:.1} years",
        ran.trigger_count,
        ran.try_count
    );
    Ok(years)
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "huge").await?;
    let mut worker = env
        .spawn(
            "claimer",
            Spec {
                workers: 2,
                ..Spec::default()
            },
        )
        .await?;
    let (at, beyond) = check_limits(&env).await?;
    let years = run_everything_at_limit(&env).await?;
    let outcome = rows::poison_and_claim(&env, kind).await?;
    ensure!(
        worker.alive(),
        "the worker died: {}",
        worker.stderr_tail(10)
    );
    let panics = worker.log_count("panicked");
    ensure!(
        panics == 0,
        "the worker logged {panics} panics: {}",
        worker.stderr_tail(10)
    );
    let set_aside_logs = worker.log_count("it is set aside");
    ensure!(
        set_aside_logs >= outcome.set_aside,
        "the worker logged {set_aside_logs} set-aside errors for {} rows set aside",
        outcome.set_aside
    );
    let runs = env.runs()?;
    ensure!(
        runs_of(&runs, "innocent")
            .iter()
            .filter(|r| r.finished())
            .count()
            == 1,
        "the innocent job did not run exactly once"
    );
    env.raw.close().await;
    Ok(format!(
        "{at} limits of the range-checked fields: each value at its limit stored and read back unchanged, \
         {beyond} values one beyond refused with an error naming job, field and value, 0 rows written; a job at every limit at once run and \
         scheduled {years:.1} years on; {}; the node went on claiming (the innocent job queued after them \
         ran once), 0 panics",
        outcome.summary
    ))
}
