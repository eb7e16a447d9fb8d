//! Typed job types as runnables: decode the arguments into the type, run it.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use bgtasks_abstractions::{
    IntoJobError, Job, JobContext, JobError, JobOptOuts, JobRunnable, JobRunnableContext, JobType,
};

/// The runnable of a [`Job`] type: decodes each run's arguments into `J` (a Business
/// failure naming the type and the serde error when they do not decode, R48) and calls
/// [`Job::run`].
pub(crate) struct TypedRunnable<J>(PhantomData<fn() -> J>);

impl<J> TypedRunnable<J> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<J: Job> JobRunnable for TypedRunnable<J> {
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let value = context.args().to_typed::<J>()?;
        value.run(context.clone()).await
    }

    fn opt_outs(&self) -> JobOptOuts {
        J::opt_outs()
    }

    fn time_limit(&self) -> Option<Duration> {
        J::time_limit()
    }
}

/// The runnable of a [`JobType`] handled by a function of the value and the context.
pub(crate) struct FnTypedRunnable<J, F> {
    handler: F,
    _job: PhantomData<fn() -> J>,
}

impl<J, F> FnTypedRunnable<J, F> {
    pub(crate) fn new(handler: F) -> Self {
        Self {
            handler,
            _job: PhantomData,
        }
    }
}

impl<J, F, Fut, E> JobRunnable for FnTypedRunnable<J, F>
where
    J: JobType,
    F: Fn(J, JobContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), E>> + Send,
    E: IntoJobError,
{
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let value = context.args().to_typed::<J>()?;
        (self.handler)(value, context.clone())
            .await
            .map_err(IntoJobError::into_job_error)
    }

    fn opt_outs(&self) -> JobOptOuts {
        J::opt_outs()
    }

    fn time_limit(&self) -> Option<Duration> {
        J::time_limit()
    }
}
