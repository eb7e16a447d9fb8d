//! The text of a webhook message: the failure mail's handlebars model and Fluent
//! labels, rendered with a template written for chat.

use std::fmt;

use bgtasks_actions::{JobActionExecuteContext, RunSummary};
use bgtasks_exception_handling::{
    FailureMailModel, LocalizationError, Localizer, MailTemplates, TemplateError, context_globals,
    render_data,
};
use serde_json::{Value, json};
use tracing::warn;

use crate::error::WebhookError;
use crate::parameters::names;
use crate::preset::{WebhookPreset, cut_to_bytes};

/// The built-in Markdown template (the `json`, `wecom` and `dingtalk` presets).
pub const MARKDOWN_TEMPLATE: &str = "JobExceptionWebhook";
/// The built-in Slack mrkdwn template (the `slack` preset).
pub const SLACK_TEMPLATE: &str = "JobExceptionSlack";

const BUILTIN_TEMPLATES: [(&str, &str); 2] = [
    (
        MARKDOWN_TEMPLATE,
        include_str!("../templates/job_exception_markdown.hbs"),
    ),
    (
        SLACK_TEMPLATE,
        include_str!("../templates/job_exception_slack.hbs"),
    ),
];

const BUILTIN_LABELS: [(&str, &str); 2] = [
    ("en", include_str!("../locales/en/webhook.ftl")),
    ("zh-Hans", include_str!("../locales/zh-Hans/webhook.ftl")),
];

/// The title, when the action sets none: this label of the culture.
const TITLE_LABEL: &str = "JobExecuteError";

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenderedText {
    pub(crate) culture: String,
    pub(crate) title: String,
    pub(crate) text: String,
}

/// The templates and labels of webhook text.
///
/// A template sees what the failure mail's templates see (`model`, `labels`, `culture`
/// and the keys of the action's `context` object; see
/// [`MailTemplates`](bgtasks_exception_handling::MailTemplates)) plus `run`: `node`,
/// `tries` ("2 / 5", or "2" with no limit), `try_count`, `max_try_count`,
/// `failure_type` (localized), `first_failure`, `final_failure`, `attempt`,
/// `notification_id`, `duration_ms`, `error_code`, `http_status` and `message_lines`
/// (the error message, line by line). Values are not HTML-escaped; for Slack, `&`, `<`
/// and `>` are written as entities.
pub struct WebhookText {
    templates: MailTemplates,
    localizer: Localizer,
}

impl Default for WebhookText {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookText {
    /// The built-in templates and the `en` and `zh-Hans` labels.
    pub fn new() -> Self {
        let mut templates = MailTemplates::new().with_escape_fn(handlebars::no_escape);
        for (name, source) in BUILTIN_TEMPLATES {
            if let Err(error) = templates.register(name, source) {
                // The built-in templates are tested; this cannot happen.
                tracing::error!(%error, "a built-in webhook template is invalid");
            }
        }
        let mut localizer = Localizer::new();
        for (culture, ftl) in BUILTIN_LABELS {
            if let Err(error) = localizer.add_resource(culture, ftl) {
                // The built-in labels are tested; this cannot happen.
                tracing::error!(%error, "a built-in webhook label resource is invalid");
            }
        }
        Self {
            templates,
            localizer,
        }
    }

    /// Registers (or replaces) the template `name`.
    pub fn register_template(&mut self, name: &str, source: &str) -> Result<(), TemplateError> {
        self.templates.register(name, source)
    }

    /// Adds Fluent strings to `culture`.
    pub fn add_localization(&mut self, culture: &str, ftl: &str) -> Result<(), LocalizationError> {
        self.localizer.add_resource(culture, ftl)
    }

    /// Whether a template of this name is registered.
    pub fn has_template(&self, name: &str) -> bool {
        self.templates.contains(name)
    }

    /// The localizer.
    pub fn localizer(&self) -> &Localizer {
        &self.localizer
    }

