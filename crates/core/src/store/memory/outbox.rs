//! The outbox in memory (R51): notifications stored with the outcome that called for
//! them, claimed and delivered under leases.

use std::collections::HashMap;
use std::time::Duration;

use bgtasks_store::{
    ClaimedNotification, DeliveryOutcome, NewNotification, NotificationOutbox, NotificationPage,
    NotificationQuery, NotificationRecord, NotificationState, StoreError, rules,
};
use chrono::{DateTime, Utc};

use super::InMemoryJobStore;

/// The stored notifications, with the token of each one's lease.
#[derive(Default)]
pub(super) struct Outbox {
    notifications: Vec<(NotificationRecord, i64)>,
    by_id: HashMap<String, usize>,
}

impl Outbox {
    /// Stores the notifications a saved outcome calls for, each unless its identity is
    /// stored or its throttle holds it back.
    pub(super) fn store_all(&mut self, new: &[NewNotification]) {
        for notification in new {
            let related = self
                .notifications
                .iter()
                .map(|(record, _)| record)
                .filter(|record| {
                    record.job_id == notification.job_id || record.id == notification.id
                });
            if rules::should_store(notification, related) {
                self.by_id
                    .insert(notification.id.clone(), self.notifications.len());
                self.notifications.push((rules::stored(notification), 0));
            }
        }
    }

    fn reindex(&mut self) {
        self.by_id = self
            .notifications
            .iter()
            .enumerate()
            .map(|(i, (record, _))| (record.id.clone(), i))
            .collect();
    }
}

impl NotificationOutbox for InMemoryJobStore {
    async fn claim_notifications(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let until = crate::clock::saturating_add(now, lease);
        let mut state = self.lock();
        let mut due: Vec<usize> = state
            .outbox
            .notifications
            .iter()
            .enumerate()
            .filter(|(_, (record, _))| rules::is_claimable_notification(record, now))
            .map(|(i, _)| i)
            .collect();
        due.sort_by(|&a, &b| {
            let (a, b) = (
                &state.outbox.notifications[a].0,
                &state.outbox.notifications[b].0,
            );
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        due.truncate(limit);
        let mut claimed = Vec::with_capacity(due.len());
        for i in due {
            state.last_token += 1;
            let token = state.last_token;
            let (record, held) = &mut state.outbox.notifications[i];
            record.attempts = record.attempts.saturating_add(1);
            record.leased_to = Some((node.to_owned(), until));
            *held = token;
            claimed.push(ClaimedNotification {
                notification: record.clone(),
                token,
            });
        }
        Ok(claimed)
    }

    async fn record_delivery(
        &self,
        id: &str,
        token: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(&i) = state.outbox.by_id.get(id) else {
            return Ok(false);
        };
        let (record, held) = &mut state.outbox.notifications[i];
        if *held != token || record.leased_to.is_none() {
            return Ok(false);
        }
        rules::apply_delivery(record, outcome, now);
        Ok(true)
    }

    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<NotificationPage, StoreError> {
        let state = self.lock();
        let mut matching: Vec<&NotificationRecord> = state
            .outbox
            .notifications
            .iter()
            .map(|(record, _)| record)
            .filter(|r| query.job_id.as_deref().is_none_or(|id| r.job_id == id))
            .filter(|r| query.state.is_none_or(|s| r.state == s))
            .collect();
        matching.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(NotificationPage {
            total: matching.len() as u64,
            items: matching
                .into_iter()
                .skip(query.offset)
                .take(query.page_size())
                .cloned()
                .collect(),
        })
    }

    async fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut left = max;
        let before_len = state.outbox.notifications.len();
        state.outbox.notifications.retain(|(record, _)| {
            let old = record.state != NotificationState::Pending
                && record.finished_at.is_some_and(|at| at < before);
            if old && left > 0 {
                left -= 1;
                false
            } else {
                true
            }
        });
        let removed = before_len - state.outbox.notifications.len();
        if removed > 0 {
            state.outbox.reindex();
        }
        Ok(removed as u64)
    }
}
