//! The syntax: the reference's forms, Quartz `L`, `W` and `#`, zones and refusals.

use super::*;
use chrono::TimeZone;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, h, m, s).unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// The next `count` fire times after `from`.
fn fires(expression: &str, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    let schedule = CronSchedule::parse(expression).unwrap_or_else(|e| panic!("{e}"));
    let mut times = Vec::new();
    let mut t = from;
    for _ in 0..count {
        t = schedule.next_after(t).unwrap();
        times.push(t);
    }
    times
}

/// Noon UTC on each of `days` (year, month, day).
fn noons(days: &[(i32, u32, u32)]) -> Vec<DateTime<Utc>> {
    days.iter()
        .map(|&(y, m, d)| utc(y, m, d, 12, 0, 0))
        .collect()
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
    let every_10m = CronSchedule::parse("0 0/10 * * * ? *").unwrap();
    assert_eq!(every_10m.next_after(at(11, 5, 0)), Some(at(11, 10, 0)));
    assert_eq!(every_30s.expression(), "0/30 * * * * ?");
    assert_eq!(every_30s.time_zone(), Tz::UTC);
}

#[test]
fn keeps_names_quartz_weekday_numbers_years_and_shortcuts() {
    // spec: R29
    // 2026-01-05 is a Monday. 1 = Sunday ... 7 = Saturday.
    assert_eq!(
        fires("0 0 12 ? * 1", at(0, 0, 0), 1),
        noons(&[(2026, 1, 11)])
    );
    assert_eq!(
        fires("0 0 12 ? * 7", at(0, 0, 0), 1),
        noons(&[(2026, 1, 10)])
    );
    assert_eq!(
        fires("0 0 12 ? * MON-FRI", at(13, 0, 0), 5),
        noons(&[
            (2026, 1, 6),
            (2026, 1, 7),
            (2026, 1, 8),
            (2026, 1, 9),
            (2026, 1, 12)
        ])
    );
    assert_eq!(
        fires("0 0 12 ? jan,Feb sat,SUN", at(0, 0, 0), 2),
        noons(&[(2026, 1, 10), (2026, 1, 11)])
    );
    assert_eq!(
        fires("0 0 12 1 1 ? 2030", at(0, 0, 0), 1),
        noons(&[(2030, 1, 1)])
    );
    // A step in the year counts from 1970, as in Quartz.
    assert_eq!(
        fires("0 0 12 1 1 ? */4", at(0, 0, 0), 1),
        noons(&[(2030, 1, 1)])
    );
    assert_eq!(
        fires("@daily", at(1, 0, 0), 1),
        vec![utc(2026, 1, 6, 0, 0, 0)]
    );
    assert_eq!(
        fires("@weekly", at(1, 0, 0), 1),
        vec![utc(2026, 1, 11, 0, 0, 0)]
    );
    // Both day fields restricted: a day must match both (the 15th that is a Monday).
    assert_eq!(
        fires("0 0 12 15 * MON", at(0, 0, 0), 1),
        noons(&[(2026, 6, 15)])
    );
    // `*` inside a list is every value, as before.
    assert_eq!(
        fires("0 0 12,* * * ?", at(10, 30, 0), 1),
        vec![at(11, 0, 0)]
    );
}

#[test]
fn quartz_last_nearest_weekday_and_nth() {
    // spec: R29, R50
    let from = utc(2026, 1, 1, 0, 0, 0);
    // L: the last day of the month.
    assert_eq!(
        fires("0 0 12 L * ?", from, 3),
        noons(&[(2026, 1, 31), (2026, 2, 28), (2026, 3, 31)])
    );
    // L-3: three days before the last day (in a leap year's February, the 26th).
    assert_eq!(
        fires("0 0 12 L-3 * ?", from, 3),
        noons(&[(2026, 1, 28), (2026, 2, 25), (2026, 3, 28)])
    );
    assert_eq!(
        fires("0 0 12 L-3 2 ?", from, 3),
        noons(&[(2026, 2, 25), (2027, 2, 25), (2028, 2, 26)])
    );
    // An interval schedule with L-n fires only on that day.
    assert_eq!(
        fires("0 0 */12 L-1 * ?", from, 3),
        vec![
            utc(2026, 1, 30, 0, 0, 0),
            utc(2026, 1, 30, 12, 0, 0),
            utc(2026, 2, 27, 0, 0, 0)
        ]
    );
    // 15W: the weekday nearest the 15th (Sat 15 Aug 2026 → Fri 14; Sun 15 Mar 2026 → Mon 16).
    assert_eq!(
        fires("0 0 12 15W * ?", utc(2026, 3, 1, 0, 0, 0), 1),
        noons(&[(2026, 3, 16)])
    );
    assert_eq!(
        fires("0 0 12 15W * ?", utc(2026, 8, 1, 0, 0, 0), 1),
        noons(&[(2026, 8, 14)])
    );
    // 1W never leaves the month: Sat 1 Aug 2026 → Mon 3.
    assert_eq!(
        fires("0 0 12 1W * ?", utc(2026, 8, 1, 0, 0, 0), 1),
        noons(&[(2026, 8, 3)])
    );
    // LW: the last weekday (31 Jan 2026 is a Saturday).
    assert_eq!(fires("0 0 12 LW * ?", from, 1), noons(&[(2026, 1, 30)]));
    // 6L: the last Friday; 6#3 and FRI#3: the third Friday; MON#2: the second Monday.
    assert_eq!(
        fires("0 0 12 ? * 6L", from, 2),
        noons(&[(2026, 1, 30), (2026, 2, 27)])
    );
    for third_friday in ["0 0 12 ? * 6#3", "0 0 12 ? * FRI#3"] {
        assert_eq!(
            fires(third_friday, from, 2),
            noons(&[(2026, 1, 16), (2026, 2, 20)])
        );
    }
    assert_eq!(
        fires("0 15 10 ? * MON#2", from, 1),
        vec![utc(2026, 1, 12, 10, 15, 0)]
    );
    // 5#5: the fifth Thursday, only in months that have one.
    assert_eq!(
        fires("0 0 12 ? * 5#5", from, 2),
        noons(&[(2026, 1, 29), (2026, 4, 30)])
    );
    // L alone in the day of week is Saturday, as in Quartz.
    assert_eq!(fires("0 0 12 ? * L", from, 1), noons(&[(2026, 1, 3)]));
}

