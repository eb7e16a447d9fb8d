//! What is particular to the SQLite store: the file survives restarts and migrates from
//! schema versions 1 and 2; files that are not ours, are damaged or are newer are refused
//! with the path in the error; rows that do not decode (jobs, notifications) are named or
//! set aside; writers on one file wait for each other rather than fail, within bounds,
//! and calls with nothing to do take no write lock; writes and control transitions of
//! another process wake this one; and the set-based SQL of the data path agrees with the
//! rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds;
mod files;
mod locks;
mod migration;
mod migration_v2;
mod outbox;
mod rules;
mod runs;
mod signals;

use std::path::Path;
use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{ClaimRequest, ClaimedRun, JobLog, JobStore};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, SqliteConnection};

/// The lease every test claims with.
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// A fixed instant, `secs` seconds after the tests' epoch.
pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

/// A Once job, Queuing, due at `t(due)`.
pub(crate) fn queued(id: &str, due: i64) -> JobInfo {
    let mut job = JobInfo::once(id, "t");
    job.creation_time = t(-1000);
    job.begin_time = t(-1000);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(due));
    job
}

/// A run log of `job_id` at `t(at)`.
pub(crate) fn log(job_id: &str, at: i64, message: &str) -> JobLog {
    JobLog {
        job_id: job_id.into(),
        job_name: "name".into(),
        job_group: "group".into(),
        job_type: "t".into(),
        message: message.into(),
        run_time: t(at),
        exception: None,
        exception_type: None,
        tenant_id: None,
        node: "node-a".into(),
        duration_ms: 7,
        lease_token: None,
    }
}

/// Opens the store on `path` with the default options.
pub(crate) async fn open(path: &Path) -> SqliteJobStore {
    SqliteJobStore::open(path, SqliteStoreOptions::default())
        .await
        .unwrap()
}

/// The error opening `path` fails with.
pub(crate) async fn open_err(path: &Path) -> String {
    match SqliteJobStore::open(path, SqliteStoreOptions::default()).await {
        Ok(_) => panic!("`{}` should be refused", path.display()),
        Err(error) => error.to_string(),
    }
}

/// A plain connection on the file, as another program would hold.
pub(crate) async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap()
}

/// Inserts jobs that must all be new.
pub(crate) async fn seed(store: &dyn JobStore, jobs: &[JobInfo]) {
    let inserted = store.insert(jobs).await.unwrap();
    assert!(
        inserted.iter().all(|i| *i),
        "seeded jobs are new: {inserted:?}"
    );
}

/// Claims up to `limit` runs of any type for `node` at `t(now)`.
pub(crate) async fn claim(
    store: &dyn JobStore,
    node: &str,
    now: i64,
    limit: usize,
) -> Vec<ClaimedRun> {
    store
        .claim(&ClaimRequest {
            node,
            now: t(now),
            limit,
            lease: LEASE,
            job_types: None,
        })
        .await
        .unwrap()
}
