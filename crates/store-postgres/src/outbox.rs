//! The outbox (R51) on PostgreSQL, table `bgtasks_notifications`: claims of pending,
//! due notifications under leases (tokens from the store-wide sequence, `FOR UPDATE SKIP
//! LOCKED`), deliveries recorded only under the lease that holds them
//! ([`rules::apply_delivery`]), listing, and pruning of finished ones. Notifications are
//! stored with the outcome that calls for them (see [`notifications`]).
//!
//! [`rules::apply_delivery`]: bgtasks_store::rules::apply_delivery
//! [`notifications`]: crate::notifications

use std::time::Duration;

use bgtasks_store::{
    ClaimedNotification, DeliveryOutcome, NotificationKind, NotificationPage, NotificationQuery,
    NotificationRecord, NotificationState, StoreError,
};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::claims::lease_micros;
use crate::log_rows::run_text;
use crate::rows::{code, limit};
use crate::store::PostgresJobStore;

/// The columns of a notification.
macro_rules! notification_columns {
    () => {
        "id, job_id, action, kind, payload, created_at, state, attempts, next_attempt_at, \
         finished_at, last_error, lease_node, lease_token, lease_expires_at"
    };
}

/// Leases up to `$3` pending notifications due by the caller's (`$2`) or the database's
/// now, held by no lease or by one that expired, oldest first, to node `$1` for `$4`
/// microseconds, each with a fresh token, counting the attempt. Rows other claimers hold
/// are skipped; rows of an unknown kind are left alone.
const CLAIM: &str = concat!(
    "WITH chosen AS ( \
       SELECT id AS chosen_id FROM bgtasks_notifications \
       WHERE state = 0 AND kind IN (1, 2, 3) \
         AND next_attempt_at <= COALESCE($2::timestamptz, now()) \
         AND (lease_expires_at IS NULL \
              OR lease_expires_at < COALESCE($2::timestamptz, now())) \
       ORDER BY created_at, id COLLATE \"C\" \
       LIMIT $3 \
       FOR UPDATE SKIP LOCKED) \
     UPDATE bgtasks_notifications AS n SET \
       attempts = LEAST(n.attempts, 2147483646) + 1, \
       lease_node = $1, lease_token = nextval('bgtasks_lease_tokens'), \
       lease_expires_at = COALESCE($2::timestamptz, now()) + $4::int8 * interval '1 microsecond' \
     FROM chosen WHERE n.id = chosen.chosen_id \
     RETURNING ",
    "n.id, n.job_id, n.action, n.kind, n.payload, n.created_at, n.state, n.attempts, \
     n.next_attempt_at, n.finished_at, n.last_error, n.lease_node, n.lease_token, \
     n.lease_expires_at"
);

/// Records a delivery's outcome (`$3` the state, `$4` the next attempt of a retry, `$5`
/// the caller's now or NULL for the database's, `$6` the error) if `$1` is held by the
/// lease of token `$2`; the lease ends.
const RECORD: &str = "UPDATE bgtasks_notifications SET state = $3, \
       next_attempt_at = COALESCE($4::timestamptz, next_attempt_at), \
       finished_at = CASE WHEN $3 = 0 THEN finished_at \
         ELSE COALESCE($5::timestamptz, now()) END, \
       last_error = COALESCE($6, last_error), \
       lease_node = NULL, lease_token = NULL, lease_expires_at = NULL \
     WHERE id = $1 AND lease_token = $2 AND lease_node IS NOT NULL";

/// Removes up to `$2` delivered or failed notifications that finished before `$1`.
const PRUNE: &str = "DELETE FROM bgtasks_notifications WHERE id IN ( \
       SELECT id FROM bgtasks_notifications WHERE state <> 0 AND finished_at < $1 \
       ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// A notification row that does not decode.
fn corrupt(job_id: &str, id: &str, column: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        job: job_id.to_owned(),
        message: format!("notification `{id}`, column `{column}`: {reason}"),
    }
}

