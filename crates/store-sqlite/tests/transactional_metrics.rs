//! What queueing in the caller's own transaction counts on a real SQLite file: each job
//! `enqueue_in` inserts is counted in `bgtasks_jobs_enqueued_total` under the labels the
//! runtime's `queue` uses (`source="api"`), in one statement or in a batch under a
//! savepoint; a job queued in a transaction that then rolls back stays counted; a job
//! already stored and a refused batch are not counted. Read from a recorder of the test's
//! own (`metrics::set_default_local_recorder`), to exact values.
// spec: R49

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_core::metrics::names;
use bgtasks_core::store::JobDefinitions;
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions, enqueue_in};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// `job` as the runtime's queueing prepares it: Queuing, due at its begin time.
fn prepared(mut job: JobInfo) -> JobInfo {
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(job.begin_time);
    job
}

/// What `bgtasks_jobs_enqueued_total` counted since the last call — a snapshot drains the
/// counters — by series: (type, kind, source) → count, those that grew only.
fn enqueued(snapshotter: &Snapshotter) -> Vec<((String, String, String), u64)> {
    let mut series: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let label = |name: &str| {
                key.labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_owned())
                    .unwrap_or_default()
            };
            match value {
                DebugValue::Counter(n) if n > 0 && key.name() == names::JOBS_ENQUEUED_TOTAL => {
                    assert_eq!(
                        key.labels().count(),
                        3,
                        "labels type, kind, source: {key:?}"
                    );
                    Some(((label("type"), label("kind"), label("source")), n))
                }
                _ => None,
            }
        })
        .collect();
    series.sort();
    series
}

fn series(job_type: &str, kind: &str, count: u64) -> ((String, String, String), u64) {
    (
        (job_type.to_owned(), kind.to_owned(), "api".to_owned()),
        count,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn enqueue_in_counts_what_it_inserts_as_the_runtime_counts_a_queue() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteJobStore::open(dir.path().join("app.db"), SqliteStoreOptions::default())
        .await
        .unwrap();

    // The reference: the runtime's own queueing (a runtime on the same file, not started).
    let runtime = Runtime::builder()
        .store(Arc::new(store.clone()))
        .build()
        .unwrap();
    assert!(
        runtime
            .queue(JobInfo::once("queued-by-the-runtime", "report"))
            .await
            .unwrap()
    );
    assert_eq!(enqueued(&snapshotter), vec![series("report", "once", 1)]);

    // Committed: one statement, then a batch past 1,000 jobs (several statements under a
    // savepoint), each job counted once, under the same labels.
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    let first = [
        prepared(JobInfo::once("a", "report")),
        prepared(JobInfo::persistent("p", "report", 60, 0)),
    ];
    assert_eq!(enqueue_in(&mut tx, &first).await.unwrap(), vec![true, true]);
    let many: Vec<JobInfo> = (0..1001)
        .map(|i| prepared(JobInfo::once(format!("bulk-{i}"), "bulk")))
        .collect();
    assert!(
        enqueue_in(&mut tx, &many)
            .await
            .unwrap()
            .into_iter()
            .all(|inserted| inserted)
    );
    tx.commit().await.unwrap();
    assert_eq!(
        enqueued(&snapshotter),
        vec![
            series("bulk", "once", 1001),
            series("report", "once", 1),
            series("report", "persistent", 1),
        ]
    );

    // Already stored: not counted.
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    assert_eq!(
        enqueue_in(&mut tx, &[prepared(JobInfo::once("a", "report"))])
            .await
            .unwrap(),
        vec![false]
    );
    tx.commit().await.unwrap();
    assert_eq!(enqueued(&snapshotter), vec![]);

    // Rolled back: counted when `enqueue_in` returned, and stays counted, though the job
    // never exists (docs/observability.md).
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    assert_eq!(
        enqueue_in(&mut tx, &[prepared(JobInfo::once("rolled-back", "report"))])
            .await
            .unwrap(),
        vec![true]
    );
    tx.rollback().await.unwrap();
    assert!(store.find("rolled-back").await.unwrap().is_none());
    assert_eq!(enqueued(&snapshotter), vec![series("report", "once", 1)]);

    // Refused whole (a job with status None): nothing counted.
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    let refused = enqueue_in(
        &mut tx,
        &[
            prepared(JobInfo::once("b", "report")),
            JobInfo::once("never", "report"),
        ],
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
    tx.commit().await.unwrap();
    assert_eq!(enqueued(&snapshotter), vec![]);
}
