//! The polling, checking and cleaning jobs (R29–R30).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks_abstractions::{BoxError, JobInfo, JobSource, JobStatus};
use bgtasks_core::store::{JobDefinitions, RunLogs};
use bgtasks_core::{JobDispatcher, JobScheduler};

use crate::common::{builder, counting, reports_within, start};

#[derive(Default)]
struct RecordingDispatcher(Mutex<Vec<(String, Vec<String>)>>);

impl JobDispatcher for RecordingDispatcher {
    async fn dispatch(&self, node: &str, jobs: Vec<JobInfo>) -> Result<(), BoxError> {
        self.0
            .lock()
            .unwrap()
            .push((node.to_owned(), jobs.into_iter().map(|j| j.id).collect()));
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn polling_publishes_outside_jobs_and_dispatches_pinned_ones() {
    // spec: R29, R30
    let dispatcher = Arc::new(RecordingDispatcher::default());
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.node_name("a")
            .configure(|o| o.polling.enabled = true)
            .dispatcher(dispatcher.clone())
            .runnable("t", counting(Arc::default())),
    )
    .await;
    // An outside writer puts waiting jobs straight into the store, without a run time.
    let mut outside = JobInfo::once("outside", "t");
    outside.status = JobStatus::Queuing;
    store.insert(&[outside]).await.unwrap();
    let mut pinned = JobInfo::once("pinned", "t").with_node("b");
    pinned.status = JobStatus::Queuing;
    store.insert(&[pinned]).await.unwrap();
    let runs = reports_within(&mut reports, Duration::from_secs(31)).await;
    let ids: Vec<&str> = runs.iter().map(|r| r.job_id.as_str()).collect();
    assert!(ids.contains(&"outside"), "{ids:?}");
    assert!(ids.contains(&"bgtasks.polling:a"), "{ids:?}");
    assert!(!ids.contains(&"pinned"));
    // One or two polling ticks fall in the window, depending on the wall-clock second.
    let dispatched = dispatcher.0.lock().unwrap().clone();
    assert!(!dispatched.is_empty());
    for hand_over in dispatched {
        assert_eq!(hand_over, ("b".to_owned(), vec!["pinned".to_owned()]));
    }
    let polling = store.find("bgtasks.polling:a").await.unwrap().unwrap().job;
    assert_eq!(
        (polling.source, polling.node_name.as_deref()),
        (JobSource::System, Some("a"))
    );
    assert!(
        store
            .list_logs("bgtasks.polling:a", 5)
            .await
            .unwrap()
            .is_empty(),
        "system jobs are not logged"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn checking_stops_running_jobs_the_scheduler_lost() {
    // spec: R29
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.node_name("a")
            .configure(|o| {
                o.checking.enabled = true;
                o.checking.cron = "0/10 * * * * ?".into();
            })
            .runnable("t", counting(Arc::default())),
    )
    .await;
    // Running with no next run time and no run in flight: scheduled nowhere.
    let mut lost = JobInfo::persistent("lost", "t", 60, 0);
    lost.status = JobStatus::Running;
    lost.trigger_count = 1;
    // Running and scheduled an hour from now.
    let mut alive = JobInfo::persistent("alive", "t", 60, 0);
    alive.status = JobStatus::Running;
    alive.trigger_count = 1;
    alive.next_run_time = Some(runtime.clock().now() + chrono::Duration::hours(1));
    store.insert(&[lost, alive]).await.unwrap();
    reports_within(&mut reports, Duration::from_secs(11)).await;
    assert_eq!(
        store.find("lost").await.unwrap().unwrap().job.status,
        JobStatus::Stopped
    );
    assert_eq!(
        store.find("alive").await.unwrap().unwrap().job.status,
        JobStatus::Running
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn cleaning_removes_expired_completed_jobs() {
    // spec: R29
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.configure(|o| {
            o.cleaning.job.enabled = true;
            o.cleaning.job.cron = "0/10 * * * * ?".into();
            o.cleaning.expiry = Duration::from_secs(24 * 3600);
        })
        .runnable("t", counting(Arc::default())),
    )
    .await;
    let now = runtime.clock().now();
    for (id, age_hours) in [("old", 48), ("recent", 1)] {
        let mut job = JobInfo::once(id, "t");
        job.status = JobStatus::Completed;
        job.last_run_time = Some(now - chrono::Duration::hours(age_hours));
        store.insert(&[job]).await.unwrap();
    }
    reports_within(&mut reports, Duration::from_secs(11)).await;
    assert!(store.find("old").await.unwrap().is_none());
    assert!(store.find("recent").await.unwrap().is_some());
    runtime.shutdown().await.unwrap();
}
