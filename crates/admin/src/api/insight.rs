//! What an operator looks at: `/api/statistics`, `/api/nodes`, `/api/orphaned-jobs`,
//! `/api/notifications`, and `/api/session` (who is calling).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::{Extension, Json};
use bgtasks_abstractions::JobStatus;
use bgtasks_store::{MAX_PAGE_SIZE, NotificationQuery, NotificationState};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::config::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryPairs;
use crate::model::insight::{
    NamedCount, NodeDto, NodeListDto, OrphanedJobDto, OrphanedJobList, RunBucketDto, SessionDto,
    StatisticsDto, StatusCount,
};
use crate::model::notifications::NotificationPageDto;
use crate::params;
use crate::state::AdminState;

/// Reads known parameters into `read`; unknown or repeated names are refused.
fn read_pairs(
    pairs: &[(String, String)],
    known: &[&str],
    mut read: impl FnMut(&str, &str) -> ApiResult<()>,
) -> ApiResult<()> {
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        if !known.contains(&key.as_str()) {
            return Err(ApiError::bad_field(
                key,
                value,
                format!("unknown parameter; known ones: {}", known.join(", ")),
            ));
        }
        if seen.contains(&key.as_str()) {
            return Err(ApiError::bad_field(key, value, "given more than once"));
        }
        seen.push(key);
        if !value.trim().is_empty() {
            read(key, value.trim())?;
        }
    }
    Ok(())
}

/// The statistics page's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the parameters; the handler reads them itself.
pub(crate) struct StatisticsParams {
    /// How many hours of history (1 to 168; default 6).
    hours: Option<u32>,
    /// The length of one stretch of history in seconds (10 to 86,400; default 60).
    bucket_seconds: Option<u32>,
    /// `false`: the counts only (no history, no orphaned types), for frequent polling.
    history: Option<bool>,
}

