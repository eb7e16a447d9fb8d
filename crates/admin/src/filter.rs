//! The jobs list's filters, sorting and paging, read from a query string (or from a bulk
//! operation's `filter` object, which takes the same names) into a [`JobQuery`].

use bgtasks_store::{JobQuery, JobSort, JobSortField, MAX_PAGE_SIZE};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::params;

/// The sort fields, by the name the API gives them.
const SORT_FIELDS: [(&str, JobSortField); 11] = [
    ("creationTime", JobSortField::CreationTime),
    ("id", JobSortField::Id),
    ("name", JobSortField::Name),
    ("group", JobSortField::Group),
    ("type", JobSortField::JobType),
    ("status", JobSortField::Status),
    ("priority", JobSortField::Priority),
    ("nextRunTime", JobSortField::NextRunTime),
    ("lastRunTime", JobSortField::LastRunTime),
    ("triggerCount", JobSortField::TriggerCount),
    ("tryCount", JobSortField::TryCount),
];

/// The filter names a list and a bulk operation share.
const FILTER_NAMES: [&str; 17] = [
    "filter",
    "name",
    "group",
    "type",
    "status",
    "beginTime",
    "endTime",
    "beginLastRunTime",
    "endLastRunTime",
    "beginCreationTime",
    "endCreationTime",
    "isAbandoned",
    "jobType",
    "priority",
    "source",
    "nodeName",
    "running",
];

/// The paging and sorting names of a list.
const PAGE_NAMES: [&str; 3] = ["skipCount", "maxResultCount", "sorting"];

/// The jobs list's query parameters (the reference's `BackgroundJobInfoGetListInput`),
/// for the OpenAPI document. Empty values are ignored; unknown names are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the parameters; the handler reads them with `job_query`.
pub(crate) struct JobListParams {
    /// Text found (case-insensitively) in the id, name, group, type or description.
    filter: Option<String>,
    /// The exact name.
    name: Option<String>,
    /// The exact group.
    group: Option<String>,
    /// The exact job type.
    #[serde(rename = "type")]
    job_type: Option<String>,
    /// Status codes or names, comma-separated (`5,15` or `Queuing,FailedRetry`).
    status: Option<String>,
    /// Jobs that begin at or after this time (RFC 3339).
    begin_time: Option<String>,
    /// Jobs that end at or before this time.
    end_time: Option<String>,
    /// Last run at or after this time.
    begin_last_run_time: Option<String>,
    /// Last run at or before this time.
    end_last_run_time: Option<String>,
    /// Created at or after this time.
    begin_creation_time: Option<String>,
    /// Created at or before this time.
    end_creation_time: Option<String>,
    /// Abandoned (`true`) or not (`false`).
    is_abandoned: Option<bool>,
    /// The kind (the reference's `jobType`): 0 Once, 1 Period, 2 Persistent.
    #[serde(rename = "jobType")]
    job_type_kind: Option<i32>,
    /// The priority code (5 ... 25).
    priority: Option<i32>,
    /// The source code (-1 None, 0 User, 10 System).
    source: Option<i32>,
    /// Pinned to this node.
    node_name: Option<String>,
    /// Running now (`true`) or not.
    running: Option<bool>,
    /// How many matching jobs to skip.
    skip_count: Option<usize>,
    /// The page size (default 20, capped at 1,000).
    max_result_count: Option<usize>,
    /// `field [asc|desc]`: creationTime, id, name, group, type, status, priority,
    /// nextRunTime, lastRunTime, triggerCount, tryCount.
    sorting: Option<String>,
}

/// Reads a jobs list's query: filters, sorting and paging (`default_page` when no page
/// size is given).
pub(crate) fn job_query(
    pairs: &[(String, String)],
    default_page: usize,
) -> Result<JobQuery, ApiError> {
    let mut query = read(pairs, true)?;
    if !pairs
        .iter()
        .any(|(k, v)| k == "maxResultCount" && !v.trim().is_empty())
    {
        query.limit = default_page;
    }
    Ok(query)
}

/// Reads a bulk operation's filter (no paging, no sorting).
pub(crate) fn job_filter(pairs: &[(String, String)]) -> Result<JobQuery, ApiError> {
    read(pairs, false)
}

fn read(pairs: &[(String, String)], paging: bool) -> Result<JobQuery, ApiError> {
    let mut query = JobQuery::default();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        let known =
            FILTER_NAMES.contains(&key.as_str()) || (paging && PAGE_NAMES.contains(&key.as_str()));
        if !known {
            let mut names: Vec<&str> = FILTER_NAMES.to_vec();
            if paging {
                names.extend(PAGE_NAMES);
            }
            return Err(ApiError::bad_field(
                key,
                value,
                format!("unknown parameter; known ones: {}", names.join(", ")),
            ));
        }
        if key != "status" {
            if seen.contains(&key.as_str()) {
                return Err(ApiError::bad_field(key, value, "given more than once"));
            }
            seen.push(key);
        }
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        apply(&mut query, key, value)?;
    }
    Ok(query)
}

