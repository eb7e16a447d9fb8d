//! Starting and stopping the service: its database, its job runtime, its router.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use bgtasks::prelude::*;
use bgtasks::sqlite::{SqliteJobStore, SqliteStoreOptions, sqlx};
use bgtasks::{BuildError, SchedulerError, StoreError, SystemClock};

use crate::jobs::{SignupReport, WelcomeMail};
use crate::routes::{self, Api};
use crate::state::AppState;

/// How the service is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the service keeps its SQLite file, `app.db`: the application's tables and
    /// the job store's, side by side.
    pub data_dir: PathBuf,
    /// How many signups the service takes in all.
    pub max_signups: i64,
    /// The sender of the service's mail.
    pub sender: String,
    /// The job runtime's node name.
    pub node_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            max_signups: 1000,
            sender: "Example Service <hello@example.com>".to_owned(),
            node_name: "axum-service".to_owned(),
        }
    }
}

/// The service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The job store did not open.
    #[error("cannot open the job store: {0}")]
    Store(#[from] StoreError),
    /// The application's tables could not be created.
    #[error("cannot create the application's tables: {0}")]
    Database(#[from] sqlx::Error),
    /// The runtime's options are invalid.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The runtime did not start.
    #[error("cannot start the job runtime: {0}")]
    Start(#[from] SchedulerError),
}

/// A running service: its job runtime and what its router serves.
pub struct Service {
    runtime: BackgroundTasks,
    api: Api,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("node", &self.runtime.node_name())
            .field("database", &self.api.store.database())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Opens `DATA_DIR/app.db` (creating it), creates the application's tables beside the
    /// job store's, and starts the job runtime on it with the shared state registered.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let path = config.data_dir.join("app.db");
        let options = SqliteStoreOptions::default()
            .application_tables(true)
            .pool_size(8);
        let store = SqliteJobStore::open(&path, options).await?;
        crate::db::migrate(store.pool()).await?;
        let app = Arc::new(AppState {
            db: store.pool().clone(),
            sender: config.sender,
            max_signups: config.max_signups,
        });
        let runtime = BackgroundTasks::builder()
            .node_name(config.node_name)
            .workers(4)
            .store(Arc::new(store.clone()))
            .lock_provider(Arc::new(store.lock_provider(Arc::new(SystemClock))))
            .state(app.clone())
            .register::<WelcomeMail>()
            .register::<SignupReport>()
            .build()?;
        runtime.start().await?;
        let api = Api {
            runtime: runtime.clone(),
            store,
            app,
        };
        Ok(Self { runtime, api })
    }

    /// The HTTP routes.
    pub fn router(&self) -> Router {
        routes::router(self.api.clone())
    }

    /// The job runtime.
    pub fn runtime(&self) -> &BackgroundTasks {
        &self.runtime
    }

    /// The application's database (the job store's file).
    pub fn db(&self) -> &sqlx::SqlitePool {
        &self.api.app.db
    }

    /// Stops the runtime, letting running jobs finish within its grace period, and
    /// closes the database.
    pub async fn shutdown(self) -> Result<(), SchedulerError> {
        self.runtime.shutdown().await?;
        self.api.store.close().await;
        Ok(())
    }
}
