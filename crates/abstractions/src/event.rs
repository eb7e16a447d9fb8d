//! Listening to runs (R9–R10).

use std::future::Future;
use std::pin::Pin;

use crate::event_context::JobEventContext;

/// The error a listener may return. It is logged with the job's group and name and
/// affects nothing else (R10).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed, sendable future: what the object-safe (`Dyn…`) forms of the user traits
/// return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A listener told before and after every run (the reference's `IJobEvent`). Every hook
/// has a default, so write only what you need. Listeners of one event run concurrently
/// and in isolation: an error or a panic in one never reaches the job, the other
/// listeners or the scheduler.
///
/// Implement the hooks as plain `async fn`s:
///
/// ```
/// use bgtasks_abstractions::{BoxError, JobEvent, JobEventContext};
///
/// struct Audit;
///
/// impl JobEvent for Audit {
///     async fn on_after_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
///         println!("{} ran", context.data().job().id);
///         Ok(())
///     }
/// }
/// ```
///
/// The runtime holds listeners as [`DynJobEvent`], which every `JobEvent` is.
pub trait JobEvent: Send + Sync {
    /// A name for logs.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Whether this listener wants the before-executed event of this run.
    fn can_before_executed(&self, _context: &JobEventContext) -> bool {
        true
    }

    /// Whether this listener wants the after-executed event of this run.
    fn can_after_executed(&self, _context: &JobEventContext) -> bool {
        true
    }

    /// Called before the run.
    fn on_before_executed(
        &self,
        _context: &JobEventContext,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }

    /// Called after the run, with its outcome.
    fn on_after_executed(
        &self,
        _context: &JobEventContext,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }
}

/// The object-safe form of [`JobEvent`], which the runtime keeps in `Arc<dyn DynJobEvent>`.
/// Every `JobEvent` is one; implement `JobEvent`, not this.
pub trait DynJobEvent: Send + Sync {
    /// See [`JobEvent::name`].
    fn name(&self) -> &str;
    /// See [`JobEvent::can_before_executed`].
    fn can_before_executed(&self, context: &JobEventContext) -> bool;
    /// See [`JobEvent::can_after_executed`].
    fn can_after_executed(&self, context: &JobEventContext) -> bool;
    /// See [`JobEvent::on_before_executed`].
    fn on_before_executed<'a>(
        &'a self,
        context: &'a JobEventContext,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
    /// See [`JobEvent::on_after_executed`].
    fn on_after_executed<'a>(
        &'a self,
        context: &'a JobEventContext,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
}

impl<T: JobEvent> DynJobEvent for T {
    fn name(&self) -> &str {
        JobEvent::name(self)
    }

    fn can_before_executed(&self, context: &JobEventContext) -> bool {
        JobEvent::can_before_executed(self, context)
    }

    fn can_after_executed(&self, context: &JobEventContext) -> bool {
        JobEvent::can_after_executed(self, context)
    }

    fn on_before_executed<'a>(
        &'a self,
        context: &'a JobEventContext,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(JobEvent::on_before_executed(self, context))
    }

    fn on_after_executed<'a>(
        &'a self,
        context: &'a JobEventContext,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(JobEvent::on_after_executed(self, context))
    }
}
