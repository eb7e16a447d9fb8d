//! What the admin router is configured with: who may call it, what it may show, and how
//! much one request may ask for.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_actions::JobActionDefinitionManager;
use serde::Serialize;
use utoipa::ToSchema;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Read everything; change nothing.
    ReadOnly,
    /// Read everything and make every change (pause, trigger, edit, remove...).
    Operator,
}

impl Role {
    /// The role's name as the API writes it (`readOnly`, `operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "readOnly",
            Role::Operator => "operator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bearer token and the role it grants. Its `Debug` never shows the secret.
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) token: Arc<str>,
    pub(crate) role: Role,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// The admin router's configuration.
///
/// Without any token the API is open to every caller as an operator: fit for a process
/// bound to loopback only, which is what [`serve`](crate::serve) allows. Add tokens with
/// [`operator_token`](Self::operator_token) and [`read_only_token`](Self::read_only_token);
/// once one is set, every API call needs `Authorization: Bearer <token>`.
///
/// ```
/// use bgtasks_admin::AdminConfig;
///
/// let config = AdminConfig::new()
///     .operator_token("change-me-operator")
///     .read_only_token("change-me-viewer");
/// assert!(config.has_credentials());
/// assert!(!format!("{config:?}").contains("change-me"));
/// ```
#[derive(Clone)]
pub struct AdminConfig {
    pub(crate) credentials: Vec<Credential>,
    pub(crate) action_definitions: Option<Arc<JobActionDefinitionManager>>,
    pub(crate) max_body_bytes: usize,
    pub(crate) default_page_size: usize,
    pub(crate) node_liveness: Duration,
    pub(crate) bulk_limit: usize,
    pub(crate) title: String,
    pub(crate) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub(crate) readiness_timeout: Duration,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            credentials: Vec::new(),
            action_definitions: None,
            max_body_bytes: 256 * 1024,
            default_page_size: 20,
            node_liveness: Duration::from_secs(30),
            bulk_limit: DEFAULT_BULK_LIMIT,
            title: "bgtasks".to_owned(),
            metrics: None,
            readiness_timeout: Duration::from_secs(2),
        }
    }
}

/// The most jobs one bulk operation changes, by default (riverui's bound).
pub const DEFAULT_BULK_LIMIT: usize = 1000;

impl AdminConfig {
    /// No tokens (open to every caller as an operator), no action definitions, bodies up to
    /// 256 KiB, pages of 20, nodes live when heard from in the last 30 s, bulk operations
    /// on at most 1,000 jobs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token that grants the operator role. Blank tokens are ignored.
    pub fn operator_token(self, token: impl Into<String>) -> Self {
        self.token(token.into(), Role::Operator)
    }

    /// Adds a token that grants the read-only role. Blank tokens are ignored.
    pub fn read_only_token(self, token: impl Into<String>) -> Self {
        self.token(token.into(), Role::ReadOnly)
    }

    fn token(mut self, token: String, role: Role) -> Self {
        let token = token.trim();
        if !token.is_empty() {
            self.credentials.push(Credential {
                token: Arc::from(token),
                role,
            });
        }
        self
    }

    /// Whether any token is configured (then every API call must present one).
    pub fn has_credentials(&self) -> bool {
        !self.credentials.is_empty()
    }

    /// The action definitions `GET /api/background-jobs/actions/definitions` lists, and
    /// that new actions are checked against (name known, required parameters given).
    pub fn action_definitions(mut self, definitions: Arc<JobActionDefinitionManager>) -> Self {
        self.action_definitions = Some(definitions);
        self
    }

    /// The largest request body accepted, in bytes (default 256 KiB); larger ones are
    /// refused with 413.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1024);
        self
    }

    /// The page size of a list that names none (default 20; at most
    /// [`bgtasks_store::MAX_PAGE_SIZE`]).
    pub fn default_page_size(mut self, size: usize) -> Self {
        self.default_page_size = size.clamp(1, bgtasks_store::MAX_PAGE_SIZE);
        self
    }

    /// How recent a node's last heartbeat must be for it to count as live (default 30 s;
    /// nodes beat at least every 10 s).
    pub fn node_liveness(mut self, window: Duration) -> Self {
        self.node_liveness = window.max(Duration::from_secs(1));
        self
    }

    /// The most jobs one bulk operation may change (default and upper bound 1,000).
    pub fn bulk_limit(mut self, limit: usize) -> Self {
        self.bulk_limit = limit.clamp(1, DEFAULT_BULK_LIMIT);
        self
    }

    /// The name the dashboard shows in its header (default `bgtasks`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Serves `GET /metrics` (Prometheus text format, no token) from `handle` — from
    /// [`install_prometheus_recorder`](crate::install_prometheus_recorder), say.
    pub fn metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// How long `GET /health/ready` waits for the store to answer (default 2 s).
    pub fn readiness_timeout(mut self, timeout: Duration) -> Self {
        self.readiness_timeout = timeout.max(Duration::from_millis(10));
        self
    }
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let roles: Vec<Role> = self.credentials.iter().map(|c| c.role).collect();
        f.debug_struct("AdminConfig")
            .field("tokens", &roles)
            .field(
                "action_definitions",
                &self.action_definitions.as_ref().map(|d| d.len()),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("default_page_size", &self.default_page_size)
            .field("node_liveness", &self.node_liveness)
            .field("bulk_limit", &self.bulk_limit)
            .field("title", &self.title)
            .field("metrics", &self.metrics.is_some())
            .field("readiness_timeout", &self.readiness_timeout)
            .finish()
    }
}