#[test]
fn refuses_bad_forms_with_a_reason() {
    // spec: R3, R29
    let empty = CronSchedule::parse("  ").unwrap_err();
    assert_eq!(empty.reason, "the expression is empty");
    let unix = CronSchedule::parse("*/5 * * * *").unwrap_err();
    assert!(unix.reason.contains("5-field"), "{unix}");
    assert!(
        unix.reason
            .contains("add a seconds field, e.g. `0 */5 * * * *`"),
        "{unix}"
    );
    let count = CronSchedule::parse("0 0 12 * * ? 2030 1").unwrap_err();
    assert!(
        count.reason.starts_with("expected 6 or 7 fields"),
        "{count}"
    );
    let garbage = CronSchedule::parse("0 0 25 * * ?").unwrap_err();
    assert!(
        garbage
            .to_string()
            .starts_with("invalid cron expression `0 0 25 * * ?`: hours field `25`"),
        "{garbage}"
    );
    let never = CronSchedule::parse("0 0 0 30 2 ?").unwrap_err();
    assert_eq!(never.reason, "the expression never fires");
    let past = CronSchedule::parse("0 0 0 1 1 ? 2020").unwrap_err();
    assert_eq!(past.reason, "the expression never fires");
    for (bad, says) in [
        ("0 0 12 ? * 0", "day-of-week field `0`"),
        ("0 0 12 ? * 8", "day-of-week field `8`"),
        ("0 ? 12 * * ?", "minutes field `?`"),
        ("0 0 12 ? MON ?", "month field `MON`"),
        ("0 0 12 JAN * ?", "day-of-month field `JAN`"),
        ("0 0 12 L-31 * ?", "expected `L-n` with n from 0 to 30"),
        ("0 0 12 L-3W * ?", "`L-n` with `W`"),
        ("0 0 12 1,L-3 * ?", "`L-n` must stand alone"),
        ("0 0 12 ? * 6#6", "day-of-week field `6#6`"),
        ("0 0 12 32W * ?", "day-of-month field `32W`"),
        ("@reboot", "unknown shortcut `@reboot`"),
        ("every minute", "expected 6 or 7 fields"),
    ] {
        let err = CronSchedule::parse(bad).unwrap_err();
        assert!(err.reason.contains(says), "{bad}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("invalid cron expression `{bad}`: ")),
            "{err}"
        );
    }
    // Day names that contain the letter L are not mistaken for `L`.
    CronSchedule::parse("0 0 12 ? * SAT,SUN").unwrap();
}

