//! The store conformance suite on SQLite: a fresh file per case; "reopen" is a new
//! connection pool on the same file, as a second process would open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bgtasks_abstractions::SystemClock;
use bgtasks_actions::JobActionStore;
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{JobLockProvider, JobStore};
use bgtasks_store_conformance::StoreFactory;
use tempfile::TempDir;

/// Opens every store of a case on one file in a temp dir of its own.
struct Sqlite {
    dir: TempDir,
    path: Mutex<Option<PathBuf>>,
}

impl Sqlite {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            path: Mutex::new(None),
        }
    }

    fn path(&self) -> PathBuf {
        self.path
            .lock()
            .unwrap()
            .clone()
            .expect("fresh() runs first")
    }

    /// Another handle on the file: a new pool, as another process would open.
    async fn open(&self) -> SqliteJobStore {
        SqliteJobStore::open(self.path(), SqliteStoreOptions::default())
            .await
            .unwrap()
    }
}

#[async_trait]
impl StoreFactory for Sqlite {
    async fn fresh(&self) -> Arc<dyn JobStore> {
        let path = self.dir.path().join("jobs.db");
        *self.path.lock().unwrap() = Some(path);
        Arc::new(self.open().await)
    }

    async fn reopen(&self, _store: &Arc<dyn JobStore>) -> Arc<dyn JobStore> {
        Arc::new(self.open().await)
    }

    async fn locks(
        &self,
        _store: &Arc<dyn JobStore>,
    ) -> (Arc<dyn JobLockProvider>, Arc<dyn JobLockProvider>) {
        // Two processes: two pools, two lock owners.
        let one = self.open().await.lock_provider(Arc::new(SystemClock));
        let two = self.open().await.lock_provider(Arc::new(SystemClock));
        (Arc::new(one), Arc::new(two))
    }

    async fn action_store(&self, _store: &Arc<dyn JobStore>) -> Arc<dyn JobActionStore> {
        Arc::new(self.open().await.action_store())
    }
}

// spec: R1, R3, R4, R5, R12, R20, R26, R27, R28, R29, R30, R31, R37, R38, R39, R40, R41, R46
bgtasks_store_conformance::job_store_conformance!(Sqlite::new());