/// Decodes a notification from a row holding the notification columns.
fn notification_from_row(row: &PgRow) -> Result<NotificationRecord, StoreError> {
    let id: String = row
        .try_get("id")
        .map_err(|e| corrupt("<unknown>", "<unknown>", "id", e))?;
    let job_id: String = row
        .try_get("job_id")
        .map_err(|e| corrupt("<unknown>", &id, "job_id", e))?;
    let get = |column: &'static str| {
        let (job_id, id) = (job_id.clone(), id.clone());
        move |e: sqlx::Error| corrupt(&job_id, &id, column, e)
    };
    let kind: i16 = row.try_get("kind").map_err(get("kind"))?;
    let kind = NotificationKind::from_code(i32::from(kind))
        .ok_or_else(|| corrupt(&job_id, &id, "kind", format!("unknown kind code {kind}")))?;
    let state: i16 = row.try_get("state").map_err(get("state"))?;
    let state = NotificationState::from_code(i32::from(state))
        .ok_or_else(|| corrupt(&job_id, &id, "state", format!("unknown state code {state}")))?;
    let Json(payload): Json<serde_json::Value> = row.try_get("payload").map_err(get("payload"))?;
    let lease_node: Option<String> = row.try_get("lease_node").map_err(get("lease_node"))?;
    let lease_until: Option<DateTime<Utc>> = row
        .try_get("lease_expires_at")
        .map_err(get("lease_expires_at"))?;
    let leased_to = match (lease_node, lease_until) {
        (Some(node), Some(until)) => Some((node, until)),
        (None, _) => None,
        (Some(_), None) => {
            return Err(corrupt(
                &job_id,
                &id,
                "lease_expires_at",
                "a held lease has no expiry",
            ));
        }
    };
    Ok(NotificationRecord {
        action: row.try_get("action").map_err(get("action"))?,
        kind,
        payload,
        created_at: row.try_get("created_at").map_err(get("created_at"))?,
        state,
        attempts: row.try_get("attempts").map_err(get("attempts"))?,
        next_attempt_at: row
            .try_get("next_attempt_at")
            .map_err(get("next_attempt_at"))?,
        finished_at: row.try_get("finished_at").map_err(get("finished_at"))?,
        last_error: row.try_get("last_error").map_err(get("last_error"))?,
        leased_to,
        job_id,
        id,
    })
}

/// Appends the query's filters, as ` AND …` conditions after a `WHERE TRUE`.
fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &NotificationQuery) {
    if let Some(job_id) = &query.job_id {
        sql.push(" AND job_id = ");
        sql.push_bind(job_id.clone());
    }
    if let Some(state) = query.state {
        sql.push(" AND state = ");
        sql.push_bind(code(state.code()));
    }
}

impl PostgresJobStore {
    pub(crate) async fn claim_outbox(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let fail = self.fail("claim notifications");
        let rows = sqlx::query(CLAIM)
            .bind(node)
            .bind(self.caller_now(now))
            .bind(limit(max))
            .bind(lease_micros(lease))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(&fail)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let token: i64 = row.try_get("lease_token").map_err(&fail)?;
            claimed.push(ClaimedNotification {
                notification: notification_from_row(row)?,
                token,
            });
        }
        claimed.sort_by(|a, b| {
            let (a, b) = (&a.notification, &b.notification);
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(claimed)
    }

    pub(crate) async fn record_outcome(
        &self,
        id: &str,
        token: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (state, retry_at, error) = match outcome {
            DeliveryOutcome::Delivered => (NotificationState::Delivered, None, None),
            DeliveryOutcome::RetryAt { at, error } => {
                (NotificationState::Pending, Some(*at), Some(error.as_str()))
            }
            DeliveryOutcome::Failed { reason } => {
                (NotificationState::Failed, None, Some(reason.as_str()))
            }
        };
        let done = sqlx::query(RECORD)
            .bind(id)
            .bind(token)
            .bind(code(state.code()))
            .bind(retry_at)
            .bind(self.caller_now(now))
            .bind(error.map(run_text))
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("record a notification's delivery"))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn notification_page(
        &self,
        query: &NotificationQuery,
    ) -> Result<NotificationPage, StoreError> {
        let fail = self.fail("list notifications");
        let page_size = query.page_size();
        let mut items = Vec::new();
        let mut total = None;
        if page_size > 0 {
            let mut sql = QueryBuilder::<Postgres>::new(concat!(
                "SELECT ",
                notification_columns!(),
                ", count(*) OVER () AS total FROM bgtasks_notifications WHERE TRUE"
            ));
            push_filters(&mut sql, query);
            sql.push(" ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT ");
            sql.push_bind(limit(page_size));
            sql.push(" OFFSET ");
            sql.push_bind(limit(query.offset));
            let rows = sql
                .build()
                .fetch_all(&self.inner.pool)
                .await
                .map_err(&fail)?;
            if let Some(first) = rows.first() {
                total = Some(first.try_get::<i64, _>("total").map_err(&fail)?);
            } else if query.offset == 0 {
                total = Some(0);
            }
            items = rows
                .iter()
                .map(notification_from_row)
                .collect::<Result<_, _>>()?;
        }
        let total = match total {
            Some(total) => total,
            // No row to read the total from (a count only, or a page past the end).
            None => {
                let mut sql = QueryBuilder::<Postgres>::new(
                    "SELECT count(*) FROM bgtasks_notifications WHERE TRUE",
                );
                push_filters(&mut sql, query);
                sql.build_query_scalar::<i64>()
                    .fetch_one(&self.inner.pool)
                    .await
                    .map_err(&fail)?
            }
        };
        Ok(NotificationPage {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    pub(crate) async fn prune_outbox(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        if max == 0 {
            return Ok(0);
        }
        let done = sqlx::query(PRUNE)
            .bind(before)
            .bind(limit(max))
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("prune notifications"))?;
        Ok(done.rows_affected())
    }
}
