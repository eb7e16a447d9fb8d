//! Cron expressions and fire times (R3, R29).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use crate::job::JobInfo;
use crate::kind::JobKind;

/// A parsed cron expression. Accepts the Quartz 6-field (`sec min hour dom month dow`)
/// and 7-field (with a year) forms the reference writes, `?` in the day fields, and the
/// `@hourly`-style shortcuts. Times are UTC.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    schedule: cron::Schedule,
}

/// Why a cron expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression `{expression}`: {reason}")]
pub struct CronError {
    /// The expression as given.
    pub expression: String,
    /// What is wrong with it.
    pub reason: String,
}

impl CronSchedule {
    /// Parses an expression. Surrounding white space is ignored (the reference's
    /// expressions carry a trailing space). Quartz `L`, `W` and `#`, and the 5-field Unix
    /// form, are refused with an error that says so.
    pub fn parse(expression: &str) -> Result<Self, CronError> {
        let trimmed = expression.trim();
        let fail = |reason: String| CronError {
            expression: expression.to_owned(),
            reason,
        };
        if trimmed.is_empty() {
            return Err(fail("the expression is empty".to_owned()));
        }
        if !trimmed.starts_with('@') {
            let fields: Vec<&str> = trimmed.split_whitespace().collect();
            if fields.len() == 5 {
                return Err(fail(format!(
                    "5-field Unix form is not supported; add a seconds field, e.g. `0 {trimmed}`"
                )));
            }
            if fields.len() < 6 || fields.len() > 7 {
                return Err(fail(format!(
                    "expected 6 or 7 fields (sec min hour day-of-month month day-of-week [year]), found {}",
                    fields.len()
                )));
            }
            for (index, field) in fields.iter().enumerate().skip(3).take(3) {
                let upper = field.to_ascii_uppercase();
                let quartz_only = (index == 3 && (upper.contains('L') || upper.contains('W')))
                    || (index == 5 && (field.contains('#') || ends_with_last(&upper)));
                if quartz_only {
                    return Err(fail(format!(
                        "Quartz `L`, `W` and `#` (field `{field}`) are not supported by this runtime's cron parser"
                    )));
                }
            }
        }
        let schedule = cron::Schedule::from_str(trimmed).map_err(|e| fail(e.to_string()))?;
        // An expression that parses but never fires (e.g. 30 February) is an error too.
        if schedule.upcoming(Utc).next().is_none() {
            return Err(fail("the expression never fires".to_owned()));
        }
        Ok(Self {
            expression: trimmed.to_owned(),
            schedule,
        })
    }

    /// The expression, trimmed.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first fire time strictly after `after`; `None` when there is none before the
    /// end of the year 9999.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !crate::validation::time_in_range(after) {
            return None;
        }
        self.schedule
            .after(&after)
            .next()
            .filter(|next| crate::validation::time_in_range(*next))
    }

    /// The first fire time at or after `at`.
    pub fn next_at_or_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(at.checked_sub_signed(Duration::nanoseconds(1))?)
    }
}

/// `5L`-style "last weekday of the month" in the day-of-week field (but not the names
/// `SAT`, `FRI`... which contain no `L` followed by nothing).
fn ends_with_last(upper_field: &str) -> bool {
    upper_field == "L"
        || upper_field.split(',').any(|part| {
            part.len() > 1
                && part.ends_with('L')
                && part[..part.len() - 1].chars().all(|c| c.is_ascii_digit())
        })
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSchedule")
            .field(&self.expression)
            .finish()
    }
}

impl FromStr for CronSchedule {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// When a job that has just been queued (or resumed) at `now` first fires, or `None` if
/// it never will (its end time has passed). `schedule` is the parsed cron of a Period job.
pub fn first_fire_time(
    job: &JobInfo,
    schedule: Option<&CronSchedule>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let fire = match job.kind {
        JobKind::Once | JobKind::Persistent => job.begin_time,
        JobKind::Period => schedule?.next_at_or_after(job.begin_time.max(now))?,
    };
    within_end(job, fire)
}

/// When a job fires next after a run that started at `run_time` (the scheduler's next fire
/// time, R13), counting that run; `None` when it will not run again. A Persistent job's
/// next run is `interval` seconds after this one; missed Period ticks are not replayed.
pub fn next_fire_time_after_run(
    job: &JobInfo,
    schedule: Option<&CronSchedule>,
    run_time: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let fire = match job.kind {
        JobKind::Once => return None,
        JobKind::Period => schedule?.next_after(run_time.max(job.begin_time))?,
        JobKind::Persistent => {
            let runs_after_this = job.trigger_count.saturating_add(1);
            if job.max_count > 0 && runs_after_this >= job.max_count {
                return None;
            }
            // Saturating: an interval past the latest time chrono holds never fires.
            Duration::try_seconds(job.interval.max(1))
                .and_then(|interval| run_time.checked_add_signed(interval))?
        }
    };
    within_end(job, fire)
}

fn within_end(job: &JobInfo, fire: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match job.end_time {
        Some(end) if fire > end => None,
        _ => Some(fire),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, h, m, s).unwrap()
    }

