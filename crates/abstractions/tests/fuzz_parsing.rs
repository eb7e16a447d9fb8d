//! Property-based fuzzing of what users hand the runtime as text: cron expressions and
//! job definitions. Whatever comes in, parsing returns a value or a clear error, never a
//! panic, and errors name the expression or the job. Parsed cron schedules fire strictly
//! after the time they are asked about, in any zone and at the limits of the valid range.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgtasks_abstractions::{CronSchedule, JobInfo, MAX_TIME_SECS, MIN_TIME_SECS, time_in_range};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

/// Cron-like text: fields made of the characters cron uses (Quartz `L`, `W`, `#` too),
/// plus noise.
fn cron_like() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("*".to_owned()),
        Just("?".to_owned()),
        Just("L".to_owned()),
        Just("LW".to_owned()),
        Just("L-3".to_owned()),
        Just("L-40".to_owned()),
        Just("L-2W".to_owned()),
        Just("5W".to_owned()),
        Just("6#3".to_owned()),
        Just("6L".to_owned()),
        Just("FRI#2".to_owned()),
        Just("MON-FRI".to_owned()),
        Just("@hourly".to_owned()),
        (0u32..70).prop_map(|n| n.to_string()),
        (0u32..70, 1u32..30).prop_map(|(a, b)| format!("{a}/{b}")),
        (0u32..70, 0u32..70).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u32..40, 0u32..9).prop_map(|(a, b)| format!("{a}W,{b}#{a}")),
        "[A-Z]{3}",
        "[ -~]{0,4}",
    ];
    proptest::collection::vec(field, 0..9).prop_map(|fields| fields.join(" "))
}

/// What may stand before the fields: nothing, a known zone, an unknown one, or noise.
fn zone_prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("TZ=".to_owned()),
        Just("CRON_TZ=".to_owned()),
        Just("TZ= ".to_owned()),
        Just("TZ=Europe/Berlin ".to_owned()),
        Just("CRON_TZ=America/New_York ".to_owned()),
        Just("TZ=Australia/Lord_Howe ".to_owned()),
        Just("TZ=Pacific/Apia ".to_owned()),
        Just("TZ=Nowhere/Atlantis ".to_owned()),
        "(CRON_)?TZ=[A-Za-z_/+0-9-]{0,16} ",
        "TZ=\\PC{0,12}",
    ]
}

/// A time in the valid range (1970–9999), often at or next to its ends.
fn time_in_valid_range() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just(MIN_TIME_SECS),
        Just(MIN_TIME_SECS + 1),
        Just(MAX_TIME_SECS),
        Just(MAX_TIME_SECS - 1),
        Just(MAX_TIME_SECS - 86_400),
        // Around croner's last year (4999).
        Just(95_617_584_000 - 1),
        MIN_TIME_SECS..=MAX_TIME_SECS,
        // The next fifty years, where schedules are looked at most.
        1_767_225_600i64..3_345_062_400,
    ]
    .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

