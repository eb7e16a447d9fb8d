//! The store conformance suite on the in-memory store.

use std::sync::Arc;

use bgtasks_core::InMemoryJobLockProvider;
use bgtasks_core::clock::SystemClock;
use bgtasks_core::store::{DynJobLockProvider, InMemoryJobStore, JobStore};
use bgtasks_store_conformance::StoreFactory;

struct Memory;

impl StoreFactory for Memory {
    async fn fresh(&self) -> Arc<dyn JobStore> {
        Arc::new(InMemoryJobStore::new())
    }

    async fn reopen(&self, store: &Arc<dyn JobStore>) -> Arc<dyn JobStore> {
        store.clone()
    }

    async fn locks(
        &self,
        _store: &Arc<dyn JobStore>,
    ) -> (Arc<dyn DynJobLockProvider>, Arc<dyn DynJobLockProvider>) {
        // In one process, one provider is shared by every runtime that should exclude
        // each other: both handles are the same provider.
        let shared: Arc<dyn DynJobLockProvider> =
            Arc::new(InMemoryJobLockProvider::new(Arc::new(SystemClock)));
        (shared.clone(), shared)
    }
}

// spec: R27, R28, R37, R38, R39, R40, R41, R42, R43, R46, R51
bgtasks_store_conformance::job_store_conformance!(Memory);
