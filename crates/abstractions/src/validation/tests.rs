//! The checks of a definition, one rule at a time.

use super::*;

#[test]
fn period_jobs_need_a_valid_cron() {
    // spec: R3
    let mut job = JobInfo::period("report", "t", "");
    assert_eq!(
        job.validate().unwrap_err().to_string(),
        "job `report` is a Period job but has no cron expression"
    );
    job.cron = None;
    assert!(matches!(
        job.validate(),
        Err(JobDefinitionError::MissingCron { .. })
    ));
    job.cron = Some("* * *".into());
    let err = job.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("job `report`: invalid cron expression `* * *`"),
        "{err}"
    );
    job.cron = Some("0/30 * * * * ?".into());
    assert!(job.validate().unwrap().is_some());
}

#[test]
fn negative_numbers_are_refused() {
    // spec: R2
    let job = JobInfo::once("j", "t").with_interval(-5);
    assert_eq!(
        job.validate().unwrap_err().to_string(),
        "job `j`: interval must not be negative, got -5"
    );
    let job = JobInfo::once("j", "t").with_max_try_count(-1);
    assert!(
        job.validate()
            .unwrap_err()
            .to_string()
            .contains("max try count")
    );
    let job = JobInfo::persistent("p", "t", 0, 3);
    assert!(matches!(
        job.validate(),
        Err(JobDefinitionError::ZeroInterval { .. })
    ));
}

#[test]
fn every_number_and_time_is_range_checked() {
    // spec: R42
    let err = JobInfo::persistent("p", "t", 9_000_000_000_000, 0)
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("job `p`: interval is 9000000000000, more than the {MAX_INTERVAL_SECS} allowed")
    );
    assert!(
        JobInfo::persistent("p", "t", MAX_INTERVAL_SECS, 0)
            .validate()
            .is_ok(),
        "the limit itself is allowed"
    );
    let err = JobInfo::once("j", "t")
        .with_lock_timeout(MAX_LOCK_TIMEOUT_SECS + 1)
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("lock timeout"), "{err}");
    let err = JobInfo::once("j", "t")
        .with_max_try_count(i32::MAX)
        .validate()
        .unwrap_err();
    assert!(
        err.to_string().contains("max try count is 2147483647"),
        "{err}"
    );
    let far = chrono::DateTime::from_timestamp(MAX_TIME_SECS + 1, 0).unwrap();
    let err = JobInfo::once("j", "t")
        .with_begin_time(far)
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "job `j`: begin time +10000-01-01T00:00:00+00:00 is outside the years 1970 to 9999"
    );
    let before = chrono::DateTime::from_timestamp(-1, 0).unwrap();
    let mut job = JobInfo::once("j", "t");
    job.next_run_time = Some(before);
    assert!(matches!(
        job.validate(),
        Err(JobDefinitionError::TimeOutOfRange {
            field: "next run time",
            ..
        })
    ));
}

#[test]
fn ids_types_and_sizes_are_checked() {
    // spec: R1
    assert!(matches!(
        JobInfo::once(" ", "t").validate(),
        Err(JobDefinitionError::EmptyId { .. })
    ));
    assert!(matches!(
        JobInfo::once("j", "").validate(),
        Err(JobDefinitionError::EmptyJobType { .. })
    ));
    let long = "x".repeat(300);
    let err = JobInfo::once("j", "t")
        .with_name(long)
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "job `j`: name is 300 characters long, more than the 255 allowed"
    );
    let big = JobInfo::once("j", "t").with_arg("blob", "y".repeat(MAX_ARGS_BYTES));
    assert!(matches!(
        big.validate(),
        Err(JobDefinitionError::ArgsTooLarge { .. })
    ));
    let now = chrono::Utc::now();
    let backwards = JobInfo::once("j", "t")
        .with_begin_time(now)
        .with_end_time(now - chrono::Duration::hours(1));
    assert!(matches!(
        backwards.validate(),
        Err(JobDefinitionError::EndBeforeBegin { .. })
    ));
}

#[test]
fn json_definitions_are_decoded_with_clear_errors() {
    // spec: R1
    let err = JobInfo::from_json(r#"{"id":"imp","job_type":"t","args":[1]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "job `imp`: job arguments must be a JSON object, found an array `[1]`"
    );
    let err = JobInfo::from_json(r#"{"id":"imp","job_type":"t","status":99}"#).unwrap_err();
    assert!(
        err.to_string().contains("unknown job status code 99"),
        "{err}"
    );
    let err = JobInfo::from_json("[]").unwrap_err();
    assert_eq!(
        err.to_string(),
        JobDefinitionError::Malformed {
            job: None,
            reason: "a job definition is a JSON object, not an array".into()
        }
        .to_string()
    );
    let err = JobInfo::from_json("{not json").unwrap_err();
    assert!(
        err.to_string().starts_with("job definition is not valid"),
        "{err}"
    );
    let ok =
        JobInfo::from_json(r#"{"id":"imp","job_type":"t","args":{"a":1},"kind":2,"interval":5}"#)
            .unwrap();
    assert_eq!(ok.kind, JobKind::Persistent);
    assert_eq!(ok.max_try_count, 50);
}

#[test]
fn time_limits_and_actions_are_checked() {
    // spec: R42, R44
    let job = JobInfo::once("j", "t").with_time_limit(std::time::Duration::from_millis(1500));
    assert_eq!(job.time_limit, Some(2), "rounded up to whole seconds");
    assert!(job.validate().is_ok());
    let mut job = JobInfo::once("j", "t");
    job.time_limit = Some(0);
    assert_eq!(
        job.validate().unwrap_err().to_string(),
        format!("job `j`: time limit 0 s is out of range (1 to {MAX_TIME_LIMIT_SECS} s)")
    );
    let mut job = JobInfo::once("j", "t").with_action(crate::JobAction::new(" "));
    assert_eq!(
        job.validate().unwrap_err().to_string(),
        "job `j`: actions: action 1 has no name"
    );
    job.actions = (0..=MAX_ACTIONS)
        .map(|i| crate::JobAction::new(format!("a{i}")))
        .collect();
    assert!(
        job.validate()
            .unwrap_err()
            .to_string()
            .contains("33 actions")
    );
}
