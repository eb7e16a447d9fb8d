//! How a rendered mail leaves the process: SMTP for real use, files or memory for
//! development and tests (R36).

mod file;
mod memory;
mod smtp;
mod smtp_env;
mod tls_mode;

use std::future::Future;
use std::time::Duration;

use bgtasks_abstractions::BoxFuture;
use lettre::Message;
use lettre::message::Mailbox;

pub use self::file::FileMailTransport;
pub use self::memory::{InMemoryMailTransport, SentMail};
pub use self::smtp::{DEFAULT_SMTP_TIMEOUT, SmtpMailTransport, SmtpMailTransportBuilder};
pub use self::smtp_env::{SmtpConfigError, env_vars};
pub use self::tls_mode::{SmtpTls, UnknownTlsMode};

/// A transport could not deliver a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailTransportError {
    /// The SMTP conversation failed (connection refused, TLS, authentication, a 5xx...).
    #[error("SMTP error: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The file transport could not write the message.
    #[error("could not write the message file: {0}")]
    File(#[from] lettre::transport::file::Error),
    /// The whole send took longer than the transport's timeout.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// Another transport's error.
    #[error("{0}")]
    Other(#[source] bgtasks_abstractions::BoxError),
}

impl MailTransportError {
    /// Whether the server refused the message for good (an SMTP 5xx answer): sending it
    /// again cannot succeed. Connection failures, timeouts and 4xx answers are transient.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailTransportError::Smtp(error) => error.is_permanent(),
            MailTransportError::File(_)
            | MailTransportError::TimedOut(_)
            | MailTransportError::Other(_) => false,
        }
    }
}

/// Delivers a built message. Implement it to send mail another way (an HTTP mail API,
/// a queue...), with [`send`](Self::send) as a plain `async fn`; the notifier holds it as
/// `Arc<dyn DynMailTransport>`, which every `MailTransport` is.
pub trait MailTransport: Send + Sync {
    /// Sends `message` to the recipients of its envelope. Implementations bound the call
    /// with their own timeout.
    fn send(
        &self,
        message: &Message,
    ) -> impl Future<Output = Result<(), MailTransportError>> + Send;

    /// Where mail goes, for logs and errors, e.g. `smtp://mail.example.com:587`.
    fn endpoint(&self) -> String;

    /// The sender to use when the action sets no `from` parameter.
    fn default_from(&self) -> Option<&Mailbox> {
        None
    }
}

/// The object-safe form of [`MailTransport`]. Implement `MailTransport`, not this.
pub trait DynMailTransport: Send + Sync {
    /// See [`MailTransport::send`].
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), MailTransportError>>;
    /// See [`MailTransport::endpoint`].
    fn endpoint(&self) -> String;
    /// See [`MailTransport::default_from`].
    fn default_from(&self) -> Option<&Mailbox>;
}

impl<T: MailTransport> DynMailTransport for T {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), MailTransportError>> {
        Box::pin(MailTransport::send(self, message))
    }

    fn endpoint(&self) -> String {
        MailTransport::endpoint(self)
    }

    fn default_from(&self) -> Option<&Mailbox> {
        MailTransport::default_from(self)
    }
}
