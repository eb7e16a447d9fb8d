//! Daylight saving, checked to the exact UTC instant (R50).
//!
//! Europe/Berlin in 2027: clocks go forward on 28 March (02:00 CET → 03:00 CEST, so 02:xx
//! does not exist) and back on 31 October (03:00 CEST → 02:00 CET, so 02:xx happens
//! twice). CET is UTC+1, CEST is UTC+2.

use super::*;
use chrono::TimeZone;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn schedule(expression: &str) -> CronSchedule {
    CronSchedule::parse(expression).unwrap_or_else(|e| panic!("{e}"))
}

/// The next `count` fire times after `from`.
fn fires(schedule: &CronSchedule, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    let mut t = from;
    for _ in 0..count {
        t = schedule.next_after(t).unwrap();
        times.push(t);
    }
    times
}

const DAILY_0230_BERLIN: &str = "TZ=Europe/Berlin 0 30 2 * * ?";

#[test]
fn a_skipped_local_time_fires_once_at_the_end_of_the_gap() {
    // spec: R50
    let daily = schedule(DAILY_0230_BERLIN);
    assert_eq!(
        fires(&daily, utc(2027, 3, 26, 0, 0, 0), 5),
        vec![
            utc(2027, 3, 26, 1, 30, 0), // 02:30 CET
            utc(2027, 3, 27, 1, 30, 0), // 02:30 CET
            utc(2027, 3, 28, 1, 0, 0),  // 02:30 does not exist: 03:00 CEST
            utc(2027, 3, 29, 0, 30, 0), // 02:30 CEST
            utc(2027, 3, 30, 0, 30, 0),
        ]
    );
    // Around the gap itself.
    assert_eq!(
        daily.next_after(utc(2027, 3, 28, 0, 59, 59)),
        Some(utc(2027, 3, 28, 1, 0, 0))
    );
    assert_eq!(
        daily.next_at_or_after(utc(2027, 3, 28, 1, 0, 0)),
        Some(utc(2027, 3, 28, 1, 0, 0))
    );
    assert_eq!(
        daily.next_after(utc(2027, 3, 28, 1, 0, 0)),
        Some(utc(2027, 3, 29, 0, 30, 0))
    );
}

#[test]
fn a_repeated_local_time_fires_once_at_its_first_occurrence() {
    // spec: R50
    let daily = schedule(DAILY_0230_BERLIN);
    assert_eq!(
        fires(&daily, utc(2027, 10, 29, 0, 0, 0), 5),
        vec![
            utc(2027, 10, 29, 0, 30, 0), // 02:30 CEST
            utc(2027, 10, 30, 0, 30, 0), // 02:30 CEST
            utc(2027, 10, 31, 0, 30, 0), // the first 02:30 (CEST); not 01:30 UTC (CET)
            utc(2027, 11, 1, 1, 30, 0),  // 02:30 CET
            utc(2027, 11, 2, 1, 30, 0),
        ]
    );
    // From inside the repeated hour: the first pass still fires, the second never does.
    for (from, next) in [
        (utc(2027, 10, 31, 0, 10, 0), utc(2027, 10, 31, 0, 30, 0)), // 02:10 CEST
        (utc(2027, 10, 31, 0, 30, 0), utc(2027, 11, 1, 1, 30, 0)),  // 02:30 CEST
        (utc(2027, 10, 31, 0, 45, 0), utc(2027, 11, 1, 1, 30, 0)),  // 02:45 CEST
        (utc(2027, 10, 31, 1, 10, 0), utc(2027, 11, 1, 1, 30, 0)),  // 02:10 CET
        (utc(2027, 10, 31, 1, 29, 59), utc(2027, 11, 1, 1, 30, 0)), // 02:29:59 CET
    ] {
        assert_eq!(daily.next_after(from), Some(next), "after {from}");
    }
    assert_eq!(
        daily.next_at_or_after(utc(2027, 10, 31, 1, 30, 0)),
        Some(utc(2027, 11, 1, 1, 30, 0))
    );
}

#[test]
fn lists_of_fixed_times_follow_the_same_rule() {
    // spec: R50
    let twice_daily = schedule("TZ=Europe/Berlin 0 30 2,14 * * ?");
    assert_eq!(
        fires(&twice_daily, utc(2027, 3, 27, 12, 0, 0), 3),
        vec![
            utc(2027, 3, 27, 13, 30, 0), // 14:30 CET
            utc(2027, 3, 28, 1, 0, 0),   // 02:30 skipped: 03:00 CEST
            utc(2027, 3, 28, 12, 30, 0), // 14:30 CEST
        ]
    );
    assert_eq!(
        fires(&twice_daily, utc(2027, 10, 30, 12, 0, 0), 3),
        vec![
            utc(2027, 10, 30, 12, 30, 0), // 14:30 CEST
            utc(2027, 10, 31, 0, 30, 0),  // the first 02:30
            utc(2027, 10, 31, 13, 30, 0), // 14:30 CET
        ]
    );
    // Two local times in one gap fire once, together, at its end.
    let both = schedule("TZ=Europe/Berlin 0 15,45 2 * * ?");
    assert_eq!(
        fires(&both, utc(2027, 3, 28, 0, 0, 0), 2),
        vec![utc(2027, 3, 28, 1, 0, 0), utc(2027, 3, 29, 0, 15, 0)]
    );
}