/// Counts by status, type, group and node; queue lag; runs and failures by failure type
/// per stretch of time; job types no live node has registered.
#[utoipa::path(
    get, path = "/api/statistics", tag = "insight",
    params(StatisticsParams),
    responses(
        (status = 200, description = "The statistics", body = StatisticsDto),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn statistics(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<StatisticsDto>> {
    let (mut hours, mut bucket, mut with_history) = (6_i64, 60_i64, true);
    read_pairs(
        &pairs,
        &["hours", "bucketSeconds", "history"],
        |key, value| {
            match key {
                "hours" => hours = params::number(key, value, 1, 168)?,
                "history" => with_history = params::flag(key, value)?,
                _ => bucket = params::number(key, value, 10, 86_400)?,
            }
            Ok(())
        },
    )?;
    if hours * 3600 / bucket > 20_000 {
        return Err(ApiError::bad_field(
            "bucketSeconds",
            &bucket.to_string(),
            format!("{hours} hours in stretches this short make more than 20,000 of them"),
        ));
    }
    let now = state.now();
    let since = now - chrono::Duration::hours(hours);
    let bucket_len = Duration::from_secs(u64::try_from(bucket).unwrap_or(60));
    let store = state.store();
    let counts = store.counts(now).await?;
    let (history, orphaned) = if with_history {
        (
            store.run_history(since, bucket_len).await?,
            store
                .orphaned(now, state.live_since(), MAX_PAGE_SIZE)
                .await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let live_since = state.live_since();
    let live_nodes = store
        .nodes()
        .await?
        .iter()
        .filter(|n| n.is_live(live_since))
        .count();
    let mut orphaned_types: Vec<String> = orphaned.iter().map(|j| j.job_type.clone()).collect();
    orphaned_types.sort();
    orphaned_types.dedup();
    Ok(Json(StatisticsDto {
        now,
        total: counts.total,
        by_status: JobStatus::ALL
            .iter()
            .map(|s| StatusCount {
                status: s.code(),
                name: s.as_str().to_owned(),
                count: counts.by_status.get(&s.code()).copied().unwrap_or(0),
            })
            .collect(),
        by_type: most_first(&counts.by_type),
        by_group: most_first(&counts.by_group),
        running_by_node: most_first(&counts.running_by_node),
        abandoned: counts.abandoned,
        due: counts.due,
        oldest_due: counts.oldest_due,
        queue_lag_seconds: counts.lag(now).as_secs_f64(),
        since,
        bucket_seconds: bucket_len.as_secs(),
        history: history
            .into_iter()
            .map(|b| RunBucketDto {
                runs: b.runs(),
                start: b.start,
                succeeded: b.succeeded,
                failed: b.failed,
                interrupted: b.interrupted,
            })
            .collect(),
        orphaned_types,
        orphaned_jobs: orphaned.len(),
        live_nodes,
    }))
}

/// Counts as a list, most first (ties by name).
fn most_first(counts: &BTreeMap<String, u64>) -> Vec<NamedCount> {
    let mut list: Vec<NamedCount> = counts
        .iter()
        .map(|(name, count)| NamedCount {
            name: name.clone(),
            count: *count,
        })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    list
}

/// The nodes sharing the store: live or not, last heartbeat, job types, runs in flight,
/// health report.
#[utoipa::path(
    get, path = "/api/nodes", tag = "insight",
    responses((status = 200, description = "The nodes, by name", body = NodeListDto)),
    security(("bearer" = []))
)]
pub(crate) async fn nodes(State(state): State<AdminState>) -> ApiResult<Json<NodeListDto>> {
    let now = state.now();
    let live_since = state.live_since();
    let this_node = state.runtime.node_name().to_owned();
    let items = state
        .store()
        .nodes()
        .await?
        .into_iter()
        .map(|record| {
            let live = record.is_live(live_since);
            let beat = record.heartbeat;
            NodeDto {
                this_node: beat.node == this_node,
                live,
                heartbeat_age_seconds: (now - beat.at)
                    .to_std()
                    .map_or(0.0, |age| age.as_secs_f64()),
                name: beat.node,
                job_types: beat.job_types,
                started_at: beat.started_at,
                last_heartbeat: beat.at,
                running: beat.running,
                info: beat.info,
            }
        })
        .collect();
    Ok(Json(NodeListDto {
        items,
        this_node,
        liveness_seconds: state.config.node_liveness.as_secs(),
    }))
}

/// The due jobs no live node can run, because no live node registered their type (R41).
#[utoipa::path(
    get, path = "/api/orphaned-jobs", tag = "insight",
    params(("maxResultCount" = Option<usize>, Query, description = "At most this many (default 100, capped at 1,000)")),
    responses((status = 200, description = "The jobs, earliest due first", body = OrphanedJobList)),
    security(("bearer" = []))
)]
pub(crate) async fn orphaned_jobs(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<OrphanedJobList>> {
    let mut max = 100;
    read_pairs(&pairs, &["maxResultCount"], |key, value| {
        max = params::count(key, value, usize::MAX)?.min(MAX_PAGE_SIZE);
        Ok(())
    })?;
    let jobs = state
        .store()
        .orphaned(state.now(), state.live_since(), max)
        .await?;
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    for job in &jobs {
        *types.entry(job.job_type.clone()).or_default() += 1;
    }
    let items = jobs
        .into_iter()
        .map(|job| OrphanedJobDto {
            id: job.id,
            name: job.name,
            group: job.group,
            job_type: job.job_type,
            status: job.status.code(),
            next_run_time: job.next_run_time,
            node_name: job.node_name,
        })
        .collect();
    Ok(Json(OrphanedJobList {
        items,
        types: most_first(&types),
    }))
}

/// The notifications query's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the parameters; the handler reads them itself.
pub(crate) struct NotificationParams {
    /// Of this job only.
    job_id: Option<String>,
    /// `pending`, `delivered` or `failed`.
    state: Option<String>,
    /// How many to skip.
    skip_count: Option<usize>,
    /// The page size (default 20, capped at 1,000).
    max_result_count: Option<usize>,
}

/// The alerts of the outbox (R51): pending, delivered and failed, newest first.
#[utoipa::path(
    get, path = "/api/notifications", tag = "insight",
    params(NotificationParams),
    responses(
        (status = 200, description = "One page of notifications", body = NotificationPageDto),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn notifications(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<NotificationPageDto>> {
    let mut query = NotificationQuery {
        limit: state.config.default_page_size,
        ..NotificationQuery::default()
    };
    read_pairs(
        &pairs,
        &["jobId", "state", "skipCount", "maxResultCount"],
        |key, value| {
            match key {
                "jobId" => query.job_id = Some(value.to_owned()),
                "state" => query.state = Some(notification_state(value)?),
                "skipCount" => query.offset = params::count(key, value, 1_000_000_000)?,
                _ => query.limit = params::count(key, value, usize::MAX)?.min(MAX_PAGE_SIZE),
            }
            Ok(())
        },
    )?;
    Ok(Json(state.store().list_notifications(&query).await?.into()))
}

fn notification_state(value: &str) -> ApiResult<NotificationState> {
    match value.to_ascii_lowercase().as_str() {
        "pending" | "0" => Ok(NotificationState::Pending),
        "delivered" | "1" => Ok(NotificationState::Delivered),
        "failed" | "2" => Ok(NotificationState::Failed),
        _ => Err(ApiError::bad_field(
            "state",
            value,
            "expected `pending`, `delivered` or `failed`",
        )),
    }
}

/// Who is calling (the token's role) and what this API offers.
#[utoipa::path(
    get, path = "/api/session", tag = "insight",
    responses(
        (status = 200, description = "The caller's role", body = SessionDto),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn session(
    State(state): State<AdminState>,
    Extension(role): Extension<Role>,
) -> Json<SessionDto> {
    Json(SessionDto {
        role,
        tokens_required: state.config.has_credentials(),
        node: state.runtime.node_name().to_owned(),
        title: state.config.title.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        bulk_limit: state.config.bulk_limit,
        max_page_size: MAX_PAGE_SIZE,
    })
}
