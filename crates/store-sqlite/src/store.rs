//! The store handle: opening the file (checks, migrations, WAL), the pool, and the
//! methods beyond the [`JobStore`](bgtasks_store::JobStore) contract.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use bgtasks_abstractions::{Clock, CronSchedule, JobInfo, JobKind};
use bgtasks_store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};

use crate::errors::{open_error, other, store_error};
use crate::gate::WriteGate;
use crate::locks::SqliteJobLockProvider;
use crate::options::SqliteStoreOptions;
use crate::schema;
use crate::watch::{Signals, spawn_watcher};

/// A durable job store in one SQLite file, implementing every capability of the
/// `bgtasks-store` contract ([`JobStore`](bgtasks_store::JobStore)). Several processes
/// may open the same file: every transition runs in one `BEGIN IMMEDIATE` transaction
/// (or one statement), so no run is claimed twice, and everything a run writes is fenced
/// by its lease's token, unique for the life of the file. Cheap to clone; clones share
/// the pool.
///
/// Opening checks the file first: a file of another application, a corrupt file, or a
/// file whose bgtasks schema is newer than this build is refused with an error naming
/// the path.
#[derive(Clone)]
pub struct SqliteJobStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: SqlitePool,
    /// Lets this process's writes into the file one at a time.
    pub(crate) writes: WriteGate,
    /// The path (or URL) of the database, for messages.
    pub(crate) db: Arc<str>,
    /// The due and control signals of this handle.
    pub(crate) signals: Arc<Signals>,
    schedules: ScheduleCache,
}

impl fmt::Debug for SqliteJobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteJobStore")
            .field("db", &self.inner.db)
            .field("connections", &self.inner.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteJobStore {
    /// Opens (creating it and its directory if missing) the database file at `path`,
    /// checks it, and applies the schema's migrations.
    pub async fn open(
        path: impl AsRef<Path>,
        options: SqliteStoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let db: Arc<str> = Arc::from(path.display().to_string());
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| StoreError::Unavailable {
                message: format!(
                    "cannot create the directory `{}` of the SQLite job store `{db}`: {error}",
                    parent.display()
                ),
                source: Some(Box::new(error)),
            })?;
        }
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::start(connect, db, false, options).await
    }

    /// Opens the database of a `sqlite:` URL (`sqlite://path/to/jobs.db`,
    /// `sqlite::memory:`). The file (not its directory) is created if missing, unless the
    /// URL sets a `mode`.
    /// An in-memory database lives as long as the store and uses one connection.
    pub async fn connect(url: &str, options: SqliteStoreOptions) -> Result<Self, StoreError> {
        let mut connect = SqliteConnectOptions::from_str(url)
            .map_err(|error| other(format!("invalid SQLite URL `{url}`: {error}")))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !url.contains("mode=") {
            connect = connect.create_if_missing(true);
        }
        let db: Arc<str> = if in_memory {
            Arc::from(url)
        } else {
            Arc::from(connect.get_filename().display().to_string())
        };
        Self::start(connect, db, in_memory, options).await
    }

    async fn start(
        connect: SqliteConnectOptions,
        db: Arc<str>,
        in_memory: bool,
        options: SqliteStoreOptions,
    ) -> Result<Self, StoreError> {
        let connect = connect
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full);
        let pool_options = SqlitePoolOptions::new()
            .max_connections(options.pool_size.max(1))
            .acquire_timeout(options.acquire_timeout);
        let pool = if in_memory {
            // Every connection to `:memory:` would be a database of its own: keep one.
            let pool = pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(connect.clone())
                .await
                .map_err(|e| open_error(&db, e))?;
            let mut conn = pool.acquire().await.map_err(|e| open_error(&db, e))?;
            schema::prepare(&mut conn, &db, options.application_tables).await?;
            drop(conn);
            pool
        } else {
            // Check and migrate on a connection of its own, and only then switch the file
            // to WAL (a setting kept in the file): a file that is refused is left as it
            // was.
            let mut conn = connect.connect().await.map_err(|e| open_error(&db, e))?;
            let prepared = match schema::prepare(&mut conn, &db, options.application_tables).await {
                Ok(_) => schema::use_wal(&mut conn, &db, options.busy_timeout).await,
                Err(error) => Err(error),
            };
            let _ = conn.close().await;
            prepared?;
            pool_options
                .connect_with(connect.clone())
                .await
                .map_err(|e| open_error(&db, e))?
        };
        let signals = Arc::new(Signals::default());
        if !in_memory && let Some(interval) = options.watch_interval {
            spawn_watcher(
                connect,
                pool.clone(),
                Arc::downgrade(&signals),
                interval,
                db.clone(),
            )
            .await;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                writes: WriteGate::new(options.acquire_timeout),
                db,
                signals,
                schedules: ScheduleCache::default(),
            }),
        })
    }

    /// The connection pool (for tools and tests; the schema is described in the crate
    /// documentation).
    pub fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    /// The path (or URL) of the database.
    pub fn database(&self) -> &str {
        &self.inner.db
    }

    /// A job lock provider on the same database, with an owner id of its own, whose
    /// locks expire by `clock`. Each provider is one holder: locks exclude every other
    /// provider, in this process or another.
    pub fn lock_provider(&self, clock: Arc<dyn Clock>) -> SqliteJobLockProvider {
        SqliteJobLockProvider::new(
            self.inner.pool.clone(),
            self.inner.db.clone(),
            self.inner.writes.clone(),
            clock,
        )
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let mut conn = self
            .inner
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(&self.inner.db, "read the schema version", e))?;
        schema::version(&mut conn)
            .await
            .map_err(|e| store_error(&self.inner.db, "read the schema version", e))
    }

    /// Closes the pool's connections (and stops the change watcher). Operations on this
    /// handle or its clones fail afterwards.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// A write transaction (`BEGIN IMMEDIATE`): SQLite lets no other writer in until it
