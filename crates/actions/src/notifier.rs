//! Who carries out an action (R32), and how a delivery can fail (R51).

use std::future::Future;

use bgtasks_abstractions::{BoxError, BoxFuture, JobAction};
use bgtasks_core::store::NotificationKind;

use crate::execute_context::JobActionExecuteContext;
use crate::throttle::Throttle;

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Trying again later may succeed: a server that is down, an SMTP 4xx, a timeout.
    /// The notification is retried with back-off.
    #[error("{0}")]
    Transient(#[source] BoxError),
    /// Trying again cannot succeed: an SMTP 5xx, a bad address, a template that does not
    /// render. The notification fails for good with this reason.
    #[error("{0}")]
    Permanent(#[source] BoxError),
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        DeliveryError::Transient(error.into())
    }

    /// A failure not worth retrying.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        DeliveryError::Permanent(error.into())
    }

    /// Whether trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, DeliveryError::Permanent(_))
    }
}

/// Any other error is taken as transient: it is retried.
impl From<BoxError> for DeliveryError {
    fn from(error: BoxError) -> Self {
        DeliveryError::Transient(error)
    }
}

/// Carries out an action: sends a mail, calls a webhook... A notifier does not run in
/// the run's listener: the run's outcome stores a notification for each notifier that
/// [`handles`](Self::handles) its kind, and a delivery loop on any node calls the hook
/// later, at least once, until it succeeds or fails for good (R51). So a hook may be
/// called again for the same notification (after a crash, or a timeout that hid a
/// success): use [`JobActionExecuteContext::notification_id`] to recognise a repeat.
///
/// Every hook has a no-op default; implement those you need and say which in
/// [`handles`](Self::handles), so that no notification is stored for the others.
pub trait JobActionNotifier: Send + Sync {
    /// The notifier's name: part of each notification's identity, so keep it stable
    /// across releases and the same on every node.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Whether it carries out notifications of this kind (default: every kind).
    fn handles(&self, _kind: NotificationKind) -> bool {
        true
    }

    /// How failure notifications of `action` are throttled (default: none). Called when
    /// a run fails, with the job's action and its parameters.
    fn throttle(&self, _action: &JobAction) -> Throttle {
        Throttle::NONE
    }

    /// The run failed and a [`Failed`](crate::JobActionType::Failed) action fired.
    fn notify_error(
        &self,
        _context: &JobActionExecuteContext<'_>,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        async { Ok(()) }
    }

    /// The run succeeded and a [`Successed`](crate::JobActionType::Successed) action fired.
    fn notify_success(
        &self,
        _context: &JobActionExecuteContext<'_>,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        async { Ok(()) }
    }

    /// The run succeeded: called for every action of the job.
    fn notify_complete(
        &self,
        _context: &JobActionExecuteContext<'_>,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        async { Ok(()) }
    }
}

/// The object-safe form of [`JobActionNotifier`], which the runtime keeps in
/// `Arc<dyn DynJobActionNotifier>`. Every `JobActionNotifier` is one; implement
/// `JobActionNotifier`, not this.
pub trait DynJobActionNotifier: Send + Sync {
    /// See [`JobActionNotifier::name`].
    fn name(&self) -> &str;
    /// See [`JobActionNotifier::handles`].
    fn handles(&self, kind: NotificationKind) -> bool;
    /// See [`JobActionNotifier::throttle`].
    fn throttle(&self, action: &JobAction) -> Throttle;
    /// See [`JobActionNotifier::notify_error`].
    fn notify_error<'a>(
        &'a self,
        context: &'a JobActionExecuteContext<'_>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
    /// See [`JobActionNotifier::notify_success`].
    fn notify_success<'a>(
        &'a self,
        context: &'a JobActionExecuteContext<'_>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
    /// See [`JobActionNotifier::notify_complete`].
    fn notify_complete<'a>(
        &'a self,
        context: &'a JobActionExecuteContext<'_>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

impl<T: JobActionNotifier> DynJobActionNotifier for T {
    fn name(&self) -> &str {
        JobActionNotifier::name(self)
    }

    fn handles(&self, kind: NotificationKind) -> bool {
        JobActionNotifier::handles(self, kind)
    }

    fn throttle(&self, action: &JobAction) -> Throttle {
        JobActionNotifier::throttle(self, action)
    }

    fn notify_error<'a>(
        &'a self,
        context: &'a JobActionExecuteContext<'_>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(JobActionNotifier::notify_error(self, context))
    }

    fn notify_success<'a>(
        &'a self,
        context: &'a JobActionExecuteContext<'_>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(JobActionNotifier::notify_success(self, context))
    }

    fn notify_complete<'a>(
        &'a self,
        context: &'a JobActionExecuteContext<'_>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(JobActionNotifier::notify_complete(self, context))
    }
}