    #[test]
    fn accepts_the_references_quartz_forms() {
        // spec: R29
        for expr in [
            "0/30 * * * * ?",
            "0 0 0/2 * * ?",
            "0 0/10 * * * ? *",
            "0/30 * * * * ? ",
            "@hourly",
        ] {
            CronSchedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        }
        let every_30s = CronSchedule::parse("0/30 * * * * ?").unwrap();
        assert_eq!(every_30s.next_after(at(10, 0, 0)), Some(at(10, 0, 30)));
        assert_eq!(every_30s.next_at_or_after(at(10, 0, 0)), Some(at(10, 0, 0)));
        let every_2h = CronSchedule::parse("0 0 0/2 * * ?").unwrap();
        assert_eq!(every_2h.next_after(at(11, 5, 0)), Some(at(12, 0, 0)));
    }

    #[test]
    fn refuses_bad_forms_with_a_reason() {
        // spec: R3
        let empty = CronSchedule::parse("  ").unwrap_err();
        assert_eq!(empty.reason, "the expression is empty");
        let unix = CronSchedule::parse("*/5 * * * *").unwrap_err();
        assert!(unix.reason.contains("5-field"), "{unix}");
        for quartz in [
            "0 0 12 L * ?",
            "0 0 12 15W * ?",
            "0 0 12 ? * 6#3",
            "0 0 12 ? * 6L",
        ] {
            let err = CronSchedule::parse(quartz).unwrap_err();
            assert!(err.reason.contains("`L`, `W` and `#`"), "{quartz}: {err}");
        }
        let garbage = CronSchedule::parse("0 0 25 * * ?").unwrap_err();
        assert!(
            garbage
                .to_string()
                .starts_with("invalid cron expression `0 0 25 * * ?`")
        );
        // Day names that contain the letter L are not mistaken for `L`.
        CronSchedule::parse("0 0 12 ? * SAT,SUN").unwrap();
    }

    #[test]
    fn once_and_persistent_fire_at_begin_then_every_interval() {
        // spec: R3
        let job = JobInfo::persistent("p", "t", 60, 3).with_begin_time(at(9, 0, 0));
        assert_eq!(first_fire_time(&job, None, at(8, 0, 0)), Some(at(9, 0, 0)));
        assert_eq!(
            next_fire_time_after_run(&job, None, at(9, 0, 0)),
            Some(at(9, 1, 0))
        );
        let mut last = job.clone();
        last.trigger_count = 2;
        assert_eq!(next_fire_time_after_run(&last, None, at(9, 2, 0)), None);
        let once = JobInfo::once("o", "t").with_begin_time(at(9, 0, 0));
        assert_eq!(next_fire_time_after_run(&once, None, at(9, 0, 0)), None);
    }

    #[test]
    fn never_before_begin_nor_after_end() {
        // spec: R3
        let cron = CronSchedule::parse("0 0 * * * ?").unwrap();
        let job = JobInfo::period("c", "t", "0 0 * * * ?")
            .with_begin_time(at(12, 30, 0))
            .with_end_time(at(14, 0, 0));
        assert_eq!(
            first_fire_time(&job, Some(&cron), at(8, 0, 0)),
            Some(at(13, 0, 0))
        );
        assert_eq!(
            next_fire_time_after_run(&job, Some(&cron), at(13, 0, 0)),
            Some(at(14, 0, 0))
        );
        assert_eq!(
            next_fire_time_after_run(&job, Some(&cron), at(14, 0, 0)),
            None
        );
        let ended = JobInfo::once("e", "t")
            .with_begin_time(at(15, 0, 0))
            .with_end_time(at(14, 0, 0));
        assert_eq!(first_fire_time(&ended, None, at(8, 0, 0)), None);
    }
}
