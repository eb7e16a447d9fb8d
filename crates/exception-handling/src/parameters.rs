//! The parameters of the failed-job e-mail action and their defaults (R33).

use bgtasks_actions::JobActionParameterDefinition;

/// The names of the action's parameters.
pub mod names {
    /// Recipients, separated by commas (required).
    pub const TO: &str = "to";
    /// The subject (default "From job execute exception").
    pub const SUBJECT: &str = "subject";
    /// The sender (default: the transport's from address).
    pub const FROM: &str = "from";
    /// Extra text shown under the error (`model.body` in templates).
    pub const BODY: &str = "body";
    /// The name of the template (default: the built-in one).
    pub const TEMPLATE: &str = "template";
    /// A JSON object whose keys become template globals.
    pub const CONTEXT: &str = "context";
    /// The culture of the labels (default: the options' default culture).
    pub const CULTURE: &str = "culture";
    /// The footer (default: a copyright line with the run's year).
    pub const FOOTER: &str = "footer";
    /// Which failures mail: `every`, `first-and-final` or `final`.
    pub const NOTIFY: &str = bgtasks_actions::NOTIFY_PARAMETER;
    /// The least number of seconds between two mails of the job.
    pub const MIN_INTERVAL_SECS: &str = bgtasks_actions::MIN_INTERVAL_PARAMETER;
}

/// The default subject.
pub const DEFAULT_SUBJECT: &str = "From job execute exception";

/// The parameter definitions the action is registered with.
pub fn parameter_definitions() -> Vec<JobActionParameterDefinition> {
    use JobActionParameterDefinition as P;
    vec![
        P::required(
            names::TO,
            "To",
            "Recipients, separated by commas, e.g. `ops@example.com, Dev <dev@example.com>`.",
        ),
        P::optional(
            names::SUBJECT,
            "Subject",
            "The mail's subject and title. Default: \"From job execute exception\".",
        ),
        P::optional(
            names::FROM,
            "From",
            "The sender. Default: the transport's from address.",
        ),
        P::optional(
            names::BODY,
            "Body",
            "Extra text shown under the error message.",
        ),
        P::optional(
            names::TEMPLATE,
            "Template",
            "The name of a registered template. Default: the built-in failure template.",
        ),
        P::optional(
            names::CONTEXT,
            "Context",
            "A JSON object whose keys become template globals; invalid JSON is ignored.",
        ),
        P::optional(
            names::CULTURE,
            "Culture",
            "The culture of the labels, e.g. `en` or `zh-Hans`. Default: the configured default culture.",
        ),
        P::optional(
            names::FOOTER,
            "Footer",
            "The footer line. Default: a copyright line with the run's year.",
        ),
        P::optional(
            names::NOTIFY,
            "Notify",
            "Which failures mail: `every` (default), `first-and-final` or `final`.",
        ),
        P::optional(
            names::MIN_INTERVAL_SECS,
            "Minimum interval",
            "The least number of seconds between two mails of the job (the final failure always mails). Default: 0.",
        ),
    ]
}
