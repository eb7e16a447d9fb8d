//! Writing mails to `.eml` files, for development.

use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailTransport, MailTransportError};

/// Writes each message to `<dir>/<uuid>.eml` instead of sending it: open the files with a
/// mail client to see what would have been sent. The directory is created when missing.
#[derive(Debug, Clone)]
pub struct FileMailTransport {
    dir: PathBuf,
    inner: AsyncFileTransport<Tokio1Executor>,
    from: Option<Mailbox>,
}

impl FileMailTransport {
    /// A transport writing into `dir`.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self {
            dir: dir.as_ref().to_path_buf(),
            inner: AsyncFileTransport::new(dir.as_ref()),
            from: None,
        }
    }

    /// Sets the sender used when an action has no `from` parameter.
    pub fn with_from(mut self, from: Mailbox) -> Self {
        self.from = Some(from);
        self
    }

    /// The directory the files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl MailTransport for FileMailTransport {
    async fn send(&self, message: &Message) -> Result<(), MailTransportError> {
        if !self.dir.is_dir() {
            std::fs::create_dir_all(&self.dir).map_err(|e| {
                MailTransportError::Other(
                    format!(
                        "cannot create the mail directory {}: {e}",
                        self.dir.display()
                    )
                    .into(),
                )
            })?;
        }
        self.inner
            .send_raw(message.envelope(), &message.formatted())
            .await?;
        Ok(())
    }

    fn endpoint(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    fn default_from(&self) -> Option<&Mailbox> {
        self.from.as_ref()
    }
}