    /// Renders the text of `context` for `preset` in the `requested` culture.
    pub(crate) fn render(
        &self,
        context: &JobActionExecuteContext<'_>,
        preset: WebhookPreset,
        requested: &str,
    ) -> Result<RenderedText, WebhookError> {
        let job_id = context.job_id();
        let run = context.run();
        let culture = self.localizer.resolve(requested);
        let title = context.parameter_text(names::TITLE).unwrap_or_else(|| {
            self.localizer
                .get(&culture, TITLE_LABEL)
                .unwrap_or_else(|| "Background job exception".to_owned())
        });
        let template = self.template_name(job_id, preset, context.parameter_text(names::TEMPLATE));
        let model = FailureMailModel::from_run(run, title.clone(), String::new(), None);
        let mut globals = context_globals(job_id, context.parameter(names::CONTEXT));
        globals.insert("run".to_owned(), self.run_facts(context, run, &culture));
        let mut root = render_data(&model, self.localizer.labels(&culture), &culture, globals);
        escape_strings(&mut root, preset);
        let text =
            self.templates
                .render(&template, &root)
                .map_err(|source| WebhookError::Render {
                    job_id: job_id.to_owned(),
                    template: template.clone(),
                    source: Box::new(source),
                })?;
        Ok(RenderedText {
            culture,
            title,
            text: cut_to_bytes(text.trim_end().to_owned(), preset.max_text_bytes()),
        })
    }

    fn template_name(
        &self,
        job_id: &str,
        preset: WebhookPreset,
        requested: Option<String>,
    ) -> String {
        match requested {
            Some(name) if self.templates.contains(&name) => name,
            Some(name) => {
                let default = preset.default_template();
                warn!(
                    job_id,
                    template = %name,
                    "job `{job_id}` asks for the webhook template `{name}`, which is not registered: using `{default}`"
                );
                default.to_owned()
            }
            None => preset.default_template().to_owned(),
        }
    }

    fn run_facts(
        &self,
        context: &JobActionExecuteContext<'_>,
        run: &RunSummary,
        culture: &str,
    ) -> Value {
        let failure = run.failure.as_ref();
        let failure_type = failure.and_then(|f| f.failure_type).map(|types| {
            types
                .name()
                .split('|')
                .map(|name| {
                    self.localizer
                        .get(culture, &format!("Failure{name}"))
                        .unwrap_or_else(|| name.to_owned())
                })
                .collect::<Vec<_>>()
                .join(" | ")
        });
        let tries = if run.max_try_count > 0 {
            format!("{} / {}", run.try_count, run.max_try_count)
        } else {
            run.try_count.to_string()
        };
        let message_lines: Vec<&str> = failure
            .map(|f| f.innermost_message.lines().map(str::trim_end).collect())
            .unwrap_or_default();
        json!({
            "node": run.node,
            "tries": tries,
            "try_count": run.try_count,
            "max_try_count": run.max_try_count,
            "failure_type": failure_type,
            "first_failure": run.first_failure,
            "final_failure": run.final_failure,
            "attempt": context.attempt(),
            "notification_id": context.notification_id(),
            "duration_ms": run.duration_ms,
            "error_code": failure.and_then(|f| f.code.clone()),
            "http_status": failure.and_then(|f| f.http_status),
            "message_lines": message_lines,
        })
    }
}

impl fmt::Debug for WebhookText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookText")
            .field("templates", &self.templates)
            .field("localizer", &self.localizer)
            .finish()
    }
}

/// Escapes every string in `value` for `preset`.
fn escape_strings(value: &mut Value, preset: WebhookPreset) {
    match value {
        Value::String(text) => *text = preset.escape(text),
        Value::Array(items) => items.iter_mut().for_each(|v| escape_strings(v, preset)),
        Value::Object(map) => map.values_mut().for_each(|v| escape_strings(v, preset)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_templates_and_labels_load() {
        // spec: R35
        let text = WebhookText::new();
        assert!(text.has_template(MARKDOWN_TEMPLATE) && text.has_template(SLACK_TEMPLATE));
        for culture in ["en", "zh-Hans"] {
            let labels = text.localizer().labels(culture);
            for id in [
                "FailureType",
                "Tries",
                "Node",
                "JobAbandoned",
                "FailureNetwork",
                "JobName",
            ] {
                assert!(labels.contains_key(id), "{culture}: {id}");
            }
        }
        assert_eq!(
            text.localizer().get("zh-Hans", "FailureNetwork").as_deref(),
            Some("网络")
        );
        let mut root = json!({"a": ["<b>", {"c": "x & y"}], "n": 1});
        escape_strings(&mut root, WebhookPreset::Slack);
        assert_eq!(
            root,
            json!({"a": ["&lt;b&gt;", {"c": "x &amp; y"}], "n": 1})
        );
    }
}
