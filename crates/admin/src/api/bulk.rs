//! `PUT /api/background-jobs/bulk-*` and `DELETE .../bulk-delete`: one operation on a list
//! of ids or on everything a filter matches, bounded (1,000 by default). Each job is one
//! transition of its own; the report says how many changed and which were refused, why.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bgtasks_store::JobQuery;

use crate::api::control::Operation;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::filter;
use crate::model::bulk::{BulkInput, BulkRefusal, BulkReport};
use crate::state::AdminState;

/// Runs `operation` on the jobs `input` names.
pub(crate) async fn run(
    state: &AdminState,
    operation: Operation,
    input: BulkInput,
) -> ApiResult<BulkReport> {
    let limit = state.config.bulk_limit;
    let (ids, matched) = match (input.job_ids, input.filter) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either `jobIds` or `filter`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "give `jobIds` (a list of job ids) or `filter` (the jobs list's filters)",
            ));
        }
        (Some(ids), None) => {
            if ids.len() > limit {
                return Err(ApiError::bad_field(
                    "jobIds",
                    &format!("{} ids", ids.len()),
                    format!("at most {limit} jobs per bulk operation"),
                ));
            }
            let mut unique: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            let matched = unique.len() as u64;
            (unique, matched)
        }
        (None, Some(object)) => {
            let pairs = filter::pairs_of_object(&object)?;
            let query = JobQuery {
                limit,
                ..filter::job_filter(&pairs)?
            };
            let page = state.store().list(&query).await?;
            let ids = page.items.into_iter().map(|r| r.job.id).collect();
            (ids, page.total)
        }
    };
    let mut report = BulkReport {
        operation: operation.name().to_owned(),
        matched,
        ..BulkReport::default()
    };
    for id in ids {
        report.processed += 1;
        match operation.apply(state, &id).await {
            Ok(_) => {
                report.changed += 1;
                report.changed_ids.push(id);
            }
            Err(error) => {
                let fatal = error.status().is_server_error();
                report.refused.push(refusal(id, error));
                if fatal {
                    break;
                }
            }
        }
    }
    report.remaining = report.matched.saturating_sub(report.processed as u64);
    Ok(report)
}

/// A refused job in a report.
fn refusal(id: String, error: ApiError) -> BulkRefusal {
    let code = match error.status() {
        StatusCode::NOT_FOUND => "notFound",
        StatusCode::CONFLICT => "conflict",
        _ => "error",
    };
    let (reason, current) = error.into_parts();
    BulkRefusal {
        id,
        code: code.to_owned(),
        reason,
        current: current.map(|c| *c),
    }
}

/// Declares the handler of one bulk route.
macro_rules! bulk_route {
    ($handler:ident, $method:ident, $path:tt, $operation:expr, $summary:tt) => {
        #[doc = $summary]
        #[utoipa::path(
            $method, path = $path, tag = "bulk",
            request_body = BulkInput,
            responses(
                (status = 200, description = "What changed and what was refused", body = BulkReport),
                (status = 400, description = "Neither or both of `jobIds` and `filter`, too many ids, or a bad filter", body = ErrorBody),
                (status = 403, description = "A read-only token", body = ErrorBody),
            ),
            security(("bearer" = []))
        )]
        pub(crate) async fn $handler(
            State(state): State<AdminState>,
            JsonBody(input): JsonBody<BulkInput>,
        ) -> ApiResult<Json<BulkReport>> {
            run(&state, $operation, input).await.map(Json)
        }
    };
}

bulk_route!(
    bulk_pause,
    put,
    "/api/background-jobs/bulk-pause",
    Operation::Pause,
    "Pauses many jobs."
);
bulk_route!(
    bulk_resume,
    put,
    "/api/background-jobs/bulk-resume",
    Operation::Resume,
    "Resumes many jobs."
);
bulk_route!(
    bulk_trigger,
    put,
    "/api/background-jobs/bulk-trigger",
    Operation::Trigger,
    "Runs many jobs now."
);
bulk_route!(
    bulk_stop,
    put,
    "/api/background-jobs/bulk-stop",
    Operation::Stop,
    "Stops many jobs."
);
bulk_route!(
    bulk_start,
    put,
    "/api/background-jobs/bulk-start",
    Operation::Start,
    "Starts many Stopped jobs."
);
bulk_route!(
    bulk_retry,
    put,
    "/api/background-jobs/bulk-retry",
    Operation::Retry,
    "Retries many Stopped or abandoned jobs now."
);
bulk_route!(
    bulk_delete,
    delete,
    "/api/background-jobs/bulk-delete",
    Operation::Delete,
    "Removes many Stopped jobs (others are refused)."
);
