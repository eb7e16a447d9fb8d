//! What every handler shares: the runtime and the configuration.

use std::sync::Arc;

use bgtasks_core::Runtime;
use bgtasks_store::JobStore;
use chrono::{DateTime, Utc};

use crate::config::AdminConfig;

/// The handlers' state: cheap to clone.
#[derive(Clone)]
pub(crate) struct AdminState {
    pub(crate) runtime: Runtime,
    pub(crate) config: Arc<AdminConfig>,
}

impl AdminState {
    /// The store, for reads (changes go through the runtime).
    pub(crate) fn store(&self) -> &Arc<dyn JobStore> {
        self.runtime.store()
    }

    /// The runtime's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.runtime.clock().now()
    }

    /// The earliest heartbeat of a node that counts as live.
    pub(crate) fn live_since(&self) -> DateTime<Utc> {
        let window = chrono::Duration::from_std(self.config.node_liveness)
            .unwrap_or(chrono::Duration::seconds(30));
        self.now() - window
    }
}
