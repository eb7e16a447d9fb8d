//! What can go wrong while preparing or sending the failure mail.

use crate::transport::MailTransportError;

/// Why the failure mail of a job was not sent. Every message names the job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// An address in `to` or `from` is not a valid mailbox.
    #[error(
        "job `{job_id}`: invalid e-mail address `{address}` in parameter `{parameter}`: {source}"
    )]
    InvalidAddress {
        /// The job whose action holds the address.
        job_id: String,
        /// The parameter the address came from (`to` or `from`).
        parameter: &'static str,
        /// The address as written.
        address: String,
        /// Why it is invalid.
        #[source]
        source: lettre::address::AddressError,
    },
    /// `to` holds no address at all.
    #[error("job `{job_id}`: the `to` parameter holds no e-mail address")]
    NoRecipients {
        /// The job.
        job_id: String,
    },
    /// Neither the `from` parameter nor the transport gives a sender.
    #[error(
        "job `{job_id}`: no sender address: set the action's `from` parameter or the transport's from address"
    )]
    NoSender {
        /// The job.
        job_id: String,
    },
    /// The template failed to render.
    #[error("job `{job_id}`: the mail template `{template}` failed to render: {source}")]
    Render {
        /// The job.
        job_id: String,
        /// The template's name.
        template: String,
        /// What handlebars said.
        #[source]
        source: Box<handlebars::RenderError>,
    },
    /// The message could not be built (e.g. a header lettre refuses).
    #[error("job `{job_id}`: the failure mail could not be built: {source}")]
    Message {
        /// The job.
        job_id: String,
        /// What lettre said.
        #[source]
        source: lettre::error::Error,
    },
    /// The transport failed to deliver the message.
    #[error("job `{job_id}`: sending the failure mail through {endpoint} failed: {source}")]
    Transport {
        /// The job.
        job_id: String,
        /// Where the mail was going, e.g. `smtp://mail.example.com:587`.
        endpoint: String,
        /// What the transport said.
        #[source]
        source: MailTransportError,
    },
}

impl NotifyError {
    /// Whether sending again cannot help: a bad address, a missing sender, a template
    /// that does not render, a message lettre refuses, or a permanent SMTP answer (5xx).
    /// A server that is down, a timeout or an SMTP 4xx is worth retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            NotifyError::Transport { source, .. } => source.is_permanent(),
            NotifyError::InvalidAddress { .. }
            | NotifyError::NoRecipients { .. }
            | NotifyError::NoSender { .. }
            | NotifyError::Render { .. }
            | NotifyError::Message { .. } => true,
        }
    }
}

/// A template could not be registered.
#[derive(Debug, thiserror::Error)]
#[error("the mail template `{name}` is invalid: {source}")]
pub struct TemplateError {
    /// The template's name.
    pub name: String,
    /// What handlebars said.
    #[source]
    pub source: Box<handlebars::TemplateError>,
}

/// A localization resource could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalizationError {
    /// The culture is not a valid language tag.
    #[error(
        "`{culture}` is not a valid culture (a language tag such as `en` or `zh-Hans`): {reason}"
    )]
    InvalidCulture {
        /// The culture as given.
        culture: String,
        /// What the parser said.
        reason: String,
    },
    /// The Fluent source has syntax errors.
    #[error("the Fluent resource for culture `{culture}` has errors: {errors}")]
    InvalidResource {
        /// The culture.
        culture: String,
        /// The parser's errors, joined.
        errors: String,
    },
}
