//! A known sequence of runs on the in-memory store under tokio's paused clock —
//! successes, a failure of each type, a retry, abandonments, a time-out, a rescue of a
//! run whose node died, listener errors — scraped from `/metrics` to exact counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{BoxError, JobError, JobEvent, JobEventContext, JobInfo, job_fn};
use bgtasks_admin::{Admin, AdminConfig, prometheus_builder};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::metrics::names;
use bgtasks_core::retry::FixedIntervalRetryPolicy;
use bgtasks_core::store::{ClaimRequest, InMemoryJobStore, JobRuns};
use bgtasks_core::{JobScheduler, Runtime};

use crate::scrape::scrape;

/// Fails before every run of type `ok`.
struct FailsBeforeOk;

impl JobEvent for FailsBeforeOk {
    async fn on_before_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
        if context.data().job_type() == "ok" {
            return Err("the audit log is full".into());
        }
        Ok(())
    }
}

fn failing(error: JobError) -> impl bgtasks_abstractions::JobRunnable {
    job_fn(move |_ctx| {
        let error = error.clone();
        async move { Err::<(), JobError>(error) }
    })
}

fn ok() -> impl bgtasks_abstractions::JobRunnable {
    job_fn(|_ctx| async { Ok::<(), JobError>(()) })
}

