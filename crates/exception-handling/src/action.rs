//! The failure e-mail as a typed action: what a job carries to be mailed when it fails,
//! instead of parameters written as strings.

use std::time::Duration;

use bgtasks_actions::{JobAction, NotifyPolicy, Throttle};
use serde_json::Value;

use crate::parameters::names;
use crate::provider::JOB_EXECUTED_FAILED_ACTION;

/// The failed-job e-mail of one job, as a typed value: give it to an enqueue or schedule
/// builder (`.action(FailureEmail::to("ops@example.com").culture("zh-Hans"))`) and it is
/// stored with the job, atomically.
///
/// ```
/// use std::time::Duration;
///
/// use bgtasks_actions::{JobAction, NotifyPolicy};
/// use bgtasks_exception_handling::FailureEmail;
///
/// let action: JobAction = FailureEmail::to("ops@example.com")
///     .and_to("Dev Team <dev@example.com>")
///     .subject("Nightly report failed")
///     .notify(NotifyPolicy::FirstAndFinal)
///     .min_interval(Duration::from_secs(600))
///     .into();
/// assert_eq!(action.parameter_text("to").as_deref(), Some("ops@example.com, Dev Team <dev@example.com>"));
/// assert_eq!(action.parameter_text("notify").as_deref(), Some("first-and-final"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureEmail {
    to: Vec<String>,
    subject: Option<String>,
    from: Option<String>,
    body: Option<String>,
    template: Option<String>,
    context: Option<Value>,
    culture: Option<String>,
    footer: Option<String>,
    notify: Option<NotifyPolicy>,
    min_interval: Option<Duration>,
}

impl FailureEmail {
    /// A failure e-mail to `address` (a mailbox such as `ops@example.com` or
    /// `Ops <ops@example.com>`).
    pub fn to(address: impl Into<String>) -> Self {
        Self {
            to: vec![address.into()],
            ..Self::default()
        }
    }

    /// Adds a recipient.
    #[must_use]
    pub fn and_to(mut self, address: impl Into<String>) -> Self {
        self.to.push(address.into());
        self
    }

    /// Sets the subject (default "From job execute exception").
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the sender (default: the transport's).
    #[must_use]
    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Adds text under the error message.
    #[must_use]
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Uses a registered template.
    #[must_use]
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// Gives the template these global values (a JSON object).
    #[must_use]
    pub fn context(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }

    /// Sets the culture of the labels, e.g. `zh-Hans`.
    #[must_use]
    pub fn culture(mut self, culture: impl Into<String>) -> Self {
        self.culture = Some(culture.into());
        self
    }

    /// Sets the footer.
    #[must_use]
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// Sets which failures mail.
    #[must_use]
    pub fn notify(mut self, policy: NotifyPolicy) -> Self {
        self.notify = Some(policy);
        self
    }

    /// Sets the least time between two mails of the job (whole seconds; the final
    /// failure always mails).
    #[must_use]
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = Some(interval);
        self
    }
}

impl From<FailureEmail> for JobAction {
    fn from(mail: FailureEmail) -> Self {
        let mut action = JobAction::new(JOB_EXECUTED_FAILED_ACTION)
            .with_parameter(names::TO, mail.to.join(", "));
        let texts = [
            (names::SUBJECT, mail.subject),
            (names::FROM, mail.from),
            (names::BODY, mail.body),
            (names::TEMPLATE, mail.template),
            (names::CULTURE, mail.culture),
            (names::FOOTER, mail.footer),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                action = action.with_parameter(name, value);
            }
        }
        if let Some(context) = mail.context {
            action = action.with_parameter(names::CONTEXT, context);
        }
        Throttle::write_parameters(action, mail.notify, mail.min_interval)
    }
}
