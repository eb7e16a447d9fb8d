//! Sending over SMTP with lettre.

use std::fmt;
use std::time::Duration;

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::smtp_env::{SmtpConfigError, from_lookup};
use super::tls_mode::SmtpTls;
use super::{MailTransport, MailTransportError};

/// How long one send may take by default, connection included.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends each message over its own SMTP connection (failure mails are rare, so there is
/// no pool and no background task: the transport can be built and dropped anywhere).
/// Every send, from connecting to `QUIT`, is bounded by the timeout.
pub struct SmtpMailTransport {
    host: String,
    port: u16,
    tls: SmtpTls,
    tls_parameters: Option<TlsParameters>,
    credentials: Option<Credentials>,
    from: Option<Mailbox>,
    timeout: Duration,
    hello_name: ClientId,
}

/// Configures a [`SmtpMailTransport`].
#[derive(Clone)]
pub struct SmtpMailTransportBuilder {
    host: String,
    port: Option<u16>,
    tls: SmtpTls,
    credentials: Option<(String, String)>,
    from: Option<Mailbox>,
    timeout: Duration,
}

impl SmtpMailTransport {
    /// A builder for a server at `host`, with STARTTLS on port 587 and a 10 s timeout
    /// until told otherwise.
    pub fn builder(host: impl Into<String>) -> SmtpMailTransportBuilder {
        SmtpMailTransportBuilder {
            host: host.into(),
            port: None,
            tls: SmtpTls::default(),
            credentials: None,
            from: None,
            timeout: DEFAULT_SMTP_TIMEOUT,
        }
    }

    /// A transport configured from the `BGTASKS_SMTP_*` environment variables (see
    /// [`env_vars`](crate::transport::env_vars)).
    pub fn from_env() -> Result<Self, SmtpConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A transport configured from variables found by `lookup` (the environment's names,
    /// another source's values): what [`from_env`](Self::from_env) does with
    /// `std::env::var`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SmtpConfigError> {
        from_lookup(lookup)?.build()
    }

    /// The server's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is secured.
    pub fn tls(&self) -> SmtpTls {
        self.tls
    }

    /// How long one send may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn deliver(&self, envelope: &Envelope, email: &[u8]) -> Result<(), MailTransportError> {
        let wrapper = match self.tls {
            SmtpTls::Tls => self.tls_parameters.clone(),
            SmtpTls::None | SmtpTls::StartTls => None,
        };
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello_name,
            wrapper,
            None,
        )
        .await?;
        if let (SmtpTls::StartTls, Some(parameters)) = (self.tls, &self.tls_parameters) {
            connection
                .starttls(parameters.clone(), &self.hello_name)
                .await?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        match connection.send(envelope, email).await {
            Ok(_) => {
                // The message is accepted; a failed QUIT changes nothing.
                let _ = connection.quit().await;
                Ok(())
            }
            Err(error) => {
                connection.abort().await;
                Err(error.into())
            }
        }
    }
}

impl SmtpMailTransportBuilder {
    /// Sets the port (default: 25, 587 or 465 by TLS mode).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets how the connection is secured (default STARTTLS).
    pub fn tls(mut self, tls: SmtpTls) -> Self {
        self.tls = tls;
        self
    }

    /// Logs in with these credentials (PLAIN or LOGIN).
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((username.into(), password.into()));
        self
    }

    /// Sets the sender used when an action has no `from` parameter.
    pub fn from(mut self, from: Mailbox) -> Self {
        self.from = Some(from);
        self
    }

    /// Sets how long one send may take, connection included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the transport. Fails when the TLS configuration for the host cannot be made.
    pub fn build(self) -> Result<SmtpMailTransport, SmtpConfigError> {
        let tls_parameters = match self.tls {
            SmtpTls::None => None,
            SmtpTls::StartTls | SmtpTls::Tls => {
                Some(TlsParameters::new(self.host.clone()).map_err(|source| {
                    SmtpConfigError::Tls {
                        host: self.host.clone(),
                        source,
                    }
                })?)
            }
        };
        Ok(SmtpMailTransport {
            port: self.port.unwrap_or(self.tls.default_port()),
            host: self.host,
            tls: self.tls,
            tls_parameters,
            credentials: self
                .credentials
                .map(|(user, password)| Credentials::new(user, password)),
            from: self.from,
            timeout: self.timeout,
            hello_name: ClientId::default(),
        })
    }
}

impl MailTransport for SmtpMailTransport {
    async fn send(&self, message: &Message) -> Result<(), MailTransportError> {
        let email = message.formatted();
        match tokio::time::timeout(self.timeout, self.deliver(message.envelope(), &email)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(MailTransportError::TimedOut(self.timeout)),
        }
    }

    fn endpoint(&self) -> String {
        format!("smtp://{}:{}", self.host, self.port)
    }

    fn default_from(&self) -> Option<&Mailbox> {
        self.from.as_ref()
    }
}

impl fmt::Debug for SmtpMailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailTransport")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("authenticated", &self.credentials.is_some())
            .field("from", &self.from.as_ref().map(ToString::to_string))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for SmtpMailTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailTransportBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.credentials.as_ref().map(|(user, _)| user))
            .field("from", &self.from.as_ref().map(ToString::to_string))
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_default_by_tls_mode_and_debug_hides_the_password() {
        // spec: R36
        let plain = SmtpMailTransport::builder("localhost")
            .tls(SmtpTls::None)
            .build()
            .unwrap();
        assert_eq!(plain.endpoint(), "smtp://localhost:25");
        let smtps = SmtpMailTransport::builder("mail.example.com")
            .tls(SmtpTls::Tls)
            .credentials("jobs", "s3cret-pass")
            .build()
            .unwrap();
        assert_eq!(smtps.port(), 465);
        assert!(!format!("{smtps:?}").contains("s3cret"));
        let builder = SmtpMailTransport::builder("h").credentials("jobs", "s3cret-pass");
        assert!(!format!("{builder:?}").contains("s3cret"));
        let custom = SmtpMailTransport::builder("h").port(2525).build().unwrap();
        assert_eq!((custom.port(), custom.tls()), (2525, SmtpTls::StartTls));
    }
}
