//! The outbox: notifications a run's outcome called for, stored with that outcome and
//! delivered at least once by any node (R51).

use std::time::Duration;

use bgtasks_abstractions::BoxFuture;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::query::MAX_PAGE_SIZE;

/// Which hook of its notifier a notification calls (R32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationKind {
    /// The run failed: `notify_error`.
    Failure,
    /// The run succeeded: `notify_success`.
    Success,
    /// The run succeeded: `notify_complete`.
    Completion,
}

impl NotificationKind {
    /// The kind's code as stored: 1, 2, 3.
    pub fn code(self) -> i32 {
        match self {
            NotificationKind::Failure => 1,
            NotificationKind::Success => 2,
            NotificationKind::Completion => 3,
        }
    }

    /// The kind of a stored code.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            1 => Some(NotificationKind::Failure),
            2 => Some(NotificationKind::Success),
            3 => Some(NotificationKind::Completion),
            _ => None,
        }
    }
}

/// A notification a completion calls for ([`RunCompletion::notifications`]).
///
/// [`RunCompletion::notifications`]: crate::RunCompletion::notifications
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewNotification {
    /// Its stable identity, the same for every attempt to deliver it (the e-mail's
    /// Message-ID): a notification already stored under it is not stored again.
    pub id: String,
    /// The job it is about.
    pub job_id: String,
    /// The action it carries out (its name).
    pub action: String,
    /// Which hook it calls.
    pub kind: NotificationKind,
    /// What the notifier needs, as JSON.
    pub payload: serde_json::Value,
    /// When it was decided (the completion's time); the first attempt may follow at once.
    pub created_at: DateTime<Utc>,
    /// Throttling kept in the store: not stored when a notification of the same job and
    /// action was created less than this long before `created_at`.
    pub min_interval: Option<Duration>,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationState {
    /// Waiting for a delivery (again).
    Pending,
    /// Delivered.
    Delivered,
    /// Failed for good (a permanent failure, the reason recorded).
    Failed,
}

impl NotificationState {
    /// The state's code as stored: 0 pending, 1 delivered, 2 failed.
    pub fn code(self) -> i32 {
        match self {
            NotificationState::Pending => 0,
            NotificationState::Delivered => 1,
            NotificationState::Failed => 2,
        }
    }

    /// The state of a stored code.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(NotificationState::Pending),
            1 => Some(NotificationState::Delivered),
            2 => Some(NotificationState::Failed),
            _ => None,
        }
    }
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRecord {
    /// Its identity.
    pub id: String,
    /// The job it is about.
    pub job_id: String,
    /// The action it carries out.
    pub action: String,
    /// Which hook it calls.
    pub kind: NotificationKind,
    /// What the notifier needs.
    pub payload: serde_json::Value,
    /// When it was decided.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: NotificationState,
    /// How many deliveries were tried.
    pub attempts: i32,
    /// When the next delivery may be tried (pending ones).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered, or failed for good.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last delivery's error, or the reason it failed for good.
    pub last_error: Option<String>,
    /// The node delivering it now, and until when its lease lasts.
    pub leased_to: Option<(String, DateTime<Utc>)>,
}

/// A notification a node claimed for delivery, with the token that fences its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedNotification {
    /// The notification (its `attempts` counts this one).
    pub notification: NotificationRecord,
    /// The lease token (from the store-wide sequence).
    pub token: i64,
}

/// How one delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Delivered.
    Delivered,
    /// A transient failure (a server down, an SMTP 4xx): try again at `at`.
    RetryAt {
        /// When to try again.
        at: DateTime<Utc>,
        /// What went wrong.
        error: String,
    },
    /// A permanent failure (an SMTP 5xx, a bad address): never tried again.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Which notifications to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationQuery {
    /// Of this job only.
    pub job_id: Option<String>,
    /// In this state only.
    pub state: Option<NotificationState>,
    /// How many matching ones to skip.
    pub offset: usize,
    /// How many to return (cut to [`MAX_PAGE_SIZE`]).
    pub limit: usize,
}

impl NotificationQuery {
    /// The page size the store uses.
    pub fn page_size(&self) -> usize {
        self.limit.min(MAX_PAGE_SIZE)
    }
}

/// One page of notifications, newest first, and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationPage {
    /// The notifications of the page.
    pub items: Vec<NotificationRecord>,
    /// How many match.
    pub total: u64,
}

/// The outbox. Notifications enter it with the outcome that called for them
/// ([`JobRuns::complete`](crate::JobRuns::complete)); any node claims and delivers
/// them, each delivery's outcome fenced by its token. Implement it with plain
/// `async fn`s; the runtime calls it through [`DynNotificationOutbox`].
pub trait NotificationOutbox: Send + Sync {
    /// Claims up to `limit` pending notifications whose next attempt is due at `now` and
    /// that no live lease holds (a lease that expired is taken over), oldest first;
    /// leases each to `node` for `lease` with a fresh token and counts the attempt.
    fn claim_notifications(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<ClaimedNotification>, StoreError>> + Send;

    /// Records how the delivery holding `token` went, if its lease is still that one
    /// (`false` otherwise: another node took the notification over, and nothing is
    /// written): delivered, tried again at a time, or failed for good.
    fn record_delivery(
        &self,
        id: &str,
        token: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The notifications the query selects, newest first, one page of them.
    fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> impl Future<Output = Result<NotificationPage, StoreError>> + Send;

    /// Retention: removes delivered and failed notifications that finished before
    /// `before`, at most `max`; returns how many went.
    fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The object-safe form of [`NotificationOutbox`], with the same methods returning boxed
/// futures; a [`JobStore`](crate::JobStore) is one. Every `NotificationOutbox` is one:
/// implement `NotificationOutbox`, not this.
pub trait DynNotificationOutbox: Send + Sync {
    /// See [`NotificationOutbox::claim_notifications`].
    fn claim_notifications<'a>(
        &'a self,
        node: &'a str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<ClaimedNotification>, StoreError>>;
    /// See [`NotificationOutbox::record_delivery`].
    fn record_delivery<'a>(
        &'a self,
        id: &'a str,
        token: i64,
        outcome: &'a DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// See [`NotificationOutbox::list_notifications`].
    fn list_notifications<'a>(
        &'a self,
        query: &'a NotificationQuery,
    ) -> BoxFuture<'a, Result<NotificationPage, StoreError>>;
    /// See [`NotificationOutbox::prune_notifications`].
    fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'_, Result<u64, StoreError>>;
}

impl<T: NotificationOutbox> DynNotificationOutbox for T {
    fn claim_notifications<'a>(
        &'a self,
        node: &'a str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<ClaimedNotification>, StoreError>> {
        Box::pin(NotificationOutbox::claim_notifications(
            self, node, now, limit, lease,
        ))
    }

    fn record_delivery<'a>(
        &'a self,
        id: &'a str,
        token: i64,
        outcome: &'a DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(NotificationOutbox::record_delivery(
            self, id, token, outcome, now,
        ))
    }

    fn list_notifications<'a>(
        &'a self,
        query: &'a NotificationQuery,
    ) -> BoxFuture<'a, Result<NotificationPage, StoreError>> {
        Box::pin(NotificationOutbox::list_notifications(self, query))
    }

    fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(NotificationOutbox::prune_notifications(self, before, max))
    }
}
