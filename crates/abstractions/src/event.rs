//! Listening to runs (R9–R10).

use async_trait::async_trait;

use crate::event_context::JobEventContext;

/// The error a listener may return. It is logged with the job's group and name and
/// affects nothing else (R10).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A listener told before and after every run (the reference's `IJobEvent`). Every hook
/// has a default, so write only what you need. Listeners of one event run concurrently
/// and in isolation: an error or a panic in one never reaches the job, the other
/// listeners or the scheduler.
#[async_trait]
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
    async fn on_before_executed(&self, _context: &JobEventContext) -> Result<(), BoxError> {
        Ok(())
    }

    /// Called after the run, with its outcome.
    async fn on_after_executed(&self, _context: &JobEventContext) -> Result<(), BoxError> {
        Ok(())
    }
}
