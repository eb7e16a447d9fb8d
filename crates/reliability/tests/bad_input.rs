//! Scenario 10 of the reliability suite at the API, in more variants than the suite runs
//! against the stores: every bad input gets an error that names the job and what is
//! wrong, and nothing is queued, lost or retried in a loop.
// spec: R1, R7, R29, R32, R33

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks::TokioClock;
use bgtasks::actions::{JobAction, JobActionsExt};
use bgtasks::exception_handling::{InMemoryMailTransport, JOB_EXECUTED_FAILED_ACTION};
use bgtasks::notifications::failure_email_definitions;
use bgtasks::{
    BackgroundTasks, InMemoryJobStore, JobDefinitions, JobError, JobInfo, JobKind,
    JobRunnableContext, JobScheduler, JobStatus, NodeRegistry, Runtime, job_fn,
};
use chrono::Utc;

fn runtime() -> (Runtime, Arc<InMemoryJobStore>) {
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = BackgroundTasks::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store.clone())
        .runnable(
            "ok",
            job_fn(|_ctx: JobRunnableContext| async { Ok::<(), JobError>(()) }),
        )
        .build()
        .unwrap();
    (runtime, store)
}

async fn refused(runtime: &Runtime, store: &InMemoryJobStore, job: JobInfo) -> String {
    let id = job.id.clone();
    let err = runtime
        .queue(job)
        .await
        .expect_err("a bad definition is refused")
        .to_string();
    assert!(
        store.find(&id).await.unwrap().is_none(),
        "`{id}` reached the store"
    );
    err
}

#[tokio::test]
async fn unsupported_cron_forms_are_refused_saying_why() {
    // spec: R29, R50
    let (runtime, store) = runtime();
    let cases = [
        (
            "TZ=Mars/Olympus 0 0 12 * * ?",
            "unknown time zone `Mars/Olympus`",
        ),
        ("TZ= 0 0 12 * * ?", "no time zone after `TZ=`"),
        ("0 0 12 L-3W * ?", "`L-n` with `W`"),
        ("0 0 12 ? * 6#6", "day-of-week field `6#6`"),
        ("0 12 * * *", "5-field Unix form is not supported"),
        ("*/5 * * * *", "5-field Unix form is not supported"),
        ("0 0 12 * * ? 2030 1", "expected 6 or 7 fields"),
        ("0 0", "expected 6 or 7 fields"),
        ("61 * * * * ?", "invalid cron expression `61 * * * * ?`"),
        ("0 0 25 * * ?", "invalid cron expression `0 0 25 * * ?`"),
        ("every minute", "invalid cron expression `every minute`"),
        ("0 0 0 30 2 ?", "never fires"),
        ("   ", "is a Period job but has no cron expression"),
    ];
    for (i, (cron, says)) in cases.iter().enumerate() {
        let id = format!("cron-{i}");
        let err = refused(&runtime, &store, JobInfo::period(id.clone(), "ok", *cron)).await;
        assert!(
            err.contains(&format!("job `{id}`")) && err.contains(says),
            "`{cron}`: `{err}` should name the job and say `{says}`"
        );
    }
    let err = refused(&runtime, &store, {
        let mut job = JobInfo::period("no-cron", "ok", "");
        job.cron = None;
        job
    })
    .await;
    assert_eq!(
        err,
        "job `no-cron` is a Period job but has no cron expression"
    );
    // The reference's own Quartz forms are accepted, with Quartz `L`, `W` and `#`, and
    // with a time zone.
    for (i, cron) in [
        "0/30 * * * * ?",
        "0 0 0/2 * * ?",
        "0 0/10 * * * ? *",
        "0 0 2 * * ? ",
        "0 0 12 L * ?",
        "0 0 12 LW * ?",
        "0 0 12 L-3 * ?",
        "0 0 12 15W * ?",
        "0 0 12 ? * 6L",
        "0 0 12 ? * 6#3",
        "0 15 10 ? * MON#2",
        "TZ=Europe/Berlin 0 30 2 * * ?",
        "CRON_TZ=America/New_York 0 0 9 ? * MON-FRI",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            runtime
                .queue(JobInfo::period(format!("quartz-{i}"), "ok", *cron))
                .await
                .unwrap(),
            "`{cron}` is the reference's form"
        );
    }
}

