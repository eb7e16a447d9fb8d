//! The store gauges come from one node at a time: the holder of the lock, which keeps it
//! from one refresh to the next and hands it over when it stops.

use std::sync::Arc;

use bgtasks_abstractions::{Clock, JobInfo};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::metrics::{StoreGauges, names};
use bgtasks_core::store::{InMemoryJobStore, JobDefinitions, JobStore};
use bgtasks_core::{BackgroundService, DynJobLockProvider, InMemoryJobLockProvider};
use metrics::{SharedString, Unit};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// The gauges of a snapshot (taking one drains the recorder).
type Gauges = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

/// The value of gauge `name` with these labels.
fn gauge(gauges: &Gauges, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    gauges.iter().find_map(|(key, _, _, value)| {
        let key = key.key();
        let same = key.name() == name
            && key.labels().count() == labels.len()
            && key.labels().all(|l| labels.contains(&(l.key(), l.value())));
        match (same, value) {
            (true, DebugValue::Gauge(value)) => Some(value.into_inner()),
            _ => None,
        }
    })
}

#[tokio::test(start_paused = true)]
async fn one_node_at_a_time_refreshes_the_store_gauges() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    let clock = Arc::new(TokioClock::new());
    let store = Arc::new(InMemoryJobStore::new());
    let now = clock.now();
    let jobs = [
        JobInfo::once("a", "t").with_begin_time(now),
        JobInfo::once("b", "t").with_begin_time(now),
    ]
    .map(|mut job| {
        job.status = bgtasks_abstractions::JobStatus::Queuing;
        job.next_run_time = Some(now - chrono::Duration::seconds(4));
        job
    });
    store.insert(&jobs).await.unwrap();
    // Both nodes share the store's locks (one provider here, as one database would be).
    let locks: Arc<dyn DynJobLockProvider> = Arc::new(InMemoryJobLockProvider::new(clock.clone()));
    let shared: Arc<dyn JobStore> = store.clone();
    let first = StoreGauges::new(
        shared.clone(),
        locks.clone(),
        std::time::Duration::from_secs(15),
    );
    let second = StoreGauges::new(shared, locks, std::time::Duration::from_secs(15));

    assert!(first.refresh(clock.now()).await.unwrap());
    assert!(!second.refresh(clock.now()).await.unwrap());
    assert!(
        first.refresh(clock.now()).await.unwrap(),
        "the holder keeps the lock"
    );
    assert!(!second.refresh(clock.now()).await.unwrap());
    let gauges = snapshotter.snapshot().into_vec();
    assert_eq!(
        gauge(&gauges, names::JOBS, &[("status", "queuing")]),
        Some(2.0)
    );
    assert_eq!(
        gauge(&gauges, names::JOBS, &[("status", "stopped")]),
        Some(0.0)
    );
    assert_eq!(gauge(&gauges, names::QUEUE_LAG_SECONDS, &[]), Some(4.0));

    // The holder stops: the other takes over at its next refresh.
    BackgroundService::shutdown(&first).await;
    assert!(second.refresh(clock.now()).await.unwrap());
    assert!(second.is_refreshing() && !first.is_refreshing());
}

#[test]
fn a_delivery_is_counted_by_notifier_and_result() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        bgtasks_core::metrics::notification("webhook", "delivered");
        bgtasks_core::metrics::notification("webhook", "delivered");
        bgtasks_core::metrics::notification("email", "retry");
    });
    let counters: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let labels: Vec<String> = key
                    .key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                Some((format!("{}{{{}}}", key.key().name(), labels.join(",")), n))
            }
            _ => None,
        })
        .collect();
    assert!(counters.contains(&(
        "bgtasks_notifications_total{notifier=webhook,result=delivered}".to_owned(),
        2
    )));
    assert!(counters.contains(&(
        "bgtasks_notifications_total{notifier=email,result=retry}".to_owned(),
        1
    )));
}
