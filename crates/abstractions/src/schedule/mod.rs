//! Cron expressions and fire times (R3, R29, R50).
//!
//! The syntax and the daylight-saving rules are documented on [`CronSchedule`]. croner
//! evaluates the fields ([`quartz`] adapts the Quartz forms it lacks); [`zone`] reads the
//! `TZ=` prefix and maps local fire times to instants.

mod quartz;
mod zone;

#[cfg(test)]
mod dst_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
/// An IANA time zone (from the `chrono-tz` crate), as named by `TZ=` in an expression.
pub use chrono_tz::Tz;

use crate::job::JobInfo;
use crate::kind::JobKind;

/// A parsed cron expression: the Quartz 6- or 7-field form, optionally prefixed with
/// `TZ=<IANA zone>`.
///
/// # The text form
///
/// A cron expression is one line of text, and that text is all a store keeps:
///
/// ```text
/// [TZ=<IANA zone> ]<sec> <min> <hour> <day-of-month> <month> <day-of-week> [<year>]
/// ```
///
/// - 6 fields, or 7 with a year, in Quartz order; `?` ("no specific value") in either day
///   field; `*`, lists `1,15`, ranges `MON-FRI`, steps `0/30` and `*/5`; month names
///   `JAN`…`DEC` and day names `SUN`…`SAT`; day-of-week numbers in Quartz numbering
///   (1 = Sunday … 7 = Saturday).
/// - Quartz's day specials: `L` (last day of the month), `L-3` (three days before it),
///   `15W` (the weekday nearest the 15th, within the month), `LW` (the last weekday), `6L`
///   (the last Friday), `6#3` (the third Friday); `L` alone in the day-of-week field is
///   Saturday, as in Quartz.
/// - The shortcuts `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@hourly`.
/// - An optional leading `TZ=Europe/Berlin ` (or `CRON_TZ=Europe/Berlin `): the fields are
///   read on that zone's wall clock. Without it they are read in UTC. Fire times are always
///   returned in UTC.
/// - When both day fields name days, a day must match both (as the previous parser did;
///   Quartz itself asks for `?` in one of them).
///
/// Refused, with ``invalid cron expression `…`: reason``: the 5-field Unix form (the reason
/// says to add a seconds field), other field counts, out-of-range values, an unknown time
/// zone (named), `L-n` followed by `W`, and an expression that never fires.
///
/// # Daylight saving
///
/// The fields describe wall-clock times in the zone, turned into instants like this:
///
/// - **Fixed times** — seconds, minutes and hours are plain values or lists, with no `*`
///   and no `/` (e.g. `0 30 2 * * ?`, `0 0 9,17 * * ?`): each scheduled local time fires
///   exactly once per day it is scheduled. A local time skipped when clocks go forward
///   fires once at the first instant after the gap (02:30 in Berlin on 2027-03-28 fires at
///   03:00 CEST, 01:00 UTC); a local time that happens twice when clocks go back fires at
///   its first occurrence only (02:30 on 2027-10-31 fires at 02:30 CEST, 00:30 UTC).
/// - **Intervals** — `*` or a step in the seconds, minutes or hours field (e.g.
///   `0 */15 * * * ?`, `@hourly`): the schedule keeps its rhythm in real time, as Vixie
///   cron does. Times inside a gap do not exist and are skipped; times in a repeated hour
///   fire in both passes (an hourly job runs at 02:00 CEST and again at 02:00 CET).
///
/// Evaluation is done by the [`croner`] crate (Quartz weekday numbering, `?`, `L`, `W`,
/// `#`, seconds and years); this type adds the zone prefix, `L-n`, the fixed-time
/// daylight-saving rule and the checks. Fire times stop at the end of the year 4999,
/// croner's search limit; the validation range of times is 1970–9999.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    zone: Tz,
    rule: quartz::Rule,
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
    /// expressions carry a trailing space). A leading `TZ=<zone>` or `CRON_TZ=<zone>`
    /// names the time zone the fields are read in; without it they are read in UTC.
    ///
    /// ```
    /// use bgtasks_abstractions::CronSchedule;
    ///
    /// let nightly = CronSchedule::parse("TZ=Europe/Berlin 0 30 2 * * ?").unwrap();
    /// assert_eq!(nightly.time_zone().name(), "Europe/Berlin");
    /// let err = CronSchedule::parse("*/5 * * * *").unwrap_err();
    /// assert!(err.reason.contains("add a seconds field"));
    /// ```
    pub fn parse(expression: &str) -> Result<Self, CronError> {
        let fail = |reason: String| CronError {
            expression: expression.to_owned(),
            reason,
        };
        let trimmed = expression.trim();
        if trimmed.is_empty() {
            return Err(fail("the expression is empty".to_owned()));
        }
        let (zone, fields) = zone::split_zone(trimmed).map_err(fail)?;
        let rule = quartz::compile(fields).map_err(fail)?;
        let schedule = Self {
            expression: trimmed.to_owned(),
            zone: zone.unwrap_or(Tz::UTC),
            rule,
        };
        // An expression that parses but never fires (e.g. 30 February) is an error too.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(fail("the expression never fires".to_owned()));
        }
        Ok(schedule)
    }

    /// Parses `expression` (without a zone prefix) to be read in `zone`. The schedule's
    /// [`expression`](Self::expression) is the text a store keeps:
    /// `TZ=<zone> <expression>`.
    ///
    /// ```
    /// use bgtasks_abstractions::{CronSchedule, Tz};
    ///
    /// let zone: Tz = "America/New_York".parse().unwrap();
    /// let schedule = CronSchedule::in_zone("0 0 9 ? * MON-FRI", zone).unwrap();
    /// assert_eq!(schedule.expression(), "TZ=America/New_York 0 0 9 ? * MON-FRI");
    /// ```
    pub fn in_zone(expression: &str, zone: Tz) -> Result<Self, CronError> {
        let trimmed = expression.trim();
        if zone::has_zone_prefix(trimmed) {
            return Err(CronError {
                expression: expression.to_owned(),
                reason: "the expression already names a time zone".to_owned(),
            });
        }
        Self::parse(&format!("TZ={} {trimmed}", zone.name()))
    }

    /// The expression, trimmed, with its `TZ=` prefix if it has one.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone the fields are read in: the `TZ=` zone, or UTC.
    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    /// The first fire time strictly after `after`; `None` when there is none before the
    /// end of the year 4999, or when `after` is outside the years 1970–9999.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !crate::validation::time_in_range(after) {
            return None;
        }
        zone::next_after(&self.rule, self.zone, after)
            .filter(|next| *next > after && crate::validation::time_in_range(*next))
    }

    /// The first fire time at or after `at`.
    pub fn next_at_or_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(at.checked_sub_signed(Duration::nanoseconds(1))?)
    }
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
