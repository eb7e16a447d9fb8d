//! The conformance suite every job store passes, against PostgreSQL: each store a case
//! makes on a database of its own, on the caller's clock (the cases pass fixed times). `reopen` opens
//! a second pool on the same database, as another process would; `locks` are two
//! providers on two pools.
// spec: R27, R28, R31, R42, R43, R46, R51

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use bgtasks_store::{DynJobLockProvider, JobStore};
use bgtasks_store_conformance::StoreFactory;

/// Creates a database on each `fresh` and opens handles onto the database of a store.
#[derive(Default)]
struct Postgres {
    /// The database of each store `fresh` made, by the store's address.
    urls: Mutex<Vec<(usize, String)>>,
}

/// A store's address, which tells the stores `fresh` made apart.
fn address(store: &Arc<dyn JobStore>) -> usize {
    Arc::as_ptr(store).cast::<()>() as usize
}

impl Postgres {
    fn url(&self, store: &Arc<dyn JobStore>) -> String {
        let urls = self.urls.lock().unwrap();
        let found = urls.iter().find(|(at, _)| *at == address(store));
        found.expect("a store fresh() made").1.clone()
    }
}

impl StoreFactory for Postgres {
    async fn fresh(&self) -> Arc<dyn JobStore> {
        let url = support::fresh_database().await;
        let store: Arc<dyn JobStore> = Arc::new(support::connect_fixed(&url).await);
        self.urls.lock().unwrap().push((address(&store), url));
        store
    }

    async fn reopen(&self, store: &Arc<dyn JobStore>) -> Arc<dyn JobStore> {
        Arc::new(support::connect_fixed(&self.url(store)).await)
    }

    async fn locks(
        &self,
        store: &Arc<dyn JobStore>,
    ) -> (Arc<dyn DynJobLockProvider>, Arc<dyn DynJobLockProvider>) {
        let url = self.url(store);
        let one = support::connect_fixed(&url).await;
        let two = support::connect_fixed(&url).await;
        (Arc::new(one.lock_provider()), Arc::new(two.lock_provider()))
    }
}

bgtasks_store_conformance::job_store_conformance!(Postgres::default());
