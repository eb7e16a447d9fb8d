//! The failed-job e-mail notifier (R33).

use crate::DynMailTransport;
use std::sync::Arc;

use bgtasks_abstractions::JobAction;
use bgtasks_actions::{
    DeliveryError, JobActionExecuteContext, JobActionNotifier, NotificationKind, Throttle,
};
use chrono::Datelike;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue, MessageId};
use tracing::{info, warn};

use crate::error::{LocalizationError, NotifyError, TemplateError};
use crate::localization::Localizer;
use crate::model::FailureMailModel;
use crate::options::JobExecutedFailedOptions;
use crate::parameters::names;
use crate::recipients::{parse_mailbox, parse_recipients};
use crate::render_data::{context_globals, render_data};
use crate::templates::{BUILTIN_TEMPLATE, MailTemplates};

/// The header naming the job a failure mail is about.
pub const JOB_ID_HEADER: &str = "X-Bgtasks-Job-Id";

/// Sends an HTML e-mail about a failed run to the action's `to` addresses: register it
/// through [`JobExecutedFailedDefinitionProvider`](crate::JobExecutedFailedDefinitionProvider)
/// and attach a [`JobAction`](bgtasks_actions::JobAction) named
/// [`JOB_EXECUTED_FAILED_ACTION`](crate::JOB_EXECUTED_FAILED_ACTION) to a job.
///
/// The mail is rendered from a handlebars template (the built-in one or one registered
/// with [`with_template`](Self::with_template)) with labels localized by Fluent, and sent
/// through a [`MailTransport`](crate::MailTransport). Which failures mail is chosen by the `notify` policy and
/// the `min_interval_secs` parameter, with defaults from [`JobExecutedFailedOptions`];
/// both are decided with the run's outcome and kept in the store (R51).
///
/// A mail's Message-ID is made from its notification's identity, so a mail sent again
/// (after a crash between sending and recording it) is the same message to a mail
/// client. A refusal that sending again cannot cure (a bad address, an SMTP 5xx) fails
/// the notification for good; anything else (a server down, a 4xx, a timeout) is retried.
pub struct JobExecutedFailedNotifier {
    transport: Arc<dyn DynMailTransport>,
    templates: MailTemplates,
    localizer: Localizer,
    options: JobExecutedFailedOptions,
}

impl JobExecutedFailedNotifier {
    /// A notifier sending through `transport`, with the built-in template, the `en` and
    /// `zh-Hans` labels and the default options.
    pub fn new(transport: Arc<dyn DynMailTransport>) -> Self {
        Self {
            transport,
            templates: MailTemplates::new(),
            localizer: Localizer::new(),
            options: JobExecutedFailedOptions::default(),
        }
    }

    /// Sets the defaults.
    pub fn with_options(mut self, options: JobExecutedFailedOptions) -> Self {
        self.options = options;
        self
    }

    /// Registers a template that actions pick with `template = name`.
    pub fn with_template(mut self, name: &str, source: &str) -> Result<Self, TemplateError> {
        self.templates.register(name, source)?;
        Ok(self)
    }

    /// Adds Fluent strings to `culture` (a new culture, or overrides of existing strings).
    pub fn with_localization(
        mut self,
        culture: &str,
        ftl: &str,
    ) -> Result<Self, LocalizationError> {
        self.localizer.add_resource(culture, ftl)?;
        Ok(self)
    }

    /// The defaults.
    pub fn options(&self) -> &JobExecutedFailedOptions {
        &self.options
    }

    /// The templates.
    pub fn templates(&self) -> &MailTemplates {
        &self.templates
    }

    /// The localizer.
    pub fn localizer(&self) -> &Localizer {
        &self.localizer
    }

    /// The transport.
    pub fn transport(&self) -> &Arc<dyn DynMailTransport> {
        &self.transport
    }

