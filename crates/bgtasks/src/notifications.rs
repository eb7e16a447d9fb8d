//! Failure e-mails in a few lines (feature `exception-handling`).

use std::path::Path;
use std::sync::Arc;

use bgtasks_actions::{JobActionDefinitionManager, JobActionEvent, JobActionStore};
use bgtasks_exception_handling::{
    FileMailTransport, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
    MailTransport, SmtpConfigError, SmtpMailTransport,
};

/// The action listener with the failed-job e-mail registered, reading each job's actions
/// from `actions` and sending through `transport`. Register it with
/// [`RuntimeBuilder::listener`](crate::RuntimeBuilder::listener); then a job that carries
/// a `JobExecutedFailedProvider` action with a `to` parameter is mailed when it fails.
pub fn failure_email_listener(
    actions: Arc<dyn JobActionStore>,
    transport: Arc<dyn MailTransport>,
) -> Arc<JobActionEvent> {
    let notifier = Arc::new(JobExecutedFailedNotifier::new(transport));
    let definitions = JobActionDefinitionManager::new()
        .with_provider(&JobExecutedFailedDefinitionProvider::new(notifier));
    Arc::new(JobActionEvent::new(actions, Arc::new(definitions)))
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
) -> Result<Arc<dyn MailTransport>, SmtpConfigError> {
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