#[tokio::test]
async fn oversize_names_and_arguments_are_refused_with_their_size_and_the_limit() {
    let (runtime, store) = runtime();
    let long = "n".repeat(256);
    let err = refused(&runtime, &store, JobInfo::once(long.clone(), "ok")).await;
    assert!(
        err.contains("256 characters long, more than the 255 allowed"),
        "{err}"
    );
    for (field, job) in [
        (
            "name",
            JobInfo::once("big-name", "ok").with_name(long.clone()),
        ),
        (
            "group",
            JobInfo::once("big-group", "ok").with_group(long.clone()),
        ),
        ("job type", JobInfo::once("big-type", long.clone())),
    ] {
        let err = refused(&runtime, &store, job).await;
        assert!(
            err.contains(field) && err.contains("256 characters long, more than the 255 allowed"),
            "{field}: {err}"
        );
    }
    let err = refused(
        &runtime,
        &store,
        JobInfo::once("big-args", "ok").with_arg("blob", "b".repeat(1024 * 1024)),
    )
    .await;
    assert!(
        err.starts_with("job `big-args`: arguments are ")
            && err.ends_with("bytes as JSON, more than the 1048576 allowed"),
        "{err}"
    );
    // Right at the limits is fine.
    assert!(
        runtime
            .queue(JobInfo::once("i".repeat(255), "ok").with_name("m".repeat(255)))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn malformed_definitions_are_refused_naming_the_job() {
    let cases = [
        (
            r#"{"id":"imp","job_type":"ok","args":[1]}"#,
            "job `imp`: job arguments must be a JSON object, found an array `[1]`",
        ),
        (
            r#"{"id":"imp","job_type":"ok","args":"x=1"}"#,
            "job `imp`: job arguments must be a JSON object",
        ),
        (
            r#"{"id":"imp","job_type":"ok","status":99}"#,
            "unknown job status code 99",
        ),
        (
            r#"{"id":"imp","job_type":"ok","interval":-5}"#,
            "job `imp`: interval must not be negative, got -5",
        ),
        (
            r#"{"id":"imp","job_type":"ok","kind":2,"interval":0}"#,
            "job `imp` is a Persistent job with interval 0",
        ),
        (
            r#"{"job_type":"ok"}"#,
            "a job needs a non-empty id (job type `ok`)",
        ),
        (r#"{"id":"imp"}"#, "job `imp` has no job type"),
        ("{not json", "job definition is not valid"),
        ("42", "a job definition is a JSON object, not a number"),
        ("[]", "a job definition is a JSON object, not an array"),
    ];
    for (json, says) in cases {
        let err = JobInfo::from_json(json)
            .expect_err("a malformed definition is refused")
            .to_string();
        assert!(err.contains(says), "`{json}`: `{err}` should say `{says}`");
    }
    let job =
        JobInfo::from_json(r#"{"id":"imp","job_type":"ok","args":{"a":1},"kind":2,"interval":5}"#)
            .unwrap();
    assert_eq!((job.kind, job.interval), (JobKind::Persistent, 5));
    let (runtime, store) = runtime();
    let mut end_before_begin = JobInfo::once("backwards", "ok");
    end_before_begin.end_time = Some(Utc::now() - chrono::Duration::hours(1));
    end_before_begin.begin_time = Utc::now();
    let err = refused(&runtime, &store, end_before_begin).await;
    assert!(
        err.contains("end time") && err.contains("is before begin time"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_of_a_type_no_node_has_waits_untouched_and_is_reported() {
    // spec: R41
    let (runtime, store) = runtime();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    runtime
        .queue(JobInfo::once("mystery", "no-such-type"))
        .await
        .unwrap();
    // It is not claimed, so it never runs, never fails and never spins.
    assert!(
        tokio::time::timeout(Duration::from_secs(3600), reports.recv())
            .await
            .is_err()
    );
    let job = store.find("mystery").await.unwrap().unwrap();
    assert_eq!(
        (job.job.status, job.job.try_count, job.lease.is_none()),
        (JobStatus::Queuing, 0, true)
    );
    let now = runtime.clock().now();
    let orphaned = store
        .orphaned(now, now - chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = orphaned.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["mystery"], "reported as a job no live node can run");
    runtime.shutdown().await.unwrap();
}

/// Log lines, captured for the test's thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn bad_action_parameters_are_logged_by_name_and_change_nothing() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let store = Arc::new(InMemoryJobStore::new());
    let transport = Arc::new(InMemoryMailTransport::new());
    let runtime = BackgroundTasks::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store.clone())
        .job_actions(failure_email_definitions(transport.clone()))
        .runnable(
            "fails",
            job_fn(|_ctx: JobRunnableContext| async {
                Err::<(), _>(JobError::http(503, "upstream down"))
            }),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    let cases = [
        (
            "to-plain",
            Some("not-an-address"),
            "invalid e-mail address `not-an-address` in parameter `to`",
        ),
        (
            "to-no-domain",
            Some("ops@"),
            "invalid e-mail address `ops@` in parameter `to`",
        ),
        (
            "to-one-bad",
            Some("ops@example.com, dev at example.com"),
            "invalid e-mail address `dev at example.com` in parameter `to`",
        ),
        ("to-missing", None, "missing required parameters: to"),
    ];
    for (id, to, _) in cases {
        let mut action = JobAction::new(JOB_EXECUTED_FAILED_ACTION);
        if let Some(to) = to {
            action = action.with_parameter("to", to);
        }
        runtime
            .queue(JobInfo::once(id, "fails").with_action(action))
            .await
            .unwrap();
    }
    runtime
        .queue(JobInfo::once("unknown-action", "fails").with_action(JobAction::new("NoSuchAction")))
        .await
        .unwrap();
    for _ in 0..cases.len() + 1 {
        let report = tokio::time::timeout(Duration::from_secs(5), reports.recv())
            .await
            .unwrap()
            .unwrap();
        let saved = report.job.unwrap();
        assert_eq!(
            (saved.status, saved.try_count, saved.result.as_deref()),
            (JobStatus::FailedRetry, 1, Some("upstream down")),
            "{}: the job's state is as without the action",
            report.job_id
        );
    }
    // Long enough for the delivery loop (every second) to try the planned mails.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    for (id, _, says) in cases {
        assert!(
            text.lines().any(|l| l.contains(id) && l.contains(says)),
            "{id}: no log line saying `{says}` in:\n{text}"
        );
    }
    assert!(
        text.contains("no action of that name is registered"),
        "unknown action: {text}"
    );
    assert!(
        transport.sent().is_empty(),
        "no mail goes out for a bad action"
    );
    runtime.shutdown().await.unwrap();
}
