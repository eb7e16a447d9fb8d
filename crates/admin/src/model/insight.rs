//! What an operator looks at: counts, throughput and lag; the nodes and their health;
//! the job types; who is calling.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Role;

/// A count under a name.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NamedCount {
    /// The name (a type, a group, a node).
    pub(crate) name: String,
    /// How many.
    pub(crate) count: u64,
}

/// Jobs in one status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusCount {
    /// The status code.
    pub(crate) status: i32,
    /// Its name.
    pub(crate) name: String,
    /// How many jobs.
    pub(crate) count: u64,
}

/// How runs went in one stretch of time.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunBucketDto {
    /// The stretch's start.
    pub(crate) start: DateTime<Utc>,
    /// Runs that succeeded.
    pub(crate) succeeded: u64,
    /// Runs that failed, by failure type (`business`, `application`, `network`,
    /// `system`).
    pub(crate) failed: BTreeMap<String, u64>,
    /// Runs interrupted before their end.
    pub(crate) interrupted: u64,
    /// Every run of the stretch.
    pub(crate) runs: u64,
}

/// The statistics page: counts now, and runs over the last hours.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatisticsDto {
    /// When the counts were taken.
    pub(crate) now: DateTime<Utc>,
    /// Every job.
    pub(crate) total: u64,
    /// Jobs by status (every status, zeros included).
    pub(crate) by_status: Vec<StatusCount>,
    /// Jobs by registered type, most first.
    pub(crate) by_type: Vec<NamedCount>,
    /// Jobs by group, most first.
    pub(crate) by_group: Vec<NamedCount>,
    /// Runs in flight by node.
    pub(crate) running_by_node: Vec<NamedCount>,
    /// Abandoned jobs.
    pub(crate) abandoned: u64,
    /// Jobs due and waiting for a node.
    pub(crate) due: u64,
    /// The earliest next run time among them.
    pub(crate) oldest_due: Option<DateTime<Utc>>,
    /// Queue lag: how long the oldest due job has waited, in seconds.
    pub(crate) queue_lag_seconds: f64,
    /// The start of the history.
    pub(crate) since: DateTime<Utc>,
    /// The length of one stretch of the history, in seconds.
    pub(crate) bucket_seconds: u64,
    /// Runs per stretch, oldest first (stretches without runs left out).
    pub(crate) history: Vec<RunBucketDto>,
    /// Job types of due jobs that no live node has registered (R41): nobody runs them.
    pub(crate) orphaned_types: Vec<String>,
    /// How many due jobs no live node can run (counted up to 1,000).
    pub(crate) orphaned_jobs: usize,
    /// Nodes heard from within the liveness window.
    pub(crate) live_nodes: usize,
}

/// A node sharing the store.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeDto {
    /// Its name.
    pub(crate) name: String,
    /// Whether it was heard from within the liveness window.
    pub(crate) live: bool,
    /// Whether it is the node serving this API.
    pub(crate) this_node: bool,
    /// The job types it has registered.
    pub(crate) job_types: Vec<String>,
    /// When its runtime started.
    pub(crate) started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub(crate) last_heartbeat: DateTime<Utc>,
    /// Seconds since its last heartbeat.
    pub(crate) heartbeat_age_seconds: f64,
    /// Runs in flight at its last heartbeat.
    pub(crate) running: u32,
    /// What it reported about itself: workers, state, health (loops, store).
    #[schema(value_type = Object)]
    pub(crate) info: serde_json::Value,
}

/// The nodes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeListDto {
    /// Every node the store knows, by name.
    pub(crate) items: Vec<NodeDto>,
    /// The node serving this API.
    pub(crate) this_node: String,
    /// A node is live when heard from within this many seconds.
    pub(crate) liveness_seconds: u64,
}

/// A job type (the reference's `BackgroundJobDefinitionDto`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobDefinitionDto {
    /// The registered name.
    pub(crate) name: String,
    /// A name for people (the registered name).
    pub(crate) display_name: String,
    /// What it does (empty: types carry no description).
    pub(crate) description: String,
    /// Its parameters (empty: arguments are free-form JSON).
    pub(crate) parameters: Vec<String>,
    /// Whether the node serving this API runs it.
    pub(crate) registered_here: bool,
    /// The live nodes that run it.
    pub(crate) nodes: Vec<String>,
}

/// The job types.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobDefinitionList {
    /// The types, by name.
    pub(crate) items: Vec<JobDefinitionDto>,
}

/// Who is calling, and what this API offers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionDto {
    /// The caller's role.
    pub(crate) role: Role,
    /// Whether tokens are configured (else everyone is an operator).
    pub(crate) tokens_required: bool,
    /// The node serving this API.
    pub(crate) node: String,
    /// The dashboard's title.
    pub(crate) title: String,
    /// The crate's version.
    pub(crate) version: String,
    /// The most jobs one bulk operation changes.
    pub(crate) bulk_limit: usize,
    /// The largest page.
    pub(crate) max_page_size: usize,
}

/// A due job no live node can run (R41).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrphanedJobDto {
    /// The job's id.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// Its group.
    pub(crate) group: String,
    /// The type no live node has registered.
    #[serde(rename = "type")]
    pub(crate) job_type: String,
    /// Its status code.
    pub(crate) status: i32,
    /// When it was due.
    pub(crate) next_run_time: Option<DateTime<Utc>>,
    /// The node it is pinned to, if any.
    pub(crate) node_name: Option<String>,
}

/// The due jobs no live node can run, earliest due first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrphanedJobList {
    /// The jobs (at most the page size).
    pub(crate) items: Vec<OrphanedJobDto>,
    /// The types they need, and how many jobs need each.
    pub(crate) types: Vec<NamedCount>,
}
