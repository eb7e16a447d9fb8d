//! A PostgreSQL job store for bgtasks, for many nodes sharing one database.
//!
//! [`PostgresJobStore`] implements every capability of the store contract of
//! `bgtasks-store` — [`JobDefinitions`], [`JobRuns`], [`JobControl`], [`RunLogs`],
//! [`Maintenance`] and [`NodeRegistry`], so it is a [`JobStore`] — and passes the same
//! conformance suite as every other store. Every method is one atomic transition with its
//! condition (R37). Beside it live a [`PostgresJobActionStore`] (R31) and a
//! [`PostgresJobLockProvider`] ([`JobLockProvider`], R28) on the same database.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use bgtasks_abstractions::{JobInfo, JobStatus};
//! use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions};
//! use bgtasks_store::{ClaimRequest, JobDefinitions, JobRuns};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresJobStore::connect(
//!     "postgres://bgtasks:secret@db.internal:5432/app",
//!     PostgresStoreOptions::default(),
//! )
//! .await?;
//! let mut job = JobInfo::once("greet-1", "greet").with_arg("name", "world");
//! job.status = JobStatus::Queuing;
//! job.next_run_time = Some(chrono::Utc::now());
//! store.insert(&[job]).await?;
//! let types = vec!["greet".to_owned()];
//! let runs = store
//!     .claim(&ClaimRequest {
//!         node: "worker-1",
//!         now: chrono::Utc::now(),
//!         limit: 10,
//!         lease: Duration::from_secs(30),
//!         job_types: Some(&types),
//!     })
//!     .await?;
//! # let _ = runs;
//! # Ok(())
//! # }
//! ```
//!
//! # How nodes share the work
//! - **One clock** (R45): by default ([`TimeSource::Database`]) every judgement of time —
//!   which runs are due at a claim, when a lease expires at a claim and a renewal, which
//!   leases a rescue finds expired, the time control transitions schedule from — is made
//!   by the database's `now()`, and the `now` arguments are ignored. [`TimeSource::Caller`]
//!   uses them instead (the conformance suite passes fixed times).
//! - **Claims**: a node selects the due, claimable rows it may run (`next_run_time <= now`,
//!   status Queuing, Running or FailedRetry, not abandoned, no lease, pinned to it or to no
//!   node, of a job type it runs, R41) in claim order (priority, fewest tries, earliest due)
//!   with `FOR UPDATE SKIP LOCKED`, computes each job's following fire time in Rust (cron
//!   schedules parsed once and cached), and leases the whole batch with one `UPDATE … FROM
//!   unnest(…)` in the same transaction, each run with a token from the sequence
//!   `bgtasks_lease_tokens`: tokens never repeat in a store, not even for a job removed and
//!   queued again under its id (R38). A due row that does not decode is set aside
//!   (Stopped, the error as its result, R42); a row past its end time loses its next run.
//! - **Leases**: a renewal extends the leases a node holds and tells it, per lease, whether
//!   the run goes on, the lease is lost, or the run is to be interrupted because its job was
//!   paused, stopped or removed (R39). Completing runs is one `UPDATE … FROM unnest(…)` for
//!   a whole batch, with its run logs in the same statement (a data-modifying CTE), fenced
//!   by id and lease token, writing only the run-state fields (a definition edited during
//!   the run is kept); a trigger during the run makes the job due again (R40). A run the
//!   statement does not save (a lost lease, a removed job, a pause or stop asked during the
//!   run) is then decided alone, under a row lock, by `rules::complete`. Give-backs and
//!   rescues (expired leases made due again at their old time, with a run log naming the
//!   node) are one statement each. Batches touch rows in id order and a deadlock is
//!   retried. The store says it [prefers batched writes](JobRuns::prefers_batched_writes).
//! - **Control** (pause, resume, trigger, stop, start, a definition update, removal): one
//!   transaction each that locks the row (`SELECT … FOR UPDATE`), applies the rule of
//!   `bgtasks_store::rules` to the record and writes back only the columns it may change.
//!   An update is conditioned on the definition's revision. Removal takes the job's run
//!   logs and actions with it.
//! - **Signals**: triggers on the jobs table `pg_notify('bgtasks_due', '')` when a row
//!   becomes claimable or its due time changes; pausing, stopping or removing a running job
//!   notifies `bgtasks_control` in its transaction. Each store with a subscriber holds one
//!   LISTEN connection for both channels (outside its pool) and turns notifications into
//!   [`subscribe_due`](JobRuns::subscribe_due) and
//!   [`subscribe_control`](JobRuns::subscribe_control). It reconnects with back-off and
//!   signals both once after reconnecting.
//! - **Faults**: connection errors (refused, reset, pool timeout, server shutting down,
//!   too many connections, serialization failures) are [`StoreError::Unavailable`]: the
//!   runtime backs off and retries, and the pool reconnects when the server is back. A
//!   row that does not decode is [`StoreError::Corrupt`], naming the job and column.
//!   Everything else is [`StoreError::Other`].
//!
//! # Schema (version [`SCHEMA_VERSION`])
//! Applied at start-up by embedded migrations (recorded in `bgtasks_migrations`, so they
//! never collide with an application's own sqlx migrations), in the configured schema.
//! Version 2 upgrades a version 1 database in place, keeping every job, log, action and
//! lock.
//! - `bgtasks_jobs`: every [`JobInfo`](bgtasks_abstractions::JobInfo) field, with status,
//!   kind, priority and source as their numeric codes (R4, R5) in `SMALLINT`, args as
//!   `JSONB`, times as `TIMESTAMPTZ`; the definition's `revision`; the lease
//!   (`lease_token`, `lease_node`, `lease_expires_at`, `lease_due_at`; held while
//!   `lease_node` is set); `interrupt` (a pause or stop asked during the run: 20, 30, or
//!   NULL) and `triggered` (a trigger came during the run), set only while a lease is held.
//!   Partial indexes serve the claim (claimable rows by claim order, and by due time), the
//!   rescuer (leases by expiry), clean-up (Completed rows by age) and polling and checking
//!   (rows scheduled nowhere).
//! - `bgtasks_lease_tokens`: the sequence of lease tokens (version 2 starts it past every
//!   token version 1 handed out).
//! - `bgtasks_logs`: run logs, listed by `(job_id, id DESC)`.
//! - `bgtasks_job_actions`: one JSONB array of actions per job id.
//! - `bgtasks_locks`: held job locks, with owner and expiry (by the database's clock).
//! - `bgtasks_nodes`: each node's last heartbeat and its job types (a JSONB array).
//! - `bgtasks_schema`: the schema version. A database whose version is newer than this
//!   build knows is refused at start-up, naming both versions.
//!
//! Listing compares text by byte order (`COLLATE "C"`, as Rust compares strings) and
//! finds text case-insensitively with `lower()`, whose notion of case outside ASCII is
//! the database's locale. PostgreSQL text cannot hold the NUL character: a job whose
//! definition holds one (in its name, description or a string argument) is refused when
//! stored, and NUL in what a run produced (its result, log message or error) is written
//! as U+FFFD, so that one run's output never fails a batch. Times keep microseconds.

mod actions;
mod claims;
mod completions;
mod control;
mod definitions;
mod errors;
mod leases;
mod listing;
mod locks;
mod log_rows;
mod logs;
mod maintenance;
mod nodes;
mod notify;
mod options;
mod rows;
mod runs;
mod schedules;
mod schema;
mod store;

#[cfg(doc)]
use bgtasks_store::{
    JobControl, JobDefinitions, JobLockProvider, JobRuns, JobStore, Maintenance, NodeRegistry,
    RunLogs, StoreError,
};

pub use self::actions::PostgresJobActionStore;
pub use self::locks::PostgresJobLockProvider;
pub use self::notify::{CONTROL_CHANNEL, DUE_CHANNEL};
pub use self::options::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SCHEMA, PostgresStoreOptions,
    TimeSource,
};
pub use self::schema::SCHEMA_VERSION;
pub use self::store::PostgresJobStore;
