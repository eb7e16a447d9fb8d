//! The webhook alert as a typed action: what a job carries to be posted when it fails,
//! instead of parameters written as strings.

use std::fmt;
use std::time::Duration;

use bgtasks_actions::{JobAction, NotifyPolicy, Throttle};
use serde_json::{Map, Value};

use crate::parameters::names;
use crate::preset::WebhookPreset;
use crate::provider::WEBHOOK_ACTION;
use crate::target::WebhookUrl;

/// The webhook alert of one job, as a typed value that becomes its [`JobAction`]. Its
/// `Debug` shows the URL by scheme and host, and neither the secret nor header values.
///
/// ```
/// use std::time::Duration;
///
/// use bgtasks_actions::{JobAction, NotifyPolicy};
/// use bgtasks_webhook::FailureWebhook;
///
/// let alert = FailureWebhook::dingtalk("https://oapi.dingtalk.com/robot/send?access_token=0a1b")
///     .secret("SEC0123")
///     .title("bgtasks alert")
///     .culture("zh-Hans")
///     .notify(NotifyPolicy::FirstAndFinal)
///     .min_interval(Duration::from_secs(600));
/// assert_eq!(
///     format!("{alert:?}"),
///     "FailureWebhook { preset: DingTalk, url: \"https://oapi.dingtalk.com\", secret: true, headers: [] }"
/// );
/// let action: JobAction = alert.into();
/// assert_eq!(action.parameter_text("preset").as_deref(), Some("dingtalk"));
/// assert_eq!(action.parameter_text("min_interval_secs").as_deref(), Some("600"));
/// ```
#[derive(Clone, PartialEq)]
pub struct FailureWebhook {
    url: String,
    preset: WebhookPreset,
    culture: Option<String>,
    template: Option<String>,
    title: Option<String>,
    context: Option<Value>,
    secret: Option<String>,
    headers: Map<String, Value>,
    notify: Option<NotifyPolicy>,
    min_interval: Option<Duration>,
}

impl FailureWebhook {
    /// An alert posted to `url` in the shape of `preset`.
    pub fn new(preset: WebhookPreset, url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            preset,
            culture: None,
            template: None,
            title: None,
            context: None,
            secret: None,
            headers: Map::new(),
            notify: None,
            min_interval: None,
        }
    }

    /// A generic JSON alert posted to `url`.
    pub fn json(url: impl Into<String>) -> Self {
        Self::new(WebhookPreset::Json, url)
    }

    /// A Slack incoming webhook.
    pub fn slack(url: impl Into<String>) -> Self {
        Self::new(WebhookPreset::Slack, url)
    }

    /// A WeCom group robot.
    pub fn wecom(url: impl Into<String>) -> Self {
        Self::new(WebhookPreset::WeCom, url)
    }

    /// A DingTalk group robot.
    pub fn dingtalk(url: impl Into<String>) -> Self {
        Self::new(WebhookPreset::DingTalk, url)
    }

    /// Sets the culture of the text, e.g. `zh-Hans`.
    #[must_use]
    pub fn culture(mut self, culture: impl Into<String>) -> Self {
        self.culture = Some(culture.into());
        self
    }

    /// Uses a registered template.
    #[must_use]
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// Sets the title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Gives the template these global values (a JSON object).
    #[must_use]
    pub fn context(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }

    /// Signs requests with `secret` (DingTalk's signature; the body signature of JSON).
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Adds a request header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .insert(name.into(), Value::String(value.into()));
        self
    }

    /// Sets which failures post.
    #[must_use]
    pub fn notify(mut self, policy: NotifyPolicy) -> Self {
        self.notify = Some(policy);
        self
    }

    /// Sets the least time between two posts about the job (whole seconds; the final
    /// failure always posts).
    #[must_use]
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = Some(interval);
        self
    }
}

impl fmt::Debug for FailureWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = WebhookUrl::parse(&self.url)
            .map(|url| url.redacted())
            .unwrap_or_else(|_| "<not a URL>".to_owned());
        let headers: Vec<&String> = self.headers.keys().collect();
        f.debug_struct("FailureWebhook")
            .field("preset", &self.preset)
            .field("url", &url)
            .field("secret", &self.secret.is_some())
            .field("headers", &headers)
            .finish()
    }
}

impl From<FailureWebhook> for JobAction {
    fn from(alert: FailureWebhook) -> Self {
        let mut action = JobAction::new(WEBHOOK_ACTION)
            .with_parameter(names::URL, alert.url)
            .with_parameter(names::PRESET, alert.preset.as_str());
        let texts = [
            (names::CULTURE, alert.culture),
            (names::TEMPLATE, alert.template),
            (names::TITLE, alert.title),
            (names::SECRET, alert.secret),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                action = action.with_parameter(name, value);
            }
        }
        if let Some(context) = alert.context {
            action = action.with_parameter(names::CONTEXT, context);
        }
        if !alert.headers.is_empty() {
            action = action.with_parameter(names::HEADERS, Value::Object(alert.headers));
        }
        Throttle::write_parameters(action, alert.notify, alert.min_interval)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn becomes_the_action_the_notifier_reads() {
        // spec: R31
        let action: JobAction = FailureWebhook::json("https://hooks.example.com/in/abcdef123456")
            .header("Authorization", "Bearer t0ken")
            .context(json!({"team": "billing"}))
            .into();
        assert_eq!(action.name, WEBHOOK_ACTION);
        assert_eq!(
            action.parameter("headers"),
            Some(&json!({"Authorization": "Bearer t0ken"}))
        );
        assert_eq!(action.parameter_text("preset").as_deref(), Some("json"));
        assert_eq!(
            action.parameter("context"),
            Some(&json!({"team": "billing"}))
        );
        assert_eq!(action.parameter("secret"), None);
        let shown = format!(
            "{:?}",
            FailureWebhook::slack("not a url/abcdef123456").header("X-Key", "t0ken")
        );
        assert!(
            !shown.contains("abcdef") && !shown.contains("t0ken"),
            "{shown}"
        );
    }
}