#[test]
fn intervals_keep_their_rhythm_in_real_time() {
    // spec: R50
    let half_hourly = schedule("TZ=Europe/Berlin 0 */30 * * * ?");
    // Spring: no instant is missing, the local 02:00 and 02:30 simply do not exist.
    assert_eq!(
        fires(&half_hourly, utc(2027, 3, 28, 0, 0, 0), 3),
        vec![
            utc(2027, 3, 28, 0, 30, 0), // 01:30 CET
            utc(2027, 3, 28, 1, 0, 0),  // 03:00 CEST
            utc(2027, 3, 28, 1, 30, 0), // 03:30 CEST
        ]
    );
    // Autumn: the repeated hour is walked twice.
    assert_eq!(
        fires(&half_hourly, utc(2027, 10, 30, 23, 45, 0), 5),
        vec![
            utc(2027, 10, 31, 0, 0, 0),  // 02:00 CEST
            utc(2027, 10, 31, 0, 30, 0), // 02:30 CEST
            utc(2027, 10, 31, 1, 0, 0),  // 02:00 CET
            utc(2027, 10, 31, 1, 30, 0), // 02:30 CET
            utc(2027, 10, 31, 2, 0, 0),  // 03:00 CET
        ]
    );
    let hourly = schedule("TZ=Europe/Berlin 0 30 * * * ?");
    assert_eq!(
        fires(&hourly, utc(2027, 3, 28, 0, 0, 0), 2),
        vec![utc(2027, 3, 28, 0, 30, 0), utc(2027, 3, 28, 1, 30, 0)] // 01:30 CET, 03:30 CEST
    );
    // From inside the second pass, the next tick is in the second pass.
    assert_eq!(
        hourly.next_after(utc(2027, 10, 31, 1, 0, 0)),
        Some(utc(2027, 10, 31, 1, 30, 0))
    );
}

#[test]
fn other_zones_and_odd_gaps() {
    // spec: R50
    // New York, 7 November 2027: 01:30 happens twice (EDT, UTC-4, then EST, UTC-5).
    let new_york = schedule("TZ=America/New_York 0 30 1 * * ?");
    assert_eq!(
        fires(&new_york, utc(2027, 11, 6, 12, 0, 0), 2),
        vec![utc(2027, 11, 7, 5, 30, 0), utc(2027, 11, 8, 6, 30, 0)]
    );
    // Lord Howe Island, 3 October 2027: a half-hour gap, 02:00 (+10:30) → 02:30 (+11).
    let lord_howe = schedule("TZ=Australia/Lord_Howe 0 15 2 * * ?");
    assert_eq!(
        fires(&lord_howe, utc(2027, 10, 1, 0, 0, 0), 3),
        vec![
            utc(2027, 10, 1, 15, 45, 0), // 2 Oct, 02:15 +10:30
            utc(2027, 10, 2, 15, 30, 0), // 3 Oct, 02:15 skipped: 02:30 +11
            utc(2027, 10, 3, 15, 15, 0), // 4 Oct, 02:15 +11
        ]
    );
    // Samoa skipped 30 December 2011 entirely (UTC-10 → UTC+14).
    let apia = schedule("TZ=Pacific/Apia 0 0 12 * * ?");
    assert_eq!(
        fires(&apia, utc(2011, 12, 29, 0, 0, 0), 3),
        vec![
            utc(2011, 12, 29, 22, 0, 0), // 29 Dec, 12:00 -10
            utc(2011, 12, 30, 10, 0, 0), // 30 Dec never was: 31 Dec 00:00 +14
            utc(2011, 12, 30, 22, 0, 0), // 31 Dec, 12:00 +14
        ]
    );
}

#[test]
fn zones_and_quartz_days_together() {
    // spec: R50
    // The last Sunday of March at 02:30 in Berlin is the spring-forward day itself.
    let last_sunday = schedule("TZ=Europe/Berlin 0 30 2 ? 3 1L");
    assert_eq!(
        fires(&last_sunday, utc(2027, 1, 1, 0, 0, 0), 2),
        vec![utc(2027, 3, 28, 1, 0, 0), utc(2028, 3, 26, 1, 0, 0)]
    );
    // L-3 read on the local calendar: 23:30 on 28 January in New York is 04:30 UTC on the 29th.
    let l_minus_3 = schedule("TZ=America/New_York 0 30 23 L-3 * ?");
    assert_eq!(
        l_minus_3.next_after(utc(2027, 1, 1, 0, 0, 0)),
        Some(utc(2027, 1, 29, 4, 30, 0))
    );
}
