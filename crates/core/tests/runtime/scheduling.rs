//! When jobs run: Once, Period and Persistent, begin and end times, priority, concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, JobPriority, JobRunnableContext, JobStatus, job_fn};
use bgtasks_core::JobScheduler;
use bgtasks_core::store::JobDefinitions;
use chrono::Timelike;

use crate::common::{
    CountingStore, builder, counting, next_report, reports_within, sleeping, start,
};

#[tokio::test(start_paused = true)]
async fn a_delayed_once_job_runs_at_its_begin_time_and_only_once() {
    // spec: R3
    let runs = Arc::new(AtomicUsize::new(0));
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.runnable("t", counting(runs.clone()))).await;
    let begin = runtime.clock().now() + chrono::Duration::seconds(10);
    runtime
        .queue(JobInfo::once("delayed", "t").with_begin_time(begin))
        .await
        .unwrap();
    assert!(
        next_report(&mut reports, Duration::from_secs(9))
            .await
            .is_none(),
        "not before its begin time"
    );
    let report = next_report(&mut reports, Duration::from_secs(2))
        .await
        .expect("runs at its begin time");
    assert!(report.succeeded());
    assert!((report.run_time - begin).num_milliseconds().abs() < 1000);
    assert!(
        reports_within(&mut reports, Duration::from_secs(600))
            .await
            .is_empty()
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let job = store.find("delayed").await.unwrap().unwrap().job;
    assert_eq!(
        (job.status, job.trigger_count, job.next_run_time),
        (JobStatus::Completed, 1, None)
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_period_job_runs_on_its_quartz_cron() {
    // spec: R3, R29
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.runnable("t", counting(Arc::default()))).await;
    runtime
        .queue(JobInfo::period("every-30s", "t", "0/30 * * * * ? "))
        .await
        .unwrap();
    let runs = reports_within(&mut reports, Duration::from_secs(95)).await;
    assert!((3..=4).contains(&runs.len()), "{} runs in 95 s", runs.len());
    for pair in runs.windows(2) {
        assert_eq!((pair[1].run_time - pair[0].run_time).num_seconds(), 30);
    }
    for run in &runs {
        assert_eq!(
            run.run_time.second() % 30,
            0,
            "fires on the tick: {}",
            run.run_time
        );
        assert_eq!(run.job.as_ref().unwrap().status, JobStatus::Running);
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_persistent_job_runs_every_interval_up_to_max_count() {
    // spec: R3, R6
    let runs = Arc::new(AtomicUsize::new(0));
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.runnable("t", counting(runs.clone()))).await;
    runtime
        .queue(JobInfo::persistent("five", "t", 5, 5))
        .await
        .unwrap();
    let all = reports_within(&mut reports, Duration::from_secs(300)).await;
    assert_eq!(all.len(), 5);
    for pair in all.windows(2) {
        assert_eq!((pair[1].run_time - pair[0].run_time).num_seconds(), 5);
    }
    let job = store.find("five").await.unwrap().unwrap().job;
    assert_eq!(
        (job.status, job.trigger_count, job.next_run_time),
        (JobStatus::Completed, 5, None)
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_runs_of_a_job_share_its_cache_and_other_jobs_do_not() {
    // spec: R7
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let runnable = job_fn(move |ctx: JobRunnableContext| {
        let record = record.clone();
        async move {
            let before = ctx
                .cache()
                .get("runs")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            ctx.cache().set("runs", before + 1);
            record
                .lock()
                .unwrap()
                .push((ctx.job_id().to_owned(), before));
            Ok::<(), JobError>(())
        }
    });
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.runnable("t", runnable)).await;
    runtime
        .queue(JobInfo::persistent("a", "t", 5, 3))
        .await
        .unwrap();
    runtime
        .queue(JobInfo::persistent("b", "t", 5, 2))
        .await
        .unwrap();
    assert_eq!(
        reports_within(&mut reports, Duration::from_secs(60))
            .await
            .len(),
        5
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let expected: Vec<(String, u64)> = [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
        .iter()
        .map(|(id, n)| (id.to_string(), *n))
        .collect();
    assert_eq!(seen, expected);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn no_run_after_the_end_time() {
    // spec: R3
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.runnable("t", counting(Arc::default()))).await;
    let end = runtime.clock().now() + chrono::Duration::milliseconds(12_500);
    runtime
        .queue(JobInfo::persistent("ends", "t", 5, 0).with_end_time(end))
        .await
        .unwrap();
    let all = reports_within(&mut reports, Duration::from_secs(120)).await;
    assert_eq!(all.len(), 3, "runs at 0, 5 and 10 s only");
    assert!(all.iter().all(|r| r.run_time <= end));
    assert_eq!(
        store.find("ends").await.unwrap().unwrap().job.next_run_time,
        None
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn higher_priority_starts_first() {
    // spec: R5
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.workers(1).runnable("t", counting(Arc::default()))).await;
    runtime.stop().await.unwrap();
    // All due at the same moment of the runtime's clock (a job's default begin time is
    // the wall clock's, a little after the paused test clock's).
    let now = runtime.clock().now();
    let jobs = vec![
        JobInfo::once("low", "t").with_priority(JobPriority::Low),
        JobInfo::once("normal", "t"),
        JobInfo::once("high", "t").with_priority(JobPriority::High),
        JobInfo::once("above", "t").with_priority(JobPriority::AboveNormal),
    ]
    .into_iter()
    .map(|job| job.with_begin_time(now))
    .collect();
    runtime.queue_many(jobs).await.unwrap();
    runtime.start().await.unwrap();
    let order: Vec<String> = reports_within(&mut reports, Duration::from_secs(5))
        .await
        .into_iter()
        .map(|r| r.job_id)
        .collect();
    assert_eq!(order, vec!["high", "above", "normal", "low"]);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_by_the_worker_count() {
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (a, p) = (active.clone(), peak.clone());
    let runnable = job_fn(move |_ctx: JobRunnableContext| {
        let (active, peak) = (a.clone(), p.clone());
        async move {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(10)).await;
            active.fetch_sub(1, Ordering::SeqCst);
            Ok::<(), JobError>(())
        }
    });
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.workers(2).runnable("t", runnable)).await;
    let jobs = (0..6)
        .map(|i| JobInfo::once(format!("j{i}"), "t"))
        .collect();
    runtime.queue_many(jobs).await.unwrap();
    let all = reports_within(&mut reports, Duration::from_secs(60)).await;
    assert_eq!(all.len(), 6);
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_idle_runtime_sleeps_until_the_next_due_time() {
    // The claim loop sleeps until the due time (re-reading it at most once a minute),
    // rather than polling: one run an hour later, and only a few dozen claims in between.
    let counting = Arc::new(CountingStore::new());
    let (b, _) = builder();
    let (runtime, mut reports) = start(
        b.store(counting.clone())
            .runnable("t", sleeping(Duration::ZERO)),
    )
    .await;
    let begin = runtime.clock().now() + chrono::Duration::hours(1);
    runtime
        .queue(JobInfo::once("later", "t").with_begin_time(begin))
        .await
        .unwrap();
    let report = next_report(&mut reports, Duration::from_secs(3700))
        .await
        .expect("runs after an hour");
    assert!((report.run_time - begin).num_milliseconds().abs() < 1000);
    let claims = counting.claims.load(Ordering::SeqCst);
    assert!(claims <= 70, "{claims} claims in an idle hour");
    runtime.shutdown().await.unwrap();
}
