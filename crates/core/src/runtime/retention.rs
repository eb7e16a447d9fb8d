//! Retention (R46): a background loop on every node removes run logs past their age or
//! beyond their count per job, and finished notifications past their age, so that nothing
//! grows without bound. It is a [`BackgroundService`]: supervised, and shown in the
//! node's health as `retention`.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::RetentionOptions;

use super::services::{BackgroundService, ServiceContext};
use crate::store::{JobStore, LogRetention};

/// How soon a pass that hit its bound is followed by the next one.
const BACKLOG_PAUSE: Duration = Duration::from_secs(60);

/// The retention loop. The runtime builder adds it when
/// [`RetentionOptions::enabled`] (the default).
pub(crate) struct Retention {
    store: Arc<dyn JobStore>,
    options: RetentionOptions,
}

impl Retention {
    pub(crate) fn new(store: Arc<dyn JobStore>, options: RetentionOptions) -> Self {
        Self { store, options }
    }

    /// One pass: how many logs and notifications went, or the first error.
    async fn prune(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(u64, u64), crate::store::StoreError> {
        let options = &self.options;
        let logs = LogRetention {
            max_age: options.log_max_age,
            max_per_job: options.logs_per_job,
        };
        let pruned_logs = if logs.max_age.is_some() || logs.max_per_job.is_some() {
            self.store
                .prune_logs(&logs, now, options.max_per_run)
                .await?
        } else {
            0
        };
        let pruned_notifications = match options.notification_max_age {
            Some(age) => {
                let before =
                    now - chrono::Duration::from_std(age).unwrap_or(chrono::TimeDelta::MAX);
                self.store
                    .prune_notifications(before, options.max_per_run)
                    .await?
            }
            None => 0,
        };
        Ok((pruned_logs, pruned_notifications))
    }
}

impl BackgroundService for Retention {
    fn name(&self) -> &str {
        "retention"
    }

    async fn run_once(&self, context: &ServiceContext) -> Duration {
        match self.prune(context.clock().now()).await {
            Ok((0, 0)) => self.options.interval,
            Ok((logs, notifications)) => {
                tracing::info!(
                    node = context.node(),
                    pruned_logs = logs,
                    pruned_notifications = notifications,
                    "retention removed {logs} run logs and {notifications} notifications"
                );
                let max = u64::try_from(self.options.max_per_run).unwrap_or(u64::MAX);
                if logs >= max || notifications >= max {
                    BACKLOG_PAUSE.min(self.options.interval)
                } else {
                    self.options.interval
                }
            }
            Err(error) => {
                tracing::warn!(node = context.node(), %error,
                    "retention could not prune run logs or notifications; trying again later");
                BACKLOG_PAUSE.min(self.options.interval)
            }
        }
    }
}
