//! The webhook notifier.

use std::sync::Arc;

use bgtasks_abstractions::{Clock, JobAction, SystemClock};
use bgtasks_actions::{
    DeliveryError, JobActionExecuteContext, JobActionNotifier, NotificationKind, Throttle,
};
use bgtasks_exception_handling::{LocalizationError, TemplateError};
use reqwest::Client;
use tracing::info;

use crate::error::{WebhookError, WebhookSetupError};
use crate::options::WebhookOptions;
use crate::request::{WebhookRequest, WebhookSettings, compose};
use crate::send::{client, post};
use crate::text::WebhookText;

/// Posts a failed run to a webhook: a generic JSON receiver, a Slack incoming webhook, or
/// a WeCom or DingTalk group robot (the action's `preset`). Register it through
/// [`WebhookDefinitionProvider`](crate::WebhookDefinitionProvider) and attach a
/// [`JobAction`] named [`WEBHOOK_ACTION`](crate::WEBHOOK_ACTION) to a job.
///
/// The text is the failure mail's model and Fluent labels rendered with a handlebars
/// template written for chat (the preset's built-in one, or one registered with
/// [`with_template`](Self::with_template)). Which failures post is chosen by the
/// `notify` and `min_interval_secs` parameters, as for the mail, and kept in the store.
///
/// Every request carries the notification's identity as `Idempotency-Key` and
/// `X-Bgtasks-Notification-Id`, the same on every attempt, so a receiver recognises a
/// repeat. A request that gets no answer within the timeout, cannot connect, or is
/// answered 408, 429, 5xx or a robot's rate-limit `errcode` is retried by the delivery
/// loop with back-off; any other 4xx, a refused `errcode` or a bad parameter fails the
/// notification for good, with the reason recorded. The URL is a secret: logs and
/// errors show its scheme and host only, and quoted answers are scrubbed of it.
pub struct WebhookNotifier {
    client: Client,
    text: WebhookText,
    options: WebhookOptions,
    clock: Arc<dyn Clock>,
}

impl WebhookNotifier {
    /// A notifier with `options` (checked), the built-in templates and the `en` and
    /// `zh-Hans` labels.
    pub fn new(options: WebhookOptions) -> Result<Self, WebhookSetupError> {
        Ok(Self {
            client: client(&options)?,
            text: WebhookText::new(),
            options,
            clock: Arc::new(SystemClock),
        })
    }

    /// Registers a template that actions pick with `template = name`.
    pub fn with_template(mut self, name: &str, source: &str) -> Result<Self, TemplateError> {
        self.text.register_template(name, source)?;
        Ok(self)
    }

    /// Adds Fluent strings to `culture` (a new culture, or overrides of existing strings).
    pub fn with_localization(
        mut self,
        culture: &str,
        ftl: &str,
    ) -> Result<Self, LocalizationError> {
        self.text.add_localization(culture, ftl)?;
        Ok(self)
    }

    /// Uses this clock for signature timestamps.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The options.
    pub fn options(&self) -> &WebhookOptions {
        &self.options
    }

    /// The templates and labels.
    pub fn text(&self) -> &WebhookText {
        &self.text
    }

    /// Checks the `url`, `preset` and `headers` of a webhook action of job `job_id`, as a
    /// delivery would: call it before queueing a job to refuse a bad action at once.
    pub fn check(&self, job_id: &str, action: &JobAction) -> Result<(), WebhookError> {
        WebhookSettings::read(job_id, action, &self.options).map(|_| ())
    }

