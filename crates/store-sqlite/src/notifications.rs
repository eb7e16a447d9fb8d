//! Rows of the outbox `bgtasks_notifications` ↔ [`NotificationRecord`], and storing the
//! notifications a saved completion calls for (R51): each unless one with its identity
//! is stored, or one of the same job and action was created less than its minimum
//! interval before it (the throttle lives in the store, so it holds across nodes and
//! restarts). `rules::should_store`, in SQL.

use bgtasks_store::{
    NewNotification, NotificationKind, NotificationRecord, NotificationState, StoreError,
};
use sqlx::sqlite::SqliteRow;

use crate::errors::other;
use crate::rows::{RowReader, micros};
use crate::store::{Inner, WriteTx};

/// The columns of a notification, as [`decode`] reads them.
macro_rules! notification_columns {
    () => {
        "id, job_id, action, kind, payload, created_at, state, attempts, next_attempt_at, \
         finished_at, last_error, lease_node, lease_token, lease_expires_at"
    };
}
pub(crate) use notification_columns;

/// Stores notification `?1` of job `?2` and action `?3` (kind `?4`, payload `?5`,
/// created at `?6`), pending and due at its creation — unless one with its id is stored,
/// or (when `?7` is given) one of the same job and action was created after `?7` and
/// before it. Notifications created at the same instant (those of one completion) never
/// throttle each other.
const STORE: &str = "INSERT INTO bgtasks_notifications \
     (id, job_id, action, kind, payload, created_at, state, attempts, next_attempt_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?6 \
     WHERE NOT EXISTS (SELECT 1 FROM bgtasks_notifications WHERE id = ?1) \
       AND (?7 IS NULL OR NOT EXISTS (SELECT 1 FROM bgtasks_notifications \
            WHERE job_id = ?2 AND action = ?3 AND created_at < ?6 AND created_at > ?7))";

/// Stores `new` inside the completion's transaction, unless it is a repeat or throttled
/// (`rules::should_store`). Returns whether it was stored.
pub(crate) async fn store(
    tx: &mut WriteTx,
    inner: &Inner,
    new: &NewNotification,
) -> Result<bool, StoreError> {
    let payload = serde_json::to_string(&new.payload).map_err(|error| {
        other(format!(
            "the payload of notification `{}` of job `{}` does not serialize: {error}",
            new.id, new.job_id
        ))
    })?;
    let created = micros(new.created_at);
    // The rule throttles when `created - old < interval`, i.e. `old > created - interval`.
    // An interval chrono cannot hold throttles nothing, as in the rule.
    let throttled_after = new
        .min_interval
        .and_then(|interval| chrono::Duration::from_std(interval).ok())
        .map(|interval| created.saturating_sub(interval.num_microseconds().unwrap_or(i64::MAX)));
    let operation = format!("store notification `{}` of job `{}`", new.id, new.job_id);
    let done = sqlx::query(STORE)
        .bind(new.id.clone())
        .bind(new.job_id.clone())
        .bind(new.action.clone())
        .bind(i64::from(new.kind.code()))
        .bind(payload)
        .bind(created)
        .bind(throttled_after)
        .execute(&mut **tx)
        .await
        .map_err(inner.failed(&operation))?;
    Ok(done.rows_affected() > 0)
}

/// The notification of a row read with [`notification_columns`]; errors name the job,
/// the notification and the column.
pub(crate) fn decode(row: &SqliteRow, db: &str) -> Result<NotificationRecord, StoreError> {
    let reader = RowReader::new(row, db, "job_id");
    let id = reader.text("id")?;
    fields(&reader, &id).map_err(|error| match error {
        StoreError::Corrupt { job, message } => StoreError::Corrupt {
            job,
            message: format!("notification `{id}`: {message}"),
        },
        error => error,
    })
}

fn fields(reader: &RowReader<'_>, id: &str) -> Result<NotificationRecord, StoreError> {
    let payload_text = reader.text("payload")?;
    let payload = serde_json::from_str(&payload_text).map_err(|e| reader.error("payload", e))?;
    let leased_to = match reader.opt_int("lease_token")? {
        None => None,
        Some(_) => Some((reader.text("lease_node")?, reader.time("lease_expires_at")?)),
    };
    Ok(NotificationRecord {
        id: id.to_owned(),
        job_id: reader.text("job_id")?,
        action: reader.text("action")?,
        kind: reader.code("kind", NotificationKind::from_code)?,
        payload,
        created_at: reader.time("created_at")?,
        state: reader.code("state", NotificationState::from_code)?,
        attempts: reader.i32("attempts")?,
        next_attempt_at: reader.time("next_attempt_at")?,
        finished_at: reader.opt_time("finished_at")?,
        last_error: reader.opt_text("last_error")?,
        leased_to,
    })
}
