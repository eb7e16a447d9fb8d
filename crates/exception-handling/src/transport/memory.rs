//! Keeping mails in memory, for tests.

use std::sync::{Mutex, PoisonError};

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::Mailbox;

use super::{MailTransport, MailTransportError};

/// A message an [`InMemoryMailTransport`] received.
#[derive(Debug, Clone)]
pub struct SentMail {
    /// The SMTP envelope: sender and recipients.
    pub envelope: Envelope,
    /// The whole message as it would go on the wire.
    pub raw: Vec<u8>,
}

impl SentMail {
    /// The message as text (lossy for non-UTF-8 bytes).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// Keeps every message it is given, for tests and demos.
#[derive(Debug, Default)]
pub struct InMemoryMailTransport {
    sent: Mutex<Vec<SentMail>>,
    from: Option<Mailbox>,
}

impl InMemoryMailTransport {
    /// An empty transport.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the sender used when an action has no `from` parameter.
    pub fn with_from(mut self, from: Mailbox) -> Self {
        self.from = Some(from);
        self
    }

    /// The messages received so far.
    pub fn sent(&self) -> Vec<SentMail> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl MailTransport for InMemoryMailTransport {
    async fn send(&self, message: &Message) -> Result<(), MailTransportError> {
        let mail = SentMail {
            envelope: message.envelope().clone(),
            raw: message.formatted(),
        };
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail);
        Ok(())
    }

    fn endpoint(&self) -> String {
        "memory://".to_owned()
    }

    fn default_from(&self) -> Option<&Mailbox> {
        self.from.as_ref()
    }
}
