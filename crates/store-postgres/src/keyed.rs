//! Batches that name their rows by key: the plan they need, whatever the statistics say.
//!
//! A batch statement (claim, completion, give-back, renewal) joins a few hundred keys
//! (`unnest` of the batch's arrays) with `bgtasks_jobs`. PostgreSQL's cost model prices a
//! random page read at four sequential ones, so for a table of up to a few hundred
//! thousand rows — or one whose statistics are stale, as after a bulk insert — it plans a
//! hash join over a full scan of the table: every batch then reads every row (30–60 ms a
//! batch at 20,000 jobs, growing with the table). Inside a transaction begun with
//! [`BEGIN_KEYED`], sequential scans are off for that transaction only, so the batch
//! finds its rows through the primary key (or by address, `ctid`), in time that grows
//! with the batch, not with the table.

use sqlx::PgPool;
use sqlx::{Postgres, Transaction};

/// Begins a transaction in which the planner finds rows by key rather than by scanning
/// the table (`SET LOCAL` ends with the transaction); one round trip.
pub(crate) const BEGIN_KEYED: &str = "BEGIN; SET LOCAL enable_seqscan = off";

/// A transaction on a pooled connection, begun with [`BEGIN_KEYED`].
pub(crate) async fn begin_keyed(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with(BEGIN_KEYED).await
}
