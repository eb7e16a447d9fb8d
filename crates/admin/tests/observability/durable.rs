//! The metrics of a known sequence on SQLite and on PostgreSQL, scraped from `/metrics`
//! of a real admin server: three successes, and a Business failure that is retried once
//! and then abandoned.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, job_fn};
use bgtasks_admin::{Admin, AdminConfig, prometheus_builder, serve};
use bgtasks_core::metrics::names;
use bgtasks_core::retry::FixedIntervalRetryPolicy;
use bgtasks_core::{JobScheduler, Runtime};

use crate::scrape::Scrape;
use crate::support::{Backend, open_store};

async fn known_sequence(backend: Backend, store_label: &str) {
    let recorder = prometheus_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    let (store, _dir) = open_store(&backend).await;
    let runtime = Runtime::builder()
        .store(store)
        .node_name("durable-node")
        .workers(2)
        .retry_policy(Arc::new(FixedIntervalRetryPolicy::new(
            Duration::from_millis(100),
        )))
        .configure(|o| {
            o.metrics.store_gauge_interval = Duration::from_secs(1);
            o.shutdown_grace = Duration::from_secs(1);
        })
        .runnable("ok", job_fn(|_ctx| async { Ok::<(), JobError>(()) }))
        .runnable(
            "fail",
            job_fn(|_ctx| async { Err::<(), JobError>(JobError::business("invoice 7 is void")) }),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    let server = serve(
        "127.0.0.1:0".parse().unwrap(),
        &Admin::new(runtime.clone(), AdminConfig::new().metrics(handle)),
    )
    .await
    .unwrap();
    for n in 1..=3 {
        runtime
            .queue(JobInfo::once(format!("ok-{n}"), "ok"))
            .await
            .unwrap();
    }
    runtime
        .queue(JobInfo::once("fail-1", "fail").with_max_try_count(2))
        .await
        .unwrap();
    for _ in 0..5 {
        tokio::time::timeout(Duration::from_secs(30), reports.recv())
            .await
            .expect("5 runs within 30 s")
            .unwrap();
    }
    runtime.flush_logs().await;

    let url = format!("http://{}/metrics", server.local_addr());
    let client = reqwest::Client::new();
    // Wait (generously) for the store gauges' next refresh to see every job finished.
    let mut scrape = None;
    for _ in 0..100 {
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        let read = Scrape::parse(&text);
        if read.value(names::JOBS, &[("status", "completed")]) == Some(3.0)
            && read.value(names::JOBS, &[("status", "stopped")]) == Some(1.0)
        {
            scrape = Some(read);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scrape = scrape.expect("the store gauges show 3 completed and 1 stopped job");

    let labels = |job_type, outcome| [("type", job_type), ("kind", "once"), ("outcome", outcome)];
    assert_eq!(
        scrape.expect(names::JOB_RUNS_TOTAL, &labels("ok", "success")),
        3.0
    );
    assert_eq!(
        scrape.expect(names::JOB_RUNS_TOTAL, &labels("fail", "failure")),
        2.0
    );
    assert_eq!(scrape.sum(names::JOB_RUNS_TOTAL, &[]), 5.0);
    let business = [("type", "fail"), ("failure_type", "business")];
    assert_eq!(scrape.expect(names::JOB_FAILURES_TOTAL, &business), 2.0);
    assert_eq!(scrape.expect(names::JOB_RETRIES_TOTAL, &business), 1.0);
    assert_eq!(scrape.expect(names::JOBS_ABANDONED_TOTAL, &business), 1.0);
    let api = |job_type| [("type", job_type), ("kind", "once"), ("source", "api")];
    assert_eq!(scrape.expect(names::JOBS_ENQUEUED_TOTAL, &api("ok")), 3.0);
    assert_eq!(scrape.expect(names::JOBS_ENQUEUED_TOTAL, &api("fail")), 1.0);
    assert_eq!(
        scrape.expect(
            names::JOBS_ENQUEUED_TOTAL,
            &[("type", "fail"), ("kind", "once"), ("source", "retry")]
        ),
        1.0
    );
    let duration = format!("{}_count", names::JOB_DURATION_SECONDS);
    assert_eq!(
        scrape.expect(&duration, &[("type", "ok"), ("outcome", "success")]),
        3.0
    );
    assert_eq!(
        scrape.expect(&duration, &[("type", "fail"), ("outcome", "failure")]),
        2.0
    );
    let wait = format!("{}_count", names::JOB_QUEUE_WAIT_SECONDS);
    assert_eq!(scrape.expect(&wait, &[("type", "ok")]), 3.0);
    assert_eq!(scrape.expect(&wait, &[("type", "fail")]), 2.0);
    let claimed = format!("{}_sum", names::CLAIM_BATCH_SIZE);
    assert_eq!(scrape.expect(&claimed, &[]), 5.0);
    let calls = format!("{}_count", names::STORE_OPERATION_DURATION_SECONDS);
    assert_eq!(
        scrape.expect(&calls, &[("store", store_label), ("operation", "insert")]),
        4.0
    );
    assert!(scrape.expect(&calls, &[("store", store_label), ("operation", "claim")]) >= 1.0);
    assert_eq!(
        scrape.expect(names::JOBS_RUNNING, &[("node", "durable-node")]),
        0.0
    );
    assert_eq!(scrape.expect(names::QUEUE_LAG_SECONDS, &[]), 0.0);

    server.shutdown().await.unwrap();
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_known_sequence_on_sqlite() {
    known_sequence(Backend::Sqlite, "sqlite").await;
}

#[tokio::test]
async fn a_known_sequence_on_postgres() {
    known_sequence(Backend::Postgres, "postgres").await;
}
