//! The delivery loop: claims pending notifications from the outbox under leases, hands
//! each to its notifier and records how it went (R51).

use crate::DynJobActionNotifier;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{Clock, SystemClock};
use bgtasks_core::store::{ClaimedNotification, DeliveryOutcome, JobStore, NotificationKind};
use bgtasks_core::{BackgroundService, ServiceContext};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use tracing::{debug, error, info, warn};

use crate::execute_context::JobActionExecuteContext;
use crate::isolate::{CallOutcome, isolated};
use crate::manager::JobActionDefinitionManager;
use crate::notification::Notification;
use crate::notifier::DeliveryError;
use crate::options::DeliveryOptions;

/// The name of the delivery loop in logs and health reports.
pub const DELIVERY_SERVICE: &str = "notification delivery";

/// Delivers the outbox's notifications: a [`BackgroundService`] that every node runs
/// (register it with
/// [`RuntimeBuilder::background_service`](bgtasks_core::RuntimeBuilder::background_service),
/// or through [`JobActionsExt::job_actions`](crate::JobActionsExt::job_actions)).
///
/// Each iteration claims up to a batch of due notifications, leased to this node, and
/// delivers them concurrently, each call bounded by the notifier timeout and isolated
/// from panics. A success is recorded as delivered; a transient failure (an error the
/// notifier calls transient, a timeout, a panic, an action this node does not know) is
/// tried again after a back-off that doubles from the first retry delay up to the
/// longest; a permanent failure, or the last allowed attempt, fails the notification for
/// good with its reason. Each record is fenced by the claim's token: a node whose lease
/// was taken over writes nothing.
pub struct NotificationDelivery {
    store: Arc<dyn JobStore>,
    definitions: Arc<JobActionDefinitionManager>,
    options: DeliveryOptions,
    clock: Arc<dyn Clock>,
}

