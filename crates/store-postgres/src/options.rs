//! How the store connects.

use std::time::Duration;

/// The default most connections of the pool.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;
/// The default time allowed to open a connection (and to wait for one from the pool).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default schema the tables live in.
pub const DEFAULT_SCHEMA: &str = "public";
/// The default longest time one statement may run on the server (`statement_timeout`).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default longest time a session may sit idle inside a transaction before the
/// server ends it (`idle_in_transaction_session_timeout`), releasing its row locks.
pub const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);
/// The default longest time one store call may take, from the caller's side.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(45);
/// The default idle time before the server probes a silent connection with TCP
/// keepalives.
pub const DEFAULT_TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// Whose clock judges leases and due times (R45).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeSource {
    /// The database's clock (the default): every node sharing the store agrees on when a
    /// lease expires and when a run is due, whatever its own clock says. The `now`
    /// arguments of the store's methods are ignored; the database's `now()` is used
    /// instead, for claims (due-ness, lease expiry, the following fire time), renewals,
    /// rescues, the control transitions (resume, trigger, start and a changed schedule
    /// are computed from it), the orphaned-job report, the due jobs of the counts, and
    /// the outbox (which notifications are due, their lease expiry, when a delivery
    /// finished). Retention (`prune_logs`, `prune_notifications`, `cleanup`) takes the
    /// times it is given.
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
    /// The longest time one statement may run on the server (default 30 s): set as the
    /// session's `statement_timeout` on every connection of the pool (not on the one that
    /// applies the migrations). A statement cut by it fails the call.
    pub statement_timeout: Duration,
    /// The longest time a session may sit idle inside a transaction (default 60 s): set
    /// as `idle_in_transaction_session_timeout`, so that a node that stalls or vanishes
    /// mid-transaction never keeps rows locked for longer.
    pub idle_in_transaction_timeout: Duration,
    /// The longest time one store call may take, measured by the caller (default 45 s).
    /// sqlx has no client-side TCP keepalive, so a connection whose server vanished
    /// without a reset would otherwise wait for the operating system to give up (many
    /// minutes); past this bound the call fails as unavailable (R45).
    pub call_timeout: Duration,
    /// TCP keepalives of the server's side of each connection (default: after 30 s of
    /// silence, probed every 10 s, given up after 3 probes; `None` leaves the server's
    /// settings): set as `tcp_keepalives_idle`, `tcp_keepalives_interval`,
    /// `tcp_keepalives_count` and `tcp_user_timeout`, so that the server notices a node
    /// that vanished and ends its session. (Ignored on Unix-domain sockets.)
    pub tcp_keepalive: Option<Duration>,
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
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            idle_in_transaction_timeout: DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            tcp_keepalive: Some(DEFAULT_TCP_KEEPALIVE),
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

    /// Sets the longest time one statement may run on the server.
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets the longest time a session may sit idle inside a transaction.
    #[must_use]
    pub fn with_idle_in_transaction_timeout(mut self, timeout: Duration) -> Self {
        self.idle_in_transaction_timeout = timeout;
        self
    }

    /// Sets the longest time one store call may take.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Sets the idle time before the server probes a silent connection (`None`: the
    /// server's settings).
    #[must_use]
    pub fn with_tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// The session settings every connection of the pool starts with (R45), as
    /// PostgreSQL run-time parameters: the timeouts in milliseconds, the keepalives in
    /// seconds.
    pub(crate) fn session_settings(&self) -> Vec<(&'static str, String)> {
        let millis = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128).to_string();
        let mut settings = vec![
            ("statement_timeout", millis(self.statement_timeout)),
            (
                "idle_in_transaction_session_timeout",
                millis(self.idle_in_transaction_timeout),
            ),
        ];
        if let Some(idle) = self.tcp_keepalive {
            let idle_secs = idle.as_secs().clamp(1, i32::MAX as u64);
            let interval_secs = (idle_secs / 3).max(1);
            let user_timeout = Duration::from_secs(idle_secs + KEEPALIVE_PROBES * interval_secs);
            settings.extend([
                ("tcp_keepalives_idle", idle_secs.to_string()),
                ("tcp_keepalives_interval", interval_secs.to_string()),
                ("tcp_keepalives_count", KEEPALIVE_PROBES.to_string()),
                ("tcp_user_timeout", millis(user_timeout)),
            ]);
        }
        settings
    }

    /// Checks the options; the error says which one is wrong and why.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("option `max_connections` must be at least 1".to_owned());
        }
        let positive = [
            ("connect_timeout", self.connect_timeout),
            ("statement_timeout", self.statement_timeout),
            (
                "idle_in_transaction_timeout",
                self.idle_in_transaction_timeout,
            ),
            ("call_timeout", self.call_timeout),
        ];
        for (name, value) in positive {
            if value < Duration::from_millis(1) {
                return Err(format!(
                    "option `{name}` must be at least one millisecond, not {value:?}"
                ));
            }
        }
        if self
            .tcp_keepalive
            .is_some_and(|idle| idle < Duration::from_secs(1))
        {
            return Err("option `tcp_keepalive` must be at least one second".to_owned());
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

/// How many unanswered keepalive probes end a connection.
const KEEPALIVE_PROBES: u64 = 3;

pub(crate) fn is_plain_identifier(name: &str) -> bool {
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
                .clone()
                .with_connect_timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
        for bad in [
            options.clone().with_statement_timeout(Duration::ZERO),
            options
                .clone()
                .with_idle_in_transaction_timeout(Duration::ZERO),
            options.clone().with_call_timeout(Duration::from_nanos(5)),
            options.clone().with_tcp_keepalive(Some(Duration::ZERO)),
        ] {
            let error = bad.validate().unwrap_err();
            assert!(error.contains("option `"), "{error}");
        }
    }

    #[test]
    fn every_connection_is_bounded() {
        // spec: R45
        let settings = PostgresStoreOptions::default().session_settings();
        let get = |name: &str| {
            settings
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("statement_timeout"), Some("30000"));
        assert_eq!(get("idle_in_transaction_session_timeout"), Some("60000"));
        assert_eq!(get("tcp_keepalives_idle"), Some("30"));
        assert_eq!(get("tcp_keepalives_interval"), Some("10"));
        assert_eq!(get("tcp_keepalives_count"), Some("3"));
        assert_eq!(get("tcp_user_timeout"), Some("60000"));
        let without = PostgresStoreOptions::default()
            .with_tcp_keepalive(None)
            .with_statement_timeout(Duration::from_secs(u64::MAX))
            .session_settings();
        assert_eq!(without.len(), 2);
        assert_eq!(
            without[0].1,
            i32::MAX.to_string(),
            "clamped to what PostgreSQL takes"
        );
    }
}
