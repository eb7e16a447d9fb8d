//! Bulk operations: on a list of ids or on everything a filter matches, bounded, each job
//! one transition of its own, with a report of what changed and what was refused.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::JobDto;

/// Which jobs a bulk operation concerns: `jobIds`, or a `filter` with the jobs list's
/// names (`{"status": [5, 15], "group": "billing"}`). Exactly one of the two.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BulkInput {
    /// The ids of the jobs (at most 1,000).
    #[serde(default)]
    pub(crate) job_ids: Option<Vec<String>>,
    /// The jobs list's filters; the operation applies to the first 1,000 matching jobs
    /// (by creation time).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) filter: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A job a bulk operation left alone, and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkRefusal {
    /// The job id.
    pub(crate) id: String,
    /// `notFound`, `conflict` or `error`.
    pub(crate) code: String,
    /// Why, for people.
    pub(crate) reason: String,
    /// The job as it is, when its state refused the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current: Option<JobDto>,
}

/// What a bulk operation did.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkReport {
    /// The operation (`pause`, `resume`, `trigger`, `stop`, `start`, `retry`, `delete`).
    pub(crate) operation: String,
    /// How many jobs the ids or the filter named.
    pub(crate) matched: u64,
    /// How many were tried (at most the bound).
    pub(crate) processed: usize,
    /// How many were changed.
    pub(crate) changed: usize,
    /// The ids that were changed.
    pub(crate) changed_ids: Vec<String>,
    /// Those left alone, with why.
    pub(crate) refused: Vec<BulkRefusal>,
    /// Matching jobs not tried because of the bound (run the operation again for them).
    pub(crate) remaining: u64,
}
