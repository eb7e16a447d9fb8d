//! The `bgtasks.run` and `bgtasks.enqueue` spans, their fields, the trace parent a job
//! carries from its enqueue to its runs — on this node or another — and the events of a
//! rescue and an abandonment.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{Clock, JobError, JobInfo, TRACE_PARENT_ARG, TraceParent, job_fn};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::store::{ClaimRequest, InMemoryJobStore, JobRuns};
use bgtasks_core::{JobScheduler, RunReport, Runtime, RuntimeBuilder};
use tokio::sync::broadcast;

use crate::capture::capture;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn builder(store: Arc<InMemoryJobStore>, clock: Arc<TokioClock>, node: &str) -> RuntimeBuilder {
    Runtime::builder()
        .clock(clock)
        .store(store)
        .node_name(node)
        .configure(|o| {
            o.shutdown_grace = Duration::from_secs(1);
            o.rescue_interval = Duration::from_secs(1);
            o.metrics.store_gauges = false;
        })
}

async fn runs(reports: &mut broadcast::Receiver<RunReport>, count: usize) -> Vec<RunReport> {
    let mut all = Vec::new();
    while all.len() < count {
        let report = tokio::time::timeout(Duration::from_secs(60), reports.recv())
            .await
            .expect("the runs end within a minute of paused time")
            .unwrap();
        all.push(report);
    }
    all
}

