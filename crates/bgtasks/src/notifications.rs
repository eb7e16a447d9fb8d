//! Failure e-mails in a few lines (feature `exception-handling`).

use bgtasks_exception_handling::DynMailTransport;
use std::path::Path;
use std::sync::Arc;

use bgtasks_actions::JobActionDefinitionManager;
use bgtasks_exception_handling::{
    FileMailTransport, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
    SmtpConfigError, SmtpMailTransport,
};

/// The action definitions with the failed-job e-mail registered, sending through
/// `transport`. Wire them with
/// [`JobActionsExt::job_actions`](crate::actions::JobActionsExt::job_actions); then a job
/// that carries a `JobExecutedFailedProvider` action with a `to` parameter is mailed when
/// it fails, the mail stored with the failed outcome and delivered — retried while the
/// server is down — by any node.
pub fn failure_email_definitions(
    transport: Arc<dyn DynMailTransport>,
) -> Arc<JobActionDefinitionManager> {
    let notifier = Arc::new(JobExecutedFailedNotifier::new(transport));
    Arc::new(
        JobActionDefinitionManager::new()
            .with_provider(&JobExecutedFailedDefinitionProvider::new(notifier)),
    )
}

/// The sender of development mail.
const DEV_SENDER: &str = "bgtasks <bgtasks@localhost>";

/// The SMTP transport configured by the `BGTASKS_SMTP_*` environment variables when
/// `BGTASKS_SMTP_HOST` is set; otherwise a file transport writing `.eml` files under
/// `fallback_dir`, for development, sent from `bgtasks <bgtasks@localhost>` unless an
/// action names a sender. An SMTP configuration that is set but invalid is an error, never
/// a silent fallback.
pub fn mail_transport_from_env(
    fallback_dir: impl AsRef<Path>,
) -> Result<Arc<dyn DynMailTransport>, SmtpConfigError> {
    if std::env::var_os("BGTASKS_SMTP_HOST").is_some_and(|h| !h.is_empty()) {
        Ok(Arc::new(SmtpMailTransport::from_env()?))
    } else {
        let transport = FileMailTransport::new(fallback_dir);
        Ok(Arc::new(match DEV_SENDER.parse() {
            Ok(from) => transport.with_from(from),
            Err(_) => transport,
        }))
    }
}
