//! How the store connects.

use std::time::Duration;

/// The default most connections of the pool.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;
/// The default time allowed to open a connection (and to wait for one from the pool).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default schema the tables live in.
pub const DEFAULT_SCHEMA: &str = "public";

/// Whose clock judges leases and due times (R45).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeSource {
    /// The database's clock (the default): every node sharing the store agrees on when a
    /// lease expires and when a run is due, whatever its own clock says. The `now`
    /// arguments of the store's methods are ignored; the database's `now()` is used
    /// instead, for claims (due-ness, lease expiry, the following fire time), renewals,
    /// rescues, the control transitions (resume, trigger, start and a changed schedule
    /// are computed from it) and the orphaned-job report.
    #[default]
    Database,
    /// The caller's clock: the `now` arguments are used as given. For tests with fixed
    /// times (the conformance suite), and for tools that replay a history.
    Caller,
}

/// Options of [`PostgresJobStore::connect`](crate::PostgresJobStore::connect). Start from
/// [`Default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use bgtasks_postgres::PostgresStoreOptions;
///
/// let options = PostgresStoreOptions::default()
///     .with_max_connections(16)
///     .with_connect_timeout(Duration::from_secs(2))
///     .with_schema("jobs");
/// assert_eq!(options.max_connections, 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresStoreOptions {
    /// The most connections the store's pool opens (default 8). The LISTEN connection
    /// (one per store, opened when the runtime first subscribes) comes on top.
    pub max_connections: u32,
    /// How long opening a connection, or waiting for a free one from the pool, may take
    /// before the operation fails as unavailable (default 5 s). `connect` itself fails
    /// within this time when the server cannot be reached.
    pub connect_timeout: Duration,
    /// The schema holding the tables (default `public`). It is created if missing (when
    /// `migrate` is on) and set as each connection's `search_path`. Lower-case ASCII
    /// letters, digits and `_`, not starting with a digit, at most 63 characters.
    pub schema: String,
    /// Whether `connect` applies the embedded migrations (default `true`). When off, the
    /// schema must already be at this build's version ([`SCHEMA_VERSION`]).
    ///
    /// [`SCHEMA_VERSION`]: crate::SCHEMA_VERSION
    pub migrate: bool,
    /// Whether the store listens on channel `bgtasks_due` and offers the runtime a wake-up
    /// signal ([`subscribe_due`]) (default `true`). When off, the runtime re-reads the next
    /// due time every second instead.
    ///
    /// The control signal ([`subscribe_control`], channel `bgtasks_control`) shares the
    /// same LISTEN connection and is offered only when this is on.
    ///
    /// [`subscribe_due`]: bgtasks_store::JobRuns::subscribe_due
    /// [`subscribe_control`]: bgtasks_store::JobRuns::subscribe_control
    pub notifications: bool,
    /// Whose clock judges leases and due times (default: the database's, R45).
    pub time_source: TimeSource,
}

impl Default for PostgresStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            schema: DEFAULT_SCHEMA.to_owned(),
            migrate: true,
            notifications: true,
            time_source: TimeSource::Database,
        }
    }
}

impl PostgresStoreOptions {
    /// Sets the most connections of the pool (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, max_connections: u32) -> Self {
        self.max_connections = max_connections;
        self
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the schema.
    #[must_use]
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Turns the migrations at start-up on or off.
    #[must_use]
    pub fn with_migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Turns the LISTEN/NOTIFY wake-up signal on or off.
    #[must_use]
    pub fn with_notifications(mut self, notifications: bool) -> Self {
        self.notifications = notifications;
        self
    }

    /// Sets whose clock judges leases and due times.
    #[must_use]
    pub fn with_time_source(mut self, time_source: TimeSource) -> Self {
        self.time_source = time_source;
        self
    }

    /// Checks the options; the error says which one is wrong and why.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("option `max_connections` must be at least 1".to_owned());
        }
        if self.connect_timeout.is_zero() {
            return Err("option `connect_timeout` must be positive".to_owned());
        }
        if !is_plain_identifier(&self.schema) {
            return Err(format!(
                "option `schema` = `{}` must be lower-case ASCII letters, digits and `_`, \
                 not start with a digit, and be at most 63 characters",
                self.schema
            ));
        }
        Ok(())
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let options = PostgresStoreOptions::default();
        assert_eq!(options.max_connections, 8);
        assert_eq!(options.connect_timeout, Duration::from_secs(5));
        assert_eq!(options.schema, "public");
        assert!(options.migrate && options.notifications);
        assert_eq!(
            options.time_source,
            TimeSource::Database,
            "one clock by default (R45)"
        );
        assert_eq!(options.validate(), Ok(()));
        for bad in ["", "Jobs", "1jobs", "jobs; drop table x", "a\"b"] {
            let error = options.clone().with_schema(bad).validate().unwrap_err();
            assert!(error.contains("option `schema`"), "{error}");
        }
        assert!(options.clone().with_max_connections(0).validate().is_err());
        assert!(
            options
                .with_connect_timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
    }
}
