//! A PostgreSQL job store for bgtasks, for many nodes sharing one database.
//!
//! [`PostgresJobStore`] implements the runtime's [`JobStore`] contract (R27) and passes
//! the same conformance suite as the in-memory store. Beside it live a
//! [`PostgresJobActionStore`] (R31) and a [`PostgresJobLockProvider`] (R28) on the same
//! database.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use bgtasks_abstractions::{JobError, JobInfo, job_fn};
//! use bgtasks_core::{JobScheduler, Runtime};
//! use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresJobStore::connect(
//!     "postgres://bgtasks:secret@db.internal:5432/app",
//!     PostgresStoreOptions::default(),
//! )
//! .await?;
//! let runtime = Runtime::builder()
//!     .node_name("worker-1")
//!     .lock_provider(Arc::new(store.lock_provider()))
//!     .store(Arc::new(store))
//!     .runnable("greet", job_fn(|ctx| async move {
//!         let name: String = ctx.get("name")?;
//!         ctx.set_result(format!("hello {name}"));
//!         Ok::<(), JobError>(())
//!     }))
//!     .build()?;
//! runtime.start().await?;
//! runtime.queue(JobInfo::once("greet-1", "greet").with_arg("name", "world")).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How nodes share the work
//! - **Claims**: a node selects the due, claimable rows it may run (`next_run_time <= now`,
//!   status Queuing, Running or FailedRetry, not abandoned, no lease, pinned to it or to no
//!   node) in claim order (priority, fewest tries, earliest due) with
//!   `FOR UPDATE SKIP LOCKED`, computes each job's following fire time in Rust (cron
//!   schedules parsed once and cached), and leases the whole batch with one `UPDATE … FROM
//!   unnest(…)` in the same transaction. Two nodes never claim one run, and never wait
//!   for each other's rows.
//! - **Leases and fencing**: a claim adds one to the job's `lease_token`. Completing runs
//!   is one `UPDATE … FROM unnest(…)` for a whole batch
//!   ([`complete_runs`](JobStore::complete_runs); `complete_run` is a batch of one),
//!   fenced by `id` and `lease_token`, writing only the run-state fields (a definition
//!   edited during the run is kept, a pause made during the run too); a run that was not
//!   saved is told apart as a lost lease or a removed job. Run logs are appended in one
//!   statement per batch ([`store_logs`](JobStore::store_logs)), and the store says it
//!   [prefers batched writes](JobStore::prefers_batched_writes). A run whose lease
//!   expired is made due again at its old time by `rescue_expired`, with a run log naming
//!   the node that lost it, in one statement.
//! - **Queueing many**: [`insert_many`](JobStore::insert_many) inserts a batch in one
//!   `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`.
//! - **Wake-ups**: triggers on the jobs table `pg_notify('bgtasks_due', '')` when a row
//!   becomes claimable or its due time changes; each store with a subscriber holds one
//!   LISTEN connection (outside its pool) and turns notifications into the runtime's
//!   [`subscribe_due`](JobStore::subscribe_due) signal. It reconnects with back-off and
//!   signals once after reconnecting.
//! - **Faults**: connection errors (refused, reset, pool timeout, server shutting down,
//!   too many connections, serialization failures) are [`StoreError::Unavailable`]: the
//!   runtime backs off and retries, and the pool reconnects when the server is back. A
//!   row that does not decode is [`StoreError::Corrupt`], naming the job and column (a
//!   due row that does not decode loses its next run time instead of blocking claims).
//!   Everything else is [`StoreError::Other`].
//!
//! # Schema (version [`SCHEMA_VERSION`])
//! Applied at start-up by embedded migrations (recorded in `bgtasks_migrations`, so they
//! never collide with an application's own sqlx migrations), in the configured schema:
//! - `bgtasks_jobs`: every [`JobInfo`](bgtasks_abstractions::JobInfo) field, with status,
//!   kind, priority and source as their numeric codes (R4, R5) in `SMALLINT`, args as
//!   `JSONB`, times as `TIMESTAMPTZ`, plus the lease: `lease_token`,
//!   `lease_node`, `lease_expires_at`, `lease_due_at`. Partial indexes serve the claim
//!   (claimable rows by claim order, and by due time), the rescuer (leases by expiry) and
//!   clean-up (Completed rows by age).
//! - `bgtasks_logs`: run logs, listed by `(job_id, id DESC)`.
//! - `bgtasks_job_actions`: one JSONB array of actions per job id.
//! - `bgtasks_locks`: held job locks, with owner and expiry.
//! - `bgtasks_schema`: the schema version. A database whose version is newer than this
//!   build knows is refused at start-up, naming both versions.
//!
//! PostgreSQL text cannot hold the NUL character: a job whose definition holds one (in
//! its name, description or a string argument) is refused when stored, and NUL in what a
//! run produced (its result, log message or error) is written as U+FFFD, so that one
//! run's output never fails a batch. Times keep microseconds.

mod actions;
mod claims;
mod errors;
mod jobs;
mod leases;
mod locks;
mod notify;
mod options;
mod rows;
mod schema;
mod store;

#[cfg(doc)]
use bgtasks_core::store::{JobStore, StoreError};

pub use self::actions::PostgresJobActionStore;
pub use self::locks::PostgresJobLockProvider;
pub use self::notify::DUE_CHANNEL;
pub use self::options::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SCHEMA, PostgresStoreOptions,
};
pub use self::schema::SCHEMA_VERSION;
pub use self::store::PostgresJobStore;