    /// Builds the failure mail for `context` without sending it: checks the addresses,
    /// picks the culture and template, renders the HTML body, and sets the Message-ID
    /// from the notification's identity.
    pub fn compose(&self, context: &JobActionExecuteContext<'_>) -> Result<Message, NotifyError> {
        let job_id = context.job_id();
        let run = context.run();
        let to_value = context.parameter(names::TO).cloned().unwrap_or_default();
        let to = parse_recipients(job_id, &to_value)?;
        let from = match context.parameter_text(names::FROM) {
            Some(text) => parse_mailbox(job_id, names::FROM, &text)?,
            None => {
                self.transport
                    .default_from()
                    .cloned()
                    .ok_or_else(|| NotifyError::NoSender {
                        job_id: job_id.to_owned(),
                    })?
            }
        };
        let subject = context
            .parameter_text(names::SUBJECT)
            .unwrap_or_else(|| self.options.default_subject.clone());
        let footer = context.parameter_text(names::FOOTER).unwrap_or_else(|| {
            format!(
                "Copyright © {} {}",
                run.run_time.year(),
                self.options.copyright_holder
            )
        });
        let requested = context
            .parameter_text(names::CULTURE)
            .unwrap_or_else(|| self.options.default_culture.clone());
        let culture = self.localizer.resolve(&requested);
        let model = FailureMailModel::from_run(
            run,
            subject.clone(),
            footer,
            context.parameter_text(names::BODY),
        );
        let template = self.template_name(job_id, context.parameter_text(names::TEMPLATE));
        let root = render_data(
            &model,
            self.localizer.labels(&culture),
            &culture,
            context_globals(job_id, context.parameter(names::CONTEXT)),
        );
        let html =
            self.templates
                .render(&template, &root)
                .map_err(|source| NotifyError::Render {
                    job_id: job_id.to_owned(),
                    template: template.clone(),
                    source: Box::new(source),
                })?;

        let domain = from.email.domain().to_owned();
        let message_id = context.notification().message_id(if domain.is_empty() {
            &self.options.message_id_domain
        } else {
            &domain
        });
        let mut builder = Message::builder()
            .from(from)
            .subject(subject)
            .header(MessageId::from(message_id));
        for mailbox in to {
            builder = builder.to(mailbox);
        }
        if let Ok(name) = HeaderName::new_from_ascii(JOB_ID_HEADER.to_owned()) {
            builder = builder.raw_header(HeaderValue::new(name, job_id.to_owned()));
        }
        builder
            .header(ContentType::TEXT_HTML)
            .body(html)
            .map_err(|source| NotifyError::Message {
                job_id: job_id.to_owned(),
                source,
            })
    }

    /// Sends the failure mail for `context`; returns how many recipients it went to.
    pub async fn send_failure_mail(
        &self,
        context: &JobActionExecuteContext<'_>,
    ) -> Result<usize, NotifyError> {
        let message = self.compose(context)?;
        let recipients = message.envelope().to().len();
        self.transport
            .send(&message)
            .await
            .map_err(|source| NotifyError::Transport {
                job_id: context.job_id().to_owned(),
                endpoint: self.transport.endpoint(),
                source,
            })?;
        Ok(recipients)
    }

    fn template_name(&self, job_id: &str, requested: Option<String>) -> String {
        match requested {
            Some(name) if self.templates.contains(&name) => name,
            Some(name) => {
                warn!(
                    job_id,
                    template = %name,
                    "job `{job_id}` asks for the mail template `{name}`, which is not registered: using the built-in one"
                );
                BUILTIN_TEMPLATE.to_owned()
            }
            None => BUILTIN_TEMPLATE.to_owned(),
        }
    }
}

impl std::fmt::Debug for JobExecutedFailedNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobExecutedFailedNotifier")
            .field("transport", &self.transport.endpoint())
            .field("templates", &self.templates)
            .field("localizer", &self.localizer)
            .field("options", &self.options)
            .finish()
    }
}

impl JobActionNotifier for JobExecutedFailedNotifier {
    fn name(&self) -> &str {
        "JobExecutedFailedNotifier"
    }

    fn handles(&self, kind: NotificationKind) -> bool {
        kind == NotificationKind::Failure
    }

    fn throttle(&self, action: &JobAction) -> Throttle {
        Throttle::of_action(
            action,
            Throttle {
                policy: self.options.default_policy,
                min_interval: self.options.default_min_interval,
            },
        )
    }

    async fn notify_error(
        &self,
        context: &JobActionExecuteContext<'_>,
    ) -> Result<(), DeliveryError> {
        let job_id = context.job_id();
        match self.send_failure_mail(context).await {
            Ok(recipients) => {
                info!(
                    job_id,
                    recipients,
                    notification = context.notification_id(),
                    attempt = context.attempt(),
                    server = %self.transport.endpoint(),
                    "sent the failure mail of job `{job_id}` to {recipients} recipients"
                );
                Ok(())
            }
            Err(error) if error.is_permanent() => Err(DeliveryError::permanent(error)),
            Err(error) => Err(DeliveryError::transient(error)),
        }
    }
}
