//! The nodes sharing a store: who is alive, which job types each can run, and the jobs
//! no live node can run.

use bgtasks_abstractions::{BoxFuture, JobInfo};
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

/// The registry of nodes. Implement it with plain `async fn`s; the runtime calls it
/// through [`DynNodeRegistry`].
pub trait NodeRegistry: Send + Sync {
    /// Records a node's heartbeat (replacing its previous one).
    fn heartbeat(
        &self,
        beat: &NodeHeartbeat,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every node the store has heard of, by name.
    fn nodes(&self) -> impl Future<Output = Result<Vec<NodeRecord>, StoreError>> + Send;

    /// Forgets a node (it shut down); `false` if it was not known.
    fn forget_node(&self, node: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Due jobs (claimable at `now`) whose type no node live since `live_since` has
    /// registered: nobody will run them until such a node comes (R41). At most `max`,
    /// earliest due first.
    fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<JobInfo>, StoreError>> + Send;
}

/// The object-safe form of [`NodeRegistry`], with the same methods returning boxed
/// futures; a [`JobStore`](crate::JobStore) is one. Every `NodeRegistry` is one:
/// implement `NodeRegistry`, not this.
pub trait DynNodeRegistry: Send + Sync {
    /// See [`NodeRegistry::heartbeat`].
    fn heartbeat<'a>(&'a self, beat: &'a NodeHeartbeat) -> BoxFuture<'a, Result<(), StoreError>>;
    /// See [`NodeRegistry::nodes`].
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeRecord>, StoreError>>;
    /// See [`NodeRegistry::forget_node`].
    fn forget_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// See [`NodeRegistry::orphaned`].
    fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'_, Result<Vec<JobInfo>, StoreError>>;
}

impl<T: NodeRegistry> DynNodeRegistry for T {
    fn heartbeat<'a>(&'a self, beat: &'a NodeHeartbeat) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(NodeRegistry::heartbeat(self, beat))
    }

    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeRecord>, StoreError>> {
        Box::pin(NodeRegistry::nodes(self))
    }

    fn forget_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(NodeRegistry::forget_node(self, node))
    }

    fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'_, Result<Vec<JobInfo>, StoreError>> {
        Box::pin(NodeRegistry::orphaned(self, now, live_since, max))
    }
}
