//! The `TZ=` prefix, and turning local fire times into instants across daylight saving.
//!
//! Fixed-time schedules are searched on the zone's wall clock (croner over
//! [`NaiveDateTime`]), and each local time found is mapped to one instant: the only one,
//! the first of two when the clock went back, or the first instant after the gap when the
//! clock went forward. Interval schedules are searched by croner in the zone itself, which
//! moves in real time: a gap's times are skipped and a repeated hour is walked twice.

use chrono::offset::LocalResult;
use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;

use super::quartz::Rule;

/// The prefixes that name a zone, as cronie and systemd write them.
const PREFIXES: [&str; 2] = ["TZ=", "CRON_TZ="];

/// The longest gap a zone's clock has jumped (Samoa skipped a whole day in 2011), with
/// room to spare: a local time is never searched further than this.
const LONGEST_GAP_MINUTES: u32 = 3 * 24 * 60;

/// Whether `text` starts with a zone prefix.
pub(super) fn has_zone_prefix(text: &str) -> bool {
    PREFIXES.iter().any(|prefix| text.starts_with(prefix))
}

/// Splits a leading `TZ=<zone>` (or `CRON_TZ=<zone>`) off `text` (trimmed, not empty):
/// the zone, if named, and the fields after it. The error is the reason to show.
pub(super) fn split_zone(text: &str) -> Result<(Option<Tz>, &str), String> {
    let Some(prefix) = PREFIXES.iter().find(|prefix| text.starts_with(*prefix)) else {
        return Ok((None, text));
    };
    let rest = &text[prefix.len()..];
    let (name, fields) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(name, fields)| (name, fields.trim()));
    if name.is_empty() {
        return Err(format!(
            "no time zone after `{prefix}`; name one, e.g. `{prefix}Europe/Berlin`"
        ));
    }
    let zone: Tz = name.parse().map_err(|_| {
        format!("unknown time zone `{name}`; use an IANA name such as `Europe/Berlin` or `UTC`")
    })?;
    if fields.is_empty() {
        return Err(format!("no cron fields after the time zone `{name}`"));
    }
    Ok((Some(zone), fields))
}

/// The first fire time of `rule`, read in `zone`, strictly after `after`.
pub(super) fn next_after(rule: &Rule, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if rule.fixed_time {
        next_fixed(rule, zone, after)
    } else {
        next_interval(rule, zone, after)
    }
}

/// Fixed times: search the wall clock, map each local time to its one instant.
fn next_fixed(rule: &Rule, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut local = after.with_timezone(&zone).naive_local().trunc_subsecs(0);
    // Each pass moves `local` forward, and croner gives up at the year 5000.
    loop {
        let candidate = rule.cron.find_next_occurrence(&local, false).ok()?;
        if !rule.day_matches(candidate.date()) {
            // Not the `L-n` day: go on from the last second of that day.
            local = candidate
                .date()
                .and_time(NaiveTime::MIN)
                .checked_add_signed(Duration::seconds(86_399))?;
            continue;
        }
        let fire = first_instant_at_or_after(zone, candidate)?;
        if fire > after {
            return Some(fire.with_timezone(&Utc));
        }
        // A local time whose first occurrence is already past (`after` is in the second
        // pass of a repeated hour): it does not fire again.
        local = candidate;
    }
}

/// Intervals: croner searches in the zone, in real time.
fn next_interval(rule: &Rule, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut cursor = after.with_timezone(&zone).trunc_subsecs(0);
    let mut inclusive = false;
    // Each pass moves `cursor` forward, and croner gives up at the year 5000.
    loop {
        let fire = rule.cron.find_next_occurrence(&cursor, inclusive).ok()?;
        let day = fire.date_naive();
        if rule.day_matches(day) {
            return Some(fire.with_timezone(&Utc));
        }
        // Not the `L-n` day: go on from the start of the next local day.
        let next_day = first_instant_at_or_after(zone, day.succ_opt()?.and_time(NaiveTime::MIN))?;
        cursor = next_day.max(fire.checked_add_signed(Duration::seconds(1))?);
        inclusive = true;
    }
}

/// The first instant whose local time in `zone` is `local`, or, when the clock jumped
/// over `local`, the first instant after the jump.
fn first_instant_at_or_after(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    if let Some(instant) = earliest(zone, local) {
        return Some(instant);
    }
    // In a gap: find the first minute past it, then the first second.
    let mut minute = local;
    for _ in 0..LONGEST_GAP_MINUTES {
        minute = minute.checked_add_signed(Duration::minutes(1))?;
        if earliest(zone, minute).is_some() {
            let mut second = minute.checked_sub_signed(Duration::seconds(59))?;
            loop {
                if let Some(instant) = earliest(zone, second) {
                    return Some(instant);
                }
                second = second.checked_add_signed(Duration::seconds(1))?;
            }
        }
    }
    None
}

fn earliest(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => Some(instant),
        LocalResult::None => None,
    }
}
