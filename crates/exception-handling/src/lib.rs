//! The failed-job e-mail of bgtasks (R33–R36, R51).
//!
//! [`JobExecutedFailedNotifier`] is a [`JobActionNotifier`](bgtasks_actions::JobActionNotifier)
//! that renders an HTML report of a failed run with handlebars, its labels localized with
//! Fluent (`en` and `zh-Hans` built in), and sends it through a [`MailTransport`]:
//! [`SmtpMailTransport`] for real use, [`FileMailTransport`] or
//! [`InMemoryMailTransport`] for development. [`JobExecutedFailedDefinitionProvider`]
//! registers it as the action [`JOB_EXECUTED_FAILED_ACTION`]; a job opts in by carrying
//! a [`JobAction`](bgtasks_actions::JobAction) of that name with at least a `to`
//! parameter. The mail is decided with the failed run's outcome, stored with it, and
//! delivered — retried while the mail server is down — by the delivery loop of
//! [`JobActionsExt::job_actions`](bgtasks_actions::JobActionsExt::job_actions).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use bgtasks_abstractions::{JobError, JobInfo, job_fn};
//! use bgtasks_actions::{JobAction, JobActionDefinitionManager, JobActionsExt};
//! use bgtasks_core::{JobScheduler, Runtime};
//! use bgtasks_exception_handling::{
//!     InMemoryMailTransport, JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider,
//!     JobExecutedFailedNotifier,
//! };
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // In production: SmtpMailTransport::from_env()? or SmtpMailTransport::builder(host)...
//! let transport = Arc::new(InMemoryMailTransport::new().with_from("Jobs <jobs@example.com>".parse()?));
//! let notifier = Arc::new(JobExecutedFailedNotifier::new(transport.clone()));
//! let definitions =
//!     JobActionDefinitionManager::new().with_provider(&JobExecutedFailedDefinitionProvider::new(notifier));
//!
//! let runtime = Runtime::builder()
//!     .runnable("report", job_fn(|_| async { Err(JobError::new("the warehouse is unreachable")) }))
//!     .job_actions(Arc::new(definitions))
//!     .build()?;
//! runtime.start().await?;
//! runtime
//!     .queue(
//!         JobInfo::once("nightly-report", "report")
//!             .with_max_try_count(1)
//!             .with_action(
//!                 JobAction::new(JOB_EXECUTED_FAILED_ACTION)
//!                     .with_parameter("to", "ops@example.com, dev@example.com")
//!                     .with_parameter("culture", "zh-Hans"),
//!             ),
//!     )
//!     .await?;
//! tokio::time::timeout(Duration::from_secs(30), async {
//!     while transport.sent().is_empty() {
//!         tokio::time::sleep(Duration::from_millis(50)).await;
//!     }
//! })
//! .await?;
//! let sent = transport.sent();
//! assert_eq!(sent[0].envelope.to().len(), 2);
//! runtime.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod action;
mod error;
mod localization;
mod model;
mod notifier;
mod options;
mod parameters;
mod provider;
mod recipients;
mod render_data;
mod templates;
pub mod transport;

pub use self::action::FailureEmail;
pub use self::error::{LocalizationError, NotifyError, TemplateError};
pub use self::localization::{FALLBACK_CULTURE, Localizer};
pub use self::model::{FailureMailModel, GROUP_ARG, NAME_ARG, TRIGGER_TIME_FORMAT, TYPE_ARG};
pub use self::notifier::{JOB_ID_HEADER, JobExecutedFailedNotifier};
pub use self::options::JobExecutedFailedOptions;
pub use self::parameters::{DEFAULT_SUBJECT, names as parameter_names, parameter_definitions};
pub use self::provider::{JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider};
pub use self::render_data::{context_globals, render_data};
pub use self::templates::{BUILTIN_TEMPLATE, MailTemplates};
pub use self::transport::{
    DynMailTransport, FileMailTransport, InMemoryMailTransport, MailTransport, MailTransportError,
    SmtpConfigError, SmtpMailTransport, SmtpMailTransportBuilder, SmtpTls,
};
pub use bgtasks_actions::{FailureStage, NotifyPolicy, UnknownNotifyPolicy};

/// Re-exported so hosts can build mailboxes without naming lettre.
pub use lettre::message::Mailbox;

#[cfg(test)]
mod notifier_tests;