impl NotificationDelivery {
    /// A delivery loop for the outbox of `store`, resolving actions in `definitions`.
    pub fn new(
        store: Arc<dyn JobStore>,
        definitions: Arc<JobActionDefinitionManager>,
        options: DeliveryOptions,
    ) -> Self {
        Self {
            store,
            definitions,
            options,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses this clock (the runtime's, so that tests can pause it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The options.
    pub fn options(&self) -> &DeliveryOptions {
        &self.options
    }

    /// Claims and delivers one batch at `now`; returns how many notifications it claimed.
    pub async fn deliver_due(&self, node: &str, now: DateTime<Utc>) -> Result<usize, String> {
        let claimed = self
            .store
            .claim_notifications(node, now, self.options.batch_size, self.options.lease)
            .await
            .map_err(|error| error.to_string())?;
        let count = claimed.len();
        join_all(claimed.into_iter().map(|claim| self.deliver(node, claim))).await;
        Ok(count)
    }

    async fn deliver(&self, node: &str, claim: ClaimedNotification) {
        let record = &claim.notification;
        let attempt = u32::try_from(record.attempts).unwrap_or(u32::MAX);
        let outcome = match Notification::from_record(record) {
            Ok(notification) => {
                let result = self.deliver_notification(node, &notification).await;
                self.outcome_of(&notification, attempt, result)
            }
            Err(error) => DeliveryOutcome::Failed {
                reason: format!("the notification's payload does not decode: {error}"),
            },
        };
        bgtasks_core::metrics::notification_delivered(record, &outcome);
        let now = self.store_now();
        let (id, job_id) = (record.id.as_str(), record.job_id.as_str());
        match &outcome {
            DeliveryOutcome::Delivered => info!(
                notification = id, job_id, action = %record.action, attempt,
                "delivered notification `{id}` of job `{job_id}`"
            ),
            DeliveryOutcome::RetryAt { at, error } => warn!(
                notification = id, job_id, action = %record.action, attempt, retry_at = %at, %error,
                "notification `{id}` of job `{job_id}` failed (attempt {attempt}); trying again at {at}: {error}"
            ),
            DeliveryOutcome::Failed { reason } => error!(
                notification = id, job_id, action = %record.action, attempt, %reason,
                "notification `{id}` of job `{job_id}` failed for good: {reason}"
            ),
        }
        match self
            .store
            .record_delivery(id, claim.token, &outcome, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => warn!(
                notification = id,
                job_id,
                "notification `{id}` was taken over by another node while this one delivered it; its outcome here is not recorded"
            ),
            Err(error) => warn!(
                notification = id, job_id, %error,
                "could not record how notification `{id}` went; its lease lapses and it is tried again"
            ),
        }
    }

    /// Hands one notification to its notifier now, bounded by the notifier timeout and
    /// isolated from panics, without the outbox: what a delivery attempt does, for a
    /// test alert or a tool. A panic or a timeout is a transient error.
    pub async fn deliver_notification(
        &self,
        node: &str,
        notification: &Notification,
    ) -> Result<(), DeliveryError> {
        match self.call(node, notification).await {
            CallOutcome::Done => Ok(()),
            CallOutcome::Failed(error) => Err(error),
            CallOutcome::Panicked(message) => Err(DeliveryError::transient(format!(
                "the notifier panicked: {message}"
            ))),
            CallOutcome::TimedOut => Err(DeliveryError::transient(format!(
                "the notifier did not finish within {:?}",
                self.options.notifier_timeout
            ))),
        }
    }

    fn store_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Hands `notification` to its notifier.
    async fn call(&self, node: &str, notification: &Notification) -> CallOutcome {
        let Some(definition) = self.definitions.get(&notification.action.name) else {
            return CallOutcome::Failed(DeliveryError::transient(format!(
                "no action named `{}` is registered on node `{node}`",
                notification.action.name
            )));
        };
        let Some(notifier) = definition
            .notifiers
            .iter()
            .find(|n| n.name() == notification.notifier)
        else {
            return CallOutcome::Failed(DeliveryError::transient(format!(
                "action `{}` has no notifier named `{}` on node `{node}`",
                notification.action.name, notification.notifier
            )));
        };
        let context = JobActionExecuteContext::new(notification, definition);
        let notifier: &dyn DynJobActionNotifier = notifier.as_ref();
        isolated(self.options.notifier_timeout, async {
            match notification.kind {
                NotificationKind::Failure => notifier.notify_error(&context).await,
                NotificationKind::Success => notifier.notify_success(&context).await,
                NotificationKind::Completion => notifier.notify_complete(&context).await,
            }
        })
        .await
    }

    /// What a delivery's result means for the notification at its `attempt`.
    fn outcome_of(
        &self,
        notification: &Notification,
        attempt: u32,
        result: Result<(), DeliveryError>,
    ) -> DeliveryOutcome {
        let error = match result {
            Ok(()) => return DeliveryOutcome::Delivered,
            Err(DeliveryError::Permanent(error)) => {
                return DeliveryOutcome::Failed {
                    reason: error.to_string(),
                };
            }
            Err(DeliveryError::Transient(error)) => error.to_string(),
        };
        if attempt >= self.options.max_attempts {
            return DeliveryOutcome::Failed {
                reason: format!("gave up after {attempt} attempts; the last failed: {error}"),
            };
        }
        let delay = self.options.retry_delay(&notification.id, attempt);
        DeliveryOutcome::RetryAt {
            at: bgtasks_core::clock::saturating_add(self.store_now(), delay),
            error,
        }
    }
}

impl std::fmt::Debug for NotificationDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationDelivery")
            .field("definitions", &self.definitions.len())
            .field("options", &self.options)
            .finish()
    }
}

impl BackgroundService for NotificationDelivery {
    fn name(&self) -> &str {
        DELIVERY_SERVICE
    }

    async fn run_once(&self, context: &ServiceContext) -> Duration {
        match self.deliver_due(context.node(), self.store_now()).await {
            Ok(claimed) if claimed >= self.options.batch_size => Duration::ZERO,
            Ok(claimed) => {
                if claimed > 0 {
                    debug!(
                        node = context.node(),
                        claimed, "delivered a batch of notifications"
                    );
                }
                self.options.poll_interval
            }
            Err(error) => {
                warn!(node = context.node(), %error,
                    "could not claim notifications; trying again after the poll interval");
                self.options.poll_interval
            }
        }
    }
}