#[tokio::test(start_paused = true)]
async fn a_run_span_has_its_fields_and_the_trace_parent_given_at_enqueue() {
    let (captured, _guard) = capture();
    let saw_trace_parent = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(TokioClock::new());
    let runtime = builder(Arc::new(InMemoryJobStore::new()), clock.clone(), "node-a")
        .runnable("report", {
            let saw = saw_trace_parent.clone();
            job_fn(move |ctx| {
                let saw = saw.clone();
                async move {
                    saw.store(ctx.args().get(TRACE_PARENT_ARG).is_some(), Ordering::SeqCst);
                    Ok::<(), JobError>(())
                }
            })
        })
        .runnable(
            "void",
            job_fn(|_ctx| async { Err::<(), JobError>(JobError::business("invoice 7 is void")) }),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    let parent = TraceParent::parse(PARENT).unwrap();
    let now = clock.now();
    runtime
        .queue(
            JobInfo::once("report-1", "report")
                .with_begin_time(now)
                .with_trace_parent(&parent),
        )
        .await
        .unwrap();
    runtime
        .queue(
            JobInfo::once("void-1", "void")
                .with_begin_time(now)
                .with_max_try_count(1),
        )
        .await
        .unwrap();
    runs(&mut reports, 2).await;
    runtime.shutdown().await.unwrap();

    let run = captured.span_of("bgtasks.run", "report-1");
    let fields = &run.fields;
    assert_eq!(fields.get("job_type"), Some("report"));
    assert_eq!(fields.get("job_kind"), Some("once"));
    assert_eq!(fields.get("attempt"), Some("1"));
    assert_eq!(fields.get("node"), Some("node-a"));
    assert_eq!(fields.get("outcome"), Some("success"));
    assert_eq!(fields.get("failure_type"), None);
    assert_eq!(fields.get("trace_parent"), Some(PARENT));
    assert_eq!(fields.get("otel.kind"), Some("consumer"));
    assert_eq!(fields.get("messaging.destination.name"), Some("report"));
    assert!(
        !saw_trace_parent.load(Ordering::SeqCst),
        "the runnable saw the trace parent among its arguments"
    );

    let failed = captured.span_of("bgtasks.run", "void-1");
    assert_eq!(failed.fields.get("outcome"), Some("failure"));
    assert_eq!(failed.fields.get("failure_type"), Some("business"));
    assert_eq!(failed.fields.get("error.type"), Some("business"));
    assert_eq!(failed.fields.get("otel.status_code"), Some("ERROR"));
    assert_eq!(failed.fields.get("trace_parent"), None);

    let enqueue = captured.span_of("bgtasks.enqueue", "report-1");
    assert_eq!(enqueue.fields.get("job_type"), Some("report"));
    assert_eq!(enqueue.fields.get("job_count"), Some("1"));
    assert_eq!(enqueue.fields.get("inserted"), Some("1"));
    assert_eq!(enqueue.fields.get("trace_parent"), Some(PARENT));
    assert_eq!(enqueue.fields.get("otel.kind"), Some("producer"));

    let abandoned = captured.events("bgtasks.abandoned");
    assert_eq!(abandoned.len(), 1, "{abandoned:?}");
    assert_eq!(abandoned[0].get("job_id"), Some("void-1"));
    assert_eq!(abandoned[0].get("failure_type"), Some("business"));
}

#[tokio::test(start_paused = true)]
async fn another_node_continues_the_trace_of_the_node_that_queued_the_job() {
    let (captured, _guard) = capture();
    let store = Arc::new(InMemoryJobStore::new());
    let clock = Arc::new(TokioClock::new());
    // The web node queues and runs nothing of this type; the worker node runs it.
    let web = builder(store.clone(), clock.clone(), "web")
        .build()
        .unwrap();
    let worker = builder(store.clone(), clock.clone(), "worker")
        .runnable("report", job_fn(|_ctx| async { Ok::<(), JobError>(()) }))
        .build()
        .unwrap();
    let mut reports = worker.subscribe();
    web.start().await.unwrap();
    worker.start().await.unwrap();
    let parent = TraceParent::parse(PARENT).unwrap();
    web.queue(
        JobInfo::once("report-2", "report")
            .with_begin_time(clock.now())
            .with_trace_parent(&parent),
    )
    .await
    .unwrap();
    let done = runs(&mut reports, 1).await;
    assert!(done[0].succeeded());
    web.shutdown().await.unwrap();
    worker.shutdown().await.unwrap();

    let run = captured.span_of("bgtasks.run", "report-2");
    assert_eq!(run.fields.get("node"), Some("worker"));
    assert_eq!(run.fields.get("trace_parent"), Some(PARENT));
    assert_eq!(run.fields.get("outcome"), Some("success"));
}

#[tokio::test(start_paused = true)]
async fn a_rescue_is_an_event_and_the_rescued_run_keeps_its_trace_parent() {
    // spec: R43 (every claim counts an attempt)
    let (captured, _guard) = capture();
    let store = Arc::new(InMemoryJobStore::new());
    let clock = Arc::new(TokioClock::new());
    let runtime = builder(store.clone(), clock.clone(), "survivor")
        .runnable("report", job_fn(|_ctx| async { Ok::<(), JobError>(()) }))
        .build()
        .unwrap();
    let parent = TraceParent::parse(PARENT).unwrap();
    runtime
        .queue(
            JobInfo::once("report-3", "report")
                .with_begin_time(clock.now())
                .with_trace_parent(&parent),
        )
        .await
        .unwrap();
    // A node claims the run and dies without a word.
    let types = vec!["report".to_owned()];
    let claimed = store
        .claim(&ClaimRequest {
            node: "dead-node",
            now: clock.now(),
            limit: 1,
            lease: Duration::from_secs(5),
            job_types: Some(&types),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    runs(&mut reports, 1).await;
    runtime.shutdown().await.unwrap();

    let rescues = captured.events("bgtasks.rescue");
    assert_eq!(rescues.len(), 1, "{rescues:?}");
    assert_eq!(rescues[0].get("node"), Some("survivor"));
    assert!(
        rescues[0]
            .get("jobs")
            .unwrap_or_default()
            .contains("report-3")
    );
    let run = captured.span_of("bgtasks.run", "report-3");
    assert_eq!(
        run.fields.get("attempt"),
        Some("2"),
        "the dead node's claim was the first"
    );
    assert_eq!(run.fields.get("trace_parent"), Some(PARENT));
}

/// A typed job that refuses unknown fields: its arguments must not carry the trace parent.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Invoice {
    number: u64,
}

impl bgtasks_abstractions::JobType for Invoice {
    const TYPE: &'static str = "invoice";
}

#[tokio::test(start_paused = true)]
async fn a_typed_enqueue_carries_the_trace_parent_it_is_given() {
    let (captured, _guard) = capture();
    let clock = Arc::new(TokioClock::new());
    let runtime = builder(Arc::new(InMemoryJobStore::new()), clock.clone(), "node-t")
        .register_fn(|invoice: Invoice, _ctx| async move {
            assert_eq!(invoice.number, 7);
            Ok::<(), JobError>(())
        })
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    let parent = TraceParent::parse(PARENT).unwrap();
    let mut job = runtime
        .enqueue(Invoice { number: 7 })
        .id("invoice-7")
        .at(clock.now())
        .trace_parent(&parent)
        .await
        .unwrap();
    let report = job.outcome(Duration::from_secs(60)).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.error);
    runtime.shutdown().await.unwrap();

    let run = captured.span_of("bgtasks.run", "invoice-7");
    assert_eq!(run.fields.get("trace_parent"), Some(PARENT));
    assert_eq!(run.fields.get("outcome"), Some("success"));
}