fn apply(query: &mut JobQuery, key: &str, value: &str) -> Result<(), ApiError> {
    let text = || Some(value.to_owned());
    match key {
        "filter" => query.text = text(),
        "name" => query.name = text(),
        "group" => query.group = text(),
        "type" => query.job_type = text(),
        "nodeName" => query.node_name = text(),
        "status" => query.statuses.extend(params::statuses(key, value)?),
        "beginTime" => query.begin_time.from = Some(params::time(key, value)?),
        "endTime" => query.end_time.to = Some(params::time(key, value)?),
        "beginLastRunTime" => query.last_run_time.from = Some(params::time(key, value)?),
        "endLastRunTime" => query.last_run_time.to = Some(params::time(key, value)?),
        "beginCreationTime" => query.creation_time.from = Some(params::time(key, value)?),
        "endCreationTime" => query.creation_time.to = Some(params::time(key, value)?),
        "isAbandoned" => query.abandoned = Some(params::flag(key, value)?),
        "running" => query.running = Some(params::flag(key, value)?),
        "jobType" => query.kind = Some(params::kind(key, value)?),
        "priority" => query.priority = Some(params::priority(key, value)?),
        "source" => query.source = Some(params::source(key, value)?),
        "skipCount" => query.offset = params::count(key, value, 1_000_000_000)?,
        "maxResultCount" => {
            query.limit = params::count(key, value, usize::MAX)?.min(MAX_PAGE_SIZE);
        }
        "sorting" => query.sort = sorting(value)?,
        _ => {}
    }
    Ok(())
}

/// `field`, `field asc` or `field desc` (names in any case).
pub(crate) fn sorting(value: &str) -> Result<JobSort, ApiError> {
    let mut words = value.split_whitespace();
    let name = words.next().unwrap_or_default();
    let direction = words.next();
    let field = SORT_FIELDS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, f)| *f);
    let names: Vec<&str> = SORT_FIELDS.iter().map(|(n, _)| *n).collect();
    let Some(field) = field else {
        return Err(ApiError::bad_field(
            "sorting",
            value,
            format!("unknown sort field; use one of {}", names.join(", ")),
        ));
    };
    let descending = match direction.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(ApiError::bad_field(
                "sorting",
                value,
                "the direction must be `asc` or `desc`",
            ));
        }
    };
    if words.next().is_some() {
        return Err(ApiError::bad_field(
            "sorting",
            value,
            "expected `field [asc|desc]`",
        ));
    }
    Ok(JobSort { field, descending })
}

/// A bulk operation's `filter` object as query pairs: strings, numbers and booleans as
/// they are, arrays joined with commas; `null` ignored.
pub(crate) fn pairs_of_object(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, String)>, ApiError> {
    use serde_json::Value;
    let scalar = |key: &str, value: &Value| -> Result<String, ApiError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(ApiError::bad_field(
                &format!("filter.{key}"),
                &other.to_string(),
                "expected a string, a number or a boolean",
            )),
        }
    };
    let mut pairs = Vec::new();
    for (key, value) in object {
        let text = match value {
            Value::Null => continue,
            Value::Array(items) => items
                .iter()
                .map(|item| scalar(key, item))
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => scalar(key, other)?,
        };
        pairs.push((key.clone(), text));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use bgtasks_abstractions::{JobKind, JobStatus};

    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_filters_sorting_and_paging() {
        let query = job_query(
            &pairs(&[
                ("filter", "invoice"),
                ("status", "5,15"),
                ("status", "Paused"),
                ("jobType", "1"),
                ("name", ""),
                ("sorting", "nextRunTime desc"),
                ("skipCount", "40"),
                ("maxResultCount", "5000"),
            ]),
            20,
        )
        .unwrap();
        assert_eq!(query.text.as_deref(), Some("invoice"));
        assert_eq!(
            query.statuses,
            vec![
                JobStatus::Queuing,
                JobStatus::FailedRetry,
                JobStatus::Paused
            ]
        );
        assert_eq!(query.kind, Some(JobKind::Period));
        assert_eq!(query.name, None);
        assert_eq!(query.sort.field, JobSortField::NextRunTime);
        assert!(query.sort.descending);
        assert_eq!(query.offset, 40);
        assert_eq!(query.limit, MAX_PAGE_SIZE);
        assert_eq!(job_query(&[], 20).unwrap().limit, 20);
    }

    #[test]
    fn names_the_bad_field_and_value() {
        let error = job_query(&pairs(&[("sorting", "colour")]), 20).unwrap_err();
        assert!(error.message().contains("`sorting` `colour`"));
        let error = job_query(&pairs(&[("maxResultCount", "-3")]), 20).unwrap_err();
        assert!(error.message().contains("`maxResultCount` `-3`"));
        let error = job_query(&pairs(&[("colour", "red")]), 20).unwrap_err();
        assert!(error.message().contains("unknown parameter"));
        let error = job_query(&pairs(&[("name", "a"), ("name", "b")]), 20).unwrap_err();
        assert!(error.message().contains("more than once"));
        assert!(job_filter(&pairs(&[("skipCount", "1")])).is_err());
    }

    #[test]
    fn a_filter_object_reads_like_a_query() {
        let object = serde_json::json!({"status": [20, 5], "group": "demo", "isAbandoned": false, "name": null});
        let pairs = pairs_of_object(object.as_object().unwrap()).unwrap();
        let query = job_filter(&pairs).unwrap();
        assert_eq!(query.statuses, vec![JobStatus::Paused, JobStatus::Queuing]);
        assert_eq!(query.group.as_deref(), Some("demo"));
        assert_eq!(query.abandoned, Some(false));
        let nested = serde_json::json!({"status": {"a": 1}});
        assert!(pairs_of_object(nested.as_object().unwrap()).is_err());
    }
}
