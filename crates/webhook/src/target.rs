//! The webhook's address: checked, and shown in logs and errors without its secrets.

use std::fmt;

use reqwest::Url;

/// How many characters of an answer's body an error quotes at most.
const EXCERPT_CHARS: usize = 200;

/// A piece of an address shorter than this is not taken for a secret when scrubbing
/// text (`api`, `send`, `v2`...); tokens are far longer.
const SHORTEST_SECRET: usize = 8;

/// A checked webhook address: absolute, `http` or `https`, with a host.
///
/// The path and query of a webhook address usually hold its secret (Slack's
/// `/services/T…/B…/…`, WeCom's `?key=…`, DingTalk's `?access_token=…`), so the address is
/// shown — by `Display`, `Debug`, every error and every log line — as its scheme and host
/// only, e.g. `https://hooks.slack.com`. [`url`](Self::url) gives the whole address, to
/// send to and never to print.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: Url,
}

/// A `url` parameter that is not a usable webhook address. Its message shows at most the
/// scheme and host of the value, never its path or query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", shown.as_ref().map(|s| format!("`{s}`: ")).unwrap_or_default())]
pub struct InvalidWebhookUrl {
    /// The value's scheme and host, when it has them.
    pub shown: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

impl WebhookUrl {
    /// Checks `text` as a webhook address.
    pub fn parse(text: &str) -> Result<Self, InvalidWebhookUrl> {
        let url = Url::parse(text.trim()).map_err(|error| InvalidWebhookUrl {
            shown: None,
            reason: format!("not an absolute http or https URL ({error})"),
        })?;
        let shown = redact(&url);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidWebhookUrl {
                reason: format!(
                    "the scheme `{}` is not allowed: use http or https",
                    url.scheme()
                ),
                shown: Some(shown),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidWebhookUrl {
                shown: Some(shown),
                reason: "the URL has no host".to_owned(),
            });
        }
        Ok(Self { url })
    }

    /// The whole address, secrets included: send to it, never print it.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The scheme and host (and a port that is not the scheme's default), e.g.
    /// `https://hooks.slack.com`: what logs and errors show.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }

    /// Appends query parameters (DingTalk's signature).
    pub(crate) fn append_query(&mut self, pairs: &[(&str, &str)]) {
        let mut query = self.url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }

    /// The pieces of the address that may be secret — path segments, query values, the
    /// user name and password — as written and decoded, to scrub from text quoted back.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        let mut add = |piece: &str| {
            if piece.chars().count() >= SHORTEST_SECRET && !secrets.iter().any(|s| s == piece) {
                secrets.push(piece.to_owned());
            }
        };
        for segment in self.url.path_segments().into_iter().flatten() {
            add(segment);
        }
        if let Some(query) = self.url.query() {
            add(query);
            for pair in query.split('&') {
                add(pair.split_once('=').map_or(pair, |(_, value)| value));
            }
        }
        for (_, value) in self.url.query_pairs() {
            add(&value);
        }
        add(self.url.username());
        if let Some(password) = self.url.password() {
            add(password);
        }
        if let Some(fragment) = self.url.fragment() {
            add(fragment);
        }
        secrets
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WebhookUrl").field(&self.redacted()).finish()
    }
}

fn redact(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Replaces every secret in `text` with `***`, the longest first.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    sorted.into_iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

/// A short, one-line quote of an answer's body with every secret scrubbed.
pub(crate) fn excerpt(body: &[u8], secrets: &[String]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = scrub(&text, secrets);
    let one_line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.is_empty() {
        return "(an empty body)".to_owned();
    }
    if one_line.chars().count() <= EXCERPT_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(EXCERPT_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str = "https://hooks.slack.com/services/T0001ABCD/B0002EFGH/SuperSecretToken123";

    #[test]
    fn only_the_scheme_and_host_are_shown() {
        // spec: R51
        let url = WebhookUrl::parse(SLACK).unwrap();
        assert_eq!(url.to_string(), "https://hooks.slack.com");
        assert_eq!(
            format!("{url:?}"),
            "WebhookUrl(\"https://hooks.slack.com\")"
        );
        let wecom =
            WebhookUrl::parse("https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=abc-123")
                .unwrap();
        assert_eq!(wecom.redacted(), "https://qyapi.weixin.qq.com:8443");
        assert_eq!(wecom.url().query(), Some("key=abc-123"));
    }

    #[test]
    fn refuses_what_is_not_an_http_address_without_echoing_it() {
        // spec: R51
        let relative =
            WebhookUrl::parse("hooks.slack.com/services/T1/B2/SuperSecretToken123").unwrap_err();
        assert_eq!(relative.shown, None);
        assert!(!relative.to_string().contains("SuperSecret"), "{relative}");
        let ftp = WebhookUrl::parse("ftp://files.example.com/drop?token=SuperSecretToken123")
            .unwrap_err();
        assert_eq!(
            ftp.to_string(),
            "`ftp://files.example.com`: the scheme `ftp` is not allowed: use http or https"
        );
        assert!(WebhookUrl::parse("mailto:ops@example.com").is_err());
        assert!(WebhookUrl::parse("http://").is_err());
        assert!(WebhookUrl::parse("https://:443/x").is_err());
    }

    #[test]
    fn secrets_are_scrubbed_from_quoted_text() {
        // spec: R51
        let url = WebhookUrl::parse(
            "https://user:Passw0rd!!@hooks.example.com/hooks/SuperSecretToken123?access_token=0123456789abcdef&v=2",
        )
        .unwrap();
        let secrets = url.secrets();
        let body = b"no hook at /hooks/SuperSecretToken123 for token 0123456789abcdef (user Passw0rd!!), v=2\n\n";
        let quoted = excerpt(body, &secrets);
        assert_eq!(
            quoted,
            "no hook at /hooks/*** for token *** (user ***), v=2"
        );
        let long = "x".repeat(500);
        assert_eq!(excerpt(long.as_bytes(), &[]).chars().count(), 201);
        assert_eq!(excerpt(b"  ", &[]), "(an empty body)");
    }
}
