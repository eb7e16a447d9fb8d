//! `PUT /api/background-jobs/{id}/pause|resume|trigger|stop|start|retry`: each one atomic
//! transition of the store (R37), made through the runtime so that a run on this node is
//! reached at once (R39); a refusal because the job's state changed is a 409 with the job
//! as it is now.

use axum::Json;
use axum::extract::State;
use bgtasks_abstractions::JobStatus;
use bgtasks_core::JobScheduler;
use bgtasks_store::JobRecord;

use crate::api::find_job;
use crate::api::jobs::remove_stopped;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Segment;
use crate::model::JobDto;
use crate::state::AdminState;

/// An operation on one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Pause,
    Resume,
    Trigger,
    Stop,
    Start,
    /// Run a Stopped or abandoned job again now, with its tries back.
    Retry,
    /// Remove a Stopped job.
    Delete,
}

impl Operation {
    /// The operation's name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Operation::Pause => "pause",
            Operation::Resume => "resume",
            Operation::Trigger => "trigger",
            Operation::Stop => "stop",
            Operation::Start => "start",
            Operation::Retry => "retry",
            Operation::Delete => "delete",
        }
    }

    /// Applies the operation to job `id`; the job as the transition left it.
    pub(crate) async fn apply(self, state: &AdminState, id: &str) -> ApiResult<JobRecord> {
        let runtime = &state.runtime;
        let outcome = match self {
            Operation::Pause => runtime.pause(id).await?,
            Operation::Resume => runtime.resume(id).await?,
            Operation::Stop => runtime.stop_job(id).await?,
            Operation::Start => runtime.start_job(id).await?,
            Operation::Delete => return remove_stopped(state, id).await,
            Operation::Trigger => runtime.trigger_stored(id).await?,
            Operation::Retry => {
                let record = find_job(state, id).await?;
                let job = &record.job;
                if job.status != JobStatus::Stopped && !job.is_abandoned {
                    return Err(ApiError::conflict(
                        format!(
                            "job `{id}` is {}: only a Stopped or abandoned job can be retried \
                             (trigger runs any job now)",
                            job.status
                        ),
                        Some(JobDto::from_record(record)),
                    ));
                }
                runtime.trigger_stored(id).await?
            }
        };
        outcome.map_err(|refusal| ApiError::refused(id, refusal))
    }
}

/// Declares the handler of one control route.
macro_rules! control_route {
    ($handler:ident, $path:tt, $operation:expr, $summary:tt, $refused:tt) => {
        #[doc = $summary]
        #[utoipa::path(
            put, path = $path, tag = "control",
            params(("id" = String, Path, description = "The job's id")),
            responses(
                (status = 200, description = "The job as the transition left it", body = JobDto),
                (status = 403, description = "A read-only token", body = ErrorBody),
                (status = 404, description = "No such job", body = ErrorBody),
                (status = 409, description = $refused, body = ErrorBody),
            ),
            security(("bearer" = []))
        )]
        pub(crate) async fn $handler(
            State(state): State<AdminState>,
            Segment(id): Segment,
        ) -> ApiResult<Json<JobDto>> {
            let record = $operation.apply(&state, &id).await?;
            Ok(Json(JobDto::from_record(record)))
        }
    };
}

control_route!(
    pause_job,
    "/api/background-jobs/{id}/pause",
    Operation::Pause,
    "Pauses a Queuing, Running or FailedRetry job; a run in flight is interrupted and charged nothing.",
    "The job is not Queuing, Running or FailedRetry; `current` is the job now"
);
control_route!(
    resume_job,
    "/api/background-jobs/{id}/resume",
    Operation::Resume,
    "Resumes a Paused job.",
    "The job is not Paused; `current` is the job now"
);
control_route!(
    trigger_job,
    "/api/background-jobs/{id}/trigger",
    Operation::Trigger,
    "Runs a job now (a running one runs once more after its run).",
    "The job's state changed meanwhile; `current` is the job now"
);
control_route!(
    stop_job,
    "/api/background-jobs/{id}/stop",
    Operation::Stop,
    "Stops a job: it will not run until started; a run in flight is interrupted.",
    "The job is Completed or Stopped already; `current` is the job now"
);
control_route!(
    start_job,
    "/api/background-jobs/{id}/start",
    Operation::Start,
    "Starts a Stopped job again, with its tries back.",
    "The job is not Stopped; `current` is the job now"
);
control_route!(
    retry_job,
    "/api/background-jobs/{id}/retry",
    Operation::Retry,
    "Retries a Stopped or abandoned job now, with its tries back.",
    "The job is neither Stopped nor abandoned; `current` is the job now"
);
