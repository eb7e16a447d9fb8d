//! How a SQLite job store opens its database.

use std::time::Duration;

/// The default number of pooled connections.
pub const DEFAULT_POOL_SIZE: u32 = 4;
/// The default time a statement waits for another writer's lock before failing.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The default time to wait for a free pooled connection (and for a turn to write).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default interval at which the store looks for writes by other processes.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Options of a [`SqliteJobStore`](crate::SqliteJobStore). Every connection runs in WAL
/// mode with `synchronous = FULL` (a committed write survives a power cut) and foreign
/// keys on; those are not options.
///
/// ```
/// use std::time::Duration;
/// use bgtasks_sqlite::SqliteStoreOptions;
///
/// let options = SqliteStoreOptions::default()
///     .pool_size(8)
///     .busy_timeout(Duration::from_secs(10));
/// assert_eq!(options.pool_size, 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteStoreOptions {
    /// How many connections the pool keeps (default 4). An in-memory database always
    /// uses one.
    pub pool_size: u32,
    /// How long a statement waits for another connection's write lock before it fails
    /// (default 5 s). Writers on one file take turns; within this time contention is
    /// waited out, never reported.
    pub busy_timeout: Duration,
    /// How long an operation waits for a free pooled connection, and a write for this
    /// process's turn to write (default 30 s). With `busy_timeout`, it bounds every wait
    /// of a store call (R45): past it the call fails as unavailable.
    pub acquire_timeout: Duration,
    /// How often the store checks whether another process wrote to the file, to wake the
    /// runtime for jobs queued elsewhere (`subscribe_due`) and, when a running job was
    /// paused, stopped or removed elsewhere, to make its node renew at once
    /// (`subscribe_control`) (default 500 ms; `None` turns it off: jobs queued by other
    /// processes are then seen when the runtime next re-reads the next due time, and
    /// control transitions of other processes at the next lease renewal).
    pub watch_interval: Option<Duration>,
    /// Whether the file may hold your application's tables too (default `false`: a file
    /// with tables but no bgtasks schema is refused as another application's). When set,
    /// the store adds its tables (all named `bgtasks_*`) beside yours and switches the file
    /// to WAL mode; queueing jobs in the same transaction as your rows
    /// ([`enqueue_in`](crate::enqueue_in)) needs them in one file.
    pub application_tables: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            pool_size: DEFAULT_POOL_SIZE,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            watch_interval: Some(DEFAULT_WATCH_INTERVAL),
            application_tables: false,
        }
    }
}

impl SqliteStoreOptions {
    /// Sets how many connections the pool keeps (at least 1).
    #[must_use]
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Sets how long a statement waits for another writer.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets how long an operation waits for a free pooled connection (and a write for
    /// this process's turn).
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets how often the store looks for writes by other processes (`None`: never).
    #[must_use]
    pub fn watch_interval(mut self, interval: Option<Duration>) -> Self {
        self.watch_interval = interval;
        self
    }

    /// Sets whether the file may hold your application's tables too.
    #[must_use]
    pub fn application_tables(mut self, allowed: bool) -> Self {
        self.application_tables = allowed;
        self
    }
}
