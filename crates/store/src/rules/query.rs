//! Listing in memory: whether a job matches a query, the query's order, one page.

use std::cmp::Ordering;

use bgtasks_abstractions::JobInfo;

use crate::query::{JobPage, JobQuery, JobSortField};
use crate::record::JobRecord;

/// Whether `record` passes every filter of `query` (`text` is the query's lowercased text,
/// from [`JobQuery::text_lowercase`], computed once per listing).
pub fn matches_query(record: &JobRecord, query: &JobQuery, text: Option<&str>) -> bool {
    let job = &record.job;
    text.is_none_or(|text| {
        [
            &job.id,
            &job.name,
            &job.group,
            &job.job_type,
            &job.description,
        ]
        .iter()
        .any(|field| field.to_lowercase().contains(text))
    }) && query.name.as_deref().is_none_or(|n| job.name == n)
        && query.group.as_deref().is_none_or(|g| job.group == g)
        && query.job_type.as_deref().is_none_or(|t| job.job_type == t)
        && (query.statuses.is_empty() || query.statuses.contains(&job.status))
        && query.begin_time.contains(Some(job.begin_time))
        && query.end_time.contains(job.end_time)
        && query.last_run_time.contains(job.last_run_time)
        && query.creation_time.contains(Some(job.creation_time))
        && query.abandoned.is_none_or(|a| job.is_abandoned == a)
        && query.kind.is_none_or(|k| job.kind == k)
        && query.priority.is_none_or(|p| job.priority == p)
        && query.source.is_none_or(|s| job.source == s)
        && query
            .node_name
            .as_deref()
            .is_none_or(|n| job.node_name.as_deref() == Some(n))
        && query.running.is_none_or(|r| record.is_running() == r)
}

/// Compares two optional values with `None` last, whatever the direction.
fn none_last<T: Ord>(a: Option<T>, b: Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if descending => b.cmp(&a),
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The query's order: its sort field and direction, then the id ascending. Missing
/// next and last run times sort last in either direction.
pub fn compare_jobs(a: &JobInfo, b: &JobInfo, query: &JobQuery) -> Ordering {
    let descending = query.sort.descending;
    let by = |ordering: Ordering| {
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    let primary = match query.sort.field {
        JobSortField::CreationTime => by(a.creation_time.cmp(&b.creation_time)),
        JobSortField::Id => by(a.id.cmp(&b.id)),
        JobSortField::Name => by(a.name.cmp(&b.name)),
        JobSortField::Group => by(a.group.cmp(&b.group)),
        JobSortField::JobType => by(a.job_type.cmp(&b.job_type)),
        JobSortField::Status => by(a.status.code().cmp(&b.status.code())),
        JobSortField::Priority => by(a.priority.code().cmp(&b.priority.code())),
        JobSortField::NextRunTime => none_last(a.next_run_time, b.next_run_time, descending),
        JobSortField::LastRunTime => none_last(a.last_run_time, b.last_run_time, descending),
        JobSortField::TriggerCount => by(a.trigger_count.cmp(&b.trigger_count)),
        JobSortField::TryCount => by(a.try_count.cmp(&b.try_count)),
    };
    primary.then_with(|| a.id.cmp(&b.id))
}

/// The page `query` asks for out of `matching` (every job that matches, in any order).
pub fn page_of(mut matching: Vec<JobRecord>, query: &JobQuery) -> JobPage {
    let total = matching.len() as u64;
    matching.sort_by(|a, b| compare_jobs(&a.job, &b.job, query));
    let items = matching
        .into_iter()
        .skip(query.offset)
        .take(query.page_size())
        .collect();
    JobPage { items, total }
}
