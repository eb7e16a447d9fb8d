//! The shapes of message a webhook can take: generic JSON, Slack, WeCom and DingTalk.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::payload::WebhookPayload;
use crate::text::{MARKDOWN_TEMPLATE, SLACK_TEMPLATE};

/// WeCom's answers that say "too many messages, or busy: try again later": -1 (system
/// busy), 45009 (calls over the frequency limit; a group robot takes 20 messages a
/// minute) and 45033 (too many concurrent calls).
pub const WECOM_RETRYABLE_ERRCODES: [i64; 3] = [-1, 45009, 45033];

/// DingTalk's answers that say "too many messages, or busy: try again later": -1 (system
/// busy), 130101 ("send too fast, exceed 20 times per minute"; the robot is then held
/// back for 10 minutes) and 410100 (sending too fast, rate limited).
pub const DINGTALK_RETRYABLE_ERRCODES: [i64; 3] = [-1, 130_101, 410_100];

/// The shape of the message posted to a webhook: the action's `preset` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WebhookPreset {
    /// A JSON document describing the failure ([`WebhookPayload`]), with the rendered
    /// Markdown text in `text`. For receivers of your own.
    #[default]
    Json,
    /// A Slack incoming webhook: `{"text": ...}` in Slack's mrkdwn.
    Slack,
    /// A WeCom (企业微信) group robot: `{"msgtype": "markdown", "markdown": {"content": ...}}`.
    WeCom,
    /// A DingTalk (钉钉) group robot: `{"msgtype": "markdown", "markdown": {"title", "text"}}`,
    /// signed when the action has a `secret`.
    DingTalk,
}

impl WebhookPreset {
    /// Every preset.
    pub const ALL: [WebhookPreset; 4] = [
        WebhookPreset::Json,
        WebhookPreset::Slack,
        WebhookPreset::WeCom,
        WebhookPreset::DingTalk,
    ];

    /// The preset's name, as the `preset` parameter writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookPreset::Json => "json",
            WebhookPreset::Slack => "slack",
            WebhookPreset::WeCom => "wecom",
            WebhookPreset::DingTalk => "dingtalk",
        }
    }

    /// The built-in template the text is rendered with when the action names none.
    pub const fn default_template(self) -> &'static str {
        match self {
            WebhookPreset::Slack => SLACK_TEMPLATE,
            WebhookPreset::Json | WebhookPreset::WeCom | WebhookPreset::DingTalk => {
                MARKDOWN_TEMPLATE
            }
        }
    }

    /// The most bytes of text the receiver takes; longer text is cut (WeCom refuses
    /// Markdown over 4096 bytes).
    pub const fn max_text_bytes(self) -> usize {
        match self {
            WebhookPreset::Json => 65_536,
            WebhookPreset::Slack => 39_000,
            WebhookPreset::WeCom => 4_096,
            WebhookPreset::DingTalk => 18_000,
        }
    }

    /// A value written into the text, escaped for the receiver: Slack wants `&`, `<` and
    /// `>` as entities (else `<...>` reads as a link or a mention); the others take text
    /// as it is.
    pub fn escape(self, text: &str) -> String {
        match self {
            WebhookPreset::Slack => text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
            WebhookPreset::Json | WebhookPreset::WeCom | WebhookPreset::DingTalk => text.to_owned(),
        }
    }

    /// Whether the receiver answers HTTP 200 with `{"errcode": n, "errmsg": ...}`, where
    /// only `errcode` 0 means the message was taken.
    pub const fn answers_with_errcode(self) -> bool {
        matches!(self, WebhookPreset::WeCom | WebhookPreset::DingTalk)
    }

    /// Whether a non-zero `errcode` means "later" rather than "never".
    pub fn is_retryable_errcode(self, errcode: i64) -> bool {
        match self {
            WebhookPreset::WeCom => WECOM_RETRYABLE_ERRCODES.contains(&errcode),
            WebhookPreset::DingTalk => DINGTALK_RETRYABLE_ERRCODES.contains(&errcode),
            WebhookPreset::Json | WebhookPreset::Slack => false,
        }
    }

    /// The JSON body posted for `payload`.
    pub fn body(self, payload: &WebhookPayload) -> Value {
        match self {
            WebhookPreset::Json => serde_json::to_value(payload).unwrap_or(Value::Null),
            WebhookPreset::Slack => json!({ "text": payload.text }),
            WebhookPreset::WeCom => json!({
                "msgtype": "markdown",
                "markdown": { "content": payload.text },
            }),
            WebhookPreset::DingTalk => json!({
                "msgtype": "markdown",
                "markdown": { "title": payload.title, "text": payload.text },
            }),
        }
    }
}

impl fmt::Display for WebhookPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text names no preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown webhook preset `{0}`: expected `json`, `slack`, `wecom` or `dingtalk`")]
pub struct UnknownWebhookPreset(pub String);

impl FromStr for WebhookPreset {
    type Err = UnknownWebhookPreset;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        match name.as_str() {
            "json" | "generic" => Ok(WebhookPreset::Json),
            "slack" => Ok(WebhookPreset::Slack),
            "wecom" | "wechatwork" | "workweixin" => Ok(WebhookPreset::WeCom),
            "dingtalk" | "ding" => Ok(WebhookPreset::DingTalk),
            _ => Err(UnknownWebhookPreset(text.to_owned())),
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary, ending in `…` when cut.
pub(crate) fn cut_to_bytes(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let ellipsis = '…';
    let room = max.saturating_sub(ellipsis.len_utf8());
    let mut end = room;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text[..end].to_owned();
    cut.push(ellipsis);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_round_trip() {
        // spec: R31
        for preset in WebhookPreset::ALL {
            assert_eq!(preset.as_str().parse(), Ok(preset));
        }
        assert_eq!("WeChat-Work".parse(), Ok(WebhookPreset::WeCom));
        assert_eq!(" DingTalk ".parse(), Ok(WebhookPreset::DingTalk));
        assert_eq!(
            "teams".parse::<WebhookPreset>().unwrap_err().to_string(),
            "unknown webhook preset `teams`: expected `json`, `slack`, `wecom` or `dingtalk`"
        );
    }

    #[test]
    fn rate_limits_are_retryable_and_other_codes_are_not() {
        // spec: R51
        assert!(WebhookPreset::WeCom.is_retryable_errcode(45009));
        assert!(!WebhookPreset::WeCom.is_retryable_errcode(93000));
        assert!(WebhookPreset::DingTalk.is_retryable_errcode(130_101));
        assert!(WebhookPreset::DingTalk.is_retryable_errcode(410_100));
        assert!(!WebhookPreset::DingTalk.is_retryable_errcode(310_000));
        assert!(!WebhookPreset::Slack.answers_with_errcode());
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        // spec: R35
        let text = "作业".repeat(1000);
        let cut = cut_to_bytes(text.clone(), 4096);
        assert!(cut.len() <= 4096, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(text.starts_with(cut.trim_end_matches('…')));
        assert_eq!(cut_to_bytes("short".into(), 10), "short");
        assert_eq!(
            WebhookPreset::Slack.escape("a < b && c > d"),
            "a &lt; b &amp;&amp; c &gt; d"
        );
    }
}
