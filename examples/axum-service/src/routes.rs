//! The HTTP API: `POST /signups`, `POST /reports`, `GET /jobs/{id}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bgtasks::prelude::*;
use bgtasks::sqlite::{SqliteJobStore, enqueue_in};
use serde::{Deserialize, Serialize};

use crate::db::{self, Inserted};
use crate::error::ApiError;
use crate::jobs::{SignupReport, WelcomeMail};
use crate::state::AppState;

/// What the handlers need: the runtime to queue with, the store to read jobs from and
/// to wake after a commit, and the state the jobs share.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) runtime: BackgroundTasks,
    pub(crate) store: SqliteJobStore,
    pub(crate) app: Arc<AppState>,
}

/// The service's routes; anything else is a JSON 404 or 405.
pub(crate) fn router(api: Api) -> Router {
    Router::new()
        .route("/signups", post(signup))
        .route("/reports", post(report))
        .route("/jobs/{id}", get(job))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        })
        .with_state(api)
}

/// `POST /signups`: `{"email": "ada@example.com"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupRequest {
    email: String,
}

/// The answer to a signup.
#[derive(Debug, Serialize)]
struct SignupCreated {
    signup_id: i64,
    email: String,
    /// The welcome mail's job: `GET /jobs/{welcome_job}`.
    welcome_job: String,
}

/// Stores a signup and queues its welcome mail in one transaction: both or neither.
async fn signup(
    State(api): State<Api>,
    body: Result<Json<SignupRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SignupCreated>), ApiError> {
    let Json(request) = body?;
    let email = checked_email(&request.email)?;

    // BEGIN IMMEDIATE takes SQLite's write lock at once (see `enqueue_in`); every early
    // return below drops `tx`, which rolls back the row and the job together.
    let mut tx = api.app.db.begin_with("BEGIN IMMEDIATE").await?;
    let signup_id = match db::insert_signup(&mut tx, &email).await? {
        Inserted::Row(id) => id,
        Inserted::Taken => return Err(ApiError::conflict(format!("{email} is already signed up"))),
    };
    let welcome = api
        .runtime
        .enqueue(WelcomeMail {
            signup_id,
            email: email.clone(),
        })
        .id(format!("welcome-{signup_id}"))
        .priority(JobPriority::High)
        .max_tries(5)
        .to_job()?;
    enqueue_in(&mut tx, &[welcome]).await?;

    // A rule only the transaction can check: the beta takes so many signups in all.
    let signups = db::count_signups(&mut tx).await?;
    if signups > api.app.max_signups {
        tx.rollback().await?;
        return Err(ApiError::conflict(format!(
            "signups are closed: the beta is full ({} of {})",
            signups - 1,
            api.app.max_signups
        )));
    }
    tx.commit().await?;
    api.store.notify_due(); // this node claims the job now, not at its next look
    Ok((
        StatusCode::CREATED,
        Json(SignupCreated {
            signup_id,
            email,
            welcome_job: format!("welcome-{signup_id}"),
        }),
    ))
}

/// The address, trimmed and lowercased, if it looks like one.
fn checked_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c == ',')
                && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(ApiError::invalid(format!(
            "`{email}` is not an e-mail address such as ada@example.com"
        )))
    }
}

/// `POST /reports`: `{"days": 7, "delay_secs": 60, "priority": "high"}`, every field
/// optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportRequest {
    #[serde(default = "default_days")]
    days: u32,
    #[serde(default)]
    delay_secs: u64,
    priority: Option<String>,
}

fn default_days() -> u32 {
    7
}

/// The longest delay a report may be queued with: 30 days.
const MAX_DELAY_SECS: u64 = 30 * 86_400;

/// The answer to a report request.
#[derive(Debug, Serialize)]
struct ReportQueued {
    job_id: String,
    due_at: String,
    priority: String,
}

/// Queues a report with the options the request asks for.
async fn report(
    State(api): State<Api>,
    body: Result<Json<ReportRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ReportQueued>), ApiError> {
    let Json(request) = body?;
    if !(1..=366).contains(&request.days) {
        return Err(ApiError::invalid(format!(
            "`days` must be from 1 to 366, got {}",
            request.days
        )));
    }
    if request.delay_secs > MAX_DELAY_SECS {
        return Err(ApiError::invalid(format!(
            "`delay_secs` must be at most {MAX_DELAY_SECS} (30 days), got {}",
            request.delay_secs
        )));
    }
    let priority = match request.priority.as_deref() {
        None => JobPriority::Normal,
        Some(name) => priority_named(name)?,
    };
    let job = api
        .runtime
        .enqueue(SignupReport { days: request.days })
        .delay(Duration::from_secs(request.delay_secs))
        .priority(priority)
        .group("reports")
        .await?;
    let due_at = api
        .runtime
        .store()
        .find(job.id())
        .await?
        .map(|record| record.job.begin_time.to_rfc3339())
        .unwrap_or_default();
    Ok((
        StatusCode::ACCEPTED,
        Json(ReportQueued {
            job_id: job.id().to_owned(),
            due_at,
            priority: priority.to_string(),
        }),
    ))
}

/// The priority a name stands for: `low`, `below-normal`, `normal`, `above-normal` or
/// `high`, in any case, with or without the dash.
fn priority_named(name: &str) -> Result<JobPriority, ApiError> {
    let wanted = name.replace(['-', '_'], "");
    JobPriority::ALL
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "unknown priority `{name}`: use low, below-normal, normal, above-normal or high"
            ))
        })
}

/// A job as `GET /jobs/{id}` shows it.
#[derive(Debug, Serialize)]
struct JobView {
    id: String,
    job_type: String,
    status: String,
    abandoned: bool,
    priority: String,
    runs: i32,
    failed_tries: i32,
    max_tries: i32,
    args: serde_json::Value,
    result: Option<String>,
    begin_time: String,
    last_run_time: Option<String>,
    next_run_time: Option<String>,
}

/// Shows a job's status.
async fn job(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<JobView>, ApiError> {
    let record = api
        .runtime
        .store()
        .find(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job `{id}`")))?;
    let job = record.job;
    Ok(Json(JobView {
        args: serde_json::to_value(job.args.as_map()).unwrap_or_default(),
        id: job.id,
        job_type: job.job_type,
        status: job.status.to_string(),
        abandoned: job.is_abandoned,
        priority: job.priority.to_string(),
        runs: job.trigger_count,
        failed_tries: job.try_count,
        max_tries: job.max_try_count,
        result: job.result,
        begin_time: job.begin_time.to_rfc3339(),
        last_run_time: job.last_run_time.map(|t| t.to_rfc3339()),
        next_run_time: job.next_run_time.map(|t| t.to_rfc3339()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_normalized() {
        assert_eq!(
            checked_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            let error = checked_email(bad).unwrap_err();
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
    }

    #[test]
    fn priorities_are_read_by_name() {
        assert_eq!(priority_named("high").unwrap(), JobPriority::High);
        assert_eq!(
            priority_named("Below-Normal").unwrap(),
            JobPriority::BelowNormal
        );
        assert_eq!(
            priority_named("urgent").unwrap_err().status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
