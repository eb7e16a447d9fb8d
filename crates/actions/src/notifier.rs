//! Who carries out an action (R32).

use std::sync::Arc;

use async_trait::async_trait;
use bgtasks_abstractions::BoxError;

use crate::execute_context::JobActionExecuteContext;

/// Carries out an action: sends a mail, calls a webhook... Every hook has a no-op default,
/// so implement only those you need. Each call is bounded by the action event's timeout;
/// an error or a panic is logged and reaches neither the other notifiers nor the job.
#[async_trait]
pub trait JobActionNotifier: Send + Sync {
    /// A name for logs.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// The run failed and a [`Failed`](crate::JobActionType::Failed) action fired.
    async fn notify_error(&self, _context: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        Ok(())
    }

    /// The run succeeded and a [`Successed`](crate::JobActionType::Successed) action fired.
    async fn notify_success(&self, _context: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        Ok(())
    }

    /// The run succeeded: called for every action of the job, after `notify_success`.
    async fn notify_complete(
        &self,
        _context: &JobActionExecuteContext<'_>,
    ) -> Result<(), BoxError> {
        Ok(())
    }
}

#[async_trait]
impl<T: JobActionNotifier + ?Sized> JobActionNotifier for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    async fn notify_error(&self, context: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        (**self).notify_error(context).await
    }

    async fn notify_success(&self, context: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        (**self).notify_success(context).await
    }

    async fn notify_complete(&self, context: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        (**self).notify_complete(context).await
    }
}
