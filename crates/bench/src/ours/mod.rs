//! bgtasks under every workload.

use std::sync::Arc;

use bgtasks::JobStore;
use bgtasks::postgres::{PostgresJobStore, PostgresStoreOptions};
use bgtasks::sqlite::{SqliteJobStore, SqliteStoreOptions};

use crate::BenchResult;
use crate::pg::FreshDatabase;

pub(crate) mod churn;
pub(crate) mod cron;
pub(crate) mod drain;
pub(crate) mod enqueue;
pub(crate) mod idle;
pub(crate) mod latency;
pub(crate) mod memory;
pub(crate) mod processes;

/// Which store a workload runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    /// `InMemoryJobStore`.
    Memory,
    /// `SqliteJobStore` on a fresh file (WAL, synchronous FULL).
    Sqlite,
    /// `PostgresJobStore` on a fresh database.
    Postgres,
}

impl StoreKind {
    /// The name used in tables and on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Parses [`name`](Self::name).
    pub(crate) fn parse(name: &str) -> BenchResult<Self> {
        match name {
            "memory" => Ok(Self::Memory),
            "sqlite" => Ok(Self::Sqlite),
            "postgres" => Ok(Self::Postgres),
            other => Err(format!("unknown store `{other}`").into()),
        }
    }
}

/// A store opened for one run, with what it lives in.
pub(crate) struct OpenedStore {
    /// The store.
    pub(crate) store: Arc<dyn JobStore>,
    dir: Option<tempfile::TempDir>,
    database: Option<FreshDatabase>,
    sqlite: Option<SqliteJobStore>,
    postgres: Option<PostgresJobStore>,
}

impl OpenedStore {
    /// Opens a fresh store of this kind.
    pub(crate) async fn open(kind: StoreKind) -> BenchResult<Self> {
        match kind {
            StoreKind::Memory => Ok(Self {
                store: Arc::new(bgtasks::InMemoryJobStore::new()),
                dir: None,
                database: None,
                sqlite: None,
                postgres: None,
            }),
            StoreKind::Sqlite => {
                let dir = tempfile::tempdir()?;
                let store =
                    SqliteJobStore::open(dir.path().join("jobs.db"), SqliteStoreOptions::default())
                        .await?;
                Ok(Self {
                    store: Arc::new(store.clone()),
                    dir: Some(dir),
                    database: None,
                    sqlite: Some(store),
                    postgres: None,
                })
            }
            StoreKind::Postgres => {
                let database = FreshDatabase::create("ours").await?;
                let store =
                    PostgresJobStore::connect(&database.url, PostgresStoreOptions::default())
                        .await?;
                Ok(Self {
                    store: Arc::new(store.clone()),
                    dir: None,
                    database: Some(database),
                    sqlite: None,
                    postgres: Some(store),
                })
            }
        }
    }

    /// A second handle on the same PostgreSQL database (another pool), for a producer
    /// that is not the consuming node.
    pub(crate) async fn second_postgres_handle(&self) -> BenchResult<Arc<dyn JobStore>> {
        let database = self
            .database
            .as_ref()
            .ok_or("a second handle needs a PostgreSQL store")?;
        let options = PostgresStoreOptions::default()
            .with_migrate(false)
            .with_notifications(false);
        Ok(Arc::new(
            PostgresJobStore::connect(&database.url, options).await?,
        ))
    }

    /// The URL of the PostgreSQL database the store lives in.
    pub(crate) fn postgres_url(&self) -> BenchResult<&str> {
        self.database
            .as_ref()
            .map(|d| d.url.as_str())
            .ok_or_else(|| "not a PostgreSQL store".into())
    }

    /// Closes the store's connections, keeping its file or database.
    pub(crate) async fn close_connections(&self) {
        if let Some(store) = &self.sqlite {
            store.close().await;
        }
        if let Some(store) = &self.postgres {
            store.close().await;
        }
    }

    /// Closes the store and removes its file or database.
    pub(crate) async fn close(self) -> BenchResult<()> {
        drop(self.store);
        if let Some(store) = self.sqlite {
            store.close().await;
        }
        if let Some(store) = self.postgres {
            store.close().await;
        }
        if let Some(database) = self.database {
            database.drop_now().await?;
        }
        drop(self.dir);
        Ok(())
    }
}
