//! Statements on the hot path: the plan they need, whatever the statistics say.
//!
//! A batch statement (claim, completion, give-back, renewal) joins a few hundred keys
//! (`unnest` of the batch's arrays) with `bgtasks_jobs`. PostgreSQL's cost model prices a
//! random page read at four sequential ones, so for a table of up to a few hundred
//! thousand rows — or one whose statistics are stale, as after a bulk insert — it plans a
//! hash join over a full scan of the table: every batch then reads every row (30–60 ms a
//! batch at 20,000 jobs, growing with the table). A claim and the next due time read the
//! first rows of a partial index in its order; with statistics that still describe an
//! empty table (a million jobs queued since the last analyze) the planner collects every
//! due row with a bitmap scan and sorts them all instead: 1.2 s per claim and 0.5 s per
//! next-due read at 1,000,000 jobs, against 0.3 ms and 0.06 ms in index order, until
//! autovacuum analyzes the table.
//!
//! Inside a transaction begun with [`BEGIN_KEYED`], sequential scans, bitmap scans and
//! explicit sorts are off for that transaction only, so a batch finds its rows through
//! the primary key (or by address, `ctid`) and a claim walks its index in order, in time
//! that grows with the batch, not with the table.

use sqlx::PgPool;
use sqlx::{Postgres, Transaction};

/// Begins a transaction in which the planner finds rows by key, and in index order,
/// rather than by scanning and sorting the table (`SET LOCAL` ends with the transaction);
/// one round trip.
pub(crate) const BEGIN_KEYED: &str = "BEGIN; SET LOCAL enable_seqscan = off; \
     SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off";

/// A transaction on a pooled connection, begun with [`BEGIN_KEYED`].
pub(crate) async fn begin_keyed(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with(BEGIN_KEYED).await
}

#[cfg(test)]
mod plans;
