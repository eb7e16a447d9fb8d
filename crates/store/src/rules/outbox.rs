//! The outbox's rules: which new notifications are stored, which stored ones can be
//! claimed, and what a delivery's outcome does (R51).

use chrono::{DateTime, Utc};

use crate::outbox::{DeliveryOutcome, NewNotification, NotificationRecord, NotificationState};

/// Whether `new` is stored beside `stored` (the notifications already in the store): not
/// when one has its identity, nor when one of the same job and action was created less
/// than its `min_interval` before it. Notifications created at the same instant (those
/// of one completion) never throttle each other.
pub fn should_store<'a>(
    new: &NewNotification,
    mut stored: impl Iterator<Item = &'a NotificationRecord>,
) -> bool {
    !stored.any(|old| {
        old.id == new.id
            || (old.job_id == new.job_id
                && old.action == new.action
                && new.min_interval.is_some_and(|interval| {
                    chrono::Duration::from_std(interval).is_ok_and(|interval| {
                        old.created_at < new.created_at
                            && new.created_at - old.created_at < interval
                    })
                }))
    })
}

/// The stored form of a new notification: pending, due at its creation, never tried.
pub fn stored(new: &NewNotification) -> NotificationRecord {
    NotificationRecord {
        id: new.id.clone(),
        job_id: new.job_id.clone(),
        action: new.action.clone(),
        kind: new.kind,
        payload: new.payload.clone(),
        created_at: new.created_at,
        state: NotificationState::Pending,
        attempts: 0,
        next_attempt_at: new.created_at,
        finished_at: None,
        last_error: None,
        leased_to: None,
    }
}

/// Whether a stored notification can be claimed at `now`: pending, due, and not held by
/// a lease that is still alive.
pub fn is_claimable_notification(record: &NotificationRecord, now: DateTime<Utc>) -> bool {
    record.state == NotificationState::Pending
        && record.next_attempt_at <= now
        && record
            .leased_to
            .as_ref()
            .is_none_or(|(_, until)| *until < now)
}

/// Applies a delivery's outcome to the notification (whose lease the caller checked):
/// delivered or failed for good (finished at `now`), or pending again at the retry time
/// with the error kept; the lease ends.
pub fn apply_delivery(
    record: &mut NotificationRecord,
    outcome: &DeliveryOutcome,
    now: DateTime<Utc>,
) {
    record.leased_to = None;
    match outcome {
        DeliveryOutcome::Delivered => {
            record.state = NotificationState::Delivered;
            record.finished_at = Some(now);
        }
        DeliveryOutcome::RetryAt { at, error } => {
            record.state = NotificationState::Pending;
            record.next_attempt_at = *at;
            record.last_error = Some(error.clone());
        }
        DeliveryOutcome::Failed { reason } => {
            record.state = NotificationState::Failed;
            record.finished_at = Some(now);
            record.last_error = Some(reason.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::outbox::NotificationKind;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn new(id: &str, created: i64, min_interval: Option<u64>) -> NewNotification {
        NewNotification {
            id: id.into(),
            job_id: "j".into(),
            action: "mail".into(),
            kind: NotificationKind::Failure,
            payload: serde_json::json!({}),
            created_at: at(created),
            min_interval: min_interval.map(Duration::from_secs),
        }
    }

    #[test]
    fn identities_and_intervals_decide_what_is_stored() {
        // spec: R51
        let first = stored(&new("a", 0, None));
        assert!(
            !should_store(&new("a", 5, None), [&first].into_iter()),
            "same identity"
        );
        assert!(should_store(&new("b", 5, None), [&first].into_iter()));
        assert!(
            !should_store(&new("b", 5, Some(60)), [&first].into_iter()),
            "too soon"
        );
        assert!(should_store(&new("b", 60, Some(60)), [&first].into_iter()));
    }

    #[test]
    fn claims_and_deliveries() {
        // spec: R51
        let mut record = stored(&new("a", 0, None));
        assert!(is_claimable_notification(&record, at(0)));
        record.leased_to = Some(("n".into(), at(30)));
        assert!(!is_claimable_notification(&record, at(10)), "held");
        assert!(
            is_claimable_notification(&record, at(31)),
            "its lease expired"
        );
        let retry = DeliveryOutcome::RetryAt {
            at: at(100),
            error: "421 try later".into(),
        };
        apply_delivery(&mut record, &retry, at(10));
        assert!(!is_claimable_notification(&record, at(99)));
        assert!(is_claimable_notification(&record, at(100)));
        apply_delivery(&mut record, &DeliveryOutcome::Delivered, at(101));
        assert_eq!(
            (record.state, record.finished_at),
            (NotificationState::Delivered, Some(at(101)))
        );
        assert!(!is_claimable_notification(&record, at(200)));
    }
}
