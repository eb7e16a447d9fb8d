//! The store handle: connecting, the pool, the bound on every call (R45), and the lock
//! provider kept beside the jobs.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_store::StoreError;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, PgPool};
use tokio::sync::Notify;

use crate::locks::PostgresJobLockProvider;
use crate::notify::{Channel, Signals};
use crate::options::{PostgresStoreOptions, TimeSource};
use crate::schedules::ScheduleCache;
use crate::schema;

/// A job store in PostgreSQL, shared by any number of nodes. Cheap to clone: clones share
/// one connection pool.
///
/// It implements every capability of the store contract (`bgtasks_store::JobStore`).
/// Claims take due rows with `FOR UPDATE SKIP LOCKED` in one transaction per batch, so
/// nodes never wait for each other and never claim one run twice; completions are fenced
/// by lease tokens from one sequence; a LISTEN connection turns `pg_notify` on channels
/// `bgtasks_due` and `bgtasks_control` into the runtime's wake-up and control signals.
#[derive(Clone)]
pub struct PostgresJobStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: PgPool,
    /// `host:port` of the server, for messages (never the credentials).
    pub(crate) server: String,
    pub(crate) schedules: ScheduleCache,
    pub(crate) time_source: TimeSource,
    /// The longest time one store call may take (R45).
    call_timeout: Duration,
    signals: Option<Signals>,
}