#[tokio::test(start_paused = true)]
async fn a_known_sequence_scrapes_to_exact_counts() {
    // spec: R22 (failure types), R43 (a rescue), R44 (time-outs)
    let recorder = prometheus_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    bgtasks_core::metrics::describe();

    let store = Arc::new(InMemoryJobStore::new());
    let clock = Arc::new(TokioClock::new());
    let flaky_runs = Arc::new(AtomicUsize::new(0));
    let runtime = Runtime::builder()
        .clock(clock.clone())
        .store(store.clone())
        .node_name("metrics-node")
        .retry_policy(Arc::new(FixedIntervalRetryPolicy::new(
            Duration::from_secs(1),
        )))
        .listener(Arc::new(FailsBeforeOk))
        .configure(|o| {
            o.rescue_interval = Duration::from_secs(1);
            o.metrics.store_gauge_interval = Duration::from_secs(1);
            o.shutdown_grace = Duration::from_secs(1);
        })
        .runnable("ok", ok())
        .runnable("victim", ok())
        .runnable("biz", failing(JobError::business("invoice 7 is void")))
        .runnable("app", failing(JobError::http(404, "no customer 12")))
        .runnable(
            "net",
            failing(JobError::http(503, "partner.example is down")),
        )
        .runnable("sys", failing(JobError::new("disk full")))
        .runnable("flaky", {
            let runs = flaky_runs.clone();
            job_fn(move |_ctx| {
                let runs = runs.clone();
                async move {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Err(JobError::http(502, "bad gateway"));
                    }
                    Ok(())
                }
            })
        })
        .runnable(
            "slow",
            job_fn(|ctx| async move {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                    _ = ctx.cancellation().cancelled() => {}
                }
                Ok::<(), JobError>(())
            }),
        )
        .build()
        .unwrap();
    let mut jobs: Vec<JobInfo> = (1..=3)
        .map(|n| JobInfo::once(format!("ok-{n}"), "ok"))
        .collect();
    for kind in ["biz", "app", "net", "sys"] {
        jobs.push(JobInfo::once(format!("{kind}-1"), kind).with_max_try_count(1));
    }
    jobs.push(JobInfo::once("flaky-1", "flaky").with_max_try_count(3));
    jobs.push(
        JobInfo::once("slow-1", "slow")
            .with_max_try_count(1)
            .with_time_limit(Duration::from_secs(1)),
    );
    jobs.push(JobInfo::once("victim-1", "victim"));
    // Due on the paused clock now (a job's begin time is the real clock's by default).
    let now = bgtasks_abstractions::Clock::now(clock.as_ref());
    for job in jobs {
        assert!(runtime.queue(job.with_begin_time(now)).await.unwrap());
    }
    // A node claims the victim's run and dies: its lease lapses and this node rescues it.
    let victim_types = vec!["victim".to_owned()];
    let dead = store
        .claim(&ClaimRequest {
            node: "dead-node",
            now,
            limit: 1,
            lease: Duration::from_secs(5),
            job_types: Some(&victim_types),
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);

    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    let mut runs = 0;
    while runs < 11 {
        tokio::time::timeout(Duration::from_secs(120), reports.recv())
            .await
            .expect("11 runs within 2 minutes of paused time")
            .unwrap();
        runs += 1;
    }
    // The store gauges are refreshed every second.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let admin = Admin::new(runtime.clone(), AdminConfig::new().metrics(handle));
    let scrape = scrape(&admin.router()).await;
    let api = |job_type: &'static str| [("type", job_type), ("kind", "once"), ("source", "api")];
    for (job_type, count) in [
        ("ok", 3.0),
        ("biz", 1.0),
        ("app", 1.0),
        ("net", 1.0),
        ("sys", 1.0),
        ("flaky", 1.0),
        ("slow", 1.0),
        ("victim", 1.0),
    ] {
        assert_eq!(
            scrape.expect(names::JOBS_ENQUEUED_TOTAL, &api(job_type)),
            count,
            "{job_type}"
        );
    }
    assert_eq!(
        scrape.expect(
            names::JOBS_ENQUEUED_TOTAL,
            &[("type", "flaky"), ("kind", "once"), ("source", "retry")]
        ),
        1.0
    );
    assert_eq!(
        scrape.sum(names::JOBS_ENQUEUED_TOTAL, &[("source", "retry")]),
        1.0
    );

    for (job_type, outcome, count) in [
        ("ok", "success", 3.0),
        ("victim", "success", 1.0),
        ("biz", "failure", 1.0),
        ("app", "failure", 1.0),
        ("net", "failure", 1.0),
        ("sys", "failure", 1.0),
        ("flaky", "failure", 1.0),
        ("flaky", "success", 1.0),
        ("slow", "timeout", 1.0),
    ] {
        let labels = [("type", job_type), ("kind", "once"), ("outcome", outcome)];
        assert_eq!(
            scrape.expect(names::JOB_RUNS_TOTAL, &labels),
            count,
            "{labels:?}"
        );
        let duration = format!("{}_count", names::JOB_DURATION_SECONDS);
        assert_eq!(
            scrape.expect(&duration, &[("type", job_type), ("outcome", outcome)]),
            count,
            "{labels:?}"
        );
    }
    assert_eq!(scrape.sum(names::JOB_RUNS_TOTAL, &[]), 11.0);

    for (job_type, failure_type) in [
        ("biz", "business"),
        ("app", "application"),
        ("net", "network"),
        ("sys", "system"),
        ("flaky", "network"),
        ("slow", "system"),
    ] {
        let labels = [("type", job_type), ("failure_type", failure_type)];
        assert_eq!(
            scrape.expect(names::JOB_FAILURES_TOTAL, &labels),
            1.0,
            "{labels:?}"
        );
        let abandoned = scrape.value(names::JOBS_ABANDONED_TOTAL, &labels);
        assert_eq!(
            abandoned,
            Some(if job_type == "flaky" { 0.0 } else { 1.0 }),
            "{labels:?}: every registered type's series exists from the start, at 0"
        );
    }
    // A type that never failed has its failure series at 0 from the node's start, so
    // that `rate()` counts its first failure (a series born at 1 hides it).
    for failure_type in ["business", "application", "network", "system"] {
        let labels = [("type", "biz"), ("failure_type", failure_type)];
        let expected = if failure_type == "business" { 1.0 } else { 0.0 };
        assert_eq!(
            scrape.value(names::JOB_FAILURES_TOTAL, &labels),
            Some(expected),
            "{labels:?}"
        );
    }
    assert_eq!(
        scrape.expect(
            names::JOB_RETRIES_TOTAL,
            &[("type", "flaky"), ("failure_type", "network")]
        ),
        1.0
    );
    assert_eq!(scrape.sum(names::JOB_RETRIES_TOTAL, &[]), 1.0);
    assert_eq!(scrape.sum(names::JOBS_ABANDONED_TOTAL, &[]), 5.0);

    // The time-out ran its whole time limit; the rescued run waited for the lease to
    // lapse; the others started when they were due.
    let duration_sum = format!("{}_sum", names::JOB_DURATION_SECONDS);
    assert!(scrape.expect(&duration_sum, &[("type", "slow"), ("outcome", "timeout")]) >= 1.0);
    let wait_count = format!("{}_count", names::JOB_QUEUE_WAIT_SECONDS);
    let wait_sum = format!("{}_sum", names::JOB_QUEUE_WAIT_SECONDS);
    let wait_bucket = format!("{}_bucket", names::JOB_QUEUE_WAIT_SECONDS);
    assert_eq!(scrape.expect(&wait_count, &[("type", "ok")]), 3.0);
    assert_eq!(scrape.expect(&wait_count, &[("type", "flaky")]), 2.0);
    assert_eq!(scrape.expect(&wait_count, &[("type", "victim")]), 1.0);
    assert_eq!(scrape.expect(&wait_sum, &[("type", "ok")]), 0.0);
    assert_eq!(
        scrape.expect(&wait_bucket, &[("type", "ok"), ("le", "0.001")]),
        3.0
    );
    assert_eq!(
        scrape.expect(&wait_bucket, &[("type", "ok"), ("le", "60")]),
        3.0
    );
    assert!(scrape.expect(&wait_sum, &[("type", "victim")]) >= 5.0);

    let claimed = format!("{}_sum", names::CLAIM_BATCH_SIZE);
    assert_eq!(
        scrape.expect(&claimed, &[]),
        11.0,
        "every run was claimed once"
    );
    let inserts = format!("{}_count", names::STORE_OPERATION_DURATION_SECONDS);
    assert_eq!(
        scrape.expect(&inserts, &[("store", "memory"), ("operation", "insert")]),
        10.0
    );
    assert!(scrape.expect(&inserts, &[("store", "memory"), ("operation", "claim")]) >= 1.0);
    assert_eq!(scrape.expect(names::LEASE_RESCUES_TOTAL, &[]), 1.0);
    assert_eq!(
        scrape.expect(names::LISTENER_ERRORS_TOTAL, &[("phase", "before")]),
        3.0
    );
    assert_eq!(
        scrape.expect(names::JOBS_RUNNING, &[("node", "metrics-node")]),
        0.0
    );
    for (status, count) in [
        ("completed", 5.0),
        ("stopped", 5.0),
        ("queuing", 0.0),
        ("running", 0.0),
        ("failed_retry", 0.0),
        ("paused", 0.0),
    ] {
        assert_eq!(
            scrape.expect(names::JOBS, &[("status", status)]),
            count,
            "{status}"
        );
    }
    assert_eq!(scrape.expect(names::QUEUE_LAG_SECONDS, &[]), 0.0);

    assert!(
        scrape
            .text
            .contains("# TYPE bgtasks_job_queue_wait_seconds histogram"),
        "{}",
        scrape.text
    );
    assert!(scrape.text.contains("# HELP bgtasks_job_runs_total"));
    for id in ["ok-1", "victim-1", "flaky-1"] {
        assert!(!scrape.text.contains(id), "a job id is a label: {id}");
    }
    runtime.shutdown().await.unwrap();
}
