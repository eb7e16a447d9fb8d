//! [`NotificationOutbox`] on SQLite (R51): notifications enter `bgtasks_notifications`
//! with the completion that called for them (`notifications`); any node — in this
//! process or another — claims the due ones under a lease whose token comes from the
//! store-wide counter, and records each delivery's outcome only while that lease is
//! still its own (`rules::is_claimable_notification`, `rules::apply_delivery`, in SQL).

use std::time::Duration;

use bgtasks_store::{
    ClaimedNotification, DeliveryOutcome, NotificationOutbox, NotificationPage, NotificationQuery,
    NotificationState, StoreError,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite};

use crate::notifications::{decode, notification_columns};
use crate::rows::{RowReader, after, limit, micros, stored};
use crate::store::SqliteJobStore;
use crate::tokens::Tokens;

/// A notification that can be claimed at `?1`: pending, due, and held by no lease that
/// is still alive.
macro_rules! claimable {
    () => {
        " state = 0 AND next_attempt_at <= ?1 \
          AND (lease_token IS NULL OR lease_expires_at < ?1)"
    };
}

/// Whether a notification can be claimed at `?1`: read before the write lock is taken
/// (every node looks every poll interval).
const ANY_CLAIMABLE: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM bgtasks_notifications INDEXED BY bgtasks_notifications_claim \
     WHERE",
    claimable!(),
    ")"
);

/// The notifications that can be claimed at `?1`, oldest first, at most `?2`.
const CLAIMABLE: &str = concat!(
    "SELECT rowid AS row_id, ",
    notification_columns!(),
    " FROM bgtasks_notifications WHERE",
    claimable!(),
    " ORDER BY created_at, id LIMIT ?2"
);

/// Leases the notifications of `?1`, a JSON array of `[rowid, token, attempts]`, to node
/// `?2` until `?3`, counting the attempt.
const LEASE: &str = "UPDATE bgtasks_notifications SET lease_node = ?2, lease_token = v.token, \
     lease_expires_at = ?3, attempts = v.attempts \
     FROM (SELECT value ->> 0 AS row_id, value ->> 1 AS token, value ->> 2 AS attempts \
           FROM jsonb_each(?1)) AS v \
     WHERE bgtasks_notifications.rowid = v.row_id";

/// Sets aside notification row `?1`, which does not decode: failed for good at `?2`,
/// with the reason `?3`.
const SET_ASIDE: &str = "UPDATE bgtasks_notifications SET state = 2, finished_at = ?2, \
     last_error = ?3, lease_node = NULL, lease_token = NULL, lease_expires_at = NULL \
     WHERE rowid = ?1";

/// Records the delivery of notification `?1` under lease `?2`: state `?3`, finished at
/// `?4`, the error `?5` (kept when NULL), next attempt at `?6` (kept when NULL); the
/// lease ends.
const RECORD: &str = "UPDATE bgtasks_notifications SET state = ?3, finished_at = ?4, \
     last_error = COALESCE(?5, last_error), next_attempt_at = COALESCE(?6, next_attempt_at), \
     lease_node = NULL, lease_token = NULL, lease_expires_at = NULL \
     WHERE id = ?1 AND lease_token = ?2 AND state = 0";

/// Removes up to `?2` notifications that finished (delivered or failed) before `?1`.
const PRUNE: &str = "DELETE FROM bgtasks_notifications WHERE rowid IN (\
       SELECT rowid FROM bgtasks_notifications INDEXED BY bgtasks_notifications_finished \
       WHERE state <> 0 AND finished_at < ?1 ORDER BY finished_at LIMIT ?2)";

const CLAIM: &str = "claim notifications";

