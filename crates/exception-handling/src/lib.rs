//! The failed-job e-mail of bgtasks (R33–R36).
//!
//! [`JobExecutedFailedNotifier`] is a [`JobActionNotifier`](bgtasks_actions::JobActionNotifier)
//! that renders an HTML report of a failed run with handlebars, its labels localized with
//! Fluent (`en` and `zh-Hans` built in), and sends it through a [`MailTransport`]:
//! [`SmtpMailTransport`] for real use, [`FileMailTransport`] or
//! [`InMemoryMailTransport`] for development. [`JobExecutedFailedDefinitionProvider`]
//! registers it as the action [`JOB_EXECUTED_FAILED_ACTION`]; a job opts in by carrying
//! a [`JobAction`](bgtasks_actions::JobAction) of that name with at least a `to`
//! parameter, and the [`JobActionEvent`](bgtasks_actions::JobActionEvent) listener does
//! the rest.
//!
//! ```
//! use std::sync::Arc;
//!
//! use bgtasks_abstractions::{JobError, JobEvent, JobEventContext, JobEventData, JobInfo};
//! use bgtasks_actions::{
//!     InMemoryJobActionStore, JobAction, JobActionDefinitionManager, JobActionEvent, JobActionStore,
//! };
//! use bgtasks_exception_handling::{
//!     InMemoryMailTransport, JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider,
//!     JobExecutedFailedNotifier, MailTransport,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // In production: SmtpMailTransport::from_env()? or SmtpMailTransport::builder(host)...
//! let transport = Arc::new(InMemoryMailTransport::new().with_from("Jobs <jobs@example.com>".parse()?));
//! let notifier = Arc::new(JobExecutedFailedNotifier::new(transport.clone()));
//! let definitions =
//!     JobActionDefinitionManager::new().with_provider(&JobExecutedFailedDefinitionProvider::new(notifier));
//!
//! let actions = Arc::new(InMemoryJobActionStore::new());
//! actions
//!     .set_actions(
//!         "nightly-report",
//!         vec![JobAction::new(JOB_EXECUTED_FAILED_ACTION)
//!             .with_parameter("to", "ops@example.com, dev@example.com")
//!             .with_parameter("culture", "zh-Hans")],
//!     )
//!     .await?;
//! // Register this listener with the runtime; here a failed run is simulated.
//! let listener = JobActionEvent::new(actions, Arc::new(definitions));
//!
//! let mut data = JobEventData::new(JobInfo::new("nightly-report", "report"), chrono::Utc::now(), "node-a");
//! data.error = Some(JobError::new("the warehouse is unreachable"));
//! listener.on_after_executed(&JobEventContext::standalone(data)).await?;
//!
//! let sent = transport.sent();
//! assert_eq!(sent.len(), 1);
//! assert_eq!(sent[0].envelope.to().len(), 2);
//! # Ok(())
//! # }
//! ```

mod error;
mod localization;
mod model;
mod notifier;
mod options;
mod parameters;
mod policy;
mod provider;
mod recipients;
mod render_data;
mod templates;
mod throttle;
pub mod transport;

pub use self::error::{LocalizationError, NotifyError, TemplateError};
pub use self::localization::{FALLBACK_CULTURE, Localizer};
pub use self::model::{FailureMailModel, GROUP_ARG, NAME_ARG, TRIGGER_TIME_FORMAT, TYPE_ARG};
pub use self::notifier::{JOB_ID_HEADER, JobExecutedFailedNotifier, MailOutcome, SkipReason};
pub use self::options::JobExecutedFailedOptions;
pub use self::parameters::{DEFAULT_SUBJECT, names as parameter_names, parameter_definitions};
pub use self::policy::{FailureStage, NotifyPolicy, UnknownNotifyPolicy};
pub use self::provider::{JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider};
pub use self::templates::{BUILTIN_TEMPLATE, MailTemplates};
pub use self::transport::{
    FileMailTransport, InMemoryMailTransport, MailTransport, MailTransportError, SmtpConfigError,
    SmtpMailTransport, SmtpMailTransportBuilder, SmtpTls,
};

/// Re-exported so hosts can build mailboxes without naming lettre.
pub use lettre::message::Mailbox;

#[cfg(test)]
mod notifier_tests;
