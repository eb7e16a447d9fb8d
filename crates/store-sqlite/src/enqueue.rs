//! Queueing jobs in the caller's own transaction (R49): the jobs exist, and run, if and
//! only if that transaction commits.

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_store::StoreError;
use sqlx::SqliteConnection;

use crate::definitions::{INSERT_CHUNK, insert_on};
use crate::errors::is_unavailable;
use crate::store::SqliteJobStore;

/// Queues `jobs` on `conn`, in the transaction it is in: they exist, and run, if and only
/// if that transaction commits (R49). A business row written in the same transaction is
/// there exactly when its jobs are.
///
/// `conn` is any connection to the store's database file — one of your own pool, or one
/// of [`SqliteJobStore::pool`] — and a [`sqlx::Transaction`] derefs to one:
/// `enqueue_in(&mut tx, &jobs)`. Without a transaction the jobs are committed at once.
/// The file must hold this build's schema: open a [`SqliteJobStore`] on it first (that
/// creates and migrates it).
///
/// Same semantics as the store's [`insert`](bgtasks_store::JobDefinitions::insert): each
/// job is inserted unless a job with its id is stored (a repeated id in the batch once,
/// from its first occurrence), at revision 1 with no lease; the result says, per job,
/// whether it was inserted. A batch is written whole or not at all: up to 1,000 jobs in
/// one statement, a larger one in several under a savepoint (which, on a connection
/// outside a transaction, is a transaction of its own).
///
/// The jobs are taken as prepared for queueing — status Queuing (or Paused) and their
/// first fire time in `next_run_time`, as the runtime's queueing sets them; a job without
/// a next run time is stored but not run. Each is validated first
/// ([`JobInfo::validate`]), and a job with status None (which no node would ever run) is
/// refused too: one refused job refuses the whole batch, before anything is written, with
/// an error naming the job and the reason (its source is the
/// [`JobDefinitionError`](bgtasks_abstractions::JobDefinitionError) when there is one).
///
/// # Metrics
/// Each job it reports inserted is counted in `bgtasks_jobs_enqueued_total` with
/// `{type, kind, source="api"}`, as the runtime's `queue` counts it, when this function
/// returns — before your commit: a job queued in a transaction that then rolls back stays
/// counted (docs/observability.md).
///
/// # When nodes see the jobs
/// After the commit, every store with a change watcher on the file
/// ([`watch_interval`](crate::SqliteStoreOptions::watch_interval), 500 ms by default)
/// wakes its runtime within that interval, in this process and in others. Without a
/// watcher a runtime finds them when it next looks at the next due time (within a
/// minute). Calling [`SqliteJobStore::notify_due`] after the commit wakes the runtime on
/// that store handle at once.
///
/// # Sharing the write lock
/// SQLite lets one transaction write to the file at a time. The store's own writes (claims,
/// renewals, completions) take turns within its process at its write gate and then take
/// SQLite's write lock; your transaction does not queue at that gate, it meets them at
/// SQLite's lock. Whoever asks second waits in SQLite's busy handler, at most its
/// connection's `busy_timeout` — the store's [`busy_timeout`](crate::SqliteStoreOptions::busy_timeout)
/// (5 s by default) for its writes and for connections of its pool, sqlx's default (5 s)
/// or your own setting for yours — and then fails as busy (the store's call as
/// [`StoreError::Unavailable`], which the runtime retries). So:
/// - Begin the transaction with `BEGIN IMMEDIATE` (`pool.begin_with("BEGIN IMMEDIATE")`):
///   it takes the write lock at once, waiting for it in the busy handler. A deferred
///   transaction that reads first and writes later fails at once with `SQLITE_BUSY`
///   when another connection wrote in between.
/// - Keep it short, well under the busy timeout: while it holds the lock no node can
///   claim, renew or complete runs in the file.
/// - The file is in WAL mode (the store sets it; it is kept in the file), so readers,
///   the store's included, never wait for your transaction. Open connections of your own
///   with `synchronous = FULL`, as the store does, for commits that survive a power cut.
///
/// # Errors
/// The refusal of a batch is [`StoreError::Other`]; a database error is
/// [`StoreError::Unavailable`] when trying again may work (busy, I/O) and
/// [`StoreError::Other`] otherwise (no bgtasks schema in the file, say). Either way
/// nothing of the batch is left in your transaction (SQLite undoes a failed statement
/// alone, and a larger batch's savepoint is rolled back), so you may roll it back or carry
/// on without the jobs — unless the error ended the transaction itself (SQLite does so on
/// a full disk or an I/O error).
///
/// ```
/// use bgtasks_abstractions::{JobInfo, JobStatus};
/// use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions, enqueue_in, sqlx};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("app.db");
/// let store = SqliteJobStore::open(&path, SqliteStoreOptions::default()).await?;
/// sqlx::query("CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, total INTEGER)")
///     .execute(store.pool())
///     .await?;
///
/// let mut job = JobInfo::once("send-invoice-42", "send-invoice").with_arg("invoice", "42");
/// job.status = JobStatus::Queuing; // as the runtime's queueing prepares it
/// job.next_run_time = Some(job.begin_time);
///
/// let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
/// sqlx::query("INSERT INTO invoices (id, total) VALUES (?, ?)")
///     .bind("42")
///     .bind(1200)
///     .execute(&mut *tx)
///     .await?;
/// assert_eq!(enqueue_in(&mut tx, &[job]).await?, vec![true]);
/// tx.commit().await?; // the invoice and its job, or neither
/// store.notify_due(); // a runtime on this handle claims it now
/// # Ok(())
/// # }
/// ```
pub async fn enqueue_in(
    conn: &mut SqliteConnection,
    jobs: &[JobInfo],
) -> Result<Vec<bool>, StoreError> {
    check_batch(jobs)?;
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let inserted = insert_batch(conn, jobs).await?;
    // Counted as the runtime's queueing counts, once the batch is in the transaction
    // (whatever becomes of the transaction afterwards: docs/observability.md).
    bgtasks_store::metrics::enqueued(jobs, &inserted);
    Ok(inserted)
}

