//! How the SMTP connection is secured.

use std::fmt;
use std::str::FromStr;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or a test server (default port 25).
    None,
    /// Plain text upgraded with `STARTTLS`, which the server must offer (default port 587).
    #[default]
    StartTls,
    /// TLS from the first byte, "SMTPS" (default port 465).
    Tls,
}

impl SmtpTls {
    /// The usual port of this mode: 25, 587 or 465.
    pub const fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }
    }

    /// The mode's name: `none`, `starttls` or `tls`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }
}

impl fmt::Display for SmtpTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not `none`, `starttls` or `tls`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SMTP TLS mode `{0}`: expected `none`, `starttls` or `tls`")]
pub struct UnknownTlsMode(pub String);

impl FromStr for SmtpTls {
    type Err = UnknownTlsMode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "plain" | "false" => Ok(SmtpTls::None),
            "starttls" | "start-tls" => Ok(SmtpTls::StartTls),
            "tls" | "ssl" | "smtps" | "wrapper" => Ok(SmtpTls::Tls),
            _ => Err(UnknownTlsMode(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_modes() {
        // spec: R36
        assert_eq!("none".parse(), Ok(SmtpTls::None));
        assert_eq!("STARTTLS".parse(), Ok(SmtpTls::StartTls));
        assert_eq!(" tls ".parse(), Ok(SmtpTls::Tls));
        assert_eq!(
            "tsl".parse::<SmtpTls>().unwrap_err().to_string(),
            "unknown SMTP TLS mode `tsl`: expected `none`, `starttls` or `tls`"
        );
        assert_eq!(SmtpTls::default().default_port(), 587);
    }
}
