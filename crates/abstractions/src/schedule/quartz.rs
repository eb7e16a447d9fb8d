//! From the Quartz text to what croner evaluates.
//!
//! croner parses and matches every field. This module only checks the field count (so the
//! 5-field Unix form gets its own message), adapts the few Quartz forms croner reads
//! differently or not at all, and names the field in croner's errors:
//!
//! - `L-n` in the day of month: croner has no offset from the last day, so the field
//!   becomes the days it can fall on (`25-28` for `L-3`) and [`Rule::day_matches`] keeps
//!   the one that is `n` days before the month's last day;
//! - `L` alone in the day of week means Saturday in Quartz (croner would never fire);
//! - `*/n` in the year counts from 1970, as in Quartz (croner counts from year 1);
//! - `*` inside a list (`5,*`) means every value, as the previous parser read it;
//! - day names outside the day-of-week field and month names outside the month field are
//!   refused (croner would read `MON` in the month field as February).

use chrono::{Datelike, NaiveDate};
use croner::Cron;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};

const NAMES: [&str; 7] = [
    "seconds",
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];
const DAY_OF_MONTH: usize = 3;
const MONTH: usize = 4;
const DAY_OF_WEEK: usize = 5;
const YEAR: usize = 6;
const SHORTCUTS: [&str; 6] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@hourly",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// A compiled expression: croner's pattern and what croner cannot express.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    /// The pattern croner evaluates.
    pub(super) cron: Cron,
    /// Quartz `L-n`: only the day `n` days before the last day of the month matches.
    days_before_last: Option<u32>,
    /// Seconds, minutes and hours are plain values or lists (no `*`, no step): each local
    /// time fires once even across a daylight-saving change (see the module docs).
    pub(super) fixed_time: bool,
}

impl Rule {
    /// Whether `date` (a local date that croner matched) is also allowed by `L-n`.
    pub(super) fn day_matches(&self, date: NaiveDate) -> bool {
        self.days_before_last
            .is_none_or(|n| date.day() + n == days_in_month(date))
    }
}

/// croner set up for Quartz: seconds required, an optional year, 1 = Sunday, `0/30`
/// steps, and both day fields must match when both name days.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Optional)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .dom_and_dow(true)
        .build()
}

/// Compiles the fields of an expression (the text after any `TZ=` prefix, trimmed and not
/// empty). The error is the reason to show.
pub(super) fn compile(text: &str) -> Result<Rule, String> {
    if text.starts_with('@') {
        if !SHORTCUTS
            .iter()
            .any(|known| text.eq_ignore_ascii_case(known))
        {
            return Err(format!(
                "unknown shortcut `{text}`; use one of {}",
                SHORTCUTS.join(", ")
            ));
        }
        let cron = parser().parse(text).map_err(|e| plain(&e))?;
        return Ok(Rule {
            cron,
            days_before_last: None,
            fixed_time: !text.eq_ignore_ascii_case("@hourly"),
        });
    }
    let given: Vec<&str> = text.split_whitespace().collect();
    if given.len() == 5 {
        return Err(format!(
            "5-field Unix form is not supported; add a seconds field, e.g. `0 {text}`"
        ));
    }
    if given.len() < 6 || given.len() > 7 {
        return Err(format!(
            "expected 6 or 7 fields (sec min hour day-of-month month day-of-week [year]), found {}",
            given.len()
        ));
    }
    check_names(&given)?;
    let mut fields: Vec<String> = given.iter().map(|field| star_in_list(field)).collect();
    let days_before_last = last_day_offset(given[DAY_OF_MONTH])?;
    match days_before_last {
        Some(0) => fields[DAY_OF_MONTH] = "L".to_owned(),
        Some(n) => fields[DAY_OF_MONTH] = format!("{}-{}", 28u32.saturating_sub(n).max(1), 31 - n),
        None => {}
    }
    if fields[DAY_OF_WEEK].eq_ignore_ascii_case("L") {
        fields[DAY_OF_WEEK] = "7".to_owned();
    }
    if let Some(year) = fields.get_mut(YEAR) {
        *year = years_from_1970(year);
    }
    let cron = parser()
        .parse(&fields.join(" "))
        .map_err(|e| explain(&given, &fields, &e))?;
    Ok(Rule {
        cron,
        days_before_last: days_before_last.filter(|n| *n > 0),
        fixed_time: fields[..3]
            .iter()
            .all(|field| !field.contains('*') && !field.contains('/')),
    })
}

/// Day names only in the day of week, month names only in the month.
fn check_names(fields: &[&str]) -> Result<(), String> {
    for (index, field) in fields.iter().enumerate() {
        let upper = field.to_ascii_uppercase();
        let misplaced = |names: &[&str], home: usize| {
            index != home && names.iter().any(|name| upper.contains(name))
        };
        if misplaced(&DAY_NAMES, DAY_OF_WEEK) || misplaced(&MONTH_NAMES, MONTH) {
            return Err(format!(
                "{} field `{field}`: names are allowed only for months and days of the week",
                NAMES[index]
            ));
        }
    }
    Ok(())
}

/// `5,*` is every value, as the previous parser read it; croner refuses `*` in a list.
fn star_in_list(field: &str) -> String {
    if field.contains(',') && field.split(',').any(|part| part == "*") {
        "*".to_owned()
    } else {
        field.to_owned()
    }
}

/// The `n` of a Quartz `L-n` day of month (0 to 30), `None` for any other field.
fn last_day_offset(field: &str) -> Result<Option<u32>, String> {
    let upper = field.to_ascii_uppercase();
    let Some(offset) = upper.strip_prefix("L-") else {
        if upper.contains("L-") {
            return Err(format!(
                "day-of-month field `{field}`: `L-n` must stand alone in the field"
            ));
        }
        return Ok(None);
    };
    if offset.ends_with('W') {
        return Err(format!(
            "day-of-month field `{field}`: `L-n` with `W` (the weekday nearest n days before the last day) is not supported"
        ));
    }
    match offset.parse::<u32>() {
        Ok(n) if n <= 30 => Ok(Some(n)),
        _ => Err(format!(
            "day-of-month field `{field}`: expected `L-n` with n from 0 to 30"
        )),
    }
}

/// `*/n` (or `/n`) in the year starts at 1970, as in Quartz.
fn years_from_1970(field: &str) -> String {
    field
        .split(',')
        .map(|part| {
            if let Some(step) = part.strip_prefix("*/") {
                format!("1970/{step}")
            } else if part.starts_with('/') {
                format!("1970{part}")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Names the field croner refused: the first one that fails on its own.
fn explain(given: &[&str], fields: &[String], error: &CronError) -> String {
    for (index, field) in fields.iter().enumerate() {
        let mut alone = vec!["*"; fields.len()];
        alone[index] = field;
        if parser().parse(&alone.join(" ")).is_err() {
            return format!(
                "{} field `{}`: {}",
                NAMES[index],
                given[index],
                plain(error)
            );
        }
    }
    plain(error)
}

/// croner's message without its category, capital and final full stop.
fn plain(error: &CronError) -> String {
    let text = match error {
        CronError::ComponentError(text) | CronError::InvalidPattern(text) => text.clone(),
        CronError::IllegalCharacters(text) => text.replace("CronPattern contains", "contains"),
        other => other.to_string(),
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (year, month) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first| first.pred_opt())
        .map_or(31, |last| last.day())
}
