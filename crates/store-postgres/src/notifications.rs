//! Storing the notifications a saved outcome calls for (R51), in the transaction that
//! saves it: each is stored unless a notification with its id exists, or (with a minimum
//! interval) one of the same job and action was created less than that interval before
//! it — the rule of [`rules::should_store`], applied in order, so that a notification
//! stored earlier in the same batch throttles a later one as a stored one would.
//!
//! Two statements: one reads which notifications the stored ones already rule out, the
//! other inserts those the rule keeps (`ON CONFLICT (id) DO NOTHING`, for a concurrent
//! insert of the same id). Saved completions of one job never run concurrently (each
//! holds the job's only lease), so the throttle needs no lock of its own.

use std::borrow::Cow;
use std::collections::HashSet;

use bgtasks_store::{NewNotification, rules};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::log_rows::run_text;
use crate::rows::{code, min_time};

/// The positions (1-based) of the notifications the stored ones rule out: one with the
/// same id, or one of the same job and action created in `(floor, created_at]` (`floor`
/// is `created_at` minus the minimum interval; NULL for none).
const RULED_OUT: &str = "SELECT n.ord FROM unnest($1::text[], $2::text[], $3::text[], \
       $4::timestamptz[], $5::timestamptz[]) WITH ORDINALITY \
       AS n(id, job_id, action, created_at, floor, ord) \
     WHERE EXISTS (SELECT 1 FROM bgtasks_notifications AS o WHERE o.id = n.id) \
        OR (n.floor IS NOT NULL AND EXISTS (SELECT 1 FROM bgtasks_notifications AS o \
              WHERE o.job_id = n.job_id AND o.action = n.action \
                AND o.created_at <= n.created_at AND o.created_at > n.floor))";

/// Inserts notifications as pending, due at their creation, never tried.
const INSERT: &str = "INSERT INTO bgtasks_notifications \
       (id, job_id, action, kind, payload, created_at, state, attempts, next_attempt_at) \
     SELECT id, job_id, action, kind, payload, created_at, 0, 0, created_at \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int2[], $5::jsonb[], \
       $6::timestamptz[]) AS n(id, job_id, action, kind, payload, created_at) \
     ON CONFLICT (id) DO NOTHING";

/// The earliest creation time a notification of the same job and action must have to
/// throttle `new` (exclusive), or `None` when it has no minimum interval (an interval too
/// long to measure throttles nothing, as in the rule).
fn throttle_floor(new: &NewNotification) -> Option<DateTime<Utc>> {
    let interval = chrono::Duration::from_std(new.min_interval?).ok()?;
    Some(
        new.created_at
            .checked_sub_signed(interval)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
            .max(min_time()),
    )
}

/// Stores what `notes` the rule keeps, on `conn` (in the caller's transaction).
pub(crate) async fn store_new(
    conn: &mut PgConnection,
    notes: &[&NewNotification],
) -> Result<(), sqlx::Error> {
    if notes.is_empty() {
        return Ok(());
    }
    let notes: Vec<Cow<'_, NewNotification>> = notes.iter().map(|n| storable(n)).collect();
    let ruled_out: HashSet<i64> = sqlx::query_scalar(RULED_OUT)
        .bind(notes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>())
        .bind(notes.iter().map(|n| n.job_id.as_str()).collect::<Vec<_>>())
        .bind(notes.iter().map(|n| n.action.as_str()).collect::<Vec<_>>())
        .bind(notes.iter().map(|n| n.created_at).collect::<Vec<_>>())
        .bind(notes.iter().map(|n| throttle_floor(n)).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let mut kept: Vec<&NewNotification> = Vec::with_capacity(notes.len());
    let mut kept_records = Vec::with_capacity(notes.len());
    for (position, note) in (1_i64..).zip(&notes) {
        if ruled_out.contains(&position) || !rules::should_store(note, kept_records.iter()) {
            continue;
        }
        kept_records.push(rules::stored(note));
        kept.push(note);
    }
    if kept.is_empty() {
        return Ok(());
    }
    sqlx::query(INSERT)
        .bind(kept.iter().map(|n| n.id.as_str()).collect::<Vec<_>>())
        .bind(kept.iter().map(|n| n.job_id.as_str()).collect::<Vec<_>>())
        .bind(kept.iter().map(|n| n.action.as_str()).collect::<Vec<_>>())
        .bind(kept.iter().map(|n| code(n.kind.code())).collect::<Vec<_>>())
        .bind(kept.iter().map(|n| Json(&n.payload)).collect::<Vec<_>>())
        .bind(kept.iter().map(|n| n.created_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A notification as it can be stored: NUL characters (which PostgreSQL text and JSONB
/// cannot hold) become U+FFFD in its texts and its payload, so that one run's output never
/// fails a batch.
fn storable(note: &NewNotification) -> Cow<'_, NewNotification> {
    let texts_clean = [&note.id, &note.job_id, &note.action]
        .iter()
        .all(|text| !text.contains('\0'));
    if texts_clean && !json_has_nul(&note.payload) {
        return Cow::Borrowed(note);
    }
    let mut clean = note.clone();
    for text in [&mut clean.id, &mut clean.job_id, &mut clean.action] {
        *text = run_text(text).into_owned();
    }
    clean_json(&mut clean.payload);
    Cow::Owned(clean)
}

/// Whether a JSON value holds a NUL character in a string or a key.
pub(crate) fn json_has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || json_has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Replaces NUL characters in a JSON value's strings and keys with U+FFFD.
pub(crate) fn clean_json(value: &mut Value) {
    match value {
        Value::String(text) => {
            if text.contains('\0') {
                *text = run_text(text).into_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut value) in entries {
                clean_json(&mut value);
                map.insert(run_text(&key).into_owned(), value);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bgtasks_store::NotificationKind;
    use serde_json::json;

    use super::*;

    fn note(min_interval: Option<Duration>) -> NewNotification {
        NewNotification {
            id: "n\0-1".into(),
            job_id: "j".into(),
            action: "mail".into(),
            kind: NotificationKind::Failure,
            payload: json!({"message": "bo\0om", "list": ["a\0"], "k\0": 1}),
            created_at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
            min_interval,
        }
    }

    #[test]
    fn nul_characters_are_replaced_everywhere() {
        let original = note(None);
        let clean = storable(&original);
        assert_eq!(clean.id, "n\u{FFFD}-1");
        assert!(!json_has_nul(&clean.payload));
        assert_eq!(clean.payload["message"], "bo\u{FFFD}om");
        assert_eq!(clean.payload["k\u{FFFD}"], 1);
        let mut plain = original.clone();
        plain.id = "n-1".into();
        plain.payload = json!({"message": "ok"});
        assert!(matches!(storable(&plain), Cow::Borrowed(_)));
    }

    #[test]
    fn throttle_floors_saturate() {
        // spec: R51
        let n = note(Some(Duration::from_secs(60)));
        assert_eq!(
            throttle_floor(&n),
            Some(n.created_at - chrono::Duration::seconds(60))
        );
        assert_eq!(throttle_floor(&note(None)), None);
        let far = note(Some(Duration::from_secs(u64::MAX)));
        assert_eq!(
            throttle_floor(&far),
            None,
            "too long to measure: as the rule"
        );
        let long = note(Some(Duration::from_secs(1_000_000 * 365 * 86_400)));
        assert_eq!(throttle_floor(&long), Some(min_time()));
    }
}