    /// Composes the request for `context` without sending it: what [`post`](Self::post)
    /// would send.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use bgtasks_abstractions::{JobError, JobEventContext, JobEventData, JobInfo};
    /// use bgtasks_actions::{
    ///     JobAction, JobActionExecuteContext, Notification, NotificationKind, RunSummary,
    /// };
    /// use bgtasks_webhook::{
    ///     WEBHOOK_ACTION, WebhookDefinitionProvider, WebhookNotifier, WebhookOptions,
    /// };
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let notifier = Arc::new(WebhookNotifier::new(WebhookOptions::default())?);
    /// let definition = WebhookDefinitionProvider::new(notifier.clone()).definition();
    ///
    /// // The failure of a run, as the delivery loop hands it over.
    /// let job = JobInfo::new("nightly", "report").with_name("Nightly report");
    /// let mut data = JobEventData::new(job.clone(), chrono::Utc::now(), "worker-1");
    /// data.error = Some(JobError::http(503, "the warehouse is down"));
    /// let notification = Notification {
    ///     id: "nightly/7/0/JobExecutedWebhookNotifier/failure".into(),
    ///     kind: NotificationKind::Failure,
    ///     attempt: 1,
    ///     created_at: data.run_time,
    ///     action: JobAction::new(WEBHOOK_ACTION)
    ///         .with_parameter("url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6")
    ///         .with_parameter("preset", "wecom")
    ///         .with_parameter("culture", "zh-Hans"),
    ///     notifier: "JobExecutedWebhookNotifier".into(),
    ///     run: RunSummary::of(&JobEventContext::standalone(data), &job),
    /// };
    /// let request = notifier.request(&JobActionExecuteContext::new(&notification, &definition))?;
    ///
    /// assert_eq!(request.url.to_string(), "https://qyapi.weixin.qq.com", "the key is never shown");
    /// assert_eq!(request.headers["idempotency-key"], "nightly/7/0/JobExecutedWebhookNotifier/failure");
    /// let body: serde_json::Value = serde_json::from_slice(&request.body)?;
    /// assert_eq!(body["msgtype"], "markdown");
    /// let content = body["markdown"]["content"].as_str().unwrap_or_default();
    /// assert!(content.starts_with("### 后台作业异常"));
    /// assert!(content.contains("- **作业名称**: Nightly report"));
    /// assert!(content.contains("> the warehouse is down"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn request(
        &self,
        context: &JobActionExecuteContext<'_>,
    ) -> Result<WebhookRequest, WebhookError> {
        compose(
            context,
            &self.options,
            &self.text,
            self.clock.now().timestamp_millis(),
        )
    }

    /// Posts the message of `context`; returns the HTTP status of the success.
    pub async fn post(&self, context: &JobActionExecuteContext<'_>) -> Result<u16, WebhookError> {
        let request = self.request(context)?;
        post(
            &self.client,
            self.options.timeout,
            context.job_id(),
            request,
        )
        .await
    }
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("text", &self.text)
            .field("options", &self.options)
            .finish()
    }
}

impl JobActionNotifier for WebhookNotifier {
    fn name(&self) -> &str {
        "JobExecutedWebhookNotifier"
    }

    fn handles(&self, kind: NotificationKind) -> bool {
        kind == NotificationKind::Failure
    }

    fn throttle(&self, action: &JobAction) -> Throttle {
        Throttle::of_action(
            action,
            Throttle {
                policy: self.options.default_policy,
                min_interval: self.options.default_min_interval,
            },
        )
    }

    async fn notify_error(
        &self,
        context: &JobActionExecuteContext<'_>,
    ) -> Result<(), DeliveryError> {
        let job_id = context.job_id();
        let posted = match self.request(context) {
            Ok(request) => {
                let (endpoint, preset) = (request.url.redacted(), request.preset);
                post(&self.client, self.options.timeout, job_id, request)
                    .await
                    .map(|status| (endpoint, preset, status))
            }
            Err(error) => Err(error),
        };
        match posted {
            Ok((endpoint, preset, status)) => {
                info!(
                    job_id,
                    notification = context.notification_id(),
                    attempt = context.attempt(),
                    %endpoint,
                    %preset,
                    status,
                    "posted the failure of job `{job_id}` to the {preset} webhook at {endpoint}"
                );
                Ok(())
            }
            Err(error) if error.is_permanent() => Err(DeliveryError::permanent(error)),
            Err(error) => Err(DeliveryError::transient(error)),
        }
    }
}
