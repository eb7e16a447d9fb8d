//! The nodes sharing a store: who is alive, which job types each can run, and the jobs
//! no live node can run.

use async_trait::async_trait;
use bgtasks_abstractions::JobInfo;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// What a node tells the store about itself, every heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeHeartbeat {
    /// The node's name.
    pub node: String,
    /// The job types it has registered.
    pub job_types: Vec<String>,
    /// When its runtime started.
    pub started_at: DateTime<Utc>,
    /// When this heartbeat was sent (the node's clock).
    pub at: DateTime<Utc>,
    /// How many runs it has in flight.
    pub running: u32,
    /// Free-form details (its health report), as JSON.
    pub info: serde_json::Value,
}

/// A node as the store last heard of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node's last heartbeat.
    pub heartbeat: NodeHeartbeat,
}

impl NodeRecord {
    /// Whether the node sent a heartbeat at or after `since`.
    pub fn is_live(&self, since: DateTime<Utc>) -> bool {
        self.heartbeat.at >= since
    }
}

/// The registry of nodes.
#[async_trait]
pub trait NodeRegistry: Send + Sync {
    /// Records a node's heartbeat (replacing its previous one).
    async fn heartbeat(&self, beat: &NodeHeartbeat) -> Result<(), StoreError>;

    /// Every node the store has heard of, by name.
    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError>;

    /// Forgets a node (it shut down); `false` if it was not known.
    async fn forget_node(&self, node: &str) -> Result<bool, StoreError>;

    /// Due jobs (claimable at `now`) whose type no node live since `live_since` has
    /// registered: nobody will run them until such a node comes (R41). At most `max`,
    /// earliest due first.
    async fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError>;
}
