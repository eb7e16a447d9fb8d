//! The store conformance suite on SQLite: a new file for every fresh store; "reopen" is
//! a new connection pool on the same file, as a second process would open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bgtasks_abstractions::SystemClock;
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{DynJobLockProvider, JobStore};
use bgtasks_store_conformance::StoreFactory;
use tempfile::TempDir;

/// Opens the stores of a case in a temp dir of its own: each fresh store on a file of its
/// own, each reopened one on the file of the store it reopens.
struct Sqlite {
    dir: TempDir,
    /// The file of each fresh store (by the address of its handle), newest last.
    files: Mutex<Vec<(usize, PathBuf)>>,
}

/// The identity of a store handle.
fn key(store: &Arc<dyn JobStore>) -> usize {
    Arc::as_ptr(store).cast::<()>() as usize
}

impl Sqlite {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            files: Mutex::new(Vec::new()),
        }
    }

    /// The file of `store`, or of the newest fresh store.
    fn path(&self, store: Option<&Arc<dyn JobStore>>) -> PathBuf {
        let files = self.files.lock().unwrap();
        let of_store = store.and_then(|s| files.iter().find(|(k, _)| *k == key(s)));
        of_store
            .or(files.last())
            .map(|(_, path)| path.clone())
            .expect("fresh() runs first")
    }

    /// A handle on a file: a new pool, as another process would open.
    async fn open(&self, path: PathBuf) -> SqliteJobStore {
        SqliteJobStore::open(path, SqliteStoreOptions::default())
            .await
            .unwrap()
    }
}

impl StoreFactory for Sqlite {
    async fn fresh(&self) -> Arc<dyn JobStore> {
        let n = self.files.lock().unwrap().len();
        let path = self.dir.path().join(format!("jobs-{n}.db"));
        let store: Arc<dyn JobStore> = Arc::new(self.open(path.clone()).await);
        self.files.lock().unwrap().push((key(&store), path));
        store
    }

    async fn reopen(&self, store: &Arc<dyn JobStore>) -> Arc<dyn JobStore> {
        Arc::new(self.open(self.path(Some(store))).await)
    }

    async fn locks(
        &self,
        store: &Arc<dyn JobStore>,
    ) -> (Arc<dyn DynJobLockProvider>, Arc<dyn DynJobLockProvider>) {
        // Two processes: two pools, two lock owners.
        let path = self.path(Some(store));
        let one = self
            .open(path.clone())
            .await
            .lock_provider(Arc::new(SystemClock));
        let two = self.open(path).await.lock_provider(Arc::new(SystemClock));
        (Arc::new(one), Arc::new(two))
    }
}

// spec: R1, R3, R4, R5, R12, R20, R26, R27, R28, R29, R30, R31, R37, R38, R39, R40, R41, R42, R43, R44, R46, R51
bgtasks_store_conformance::job_store_conformance!(Sqlite::new());