/// Inserts a checked, non-empty batch on `conn`: whole or not at all.
async fn insert_batch(
    conn: &mut SqliteConnection,
    jobs: &[JobInfo],
) -> Result<Vec<bool>, StoreError> {
    let batch = describe(jobs);
    let failed = |error: sqlx::Error| failed_in_transaction(&batch, error);
    if jobs.len() <= INSERT_CHUNK {
        // One statement: all of it or nothing.
        return insert_on(conn, jobs, &failed).await;
    }
    // Several statements: a savepoint makes them one (and a transaction of their own on a
    // connection outside one), so that a failure leaves none of the batch behind.
    sqlx::query(SAVEPOINT)
        .execute(&mut *conn)
        .await
        .map_err(&failed)?;
    match insert_on(conn, jobs, &failed).await {
        Ok(inserted) => {
            sqlx::query(RELEASE)
                .execute(&mut *conn)
                .await
                .map_err(&failed)?;
            Ok(inserted)
        }
        Err(error) => {
            // A failure that ended the whole transaction took the savepoint with it.
            for undo in [ROLLBACK_TO, RELEASE] {
                let _ = sqlx::query(undo).execute(&mut *conn).await;
            }
            Err(error)
        }
    }
}

/// The savepoint around a batch of several statements.
const SAVEPOINT: &str = "SAVEPOINT bgtasks_enqueue";
const RELEASE: &str = "RELEASE bgtasks_enqueue";
const ROLLBACK_TO: &str = "ROLLBACK TO bgtasks_enqueue";

impl SqliteJobStore {
    /// Tells the runtime on this store handle (and its clones) that a job may be due, so
    /// that it looks at once: call it after committing a transaction that queued jobs with
    /// [`enqueue_in`]. Without it the change watcher sees the commit within its interval.
    pub fn notify_due(&self) {
        self.inner.signals.due.notify();
    }
}

/// Refuses the whole batch when one job may not be queued: it does not validate, or it
/// has status None.
fn check_batch(jobs: &[JobInfo]) -> Result<(), StoreError> {
    let refused = |reason: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
        let nothing = match jobs.len() {
            1 => "it was not queued".to_owned(),
            n => format!("none of the batch's {n} jobs was queued"),
        };
        StoreError::Other {
            message: format!("{reason}; {nothing}"),
            source,
        }
    };
    for job in jobs {
        if let Err(error) = job.validate() {
            return Err(refused(error.to_string(), Some(Box::new(error))));
        }
        if job.status == JobStatus::None {
            return Err(refused(
                format!(
                    "job `{}` has status None, which no node runs: prepare it for queueing \
                     (status Queuing and its first fire time as `next_run_time`)",
                    job.id
                ),
                None,
            ));
        }
    }
    Ok(())
}

/// The batch, for messages: its first job and how many there are.
fn describe(jobs: &[JobInfo]) -> String {
    match jobs {
        [job] => format!("job `{}`", job.id),
        [first, ..] => format!("{} jobs (the first `{}`)", jobs.len(), first.id),
        [] => "no jobs".to_owned(),
    }
}

/// A database error while queueing `batch` in the caller's transaction.
fn failed_in_transaction(batch: &str, error: sqlx::Error) -> StoreError {
    let text = error.to_string();
    let hint = if text.contains("no such table") || text.contains("no such column") {
        " (the database has no bgtasks schema of this build: open a SqliteJobStore on the \
         file first, which creates or migrates it)"
    } else {
        ""
    };
    let message =
        format!("could not queue {batch} in the caller's SQLite transaction: {text}{hint}");
    let unavailable = is_unavailable(&error);
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = Some(Box::new(error));
    if unavailable {
        StoreError::Unavailable { message, source }
    } else {
        StoreError::Other { message, source }
    }
}
