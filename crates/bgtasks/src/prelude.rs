//! What most hosts need in scope: `use bgtasks::prelude::*;`.

pub use crate::{
    BackgroundTasks, Enqueued, Job, JobContext, JobControl, JobDefinitions, JobError, JobEvent,
    JobEventContext, JobExceptionType, JobInfo, JobKind, JobPriority, JobResultExt, JobRunnable,
    JobRunnableContext, JobRuns, JobScheduler, JobStatus, JobType, Maintenance, NodeRegistry,
    RunLogs, RunMiddleware, Runtime, Schedule, Scheduled, UniquePolicy, job_fn,
};

#[cfg(feature = "actions")]
pub use crate::{JobActionsExt, NotifyPolicy};

#[cfg(feature = "exception-handling")]
pub use crate::FailureEmail;
