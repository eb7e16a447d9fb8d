//! The parameters of the webhook action and their defaults.

use bgtasks_actions::JobActionParameterDefinition;

/// The names of the action's parameters.
pub mod names {
    /// Where to post (required): an `http` or `https` URL. Secret: logs show its scheme
    /// and host only.
    pub const URL: &str = "url";
    /// The message's shape: `json` (default), `slack`, `wecom` or `dingtalk`.
    pub const PRESET: &str = "preset";
    /// The culture of the text (default: the options' default culture).
    pub const CULTURE: &str = "culture";
    /// The name of a registered template for the text (default: the preset's built-in).
    pub const TEMPLATE: &str = "template";
    /// The title (default: the culture's "Background job exception").
    pub const TITLE: &str = "title";
    /// A JSON object whose keys become template globals.
    pub const CONTEXT: &str = "context";
    /// A signing secret: DingTalk's robot signature, or the body signature of `json`.
    pub const SECRET: &str = "secret";
    /// Extra request headers: a JSON object of names to text values.
    pub const HEADERS: &str = "headers";
    /// Which failures post: `every`, `first-and-final` or `final`.
    pub const NOTIFY: &str = bgtasks_actions::NOTIFY_PARAMETER;
    /// The least number of seconds between two posts about the job.
    pub const MIN_INTERVAL_SECS: &str = bgtasks_actions::MIN_INTERVAL_PARAMETER;
}

/// The parameter definitions the action is registered with.
pub fn parameter_definitions() -> Vec<JobActionParameterDefinition> {
    use JobActionParameterDefinition as P;
    vec![
        P::required(
            names::URL,
            "URL",
            "Where to post: an http or https URL. It is a secret: logs and errors show only its scheme and host.",
        ),
        P::optional(
            names::PRESET,
            "Preset",
            "The message's shape: `json` (default), `slack`, `wecom` or `dingtalk`.",
        ),
        P::optional(
            names::CULTURE,
            "Culture",
            "The culture of the text, e.g. `en` or `zh-Hans`. Default: the configured default culture.",
        ),
        P::optional(
            names::TEMPLATE,
            "Template",
            "The name of a registered template for the text. Default: the preset's built-in template.",
        ),
        P::optional(
            names::TITLE,
            "Title",
            "The message's title (DingTalk lists it; put a DingTalk keyword here). Default: \"Background job exception\", localized.",
        ),
        P::optional(
            names::CONTEXT,
            "Context",
            "A JSON object whose keys become template globals; invalid JSON is ignored.",
        ),
        P::optional(
            names::SECRET,
            "Secret",
            "A signing secret: DingTalk's robot signature (`timestamp` and `sign`), or for `json` an HMAC-SHA256 of the body in the X-Bgtasks-Signature header.",
        ),
        P::optional(
            names::HEADERS,
            "Headers",
            "Extra request headers: a JSON object of names to text values, e.g. {\"Authorization\": \"Bearer …\"}.",
        ),
        P::optional(
            names::NOTIFY,
            "Notify",
            "Which failures post: `every` (default), `first-and-final` or `final`.",
        ),
        P::optional(
            names::MIN_INTERVAL_SECS,
            "Minimum interval",
            "The least number of seconds between two posts about the job (the final failure always posts). Default: 0.",
        ),
    ]
}