impl std::fmt::Debug for PostgresJobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresJobStore")
            .field("server", &self.inner.server)
            .field("connections", &self.inner.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresJobStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`),
    /// applies the embedded migrations (unless [`migrate`] is off), and returns the store.
    ///
    /// Fails with [`StoreError::Unavailable`] naming the host and port (never the
    /// credentials) when the server cannot be reached within the connect timeout, and with
    /// [`StoreError::Other`] when the URL or an option is invalid, or when the database's
    /// schema is newer than this build knows (naming both versions).
    ///
    /// Must be called within a Tokio runtime; the store's background task (the LISTEN
    /// connection) runs on it.
    ///
    /// [`migrate`]: PostgresStoreOptions::migrate
    pub async fn connect(url: &str, options: PostgresStoreOptions) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::other("PostgresJobStore::connect must be called within a Tokio runtime")
        })?;
        options.validate().map_err(|reason| {
            StoreError::other(format!("invalid PostgreSQL store options: {reason}"))
        })?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::other(
                "invalid PostgreSQL URL: expected postgres://user:password@host:port/database",
            ));
        }
        let connect = PgConnectOptions::from_str(url).map_err(|error| {
            StoreError::other(format!(
                "invalid PostgreSQL URL (expected postgres://user:password@host:port/database): {}",
                redact_url_error(&error, url)
            ))
        })?;
        let connect = prepare_options(connect, &options);
        let server = format!("{}:{}", connect.get_host(), connect.get_port());

        // The migrations run without the session timeouts: an upgrade of a large table
        // may take longer than one statement of the data path may.
        let mut setup = open_setup_connection(&connect, &server, &options).await?;
        let prepared = schema::prepare(&mut setup, &server, &options.schema, options.migrate).await;
        schema::close(setup).await;
        prepared?;

        let connect = connect.options(options.session_settings());
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(options.connect_timeout)
            // An idle connection is pinged before use, so that after the server restarted
            // a dead connection is replaced instead of failing a completion.
            .test_before_acquire(true)
            .connect_lazy_with(connect.clone());
        let signals = options
            .notifications
            .then(|| Signals::new(connect, options.connect_timeout, server.clone(), runtime));
        tracing::debug!(server = %server, schema = %options.schema, "connected the PostgreSQL job store");
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                server,
                schedules: ScheduleCache::default(),
                time_source: options.time_source,
                call_timeout: options.call_timeout,
                signals,
            }),
        })
    }

    /// The connection pool (for tools and tests; the tables are described in the crate
    /// documentation).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The server as `host:port`, as error messages name it.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// A lock provider on the same database (table `bgtasks_locks`), sharing this store's
    /// pool. Each call returns a provider with its own owner id: locks taken by one are
    /// refused to every other until released or expired.
    pub fn lock_provider(&self) -> PostgresJobLockProvider {
        PostgresJobLockProvider::new(
            self.inner.pool.clone(),
            self.inner.server.clone(),
            self.inner.call_timeout,
        )
    }

    /// Closes the store: stops its LISTEN connection, waits for the pool's connections in
    /// use to come back and closes them all. Operations after this fail as unavailable
    /// (for every clone of this store).
    pub async fn close(&self) {
        if let Some(signals) = &self.inner.signals {
            signals.stop();
        }
        self.inner.pool.close().await;
    }

    /// Whose clock judges leases and due times.
    pub fn time_source(&self) -> TimeSource {
        self.inner.time_source
    }

    pub(crate) fn subscribe(&self, channel: Channel) -> Option<Arc<Notify>> {
        self.inner
            .signals
            .as_ref()
            .map(|signals| signals.subscribe(channel))
    }

    /// The caller's `now` to bind where the SQL reads `COALESCE($n, now())`: `Some` when
    /// the caller's clock is the store's, `None` when the database's is (R45).
    pub(crate) fn caller_now(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.inner.time_source {
            TimeSource::Caller => Some(now),
            TimeSource::Database => None,
        }
    }

    /// Runs one store call (operation `what`), bounded by the call timeout (R45).
    pub(crate) async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(&self.inner.server, self.inner.call_timeout, what, call).await
    }

    /// A handler turning a database error of operation `what` into a store error.
    pub(crate) fn fail<'a>(&'a self, what: &'a str) -> impl Fn(sqlx::Error) -> StoreError + 'a {
        move |e| crate::errors::store_error(&self.inner.server, what, e)
    }
}

/// Runs `call` (operation `what` on the server `server`) for at most `within`; past it
/// the call is dropped (the pool checks a connection it held before using it again) and
/// fails as unavailable.
pub(crate) async fn bounded<T>(
    server: &str,
    within: Duration,
    what: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(within, call).await {
        Ok(done) => done,
        Err(_) => Err(StoreError::unavailable(format!(
            "PostgreSQL at {server} failed to {what}: no answer within {within:?} \
             (option `call_timeout`)"
        ))),
    }
}

fn prepare_options(connect: PgConnectOptions, options: &PostgresStoreOptions) -> PgConnectOptions {
    let connect = if connect.get_application_name().is_none() {
        connect.application_name("bgtasks")
    } else {
        connect
    };
    connect
        .options([("search_path", options.schema.as_str())])
        .disable_statement_logging()
}

/// Opens the connection that checks and migrates the schema; it also proves the server
/// can be reached, with a precise error when it cannot.
async fn open_setup_connection(
    connect: &PgConnectOptions,
    server: &str,
    options: &PostgresStoreOptions,
) -> Result<PgConnection, StoreError> {
    match tokio::time::timeout(options.connect_timeout, connect.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(crate::errors::connect_error(server, error)),
        Err(_) => Err(StoreError::unavailable(format!(
            "cannot connect to PostgreSQL at {server}: no answer within {:?}",
            options.connect_timeout
        ))),
    }
}

/// The text of a URL parse error, with the URL's password (if the error repeats it)
/// replaced.
fn redact_url_error(error: &sqlx::Error, url: &str) -> String {
    let text = error.to_string();
    match password_of(url) {
        Some(password) if !password.is_empty() => text.replace(password, "***"),
        _ => text,
    }
}

fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split(['/', '?']).next()?.rsplit_once('@')?.0;
    userinfo.split_once(':').map(|(_, password)| password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_for_redaction() {
        assert_eq!(password_of("postgres://u:secret@h:1/db"), Some("secret"));
        assert_eq!(password_of("postgres://u@h:1/db"), None);
        assert_eq!(password_of("postgres://h/db"), None);
    }
}
