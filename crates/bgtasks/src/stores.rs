//! Opening a job store from a URL (features `sqlite`, `postgres`).

use std::sync::Arc;

use bgtasks_abstractions::Clock;
use bgtasks_core::store::{InMemoryJobStore, JobStore, StoreError};
use bgtasks_core::{DynJobLockProvider, InMemoryJobLockProvider};

/// A store opened from a URL, with the lock provider that goes with it (on the same
/// database, so that several processes share it).
pub struct OpenedStore {
    /// The job store.
    pub jobs: Arc<dyn JobStore>,
    /// Exclusive job locks over the same database.
    pub locks: Arc<dyn DynJobLockProvider>,
    /// What was opened, for logs (never a password).
    pub description: String,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("description", &self.description)
            .finish()
    }
}

/// A store URL that cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenStoreError {
    /// The URL's scheme is not a store this build knows.
    #[error("unsupported job store URL `{url}`: use `memory:`, `sqlite://PATH` or `postgres://…`")]
    Unsupported {
        /// The URL, without its password.
        url: String,
    },
    /// The store's crate is not compiled in.
    #[error("job store URL `{url}` needs the `{feature}` feature of the `bgtasks` crate")]
    NotCompiled {
        /// The URL, without its password.
        url: String,
        /// The missing feature.
        feature: &'static str,
    },
    /// The store refused to open.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the store a URL names: `memory:` (in this process only), `sqlite://PATH` or
/// `sqlite:PATH` (a file, created with its directory when missing), or
/// `postgres://USER@HOST:PORT/DB` (`postgresql://` too), with the default options of each.
/// Locks expire by `clock`.
pub async fn open_store(url: &str, clock: Arc<dyn Clock>) -> Result<OpenedStore, OpenStoreError> {
    let shown = redact(url);
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match scheme.as_str() {
        "memory" => Ok(OpenedStore {
            jobs: Arc::new(InMemoryJobStore::new()),
            locks: Arc::new(InMemoryJobLockProvider::new(clock)),
            description: "in-memory store".to_owned(),
        }),
        "sqlite" => open_sqlite(url, shown, clock).await,
        "postgres" | "postgresql" => open_postgres(url, shown).await,
        _ => Err(OpenStoreError::Unsupported { url: shown }),
    }
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(
    url: &str,
    shown: String,
    clock: Arc<dyn Clock>,
) -> Result<OpenedStore, OpenStoreError> {
    use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let store = if path.is_empty() || path.contains(":memory:") || path.contains('?') {
        SqliteJobStore::connect(url, SqliteStoreOptions::default()).await?
    } else {
        SqliteJobStore::open(path, SqliteStoreOptions::default()).await?
    };
    let _ = shown;
    Ok(OpenedStore {
        locks: Arc::new(store.lock_provider(clock)),
        description: format!("SQLite store {}", store.database()),
        jobs: Arc::new(store),
    })
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(
    _url: &str,
    shown: String,
    _clock: Arc<dyn Clock>,
) -> Result<OpenedStore, OpenStoreError> {
    Err(OpenStoreError::NotCompiled {
        url: shown,
        feature: "sqlite",
    })
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, _shown: String) -> Result<OpenedStore, OpenStoreError> {
    use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions};
    let store = PostgresJobStore::connect(url, PostgresStoreOptions::default()).await?;
    Ok(OpenedStore {
        locks: Arc::new(store.lock_provider()),
        description: format!("PostgreSQL store {}", store.server()),
        jobs: Arc::new(store),
    })
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str, shown: String) -> Result<OpenedStore, OpenStoreError> {
    Err(OpenStoreError::NotCompiled {
        url: shown,
        feature: "postgres",
    })
}

/// The URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let slash = if path.is_empty() && !rest.contains('/') {
                ""
            } else {
                "/"
            };
            if credentials.contains(':') {
                format!("{scheme}://{user}:***@{host}{slash}{path}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/jobs"),
            "postgres://app:***@db:5432/jobs"
        );
        assert_eq!(
            redact("postgres://app@db:5432/jobs"),
            "postgres://app@db:5432/jobs"
        );
        assert_eq!(redact("sqlite://data/jobs.db"), "sqlite://data/jobs.db");
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused_by_name() {
        let err = open_store("redis://h:1/0", Arc::new(bgtasks_abstractions::SystemClock))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported job store URL `redis://h:1/0`: use `memory:`, `sqlite://PATH` or `postgres://…`"
        );
        let memory = open_store("memory:", Arc::new(bgtasks_abstractions::SystemClock))
            .await
            .unwrap();
        assert_eq!(memory.description, "in-memory store");
    }
}
