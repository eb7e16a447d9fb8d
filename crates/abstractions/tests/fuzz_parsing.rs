//! Property-based fuzzing of what users hand the runtime as text: cron expressions and
//! job definitions. Whatever comes in, parsing returns a value or a clear error, never a
//! panic, and errors name the expression or the job.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgtasks_abstractions::{CronSchedule, JobInfo};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

/// Cron-like text: fields made of the characters cron uses, plus noise.
fn cron_like() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("*".to_owned()),
        Just("?".to_owned()),
        Just("L".to_owned()),
        Just("5W".to_owned()),
        Just("6#3".to_owned()),
        (0u32..70).prop_map(|n| n.to_string()),
        (0u32..70, 1u32..30).prop_map(|(a, b)| format!("{a}/{b}")),
        (0u32..70, 0u32..70).prop_map(|(a, b)| format!("{a}-{b}")),
        "[A-Z]{3}",
        "[ -~]{0,4}",
    ];
    proptest::collection::vec(field, 0..9).prop_map(|fields| fields.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn cron_parsing_never_panics(expr in prop_oneof![cron_like(), "\\PC{0,40}"]) {
        // spec: R29
        match CronSchedule::parse(&expr) {
            Ok(schedule) => {
                let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
                if let Some(next) = schedule.next_after(from) {
                    prop_assert!(next > from);
                }
            }
            Err(error) => {
                prop_assert_eq!(&error.expression, &expr);
                prop_assert!(error.to_string().starts_with("invalid cron expression `"));
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
        cron in prop_oneof![Just("0/1 * * * * ?"), Just("0 0 0 1 1 ? 2099"), Just("0 0 12 * * ?")],
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
