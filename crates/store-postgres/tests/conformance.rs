//! The conformance suite every job store passes, against PostgreSQL: each case on a
//! database of its own, on the caller's clock (the cases pass fixed times). `reopen` opens
//! a second pool on the same database, as another process would; `locks` are two
//! providers on two pools.
// spec: R27, R28, R31

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bgtasks_actions::JobActionStore;
use bgtasks_store::{JobLockProvider, JobStore};
use bgtasks_store_conformance::StoreFactory;

/// Creates one database (on `fresh`) and opens handles onto it.
#[derive(Default)]
struct Postgres {
    url: OnceLock<String>,
}

impl Postgres {
    fn url(&self) -> &str {
        self.url.get().expect("fresh() creates the database first")
    }
}

#[async_trait]
impl StoreFactory for Postgres {
    async fn fresh(&self) -> Arc<dyn JobStore> {
        let url = support::fresh_database().await;
        let store = support::connect_fixed(&url).await;
        self.url.set(url).expect("one database per case");
        Arc::new(store)
    }

    async fn reopen(&self, _store: &Arc<dyn JobStore>) -> Arc<dyn JobStore> {
        Arc::new(support::connect_fixed(self.url()).await)
    }

    async fn locks(
        &self,
        _store: &Arc<dyn JobStore>,
    ) -> (Arc<dyn JobLockProvider>, Arc<dyn JobLockProvider>) {
        let one = support::connect_fixed(self.url()).await;
        let two = support::connect_fixed(self.url()).await;
        (Arc::new(one.lock_provider()), Arc::new(two.lock_provider()))
    }

    async fn action_store(&self, _store: &Arc<dyn JobStore>) -> Arc<dyn JobActionStore> {
        Arc::new(support::connect_fixed(self.url()).await.action_store())
    }
}

bgtasks_store_conformance::job_store_conformance!(Postgres::default());
