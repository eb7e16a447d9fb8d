//! Configuring the SMTP transport from environment variables.

use std::time::Duration;

use lettre::message::Mailbox;

use super::smtp::{SmtpMailTransport, SmtpMailTransportBuilder};
use super::tls_mode::SmtpTls;

/// The environment variables [`SmtpMailTransport::from_env`] reads.
pub mod env_vars {
    /// The server's host name or address (required).
    pub const HOST: &str = "BGTASKS_SMTP_HOST";
    /// The server's port (default: 25, 587 or 465 by TLS mode).
    pub const PORT: &str = "BGTASKS_SMTP_PORT";
    /// `none`, `starttls` (default) or `tls`.
    pub const TLS: &str = "BGTASKS_SMTP_TLS";
    /// The login name; set it with the password to authenticate.
    pub const USERNAME: &str = "BGTASKS_SMTP_USERNAME";
    /// The password.
    pub const PASSWORD: &str = "BGTASKS_SMTP_PASSWORD";
    /// The default sender, e.g. `Jobs <jobs@example.com>`.
    pub const FROM: &str = "BGTASKS_SMTP_FROM";
    /// Seconds one send may take (default 10).
    pub const TIMEOUT_SECS: &str = "BGTASKS_SMTP_TIMEOUT_SECS";
}

/// The SMTP configuration is incomplete or invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpConfigError {
    /// A required variable is not set.
    #[error("the environment variable `{var}` is required to configure SMTP")]
    Missing {
        /// The variable's name.
        var: &'static str,
    },
    /// A variable holds a value that cannot be used.
    #[error("the environment variable `{var}` holds an invalid value `{value}`: {reason}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// Its value (never a password).
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A username without a password, or the other way round.
    #[error("set both `{username}` and `{password}` to authenticate, or neither")]
    HalfCredentials {
        /// The username variable.
        username: &'static str,
        /// The password variable.
        password: &'static str,
    },
    /// The TLS configuration for the host could not be made.
    #[error("cannot configure TLS for SMTP host `{host}`: {source}")]
    Tls {
        /// The host.
        host: String,
        /// What lettre said.
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

fn invalid(var: &'static str, value: &str, reason: impl ToString) -> SmtpConfigError {
    SmtpConfigError::Invalid {
        var,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

/// A builder from the variables `lookup` finds; blank values count as unset.
pub(crate) fn from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<SmtpMailTransportBuilder, SmtpConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let host = get(env_vars::HOST).ok_or(SmtpConfigError::Missing {
        var: env_vars::HOST,
    })?;
    let mut builder = SmtpMailTransport::builder(host.trim());
    if let Some(tls) = get(env_vars::TLS) {
        let mode: SmtpTls = tls.parse().map_err(|e| invalid(env_vars::TLS, &tls, e))?;
        builder = builder.tls(mode);
    }
    if let Some(port) = get(env_vars::PORT) {
        let number: u16 = port
            .trim()
            .parse()
            .map_err(|e| invalid(env_vars::PORT, &port, e))?;
        builder = builder.port(number);
    }
    match (get(env_vars::USERNAME), lookup(env_vars::PASSWORD)) {
        (Some(user), Some(password)) if !password.is_empty() => {
            builder = builder.credentials(user, password);
        }
        (None, None) => {}
        (None, Some(password)) if password.is_empty() => {}
        _ => {
            return Err(SmtpConfigError::HalfCredentials {
                username: env_vars::USERNAME,
                password: env_vars::PASSWORD,
            });
        }
    }
    if let Some(from) = get(env_vars::FROM) {
        let mailbox: Mailbox = from
            .trim()
            .parse()
            .map_err(|e| invalid(env_vars::FROM, &from, e))?;
        builder = builder.from(mailbox);
    }
    if let Some(secs) = get(env_vars::TIMEOUT_SECS) {
        let seconds: u64 = secs
            .trim()
            .parse()
            .map_err(|e| invalid(env_vars::TIMEOUT_SECS, &secs, e))?;
        if seconds == 0 {
            return Err(invalid(env_vars::TIMEOUT_SECS, &secs, "must be at least 1"));
        }
        builder = builder.timeout(Duration::from_secs(seconds));
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::transport::MailTransport;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_every_variable() {
        // spec: R36
        let transport = SmtpMailTransport::from_lookup(vars(&[
            (env_vars::HOST, "127.0.0.1"),
            (env_vars::PORT, "2525"),
            (env_vars::TLS, "none"),
            (env_vars::USERNAME, "jobs"),
            (env_vars::PASSWORD, "pw"),
            (env_vars::FROM, "Jobs <jobs@example.com>"),
            (env_vars::TIMEOUT_SECS, "3"),
        ]))
        .unwrap();
        assert_eq!(transport.endpoint(), "smtp://127.0.0.1:2525");
        assert_eq!(transport.tls(), SmtpTls::None);
        assert_eq!(transport.timeout(), Duration::from_secs(3));
        assert_eq!(
            transport.default_from().map(|m| m.email.to_string()),
            Some("jobs@example.com".to_owned())
        );
    }

    #[test]
    fn defaults_and_errors_name_the_variable() {
        // spec: R36
        let minimal =
            SmtpMailTransport::from_lookup(vars(&[(env_vars::HOST, "mail.example.com")])).unwrap();
        assert_eq!(minimal.endpoint(), "smtp://mail.example.com:587");
        assert_eq!(minimal.timeout(), Duration::from_secs(10));

        let missing = SmtpMailTransport::from_lookup(vars(&[])).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the environment variable `BGTASKS_SMTP_HOST` is required to configure SMTP"
        );
        let port = SmtpMailTransport::from_lookup(vars(&[
            (env_vars::HOST, "h"),
            (env_vars::PORT, "smtp"),
        ]))
        .unwrap_err();
        assert!(
            port.to_string().starts_with(
                "the environment variable `BGTASKS_SMTP_PORT` holds an invalid value `smtp`"
            ),
            "{port}"
        );
        let from = SmtpMailTransport::from_lookup(vars(&[
            (env_vars::HOST, "h"),
            (env_vars::FROM, "not an address"),
        ]))
        .unwrap_err();
        assert!(from.to_string().contains("`BGTASKS_SMTP_FROM`"), "{from}");
        let half = SmtpMailTransport::from_lookup(vars(&[
            (env_vars::HOST, "h"),
            (env_vars::USERNAME, "jobs"),
        ]))
        .unwrap_err();
        assert!(matches!(half, SmtpConfigError::HalfCredentials { .. }));
    }
}
