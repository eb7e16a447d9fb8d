//! Listing jobs: filters, sorting and paging.

use bgtasks_abstractions::{JobKind, JobPriority, JobSource, JobStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::record::JobRecord;

/// The most jobs one page may hold; larger page sizes are cut to it.
pub const MAX_PAGE_SIZE: usize = 1000;

/// A time range, both ends optional and inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// From this time on, if given.
    pub from: Option<DateTime<Utc>>,
    /// Up to this time, if given.
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Whether the range restricts anything.
    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether `time` is in the range; a missing time is in an open range only.
    pub fn contains(&self, time: Option<DateTime<Utc>>) -> bool {
        if self.is_open() {
            return true;
        }
        let Some(time) = time else {
            return false;
        };
        self.from.is_none_or(|from| time >= from) && self.to.is_none_or(|to| time <= to)
    }
}

/// What jobs may be sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobSortField {
    /// The creation time (the default).
    #[default]
    CreationTime,
    /// The id.
    Id,
    /// The name.
    Name,
    /// The group.
    Group,
    /// The job type.
    JobType,
    /// The status code.
    Status,
    /// The priority code.
    Priority,
    /// The next run time (jobs without one last).
    NextRunTime,
    /// The last run time (jobs that never ran last).
    LastRunTime,
    /// The trigger count.
    TriggerCount,
    /// The try count.
    TryCount,
}

impl JobSortField {
    /// Every field, with the name it has in a query string.
    pub const ALL: [(JobSortField, &'static str); 11] = [
        (JobSortField::CreationTime, "creationTime"),
        (JobSortField::Id, "id"),
        (JobSortField::Name, "name"),
        (JobSortField::Group, "group"),
        (JobSortField::JobType, "jobType"),
        (JobSortField::Status, "status"),
        (JobSortField::Priority, "priority"),
        (JobSortField::NextRunTime, "nextRunTime"),
        (JobSortField::LastRunTime, "lastRunTime"),
        (JobSortField::TriggerCount, "triggerCount"),
        (JobSortField::TryCount, "tryCount"),
    ];

    /// The field a query-string name means (`creationTime`, `nextRunTime`…), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }

    /// The field's query-string name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("creationTime", |(_, n)| n)
    }
}

/// Sorting: a field and a direction; ties are broken by id, ascending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSort {
    /// The field.
    pub field: JobSortField,
    /// Largest first.
    pub descending: bool,
}

/// Which jobs to list, in what order, and which page. Every filter is optional; given
/// ones must all hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobQuery {
    /// Text found (case-insensitively) in the id, name, group, type or description.
    pub text: Option<String>,
    /// The exact name.
    pub name: Option<String>,
    /// The exact group.
    pub group: Option<String>,
    /// The exact job type.
    pub job_type: Option<String>,
    /// Any of these statuses (empty: any).
    pub statuses: Vec<JobStatus>,
    /// The begin time in this range.
    pub begin_time: TimeRange,
    /// The end time in this range.
    pub end_time: TimeRange,
    /// The last run time in this range.
    pub last_run_time: TimeRange,
    /// The creation time in this range.
    pub creation_time: TimeRange,
    /// Abandoned or not.
    pub abandoned: Option<bool>,
    /// The kind.
    pub kind: Option<JobKind>,
    /// The priority.
    pub priority: Option<JobPriority>,
    /// The source.
    pub source: Option<JobSource>,
    /// Pinned to this node.
    pub node_name: Option<String>,
    /// Running (a lease is held) or not.
    pub running: Option<bool>,
    /// The order.
    pub sort: JobSort,
    /// How many matching jobs to skip.
    pub offset: usize,
    /// How many to return (cut to [`MAX_PAGE_SIZE`]; 0 returns none, with the total).
    pub limit: usize,
}

impl JobQuery {
    /// Every job, 50 at a time.
    pub fn all() -> Self {
        Self {
            limit: 50,
            ..Self::default()
        }
    }

    /// The page size the store uses: the limit, cut to [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> usize {
        self.limit.min(MAX_PAGE_SIZE)
    }

    /// The text filter, lowercased, if it says anything.
    pub fn text_lowercase(&self) -> Option<String> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
    }
}

/// One page of jobs, and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    /// The jobs of the page, in the query's order.
    pub items: Vec<JobRecord>,
    /// How many jobs match the filters.
    pub total: u64,
}
