//! The mail templates, rendered with handlebars (R34–R35).

use std::fmt;

use handlebars::Handlebars;
use serde_json::Value;

use crate::error::TemplateError;

/// The name of the built-in failure template, the default of the `template` parameter.
pub const BUILTIN_TEMPLATE: &str = "JobExceptionNotifier";

const BUILTIN_SOURCE: &str = include_str!("../templates/job_exception_notifier.hbs");

/// The registered templates, by name. Every value a template prints with `{{...}}` is
/// HTML-escaped; a template sees:
///
/// - `model`: the [`FailureMailModel`](crate::FailureMailModel) (`model.title`,
///   `model.id`, `model.group`, `model.name`, `model.type`, `model.trigger_time`,
///   `model.message`, `model.tenant_name`, `model.body`, `model.footer`);
/// - `labels`: every localized string of the culture, by id (`labels.JobName`);
/// - `culture`: the culture used, e.g. `zh-Hans`;
/// - every key of the action's `context` JSON object.
pub struct MailTemplates {
    registry: Handlebars<'static>,
}

impl Default for MailTemplates {
    fn default() -> Self {
        Self::new()
    }
}

impl MailTemplates {
    /// The built-in template only.
    pub fn new() -> Self {
        let mut registry = Handlebars::new();
        if let Err(error) = registry.register_template_string(BUILTIN_TEMPLATE, BUILTIN_SOURCE) {
            // The built-in template is tested; this cannot happen.
            tracing::error!(%error, "the built-in mail template is invalid");
        }
        Self { registry }
    }

    /// Escapes every value printed with `{{...}}` with `escape` instead of HTML-escaping
    /// it: for text that is not HTML, such as a chat message (`handlebars::no_escape`
    /// prints values as they are).
    pub fn with_escape_fn(
        mut self,
        escape: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Self {
        self.registry.register_escape_fn(escape);
        self
    }

    /// Registers (or replaces) the template `name`. Registering under
    /// [`BUILTIN_TEMPLATE`] replaces the default.
    pub fn register(&mut self, name: &str, source: &str) -> Result<(), TemplateError> {
        self.registry
            .register_template_string(name, source)
            .map_err(|source| TemplateError {
                name: name.to_owned(),
                source: Box::new(source),
            })
    }

    /// Whether a template of this name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.registry.has_template(name)
    }

    /// Renders the template `name` with `data`.
    pub fn render(&self, name: &str, data: &Value) -> Result<String, handlebars::RenderError> {
        self.registry.render(name, data)
    }
}

impl fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.registry.get_templates().keys().collect();
        names.sort();
        f.debug_struct("MailTemplates")
            .field("templates", &names)
            .finish()
    }
}