/// Valid expressions: the reference's forms, Quartz specials, and zones with DST.
fn valid_cron() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("0/30 * * * * ?"),
        Just("0 0 0/2 * * ?"),
        Just("0 0/10 * * * ? *"),
        Just("@hourly"),
        Just("@yearly"),
        Just("0 0 12 L * ?"),
        Just("0 0 12 L-3 * ?"),
        Just("0 0 12 LW * ?"),
        Just("0 0 12 15W * ?"),
        Just("0 0 12 ? * 6L"),
        Just("0 0 12 ? * 6#3"),
        Just("0 0 12 29 2 ? 1972/4"),
        Just("TZ=Europe/Berlin 0 30 2 * * ?"),
        Just("TZ=Europe/Berlin 0 15,45 2 * * ?"),
        Just("TZ=Europe/Berlin 0 */30 * * * ?"),
        Just("TZ=America/New_York 0 30 1 L-2 * ?"),
        Just("CRON_TZ=Australia/Lord_Howe 0 15 2 ? * 1L"),
        Just("TZ=Pacific/Apia 0 0 */6 L-1 * ?"),
        Just("TZ=Pacific/Kiritimati 59 59 23 31 12 ?"),
        Just("TZ=Pacific/Pago_Pago 0 0 0 1 1 ?"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn cron_parsing_never_panics(
        expr in prop_oneof![
            cron_like(),
            (zone_prefix(), cron_like()).prop_map(|(zone, fields)| zone + &fields),
            "\\PC{0,40}",
        ]
    ) {
        // spec: R29, R50
        match CronSchedule::parse(&expr) {
            Ok(schedule) => {
                let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
                if let Some(next) = schedule.next_after(from) {
                    prop_assert!(next > from);
                }
                prop_assert_eq!(schedule.expression(), expr.trim());
            }
            Err(error) => {
                prop_assert_eq!(&error.expression, &expr);
                prop_assert!(error.to_string().starts_with("invalid cron expression `"));
                if expr.starts_with("TZ=Nowhere/Atlantis ") {
                    prop_assert!(error.reason.contains("`Nowhere/Atlantis`"), "{}", error);
                }
            }
        }
    }

    #[test]
    fn job_definitions_never_panic_and_errors_name_the_job(
        id in "[a-z]{1,8}",
        kind in 0i32..4,
        interval in -5i64..5,
        cron in prop_oneof![cron_like(), Just("0/30 * * * * ?".to_owned())],
        args in prop_oneof![
            Just("{}".to_owned()),
            Just("[1,2]".to_owned()),
            Just("\"text\"".to_owned()),
            Just("42".to_owned()),
            Just("null".to_owned()),
            Just("{\"k\":[1,{\"n\":null}]}".to_owned()),
        ],
        status in prop_oneof![Just(-1i32), Just(5), Just(7), Just(30)],
        noise in "[ -~]{0,12}",
    ) {
        // spec: R1, R3
        let json = format!(
            r#"{{"id":"{id}","job_type":"t","kind":{kind},"interval":{interval},"cron":{cron:?},"args":{args},"status":{status}}}"#
        );
        match JobInfo::from_json(&json) {
            Ok(job) => {
                prop_assert_eq!(&job.id, &id);
                prop_assert!(job.interval >= 0);
            }
            Err(error) => prop_assert!(error.to_string().contains(&format!("`{id}`")), "{error}"),
        }
        // Arbitrary text never panics either.
        let _ = JobInfo::from_json(&noise);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn parsed_schedules_fire_strictly_after_their_input_even_at_the_extremes(
        cron in valid_cron(),
        from in time_in_valid_range(),
        later_by in 0i64..10_000_000,
    ) {
        // spec: R50, R3
        let schedule = CronSchedule::parse(cron).unwrap();
        let next = schedule.next_after(from);
        if let Some(next) = next {
            prop_assert!(next > from, "{cron}: {next} is not after {from}");
            prop_assert!(time_in_range(next));
            // A fire time is itself a fire time, and the next one at or after it.
            prop_assert_eq!(schedule.next_at_or_after(next), Some(next));
        }
        if let Some(at_or_after) = schedule.next_at_or_after(from) {
            prop_assert!(at_or_after >= from);
            prop_assert!(next.is_none_or(|next| at_or_after <= next));
        }
        // Fire times never go backwards as the input moves forwards.
        let later = from + chrono::Duration::seconds(later_by);
        if let (Some(next), Some(following)) = (next, schedule.next_after(later)) {
            prop_assert!(following >= next, "{cron}: after {later}: {following} < {next}");
        }
    }
}

/// Any time chrono can hold.
fn any_time() -> impl Strategy<Value = chrono::DateTime<Utc>> {
    prop_oneof![
        (-8_000_000_000_000i64..8_000_000_000_000).prop_map(|s| {
            chrono::DateTime::from_timestamp(s, 0).unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
        }),
        Just(chrono::DateTime::<Utc>::MAX_UTC),
        Just(chrono::DateTime::<Utc>::MIN_UTC),
        (0i64..4_000_000_000).prop_map(|s| chrono::DateTime::from_timestamp(s, 0).unwrap()),
    ]
}

/// Numbers inside, at and far beyond every limit.
fn any_number() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(1),
        Just(-1),
        Just(i64::MAX),
        Just(i64::MIN),
        Just(bgtasks_abstractions::MAX_INTERVAL_SECS),
        Just(bgtasks_abstractions::MAX_INTERVAL_SECS + 1),
        any::<i64>(),
        0i64..1_000_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn definitions_far_beyond_the_bounds_never_panic_in_validation_or_scheduling(
        kind in 0usize..3,
        interval in any_number(),
        counts in (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
        lock in any_number(),
        times in (any_time(), any_time(), prop::option::of(any_time()), prop::option::of(any_time()), prop::option::of(any_time())),
        now in any_time(),
        cron in prop_oneof![
            Just("0/1 * * * * ?"),
            Just("0 0 0 1 1 ? 2099"),
            Just("0 0 12 * * ?"),
            Just("TZ=Europe/Berlin 0 30 2 L-3 * ?"),
            Just("CRON_TZ=America/New_York 0 0 */2 ? * 6#3"),
        ],
    ) {
        // spec: R42
        let (begin, created, end, last, next) = times;
        let mut job = match kind {
            0 => JobInfo::once("j", "t"),
            1 => JobInfo::period("j", "t", cron),
            _ => JobInfo::persistent("j", "t", interval, counts.0),
        };
        job.interval = interval;
        job.max_count = counts.0;
        job.max_try_count = counts.1;
        job.trigger_count = counts.2;
        job.try_count = counts.3;
        job.lock_timeout = lock;
        job.begin_time = begin;
        job.creation_time = created;
        job.end_time = end;
        job.last_run_time = last;
        job.next_run_time = next;
        let schedule = match job.validate() {
            Ok(schedule) => schedule,
            Err(error) => {
                prop_assert!(error.to_string().contains("`j`"), "{error}");
                CronSchedule::parse(cron).ok()
            }
        };
        // Scheduling never panics, valid or not.
        let first = bgtasks_abstractions::first_fire_time(&job, schedule.as_ref(), now);
        let following = bgtasks_abstractions::next_fire_time_after_run(&job, schedule.as_ref(), now);
        if let (Some(first), Ok(_)) = (first, job.validate()) {
            prop_assert!(bgtasks_abstractions::time_in_range(first) || first == job.begin_time);
        }
        let _ = following;
    }
}