#[test]
fn a_zone_prefix_is_read_and_kept() {
    // spec: R50
    let berlin = CronSchedule::parse("  TZ=Europe/Berlin 0 0 9 * * ?  ").unwrap();
    assert_eq!(berlin.expression(), "TZ=Europe/Berlin 0 0 9 * * ?");
    assert_eq!(berlin.time_zone(), chrono_tz::Europe::Berlin);
    // 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer.
    assert_eq!(
        berlin.next_after(utc(2026, 1, 5, 0, 0, 0)),
        Some(utc(2026, 1, 5, 8, 0, 0))
    );
    assert_eq!(
        berlin.next_after(utc(2026, 7, 1, 0, 0, 0)),
        Some(utc(2026, 7, 1, 7, 0, 0))
    );
    let cron_tz = CronSchedule::parse("CRON_TZ=Asia/Kolkata 0 30 9 ? * MON").unwrap();
    assert_eq!(cron_tz.time_zone(), chrono_tz::Asia::Kolkata);
    assert_eq!(
        cron_tz.next_after(utc(2026, 1, 5, 0, 0, 0)),
        Some(utc(2026, 1, 5, 4, 0, 0))
    );
    // The local date decides the day: 00:30 on the 1st in Tokyo is the 31st in UTC.
    let tokyo = CronSchedule::parse("TZ=Asia/Tokyo 0 30 0 1 * ?").unwrap();
    assert_eq!(
        tokyo.next_after(utc(2026, 1, 5, 0, 0, 0)),
        Some(utc(2026, 1, 31, 15, 30, 0))
    );
    let explicit_utc = CronSchedule::parse("TZ=UTC 0 0 9 * * ?").unwrap();
    assert_eq!(explicit_utc.time_zone(), Tz::UTC);
    let in_zone = CronSchedule::in_zone(" 0 0 9 * * ? ", chrono_tz::Europe::Berlin).unwrap();
    assert_eq!(in_zone.expression(), "TZ=Europe/Berlin 0 0 9 * * ?");
    assert_eq!(
        in_zone.next_after(utc(2026, 1, 5, 0, 0, 0)),
        berlin.next_after(utc(2026, 1, 5, 0, 0, 0))
    );
    let reparsed: CronSchedule = in_zone.expression().parse().unwrap();
    assert_eq!(reparsed.time_zone(), chrono_tz::Europe::Berlin);
    assert_eq!(
        format!("{in_zone:?}"),
        "CronSchedule(\"TZ=Europe/Berlin 0 0 9 * * ?\")"
    );
}

#[test]
fn zone_errors_name_the_zone() {
    // spec: R50
    let unknown = CronSchedule::parse("TZ=Mars/Olympus 0 0 9 * * ?").unwrap_err();
    assert_eq!(unknown.expression, "TZ=Mars/Olympus 0 0 9 * * ?");
    assert!(
        unknown
            .reason
            .starts_with("unknown time zone `Mars/Olympus`"),
        "{unknown}"
    );
    let empty = CronSchedule::parse("TZ= 0 0 9 * * ?").unwrap_err();
    assert!(
        empty.reason.starts_with("no time zone after `TZ=`"),
        "{empty}"
    );
    let no_fields = CronSchedule::parse("CRON_TZ=Europe/Paris").unwrap_err();
    assert_eq!(
        no_fields.reason,
        "no cron fields after the time zone `Europe/Paris`"
    );
    let unix = CronSchedule::parse("TZ=Europe/Paris 0 9 * * *").unwrap_err();
    assert!(unix.reason.contains("add a seconds field"), "{unix}");
    let twice =
        CronSchedule::in_zone("TZ=Asia/Tokyo 0 0 9 * * ?", chrono_tz::Europe::Berlin).unwrap_err();
    assert_eq!(twice.reason, "the expression already names a time zone");
}

#[test]
fn fire_times_are_strictly_after_whole_seconds_and_within_range() {
    // spec: R3
    let every_second = CronSchedule::parse("* * * * * ?").unwrap();
    let half = at(10, 0, 0) + Duration::milliseconds(500);
    assert_eq!(every_second.next_after(half), Some(at(10, 0, 1)));
    assert_eq!(every_second.next_at_or_after(half), Some(at(10, 0, 1)));
    assert_eq!(
        every_second.next_at_or_after(at(10, 0, 0)),
        Some(at(10, 0, 0))
    );
    // Outside the validation range (1970–9999) nothing fires; croner stops at 4999.
    assert_eq!(every_second.next_after(utc(1969, 12, 31, 0, 0, 0)), None);
    assert_eq!(every_second.next_after(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(every_second.next_after(utc(9999, 12, 31, 23, 59, 59)), None);
    assert_eq!(
        every_second.next_after(utc(4999, 12, 31, 23, 59, 58)),
        Some(utc(4999, 12, 31, 23, 59, 59))
    );
    let kiritimati = CronSchedule::parse("TZ=Pacific/Kiritimati 0 0 0 L-2 * ?").unwrap();
    assert_eq!(kiritimati.next_after(utc(9999, 12, 31, 0, 0, 0)), None);
}

#[test]
fn the_documented_examples_parse_and_schedules_are_shareable() {
    // spec: R29, R50
    // The examples of docs/getting-started.md ("Cron expressions").
    for expr in [
        "0/30 * * * * ?",
        "0 0 2 * * ?",
        "0 0 18 L * ?",
        "0 0 9 ? * MON#1",
        "TZ=Europe/Berlin 0 30 2 * * ?",
        "CRON_TZ=Europe/Berlin 0 30 2 * * ?",
        "0 0 9,17 * * ?",
        "10-40/10 * * * * ?",
        "0 0 12 LW * ?",
        "0 0 12 ? * FRI#3",
        "@annually",
        "@monthly",
    ] {
        CronSchedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    }
    assert_eq!(
        fires("0 0 9 ? * MON#1", at(10, 0, 0), 1),
        vec![utc(2026, 2, 2, 9, 0, 0)]
    );
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<CronSchedule>();
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