/// ends, so what it reads stays as read until it commits.
pub(crate) type WriteTx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// This process's turn to write (see [`WriteGate`]); it ends when dropped.
pub(crate) type WriteTurn<'a> = tokio::sync::MutexGuard<'a, ()>;

impl Inner {
    /// Waits for this process's turn to write `operation` (see [`WriteGate`]), at most
    /// the acquire timeout.
    pub(crate) async fn write_gate(&self, operation: &str) -> Result<WriteTurn<'_>, StoreError> {
        self.writes.enter(&self.db, operation).await
    }

    /// Waits for this process's turn to write, then opens a write transaction. Keep the
    /// turn until the transaction ends.
    pub(crate) async fn begin_write(
        &self,
        operation: &str,
    ) -> Result<(WriteTurn<'_>, WriteTx), StoreError> {
        let turn = self.write_gate(operation).await?;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| store_error(&self.db, operation, e))?;
        Ok((turn, tx))
    }

    /// Turns a database error of `operation` into a [`StoreError`] naming the database.
    pub(crate) fn failed<'a>(
        &'a self,
        operation: &'a str,
    ) -> impl Fn(sqlx::Error) -> StoreError + 'a {
        move |error| store_error(&self.db, operation, error)
    }

    /// Fires the due signal if `job`, as written, may become due.
    pub(crate) fn notify_if_schedulable(&self, job: &JobInfo) {
        if schedulable(job) {
            self.signals.due.notify();
        }
    }

    /// The cron schedule of a Period job (parsed once per expression), `None` for other
    /// kinds and for Period jobs that cannot be scheduled (such a job then has no next
    /// run; a claim sets it aside).
    pub(crate) fn schedule_of(&self, job: &JobInfo) -> Option<Arc<CronSchedule>> {
        self.schedule_for(job.kind, job.cron.as_deref())
    }

    /// The cron schedule of a job of `kind` with `cron` (see [`schedule_of`](Self::schedule_of)).
    pub(crate) fn schedule_for(
        &self,
        kind: JobKind,
        cron: Option<&str>,
    ) -> Option<Arc<CronSchedule>> {
        self.schedule_or_reason(kind, cron).ok().flatten()
    }

    /// The cron schedule of a Period job, `None` for other kinds, or why a Period job
    /// cannot be scheduled: it has no cron expression, or one that does not parse (the
    /// reason names the expression).
    pub(crate) fn schedule_or_reason(
        &self,
        kind: JobKind,
        cron: Option<&str>,
    ) -> Result<Option<Arc<CronSchedule>>, String> {
        if kind != JobKind::Period {
            return Ok(None);
        }
        let Some(cron) = cron else {
            return Err("a Period job without a cron expression".to_owned());
        };
        self.schedules
            .get(cron)
            .map(Some)
            .map_err(|reason| reason.to_string())
    }
}

/// Whether `job`, as written, may become due.
pub(crate) fn schedulable(job: &JobInfo) -> bool {
    !job.is_abandoned && job.status.is_schedulable() && job.next_run_time.is_some()
}

/// A parsed cron expression, or why it does not parse.
type Parsed = Result<Arc<CronSchedule>, Arc<str>>;

/// Parsed cron expressions, by text.
#[derive(Default)]
struct ScheduleCache(Mutex<HashMap<String, Parsed>>);

impl ScheduleCache {
    const MAX: usize = 1024;

    fn get(&self, expression: &str) -> Parsed {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(schedule) = map.get(expression) {
            return schedule.clone();
        }
        let parsed: Parsed = CronSchedule::parse(expression)
            .map(Arc::new)
            .map_err(|error| Arc::from(error.to_string()));
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(expression.to_owned(), parsed.clone());
        parsed
    }
}
