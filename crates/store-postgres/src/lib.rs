//! A PostgreSQL job store for bgtasks, for many nodes sharing one database.
//!
//! [`PostgresJobStore`] implements every capability of the store contract of
//! `bgtasks-store` — [`JobDefinitions`], [`JobRuns`], [`JobControl`], [`RunLogs`],
//! [`Maintenance`], [`NodeRegistry`], [`JobStatistics`] and [`NotificationOutbox`], so it
//! is a [`JobStore`] — and passes the same conformance suite as every other store. Every
//! method is one atomic transition with its condition (R37), and one call bounded in time
//! (R45). Beside it lives a [`PostgresJobLockProvider`] ([`JobLockProvider`], R28) on the
//! same database. A job's actions (R31) are part of its definition, stored in its row.
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
//!     PostgresStoreOptions::default().with_statement_timeout(Duration::from_secs(10)),
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
//!   leases a rescue finds expired, the time control transitions schedule from, which
//!   notifications are due and how long their leases last, which jobs count as due — is
//!   made by the database's `now()`, and the `now` arguments are ignored.
//!   [`TimeSource::Caller`] uses them instead (the conformance suite passes fixed times).
//! - **Claims**: a node selects the due, claimable rows it may run (`next_run_time <= now`,
//!   status Queuing, Running or FailedRetry, not abandoned, no lease, pinned to it or to no
//!   node, of a job type it runs, R41) in claim order (priority, fewest tries, earliest due)
//!   with `FOR UPDATE SKIP LOCKED`, computes each job's following fire time in Rust (cron
//!   schedules parsed once and cached; schedule arithmetic saturates, so an interval past
//!   the end of time means no next run), and leases the whole batch with one `UPDATE …
//!   FROM unnest(…)` in the same transaction, each run with a token from the sequence
//!   `bgtasks_lease_tokens`: tokens never repeat in a store, not even for a job removed and
//!   queued again under its id (R38). Every claim counts an attempt; the claimed run says
//!   which attempt it is and how many rescues in a row came before it (R43). A due row
//!   that does not decode, or a Period job whose cron does not parse, is set aside
//!   (Stopped, no next run, the reason — naming the cron — as its result, R42) and never
//!   blocks the others; a row past its end time loses its next run.
//! - **Leases**: a renewal extends the leases a node holds and tells it, per lease, whether
//!   the run goes on, the lease is lost, or the run is to be interrupted because its job was
//!   paused, stopped or removed (R39). Completing runs is one `UPDATE … FROM unnest(…)` for
//!   a whole batch, with its run logs in the same statement (a data-modifying CTE), fenced
//!   by id and lease token, writing only the run-state fields (a definition edited during
//!   the run is kept) and ending the job's streak of rescues; a trigger during the run
//!   makes the job due again (R40). A run the statement does not save (a lost lease, a
//!   removed job, a pause or stop asked during the run) is then decided alone, under a row
//!   lock, by `rules::complete`. Give-backs and rescues (expired leases made due again at
//!   their old time, one more rescue in a row counted, with a run log naming the node) are
//!   one statement each. Batches touch rows in id order and a deadlock is retried. The
//!   store says it [prefers batched writes](JobRuns::prefers_batched_writes).
//! - **The outbox** (R51): the notifications a saved outcome calls for are stored in the
//!   transaction that saves it (a second and third statement after the completion's, only
//!   when the batch carries notifications), each unless its id is stored already or the
//!   throttle rules it out (one of the same job and action created less than its minimum
//!   interval before it) — in the store, so the policy holds across nodes and restarts.
//!   Any node claims due notifications (`FOR UPDATE SKIP LOCKED`, a token from the same
//!   sequence, the attempt counted); a delivery's outcome is recorded only under the lease
//!   that holds it. Notifications outlive their job; finished ones are pruned.
//! - **Control** (pause, resume, trigger, stop, start, a definition update, removal): one
//!   transaction each that locks the row (`SELECT … FOR UPDATE`), applies the rule of
//!   `bgtasks_store::rules` to the record and writes back only the columns it may change.
//!   An update is conditioned on the definition's revision. Removal takes the job's run
//!   logs with it.
//! - **Upkeep** (R46): run logs are pruned by age (on the run-time index) and by count per
//!   job (one pass over the `(job_id, id)` index), at most a given number per call.
//!   Statistics are one aggregate query each: the counts by grouping sets, the run history
//!   grouped by stretch of time and failure type.
//! - **Signals**: triggers on the jobs table `pg_notify('bgtasks_due', '')` when a row
//!   becomes claimable or its due time changes; pausing, stopping or removing a running job
//!   notifies `bgtasks_control` in its transaction. Each store with a subscriber holds one
//!   LISTEN connection for both channels (outside its pool) and turns notifications into
//!   [`subscribe_due`](JobRuns::subscribe_due) and
//!   [`subscribe_control`](JobRuns::subscribe_control). It reconnects with back-off and
//!   signals both once after reconnecting; after a minute of silence it pings the server.
//! - **Bounds** (R45): every connection of the pool starts with `statement_timeout`
//!   (default 30 s) and `idle_in_transaction_session_timeout` (60 s), and asks the server
//!   for TCP keepalives on its side (`tcp_keepalives_*`, `tcp_user_timeout`), so that the
//!   server ends the session of a node that vanished and releases its row locks. sqlx has
//!   no client-side keepalive, so every store call is also bounded from the caller's side
//!   ([`call_timeout`](PostgresStoreOptions::call_timeout), 45 s): past it the call fails as
//!   [`StoreError::Unavailable`]. Waiting for a pooled connection is bounded by the connect
//!   timeout. The migrations run without the session timeouts.
//! - **Faults**: connection errors (refused, reset, pool timeout, server shutting down,
//!   too many connections, serialization failures) and calls past their bound are
//!   [`StoreError::Unavailable`]: the runtime backs off and retries, and the pool reconnects
//!   when the server is back. A row that does not decode is [`StoreError::Corrupt`],
//!   naming the job and column. Everything else is [`StoreError::Other`].
//!
//! # Schema (version [`SCHEMA_VERSION`])
//! Applied at start-up by embedded migrations (recorded in `bgtasks_migrations`, so they
//! never collide with an application's own sqlx migrations), in the configured schema.
//! Each version upgrades the one before in place, keeping every job, log and lock; version
//! 3 moves each job's actions from `bgtasks_job_actions` (then dropped) into its row.
//! - `bgtasks_jobs`: every [`JobInfo`](bgtasks_abstractions::JobInfo) field, with status,
//!   kind, priority and source as their numeric codes (R4, R5) in `SMALLINT`, args and
//!   actions as `JSONB`, times as `TIMESTAMPTZ`, the time limit in seconds; the
//!   definition's `revision`; the lease (`lease_token`, `lease_node`, `lease_expires_at`,
//!   `lease_due_at`; held while `lease_node` is set); `interrupt` (a pause or stop asked
//!   during the run: 20, 30, or NULL) and `triggered` (a trigger came during the run), set
//!   only while a lease is held; `attempts` (claims ever) and `rescues` (in a row since the
//!   last completion). Partial indexes serve the claim (claimable rows by claim order, and
//!   by due time), the rescuer (leases by expiry), clean-up (Completed rows by age) and
//!   polling and checking (rows scheduled nowhere).
//! - `bgtasks_lease_tokens`: the sequence of lease tokens of runs and notifications
//!   (version 2 started it past every token version 1 handed out).
//! - `bgtasks_logs`: run logs, with the failure type as its bits (`exception_type`, NULL
//!   for none), listed by `(job_id, id DESC)` and aged by `run_time`.
//! - `bgtasks_notifications`: the outbox — id (the notification's identity), job, action,
//!   kind and state codes, payload (`JSONB`), creation, attempts, next attempt, finish, last
//!   error and the delivery's lease — indexed for claims (pending by next attempt), the
//!   throttle (job, action, creation), listing (newest first) and pruning (finished).
//! - `bgtasks_locks`: held job locks, with owner and expiry (by the database's clock).
//! - `bgtasks_nodes`: each node's last heartbeat and its job types (a JSONB array).
//! - `bgtasks_schema`: the schema version. A database whose version is newer than this
//!   build knows is refused at start-up, naming both versions.
//!
//! Listing compares text by byte order (`COLLATE "C"`, as Rust compares strings) and
//! finds text case-insensitively with `lower()`, whose notion of case outside ASCII is
//! the database's locale. PostgreSQL text cannot hold the NUL character: a job whose
//! definition holds one (in its name, description, a string argument or an action) is
//! refused when stored, before anything is written, naming the job and where the NUL is;
//! NUL in what a run produced (its result, log message or error,
//! a notification) is written as U+FFFD, so that one run's output never fails a batch.
//! Times keep microseconds.
//!
//! # Queueing in your own transaction
//! [`enqueue_in`] queues jobs on your connection, in your transaction: they exist, and
//! run, if and only if it commits (R49), together with the rows your service writes
//! beside them. The wake-up of the nodes is sent at the commit. [`enqueue_in_schema`] does
//! the same for a store in a schema of its own. The crate re-exports its [`sqlx`], so
//! that your transaction is of the same version.
//!
//! Arguments come back as they went in, floats to the last bit (the crate parses JSON with
//! serde_json's `float_roundtrip`). JSONB keeps numbers as decimals, so a float with no
//! fraction written in exponent form (`9.2e18`) reads back as an integer
//! (`9200000000000000000`), which a serde `f64` reads as the same value.

mod capabilities;
mod claims;
mod completions;
mod control;
mod definitions;
mod enqueue;
mod errors;
mod keyed;
mod leases;
mod listing;
mod locks;
mod log_rows;
mod logs;
mod maintenance;
mod nodes;
mod notifications;
mod notify;
mod options;
mod outbox;
mod rows;
mod schedules;
mod schema;
mod statistics;
mod store;

#[cfg(doc)]
use bgtasks_store::{
    JobControl, JobDefinitions, JobLockProvider, JobRuns, JobStatistics, JobStore, Maintenance,
    NodeRegistry, NotificationOutbox, RunLogs, StoreError,
};

pub use self::enqueue::{enqueue_in, enqueue_in_schema};
pub use self::locks::PostgresJobLockProvider;
pub use self::notify::{CONTROL_CHANNEL, DUE_CHANNEL};
pub use self::options::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SCHEMA, DEFAULT_STATEMENT_TIMEOUT, DEFAULT_TCP_KEEPALIVE,
    PostgresStoreOptions, TimeSource,
};
pub use self::schema::SCHEMA_VERSION;
pub use self::store::PostgresJobStore;

/// The sqlx this crate is built with, so that a transaction you pass to [`enqueue_in`]
/// is of the same version.
pub use sqlx;