impl NotificationOutbox for SqliteJobStore {
    /// One write transaction (taken only when a notification is claimable, by a read
    /// first). A row that does not decode is set aside — failed for good, the reason as
    /// its last error — and counts against `limit` this time.
    async fn claim_notifications(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit_to: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed(CLAIM);
        if limit_to == 0 {
            return Ok(Vec::new());
        }
        let any: bool = sqlx::query_scalar(ANY_CLAIMABLE)
            .bind(micros(now))
            .fetch_one(&inner.pool)
            .await
            .map_err(&failed)?;
        if !any {
            return Ok(Vec::new());
        }
        let until = stored(after(now, lease));
        let (_turn, mut tx) = inner.begin_write(CLAIM).await?;
        let rows = sqlx::query(CLAIMABLE)
            .bind(micros(now))
            .bind(limit(limit_to))
            .fetch_all(&mut *tx)
            .await
            .map_err(&failed)?;
        let mut tokens = Tokens::default();
        let mut claimed = Vec::with_capacity(rows.len());
        let mut leases = Vec::with_capacity(rows.len());
        for row in &rows {
            let row_id = RowReader::new(row, &inner.db, "job_id").int("row_id")?;
            let mut notification = match decode(row, &inner.db) {
                Ok(notification) => notification,
                Err(error) => {
                    tracing::error!(db = %inner.db, %error,
                        "a due notification does not decode; it is set aside (failed, the reason as its last error)");
                    sqlx::query(SET_ASIDE)
                        .bind(row_id)
                        .bind(micros(now))
                        .bind(format!("set aside: {error}"))
                        .execute(&mut *tx)
                        .await
                        .map_err(&failed)?;
                    continue;
                }
            };
            tokens.load(&mut tx, inner, CLAIM).await?;
            let token = tokens.next(
                inner,
                &format!(
                    "notification `{}` of job `{}`",
                    notification.id, notification.job_id
                ),
            )?;
            notification.attempts = notification.attempts.saturating_add(1);
            notification.leased_to = Some((node.to_owned(), until));
            leases.push(json!([row_id, token, notification.attempts]));
            claimed.push(ClaimedNotification {
                notification,
                token,
            });
        }
        if !leases.is_empty() {
            sqlx::query(LEASE)
                .bind(serde_json::Value::Array(leases).to_string())
                .bind(node.to_owned())
                .bind(micros(until))
                .execute(&mut *tx)
                .await
                .map_err(&failed)?;
        }
        tokens.save(&mut tx, inner, CLAIM).await?;
        tx.commit().await.map_err(&failed)?;
        Ok(claimed)
    }

    /// One statement, fenced by the token.
    async fn record_delivery(
        &self,
        id: &str,
        token: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let (state, finished, error, next) = match outcome {
            DeliveryOutcome::Delivered => (NotificationState::Delivered, Some(now), None, None),
            DeliveryOutcome::RetryAt { at, error } => {
                (NotificationState::Pending, None, Some(error), Some(*at))
            }
            DeliveryOutcome::Failed { reason } => {
                (NotificationState::Failed, Some(now), Some(reason), None)
            }
        };
        let operation = format!("record the delivery of notification `{id}`");
        let _turn = inner.write_gate(&operation).await?;
        let done = sqlx::query(RECORD)
            .bind(id.to_owned())
            .bind(token)
            .bind(i64::from(state.code()))
            .bind(finished.map(micros))
            .bind(error.cloned())
            .bind(next.map(micros))
            .execute(&inner.pool)
            .await
            .map_err(inner.failed(&operation))?;
        Ok(done.rows_affected() > 0)
    }

    /// Newest first (ties by id, descending); the page and the total are read in one
    /// read transaction.
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<NotificationPage, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed("list notifications");
        let mut tx = inner.pool.begin().await.map_err(&failed)?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM bgtasks_notifications");
        push_filters(&mut count, query);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(&failed)?;
        let mut items = Vec::new();
        if query.page_size() > 0 {
            let mut select = QueryBuilder::<Sqlite>::new(concat!(
                "SELECT ",
                notification_columns!(),
                " FROM bgtasks_notifications"
            ));
            push_filters(&mut select, query);
            select
                .push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(limit(query.page_size()))
                .push(" OFFSET ")
                .push_bind(limit(query.offset));
            let rows = select.build().fetch_all(&mut *tx).await.map_err(&failed)?;
            items = rows
                .iter()
                .map(|row| decode(row, &inner.db))
                .collect::<Result<_, _>>()?;
        }
        tx.commit().await.map_err(&failed)?;
        Ok(NotificationPage {
            items,
            total: total.unsigned_abs(),
        })
    }

    /// One statement; pending notifications are never removed.
    async fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        if max == 0 {
            return Ok(0);
        }
        let inner = &self.inner;
        let operation = "prune notifications";
        let _turn = inner.write_gate(operation).await?;
        let done = sqlx::query(PRUNE)
            .bind(micros(before))
            .bind(limit(max))
            .execute(&inner.pool)
            .await
            .map_err(inner.failed(operation))?;
        Ok(done.rows_affected())
    }
}

/// Appends ` WHERE …` with the query's filters.
fn push_filters(sql: &mut QueryBuilder<Sqlite>, query: &NotificationQuery) {
    let mut joiner = " WHERE ";
    if let Some(job_id) = &query.job_id {
        sql.push(joiner).push("job_id = ").push_bind(job_id.clone());
        joiner = " AND ";
    }
    if let Some(state) = query.state {
        sql.push(joiner)
            .push("state = ")
            .push_bind(i64::from(state.code()));
    }
}
